package backup

import (
	"errors"
	"fmt"
)

// ErrCorrupt is returned by Read when a backup file is damaged: its pages,
// counts, checksums or values are not what Write produced.
var ErrCorrupt = errors.New("cyberdb: backup file is corrupt")

// ErrForeign is returned by Read for a file that is not a backup of this
// format, such as another bbolt database or an empty file.
var ErrForeign = errors.New("cyberdb: not a cyberdb backup file")

// badFile is why a file was rejected: ErrCorrupt or ErrForeign, and the
// detail. Read adds the path.
type badFile struct {
	kind   error
	detail string
}

func (e *badFile) Error() string { return e.kind.Error() + ": " + e.detail }

func (e *badFile) Unwrap() error { return e.kind }

// corrupt returns an ErrCorrupt error with a formatted detail.
func corrupt(format string, args ...any) error {
	return &badFile{kind: ErrCorrupt, detail: fmt.Sprintf(format, args...)}
}

// foreign returns an ErrForeign error with a formatted detail.
func foreign(format string, args ...any) error {
	return &badFile{kind: ErrForeign, detail: fmt.Sprintf(format, args...)}
}

// inTable prefixes the detail of a rejection with the table it concerns.
func inTable(name []byte, err error) error {
	var bf *badFile
	if errors.As(err, &bf) {
		return &badFile{kind: bf.kind, detail: fmt.Sprintf("table %q: %s", clip(string(name)), bf.detail)}
	}
	return fmt.Errorf("table %q: %w", clip(string(name)), err)
}

// readError wraps an error of Read or Stat with the path.
func readError(path string, err error) error {
	var bf *badFile
	if errors.As(err, &bf) {
		return fmt.Errorf("%w: %s: %s", bf.kind, path, bf.detail)
	}
	return fmt.Errorf("cyberdb: read backup %s: %w", path, err)
}
