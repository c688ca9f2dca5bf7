package backup

import (
	"hash/fnv"
	"io"
)

// maxTreeDepth bounds the nesting of pages and buckets verifyTree follows.
const maxTreeDepth = 100

// meta is the part of a bbolt meta page that verifyTree uses.
type meta struct {
	pageSize uint32
	root     uint64 // root page of the root bucket
	hwm      uint64 // pages in use: every page id is below it
	txid     uint64
	valid    bool // magic, version and checksum are right
}

// parseMeta decodes the meta page that starts at p[0].
func parseMeta(p []byte) meta {
	if len(p) < pageHeaderSize+metaSize {
		return meta{}
	}
	m := p[pageHeaderSize : pageHeaderSize+metaSize]
	h := fnv.New64a()
	_, _ = h.Write(m[:metaSumOffset])
	return meta{
		pageSize: ne.Uint32(m[metaPageSize:]),
		root:     ne.Uint64(m[metaRoot:]),
		hwm:      ne.Uint64(m[metaHWM:]),
		txid:     ne.Uint64(m[metaTxid:]),
		valid: ne.Uint32(m[metaMagic:]) == boltMagic && ne.Uint32(m[metaVersion:]) == boltVersion &&
			ne.Uint64(m[metaSumOffset:]) == h.Sum64(),
	}
}

// pickMeta returns the meta page bbolt uses: the valid one with the higher
// transaction id.
func pickMeta(r io.ReaderAt, pageSize int) (meta, error) {
	var ms [2]meta
	buf := make([]byte, pageHeaderSize+metaSize)
	for i := range ms {
		if _, err := r.ReadAt(buf, int64(i*pageSize)); err != nil {
			return meta{}, corrupt("read meta page %d: %v", i, err)
		}
		ms[i] = parseMeta(buf)
	}
	if ms[1].txid > ms[0].txid {
		ms[0], ms[1] = ms[1], ms[0]
	}
	for _, m := range ms {
		if m.valid {
			return m, nil
		}
	}
	return meta{}, corrupt("both meta pages are invalid")
}

// verifyTree checks the page structure reachable from the meta page of
// transaction txid: every page lies inside the file, is referenced once,
// has the expected type, and every element lies inside its page. After it
// passes, bbolt can walk the file without faulting, panicking or looping;
// whether the content is right is for the caller to check.
func verifyTree(r io.ReaderAt, size int64, pageSize int, txid int) error {
	m, err := pickMeta(r, pageSize)
	if err != nil {
		return err
	}
	if m.txid != uint64(txid) || int(m.pageSize) != pageSize {
		return corrupt("meta pages disagree with the opened transaction")
	}
	if m.hwm < 3 || m.hwm > uint64(size)/uint64(pageSize) {
		return corrupt("file truncated: %d bytes hold %d pages, the meta page claims %d",
			size, size/int64(pageSize), m.hwm)
	}
	c := &checker{r: r, pageSize: pageSize, hwm: m.hwm, seen: make([]uint64, (m.hwm+63)/64)}
	c.mark(0)
	c.mark(1)
	return c.page(m.root, 0)
}

// checker walks the pages of a bbolt file.
type checker struct {
	r        io.ReaderAt
	pageSize int
	hwm      uint64
	seen     []uint64 // bitmap of the pages reached so far
	buf      []byte   // the pages read last
	from     uint64   // the first page in buf
}

// child is a page or bucket that a scanned page refers to.
type child struct {
	pgid   uint64 // a page, or the root page of a bucket (0 when inline)
	inline []byte // a copy of the inline page of a bucket
	bucket bool
}

// mark records that page id is reached, reporting false if it was before.
func (c *checker) mark(id uint64) bool {
	w, b := id/64, uint64(1)<<(id%64)
	if c.seen[w]&b != 0 {
		return false
	}
	c.seen[w] |= b
	return true
}

// page checks page id and everything below it.
func (c *checker) page(id uint64, depth int) error {
	if depth > maxTreeDepth {
		return corrupt("page tree deeper than %d", maxTreeDepth)
	}
	if id < 2 || id >= c.hwm {
		return corrupt("reference to page %d outside the %d pages in use", id, c.hwm)
	}
	p, err := c.read(id)
	if err != nil {
		return err
	}
	if got := ne.Uint64(p); got != id {
		return corrupt("page %d identifies itself as page %d", id, got)
	}
	kids, err := scan(p, id, false)
	if err != nil {
		return err
	}
	return c.children(kids, depth)
}

