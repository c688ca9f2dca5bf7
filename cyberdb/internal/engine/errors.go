package engine

import "fmt"

// fail records an error of class code with a formatted message in res.
func fail(res *Result, code ErrCode, format string, args ...any) {
	res.Err = code
	res.Msg = fmt.Sprintf(format, args...)
}

// invalid records a malformed or unsupported argument.
func invalid(res *Result, format string, args ...any) {
	fail(res, ErrInvalid, format, args...)
}

// noTable records that the table name does not exist.
func noTable(res *Result, name string) {
	fail(res, ErrNoTable, "table %q does not exist", name)
}

// wrongKind records that t is not of the kind an operation needs.
func wrongKind(res *Result, t *table, want Kind) {
	fail(res, ErrWrongType, "table %q is a %s, not a %s", t.name, t.kind, want)
}

// indexError records a list index outside [-n, n).
func indexError(res *Result, what string, i int64, n int) {
	fail(res, ErrIndex, "%s %d out of range (length %d)", what, i, n)
}
