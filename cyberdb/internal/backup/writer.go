package backup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
	bolt "go.etcd.io/bbolt"
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

// writer fills a bbolt file, splitting the data into transactions of about
// commitBytes.
type writer struct {
	db      *bolt.DB
	tx      *bolt.Tx     // the open transaction, nil between transactions
	name    []byte       // the table being written
	data    *bolt.Bucket // its data bucket in tx
	pending int          // bytes put in tx
}

// begin starts a transaction.
func (w *writer) begin() error {
	tx, err := w.db.Begin(true)
	if err != nil {
		return err
	}
	w.tx, w.pending = tx, 0
	return nil
}

// commit commits the open transaction; bbolt syncs the file before it
// returns.
func (w *writer) commit() error {
	tx := w.tx
	w.tx = nil
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rollback discards the open transaction, if any.
func (w *writer) rollback() {
	if w.tx != nil {
		_ = w.tx.Rollback()
		w.tx = nil
	}
}

// skeleton creates the top-level buckets in a transaction of their own, so
// that a file whose later transactions are lost still reads as incomplete
// rather than foreign.
func (w *writer) skeleton() error {
	if _, err := w.tx.CreateBucket(bucketMeta); err != nil {
		return err
	}
	if _, err := w.tx.CreateBucket(bucketTables); err != nil {
		return err
	}
	if err := w.commit(); err != nil {
		return err
	}
	return w.begin()
}

// tableBucket returns the bucket of the current table in tx.
func (w *writer) tableBucket() *bolt.Bucket {
	return w.tx.Bucket(bucketTables).Bucket(w.name)
}

// table writes t.
func (w *writer) table(t *engine.TableData) error {
	w.name = bytesOf(t.Name)
	tb, err := w.tx.Bucket(bucketTables).CreateBucket(w.name)
	if err != nil {
		return err
	}
	n := len(t.List)
	if t.Kind == engine.KindDict {
		n = len(t.Dict)
	}
	if err := putHeader(tb, t, n); err != nil {
		return err
	}
	if w.data, err = tb.CreateBucket(bucketData); err != nil {
		return err
	}
	w.data.FillPercent = 1
	d := newDigest(t.Name, t.Kind, t.LSN)
	if t.Kind == engine.KindDict {
		err = w.dict(t.Dict, d)
	} else {
		err = w.list(t.List, d)
	}
	if err != nil {
		return err
	}
	return w.tableBucket().Put(keyCRC, binary.BigEndian.AppendUint32(nil, d.sum))
}

// putHeader stores the kind, LSN and count n of table t.
func putHeader(tb *bolt.Bucket, t *engine.TableData, n int) error {
	if err := tb.Put(keyKind, []byte{byte(t.Kind)}); err != nil {
		return err
	}
	if err := tb.Put(keyLSN, binary.BigEndian.AppendUint64(nil, t.LSN)); err != nil {
		return err
	}
	return tb.Put(keyCount, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// pair is a dict entry.
type pair struct {
	k string
	v []byte
}

// sortedPairs returns the entries of m in key order.
func sortedPairs(m map[string][]byte) []pair {
	ps := make([]pair, 0, len(m))
	for k, v := range m {
		ps = append(ps, pair{k, v})
	}
	slices.SortFunc(ps, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	return ps
}

// dict writes the entries of m in key order.
func (w *writer) dict(m map[string][]byte, d *digest) error {
	for _, p := range sortedPairs(m) {
		k, v := p.k, p.v
		if err := checkEntry(k, v); err != nil {
			return fmt.Errorf("key %q: %w", clip(k), err)
		}
		d.entry(bytesOf(k), v)
		var err error
		if k == "" {
			err = w.tableBucket().Put(keyEmpty, v)
		} else {
			err = w.put(bytesOf(k), v)
		}
		if err != nil {
			return fmt.Errorf("key %q: %w", clip(k), err)
		}
	}
	return nil
}

// list writes the elements of l in order.
func (w *writer) list(l [][]byte, d *digest) error {
	var buf [8]byte
	for i, v := range l {
		if err := checkValue(v); err != nil {
			return fmt.Errorf("index %d: %w", i, err)
		}
		k := indexKey(&buf, uint64(i))
		d.entry(k, v)
		if err := w.put(k, v); err != nil {
			return fmt.Errorf("index %d: %w", i, err)
		}
	}
	return nil
}

// put stores k and v in the data bucket, first committing the transaction
// if it is full. bbolt copies k; v must stay unchanged until the commit.
func (w *writer) put(k, v []byte) error {
	if w.pending >= commitBytes {
		if err := w.rollover(); err != nil {
			return err
		}
	}
	w.pending += entryOverhead + len(k) + len(v)
	return w.data.Put(k, v)
}

// rollover commits the transaction and continues the current table in a
// new one.
func (w *writer) rollover() error {
	if err := w.commit(); err != nil {
		return err
	}
	if err := w.begin(); err != nil {
		return err
	}
	w.data = w.tableBucket().Bucket(bucketData)
	w.data.FillPercent = 1
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

// finish stores the table count, meta and the format marker, which makes
// the file readable, and commits.
func (w *writer) finish(tables int, meta Meta) error {
	mb := w.tx.Bucket(bucketMeta)
	if err := mb.Put(keyTables, binary.BigEndian.AppendUint64(nil, uint64(tables))); err != nil {
		return err
	}
	if err := putMeta(mb, meta); err != nil {
		return err
	}
	if err := mb.Put(keyFormat, []byte(Format)); err != nil {
		return err
	}
	return w.commit()
}

// putMeta stores meta in the cyberdb bucket mb.
func putMeta(mb *bolt.Bucket, meta Meta) error {
	if err := mb.Put(keyLSN, binary.BigEndian.AppendUint64(nil, meta.LSN)); err != nil {
		return err
	}
	if len(meta.Clients) > 0 {
		if err := mb.Put(keyClients, meta.Clients); err != nil {
			return err
		}
	}
	return mb.Put(keyCRC, binary.BigEndian.AppendUint32(nil, metaSum(meta.LSN, meta.Clients)))
}
