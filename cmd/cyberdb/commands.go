package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// command is one subcommand taking between min and max arguments.
type command struct {
	min, max int
	run      func(ctx context.Context, db *cyberdb.DB, args []string, out io.Writer) error
}

var commands = map[string]command{
	"tables": {0, 0, cmdTables},
	"get":    {1, 2, cmdGet},
	"set":    {3, 3, cmdSet},
	"incr":   {2, 3, cmdIncr},
	"save": {1, 1, func(ctx context.Context, db *cyberdb.DB, args []string, _ io.Writer) error {
		return db.Save(ctx, args[0])
	}},
	"load": {1, 1, func(ctx context.Context, db *cyberdb.DB, args []string, _ io.Writer) error {
		return db.Load(ctx, args[0])
	}},
}

func cmdTables(ctx context.Context, db *cyberdb.DB, _ []string, out io.Writer) error {
	tables, err := db.Tables(ctx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		fmt.Fprintf(out, "%s\t%s\n", t.Name, t.Kind)
	}
	return nil
}

// cmdGet prints a whole table, one dict key or one list element.
func cmdGet(ctx context.Context, db *cyberdb.DB, args []string, out io.Writer) error {
	var v any
	var err error
	switch kind, kerr := kindOf(ctx, db, args[0]); {
	case kerr != nil:
		return kerr
	case kind == cyberdb.KindDict:
		v, err = getDict(ctx, db, args)
	default:
		v, err = getList(ctx, db, args)
	}
	if err != nil {
		return err
	}
	return printJSON(out, v)
}

func getDict(ctx context.Context, db *cyberdb.DB, args []string) (any, error) {
	d, err := db.Dict(ctx, args[0])
	if err != nil {
		return nil, err
	}
	if len(args) == 1 {
		m := map[string]any{}
		return m, d.ToMap(ctx, &m)
	}
	var v any
	found, err := d.Get(ctx, args[1], &v)
	if err == nil && !found {
		err = fmt.Errorf("cyberdb: no key %q in %s", args[1], args[0])
	}
	return v, err
}

func getList(ctx context.Context, db *cyberdb.DB, args []string) (any, error) {
	l, err := db.List(ctx, args[0])
	if err != nil {
		return nil, err
	}
	if len(args) == 1 {
		var s []any
		return s, l.ToSlice(ctx, &s)
	}
	i, err := strconv.Atoi(args[1])
	if err != nil {
		return nil, fmt.Errorf("cyberdb: list index %q is not an integer", args[1])
	}
	var v any
	return v, l.Get(ctx, i, &v)
}

// kindOf returns the kind of the table name.
func kindOf(ctx context.Context, db *cyberdb.DB, name string) (cyberdb.Kind, error) {
	tables, err := db.Tables(ctx)
	if err != nil {
		return 0, err
	}
	for _, t := range tables {
		if t.Name == name {
			return t.Kind, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", cyberdb.ErrNoTable, name)
}

func cmdSet(ctx context.Context, db *cyberdb.DB, args []string, _ io.Writer) error {
	var v any
	if err := json.Unmarshal([]byte(args[2]), &v); err != nil {
		return fmt.Errorf("cyberdb: value is not JSON: %w", err)
	}
	d, err := db.Dict(ctx, args[0])
	if err != nil {
		return err
	}
	return d.Set(ctx, args[1], v)
}

func cmdIncr(ctx context.Context, db *cyberdb.DB, args []string, out io.Writer) error {
	delta := int64(1)
	if len(args) == 3 {
		var err error
		if delta, err = strconv.ParseInt(args[2], 10, 64); err != nil {
			return fmt.Errorf("cyberdb: increment %q is not an integer", args[2])
		}
	}
	d, err := db.Dict(ctx, args[0])
	if err != nil {
		return err
	}
	n, err := d.Incr(ctx, args[1], delta)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, n)
	return err
}

// inspect summarises a backup file: each table with its kind and size.
func inspect(path string, out io.Writer) error {
	tables, err := cyberdb.InspectBackup(path)
	if err != nil {
		return err
	}
	for _, t := range tables {
		fmt.Fprintf(out, "%s\t%s\t%d\n", t.Name, t.Kind, t.Len)
	}
	return nil
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
