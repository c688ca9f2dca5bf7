package backup

import "errors"

// bucket lays out one bucket as a B+tree, bottom up: its entries, which
// must come in key order, fill leaf pages; each page is written as soon
// as the next entry does not fit, and its first key and id go to the
// level above, which fills branch pages the same way.
type bucket struct {
	pg     *pager
	levels []*pageBuf // the page being filled at each level, leaves first
	nested bool       // the bucket holds a bucket, so it is never inline
}

// bucket starts a bucket.
func (pg *pager) bucket() *bucket {
	return &bucket{pg: pg, levels: []*pageBuf{{flags: flagLeaf}}}
}

// put adds key k with value v; flags is bucketLeafFlag when v is a bucket
// (the value of its bucket's value method).
func (b *bucket) put(k, v []byte, flags uint32) error {
	b.nested = b.nested || flags&bucketLeafFlag != 0
	return b.add(0, elem{flags: flags, ksize: uint32(len(k)), vsize: uint32(len(v))}, k, nil, v)
}

// putHeaded adds key k with the value h followed by v, sparing the
// caller a copy to join them.
func (b *bucket) putHeaded(k, h, v []byte) error {
	return b.add(0, elem{ksize: uint32(len(k)), vsize: uint32(len(h) + len(v))}, k, h, v)
}

// minKeysPerPage is the fewest elements a page holds, as in bbolt: were
// it one, branch pages of keys larger than a page would hold one key each
// and the tree would never reach a single root.
const minKeysPerPage = 2

// add adds an element with key k and value h followed by v to the page
// being filled at level i, after writing out that page if the element
// would make it overflow. A page only overflows (spans several pages)
// when its first elements are that large.
func (b *bucket) add(i int, e elem, k, h, v []byte) error {
	p := b.levels[i]
	if len(p.elems) >= minKeysPerPage && p.size()+elementSize+len(k)+len(h)+len(v) > b.pg.size {
		if err := b.flush(i); err != nil {
			return err
		}
	}
	p.elems = append(p.elems, e)
	p.data = append(append(append(p.data, k...), h...), v...)
	return nil
}

// flush writes the page being filled at level i and adds it to level i+1.
func (b *bucket) flush(i int) error {
	p := b.levels[i]
	id, err := b.pg.page(p)
	if err != nil {
		return err
	}
	if i+1 == len(b.levels) {
		if len(b.levels) == maxTreeDepth {
			return errors.New("page tree too deep")
		}
		b.levels = append(b.levels, &pageBuf{flags: flagBranch})
	}
	first := p.data[:p.elems[0].ksize]
	err = b.add(i+1, elem{ksize: uint32(len(first)), pgid: id}, first, nil, nil)
	p.elems, p.data = p.elems[:0], p.data[:0]
	return err
}

// root writes the pages still being filled and returns the root page.
func (b *bucket) root() (uint64, error) {
	for i := 0; ; i++ {
		if i == len(b.levels)-1 {
			return b.pg.page(b.levels[i])
		}
		if err := b.flush(i); err != nil {
			return 0, err
		}
	}
}

// value returns what the parent bucket stores for b: a bucket header
// followed, as bbolt does for a small bucket without nested buckets, by
// the bucket's only page (inline), or naming its root page.
func (b *bucket) value() ([]byte, error) {
	v := make([]byte, bucketHeader)
	if p := b.levels[0]; len(b.levels) == 1 && !b.nested && p.size() <= b.pg.size/4 {
		v = p.header(v, 0, 0)
		return append(v, p.data...), nil
	}
	root, err := b.root()
	ne.PutUint64(v, root)
	return v, err
}

// emptyBucket returns the value of an empty bucket.
func emptyBucket() []byte {
	p := &pageBuf{flags: flagLeaf}
	return p.header(make([]byte, bucketHeader), 0, 0)
}

// pageBuf is the content of a page being filled.
type pageBuf struct {
	flags uint16
	elems []elem
	data  []byte // leaf or branch: the keys and values of elems in order; freelist: the page ids
}

// elem is one element of a leaf or branch page.
type elem struct {
	flags        uint32 // leaf: bucketLeafFlag for a bucket
	ksize, vsize uint32
	pgid         uint64 // branch: the child page
}

// size returns the bytes p takes.
func (p *pageBuf) size() int {
	return pageHeaderSize + len(p.elems)*elementSize + len(p.data)
}

// header appends the page header, with the given id and overflow, and the
// elements of p to dst: all of the page but its data.
func (p *pageBuf) header(dst []byte, id uint64, overflow int) []byte {
	count := len(p.elems)
	if p.flags == flagFreelist {
		count = len(p.data) / 8
	}
	dst = ne.AppendUint64(dst, id)
	dst = ne.AppendUint16(dst, p.flags)
	dst = ne.AppendUint16(dst, uint16(count))
	dst = ne.AppendUint32(dst, uint32(overflow))
	// pos is the distance from an element to its key.
	pos := uint32(len(p.elems) * elementSize)
	for _, e := range p.elems {
		if p.flags == flagLeaf {
			dst = ne.AppendUint32(dst, e.flags)
			dst = ne.AppendUint32(dst, pos)
			dst = ne.AppendUint32(dst, e.ksize)
			dst = ne.AppendUint32(dst, e.vsize)
		} else {
			dst = ne.AppendUint32(dst, pos)
			dst = ne.AppendUint32(dst, e.ksize)
			dst = ne.AppendUint64(dst, e.pgid)
		}
		pos += e.ksize + e.vsize - elementSize
	}
	return dst
}
