package backup

import (
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	bolt "go.etcd.io/bbolt"
)

// Info describes a backup file.
type Info struct {
	Size    int64       // bytes of the file
	LSN     uint64      // Meta.LSN
	Clients int         // bytes of Meta.Clients
	Tables  []TableStat // in name order
}

// TableStat describes one table of a backup file.
type TableStat struct {
	Name  string
	Kind  engine.Kind
	LSN   uint64
	Len   int   // entries
	Bytes int64 // total size of the values
}

// Stat checks the backup at path as thoroughly as Read does and describes
// it without loading the values into memory. Its errors are those of Read.
func Stat(path string) (Info, error) {
	var info Info
	err := view(path, func(tx *bolt.Tx, size int64, h *fileHeader) error {
		info.Size, info.LSN, info.Clients = size, h.lsn, len(h.clients)
		return eachTable(tx, size, h.tables, func(t *tableReader) error {
			ts := TableStat{Name: t.name, Kind: t.kind, LSN: t.lsn, Len: int(t.count)}
			info.Tables = append(info.Tables, ts)
			return t.each(func(_, v []byte) { info.Tables[len(info.Tables)-1].Bytes += int64(len(v)) })
		})
	})
	if err != nil {
		return Info{}, readError(path, err)
	}
	return info, nil
}
