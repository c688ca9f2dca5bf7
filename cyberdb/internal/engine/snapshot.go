package engine

import (
	"container/heap"
	"maps"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// snapChunk is how many changes a snapshot moves from the overlay of a
// dict into its map per hold of the table's lock, and the size up to which
// a dict is simply cloned under its lock: well under a millisecond of
// work.
const snapChunk = 1024

// Snapshot returns a copy of every table, sorted by name. Each copy holds
// the table as it was right after its change logged with the copy's
// TableData.LSN, and no later change; different tables are copied at
// different moments, and one dropped meanwhile is left out. A large dict
// is copied without holding its lock (see overlay), so its readers and
// writers wait at most for a chunk of work; a list is copied under its
// read lock, which stops its writers meanwhile. Concurrent calls run one
// at a time. The value slices are shared with the engine and must not be
// modified.
func (e *Engine) Snapshot() []TableData {
	e.snapMu.Lock()
	defer e.snapMu.Unlock()
	e.mu.RLock()
	tables := slices.Collect(maps.Values(e.tables))
	e.mu.RUnlock()
	slices.SortFunc(tables, func(a, b *table) int { return strings.Compare(a.name, b.name) })
	out := make([]TableData, 0, len(tables))
	for _, t := range tables {
		if td, ok := e.tableData(t); ok {
			out = append(out, td)
		}
	}
	return out
}

// tableData copies t, or reports false when it has been dropped.
func (e *Engine) tableData(t *table) (TableData, bool) {
	if t.kind == KindDict {
		return e.dictData(t)
	}
	e.txMu.RLock()
	defer e.txMu.RUnlock()
	return t.listData()
}

// listData copies the list t, or reports false when it has been dropped.
func (t *table) listData() (TableData, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.dropped {
		return TableData{}, false
	}
	td := TableData{Name: t.name, Kind: t.kind, LSN: t.lsn, Rev: t.rev, List: make([][]byte, len(t.list))}
	for i, v := range t.list {
		td.List[i] = v
	}
	return td, true
}

// dictData copies the dict t, or reports false when it has been dropped
// before the copy is complete. A dict of more than e.snapChunk keys gets
// an overlay for the time it takes to clone its map without a lock.
func (e *Engine) dictData(t *table) (TableData, bool) {
	td := TableData{Name: t.name, Kind: t.kind}
	m, s := e.freeze(t, &td)
	if s == nil {
		return td, td.Dict != nil
	}
	e.step()
	td.Dict = maps.Clone(m)
	e.step()
	return td, e.thaw(t, s)
}

// freeze copies the dict t into td if it is small, or else installs an
// overlay and returns it with the map it freezes. td.LSN is the LSN of
// the state either holds. A dropped table leaves td.Dict nil. It holds
// the transaction lock, so that no transaction is halfway through t.
func (e *Engine) freeze(t *table, td *TableData) (map[string]Entry, *overlay) {
	e.txMu.RLock()
	defer e.txMu.RUnlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped {
		return nil, nil
	}
	td.LSN, td.Rev, td.TTL = t.lsn, t.rev, t.ttl
	if t.size() <= e.snapChunk {
		td.Dict = maps.Clone(t.dict)
		return nil, nil
	}
	t.snap = &overlay{newer: make(map[string]change), frozen: true}
	return t.dict, t.snap
}

// thaw lets changes reach the map of t again, moves those the overlay s
// holds into it, a chunk per hold of the lock, and removes s. It reports
// false if t has been dropped.
func (e *Engine) thaw(t *table, s *overlay) bool {
	for {
		t.mu.Lock()
		s.frozen = false
		done := t.snap != s || t.merge(s, e.snapChunk)
		if done && t.snap == s {
			t.snap = nil
		}
		dropped := t.dropped
		t.mu.Unlock()
		if done {
			return !dropped
		}
		e.step()
	}
}

// step calls the test hook between the steps of a snapshot.
func (e *Engine) step() {
	if e.snapStep != nil {
		e.snapStep()
	}
}

// Restore replaces every table with a copy of tables and closes every scan
// cursor. Entries with an empty name or an unknown kind are skipped; of
// two entries with the same name the later wins. The value slices are
// shared, not copied, and must not be modified afterwards.
func (e *Engine) Restore(tables []TableData) {
	e.restore(tables, fromData)
}

// RestoreOwned is Restore taking ownership of the maps and lists in
// tables instead of copying them, for tables just read from a file: the
// caller must not use them afterwards.
func (e *Engine) RestoreOwned(tables []TableData) {
	e.restore(tables, ownData)
}

// restore replaces every table with those build makes of tables.
func (e *Engine) restore(tables []TableData, build func(TableData) *table) {
	fresh := make(map[string]*table, len(tables))
	var high uint64
	for _, td := range tables {
		if t := build(td); t != nil {
			fresh[t.name] = t
			high = max(high, t.rev)
		}
	}
	e.SetRevision(high)
	e.mu.Lock()
	old := e.tables
	e.tables = fresh
	e.mu.Unlock()
	for _, t := range old {
		t.drop()
	}
	e.dropCursors(func(*cursor) bool { return true })
	e.expMu.Lock()
	e.nextExp = 0
	e.expMu.Unlock()
	select {
	case e.expWake <- struct{}{}:
	default:
	}
}

// heapDeadlines fills the heap of a restored dict with its deadlines,
// and gives the keys of a file older than versions the table's revision
// (at least 1), so that a version check of 0 means absent only.
func (t *table) heapDeadlines() {
	for k, en := range t.dict {
		if en.Ver == 0 {
			en.Ver = max(t.rev, 1)
			t.dict[k] = en
		}
		if en.Exp != 0 {
			t.exps = append(t.exps, deadlineItem{en.Exp, k})
		}
	}
	heap.Init(&t.exps)
}

// ownData builds a table holding td's own map (a list is copied, which
// costs one slice header per element), or nil if td is unusable.
func ownData(td TableData) *table {
	if td.Kind != KindDict || td.Dict == nil {
		return fromData(td)
	}
	if td.Name == "" {
		return nil
	}
	t := &table{name: td.Name, kind: td.Kind, lsn: td.LSN, rev: td.Rev, ttl: td.TTL, dict: td.Dict}
	t.heapDeadlines()
	return t
}

// fromData builds a table holding a copy of td, or nil if td is unusable.
func fromData(td TableData) *table {
	if td.Name == "" {
		return nil
	}
	t := &table{name: td.Name, kind: td.Kind, lsn: td.LSN, rev: td.Rev, ttl: td.TTL}
	switch td.Kind {
	case KindDict:
		t.dict = maps.Clone(td.Dict)
		if t.dict == nil {
			t.dict = make(map[string]Entry)
		}
		t.heapDeadlines()
	case KindList:
		t.list = make([]cbor.RawMessage, len(td.List))
		for i, v := range td.List {
			t.list[i] = v
		}
	default:
		return nil
	}
	return t
}
