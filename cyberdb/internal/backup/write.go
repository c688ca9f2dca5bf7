package backup

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	bolt "go.etcd.io/bbolt"
)

// commitBytes is how much data one transaction of Write carries at most,
// which bounds the memory bbolt holds for dirty pages.
const commitBytes = 16 << 20

// entryOverhead approximates the bytes a bbolt leaf spends per entry
// besides its key and value.
const entryOverhead = 16

// Write stores tables and meta in a backup file at path, replacing any previous one
// atomically: it builds path+".tmp", commits it with fsync, renames it over
// path and syncs the directory. On any error it removes the temporary file
// and leaves path untouched. It rejects empty, duplicate or over-long names,
// keys over MaxKeySize and values that are not one well-formed CBOR item.
// Concurrent Writes to the same path fail fast rather than interleave;
// Write never modifies tables.
func Write(path string, tables []engine.TableData, meta Meta) error {
	if err := write(path, tables, meta); err != nil {
		return fmt.Errorf("cyberdb: write backup %s: %w", path, err)
	}
	return nil
}

func write(path string, tables []engine.TableData, meta Meta) error {
	order, err := sortTables(tables)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	db, f, err := createTmp(tmp, mmapSize(tables)+len(meta.Clients))
	if err != nil {
		if f != nil {
			_ = os.Remove(tmp)
		}
		return err
	}
	err = fill(db, order, meta)
	if err == nil {
		err = trim(db, f)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		// Remove while still holding the lock, so a concurrent
		// Write cannot have taken the file over.
		_ = os.Remove(tmp)
		_ = db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// sortTables returns pointers to tables in name order after checking
// names and kinds.
func sortTables(tables []engine.TableData) ([]*engine.TableData, error) {
	order := make([]*engine.TableData, len(tables))
	for i := range tables {
		order[i] = &tables[i]
	}
	slices.SortFunc(order, func(a, b *engine.TableData) int { return cmp.Compare(a.Name, b.Name) })
	for i, t := range order {
		if err := checkTable(t); err != nil {
			return nil, err
		}
		if i > 0 && order[i-1].Name == t.Name {
			return nil, fmt.Errorf("table %q appears twice", t.Name)
		}
	}
	return order, nil
}

// checkTable checks the name and kind of t.
func checkTable(t *engine.TableData) error {
	switch {
	case t.Name == "":
		return errors.New("empty table name")
	case len(t.Name) > MaxKeySize:
		return fmt.Errorf("table name of %d bytes exceeds %d", len(t.Name), MaxKeySize)
	case t.Kind != engine.KindDict && t.Kind != engine.KindList:
		return fmt.Errorf("table %q: unknown kind %d", t.Name, t.Kind)
	}
	return nil
}

// mmapSize estimates the size of the file holding tables, so that bbolt
// maps it once instead of remapping as it grows.
func mmapSize(tables []engine.TableData) int {
	n := 64 << 10
	for i := range tables {
		t := &tables[i]
		n += 3*os.Getpagesize() + len(t.Name)
		for k, v := range t.Dict {
			n += entryOverhead + len(k) + len(v)
		}
		for _, v := range t.List {
			n += entryOverhead + 8 + len(v)
		}
	}
	return n + n/8
}

// createTmp creates the bbolt file at tmp, locked against concurrent Writes.
// f is the file bbolt writes (and owns), or nil if this call did not get
// to create or truncate it.
func createTmp(tmp string, mmap int) (db *bolt.DB, f *os.File, err error) {
	open := func(name string, flag int, _ os.FileMode) (*os.File, error) {
		var err error
		f, err = openLocked(name, flag)
		return f, err
	}
	db, err = bolt.Open(tmp, 0o600, &bolt.Options{
		Timeout:         time.Second,
		NoSync:          false,
		InitialMmapSize: mmap,
		FreelistType:    bolt.FreelistMapType,
		OpenFile:        open,
	})
	if err != nil {
		return nil, f, fmt.Errorf("create %s: %w", tmp, err)
	}
	return db, f, nil
}

// openLocked opens name, takes an exclusive lock without waiting and
// empties the file, which may be left over from a crashed Write.
func openLocked(name string, flag int) (*os.File, error) {
	f, err := os.OpenFile(name, flag, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockNB(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := f.Truncate(0); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// fill writes the tables and meta into db.
func fill(db *bolt.DB, order []*engine.TableData, meta Meta) error {
	w := &writer{db: db}
	if err := w.begin(); err != nil {
		return err
	}
	defer w.rollback()
	if err := w.skeleton(); err != nil {
		return err
	}
	for _, t := range order {
		if err := w.table(t); err != nil {
			return fmt.Errorf("table %q: %w", t.Name, err)
		}
	}
	return w.finish(len(order), meta)
}

// trim cuts the file to the pages in use, dropping the slack bbolt
// preallocates, and syncs it.
func trim(db *bolt.DB, f *os.File) error {
	var size int64
	_ = db.View(func(tx *bolt.Tx) error {
		size = tx.Size()
		return nil
	})
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("trim: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}
