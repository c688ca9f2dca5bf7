package ipc_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/ipc"
)

// gated is an echo Handler whose replies are marked 1 and held until the
// gate opens; Flush fails once the gate is closed with an error.
type gated struct {
	echo
	open chan error
}

func (g *gated) HandleMarked(p *ipc.Peer, req, dst []byte) ([]byte, uint64) {
	return g.Handle(p, req, dst), 1
}

func (g *gated) Flush(_ *ipc.Peer, mark uint64) error {
	if mark != 1 {
		return errors.New("unexpected mark")
	}
	return <-g.open
}

func TestServer_FlusherHoldsReplies(t *testing.T) {
	g := &gated{open: make(chan error, 1)}
	ts := startServer(t, g, ipc.ServerConfig{})
	c := dial(t, ts.path, ipc.ClientConfig{ClientID: 1})
	replied := call(c, "\xf6")
	pending(t, "the call before Flush allowed its reply", replied)
	g.open <- nil
	if err := within(t, replied, "the call after Flush allowed its reply"); err != nil {
		t.Fatalf("Call after Flush allowed the reply: %v", err)
	}
}

func TestServer_FlusherErrorClosesSession(t *testing.T) {
	g := &gated{open: make(chan error, 1)}
	ts := startServer(t, g, ipc.ServerConfig{})
	c := dial(t, ts.path, ipc.ClientConfig{ClientID: 1})
	g.open <- errors.New("disk full")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, []byte{0xf6}); !errors.Is(err, ipc.ErrSessionClosed) {
		t.Fatalf("Call whose reply Flush refused: %v, want ErrSessionClosed", err)
	}
}

// marking is an echo Handler that marks the replies of requests "w" with
// increasing marks, leaves those of others unmarked, counts the requests
// it applied, and holds each marked batch until a token arrives on open.
type marking struct {
	echo
	applied atomic.Int64
	marks   atomic.Uint64
	open    chan error
}

func (m *marking) HandleMarked(p *ipc.Peer, req, dst []byte) ([]byte, uint64) {
	m.applied.Add(1)
	var mark uint64
	if string(req) == "w" {
		mark = m.marks.Add(1)
	}
	return m.Handle(p, req, dst), mark
}

func (m *marking) Flush(_ *ipc.Peer, mark uint64) error {
	if mark == 0 {
		return errors.New("Flush of a batch without marks")
	}
	return <-m.open
}

// serve starts a server of m whose held batches all go once the test
// ends, and a client with one lane.
func (m *marking) serve(t *testing.T) *ipc.Client {
	ts := startServer(t, m, ipc.ServerConfig{})
	t.Cleanup(func() { close(m.open) }) // before the server's Close
	return dial(t, ts.path, ipc.ClientConfig{ClientID: 1, Streams: 1})
}

// call makes a call in the background; its result arrives on the channel.
func call(c *ipc.Client, req string) chan error {
	done := make(chan error, 1)
	go func() {
		reply, err := c.Call(context.Background(), []byte(req))
		if err == nil && string(reply) != req {
			err = errors.New("reply " + string(reply) + " to " + req)
		}
		done <- err
	}()
	return done
}

// pending fails t if a call ends within a moment: an absence cannot be
// polled for, so it is looked for during 50 ms.
func pending(t *testing.T, what string, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s ended while its reply was held: %v", what, err)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestServer_FlusherStreamAppliesWhileRepliesWait(t *testing.T) {
	m := &marking{open: make(chan error, 1)}
	c := m.serve(t)
	write := call(c, "w")
	waitFor(t, "the write applied", func() bool { return m.applied.Load() == 1 })
	read := call(c, "r")
	waitFor(t, "the read applied while the write's reply waits", func() bool { return m.applied.Load() == 2 })
	pending(t, "the write", write)
	pending(t, "the read, whose reply follows the write's", read)
	m.open <- nil
	for what, done := range map[string]chan error{"write": write, "read": read} {
		if err := within(t, done, "the "+what); err != nil {
			t.Fatalf("the %s after Flush allowed it: %v", what, err)
		}
	}
}

func TestServer_FlusherBoundsHeldBatches(t *testing.T) {
	m := &marking{open: make(chan error, ipc.MaxHeld+2)}
	c := m.serve(t)
	var calls []chan error
	for i := range ipc.MaxHeld + 2 {
		calls = append(calls, call(c, "w"))
		if i <= ipc.MaxHeld {
			waitFor(t, "a write applied", func() bool { return m.applied.Load() == int64(i+1) })
		}
	}
	pending(t, "the write past the bound", calls[len(calls)-1])
	if n := m.applied.Load(); n != ipc.MaxHeld+1 {
		t.Fatalf("%d writes applied while %d batches were held, want %d", n, ipc.MaxHeld, ipc.MaxHeld+1)
	}
	for range calls {
		m.open <- nil
	}
	for i, done := range calls {
		if err := within(t, done, "a write"); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
}

// TestServer_FlusherWriteErrorClosesSession checks that a held batch whose
// write fails ends the session at once, while the stream waits for the
// next request and the client for the lost reply.
func TestServer_FlusherWriteErrorClosesSession(t *testing.T) {
	m := &marking{open: make(chan error, 1)}
	ts := startServer(t, m, ipc.ServerConfig{})
	t.Cleanup(func() { close(m.open) })
	c := dial(t, ts.path, ipc.ClientConfig{ClientID: 1, Streams: 1})
	write := call(c, "w")
	waitFor(t, "the write applied", func() bool { return m.applied.Load() == 1 })
	ipc.ExpireWrites(ts.Server)
	m.open <- nil
	if err := within(t, write, "the write whose reply could not be written"); !errors.Is(err, ipc.ErrSessionClosed) {
		t.Fatalf("Call whose reply write failed: %v, want ErrSessionClosed", err)
	}
	waitFor(t, "the stream to end", func() bool { return ipc.ServedStreams(ts.Server) == 0 })
}
