package cyberdb

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// A blocking call (a list pop or move that waits for an element, a lock
// that waits to be free) tries its operation and, while it finds nothing,
// waits for its table to change. A client sends it on a stream of its
// own and may end it early with OpCancel; the leader's answer to it is
// authoritative, so an element taken is never lost to a caller that gave
// up. A wait ended by the caller's leaving or the leader's closing is
// forgotten by the deduplication, so that the call, retried, runs again.

// blocking reports whether operations of code c may wait.
func blocking(c engine.Code) bool {
	return c == engine.OpListBPop || c == engine.OpListMove || c == engine.OpLock
}

// block applies a blocking operation once per (client, sequence number).
func (l *leader) block(op *engine.Op, res *engine.Result, done <-chan struct{}) {
	var c *clientWrites
	if op.Seq != 0 {
		c = l.dedup.Load().client(op.Client)
		if prev, ok := c.begin(op.Seq, op.Ack); ok {
			*res = prev
			return
		}
	}
	stop := l.waits.add(op.Client, op.Tag)
	defer l.waits.remove(op.Client, op.Tag)
	ended := l.await(op, res, done, stop)
	switch {
	case c == nil:
	case ended:
		c.abandon(op.Seq)
	default:
		c.finish(op.Seq, res)
	}
}

// await tries op until it takes something, fails or its wait ends. It
// reports whether the wait was cut short, leaving ErrCanceled in res.
func (l *leader) await(op *engine.Op, res *engine.Result, done, stop <-chan struct{}) bool {
	timer := time.NewTimer(time.Duration(max(op.Wait, 0)))
	defer timer.Stop()
	for {
		changed := l.eng.Changes(waitTable(op))
		l.change(op, res)
		if res.Err != engine.OK || res.Found || op.Wait <= 0 {
			return false
		}
		if changed != nil {
			select {
			case <-changed:
			case <-timer.C:
				return false
			case <-stop:
				fail(res, engine.ErrCanceled, "canceled by the caller")
				return true
			case <-done:
				fail(res, engine.ErrCanceled, "the caller is gone")
				return true
			case <-l.stop:
				fail(res, engine.ErrCanceled, "the leader is closing")
				return true
			}
		}
		*res = engine.Result{}
	}
}

// waitTable is the table whose changes a blocking operation waits for.
func waitTable(op *engine.Op) string {
	if op.Code == engine.OpLock {
		return engine.LockTable
	}
	return op.Table
}

// waitKey names a blocking call: its client and its tag.
type waitKey struct{ client, tag uint64 }

// waits are the blocking calls under way, so that OpCancel can end them.
// A cancellation may overtake its call (they travel on different
// streams): it is remembered for a while.
type waits struct {
	mu       sync.Mutex                // protects the fields below
	calls    map[waitKey]chan struct{} // closed to cancel
	canceled map[waitKey]time.Time     // cancellations that came first
	pruned   time.Time                 // when canceled was last pruned
}

// earlyCancel is how long a cancellation that overtook its call is kept,
// and maxEarlyCancels how many are kept at most, so that a client sending
// cancellations of calls it never makes cannot grow the leader's memory.
const (
	earlyCancel     = time.Minute
	maxEarlyCancels = 1 << 16
)

// add registers a call and returns the channel its cancellation closes
// (nil for an untagged call, which cannot be canceled).
func (w *waits) add(client, tag uint64) <-chan struct{} {
	if tag == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	k, ch := waitKey{client, tag}, make(chan struct{})
	if _, ok := w.canceled[k]; ok {
		delete(w.canceled, k)
		close(ch)
	}
	if w.calls == nil {
		w.calls = make(map[waitKey]chan struct{})
	}
	w.calls[k] = ch
	return ch
}

// remove unregisters a call.
func (w *waits) remove(client, tag uint64) {
	if tag == 0 {
		return
	}
	w.mu.Lock()
	delete(w.calls, waitKey{client, tag})
	w.mu.Unlock()
}

// cancel ends the call of client tagged tag, or remembers to end it at
// once when it comes.
func (w *waits) cancel(client, tag uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := waitKey{client, tag}
	if ch, ok := w.calls[k]; ok {
		delete(w.calls, k)
		close(ch)
		return
	}
	now := time.Now()
	if now.Sub(w.pruned) > time.Second {
		w.pruned = now
		for old, at := range w.canceled {
			if now.Sub(at) > earlyCancel {
				delete(w.canceled, old)
			}
		}
	}
	if w.canceled == nil {
		w.canceled = make(map[waitKey]time.Time)
	}
	if len(w.canceled) < maxEarlyCancels {
		w.canceled[k] = now
	}
}

// releaseLocks releases the locks a client held when its process leaves.
func (l *leader) releaseLocks(client uint64) {
	for _, lk := range l.eng.Locks() {
		if lk.Holder.Client == client {
			var res engine.Result
			l.change(&engine.Op{Code: engine.OpUnlock, Client: client}, &res)
			return
		}
	}
}

// releaseOrphans releases, when a leader takes over, the locks of
// processes that are gone, the previous leader's among them.
func (l *leader) releaseOrphans() {
	for _, lk := range l.eng.Locks() {
		if lk.Holder.PID != 0 && !processAlive(int(lk.Holder.PID)) {
			var res engine.Result
			l.change(&engine.Op{Code: engine.OpUnlock, Key: lk.Name, Version: lk.Token}, &res)
			l.db.log.Info("cyberdb: released the lock of a process that is gone", "lock", lk.Name, "pid", lk.Holder.PID)
		}
	}
}

// processAlive reports whether a process with id pid exists.
func processAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
