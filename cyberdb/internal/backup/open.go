package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// openTimeout bounds the wait for a writer's lock on the file.
const openTimeout = time.Second

// view opens the backup at path read-only, checks its structure and format
// and calls fn with a read transaction, the file size and what the cyberdb
// bucket declares. A panic or memory fault inside bbolt, which a
// damaged file could still cause, is reported as ErrCorrupt.
func view(path string, fn func(tx *bolt.Tx, size int64, h *fileHeader) error) (err error) {
	db, f, size, err := openDB(path)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = corrupt("reading the file failed: %v", r)
		}
	}()
	return db.View(func(tx *bolt.Tx) error {
		if err := verifyTree(f, size, db.Info().PageSize, tx.ID()); err != nil {
			return err
		}
		h, err := checkMeta(tx)
		if err != nil {
			return err
		}
		return fn(tx, size, h)
	})
}

// openDB opens path with bbolt, read-only, after checking that it looks
// like a bbolt file. bbolt owns the returned file.
func openDB(path string) (*bolt.DB, *os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	size, err := sniff(f)
	if err != nil {
		_ = f.Close()
		return nil, nil, 0, err
	}
	handed := false
	db, err := bolt.Open(path, 0o400, &bolt.Options{
		ReadOnly: true,
		Timeout:  openTimeout,
		OpenFile: func(string, int, os.FileMode) (*os.File, error) {
			handed = true
			return f, nil
		},
	})
	if err != nil {
		if !handed {
			_ = f.Close()
		}
		return nil, nil, 0, openError(err)
	}
	return db, f, size, nil
}

// sniff returns the size of f after checking that it is a regular file
// with a bbolt meta page, so that bbolt is never handed an empty or
// foreign file.
func sniff(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, foreign("not a regular file (%s)", fi.Mode().Type())
	}
	if fi.Size() == 0 {
		return 0, foreign("the file is empty")
	}
	if !hasMagic(f, fi.Size()) {
		return 0, foreign("no bbolt meta page")
	}
	return fi.Size(), nil
}

// hasMagic reports whether a bbolt meta page starts at offset 0 or at any
// page size bbolt supports.
func hasMagic(f *os.File, size int64) bool {
	var buf [pageHeaderSize + 4]byte
	for off := int64(0); off < size; off = max(1024, off*2) {
		if _, err := f.ReadAt(buf[:], off); err != nil {
			return false
		}
		if ne.Uint32(buf[pageHeaderSize:]) == boltMagic {
			return true
		}
		if off >= 1<<24 {
			break
		}
	}
	return false
}

// openError classifies an error of bolt.Open on a file with a meta page.
func openError(err error) error {
	var errno syscall.Errno
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("locked by a writer for over %v: %w", openTimeout, err)
	case errors.Is(err, berrors.ErrVersionMismatch):
		return corrupt("bbolt version mismatch in the meta pages")
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum):
		return corrupt("bbolt rejects the meta pages: %v", err)
	case errors.As(err, new(*fs.PathError)), errors.As(err, &errno):
		return err
	}
	return corrupt("bbolt cannot open the file: %v", err)
}
