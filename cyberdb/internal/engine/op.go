package engine

import "github.com/fxamacker/cbor/v2"

// Kind is the kind of a table.
type Kind uint8

// Table kinds.
const (
	KindDict Kind = 1
	KindList Kind = 2
)

// String returns "dict" or "list".
func (k Kind) String() string {
	switch k {
	case KindDict:
		return "dict"
	case KindList:
		return "list"
	}
	return "unknown"
}

// Code names an operation. The numbering is part of the wire protocol:
// append new codes, never renumber.
type Code uint8

// Operations. The comment of each lists the Op fields it reads and the
// Result fields it fills.
const (
	_ Code = iota
	// Table operations.
	OpCreateTable // Table, Kind, Keys+Values (dict) or Values (list) as initial content
	OpOpenTable   // Table, Kind: ErrNoTable if missing, ErrWrongType if of another kind
	OpTables      // -> Tables, sorted by name
	OpDropTable   // Table: ErrNoTable if missing

	// Dict operations.
	OpDictGet        // Table, Key -> Found, Value
	OpDictSet        // Table, Key, Value
	OpDictDelete     // Table, Key -> Found (whether it existed)
	OpDictHas        // Table, Key -> Found
	OpDictLen        // Table -> Int
	OpDictKeys       // Table -> Keys (sorted)
	OpDictValues     // Table -> Values (in the order of sorted keys)
	OpDictItems      // Table -> Keys, Values (whole table, sorted by key)
	OpDictScan       // Table, Cursor (0 starts), Limit -> Keys, Values, Cursor (0 when done)
	OpDictSetDefault // Table, Key, Value -> Found (existed), Value (the value now stored)
	OpDictUpdate     // Table, Keys, Values (same length)
	OpDictPop        // Table, Key -> Found, Value
	OpDictPopItem    // Table -> Found (false when empty), Key, Value (last key in sorted order)
	OpDictClear      // Table
	OpDictIncr       // Table, Key, Delta -> Int (the new value); missing key starts at 0
	OpDictIncrFloat  // Table, Key, Float -> Float (the new value); missing key starts at 0
	OpDictCAS        // Table, Key, Old, Value -> Found (swapped). Old nil means "key absent".
	OpDictSetNX      // Table, Key, Value -> Found (true when it was set)
	OpDictGetAndSet  // Table, Key, Value -> Found (existed), Value (the old value)

	// List operations. Index and Stop may be negative (counted from the end).
	OpListGet         // Table, Index -> Value; ErrIndex when out of range
	OpListSet         // Table, Index, Value; ErrIndex when out of range
	OpListDelete      // Table, Index; ErrIndex when out of range
	OpListSlice       // Table, Index, Stop -> Values; clamped like Python l[i:j]
	OpListSetSlice    // Table, Index, Stop, Values; like Python l[i:j] = values
	OpListDeleteSlice // Table, Index, Stop; like Python del l[i:j]
	OpListAll         // Table -> Values
	OpListAppend      // Table, Value -> Int (new length)
	OpListExtend      // Table, Values -> Int (new length)
	OpListInsert      // Table, Index, Value; clamped like Python list.insert
	OpListPop         // Table, Index -> Value; ErrIndex when empty or out of range
	OpListRemove      // Table, Value: removes the first equal element; ErrNotFound if none
	OpListCount       // Table, Value -> Int
	OpListIndex       // Table, Value -> Int; ErrNotFound if none
	OpListReverse     // Table
	OpListSort        // Table, Field (sort maps by this key when set), Reverse
	OpListClear       // Table
	OpListLen         // Table -> Int

	// OpCloseCursor releases a cursor of OpDictScan before it is exhausted.
	OpCloseCursor // Cursor

	// Operations on the whole store, applied by the leader around the
	// engine rather than by it.
	OpSave // Field (absolute path): write a backup file there
	OpLoad // Field (absolute path): replace every table with the file's content

	// OpBatch applies each of Ops in order, as if sent one by one, and
	// returns their outcomes in Results. The leader applies it around the
	// engine; a batch may not hold OpBatch, OpSave or OpLoad.
	OpBatch // Ops -> Results (one per op, in order)
)

