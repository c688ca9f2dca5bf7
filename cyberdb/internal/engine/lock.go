package engine

import (
	"strings"
	"time"
)

// Named locks live in a hidden dict, LockTable, created by the first lock
// operation: the key is the lock's name, the deadline its lease, the
// version its fencing token (the revision of the acquisition, so tokens
// only grow, across takeovers too) and the value its holder.

// LockTable is the hidden dict of the named locks. Names starting with
// ReservedPrefix are the engine's: users cannot create or drop them.
const (
	ReservedPrefix = "\x00"
	LockTable      = ReservedPrefix + "locks"
)

// Holder is the value of a lock: who holds it.
type Holder struct {
	Client uint64 `cbor:"1,keyasint"`
	PID    int64  `cbor:"2,keyasint"`
}

// LockInfo describes a held lock.
type LockInfo struct {
	Name   string
	Token  uint64
	Holder Holder
}

// applyLock dispatches OpLock, OpUnlock and OpLockRefresh.
func (e *Engine) applyLock(op *Op, res *Result) {
	if op.Code != OpUnlock && op.TTL <= 0 {
		invalid(res, "lock lease %v is not positive", time.Duration(op.TTL))
		return
	}
	if op.Key == "" && !(op.Code == OpUnlock && op.Client != 0) {
		invalid(res, "empty lock name")
		return
	}
	t := e.lockTable(op, res)
	if t == nil {
		return
	}
	switch {
	case op.Code == OpLock:
		e.acquire(t, op, res)
	case op.Key == "":
		e.releaseClient(t, op.Client)
		res.Found = true
	default:
		e.release(t, op, res)
	}
	e.done(t, op, res)
}

// lockTable returns LockTable write-locked, creating it when missing.
func (e *Engine) lockTable(op *Op, res *Result) *table {
	for {
		e.mu.Lock()
		t := e.tables[LockTable]
		if t == nil {
			t = &table{name: LockTable, kind: KindDict, dict: make(map[string]Entry)}
			e.tables[LockTable] = t
		}
		e.mu.Unlock()
		t.mu.Lock()
		if !t.dropped {
			e.begin(t, op)
			return t
		}
		t.mu.Unlock()
	}
}

// acquire takes the lock op.Key for op.Client unless someone holds it;
// the token is in Version.
func (e *Engine) acquire(t *table, op *Op, res *Result) {
	if _, held := e.lapse(t, op.Key); held {
		return
	}
	v, err := e.codec.Marshal(Holder{Client: op.Client, PID: op.PID})
	if err != nil {
		fail(res, ErrInternal, "encode lock holder: %v", err)
		return
	}
	e.replaceKey(t, op.Key, v, addTTL(t.now, op.TTL), Entry{}, false)
	res.Found, res.Version = true, t.cur
}

// lapsedOnly, as the TTL of an OpUnlock, makes it remove the lock only if
// its lease has lapsed: the expirer's unlock, which a refresh applied
// after the expirer saw the lease end (on a clock that stepped back) must
// not undo.
const lapsedOnly = -1

// release ends (OpUnlock) or extends (OpLockRefresh) the lease of the
// lock op.Key held with the token op.Version.
func (e *Engine) release(t *table, op *Op, res *Result) {
	en, held := e.lapse(t, op.Key)
	if !held || en.Ver != op.Version || op.Code == OpUnlock && op.TTL == lapsedOnly {
		return
	}
	res.Found, res.Version = true, en.Ver
	if op.Code == OpUnlock {
		e.deleteKey(t, op.Key, EventDelete)
		return
	}
	old := en.Exp
	en.Exp = addTTL(t.now, op.TTL)
	t.put(op.Key, en)
	if en.Exp != old {
		e.pushDeadline(t, op.Key, en.Exp)
	}
}

// releaseClient releases every lock client holds.
func (e *Engine) releaseClient(t *table, client uint64) {
	for _, l := range e.holders(t, t.now) {
		if l.Holder.Client == client {
			e.deleteKey(t, l.Name, EventDelete)
		}
	}
}

// Locks returns the locks held now.
func (e *Engine) Locks() []LockInfo {
	e.mu.RLock()
	t := e.tables[LockTable]
	e.mu.RUnlock()
	if t == nil {
		return nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return e.holders(t, e.now().UnixNano())
}

// holders lists the locks of the locked table t alive at now.
func (e *Engine) holders(t *table, now int64) []LockInfo {
	var out []LockInfo
	for k, en := range t.all() {
		var h Holder
		if alive(en, now) && e.codec.Unmarshal(en.V, &h) == nil {
			out = append(out, LockInfo{Name: k, Token: en.Ver, Holder: h})
		}
	}
	return out
}

// usable reports whether a user's operation may name the table name,
// recording the reason in res when not.
func usable(name string, res *Result) bool {
	switch {
	case name == "":
		invalid(res, "empty table name")
	case reserved(name):
		invalid(res, "table name %q is reserved (it starts with a NUL byte)", name)
	default:
		return true
	}
	return false
}

// reserved reports whether name is one of the engine's tables.
func reserved(name string) bool { return strings.HasPrefix(name, ReservedPrefix) }

// Visible reports whether a table named name exists and is not one of
// the engine's own.
func (e *Engine) Visible(name string) bool { return !reserved(name) && e.Exists(name) }
