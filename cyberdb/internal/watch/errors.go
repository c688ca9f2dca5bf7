package watch

import (
	"errors"
	"fmt"
)

// ErrCompacted is matched by the *CompactedError of a Read whose position
// is older than the history the hub still holds.
var ErrCompacted = errors.New("cyberdb: watch history compacted")

// ErrRevisionLost is matched by the *LostError of a Read whose position is
// not a revision of the table's history.
var ErrRevisionLost = errors.New("cyberdb: watch revision lost")

// CompactedError says that the events after From were dropped to bound the
// history; the caller must re-read the table and watch from its revision.
type CompactedError struct {
	Table  string
	From   uint64 // the position asked for
	Oldest uint64 // the oldest position the history still starts from
}

// Error describes e and what to do about it.
func (e *CompactedError) Error() string {
	return fmt.Sprintf("cyberdb: watch of table %q from revision %d: history starts at revision %d "+
		"(re-read the table and watch from there)", e.Table, e.From, e.Oldest)
}

// Is reports whether target is ErrCompacted.
func (e *CompactedError) Is(target error) bool { return target == ErrCompacted }

// LostError says that From is not a revision of the table's history: it was
// lost when a leader stopped before making it durable, so the caller's view
// may hold changes that never happened; it must re-read the table.
type LostError struct {
	Table string
	From  uint64 // the position asked for
	Last  uint64 // the table's current revision
}

// Error describes e and what to do about it.
func (e *LostError) Error() string {
	return fmt.Sprintf("cyberdb: watch of table %q from revision %d: no such revision in the history, "+
		"which is at revision %d (it was lost when a leader stopped before making it durable; "+
		"re-read the table and watch from there)", e.Table, e.From, e.Last)
}

// Is reports whether target is ErrRevisionLost.
func (e *LostError) Is(target error) bool { return target == ErrRevisionLost }
