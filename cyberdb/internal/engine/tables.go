package engine

import (
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// createTable adds a table with the initial content of op.
func (e *Engine) createTable(op *Op, res *Result) {
	t := e.newTable(op, res)
	if t == nil {
		return
	}
	e.mu.Lock()
	old := e.tables[t.name]
	if old == nil {
		e.tables[t.name] = t
		e.registered(t, op, res, EventCreate)
	}
	e.mu.Unlock()
	if old != nil {
		fail(res, ErrTableExists, "table %q already exists (a %s)", old.name, old.kind)
	}
}

// newTable validates op and builds the table it creates, or returns nil.
func (e *Engine) newTable(op *Op, res *Result) *table {
	if !checkName(op.Table, res) {
		return nil
	}
	switch op.Kind {
	case KindDict:
		return e.newDict(op, res)
	case KindList:
		return e.newList(op, res)
	}
	invalid(res, "unknown table kind %d", op.Kind)
	return nil
}

// newDict builds a dict table from op.Keys and op.Values.
func (e *Engine) newDict(op *Op, res *Result) *table {
	if !e.checkPairs(op, res) {
		return nil
	}
	t := &table{name: op.Table, kind: KindDict, dict: make(map[string]Entry, len(op.Keys))}
	e.begin(t, op)
	for i, k := range op.Keys {
		t.dict[k] = Entry{V: op.Values[i], Ver: t.cur}
	}
	return t
}

// newList builds a list table from op.Values.
func (e *Engine) newList(op *Op, res *Result) *table {
	if len(op.Keys) != 0 {
		invalid(res, "a list takes no keys (got %d)", len(op.Keys))
		return nil
	}
	if !e.checkValues(op.Values, res) {
		return nil
	}
	t := &table{name: op.Table, kind: KindList, list: slices.Clip(op.Values)}
	e.begin(t, op)
	return t
}

// checkPairs validates op.Keys and op.Values as the items of a dict.
func (e *Engine) checkPairs(op *Op, res *Result) bool {
	if len(op.Keys) != len(op.Values) {
		invalid(res, "%d keys but %d values", len(op.Keys), len(op.Values))
		return false
	}
	for _, k := range op.Keys {
		if !checkKey(k, res) {
			return false
		}
	}
	return e.checkValues(op.Values, res)
}

// checkName reports whether name may name a table.
func checkName(name string, res *Result) bool {
	switch {
	case name == "":
		invalid(res, "empty table name")
	case reserved(name):
		invalid(res, "table name %q is reserved (it starts with a NUL byte)", name)
	case len(name) > MaxKeySize:
		invalid(res, "table name of %d bytes exceeds %d", len(name), MaxKeySize)
	case !utf8.ValidString(name):
		invalid(res, "table name %q is not valid UTF-8", name)
	default:
		return true
	}
	return false
}

// openTable checks that the table exists with the kind op.Kind.
func (e *Engine) openTable(op *Op, res *Result) {
	if op.Kind != KindDict && op.Kind != KindList {
		invalid(res, "unknown table kind %d", op.Kind)
		return
	}
	e.lookup(op, op.Kind, res)
}

// Exists reports whether a table named name exists.
func (e *Engine) Exists(name string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.tables[name] != nil
}

// TableNames returns the names of every table, the engine's own included.
func (e *Engine) TableNames() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return slices.Collect(maps.Keys(e.tables))
}

// listTables fills res.Tables with every table, sorted by name.
func (e *Engine) listTables(res *Result) {
	e.mu.RLock()
	infos := make([]TableInfo, 0, len(e.tables))
	for _, t := range e.tables {
		if !reserved(t.name) {
			infos = append(infos, TableInfo{Name: t.name, Kind: t.kind})
		}
	}
	e.mu.RUnlock()
	slices.SortFunc(infos, func(a, b TableInfo) int { return strings.Compare(a.Name, b.Name) })
	res.Tables = infos
}

// dropTable removes a table and the scan cursors over it. It holds the
// table's lock while it logs, so that its drop follows the table's last
// change in the log and in the table's events, and the registry's lock,
// so that it precedes a new table of the same name.
func (e *Engine) dropTable(op *Op, res *Result) {
	if !usable(op.Table, res) {
		return
	}
	for {
		e.mu.RLock()
		t := e.tables[op.Table]
		e.mu.RUnlock()
		if t == nil {
			noTable(res, op.Table)
			return
		}
		if e.unregister(t, op, res) {
			e.dropCursors(func(c *cursor) bool { return c.table == t })
			return
		}
	}
}

// unregister removes t from the registry, logs its drop and empties it,
// unless it has left the registry meanwhile.
func (e *Engine) unregister(t *table, op *Op, res *Result) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.mu.Lock()
	ok := e.tables[t.name] == t
	if ok {
		delete(e.tables, t.name)
		e.begin(t, op)
		e.registered(t, op, res, EventDrop)
	}
	e.mu.Unlock()
	if ok {
		t.empty()
	}
	return ok
}

// registered logs the creation or drop of t, under the registry's lock,
// and publishes it as an event of type typ.
func (e *Engine) registered(t *table, op *Op, res *Result, typ EventType) {
	e.logged(&t.lsn, op, res)
	e.record(t, Event{Type: typ})
	e.changed(t, res.LSN)
}

// drop marks t as gone, so that operations that found it before it left the
// registry look it up again, and frees its content.
func (t *table) drop() {
	t.mu.Lock()
	t.empty()
	t.mu.Unlock()
}

// empty is drop with t's lock held.
func (t *table) empty() {
	t.dropped = true
	t.dict = nil
	t.list = nil
	t.snap = nil
	t.exps = nil
	if t.wake != nil {
		close(t.wake)
		t.wake = nil
	}
}
