package ipc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/ipc"
	"github.com/cyberdb-go/cyberdb/transport"
)

// laneHello is the CBOR map {1: 2, 2: 7, 3: 99, 4: h'00…0f'}: a lane's
// hello naming a session that does not exist.
var laneHello = append([]byte{0xa4, 0x01, 0x02, 0x02, 0x07, 0x03, 0x18, 0x63, 0x04, 0x50},
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

func TestLane_UnknownSession(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{})
	c := rawDial(t, srv.path)
	if _, err := c.Write(helloBytes(2, laneHello)); err != nil {
		t.Fatal(err)
	}
	if status, reason := readAnswer(t, c); status != 3 || reason != "no such session" {
		t.Errorf("answer = %d %q, want 3 %q", status, reason, "no such session")
	}
	waitFor(t, "the refusal in the log", func() bool {
		return strings.Contains(srv.logs.String(), "a lane names no open session")
	})
}

// TestLane_MalformedFrameEndsSession checks that a bad frame on one lane
// closes the whole session: the other lanes and the yamux session too.
func TestLane_MalformedFrameEndsSession(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{ClientID: 3, Streams: 2})
	if _, err := c.Call(context.Background(), []byte("ok")); err != nil {
		t.Fatal(err)
	}
	ipc.WriteRawToLane(c, 0, transport.AppendFrame(nil, 9, 1, nil))
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session outlived a malformed frame")
	}
	if !errors.Is(c.Err(), ipc.ErrSessionClosed) {
		t.Errorf("Err = %v", c.Err())
	}
	waitFor(t, "the reason in the log", func() bool {
		return strings.Contains(srv.logs.String(), "unexpected frame type 9")
	})
}

// TestLane_ReadersTakeTurns runs many callers on one lane, some of whose
// contexts end while they wait or read, and checks that every call that
// returns a reply gets its own.
func TestLane_ReadersTakeTurns(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{ClientID: 4, Streams: 1})
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if (g+i)%7 == 0 {
					ctx, cancel = context.WithTimeout(ctx, time.Duration(i%50)*time.Microsecond)
				}
				want := []byte{byte(g), byte(i), byte(i >> 8)}
				got, err := c.Call(ctx, want)
				cancel()
				if err == nil && string(got) != string(want) {
					t.Errorf("reply %v to %v", got, want)
				}
				if err != nil && ctx.Err() == nil {
					t.Errorf("call failed: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if _, err := c.Call(context.Background(), []byte("still alive")); err != nil {
		t.Fatal(err)
	}
}
