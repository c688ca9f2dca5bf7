package backup_test

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"golang.org/x/sys/unix"
)

func TestWrite_RoundTrip(t *testing.T) {
	falsy := []any{0, "", false, []any{}, map[string]any{}, nil, 0.0, []byte{}}
	falsyDict := engine.TableData{Name: "falsy", Kind: engine.KindDict, Dict: map[string]engine.Entry{}}
	falsyList := engine.TableData{Name: "falsy-list", Kind: engine.KindList}
	for i, v := range falsy {
		falsyDict.Dict[string(rune('a'+i))] = engine.Entry{V: enc(t, v)}
		falsyList.List = append(falsyList.List, enc(t, v))
	}
	big := engine.TableData{Name: "big", Kind: engine.KindList, List: [][]byte{value(t, 1, 100_000), value(t, 2, 30)}}
	tests := []struct {
		name   string
		tables []engine.TableData
	}{
		{"no tables", nil},
		{"empty dict", []engine.TableData{{Name: "d", Kind: engine.KindDict}}},
		{"empty list", []engine.TableData{{Name: "l", Kind: engine.KindList}}},
		{"dict", []engine.TableData{dict(t, "d", 100, 40)}},
		{"list", []engine.TableData{list(t, "l", 100, 40)}},
		{"falsy values", []engine.TableData{falsyDict, falsyList}},
		{"empty key only", []engine.TableData{{Name: "e", Kind: engine.KindDict, Dict: map[string]engine.Entry{"": {V: enc(t, 1)}}}}},
		{"odd names", []engine.TableData{dict(t, "\x00", 1, 30), dict(t, "data", 1, 30), dict(t, "ünï €", 1, 30)}},
		{"overflow pages", []engine.TableData{big}},
		{"several", sample(t)},
		{"100k keys", []engine.TableData{dict(t, "d", 100_000, 64), list(t, "l", 1000, 64)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeSample(t, tt.tables)
			got, _, err := backup.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			equalTables(t, got, tt.tables)
			noFile(t, path+".tmp")
		})
	}
}

// TestWrite_Versions round-trips the versions and deadlines of dict
// entries, the key "" included, and the Rev and TTL of tables, at the
// edges of their ranges.
func TestWrite_Versions(t *testing.T) {
	v := enc(t, "v")
	entries := map[string]engine.Entry{
		"":        {V: v, Ver: math.MaxUint64, Exp: 1},
		"zero":    {V: v},
		"ver-127": {V: v, Ver: 127},
		"ver-128": {V: v, Ver: 128, Exp: 1_700_000_000_000_000_000},
		"max":     {V: v, Ver: math.MaxUint64, Exp: math.MaxInt64},
		"min-exp": {V: v, Exp: math.MinInt64},
		"neg-exp": {V: v, Ver: 3, Exp: -1},
		"big":     {V: value(t, 1, 100_000), Ver: 9, Exp: 12345},
	}
	tests := []struct {
		name   string
		tables []engine.TableData
	}{
		{"dict", []engine.TableData{{Name: "d", Kind: engine.KindDict, Rev: math.MaxUint64, TTL: math.MaxInt64, Dict: entries}}},
		{"empty key only", []engine.TableData{{Name: "e", Kind: engine.KindDict, Rev: 4, TTL: 1, Dict: map[string]engine.Entry{"": {V: v, Ver: 4, Exp: 99}}}}},
		{"empty key, no version", []engine.TableData{{Name: "e", Kind: engine.KindDict, Dict: map[string]engine.Entry{"": {V: v}}}}},
		{"list", []engine.TableData{{Name: "l", Kind: engine.KindList, Rev: 77, List: [][]byte{v, v}}}},
		{"empty tables", []engine.TableData{{Name: "d", Kind: engine.KindDict, Rev: 5, TTL: 10}, {Name: "l", Kind: engine.KindList, Rev: 6}}},
		{"many", []engine.TableData{dict(t, "d", 5000, 30), list(t, "l", 50, 30)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeSample(t, tt.tables)
			got, _, err := backup.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			equalTables(t, got, tt.tables)
			info, err := backup.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != backup.Format {
				t.Errorf("Stat: format %q", info.Format)
			}
			for i, ts := range info.Tables {
				if w := tt.tables[i]; ts.Rev != w.Rev || ts.TTL != w.TTL {
					t.Errorf("Stat: table %q: rev %d ttl %d, want %d %d", ts.Name, ts.Rev, ts.TTL, w.Rev, w.TTL)
				}
			}
		})
	}
}

func TestWrite_Unsorted(t *testing.T) {
	tables := sample(t)
	rev := []engine.TableData{tables[2], tables[0], tables[1]}
	got, _, err := backup.Read(writeSample(t, rev))
	if err != nil {
		t.Fatal(err)
	}
	equalTables(t, got, tables)
	if rev[0].Name != "gamma" {
		t.Fatal("Write reordered its argument")
	}
}

