package backup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// codec checks that values are well-formed CBOR. Its limits are the widest
// the codec supports: a backup must hold whatever the engine holds, under
// whatever limits the engine was given.
var codec = mustCodec()

func mustCodec() *ipc.Codec {
	c, err := ipc.NewCodec(ipc.Limits{
		MaxMessageSize:   1 << 30,
		MaxNestedLevels:  65535,
		MaxArrayElements: math.MaxInt32,
		MaxMapPairs:      math.MaxInt32,
	})
	if err != nil {
		panic(err)
	}
	return c
}

// fill writes the tables and meta to f, which must be empty.
func fill(f *os.File, order []*engine.TableData, meta Meta) error {
	pg := newPager(f)
	defer pg.close()
	if err := pg.start(); err != nil {
		return err
	}
	tables := pg.bucket()
	for _, t := range order {
		v, err := table(pg, t)
		if err == nil {
			err = tables.put(bytesOf(t.Name), v, bucketLeafFlag)
		}
		if err != nil {
			return fmt.Errorf("table %q: %w", t.Name, err)
		}
	}
	tv, err := tables.value()
	if err != nil {
		return err
	}
	mv, err := metaBucket(pg, len(order), meta)
	if err != nil {
		return err
	}
	return pg.finish(mv, tv)
}

// table writes the data of t and returns the value of its bucket.
func table(pg *pager, t *engine.TableData) ([]byte, error) {
	data := pg.bucket()
	d := newDigest(t.Name, t.Kind, t.LSN)
	d.addRevTTL(t.Rev, t.TTL)
	var empty []byte
	var err error
	n := len(t.List)
	if t.Kind == engine.KindDict {
		n = len(t.Dict)
		empty, err = dict(data, t.Dict, d)
	} else {
		err = list(data, t.List, d)
	}
	if err != nil {
		return nil, err
	}
	dv, err := data.value()
	if err != nil {
		return nil, err
	}
	tb := pg.bucket()
	err = putAll(tb, []item{
		{k: keyCount, v: binary.BigEndian.AppendUint64(nil, uint64(n))},
		{k: keyCRC, v: binary.BigEndian.AppendUint32(nil, d.sum())},
		{k: bucketData, v: dv, flags: bucketLeafFlag},
		{k: keyEmpty, v: empty},
		{k: keyKind, v: []byte{byte(t.Kind)}},
		{k: keyLSN, v: binary.BigEndian.AppendUint64(nil, t.LSN)},
		{k: keyRev, v: binary.BigEndian.AppendUint64(nil, t.Rev)},
		{k: keyTTL, v: ttlValue(t.TTL)},
	})
	if err != nil {
		return nil, err
	}
	return tb.value()
}

// ttlValue returns the value of the ttl key of a table, nil for none.
func ttlValue(ttl int64) []byte {
	if ttl == 0 {
		return nil
	}
	return binary.BigEndian.AppendUint64(nil, uint64(ttl))
}

// item is a key of a bucket with its value; flags is bucketLeafFlag when
// the value is a bucket.
type item struct {
	k, v  []byte
	flags uint32
}

// putAll adds items, which must be in key order, to b, skipping those
// with a nil value.
func putAll(b *bucket, items []item) error {
	for _, it := range items {
		if it.v == nil {
			continue
		}
		if err := b.put(it.k, it.v, it.flags); err != nil {
			return err
		}
	}
	return nil
}

// dict adds the entries of m to the data bucket and to d, in key order,
// and returns the stored entry of the key "", which a bucket cannot hold
// (nil when m has no such key).
func dict(data *bucket, m map[string]engine.Entry, d *digest) ([]byte, error) {
	var empty []byte
	var warmth byte
	ps, order := sortedPairs(m)
	for len(order) > 0 {
		batch := order[:min(warmBatch, len(order))]
		order = order[len(batch):]
		warmth ^= warm(ps, batch)
		for _, i := range batch {
			p := &ps[i]
			e, err := putEntry(data, d, p.k, &p.e)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", clip(p.k), err)
			}
			if e != nil {
				empty = e
			}
		}
	}
	runtime.KeepAlive(warmth)
	return empty, nil
}

// putEntry checks the entry e of key k and adds it, header and value, to
// d and, unless k is "", to data. For the key "" it returns instead the
// stored bytes, which the table bucket holds.
func putEntry(data *bucket, d *digest, k string, e *engine.Entry) ([]byte, error) {
	if err := checkEntry(k, e.V); err != nil {
		return nil, err
	}
	var buf [maxEntryHeader]byte
	h := appendEntryHeader(buf[:0], e)
	d.entry(bytesOf(k), h, e.V)
	if k == "" {
		return slices.Concat(h, e.V), nil
	}
	return nil, data.putHeaded(bytesOf(k), h, e.V)
}

// warmBatch is how many entries warm reads ahead.
const warmBatch = 256

// warm reads the first byte of the key, the first and last bytes of the
// value and the last byte of the pair (which may lie in the next cache
// line) of the entries in batch and returns them combined. The pairs, keys
// and values lie scattered in memory: touching them in a tight loop lets
// the processor wait for many cache misses at once, where the copying and
// checksumming that follow would wait for them one by one.
func warm(ps []pair, batch []int) byte {
	var b byte
	for _, i := range batch {
		p := &ps[i]
		b ^= byte(p.e.Exp)
		if len(p.k) > 0 {
			b ^= p.k[0]
		}
		if v := p.e.V; len(v) > 0 {
			b ^= v[0] ^ v[len(v)-1]
		}
	}
	return b
}

// list adds the elements of l to the data bucket and to d, in order.
func list(data *bucket, l [][]byte, d *digest) error {
	var buf [8]byte
	for i, v := range l {
		if err := checkValue(v); err != nil {
			return fmt.Errorf("index %d: %w", i, err)
		}
		k := indexKey(&buf, uint64(i))
		d.entry(k, nil, v)
		if err := data.put(k, v, 0); err != nil {
			return fmt.Errorf("index %d: %w", i, err)
		}
	}
	return nil
}

// checkEntry reports whether a dict entry can be stored.
func checkEntry(k string, v []byte) error {
	if len(k) > MaxKeySize {
		return fmt.Errorf("key of %d bytes exceeds %d", len(k), MaxKeySize)
	}
	return checkValue(v)
}

// checkValue reports whether v is one well-formed CBOR item.
func checkValue(v []byte) error {
	if len(v) == 0 {
		return errors.New("empty value")
	}
	return codec.Wellformed(v)
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// metaBucket writes the cyberdb bucket and returns its value: the table
// count, meta and the format marker.
func metaBucket(pg *pager, tables int, meta Meta) ([]byte, error) {
	var clients []byte
	if len(meta.Clients) > 0 {
		clients = meta.Clients
	}
	b := pg.bucket()
	err := putAll(b, []item{
		{k: keyClients, v: clients},
		{k: keyCRC, v: binary.BigEndian.AppendUint32(nil, metaSum(meta.LSN, meta.Clients))},
		{k: keyFormat, v: []byte(Format)},
		{k: keyLSN, v: binary.BigEndian.AppendUint64(nil, meta.LSN)},
		{k: keyTables, v: binary.BigEndian.AppendUint64(nil, uint64(tables))},
	})
	if err != nil {
		return nil, err
	}
	return b.value()
}
