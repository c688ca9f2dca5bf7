package ipc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/transport"
)

type nopHandler struct{}

func (nopHandler) Handle(_ *Peer, req, dst []byte) []byte { return append(dst, req...) }
func (nopHandler) PeerClosed(*Peer)                       {}

// TestServer_Denied runs a server that believes it runs as another uid,
// so the test process is a foreign peer unless the allow lists admit it.
func TestServer_Denied(t *testing.T) {
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	tests := []struct {
		name string
		cfg  ServerConfig
		want error
	}{
		{"foreign uid", ServerConfig{AllowUIDs: []uint32{uid + 1}, AllowGIDs: []uint32{gid + 1}}, ErrDenied},
		{"allowed uid", ServerConfig{AllowUIDs: []uint32{uid}}, nil},
		{"allowed gid", ServerConfig{AllowGIDs: []uint32{gid}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			tt.cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			srv := NewServer(nopHandler{}, tt.cfg)
			srv.uid = uid + 1000
			path := serve(t, srv)
			c, err := Dial(context.Background(), path, ClientConfig{ClientID: 3})
			if err == nil {
				c.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == nil {
				return
			}
			want := fmt.Sprintf("cyberdb: connection refused by leader: peer credentials not allowed: uid %d, gid %d", uid, gid)
			if err.Error() != want {
				t.Errorf("err = %q, want %q", err, want)
			}
			srv.Close()
			if !strings.Contains(logs.String(), "client refused") || !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks the refusal:\n%s", logs.String())
			}
		})
	}
}

// serve runs srv on a fresh socket until the test ends.
func serve(t *testing.T, srv *Server) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "sock")
	l, err := transport.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve = %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return path
}

// TestServer_LaneOfAnotherProcess checks that only the process that
// opened a session may attach lanes to it.
func TestServer_LaneOfAnotherProcess(t *testing.T) {
	srv := NewServer(nopHandler{}, ServerConfig{})
	owner := &Peer{ClientID: 1, Cred: transport.Cred{PID: 100, UID: 5}}
	ss, err := newSession(srv, owner)
	if err != nil {
		t.Fatal(err)
	}
	if !srv.addSession(ss) {
		t.Fatal("server closing")
	}
	tests := []struct {
		name   string
		cred   transport.Cred
		token  string
		status status
	}{
		{"owner", owner.Cred, ss.token, statusOK},
		{"other pid", transport.Cred{PID: 101, UID: 5}, ss.token, statusDenied},
		{"other uid", transport.Cred{PID: 100, UID: 6}, ss.token, statusDenied},
		{"unknown token", owner.Cred, "not a token", statusMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rej := srv.laneSession(&Peer{ClientID: 1, Cred: tt.cred}, []byte(tt.token))
			switch {
			case tt.status == statusOK && (rej != nil || got != ss):
				t.Errorf("laneSession = %v, %+v; want the owner's session", got, rej)
			case tt.status != statusOK && (rej == nil || rej.status != tt.status):
				t.Errorf("rejection = %+v, want status %d", rej, tt.status)
			}
		})
	}
}