func TestWrite_Invalid(t *testing.T) {
	tests := []struct {
		name   string
		tables []engine.TableData
		want   string
	}{
		{"empty name", []engine.TableData{{Kind: engine.KindDict}}, "empty table name"},
		{"duplicate", []engine.TableData{{Name: "a", Kind: engine.KindDict}, {Name: "a", Kind: engine.KindList}}, `table "a" appears twice`},
		{"bad kind", []engine.TableData{{Name: "a", Kind: 7}}, `table "a": unknown kind 7`},
		{"long name", []engine.TableData{{Name: strings.Repeat("n", backup.MaxKeySize+1), Kind: engine.KindList}}, "table name of 32769 bytes"},
		{"nil value", []engine.TableData{{Name: "a", Kind: engine.KindDict, Dict: map[string]engine.Entry{"k": {Ver: 3}}}}, `table "a": key "k": empty value`},
		{"malformed dict value", []engine.TableData{{Name: "a", Kind: engine.KindDict, Dict: map[string]engine.Entry{"": {V: []byte{0x82}, Exp: 1}}}}, `table "a": key "": cyberdb: malformed CBOR`},
		{"malformed", []engine.TableData{{Name: "a", Kind: engine.KindList, List: [][]byte{{0x01}, {0xff}}}}, `table "a": index 1: cyberdb: malformed CBOR`},
		{"two items", []engine.TableData{{Name: "a", Kind: engine.KindList, List: [][]byte{{0x01, 0x02}}}}, `index 0: cyberdb: malformed CBOR`},
		{"long key", []engine.TableData{{Name: "a", Kind: engine.KindDict, Dict: map[string]engine.Entry{strings.Repeat("k", backup.MaxKeySize+1): {V: []byte{1}}}}}, "key of 32769 bytes exceeds 32768"},
		{"negative ttl", []engine.TableData{{Name: "a", Kind: engine.KindDict, TTL: -1}}, `table "a": negative TTL -1`},
		{"ttl on a list", []engine.TableData{{Name: "a", Kind: engine.KindList, TTL: 1}}, `table "a": a list with a TTL`},
		{"late error", []engine.TableData{dict(t, "a", 10, 30), {Name: "b", Kind: engine.KindList, List: [][]byte{{0xff}}}}, `table "b": index 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data.cdb")
			err := backup.Write(path, tt.tables, backup.Meta{})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "cyberdb: write backup ") {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			noFile(t, path)
			noFile(t, path+".tmp")
		})
	}
}

func TestWrite_Replaces(t *testing.T) {
	path := writeSample(t, sample(t))
	want := []engine.TableData{list(t, "only", 3, 30)}
	if err := backup.Write(path, want, backup.Meta{}); err != nil {
		t.Fatal(err)
	}
	got, _, err := backup.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	equalTables(t, got, want)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestWrite_StaleTmp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.cdb")
	if err := os.WriteFile(path+".tmp", []byte("left over from a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := backup.Write(path, sample(t), backup.Meta{}); err != nil {
		t.Fatal(err)
	}
	noFile(t, path+".tmp")
	if _, _, err := backup.Read(path); err != nil {
		t.Fatal(err)
	}
}

func TestWrite_Busy(t *testing.T) {
	path := writeSample(t, sample(t))
	f, err := os.OpenFile(path+".tmp", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	err = backup.Write(path, nil, backup.Meta{})
	if err == nil || !strings.Contains(err.Error(), "another Write to the same path is in progress") {
		t.Fatalf("got %v, want a busy error", err)
	}
	if _, err := os.Stat(path + ".tmp"); err != nil {
		t.Fatalf("the other writer's file was removed: %v", err)
	}
	got, _, err := backup.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	equalTables(t, got, sample(t))
}

func TestWrite_ParentIsFile(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(parent, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := backup.Write(filepath.Join(parent, "data.cdb"), sample(t), backup.Meta{})
	if !errors.Is(err, syscall.ENOTDIR) {
		t.Fatalf("got %v, want ENOTDIR", err)
	}
}

func TestWrite_DiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, 0) })
	path := filepath.Join(dir, "data.cdb")
	old := []engine.TableData{dict(t, "small", 10, 30)}
	if err := backup.Write(path, old, backup.Meta{}); err != nil {
		t.Fatal(err)
	}
	err := backup.Write(path, []engine.TableData{dict(t, "big", 2000, 100)}, backup.Meta{})
	if err == nil {
		t.Fatal("Write succeeded on a full disk")
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("got %v, want ENOSPC", err)
	}
	t.Log(err)
	noFile(t, path+".tmp")
	got, _, err := backup.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	equalTables(t, got, old)
}

func TestWrite_ReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions; TestWrite_ParentIsFile and TestWrite_DiskFull cover failing writes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "data.cdb")
	old := sample(t)
	if err := backup.Write(path, old, backup.Meta{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	err := backup.Write(path, nil, backup.Meta{})
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("got %v, want a permission error", err)
	}
	got, _, err := backup.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	equalTables(t, got, old)
}
