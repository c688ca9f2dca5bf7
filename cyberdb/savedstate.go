package cyberdb

import (
	"fmt"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// A snapshot carries, besides its tables, the leader's state that must
// outlive it: the results of clients' recent writes, for deduplication,
// and the end of each table's history of changes, for watches. The
// backup file stores it as one opaque item (backup.Meta.Clients): a map
// now, an array of savedWrites in snapshots of earlier versions.

// savedState is the leader's state a snapshot carries.
type savedState struct {
	Writes  []savedWrites  `cbor:"1,keyasint,omitempty"`
	History []savedHistory `cbor:"2,keyasint,omitempty"`
}

// savedHistory is the end of a table's history, up to its revision in
// the snapshot: Events follow position Base.
type savedHistory struct {
	Table  string         `cbor:"1,keyasint"`
	Base   uint64         `cbor:"2,keyasint,omitempty"`
	Events []engine.Event `cbor:"3,keyasint,omitempty"`
}

// Bounds of the history a snapshot keeps of each table.
const (
	savedEvents = 10_000
	savedBytes  = 1 << 20
)

// saveState encodes the state a snapshot of tables carries.
func (l *leader) saveState(tables []engine.TableData) ([]byte, error) {
	s := savedState{Writes: l.dedup.Load().save()}
	for i := range tables {
		td := &tables[i]
		if base, evs, ok := l.hub.Tail(td.Name, td.Rev, savedEvents, savedBytes); ok {
			s.History = append(s.History, savedHistory{Table: td.Name, Base: base, Events: evs})
		}
	}
	return l.db.codec.Marshal(s)
}

// loadState decodes the state of a snapshot, of this version or an
// earlier one.
func (l *leader) loadState(b []byte) (savedState, error) {
	var s savedState
	if len(b) == 0 {
		return s, nil
	}
	if b[0]>>5 == 4 { // a CBOR array: the client table of an earlier version
		err := l.db.codec.Unmarshal(b, &s.Writes)
		return s, err
	}
	err := l.db.codec.Unmarshal(b, &s)
	return s, err
}

// restoredHistory starts the history of each restored table where its
// saved end begins, or at its revision, and that of every other table at
// the start; replaying the log then adds the changes after them. A reload
// after a failed commit thus forgets the changes it undoes, and a watch
// that saw them is told.
func (l *leader) restoredHistory(tables []engine.TableData, saved []savedHistory) {
	for _, name := range l.hub.Names() {
		l.hub.Reset(name, 1)
	}
	for i := range tables {
		l.hub.Reset(tables[i].Name, max(tables[i].Rev, 1))
	}
	for _, h := range saved {
		if len(h.Events) > 0 {
			l.hub.Load(h.Table, h.Base, h.Events)
		}
	}
}

// corruptState is the error of a snapshot whose state cannot be decoded.
func corruptState(path string, err error) error {
	return fmt.Errorf("cyberdb: restore from %s: %w: saved state: %v", path, ErrCorrupt, err)
}
