package engine

import (
	"maps"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// Snapshot returns a copy of every table, sorted by name. Each table is
// copied under its lock, so it is never seen half-changed; different
// tables may be copied at slightly different moments. The value slices
// are shared with the engine and must not be modified.
func (e *Engine) Snapshot() []TableData {
	e.mu.RLock()
	tables := slices.Collect(maps.Values(e.tables))
	e.mu.RUnlock()
	slices.SortFunc(tables, func(a, b *table) int { return strings.Compare(a.name, b.name) })
	out := make([]TableData, 0, len(tables))
	for _, t := range tables {
		if td, ok := t.data(); ok {
			out = append(out, td)
		}
	}
	return out
}

// data copies t, or reports false when it has been dropped.
func (t *table) data() (TableData, bool) {
	td := TableData{Name: t.name, Kind: t.kind}
	t.mu.RLock()
	defer t.mu.RUnlock()
	td.LSN = t.lsn
	if t.dropped {
		return td, false
	}
	if t.kind == KindDict {
		td.Dict = maps.Clone(t.dict)
		if td.Dict == nil {
			td.Dict = make(map[string][]byte)
		}
	} else {
		td.List = make([][]byte, len(t.list))
		for i, v := range t.list {
			td.List[i] = v
		}
	}
	return td, true
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
	for _, td := range tables {
		if t := build(td); t != nil {
			fresh[t.name] = t
		}
	}
	e.mu.Lock()
	old := e.tables
	e.tables = fresh
	e.mu.Unlock()
	for _, t := range old {
		t.drop()
	}
	e.dropCursors(func(*cursor) bool { return true })
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
	return &table{name: td.Name, kind: td.Kind, lsn: td.LSN, dict: td.Dict}
}

// fromData builds a table holding a copy of td, or nil if td is unusable.
func fromData(td TableData) *table {
	if td.Name == "" {
		return nil
	}
	t := &table{name: td.Name, kind: td.Kind, lsn: td.LSN}
	switch td.Kind {
	case KindDict:
		t.dict = maps.Clone(td.Dict)
		if t.dict == nil {
			t.dict = make(map[string][]byte)
		}
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
