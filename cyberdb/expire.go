package cyberdb

import (
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// expireChunk is how many expired keys the leader removes per scan of the
// deadlines.
const expireChunk = 1024

// idleExpiry is how long the expirer sleeps when no key has a deadline.
const idleExpiry = time.Minute

// expireLoop removes expired keys as their deadlines pass, as logged
// writes that watches see, waking early when an earlier deadline is set.
func (l *leader) expireLoop() {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.eng.ExpiryWake():
		case <-timer.C:
		}
		next := l.expireDue()
		wait := idleExpiry
		if next != 0 {
			wait = time.Until(time.Unix(0, next))
		}
		timer.Reset(wait)
	}
}

// expireDue removes the keys due now and returns the next deadline (0:
// none).
func (l *leader) expireDue() int64 {
	for {
		ops, next := l.eng.DueExpiries(time.Now(), expireChunk)
		if !l.expire(ops) {
			return time.Now().Add(expireRetry).UnixNano()
		}
		if len(ops) < expireChunk {
			return next
		}
	}
}

// expireRetry is how long the expirer waits after a removal failed (while
// writes are refused) before it tries again.
const expireRetry = 100 * time.Millisecond

// expire applies removals of expired keys and reports whether all
// succeeded; the keys of those that failed stay hidden until a retry.
func (l *leader) expire(ops []engine.Op) bool {
	ok := true
	for i := range ops {
		var res engine.Result
		l.change(&ops[i], &res)
		if res.Err != engine.OK {
			l.db.log.Warn("cyberdb: removing an expired key failed; it stays hidden and is retried", "table", ops[i].Table, "err", res.Msg)
			ok = false
		}
	}
	return ok
}
