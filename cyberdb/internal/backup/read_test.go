package backup_test

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	bolt "go.etcd.io/bbolt"
)

func TestRead_NotExist(t *testing.T) {
	_, _, err := backup.Read(filepath.Join(t.TempDir(), "missing.cdb"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want ErrNotExist", err)
	}
	if _, err := backup.Stat(filepath.Join(t.TempDir(), "missing.cdb")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat: got %v, want ErrNotExist", err)
	}
}

// boltFile creates a bbolt file at path and applies fn to it.
func boltFile(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestRead_Foreign(t *testing.T) {
	rnd := func(n int) []byte {
		b := make([]byte, n)
		r := rand.NewChaCha8([32]byte{byte(n)})
		_, _ = r.Read(b)
		return b
	}
	tests := []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"empty file", contents(nil), "the file is empty"},
		{"text", contents([]byte("CyberDB python pickle\n")), "no bbolt meta page"},
		{"random 4 KiB", contents(rnd(4096)), "no bbolt meta page"},
		{"random 64 KiB", contents(rnd(65536)), "no bbolt meta page"},
		{"directory", func(t *testing.T, path string) { _ = os.Mkdir(path, 0o700) }, "not a regular file"},
		{"empty bbolt", func(t *testing.T, path string) {
			boltFile(t, path, func(*bolt.Tx) error { return nil })
		}, "without a cyberdb bucket"},
		{"other bbolt", func(t *testing.T, path string) {
			boltFile(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("widgets"))
				if err != nil {
					return err
				}
				return b.Put([]byte("foo"), []byte("bar"))
			})
		}, "without a cyberdb bucket"},
		{"other format", func(t *testing.T, path string) {
			boltFile(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("cyberdb"))
				if err != nil {
					return err
				}
				return b.Put([]byte("format"), []byte("cyberdb-go/9"))
			})
		}, `format "cyberdb-go/9", this build reads "cyberdb-go/3" and "cyberdb-go/2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data.cdb")
			tt.make(t, path)
			got, _, err := backup.Read(path)
			if !errors.Is(err, backup.ErrForeign) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrForeign with %q", err, tt.want)
			}
			if got != nil {
				t.Fatal("got tables with the error")
			}
			if !strings.HasPrefix(err.Error(), "cyberdb: not a cyberdb backup file: "+path+": ") {
				t.Fatalf("message %q does not name the path", err)
			}
		})
	}
}

// contents returns a maker of a file holding b.
func contents(b []byte) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRead_Locked(t *testing.T) {
	path := writeSample(t, sample(t))
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, _, err = backup.Read(path)
	if err == nil || !strings.Contains(err.Error(), "locked by a writer") {
		t.Fatalf("got %v, want a lock timeout", err)
	}
}

func TestStat(t *testing.T) {
	path := writeSample(t, sample(t))
	info, err := backup.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if info.Size != fi.Size() {
		t.Errorf("Size %d, file has %d", info.Size, fi.Size())
	}
	if info.Format != backup.Format {
		t.Errorf("Format %q, want %q", info.Format, backup.Format)
	}
	want := []backup.TableStat{
		{Name: "alpha", Kind: engine.KindDict, Rev: 41, Len: 40, Bytes: 40 * 30},
		{Name: "beta", Kind: engine.KindList, Rev: 40, Len: 40, Bytes: 40 * 30},
		{Name: "gamma", Kind: engine.KindDict, Rev: 1<<40 + 1, TTL: 5e9, Len: 2, Bytes: 2},
	}
	if len(info.Tables) != len(want) {
		t.Fatalf("got %+v, want %+v", info.Tables, want)
	}
	for i := range want {
		if info.Tables[i] != want[i] {
			t.Errorf("table %d: got %+v, want %+v", i, info.Tables[i], want[i])
		}
	}
}

// TestRead_WhileWriting reads a path while it is rewritten: every Read sees
// one complete version.
func TestRead_WhileWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.cdb")
	version := func(v int) []engine.TableData {
		return []engine.TableData{dict(t, "a", 500, 30+v%20), list(t, "b", 500+v, 30)}
	}
	if err := backup.Write(path, version(0), backup.Meta{}); err != nil {
		t.Fatal(err)
	}
	const versions = 20
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for v := 1; v <= versions; v++ {
			if err := backup.Write(path, version(v), backup.Meta{}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	reads := 0
	for stop := false; !stop; reads++ {
		select {
		case <-done:
			stop = true
		default:
		}
		got, _, err := backup.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		v := len(got[1].List) - 500
		equalTables(t, got, version(v))
	}
	wg.Wait()
	t.Logf("%d reads during %d writes", reads, versions)
}
