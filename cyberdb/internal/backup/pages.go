package backup

import (
	"hash/fnv"
	"os"
)

// Write lays the bbolt file out itself rather than through bbolt's Put,
// which costs a descent from the root and several allocations per key: a
// bulk load of sorted keys only needs each page written once, bottom up.
// The file is one bbolt would write with two transactions:
//
//	page 0      meta of transaction 2: the skeleton
//	page 1      meta of transaction 3: everything
//	page 2      the freelist of transaction 2 (empty)
//	page 3      the root of transaction 2: empty cyberdb and tables buckets
//	pages 4...  the buckets of transaction 3, each after the pages below it
//	last page   the freelist of transaction 3: pages 2 and 3
//
// so that a file whose meta page 1 is lost reads as incomplete rather
// than foreign, as it would after a crash between two bbolt commits.
const (
	txSkeleton = 2
	txFull     = 3
)

// pager writes the pages of a bbolt file in the order of their ids, which
// it hands out.
type pager struct {
	f        *os.File
	w        *asyncWriter
	size     int       // the page size
	next     uint64    // the id of the next page
	skeleton [2]uint64 // the freelist and root pages of the skeleton
	elems    []byte    // scratch for a page header and elements
	zeros    []byte    // a page of zeros, for padding
}

// newPager starts writing the file f, which must be empty. Call close
// once done with it.
func newPager(f *os.File) *pager {
	size := os.Getpagesize()
	return &pager{f: f, w: newAsyncWriter(f), size: size, elems: make([]byte, size), zeros: make([]byte, size)}
}

// close stops the goroutine of pg's writer and returns any write error.
func (pg *pager) close() error {
	if pg.w == nil {
		return nil
	}
	err := pg.w.close()
	pg.w = nil
	return err
}

// page writes p as the next page(s) and returns the id of its first page.
func (pg *pager) page(p *pageBuf) (uint64, error) {
	id := pg.next
	n := p.size()
	pages := (n + pg.size - 1) / pg.size
	pg.next += uint64(pages)
	head := p.header(pg.elems[:0], id, pages-1)
	pg.elems = head
	if _, err := pg.w.Write(head); err != nil {
		return 0, err
	}
	if _, err := pg.w.Write(p.data); err != nil {
		return 0, err
	}
	return id, pg.pad(pages*pg.size - n)
}

// pad writes n zero bytes.
func (pg *pager) pad(n int) error {
	for n > 0 {
		c, err := pg.w.Write(pg.zeros[:min(n, len(pg.zeros))])
		if err != nil {
			return err
		}
		n -= c
	}
	return nil
}

// start writes the pages of the skeleton: blank meta pages, to be filled
// by finish, the empty freelist and the root.
func (pg *pager) start() error {
	if err := pg.pad(2 * pg.size); err != nil {
		return err
	}
	pg.next = 2
	free, err := pg.page(&pageBuf{flags: flagFreelist})
	if err != nil {
		return err
	}
	root, err := pg.root(emptyBucket(), emptyBucket())
	pg.skeleton = [2]uint64{free, root}
	return err
}

// root writes the root bucket holding the cyberdb and tables buckets,
// given as the values bucket.value returned, and returns its page.
func (pg *pager) root(meta, tables []byte) (uint64, error) {
	b := pg.bucket()
	if err := b.put(bucketMeta, meta, bucketLeafFlag); err != nil {
		return 0, err
	}
	if err := b.put(bucketTables, tables, bucketLeafFlag); err != nil {
		return 0, err
	}
	return b.root()
}

// finish writes the root bucket, the freelist and the meta pages.
func (pg *pager) finish(meta, tables []byte) error {
	root, err := pg.root(meta, tables)
	if err != nil {
		return err
	}
	free := &pageBuf{flags: flagFreelist}
	free.data = ne.AppendUint64(ne.AppendUint64(nil, pg.skeleton[0]), pg.skeleton[1])
	freelist, err := pg.page(free)
	if err != nil {
		return err
	}
	if err := pg.close(); err != nil {
		return err
	}
	if err := pg.meta(txSkeleton, pg.skeleton[1], pg.skeleton[0], pg.skeleton[1]+1); err != nil {
		return err
	}
	return pg.meta(txFull, root, freelist, pg.next)
}

// meta writes the meta page of transaction txid, in page txid%2 as bbolt
// does, with the given root page, freelist page and high water mark.
func (pg *pager) meta(txid, root, freelist, hwm uint64) error {
	p := make([]byte, pg.size)
	id := txid % 2
	ne.PutUint64(p, id)
	ne.PutUint16(p[8:], flagMeta)
	m := p[pageHeaderSize : pageHeaderSize+metaSize]
	ne.PutUint32(m[metaMagic:], boltMagic)
	ne.PutUint32(m[metaVersion:], boltVersion)
	ne.PutUint32(m[metaPageSize:], uint32(pg.size))
	ne.PutUint64(m[metaRoot:], root)
	ne.PutUint64(m[metaFreelist:], freelist)
	ne.PutUint64(m[metaHWM:], hwm)
	ne.PutUint64(m[metaTxid:], txid)
	h := fnv.New64a()
	_, _ = h.Write(m[:metaSumOffset])
	ne.PutUint64(m[metaSumOffset:], h.Sum64())
	_, err := pg.f.WriteAt(p, int64(id)*int64(pg.size))
	return err
}
