package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// TestReplay_UsesLoggedTime replays writes with deadlines and expiries
// into engines whose clocks are far behind and far ahead: each must take
// the time and revision from the record, not from its clock.
func TestReplay_UsesLoggedTime(t *testing.T) {
	e, clk := newTimedEngine(t)
	j := &journal{}
	e.SetLog(j.log)
	newTestDict(t, e, "d")
	setTTL(t, e, "d", "gone", 1, time.Second)
	setTTL(t, e, "d", "kept", 2, time.Hour)
	setTTL(t, e, "d", "lapsed", 3, time.Second)
	ok(t, e, Op{Code: OpDictIncr, Table: "d", Key: "n", Delta: 1, TTL: int64(time.Minute)})
	clk.advance(2 * time.Second)
	ops, _ := e.DueExpiries(clk.now(), 1)
	if len(ops) != 1 {
		t.Fatalf("%d due ops", len(ops))
	}
	ok(t, e, ops[0])                                                              // removes gone or lapsed
	ok(t, e, Op{Code: OpDictSet, Table: "d", Key: "lapsed", Value: enc(t, 4)})    // lapses it if still there
	ok(t, e, Op{Code: OpDictIncr, Table: "d", Key: "n", Delta: 1, TTL: int64(1)}) // keeps n's deadline
	ok(t, e, Op{Code: OpDictExpire, Table: "d", Key: "kept", TTL: int64(time.Minute)})
	want := e.Snapshot()
	for _, skew := range []time.Duration{-1000 * time.Hour, 1000 * time.Hour} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			r, rclk := newTimedEngine(t)
			rclk.advance(skew)
			replayAll(t, r, j.records())
			if d := diffSnapshots(r.Snapshot(), want); d != "" {
				t.Fatal(d)
			}
		})
	}
}

// mix applies a random mix of writes to an engine with a moving fake
// clock.
type mix struct {
	t     *testing.T
	rng   *rand.Rand
	e     *Engine
	clk   *fakeClock
	txns  bool // include transactions
	locks bool // include lock operations
	stats map[string]int
}

func (m *mix) key() string    { return fmt.Sprintf("k%d", m.rng.IntN(8)) }
func (m *mix) dict() string   { return [...]string{"d", "d", "e"}[m.rng.IntN(3)] }
func (m *mix) list() string   { return [...]string{"l1", "l2"}[m.rng.IntN(2)] }
func (m *mix) end() int64     { return [...]int64{0, -1}[m.rng.IntN(2)] }
func (m *mix) ms(n int) int64 { return int64(m.rng.IntN(n)+1) * int64(time.Millisecond) }
func (m *mix) value() cbor.RawMessage {
	if m.rng.IntN(6) == 0 {
		return enc(m.t, "s")
	}
	return enc(m.t, m.rng.IntN(4))
}

// ttl returns no TTL a third of the time, or up to 3s.
func (m *mix) ttl() int64 {
	if m.rng.IntN(3) == 0 {
		return 0
	}
	return m.ms(3000)
}

// dictOp returns a random dict write, or a check.
func (m *mix) dictOp(checks bool) Op {
	op := Op{Table: m.dict(), Key: m.key(), Value: m.value(), TTL: m.ttl()}
	n := m.rng.IntN(100)
	if !checks {
		n %= 90
	}
	switch {
	case n < 22:
		op.Code = OpDictSet
	case n < 30:
		op.Code, op.TTL = OpDictDelete, 0
	case n < 40:
		op.Code, op.Delta = OpDictIncr, 1
	case n < 43:
		op.Code, op.Float = OpDictIncrFloat, 0.5
	case n < 48:
		op.Code = OpDictSetNX
	case n < 52:
		op.Code, op.Old = OpDictCAS, m.value()
	case n < 56:
		op.Code = OpDictGetAndSet
	case n < 59:
		op.Code = OpDictSetDefault
	case n < 64:
		op = Op{Code: OpDictUpdate, Table: op.Table, Keys: []string{op.Key, m.key()}, Values: []cbor.RawMessage{op.Value, m.value()}, TTL: op.TTL}
	case n < 70:
		op.Code, op.TTL = OpDictExpire, m.ms(3000)
	case n < 74:
		op.Code, op.TTL = OpDictPersist, 0
	case n < 77:
		op = Op{Code: OpTableTTL, Table: op.Table, TTL: [...]int64{0, 0, m.ms(2000)}[m.rng.IntN(3)]}
	case n < 78:
		op = Op{Code: OpDictClear, Table: op.Table}
	case n < 81:
		op = Op{Code: OpDictPopItem, Table: op.Table}
	case n < 85:
		op.Code, op.TTL = OpDictPop, 0
	case n < 90:
		op = Op{Code: OpListAppend, Table: m.list(), Value: op.Value}
	case n < 94:
		op = Op{Code: OpCheckAbsent, Table: op.Table, Key: op.Key}
	case n < 97:
		op = Op{Code: OpCheckEquals, Table: op.Table, Key: op.Key, Value: op.Value}
	default:
		op = Op{Code: OpCheckVersion, Table: op.Table, Key: op.Key, Version: uint64(m.rng.IntN(3))}
	}
	return op
}

