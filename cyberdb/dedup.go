package cyberdb

import (
	"sync"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// dedup remembers the results of clients' writes by (client id, sequence
// number), so that a write retried after a lost reply, even on a new
// leader, is applied once and answered with its original result. A
// client's results are forgotten once it acknowledges them (Op.Ack).
type dedup struct {
	mu      sync.RWMutex // protects clients
	clients map[uint64]*clientWrites
}

// clientWrites is the write history of one client.
type clientWrites struct {
	mu      sync.Mutex               // protects the fields below
	done    sync.Cond                // on mu; broadcast when a write a duplicate waits for is done
	ack     uint64                   // results of writes below this are forgotten
	results map[uint64]engine.Result // by sequence number
	running map[uint64]struct{}      // writes being applied now
	waiting int                      // duplicates waiting for a running write
	seen    time.Time                // when the client last wrote
}

// idleClient is how long the history of a client that stopped writing is
// kept: far longer than any retry of its last writes can take.
const idleClient = 10 * time.Minute

func newDedup() *dedup {
	return &dedup{clients: make(map[uint64]*clientWrites)}
}

// client returns the history of client id, creating it. Every write a
// client sends looks it up, so the common case takes only a read lock.
func (d *dedup) client(id uint64) *clientWrites {
	d.mu.RLock()
	c := d.clients[id]
	d.mu.RUnlock()
	if c != nil {
		return c
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	c = d.clients[id]
	if c == nil {
		c = &clientWrites{results: make(map[uint64]engine.Result), running: make(map[uint64]struct{})}
		c.done.L = &c.mu
		d.clients[id] = c
	}
	return c
}

// begin claims write seq. It returns the earlier result and true when the
// write was already applied, waiting for it if it is being applied now;
// otherwise the caller applies it and calls finish.
func (c *clientWrites) begin(seq, ack uint64) (engine.Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = time.Now()
	c.forget(ack)
	for {
		if res, ok := c.results[seq]; ok {
			return res, true
		}
		if _, ok := c.running[seq]; !ok {
			c.running[seq] = struct{}{}
			return engine.Result{}, false
		}
		// A duplicate of a write being applied (a retry that overtook its
		// original) waits; this is rare, so no write pays for a channel.
		c.waiting++
		c.done.Wait()
		c.waiting--
	}
}

// finish records the result of write seq and wakes its duplicates.
func (c *clientWrites) finish(seq uint64, res *engine.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.results[seq] = *res
	delete(c.running, seq)
	if c.waiting > 0 {
		c.done.Broadcast()
	}
}

// abandon ends write seq without a result, so that a retry applies it:
// a blocking call whose wait was cut short before it took anything.
func (c *clientWrites) abandon(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.running, seq)
	if c.waiting > 0 {
		c.done.Broadcast()
	}
}

// forget drops the results the client has acknowledged.
func (c *clientWrites) forget(ack uint64) {
	if ack <= c.ack {
		return
	}
	c.ack = ack
	for seq := range c.results {
		if seq < ack {
			delete(c.results, seq)
		}
	}
}

// sweep drops the histories of clients idle since before now-idleClient.
func (d *dedup) sweep(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, c := range d.clients {
		c.mu.Lock()
		idle := len(c.running) == 0 && now.Sub(c.seen) > idleClient
		c.mu.Unlock()
		if idle {
			delete(d.clients, id)
		}
	}
}

// record stores a result read back from the log or a snapshot.
func (d *dedup) record(client, seq uint64, res engine.Result) {
	c := d.client(client)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = time.Now()
	if seq >= c.ack {
		c.results[seq] = res
	}
}

// savedWrites is the form of a client's history in a snapshot.
type savedWrites struct {
	Client  uint64                   `cbor:"1,keyasint"`
	Ack     uint64                   `cbor:"2,keyasint,omitempty"`
	Results map[uint64]engine.Result `cbor:"3,keyasint,omitempty"`
}

// save copies every client's history for a snapshot.
func (d *dedup) save() []savedWrites {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]savedWrites, 0, len(d.clients))
	for id, c := range d.clients {
		c.mu.Lock()
		s := savedWrites{Client: id, Ack: c.ack, Results: make(map[uint64]engine.Result, len(c.results))}
		for seq, r := range c.results {
			s.Results[seq] = r
		}
		c.mu.Unlock()
		if len(s.Results) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// load adds the histories of a snapshot.
func (d *dedup) load(saved []savedWrites) {
	for _, s := range saved {
		c := d.client(s.Client)
		c.mu.Lock()
		c.seen = time.Now()
		c.ack = max(c.ack, s.Ack)
		for seq, r := range s.Results {
			if seq >= c.ack {
				c.results[seq] = r
			}
		}
		c.mu.Unlock()
	}
}
