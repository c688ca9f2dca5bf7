package engine

import (
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
		e.logged(&t.lsn, op, res)
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
	t := &table{name: op.Table, kind: KindDict, dict: make(map[string][]byte, len(op.Keys))}
	for i, k := range op.Keys {
		t.dict[k] = op.Values[i]
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
	return &table{name: op.Table, kind: KindList, list: slices.Clip(op.Values)}
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

// listTables fills res.Tables with every table, sorted by name.
func (e *Engine) listTables(res *Result) {
	e.mu.RLock()
	infos := make([]TableInfo, 0, len(e.tables))
	for _, t := range e.tables {
		infos = append(infos, TableInfo{Name: t.name, Kind: t.kind})
	}
	e.mu.RUnlock()
	slices.SortFunc(infos, func(a, b TableInfo) int { return strings.Compare(a.Name, b.Name) })
	res.Tables = infos
}

// dropTable removes a table and the scan cursors over it.
func (e *Engine) dropTable(op *Op, res *Result) {
	if op.Table == "" {
		invalid(res, "empty table name")
		return
	}
	e.mu.Lock()
	t := e.tables[op.Table]
	if t != nil {
		delete(e.tables, op.Table)
		var lsn uint64
		e.logged(&lsn, op, res)
	}
	e.mu.Unlock()
	if t == nil {
		noTable(res, op.Table)
		return
	}
	t.drop()
	e.dropCursors(func(c *cursor) bool { return c.table == t })
}

// drop marks t as gone, so that operations that found it before it left the
// registry look it up again, and frees its content.
func (t *table) drop() {
	t.mu.Lock()
	t.dropped = true
	t.dict = nil
	t.list = nil
	t.snap = nil
	t.mu.Unlock()
}
