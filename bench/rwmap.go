package main

import (
	"bytes"
	"context"
	"errors"
	"sync"
)

// rwMap is the rwmutex-map column: maps behind one sync.RWMutex in the
// calling process, the ceiling of any store without IPC. Reads copy the
// value out and writes copy it in, as a shared store must.
type rwMap struct {
	mu       sync.RWMutex                 // protects tables, counters and list
	tables   map[string]map[string][]byte // by table name
	counters map[string]int64
	list     [][]byte
}

// errEmpty is the error of a pop from an empty list.
var errEmpty = errors.New("rwmap: pop from an empty list")

// newRWMap returns an empty rwMap.
func newRWMap() *rwMap {
	return &rwMap{tables: map[string]map[string][]byte{}, counters: map[string]int64{}}
}

func (m *rwMap) close() error { return nil }

// load fills a table.
func (m *rwMap) load(p preloadMsg) error {
	t := make(map[string][]byte, p.Keys)
	value := randomValue(p.ValueSize, 1)
	for _, k := range keyNames(p.Keys) {
		t[k] = bytes.Clone(value)
	}
	m.mu.Lock()
	m.tables[p.Table] = t
	m.mu.Unlock()
	return nil
}

// drop deletes a table.
func (m *rwMap) drop(table string) error {
	m.mu.Lock()
	delete(m.tables, table)
	m.mu.Unlock()
	return nil
}

// conn returns one goroutine's view of the maps for cell c.
func (m *rwMap) conn(c opsCell, keys int, seed uint64) (opConn, error) {
	m.mu.Lock()
	t := m.tables[kvTable(c.ValueSize)]
	if t == nil {
		t = map[string][]byte{}
		m.tables[kvTable(c.ValueSize)] = t
	}
	m.mu.Unlock()
	return &rwMapConn{m: m, kv: t, keys: keyNames(keys), value: randomValue(c.ValueSize, seed)}, nil
}

// rwMapConn is one goroutine's calls on an rwMap; a batch is its
// operations one after the other.
type rwMapConn struct {
	m      *rwMap
	kv     map[string][]byte // guarded by m.mu
	keys   []string
	value  []byte
	buf    []byte // destination of reads, reused
	queued []queuedOp
}

// queuedOp is an operation waiting for a flush.
type queuedOp struct {
	op  opKind
	key int
}

func (c *rwMapConn) do(_ context.Context, op opKind, key int) error {
	switch op {
	case opGet:
		c.m.mu.RLock()
		c.buf = append(c.buf[:0], c.kv[c.keys[key]]...)
		c.m.mu.RUnlock()
	case opSet:
		v := bytes.Clone(c.value)
		c.m.mu.Lock()
		c.kv[c.keys[key]] = v
		c.m.mu.Unlock()
	case opIncr:
		c.m.mu.Lock()
		c.m.counters[c.keys[key]]++
		c.m.mu.Unlock()
	case opPush:
		v := bytes.Clone(c.value)
		c.m.mu.Lock()
		c.m.list = append(c.m.list, v)
		c.m.mu.Unlock()
	case opPop:
		return c.pop()
	}
	return nil
}

// pop removes the list's last element and copies it out.
func (c *rwMapConn) pop() error {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	n := len(c.m.list)
	if n == 0 {
		return errEmpty
	}
	c.buf = append(c.buf[:0], c.m.list[n-1]...)
	c.m.list[n-1] = nil
	c.m.list = c.m.list[:n-1]
	return nil
}

func (c *rwMapConn) queue(op opKind, key int) {
	c.queued = append(c.queued, queuedOp{op, key})
}

func (c *rwMapConn) flush(ctx context.Context) error {
	var first error
	for _, q := range c.queued {
		if err := c.do(ctx, q.op, q.key); err != nil && first == nil {
			first = err
		}
	}
	c.queued = c.queued[:0]
	return first
}

func (c *rwMapConn) close() error { return nil }
