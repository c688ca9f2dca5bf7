// Package watch keeps a bounded history of the changes of each table and
// serves it to watchers, who read the events after a revision and must
// never miss one silently: a position the history no longer holds, or one
// that a crashed leader lost, is an error rather than a gap.
//
// Lock order: Hub.mu is never held together with a table's history.mu.
package watch

import (
	"context"
	"sync"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// Default caps and limits.
const (
	DefaultMaxEvents    = 100_000  // Options.MaxEvents
	DefaultMaxBytes     = 32 << 20 // Options.MaxBytes
	DefaultReadMax      = 1000     // Query.Max
	DefaultReadMaxBytes = 1 << 20  // Query.MaxBytes
)

// Options configures a Hub; the zero value holds the defaults.
type Options struct {
	// MaxEvents caps the events each table's history holds (default
	// DefaultMaxEvents); the oldest revisions are dropped beyond it.
	MaxEvents int
	// MaxBytes caps the sum of Event.Size over each table's history
	// (default DefaultMaxBytes).
	MaxBytes int
	// WaitVisible returns once the write at log position lsn is durable,
	// or why it will not be. Read calls it before returning events or a
	// new position; nil means every event is visible as soon as published.
	WaitVisible func(ctx context.Context, lsn uint64) error
}

// Hub holds the recent history of every table and serves reads of it;
// it is safe for concurrent use. Create it with New.
type Hub struct {
	maxEvents   int
	maxBytes    int
	waitVisible func(ctx context.Context, lsn uint64) error

	mu     sync.RWMutex        // protects tables (the map, not the histories)
	tables map[string]*history // by table name; never removed
}

// New returns an empty Hub configured by o.
func New(o Options) *Hub {
	h := &Hub{
		maxEvents:   o.MaxEvents,
		maxBytes:    o.MaxBytes,
		waitVisible: o.WaitVisible,
		tables:      make(map[string]*history),
	}
	if h.maxEvents <= 0 {
		h.maxEvents = DefaultMaxEvents
	}
	if h.maxBytes <= 0 {
		h.maxBytes = DefaultMaxBytes
	}
	return h
}

// Publish appends evs, the changes of table, to its history and wakes the
// readers they may interest. The caller holds the table's write lock, so
// that revisions do not decrease, and passes all the events of a revision
// in one call. Should evs start at or below the table's current revision
// or go backwards, the history restarts just before them, so that readers
// of earlier positions get an error rather than a wrong sequence. The hub
// copies the events (not the values they share), so the caller may reuse
// evs, which Publish may reorder.
func (h *Hub) Publish(table string, evs []engine.Event) {
	if len(evs) > 0 {
		h.table(table).publish(evs, h.maxEvents, h.maxBytes)
	}
}

// Reset forgets the history of table, which restarts at revision base (the
// revision of the table's restored state), and wakes its readers, so that
// they check their position again.
func (h *Hub) Reset(table string, base uint64) {
	h.table(table).reset(base)
}

// Rev returns the current revision of table: that of its last event, or the
// revision its history starts at; 0 for a table the hub never saw.
func (h *Hub) Rev(table string) uint64 {
	h.mu.RLock()
	t := h.tables[table]
	h.mu.RUnlock()
	if t == nil {
		return 0
	}
	return t.rev()
}

// table returns the history of name, creating it if needed.
func (h *Hub) table(name string) *history {
	h.mu.RLock()
	t := h.tables[name]
	h.mu.RUnlock()
	if t != nil {
		return t
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if t = h.tables[name]; t == nil {
		t = &history{name: name}
		h.tables[name] = t
	}
	return t
}

// Names returns the tables the hub holds a history of.
func (h *Hub) Names() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	names := make([]string, 0, len(h.tables))
	for name := range h.tables {
		names = append(names, name)
	}
	return names
}

// Known reports whether the hub holds a history of table.
func (h *Hub) Known(table string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.tables[table] != nil
}
