package cyberdb_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

func TestDB_Tables(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		_, err := db.CreateDict(ctx, "d")
		must(t, err)
		_, err = db.CreateList(ctx, "l")
		must(t, err)
		if _, err := db.CreateDict(ctx, "l"); !errors.Is(err, cyberdb.ErrTableExists) {
			t.Fatalf("CreateDict of a taken name: %v", err)
		}
		if _, err := db.Dict(ctx, "nope"); !errors.Is(err, cyberdb.ErrNoTable) {
			t.Fatalf("Dict of a missing table: %v", err)
		}
		if _, err := db.Dict(ctx, "l"); !errors.Is(err, cyberdb.ErrWrongType) {
			t.Fatalf("Dict of a list: %v", err)
		}
		if _, err := db.List(ctx, "d"); !errors.Is(err, cyberdb.ErrWrongType) {
			t.Fatalf("List of a dict: %v", err)
		}
		tables, err := db.Tables(ctx)
		must(t, err)
		want := []cyberdb.TableInfo{{Name: "d", Kind: cyberdb.KindDict}, {Name: "l", Kind: cyberdb.KindList}}
		if !slices.Equal(tables, want) {
			t.Fatalf("Tables = %v, want %v", tables, want)
		}
		l, err := db.List(ctx, "l")
		must(t, err)
		must(t, db.DropTable(ctx, "l"))
		if err := l.Append(ctx, 1); !errors.Is(err, cyberdb.ErrNoTable) {
			t.Fatalf("Append to a dropped table: %v", err)
		}
		if err := db.DropTable(ctx, "l"); !errors.Is(err, cyberdb.ErrNoTable) {
			t.Fatalf("DropTable of a dropped table: %v", err)
		}
		if _, err := db.CreateDict(ctx, "x", []int{1}); !errors.Is(err, cyberdb.ErrInvalid) {
			t.Fatalf("CreateDict with a slice as content: %v", err)
		}
	})
}

func TestDB_Closed(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		must(t, db.Close())
		must(t, db.Close())
		if err := d.Set(ctx, "k", 1); !errors.Is(err, cyberdb.ErrClosed) {
			t.Fatalf("Set after Close: %v", err)
		}
		if _, err := db.Tables(ctx); !errors.Is(err, cyberdb.ErrClosed) {
			t.Fatalf("Tables after Close: %v", err)
		}
	})
}

func TestDB_SaveLoad(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]int{"a": 1, "zero": 0})
		must(t, err)
		_, err = db.CreateList(ctx, "l", []string{"x", ""})
		must(t, err)
		path := filepath.Join(db.Dir(), "export.cdb")
		must(t, db.Save(ctx, path))
		must(t, d.Set(ctx, "a", 2))
		must(t, db.DropTable(ctx, "l"))
		must(t, db.Load(ctx, path))
		var a int
		if _, err := d.Get(ctx, "a", &a); err != nil || a != 1 {
			t.Fatalf("after Load, a = %d, %v; want 1", a, err)
		}
		l, err := db.List(ctx, "l")
		must(t, err)
		got, err := cyberdb.ListOf[string](l).ToSlice(ctx)
		must(t, err)
		if !slices.Equal(got, []string{"x", ""}) {
			t.Fatalf("after Load, l = %q", got)
		}
	})
}

func TestDB_LoadBadFileKeepsData(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]int{"a": 1})
		must(t, err)
		garbage := filepath.Join(db.Dir(), "garbage.cdb")
		must(t, os.WriteFile(garbage, []byte("this is not a bbolt file at all, not even close"), 0o600))
		for _, path := range []string{garbage, filepath.Join(db.Dir(), "missing.cdb")} {
			if err := db.Load(ctx, path); err == nil {
				t.Fatalf("Load(%s) succeeded", path)
			} else {
				t.Logf("Load(%s): %v", filepath.Base(path), err)
			}
		}
		var a int
		if _, err := d.Get(ctx, "a", &a); err != nil || a != 1 {
			t.Fatalf("after failed Loads, a = %d, %v; want 1", a, err)
		}
	})
}

func TestDB_Ensure(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.EnsureDict(ctx, "d", map[string]int{"a": 1})
		must(t, err)
		_, err = db.EnsureDict(ctx, "d", map[string]int{"a": 2})
		must(t, err)
		var a int
		if _, err := d.Get(ctx, "a", &a); err != nil || a != 1 {
			t.Fatalf("a = %d, %v; the second EnsureDict must not overwrite", a, err)
		}
		_, err = db.EnsureList(ctx, "l")
		must(t, err)
		if _, err := db.EnsureList(ctx, "d"); !errors.Is(err, cyberdb.ErrWrongType) {
			t.Fatalf("EnsureList of a dict: %v", err)
		}
	})
}
