package ipc_test

import (
	"context"
	"errors"
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
	replied := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), []byte{0xf6})
		replied <- err
	}()
	select {
	case err := <-replied:
		t.Fatalf("the reply was written before Flush allowed it: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	g.open <- nil
	if err := <-replied; err != nil {
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
