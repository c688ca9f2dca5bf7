package cyberdb

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/watch"
)

// A watch follows the changes of one table. Every write gets a revision,
// and a watch resumes after the last one it saw: after a reconnect and
// after a takeover (the new leader starts from the end of the history a
// snapshot keeps and the log's changes since), so it never skips a change
// silently. The leader keeps a bounded history
// per table; a watch that falls further behind gets a *CompactedError,
// and one that saw a change a crashed leader lost before it was durable
// (possible only in the Interval and Snapshot modes, where such writes
// are lost) gets ErrRevisionLost. In Always mode a change reaches
// watches once it is durable.

// EventType says what a change did.
type EventType uint8

// Event types.
const (
	EventSet    = EventType(engine.EventSet)    // a key was stored; Old is the previous value, if any
	EventDelete = EventType(engine.EventDelete) // a key was deleted; Old is its value
	EventExpire = EventType(engine.EventExpire) // a key expired; Old is its value
	EventClear  = EventType(engine.EventClear)  // every key or element was removed
	EventDrop   = EventType(engine.EventDrop)   // the table was dropped
	EventList   = EventType(engine.EventList)   // a list changed: Op names how, Value or Values the elements
	EventCreate = EventType(engine.EventCreate) // the table was created
)

// String returns the lower-case name of t.
func (t EventType) String() string { return engine.EventType(t).String() }

// Event is one change to a table. The changes of one write, or one
// transaction, share its revision.
type Event struct {
	Rev    uint64
	Type   EventType
	Table  string
	Key    string
	Value  Value   // the value stored, or the element a list operation added or removed
	Old    Value   // the value replaced, deleted or expired
	Values []Value // the elements a list operation added, when several
	Op     string  // for EventList: append, extend, insert, set, pop, move, remove, ...
}

// WatchOptions select the changes a watch reports.
type WatchOptions struct {
	// Key limits the watch to one key, or to the keys it prefixes when
	// Prefix is set. Changes to no key (clear, drop, list changes) are
	// always reported.
	Key    string
	Prefix bool
	// From is the revision to resume after (the Rev of the last event
	// seen); 0 starts with the changes made from now on.
	From uint64
}

// CompactedError is the error of a watch asked to resume from a revision
// older than the history the leader keeps: re-read the table, then watch
// from Oldest or from now.
type CompactedError struct {
	Table  string
	From   uint64
	Oldest uint64
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("cyberdb: watch of %q from revision %d: the history starts at revision %d; re-read the table and watch again", e.Table, e.From, e.Oldest)
}

// Is reports whether target is ErrCompacted.
func (e *CompactedError) Is(target error) bool { return target == ErrCompacted }

// watchPoll bounds each wait of a watch on the leader, so that a watch
// whose caller went away costs the leader little; watchGrace is how much
// longer the client waits for the answer.
const (
	watchPoll  = time.Minute
	watchGrace = 10 * time.Second
)

// Watch returns the changes of the table named table as they happen, in
// revision order, until ctx ends or an error: the iteration then yields
// the error and stops. A takeover only delays it. Watch sends its
// requests on a stream of its own, never holding up other calls.
func (db *DB) Watch(ctx context.Context, table string, opts *WatchOptions) iter.Seq2[Event, error] {
	var o WatchOptions
	if opts != nil {
		o = *opts
	}
	return func(yield func(Event, error) bool) {
		from := o.From
		for {
			if err := ctx.Err(); err != nil {
				yield(Event{}, fmt.Errorf("cyberdb: watch of %q: %w", table, err))
				return
			}
			evs, next, err := db.watchOnce(ctx, table, &o, from)
			if err != nil {
				yield(Event{}, err)
				return
			}
			for i := range evs {
				if !yield(publicEvent(&evs[i]), nil) {
					return
				}
			}
			from = next
		}
	}
}