// op returns a random write of any kind the mix includes.
func (m *mix) op() Op {
	n := m.rng.IntN(100)
	switch {
	case n < 55:
		return m.dictOp(false)
	case n < 62:
		return Op{Code: OpListAppend, Table: m.list(), Value: m.value()}
	case n < 66:
		return Op{Code: OpListPop, Table: m.list(), Index: m.end()}
	case n < 71:
		return Op{Code: OpListBPop, Table: m.list(), Index: m.end()}
	case n < 80:
		return Op{Code: OpListMove, Table: m.list(), Field: m.list(), Index: m.end(), Stop: m.end()}
	case n < 90 && m.txns:
		ops := make([]Op, 1+m.rng.IntN(4))
		for i := range ops {
			ops[i] = m.dictOp(true)
		}
		return txnOf(ops...)
	case n < 100 && m.locks:
		return m.lockOp()
	}
	return m.dictOp(false)
}

// lockOp returns a random lock operation.
func (m *mix) lockOp() Op {
	name, client := fmt.Sprintf("L%d", m.rng.IntN(3)), uint64(m.rng.IntN(3)+1)
	var token uint64
	for _, l := range m.e.Locks() {
		if l.Name == name && m.rng.IntN(4) != 0 {
			token = l.Token
		}
	}
	switch m.rng.IntN(4) {
	case 0:
		return Op{Code: OpUnlock, Key: name, Version: token}
	case 1:
		return Op{Code: OpLockRefresh, Key: name, Version: token, TTL: m.ms(2000)}
	case 2:
		return Op{Code: OpUnlock, Client: client}
	}
	return Op{Code: OpLock, Key: name, TTL: m.ms(2000), Client: client, PID: int64(client) + 100}
}

// run applies steps random writes, with the clock moving up to 300ms
// between them and, now and then, the expiries due.
func (m *mix) run(steps int) {
	for range steps {
		m.clk.advance(time.Duration(m.rng.IntN(300)) * time.Millisecond)
		if m.rng.IntN(10) == 0 {
			ops, _ := m.e.DueExpiries(m.clk.now(), 1+m.rng.IntN(5))
			for _, op := range ops {
				m.apply(op)
			}
			continue
		}
		m.apply(m.op())
	}
}

// apply applies op, which may fail only as a random write may.
func (m *mix) apply(op Op) {
	res := do(m.e, op)
	switch res.Err {
	case ErrInvalid, ErrInternal, ErrNoTable:
		m.t.Fatalf("op %+v: %d %s", op, res.Err, res.Msg)
	}
	name := fmt.Sprintf("code%d", op.Code)
	if res.Err != OK {
		name += "-failed"
	}
	m.stats[name]++
}

// TestReplay_Deterministic applies a random mix of writes, with TTLs,
// expiries, moves and, in some variants, transactions and locks, then
// replays the log into an engine whose clock is far ahead, and into one
// restored from a snapshot taken half-way: both must end equal to the
// original, value for value, version for version, deadline for deadline.
func TestReplay_Deterministic(t *testing.T) {
	seed := modelSeed(t)
	steps := 3000
	if testing.Short() {
		steps = 600
	}
	for _, v := range []struct {
		name        string
		txns, locks bool
	}{
		{"dicts and lists", false, false},
		{"transactions", true, false},
		{"locks", false, true},
	} {
		t.Run(v.name, func(t *testing.T) {
			e, clk := newTimedEngine(t)
			j := &journal{}
			e.SetLog(j.log)
			m := &mix{t: t, rng: rand.New(rand.NewPCG(seed, 42)), e: e, clk: clk, txns: v.txns, locks: v.locks, stats: map[string]int{}}
			newTestDict(t, e, "d")
			newTestDict(t, e, "e")
			newTestList(t, e, "l1", 1, 2)
			newTestList(t, e, "l2")
			m.run(steps / 2)
			half := e.Snapshot()
			m.run(steps - steps/2)
			want := e.Snapshot()
			t.Logf("%d records; ops %v", j.len(), m.stats)

			fresh, fclk := newTimedEngine(t)
			fclk.advance(1000 * time.Hour)
			replayAll(t, fresh, j.records())
			if d := diffSnapshots(fresh.Snapshot(), want); d != "" {
				t.Fatalf("replayed from scratch: %s", d)
			}
			for _, td := range want {
				if fresh.Revision() < td.Rev {
					t.Fatalf("replayed engine at revision %d, below table %q at %d", fresh.Revision(), td.Name, td.Rev)
				}
			}

			restored, rclk := newTimedEngine(t)
			rclk.advance(1000 * time.Hour)
			restored.Restore(half)
			replayAll(t, restored, j.records())
			if d := diffSnapshots(restored.Snapshot(), want); d != "" {
				t.Fatalf("replayed onto the half-way snapshot: %s", d)
			}
		})
	}
}
