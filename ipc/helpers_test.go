package ipc_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/ipc"
	"github.com/cyberdb-go/cyberdb/transport"
)

// echo is a Handler that replies with the request, and records closed peers.
type echo struct {
	mu     sync.Mutex // protects closed
	closed []uint64
}

func (e *echo) Handle(_ *ipc.Peer, req, dst []byte) []byte { return append(dst, req...) }

func (e *echo) PeerClosed(p *ipc.Peer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = append(e.closed, p.ClientID)
}

func (e *echo) closedPeers() []uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]uint64(nil), e.closed...)
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// testServer is a running Server on a socket in a short temp dir.
type testServer struct {
	*ipc.Server
	path string
	logs *logBuffer
	done chan error // Serve's result
}

func startServer(t testing.TB, h ipc.Handler, cfg ipc.ServerConfig) *testServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ts := &testServer{path: filepath.Join(dir, "sock"), logs: &logBuffer{}, done: make(chan error, 1)}
	l, err := transport.Listen(ts.path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ts.Server = ipc.NewServer(h, cfg)
	go func() { ts.done <- ts.Serve(l) }()
	t.Cleanup(func() {
		ts.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", ts.logs)
		}
	})
	return ts
}

func dial(t testing.TB, path string, cfg ipc.ClientConfig) *ipc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ipc.Dial(ctx, path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
