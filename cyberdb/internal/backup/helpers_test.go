package backup_test

import (
	"bytes"
	"encoding/binary"
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

// dict returns a dict table of n keys with values of size bytes, versions
// 1 to n, a deadline on two keys in three, and Rev n+1.
func dict(t testing.TB, name string, n, size int) engine.TableData {
	td := engine.TableData{Name: name, Kind: engine.KindDict, Rev: uint64(n) + 1, Dict: make(map[string]engine.Entry, n)}
	for i := range n {
		e := engine.Entry{V: value(t, i, size), Ver: uint64(i) + 1}
		if i%3 != 0 {
			e.Exp = 1_700_000_000_000_000_000 + int64(i)
		}
		td.Dict[fmt.Sprintf("key-%08d", i)] = e
	}
	return td
}

// list returns a list table of n values of size bytes, with Rev n.
func list(t testing.TB, name string, n, size int) engine.TableData {
	td := engine.TableData{Name: name, Kind: engine.KindList, Rev: uint64(n), List: make([][]byte, n)}
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
		{Name: "gamma", Kind: engine.KindDict, Rev: 1<<40 + 1, TTL: 5e9, Dict: map[string]engine.Entry{
			"":  {V: enc(t, 0), Ver: 7, Exp: 1_700_000_000_000_000_000},
			"x": {V: enc(t, ""), Ver: 1 << 40},
		}},
	}
}

// stored returns a dict entry as the file holds it: the header the
// package documentation describes, then the value.
func stored(ver uint64, exp int64, v []byte) []byte {
	b := []byte{0}
	if exp != 0 {
		b[0] = 0x01
	}
	b = binary.AppendUvarint(b, ver)
	if exp != 0 {
		b = binary.BigEndian.AppendUint64(b, uint64(exp))
	}
	return append(b, v...)
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
	if got.Name != want.Name || got.Kind != want.Kind || got.LSN != want.LSN || got.Rev != want.Rev || got.TTL != want.TTL {
		return fmt.Errorf("got %q %v lsn %d rev %d ttl %d, want %q %v lsn %d rev %d ttl %d",
			got.Name, got.Kind, got.LSN, got.Rev, got.TTL, want.Name, want.Kind, want.LSN, want.Rev, want.TTL)
	}
	if len(got.Dict) != len(want.Dict) || len(got.List) != len(want.List) {
		return fmt.Errorf("got %d+%d entries, want %d+%d", len(got.Dict), len(got.List), len(want.Dict), len(want.List))
	}
	for k, e := range want.Dict {
		if g, ok := got.Dict[k]; !ok || !bytes.Equal(g.V, e.V) || g.Ver != e.Ver || g.Exp != e.Exp {
			return fmt.Errorf("key %q: got %x ver %d exp %d (present %v), want %x ver %d exp %d", k, g.V, g.Ver, g.Exp, ok, e.V, e.Ver, e.Exp)
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
