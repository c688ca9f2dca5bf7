package engine

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// EventType says what a change did. The numbering is part of the wire
// protocol: append new types, never renumber.
type EventType uint8

// Event types.
const (
	_           EventType = iota
	EventSet              // a dict key was stored: Key, Value, Old (absent when the key was new)
	EventDelete           // a dict key was deleted: Key, Old
	EventExpire           // a dict key expired: Key, Old
	EventClear            // every key of the dict, or element of the list, was removed
	EventDrop             // the table was dropped
	EventList             // a list changed: Code names the operation, Value or Values its argument
	EventCreate           // the table was created
)

// String returns the lower-case name of t.
func (t EventType) String() string {
	switch t {
	case EventSet:
		return "set"
	case EventDelete:
		return "delete"
	case EventExpire:
		return "expire"
	case EventClear:
		return "clear"
	case EventDrop:
		return "drop"
	case EventList:
		return "list"
	case EventCreate:
		return "create"
	}
	return "unknown"
}

// Event is one change to a table, as watches deliver it. The changes made
// by one write (or one transaction) share its revision.
type Event struct {
	Rev    uint64            `cbor:"1,keyasint"`
	Type   EventType         `cbor:"2,keyasint"`
	Table  string            `cbor:"3,keyasint,omitempty"`
	Key    string            `cbor:"4,keyasint,omitempty"`
	Value  cbor.RawMessage   `cbor:"5,keyasint,omitempty"`
	Old    cbor.RawMessage   `cbor:"6,keyasint,omitempty"`
	Code   Code              `cbor:"7,keyasint,omitempty"`
	Values []cbor.RawMessage `cbor:"8,keyasint,omitempty"`
	// LSN is the log position of the write (0 when nothing was logged),
	// so that a watch can wait until it is durable; it never travels.
	LSN uint64 `cbor:"-"`
}

// Size is about the memory e holds, for bounding histories.
func (e *Event) Size() int {
	n := 64 + len(e.Table) + len(e.Key) + len(e.Value) + len(e.Old)
	for _, v := range e.Values {
		n += 24 + len(v)
	}
	return n
}

// listOpNames name the list operations, as list events report them.
var listOpNames = map[Code]string{
	OpListSet: "set", OpListDelete: "delete", OpListSetSlice: "set_slice",
	OpListDeleteSlice: "delete_slice", OpListAppend: "append", OpListExtend: "extend",
	OpListInsert: "insert", OpListPop: "pop", OpListRemove: "remove",
	OpListReverse: "reverse", OpListSort: "sort", OpListClear: "clear",
	OpListBPop: "pop", OpListMove: "move",
}

// Name returns the name of a list operation c, or "op<c>" for another.
func (c Code) Name() string {
	if n, ok := listOpNames[c]; ok {
		return n
	}
	return fmt.Sprintf("op%d", c)
}
