package cyberdb

import (
	"errors"
	"fmt"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// Sentinel errors. Test for them with errors.Is: the errors returned by
// the API wrap them with details.
var (
	// ErrClosed is returned by every call on a DB after Close.
	ErrClosed = errors.New("cyberdb: database closed")
	// ErrNoTable is returned when the named table does not exist.
	ErrNoTable = errors.New("cyberdb: no such table")
	// ErrTableExists is returned by CreateDict and CreateList for a taken name.
	ErrTableExists = errors.New("cyberdb: table already exists")
	// ErrWrongType is returned for a table of the other kind, or a stored
	// value of the wrong type for the operation (Incr of a string).
	ErrWrongType = errors.New("cyberdb: wrong type")
	// ErrIndex is returned for a list index out of range.
	ErrIndex = errors.New("cyberdb: index out of range")
	// ErrNotFound is returned by List.Remove and List.Index when no element
	// equals the value, and by Dict.PopItem on an empty dict.
	ErrNotFound = errors.New("cyberdb: not found")
	// ErrInvalid is returned for an argument the store cannot accept.
	ErrInvalid = errors.New("cyberdb: invalid argument")
	// ErrUnsortable is returned by List.Sort when the elements are of mixed
	// or unordered kinds, or lack the field to sort by.
	ErrUnsortable = errors.New("cyberdb: values cannot be sorted")
	// ErrOverflow is returned by Incr when the result leaves the int64 range.
	ErrOverflow = errors.New("cyberdb: integer overflow")
	// ErrLeaderLost is returned when the connection to the leader broke
	// while a call was in flight; the call may or may not have been applied.
	ErrLeaderLost = errors.New("cyberdb: connection to leader lost")
	// ErrVersionMismatch is returned by Open when the leader speaks another
	// protocol version (a different build of this library).
	ErrVersionMismatch = ipc.ErrVersionMismatch
	// ErrDenied is returned by Open when the leader refuses this process's
	// credentials (see Options.AllowUIDs).
	ErrDenied = ipc.ErrDenied
	// ErrCorrupt is returned when a backup file is damaged: Open of a store
	// whose backup is corrupt, or Load of such a file.
	ErrCorrupt = backup.ErrCorrupt
	// ErrForeign is returned when a file given as a backup is not one.
	ErrForeign = backup.ErrForeign
	// ErrIO is returned when reading or writing a file failed, such as on a
	// full disk or a read-only directory.
	ErrIO = errors.New("cyberdb: I/O error")
	// ErrInternal reports a failure inside the leader that is a bug.
	ErrInternal = errors.New("cyberdb: internal error")
	// ErrConflict is returned by Txn.Commit when a check failed (see
	// TxnError), and by Update when it gave up retrying.
	ErrConflict = errors.New("cyberdb: conflict")
	// ErrCompacted is returned by a watch asked to resume from a revision
	// older than the history the leader keeps (see CompactedError).
	ErrCompacted = errors.New("cyberdb: revision compacted")
	// ErrRevisionLost is returned by a watch asked to resume from a
	// revision that is not in the store's history: a write that a leader
	// crash lost before it was durable.
	ErrRevisionLost = errors.New("cyberdb: revision lost")
	// ErrNotHeld is returned by Lock.Unlock and Lock.Refresh when the lock
	// is no longer held with this Lock's token: its lease ran out.
	ErrNotHeld = errors.New("cyberdb: lock not held")
)

// sentinels maps the engine's error codes to the public sentinels.
var sentinels = [...]error{
	engine.ErrNoTable:      ErrNoTable,
	engine.ErrTableExists:  ErrTableExists,
	engine.ErrWrongType:    ErrWrongType,
	engine.ErrIndex:        ErrIndex,
	engine.ErrNotFound:     ErrNotFound,
	engine.ErrInvalid:      ErrInvalid,
	engine.ErrUnsortable:   ErrUnsortable,
	engine.ErrOverflow:     ErrOverflow,
	engine.ErrInternal:     ErrInternal,
	engine.ErrCorrupt:      ErrCorrupt,
	engine.ErrForeign:      ErrForeign,
	engine.ErrIO:           ErrIO,
	engine.ErrConflict:     ErrConflict,
	engine.ErrCompacted:    ErrCompacted,
	engine.ErrRevisionLost: ErrRevisionLost,
	engine.ErrNotHeld:      ErrNotHeld,
}

// resultError turns a failed Result into an error wrapping its sentinel.
func resultError(res *engine.Result) error {
	if res.Err == engine.OK {
		return nil
	}
	base := ErrInternal
	if int(res.Err) < len(sentinels) && sentinels[res.Err] != nil {
		base = sentinels[res.Err]
	}
	if res.Msg == "" {
		return base
	}
	return fmt.Errorf("%w: %s", base, res.Msg)
}
