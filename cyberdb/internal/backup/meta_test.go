package backup_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	bolt "go.etcd.io/bbolt"
)

func TestMetaRoundTrip(t *testing.T) {
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(rand.Uint32())
	}
	tests := []struct {
		name string
		meta backup.Meta
	}{
		{"zero", backup.Meta{}},
		{"lsn only", backup.Meta{LSN: 1<<63 + 5}},
		{"small clients", backup.Meta{LSN: 7, Clients: []byte{0}}},
		{"large clients", backup.Meta{LSN: 9, Clients: big}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tables := sample(t)
			for i := range tables {
				tables[i].LSN = uint64(i) * 1000
			}
			tables[1].LSN = 1<<64 - 1
			path := filepath.Join(t.TempDir(), "data.cdb")
			if err := backup.Write(path, tables, tt.meta); err != nil {
				t.Fatal(err)
			}
			got, meta, err := backup.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			equalTables(t, got, tables)
			for i := range tables {
				if got[i].LSN != tables[i].LSN {
					t.Fatalf("table %q: LSN %d, want %d", got[i].Name, got[i].LSN, tables[i].LSN)
				}
			}
			if meta.LSN != tt.meta.LSN || !bytes.Equal(meta.Clients, tt.meta.Clients) {
				t.Fatalf("meta: LSN %d, %d bytes of clients; want %d, %d", meta.LSN, len(meta.Clients), tt.meta.LSN, len(tt.meta.Clients))
			}
			if len(tt.meta.Clients) == 0 && meta.Clients != nil {
				t.Fatal("empty clients read as non-nil")
			}
			info, err := backup.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.LSN != tt.meta.LSN || info.Clients != len(tt.meta.Clients) || info.Tables[1].LSN != tables[1].LSN {
				t.Fatalf("Stat: %+v", info)
			}
		})
	}
}

func TestMetaClientsFlipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.cdb")
	if err := backup.Write(path, sample(t), backup.Meta{LSN: 3, Clients: bytes.Repeat([]byte("c"), 10000)}); err != nil {
		t.Fatal(err)
	}
	tamper(t, path, func(_, meta *bolt.Bucket) error {
		v := bytes.Clone(meta.Get([]byte("clients")))
		v[5000] ^= 1
		return meta.Put([]byte("clients"), v)
	})
	got, meta, err := backup.Read(path)
	if !errors.Is(err, backup.ErrCorrupt) || got != nil || meta.Clients != nil {
		t.Fatalf("got %d tables, %d bytes of clients, err %v; want ErrCorrupt only", len(got), len(meta.Clients), err)
	}
}

func TestOldFormatRefused(t *testing.T) {
	path := writeSample(t, sample(t))
	tamper(t, path, func(_, meta *bolt.Bucket) error {
		return meta.Put([]byte("format"), []byte("cyberdb-go/1"))
	})
	if _, _, err := backup.Read(path); !errors.Is(err, backup.ErrForeign) {
		t.Fatalf("a file of format 1: %v, want ErrForeign", err)
	}
}
