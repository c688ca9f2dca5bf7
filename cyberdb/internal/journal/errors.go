package journal

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by Wait for a record that was not committed before
// the journal was closed.
var ErrClosed = errors.New("cyberdb: log is closed")

// ErrCommit wraps the error of a failed commit of the log, such as a full
// disk: Wait returns it to the writers of the failed batch and Err returns
// it until a commit succeeds.
var ErrCommit = errors.New("cyberdb: log commit failed")

// ErrTornTail is wrapped by the *TailError Replay returns when the log
// ends in damaged or missing records.
var ErrTornTail = errors.New("cyberdb: log ends in damaged records")

// ErrForeign is returned by Open and Replay for a file that is not an
// operation log of this format.
var ErrForeign = errors.New("cyberdb: not a cyberdb log file")

// ErrDiscarded is the error of records dropped by Discard while no commit
// had failed.
var ErrDiscarded = errors.New("cyberdb: log records discarded")

// TailError describes the records at the end of a log that Replay could not
// use: the first of them is damaged, or records are missing before it.
type TailError struct {
	Path   string // the log file
	From   uint64 // the first LSN not replayed
	To     uint64 // the highest LSN in the file (From-1 if none)
	Count  int    // records in the file from From on, all dropped
	Reason string // what is wrong with the record at From
}

func (e *TailError) Error() string {
	return fmt.Sprintf("%s: %s: records %d to %d (%d in the file) dropped: %s",
		ErrTornTail, e.Path, e.From, e.To, e.Count, e.Reason)
}

// Unwrap returns ErrTornTail.
func (e *TailError) Unwrap() error { return ErrTornTail }

// foreignError is why a file is not a log: ErrForeign with a detail.
type foreignError struct{ detail string }

func (e *foreignError) Error() string { return ErrForeign.Error() + ": " + e.detail }

func (e *foreignError) Unwrap() error { return ErrForeign }

// foreign returns a foreignError with a formatted detail.
func foreign(format string, args ...any) error {
	return &foreignError{detail: fmt.Sprintf(format, args...)}
}

// fileError wraps an error of Open or Replay (op) on the file at path.
func fileError(op, path string, err error) error {
	if fe, ok := errors.AsType[*foreignError](err); ok {
		return fmt.Errorf("%w: %s: %s", ErrForeign, path, fe.detail)
	}
	return fmt.Errorf("cyberdb: %s %s: %w", op, path, err)
}

// commitError wraps an I/O error of a commit in ErrCommit.
func commitError(path string, err error) error {
	_ = path // the I/O errors name the file
	return fmt.Errorf("%w: %w", ErrCommit, err)
}
