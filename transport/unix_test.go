package transport_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/transport"
)

// sockDir returns a short temporary directory for sockets.
func sockDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestListen_Mode(t *testing.T) {
	path := filepath.Join(sockDir(t), "sock")
	l, err := transport.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode(); got.Perm() != 0o600 || got.Type() != os.ModeSocket {
		t.Errorf("mode = %v, want socket 0600", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left after Close: %v", err)
	}
}

func TestListen_Errors(t *testing.T) {
	dir := sockDir(t)
	taken := filepath.Join(dir, "taken")
	l, err := transport.Listen(taken)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		name, path string
		want       error
	}{
		{"in use", taken, syscall.EADDRINUSE},
		{"missing dir", filepath.Join(dir, "no", "sock"), syscall.ENOENT},
		{"too long", "/tmp/" + strings.Repeat("x", 110), nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := transport.Listen(tt.path)
			if err == nil {
				l.Close()
				t.Fatal("Listen succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "cyberdb: ") {
				t.Errorf("err = %q, want cyberdb: prefix", err)
			}
		})
	}
}

func TestDial(t *testing.T) {
	path := filepath.Join(sockDir(t), "sock")
	l, err := transport.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := s.Read(buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}
}

func TestDial_Errors(t *testing.T) {
	dir := sockDir(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		path string
		want error
	}{
		{"no socket", context.Background(), filepath.Join(dir, "none"), syscall.ENOENT},
		{"canceled", canceled, filepath.Join(dir, "none"), context.Canceled},
		{"too long", context.Background(), "/tmp/" + strings.Repeat("x", 110), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := transport.Dial(tt.ctx, tt.path)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
