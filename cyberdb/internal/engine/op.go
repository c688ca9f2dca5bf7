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

	// Expiry. A dict key may carry an absolute deadline, after which it
	// is never returned and is soon removed (OpDictExpireKey).
	OpDictExpire    // Table, Key, TTL (> 0) -> Found (the key exists and now expires)
	OpDictPersist   // Table, Key -> Found (the key had a deadline, now removed)
	OpDictTTL       // Table, Key -> Found (exists), Int: nanoseconds left, or -1 without a deadline
	OpDictExpireKey // Table, Key, Version: removes the key if it has that version and its deadline has passed (issued by the leader) -> Found
	OpTableTTL      // Table, TTL: the default TTL of keys written without one (0: none)

	// OpTxn applies Ops atomically: all of them or, if a check or an
	// operation fails, none. The leader applies it around the engine's
	// table locks; it may hold dict and list operations and the checks.
	OpTxn          // Ops -> Results; on failure Err, Msg and Int (the index of the failed op)
	OpCheckEquals  // Table, Key, Value: the key holds this value
	OpCheckAbsent  // Table, Key: the key does not exist
	OpCheckVersion // Table, Key, Version: the key has this version (0: does not exist)

	// Blocking list operations wait up to Wait for an element. The leader
	// applies them around the engine; OpCancel ends a wait early.
	OpListBPop // Table, Index (0 first, -1 last), Wait, Tag -> Found, Value
	OpListMove // Table (from), Field (to), Index (0/-1: end to pop), Stop (0/-1: end to push), Wait, Tag -> Found, Value
	OpCancel   // Tag: ends the wait of the caller's blocking call with that tag

	// OpWatch returns the changes of a table after a revision, waiting up
	// to Wait for one. Its caller's own stream carries it.
	OpWatch // Table, Key, Prefix, Version (from), Limit, Wait, Tag -> Events, Rev

	// Named locks, held in a hidden table with a lease.
	OpLock        // Key (name), TTL (lease), Wait, Tag -> Found (acquired), Version (fencing token)
	OpUnlock      // Key, Version (token) -> Found (released); with no Key, every lock of Client
	OpLockRefresh // Key, Version (token), TTL -> Found (still held, lease renewed)
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
	// Ops are the operations of an OpBatch, each with its own Seq, or of
	// an OpTxn.
	Ops []Op `cbor:"20,keyasint,omitempty"`
	// TTL is a duration in nanoseconds: a key's time to live, a table's
	// default one, or a lock's lease.
	TTL int64 `cbor:"21,keyasint,omitempty"`
	// Version is a key's version, a watch's starting revision or a lock's
	// fencing token.
	Version uint64 `cbor:"22,keyasint,omitempty"`
	// Wait bounds, in nanoseconds, how long a blocking call waits.
	Wait int64 `cbor:"23,keyasint,omitempty"`
	// Tag names a blocking call of its client, for OpCancel.
	Tag uint64 `cbor:"24,keyasint,omitempty"`
	// Prefix makes Key of an OpWatch a key prefix.
	Prefix bool `cbor:"25,keyasint,omitempty"`
	// Now (Unix nanoseconds), Rev and PID are set by the leader on the
	// writes it applies and logged with them, so that a replay decides
	// expiry, versions and lock owners as the first application did.
	Now int64  `cbor:"26,keyasint,omitempty"`
	Rev uint64 `cbor:"27,keyasint,omitempty"`
	PID int64  `cbor:"28,keyasint,omitempty"`
}

// ErrCode is the outcome class of an operation; the public package maps
// each to a sentinel error. Append new codes, never renumber.
type ErrCode uint8

// Error codes.
const (
	OK              ErrCode = iota
	ErrNoTable              // the table does not exist
	ErrTableExists          // CreateTable of an existing name
	ErrWrongType            // table of another kind, or a stored value of the wrong type (Incr on a string)
	ErrIndex                // list index out of range
	ErrNotFound             // Remove/Index of an absent value
	ErrInvalid              // a malformed or unsupported argument
	ErrUnsortable           // Sort over values of mixed or unordered kinds, or a missing Field
	ErrOverflow             // Incr beyond the int64 range
	ErrInternal             // a bug: the operation failed in an unexpected way
	ErrCorrupt              // a backup file is corrupt
	ErrForeign              // a file is not a backup file of this store
	ErrIO                   // reading or writing a file failed (disk full, permissions)
	ErrConflict             // a check of a transaction failed
	ErrAborted              // a transaction was not applied: Int names the failed op
	ErrCompacted            // a watch asked for revisions no longer kept
	ErrRevisionLost         // a watch asked for a revision not in the history
	ErrCanceled             // a blocking call ended by OpCancel or its client leaving
	ErrNotHeld              // a lock is not held with that token
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
	// Results are the outcomes of the operations of an OpBatch or an
	// OpTxn, in order.
	Results []Result `cbor:"12,keyasint,omitempty"`
	// Version is the version of the key read or written.
	Version uint64 `cbor:"13,keyasint,omitempty"`
	// Events are the changes an OpWatch returns; Rev is where it resumes.
	Events []Event `cbor:"14,keyasint,omitempty"`
	Rev    uint64  `cbor:"15,keyasint,omitempty"`
	// LSN is the log sequence number the leader's log gave a write (0 when
	// nothing was logged); it never travels.
	LSN uint64 `cbor:"-"`
}

// TableInfo names a table and its kind.
type TableInfo struct {
	Name string `cbor:"1,keyasint"`
	Kind Kind   `cbor:"2,keyasint"`
}

// Entry is a dict key's value, its version (the revision of the write
// that stored it) and its deadline (Unix nanoseconds; 0: none).
type Entry struct {
	V   []byte
	Ver uint64
	Exp int64
}

// TableData is a consistent copy of one table, as snapshots and backups
// hold it. Exactly one of Dict and List is used, by Kind. The value slices
// are shared with the engine and must not be modified.
type TableData struct {
	Name string
	Kind Kind
	// LSN is the log sequence number of the last logged operation that
	// changed the table (0 if none): replay skips records up to it.
	LSN uint64
	// Rev is the revision of the last change to the table.
	Rev uint64
	// TTL is a dict's default time to live, in nanoseconds (0: none).
	TTL  int64
	Dict map[string]Entry
	List [][]byte
}