// children checks the pages and buckets a page refers to.
func (c *checker) children(kids []child, depth int) error {
	for _, k := range kids {
		var err error
		switch {
		case !k.bucket || k.pgid != 0:
			err = c.page(k.pgid, depth+1)
		default:
			err = c.inline(k.inline, depth+1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// inline checks the inline page of a bucket.
func (c *checker) inline(p []byte, depth int) error {
	if depth > maxTreeDepth {
		return corrupt("page tree deeper than %d", maxTreeDepth)
	}
	kids, err := scan(p, 0, true)
	if err != nil {
		return err
	}
	return c.children(kids, depth)
}

// read returns page id with its overflow pages, after marking them
// reached. The result is valid until the next call.
func (c *checker) read(id uint64) ([]byte, error) {
	p, err := c.readAt(id, 1)
	if err != nil {
		return nil, err
	}
	overflow := uint64(ne.Uint32(p[12:]))
	if overflow >= c.hwm-id {
		return nil, corrupt("page %d overflows past the %d pages in use", id, c.hwm)
	}
	for i := id; i <= id+overflow; i++ {
		if !c.mark(i) {
			return nil, corrupt("page %d is referenced twice", i)
		}
	}
	if overflow == 0 {
		return p, nil
	}
	return c.readAt(id, overflow+1)
}

// readAhead is the number of pages the checker reads at once when a page
// follows the last one it read, as the leaves of a bucket do: one read
// instead of one per page.
const readAhead = 64

// readAt returns n pages of the file from page id, which lie below the
// high water mark, from the pages read ahead or else after reading them.
// The result is valid until the next call.
func (c *checker) readAt(id, n uint64) ([]byte, error) {
	ps := uint64(c.pageSize)
	if id >= c.from && id+n <= c.from+uint64(len(c.buf))/ps {
		return c.buf[(id-c.from)*ps : (id-c.from+n)*ps], nil
	}
	pages := n
	if id == c.from+uint64(len(c.buf))/ps {
		pages = max(n, min(readAhead, c.hwm-id))
	}
	if uint64(cap(c.buf)) < pages*ps {
		c.buf = make([]byte, pages*ps)
	}
	c.buf, c.from = c.buf[:pages*ps], id
	if _, err := c.r.ReadAt(c.buf, int64(id*ps)); err != nil {
		c.buf = c.buf[:0]
		return nil, corrupt("read page %d: %v", id, err)
	}
	return c.buf[:n*ps], nil
}

// scan checks the elements of page p (id 0 for an inline page) and returns
// what it refers to.
func scan(p []byte, id uint64, inline bool) ([]child, error) {
	if len(p) < pageHeaderSize {
		return nil, corrupt("inline page of %d bytes", len(p))
	}
	flags, count := ne.Uint16(p[8:]), int(ne.Uint16(p[10:]))
	if pageHeaderSize+count*elementSize > len(p) {
		return nil, corrupt("page %d: %d elements do not fit", id, count)
	}
	switch {
	case flags == flagLeaf:
		return scanLeaf(p, id, count)
	case flags == flagBranch && !inline:
		return scanBranch(p, id, count)
	}
	return nil, corrupt("page %d: unexpected page type %#x", id, flags)
}

// scanBranch checks the elements of branch page p.
func scanBranch(p []byte, id uint64, count int) ([]child, error) {
	if count == 0 {
		return nil, corrupt("page %d: empty branch page", id)
	}
	kids := make([]child, count)
	for i := range kids {
		off := pageHeaderSize + i*elementSize
		e := p[off : off+elementSize]
		if !fits(len(p), off, ne.Uint32(e[0:]), ne.Uint32(e[4:]), 0) {
			return nil, corrupt("page %d: branch element %d lies outside the page", id, i)
		}
		kids[i] = child{pgid: ne.Uint64(e[8:])}
	}
	return kids, nil
}

// scanLeaf checks the elements of leaf page p and returns its buckets.
func scanLeaf(p []byte, id uint64, count int) ([]child, error) {
	var kids []child
	for i := range count {
		off := pageHeaderSize + i*elementSize
		e := p[off : off+elementSize]
		flags, pos, ksize, vsize := ne.Uint32(e[0:]), ne.Uint32(e[4:]), ne.Uint32(e[8:]), ne.Uint32(e[12:])
		if ksize == 0 || !fits(len(p), off, pos, ksize, vsize) {
			return nil, corrupt("page %d: leaf element %d lies outside the page", id, i)
		}
		if flags&bucketLeafFlag == 0 {
			continue
		}
		v := p[off+int(pos)+int(ksize):][:vsize]
		k, err := bucketChild(v)
		if err != nil {
			return nil, corrupt("page %d: leaf element %d: %v", id, i, err)
		}
		kids = append(kids, k)
	}
	return kids, nil
}

// bucketChild decodes the bucket header in value v.
func bucketChild(v []byte) (child, error) {
	if len(v) < bucketHeader {
		return child{}, corrupt("bucket header of %d bytes", len(v))
	}
	k := child{pgid: ne.Uint64(v), bucket: true}
	if k.pgid == 0 {
		k.inline = append([]byte(nil), v[bucketHeader:]...)
	}
	return k, nil
}

// fits reports whether an element at offset off of a page of n bytes,
// whose key starts pos bytes after the element and is followed by its
// value, lies inside the page.
func fits(n, off int, pos, ksize, vsize uint32) bool {
	return uint64(off)+uint64(pos)+uint64(ksize)+uint64(vsize) <= uint64(n)
}
