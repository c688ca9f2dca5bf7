package backup_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// enc returns the CBOR encoding of v.
func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := ipc.DefaultCodec.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dict returns a dict table of n keys with values of size bytes.
func dict(t testing.TB, name string, n, size int) engine.TableData {
	td := engine.TableData{Name: name, Kind: engine.KindDict, Dict: make(map[string][]byte, n)}
	for i := range n {
		td.Dict[fmt.Sprintf("key-%08d", i)] = value(t, i, size)
	}
	return td
}

// list returns a list table of n values of size bytes.
func list(t testing.TB, name string, n, size int) engine.TableData {
	td := engine.TableData{Name: name, Kind: engine.KindList, List: make([][]byte, n)}
	for i := range n {
		td.List[i] = value(t, i, size)
	}
	return td
}

// value returns a CBOR byte string of exactly size bytes (size >= 26)
// that depends on i.
func value(t testing.TB, i, size int) []byte {
	b := bytes.Repeat([]byte{byte(i)}, size)
	copy(b, fmt.Sprintf("%08d", i))
	for n := size; n > 0; n-- {
		if v := enc(t, b[:n]); len(v) == size {
			return v
		}
	}
	t.Fatalf("no CBOR byte string of %d bytes", size)
	return nil
}

// sample returns a few small tables of both kinds.
func sample(t testing.TB) []engine.TableData {
	return []engine.TableData{
		dict(t, "alpha", 40, 30),
		list(t, "beta", 40, 30),
		{Name: "gamma", Kind: engine.KindDict, Dict: map[string][]byte{"": enc(t, 0), "x": enc(t, "")}},
	}
}

// equalTables fails t unless got holds the tables of want, in name order.
func equalTables(t testing.TB, got, want []engine.TableData) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tables, want %d", len(got), len(want))
	}
	for i := range want {
		if err := diffTable(got[i], want[i]); err != nil {
			t.Fatalf("table %d (%q): %v", i, want[i].Name, err)
		}
	}
}

// diffTable describes the first difference between two tables.
func diffTable(got, want engine.TableData) error {
	if got.Name != want.Name || got.Kind != want.Kind {
		return fmt.Errorf("got %q %v, want %q %v", got.Name, got.Kind, want.Name, want.Kind)
	}
	if len(got.Dict) != len(want.Dict) || len(got.List) != len(want.List) {
		return fmt.Errorf("got %d+%d entries, want %d+%d", len(got.Dict), len(got.List), len(want.Dict), len(want.List))
	}
	for k, v := range want.Dict {
		if g, ok := got.Dict[k]; !ok || !bytes.Equal(g, v) {
			return fmt.Errorf("key %q: got %x (present %v), want %x", k, g, ok, v)
		}
	}
	for i, v := range want.List {
		if !bytes.Equal(got.List[i], v) {
			return fmt.Errorf("index %d: got %x, want %x", i, got.List[i], v)
		}
	}
	return nil
}

// writeSample writes tables to a new backup file and returns its path.
func writeSample(t testing.TB, tables []engine.TableData) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.cdb")
	if err := backup.Write(path, tables, backup.Meta{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// assertRejected fails t unless err is ErrCorrupt or ErrForeign and
// tables is nil.
func assertRejected(t testing.TB, what string, tables []engine.TableData, err error) {
	t.Helper()
	if err == nil || !(errors.Is(err, backup.ErrCorrupt) || errors.Is(err, backup.ErrForeign)) {
		t.Fatalf("%s: got error %v, want ErrCorrupt or ErrForeign", what, err)
	}
	if tables != nil {
		t.Fatalf("%s: got %d tables along with the error", what, len(tables))
	}
}

// noFile fails t if path exists.
func noFile(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s: want no file, got %v", path, err)
	}
}
