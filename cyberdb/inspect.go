package cyberdb

import "github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"

// TableStat describes a table held in a backup file.
type TableStat struct {
	Name string
	Kind Kind
	Len  int // number of keys or elements
}

// InspectBackup reads the backup file at path without opening a store and
// describes its tables. It returns ErrCorrupt or ErrForeign for a file
// that is damaged or not a backup. Do not call it on the live backup file
// of a running leader from the leader's own process.
func InspectBackup(path string) ([]TableStat, error) {
	tables, _, err := backup.Read(path)
	if err != nil {
		return nil, err
	}
	out := make([]TableStat, len(tables))
	for i, t := range tables {
		out[i] = TableStat{Name: t.Name, Kind: Kind(t.Kind), Len: len(t.Dict) + len(t.List)}
	}
	return out, nil
}