// Op is one operation on the store. On the leader it is applied directly;
// on a client it is CBOR-encoded and sent. Values are CBOR-encoded bytes
// produced by the deterministic encoder, so equal values have equal bytes.
type Op struct {
	Code    Code              `cbor:"1,keyasint"`
	Table   string            `cbor:"2,keyasint,omitempty"`
	Kind    Kind              `cbor:"3,keyasint,omitempty"`
	Key     string            `cbor:"4,keyasint,omitempty"`
	Value   cbor.RawMessage   `cbor:"5,keyasint,omitempty"`
	Old     cbor.RawMessage   `cbor:"6,keyasint,omitempty"`
	Keys    []string          `cbor:"7,keyasint,omitempty"`
	Values  []cbor.RawMessage `cbor:"8,keyasint,omitempty"`
	Index   int64             `cbor:"9,keyasint,omitempty"`
	Stop    int64             `cbor:"10,keyasint,omitempty"`
	Delta   int64             `cbor:"11,keyasint,omitempty"`
	Float   float64           `cbor:"12,keyasint,omitempty"`
	Field   string            `cbor:"13,keyasint,omitempty"`
	Reverse bool              `cbor:"14,keyasint,omitempty"`
	Cursor  uint64            `cbor:"15,keyasint,omitempty"`
	Limit   int64             `cbor:"16,keyasint,omitempty"`
	// Client and Seq identify a write for deduplication of retries.
	Client uint64 `cbor:"17,keyasint,omitempty"`
	Seq    uint64 `cbor:"18,keyasint,omitempty"`
	// Ack tells the leader that every write of Client below this sequence
	// number has been answered, so their results may be forgotten.
	Ack uint64 `cbor:"19,keyasint,omitempty"`
	// Ops are the operations of an OpBatch, each with its own Seq.
	Ops []Op `cbor:"20,keyasint,omitempty"`
}

// ErrCode is the outcome class of an operation; the public package maps
// each to a sentinel error. Append new codes, never renumber.
type ErrCode uint8

// Error codes.
const (
	OK             ErrCode = iota
	ErrNoTable             // the table does not exist
	ErrTableExists         // CreateTable of an existing name
	ErrWrongType           // table of another kind, or a stored value of the wrong type (Incr on a string)
	ErrIndex               // list index out of range
	ErrNotFound            // Remove/Index of an absent value
	ErrInvalid             // a malformed or unsupported argument
	ErrUnsortable          // Sort over values of mixed or unordered kinds, or a missing Field
	ErrOverflow            // Incr beyond the int64 range
	ErrInternal            // a bug: the operation failed in an unexpected way
	ErrCorrupt             // a backup file is corrupt
	ErrForeign             // a file is not a backup file of this store
	ErrIO                  // reading or writing a file failed (disk full, permissions)
)

// Result is the outcome of an Op. Err is OK on success; Msg then is empty.
type Result struct {
	Err    ErrCode           `cbor:"1,keyasint,omitempty"`
	Msg    string            `cbor:"2,keyasint,omitempty"`
	Found  bool              `cbor:"3,keyasint,omitempty"`
	Value  cbor.RawMessage   `cbor:"4,keyasint,omitempty"`
	Key    string            `cbor:"5,keyasint,omitempty"`
	Keys   []string          `cbor:"6,keyasint,omitempty"`
	Values []cbor.RawMessage `cbor:"7,keyasint,omitempty"`
	Int    int64             `cbor:"8,keyasint,omitempty"`
	Float  float64           `cbor:"9,keyasint,omitempty"`
	Cursor uint64            `cbor:"10,keyasint,omitempty"`
	Tables []TableInfo       `cbor:"11,keyasint,omitempty"`
	// Results are the outcomes of the operations of an OpBatch, in order.
	Results []Result `cbor:"12,keyasint,omitempty"`
	// LSN is the log sequence number the leader's log gave a write (0 when
	// nothing was logged); it never travels.
	LSN uint64 `cbor:"-"`
}

// TableInfo names a table and its kind.
type TableInfo struct {
	Name string `cbor:"1,keyasint"`
	Kind Kind   `cbor:"2,keyasint"`
}

// TableData is a consistent copy of one table, as snapshots and backups
// hold it. Exactly one of Dict and List is used, by Kind. The value slices
// are shared with the engine and must not be modified.
type TableData struct {
	Name string
	Kind Kind
	// LSN is the log sequence number of the last logged operation that
	// changed the table (0 if none): replay skips records up to it.
	LSN  uint64
	Dict map[string][]byte
	List [][]byte
}
