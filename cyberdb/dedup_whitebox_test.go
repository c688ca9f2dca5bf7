package cyberdb

import (
	"sync"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

func TestDedup_RetryGetsOriginalResult(t *testing.T) {
	d := newDedup()
	c := d.client(7)
	if _, done := c.begin(1, 1); done {
		t.Fatal("a new write was reported done")
	}
	c.finish(1, &engine.Result{Int: 42})
	res, done := c.begin(1, 1)
	if !done || res.Int != 42 {
		t.Fatalf("retry: %+v, %v; want the original result 42", res, done)
	}
	if _, done := c.begin(2, 2); done {
		t.Fatal("write 2 reported done")
	}
	if len(c.results) != 0 {
		t.Fatalf("results below the acknowledgement kept: %v", c.results)
	}
}

func TestDedup_ConcurrentDuplicateWaits(t *testing.T) {
	c := newDedup().client(1)
	c.begin(5, 1)
	var wg sync.WaitGroup
	var got engine.Result
	wg.Add(1)
	go func() {
		defer wg.Done()
		got, _ = c.begin(5, 1)
	}()
	c.finish(5, &engine.Result{Int: 9})
	wg.Wait()
	if got.Int != 9 {
		t.Fatalf("the duplicate got %+v, want the first application's result", got)
	}
}

func TestDedup_SaveLoad(t *testing.T) {
	d := newDedup()
	d.record(3, 10, engine.Result{Int: 1})
	d.record(3, 11, engine.Result{Int: 2})
	d.client(3).begin(12, 11) // acknowledges 10
	saved := d.save()
	r := newDedup()
	r.load(saved)
	if res, done := r.client(3).begin(11, 11); !done || res.Int != 2 {
		t.Fatalf("after load, write 11: %+v, %v", res, done)
	}
	if _, done := r.client(3).begin(10, 11); done {
		t.Fatal("an acknowledged result survived the snapshot")
	}
}

func TestSequencer_Ack(t *testing.T) {
	s := newSequencer()
	a, _ := s.begin()
	b, _ := s.begin()
	c, ack := s.begin()
	if ack != a {
		t.Fatalf("ack %d with %d unanswered", ack, a)
	}
	s.end(b)
	if s.ack() != a {
		t.Fatalf("ack moved past unanswered %d", a)
	}
	s.end(a)
	if s.ack() != c {
		t.Fatalf("ack = %d, want %d", s.ack(), c)
	}
	s.end(c)
	if _, ack := s.begin(); ack != c+1 {
		t.Fatalf("ack = %d, want %d", ack, c+1)
	}
}

func TestDedup_SweepForgetsIdleClients(t *testing.T) {
	d := newDedup()
	d.client(1).begin(1, 1)
	d.client(1).finish(1, &engine.Result{})
	d.client(2).begin(1, 1) // still running: kept however old
	d.sweep(time.Now().Add(2 * idleClient))
	if _, ok := d.clients[1]; ok {
		t.Fatal("an idle client was kept")
	}
	if _, ok := d.clients[2]; !ok {
		t.Fatal("a client with a running write was dropped")
	}
}
