package cyberdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// Kind is the kind of a table.
type Kind uint8

// Table kinds.
const (
	KindDict = Kind(engine.KindDict)
	KindList = Kind(engine.KindList)
)

// String returns "dict" or "list".
func (k Kind) String() string { return engine.Kind(k).String() }

// TableInfo describes a table.
type TableInfo struct {
	Name string
	Kind Kind
}

// CreateDict creates the dict table name, optionally filled with content:
// at most one map with string keys. It returns ErrTableExists if a table
// of that name exists.
func (db *DB) CreateDict(ctx context.Context, name string, content ...any) (*Dict, error) {
	if len(content) > 1 {
		return nil, fmt.Errorf("%w: CreateDict takes at most one content map, got %d", ErrInvalid, len(content))
	}
	op := engine.Op{Code: engine.OpCreateTable, Table: name, Kind: engine.KindDict}
	if len(content) == 1 {
		keys, vals, err := encodeMap(content[0])
		if err != nil {
			return nil, err
		}
		op.Keys, op.Values = keys, vals
	}
	if err := db.exec(ctx, &op); err != nil {
		return nil, err
	}
	return &Dict{db: db, name: name}, nil
}

// CreateList creates the list table name, optionally filled with content:
// at most one slice. It returns ErrTableExists if a table of that name
// exists.
func (db *DB) CreateList(ctx context.Context, name string, content ...any) (*List, error) {
	if len(content) > 1 {
		return nil, fmt.Errorf("%w: CreateList takes at most one content slice, got %d", ErrInvalid, len(content))
	}
	op := engine.Op{Code: engine.OpCreateTable, Table: name, Kind: engine.KindList}
	if len(content) == 1 {
		vals, err := encodeSlice(content[0])
		if err != nil {
			return nil, err
		}
		op.Values = vals
	}
	if err := db.exec(ctx, &op); err != nil {
		return nil, err
	}
	return &List{db: db, name: name}, nil
}

// Dict returns the existing dict table name: ErrNoTable if there is none,
// ErrWrongType if it is a list.
func (db *DB) Dict(ctx context.Context, name string) (*Dict, error) {
	op := engine.Op{Code: engine.OpOpenTable, Table: name, Kind: engine.KindDict}
	if err := db.exec(ctx, &op); err != nil {
		return nil, err
	}
	return &Dict{db: db, name: name}, nil
}

// List returns the existing list table name: ErrNoTable if there is none,
// ErrWrongType if it is a dict.
func (db *DB) List(ctx context.Context, name string) (*List, error) {
	op := engine.Op{Code: engine.OpOpenTable, Table: name, Kind: engine.KindList}
	if err := db.exec(ctx, &op); err != nil {
		return nil, err
	}
	return &List{db: db, name: name}, nil
}

// Tables lists every table, sorted by name.
func (db *DB) Tables(ctx context.Context) ([]TableInfo, error) {
	op := engine.Op{Code: engine.OpTables}
	var res engine.Result
	if err := db.do(ctx, &op, &res); err != nil {
		return nil, err
	}
	out := make([]TableInfo, len(res.Tables))
	for i, t := range res.Tables {
		out[i] = TableInfo{Name: t.Name, Kind: Kind(t.Kind)}
	}
	return out, nil
}

// DropTable deletes the table name and its content; ErrNoTable if there
// is none. Handles to it then return ErrNoTable.
func (db *DB) DropTable(ctx context.Context, name string) error {
	return db.exec(ctx, &engine.Op{Code: engine.OpDropTable, Table: name})
}

// Save writes a consistent copy of every table to a backup file at path,
// atomically (a crash leaves either the old file or the new one). The
// leader process writes it; a relative path is taken relative to this
// process's working directory.
func (db *DB) Save(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("cyberdb: %w", err)
	}
	return db.exec(ctx, &engine.Op{Code: engine.OpSave, Field: abs})
}

// Load replaces every table with the content of the backup file at path,
// as written by Save or by the leader's snapshots. A file that is corrupt
// (ErrCorrupt), not a backup (ErrForeign) or unreadable leaves the tables
// untouched.
func (db *DB) Load(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("cyberdb: %w", err)
	}
	return db.exec(ctx, &engine.Op{Code: engine.OpLoad, Field: abs})
}

// exec runs a copy of op when only its error matters, with a pooled
// result, so that neither escapes to the heap.
func (db *DB) exec(ctx context.Context, op *engine.Op) error {
	x := getExchange()
	defer putExchange(x)
	x.op = *op
	return db.do(ctx, &x.op, &x.res)
}

// readOnly reports whether an operation changes nothing, so it may be
// retried on another leader. A batch is read-only when all its
// operations are.
func readOnly(op *engine.Op) bool {
	if op.Code == engine.OpBatch {
		for i := range op.Ops {
			if !readOnly(&op.Ops[i]) {
				return false
			}
		}
		return true
	}
	switch op.Code {
	case engine.OpOpenTable, engine.OpTables,
		engine.OpDictGet, engine.OpDictHas, engine.OpDictLen, engine.OpDictKeys,
		engine.OpDictValues, engine.OpDictItems, engine.OpDictScan,
		engine.OpListGet, engine.OpListSlice, engine.OpListAll, engine.OpListCount,
		engine.OpListIndex, engine.OpListLen, engine.OpDictTTL,
		engine.OpCheckEquals, engine.OpCheckAbsent, engine.OpCheckVersion,
		engine.OpCancel, engine.OpWatch:
		return true
	}
	return false
}

// EnsureDict returns the dict table name, creating it with content (as
// CreateDict does) if it does not exist. Of many processes racing to
// ensure the same table, exactly one creates it. It returns ErrWrongType
// if name is a list.
func (db *DB) EnsureDict(ctx context.Context, name string, content ...any) (*Dict, error) {
	d, err := db.CreateDict(ctx, name, content...)
	if errors.Is(err, ErrTableExists) {
		return db.Dict(ctx, name)
	}
	return d, err
}

// EnsureList returns the list table name, creating it with content (as
// CreateList does) if it does not exist. It returns ErrWrongType if name
// is a dict.
func (db *DB) EnsureList(ctx context.Context, name string, content ...any) (*List, error) {
	l, err := db.CreateList(ctx, name, content...)
	if errors.Is(err, ErrTableExists) {
		return db.List(ctx, name)
	}
	return l, err
}