// watchOnce asks the leader for the changes after from. From 0 (now) it
// only asks where now is, without waiting, so that every later poll,
// even one cut short, resumes from a position.
func (db *DB) watchOnce(ctx context.Context, table string, o *WatchOptions, from uint64) ([]engine.Event, uint64, error) {
	wctx, cancel := context.WithTimeout(ctx, watchPoll+watchGrace)
	defer cancel()
	op := engine.Op{Code: engine.OpWatch, Table: table, Key: o.Key, Prefix: o.Prefix, Version: from, Wait: int64(watchPoll)}
	if from == 0 {
		op.Wait = -1
	}
	var res engine.Result
	err := db.do(wctx, &op, &res)
	switch {
	case err == nil:
		return res.Events, res.Rev, nil
	case ctx.Err() == nil && wctx.Err() != nil:
		return nil, from, nil // the poll ended with no change; ask again
	case errors.Is(err, ErrCompacted):
		return nil, 0, &CompactedError{Table: table, From: from, Oldest: res.Rev}
	}
	return nil, 0, err
}

// publicEvent converts an engine event.
func publicEvent(ev *engine.Event) Event {
	out := Event{Rev: ev.Rev, Type: EventType(ev.Type), Table: ev.Table, Key: ev.Key, Value: Value{ev.Value}, Old: Value{ev.Old}}
	for _, v := range ev.Values {
		out.Values = append(out.Values, Value{v})
	}
	if ev.Type == engine.EventList {
		out.Op = ev.Code.Name()
	}
	return out
}

// newHub returns the history of changes of a leader in the given mode:
// in Always mode a change becomes visible once durable.
func (l *leader) newHub() *watch.Hub {
	o := watch.Options{}
	if l.db.opts.Durability == Always {
		o.WaitVisible = func(ctx context.Context, lsn uint64) error {
			if l.j == nil || lsn == 0 {
				return nil
			}
			return l.j.Wait(ctx, lsn)
		}
	}
	return watch.New(o)
}

// loadedHistory restarts, after a Load, the history of every table that
// was there before or came with the file, at the current revision, so
// that a watch from before the Load is told to re-read the table.
func (l *leader) loadedHistory(before []string, tables []engine.TableData) {
	rev := l.eng.Revision()
	for _, name := range before {
		l.hub.Reset(name, rev)
	}
	for i := range tables {
		l.hub.Reset(tables[i].Name, rev)
	}
}

// watch serves OpWatch: the changes after op.Version, waiting up to
// op.Wait for one, until the caller goes, cancels or the leader closes.
func (l *leader) watch(op *engine.Op, res *engine.Result, done <-chan struct{}) {
	if !l.watchable(op, res) {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := l.waits.add(op.Client, op.Tag)
	defer l.waits.remove(op.Client, op.Tag)
	go func() {
		select {
		case <-done:
		case <-stop:
		case <-l.stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	q := watch.Query{Table: op.Table, Key: op.Key, Prefix: op.Prefix, From: op.Version,
		MaxBytes: l.db.opts.MaxMessageSize / 4, Wait: time.Duration(max(op.Wait, 0))}
	b, err := l.hub.Read(ctx, q)
	l.watchResult(b, err, res)
}

// watchable reports whether op may watch its table, recording why not in
// res: a watch from now needs the table, and one from a revision its
// history (which outlives a drop).
func (l *leader) watchable(op *engine.Op, res *engine.Result) bool {
	if l.eng.Visible(op.Table) || op.Version != 0 && l.hub.Known(op.Table) && !l.eng.Exists(op.Table) {
		return true
	}
	fail(res, engine.ErrNoTable, "table %q does not exist", op.Table)
	return false
}

// watchResult fills res with a Read's outcome.
func (l *leader) watchResult(b watch.Batch, err error, res *engine.Result) {
	var ce *watch.CompactedError
	var le *watch.LostError
	switch {
	case err == nil:
		res.Events, res.Rev = b.Events, b.Rev
	case errors.As(err, &ce):
		fail(res, engine.ErrCompacted, "%v", err)
		res.Rev = ce.Oldest
	case errors.As(err, &le):
		fail(res, engine.ErrRevisionLost, "%v", err)
	default:
		fail(res, engine.ErrCanceled, "%v", err)
	}
}
