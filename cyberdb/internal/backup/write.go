package backup

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/durable"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// Write stores tables and meta in a backup file at path, replacing any previous one
// atomically: it builds path+".tmp", syncs it, renames it over path and
// syncs the directory. On any error it removes the temporary file
// and leaves path untouched. It rejects empty, duplicate or over-long names,
// a negative TTL or one on a list, keys over MaxKeySize and values that
// are not one well-formed CBOR item.
// Concurrent Writes to the same path fail fast rather than interleave;
// Write never modifies tables. It sorts a large dict on two goroutines
// and hands the file writes to another, all of which end before it
// returns.
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
	f, err := openLocked(tmp, os.O_RDWR|os.O_CREATE)
	if err != nil {
		// The file may be another Write's: leave it.
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	err = fill(f, order, meta)
	if err == nil {
		err = syncFile(f)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		// Remove while still holding the lock, so a concurrent
		// Write cannot have taken the file over.
		_ = os.Remove(tmp)
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
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

// checkTable checks the name, kind and TTL of t.
func checkTable(t *engine.TableData) error {
	switch {
	case t.Name == "":
		return errors.New("empty table name")
	case len(t.Name) > MaxKeySize:
		return fmt.Errorf("table name of %d bytes exceeds %d", len(t.Name), MaxKeySize)
	case t.Kind != engine.KindDict && t.Kind != engine.KindList:
		return fmt.Errorf("table %q: unknown kind %d", t.Name, t.Kind)
	case t.TTL < 0:
		return fmt.Errorf("table %q: negative TTL %d", t.Name, t.TTL)
	case t.TTL != 0 && t.Kind != engine.KindDict:
		return fmt.Errorf("table %q: a list with a TTL", t.Name)
	}
	return nil
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

// syncFile makes the content of f durable.
func syncFile(f *os.File) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}
