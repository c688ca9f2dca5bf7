package transport_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/cyberdb-go/cyberdb/transport"
)

func TestPeerCred(t *testing.T) {
	path := filepath.Join(sockDir(t), "sock")
	l, err := transport.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := transport.Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := transport.Cred{PID: int32(os.Getpid()), UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	for _, tt := range []struct {
		name string
		conn *net.UnixConn
	}{{"server side", s}, {"client side", c}} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := transport.PeerCred(tt.conn)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("PeerCred = %+v, want %+v", got, want)
			}
		})
	}
}

func TestPeerCred_Closed(t *testing.T) {
	a, b, err := unixPair()
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	a.Close()
	if _, err := transport.PeerCred(a); err == nil {
		t.Error("PeerCred on a closed conn succeeded")
	}
}

// unixPair returns two connected Unix sockets.
func unixPair() (*net.UnixConn, *net.UnixConn, error) {
	fds, err := syscallSocketpair()
	if err != nil {
		return nil, nil, err
	}
	a, err := fileConn(fds[0])
	if err != nil {
		return nil, nil, err
	}
	b, err := fileConn(fds[1])
	return a, b, err
}
