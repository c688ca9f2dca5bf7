package backup

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

const testPageSize = 4096

// branchFile writes a backup whose dict needs branch pages and returns its
// path and bytes.
func branchFile(t *testing.T) (string, []byte) {
	t.Helper()
	td := engine.TableData{Name: "d", Kind: engine.KindDict, Dict: map[string]engine.Entry{}}
	for i := range 2000 {
		v, err := codec.Marshal(fmt.Sprintf("value %d", i))
		if err != nil {
			t.Fatal(err)
		}
		td.Dict[fmt.Sprintf("key-%06d", i)] = engine.Entry{V: v, Ver: uint64(i)}
	}
	path := filepath.Join(t.TempDir(), "b.cdb")
	if err := Write(path, []engine.TableData{td}, Meta{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// firstPage returns the id of the first page in use with the given flags.
func firstPage(t *testing.T, b []byte, flags uint16) uint64 {
	t.Helper()
	m, err := pickMeta(bytes.NewReader(b), testPageSize)
	if err != nil {
		t.Fatal(err)
	}
	free := freePages(b, m)
	for id := uint64(2); id < m.hwm; id++ {
		p := b[id*testPageSize:]
		if !free[id] && ne.Uint64(p) == id && ne.Uint16(p[8:]) == flags {
			return id
		}
	}
	t.Fatalf("no page with flags %#x", flags)
	return 0
}

// freePages returns the pages in the freelist of the transaction of m.
func freePages(b []byte, m meta) map[uint64]bool {
	mp := b[m.txid%2*testPageSize:]
	fp := b[ne.Uint64(mp[pageHeaderSize+metaFreelist:])*testPageSize:]
	free := make(map[uint64]bool)
	for i := range int(ne.Uint16(fp[10:])) {
		free[ne.Uint64(fp[pageHeaderSize+8*i:])] = true
	}
	return free
}

// setMeta changes the meta page in use with fn and fixes its checksum.
func setMeta(t *testing.T, b []byte, fn func(m []byte)) {
	t.Helper()
	m0, m1 := parseMeta(b), parseMeta(b[testPageSize:])
	off := 0
	if m1.valid && m1.txid > m0.txid {
		off = testPageSize
	}
	m := b[off+pageHeaderSize : off+pageHeaderSize+metaSize]
	fn(m)
	h := fnv.New64a()
	_, _ = h.Write(m[:metaSumOffset])
	ne.PutUint64(m[metaSumOffset:], h.Sum64())
}

func TestVerify_Damage(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b []byte) []byte
		want string
	}{
		{"intact", func(t *testing.T, b []byte) []byte { return b }, ""},
		{"branch points to itself", func(t *testing.T, b []byte) []byte {
			id := firstPage(t, b, flagBranch)
			ne.PutUint64(b[id*testPageSize+pageHeaderSize+8:], id)
			return b
		}, "is referenced twice"},
		{"branch points past the end", func(t *testing.T, b []byte) []byte {
			id := firstPage(t, b, flagBranch)
			ne.PutUint64(b[id*testPageSize+pageHeaderSize+8:], 1<<40)
			return b
		}, "outside the"},
		{"branch points to a meta page", func(t *testing.T, b []byte) []byte {
			id := firstPage(t, b, flagBranch)
			ne.PutUint64(b[id*testPageSize+pageHeaderSize+8:], 1)
			return b
		}, "reference to page 1 outside"},
		{"page id", func(t *testing.T, b []byte) []byte {
			id := firstPage(t, b, flagLeaf)
			ne.PutUint64(b[id*testPageSize:], id+1)
			return b
		}, "identifies itself as page"},
		{"overflow", func(t *testing.T, b []byte) []byte {
			id := firstPage(t, b, flagLeaf)
			ne.PutUint32(b[id*testPageSize+12:], 1<<30)
			return b
		}, "overflows past"},
		{"element count", func(t *testing.T, b []byte) []byte {
			id := firstPage(t, b, flagLeaf)
			ne.PutUint16(b[id*testPageSize+10:], 0xffff)
			return b
		}, "elements do not fit"},
		{"element position", func(t *testing.T, b []byte) []byte {
			id := firstPage(t, b, flagLeaf)
			ne.PutUint32(b[id*testPageSize+pageHeaderSize+4:], 1<<20)
			return b
		}, "lies outside the page"},
		{"high water mark past the end", func(t *testing.T, b []byte) []byte {
			setMeta(t, b, func(m []byte) { ne.PutUint64(m[40:], ne.Uint64(m[40:])+10) })
			return b
		}, "file truncated"},
		{"latest meta damaged", func(t *testing.T, b []byte) []byte {
			setMeta(t, b, func(m []byte) {})
			off := 0
			if parseMeta(b[testPageSize:]).txid > parseMeta(b).txid {
				off = testPageSize
			}
			b[off+pageHeaderSize+metaSumOffset] ^= 1
			return b
		}, "no format marker"},
		{"cut before the high water mark", func(t *testing.T, b []byte) []byte {
			return b[:len(b)-testPageSize]
		}, "file truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, b := branchFile(t)
			if err := os.WriteFile(path, tt.fn(t, b), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := Read(path)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrCorrupt with %q", err, tt.want)
			}
		})
	}
}
