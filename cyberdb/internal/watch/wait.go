package watch

import (
	"context"
	"errors"
	"time"
)

// errTimeout ends a wait whose time is up; Read does not return it.
var errTimeout = errors.New("cyberdb: watch wait timed out")

// waiter bounds the waits of one Read by one deadline.
type waiter struct {
	timer *time.Timer // started by the first wait
}

// wait returns nil once wake is closed, errTimeout once d has passed since
// the first wait, or ctx.Err().
func (w *waiter) wait(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	}
	select {
	case <-wake:
		return nil
	case <-w.timer.C:
		return errTimeout
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop releases the timer.
func (w *waiter) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}
