package backup

import (
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	bolt "go.etcd.io/bbolt"
)

// Info describes a backup file.
type Info struct {
	Format  string      // the format marker: Format or "cyberdb-go/2"
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
	Rev   uint64 // 0 in format "cyberdb-go/2"
	TTL   int64  // a dict's default TTL in nanoseconds, 0 for none
	Len   int    // entries
	Bytes int64  // total size of the values, without the entry headers
}

// Stat checks the backup at path as thoroughly as Read does and describes
// it without loading the values into memory. Its errors are those of Read.
func Stat(path string) (Info, error) {
	var info Info
	err := view(path, func(tx *bolt.Tx, size int64, h *fileHeader) error {
		info.Format, info.Size, info.LSN, info.Clients = h.format, size, h.lsn, len(h.clients)
		return eachTable(tx, size, h, func(t *tableReader) error {
			ts := TableStat{Name: t.name, Kind: t.kind, LSN: t.lsn, Rev: t.rev, TTL: t.ttl, Len: int(t.count)}
			info.Tables = append(info.Tables, ts)
			return t.each(func(_ []byte, e engine.Entry) { info.Tables[len(info.Tables)-1].Bytes += int64(len(e.V)) })
		})
	})
	if err != nil {
		return Info{}, readError(path, err)
	}
	return info, nil
}
