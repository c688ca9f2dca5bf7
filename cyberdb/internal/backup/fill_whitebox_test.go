package backup

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	bolt "go.etcd.io/bbolt"
)

// A filler's map holds every entry added, however many batches they
// fill, and none when none was added.
func TestFiller(t *testing.T) {
	for _, n := range []int{0, 1, fillBatch - 1, fillBatch, fillBatch + 1, 3*fillBatches*fillBatch + 7} {
		f := newFiller(n)
		for i := range n {
			f.add(fmt.Sprint(i), engine.Entry{V: []byte{byte(i)}, Ver: uint64(i)})
		}
		m := f.wait()
		if len(m) != n {
			t.Fatalf("%d entries added, the map holds %d", n, len(m))
		}
		for i := range n {
			if e := m[fmt.Sprint(i)]; e.Ver != uint64(i) || e.V[0] != byte(i) {
				t.Fatalf("entry %d of %d: %+v", i, n, e)
			}
		}
	}
}

// bigDict returns a dict large enough that Read fills its map in a
// goroutine of its own.
func bigDict() engine.TableData {
	td := engine.TableData{Name: "big", Kind: engine.KindDict, Rev: 1, Dict: make(map[string]engine.Entry)}
	for i := range parallelFill + 3*fillBatch {
		v := fmt.Appendf([]byte{0x58, 10}, "v%09d", i)
		td.Dict[fmt.Sprintf("key-%08d", i)] = engine.Entry{V: v, Ver: uint64(i) + 1}
	}
	return td
}

// A large dict reads back whole; damaged in the middle, it is rejected and
// the goroutine filling its map ends.
func TestRead_BigDict(t *testing.T) {
	want := bigDict()
	path := filepath.Join(t.TempDir(), "big.cdb")
	if err := Write(path, []engine.TableData{want}, Meta{}); err != nil {
		t.Fatal(err)
	}
	got, _, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Dict) != len(want.Dict) {
		t.Fatalf("read %d tables", len(got))
	}
	for k, e := range want.Dict {
		if g := got[0].Dict[k]; string(g.V) != string(e.V) || g.Ver != e.Ver {
			t.Fatalf("key %q: got %+v, want %+v", k, g, e)
		}
	}

	before := runtime.NumGoroutine()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketTables).Bucket([]byte("big")).Bucket(bucketData)
		return data.Put(fmt.Appendf(nil, "key-%08d", parallelFill/2), []byte{0x80, 1, 0xf5})
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	tables, _, err := Read(path)
	if !errors.Is(err, ErrCorrupt) || tables != nil || !strings.Contains(err.Error(), fmt.Sprintf("entry %d ", parallelFill/2)) {
		t.Fatalf("damaged file: %d tables, %v; want ErrCorrupt at entry %d", len(tables), err, parallelFill/2)
	}
	ctest.Eventually(t, 5*time.Second, fmt.Sprintf("the filler to end (%d goroutines before the read)", before),
		func() bool { return runtime.NumGoroutine() <= before })
}
