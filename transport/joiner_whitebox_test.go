package transport

import (
	"bytes"
	"net"
	"testing"
)

// recordConn records each Write.
type recordConn struct {
	net.Conn
	writes [][]byte
}

func (c *recordConn) Write(b []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(b))
	return len(b), nil
}

func yamuxHeader(typ byte, length uint32) []byte {
	return []byte{0, typ, 0, 0, 0, 0, 0, 1, byte(length >> 24), byte(length >> 16), byte(length >> 8), byte(length)}
}

func TestHeaderJoiner(t *testing.T) {
	dataHdr := yamuxHeader(yamuxTypeData, 3)
	tests := []struct {
		name   string
		writes [][]byte
		want   int // writes reaching the conn
	}{
		{"data header and body", [][]byte{dataHdr, []byte("abc")}, 2},
		{"window update alone", [][]byte{yamuxHeader(1, 5)}, 1},
		{"ping alone", [][]byte{yamuxHeader(2, 0)}, 1},
		{"empty data header", [][]byte{yamuxHeader(yamuxTypeData, 0)}, 1},
		{"mixed", [][]byte{yamuxHeader(1, 5), dataHdr, []byte("abc"), yamuxHeader(2, 0)}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recordConn{}
			j := newHeaderJoiner(rc)
			for _, w := range tt.writes {
				if n, err := j.Write(w); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if j.held {
				t.Fatal("header still held")
			}
			if got, want := bytes.Join(rc.writes, nil), bytes.Join(tt.writes, nil); !bytes.Equal(got, want) {
				t.Errorf("bytes = %x, want %x", got, want)
			}
			if len(rc.writes) != tt.want {
				t.Errorf("%d writes, want %d", len(rc.writes), tt.want)
			}
		})
	}
}

// TestHeaderJoiner_Writev checks that a header and its body reach a Unix
// socket in a single write.
func TestHeaderJoiner_Writev(t *testing.T) {
	fds, err := socketpair()
	if err != nil {
		t.Fatal(err)
	}
	a, b := fds[0], fds[1]
	defer a.Close()
	defer b.Close()
	j := newHeaderJoiner(a)
	hdr := yamuxHeader(yamuxTypeData, 3)
	if _, err := j.Write(hdr); err != nil {
		t.Fatal(err)
	}
	if n, err := j.Write([]byte("abc")); n != 3 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	buf := make([]byte, 64)
	n, err := b.Read(buf)
	if err != nil || n != len(hdr)+3 {
		t.Fatalf("one read got %d bytes, %v; want %d", n, err, len(hdr)+3)
	}
}

func socketpair() ([2]*net.UnixConn, error) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: "", Net: "unix"})
	if err != nil {
		return [2]*net.UnixConn{}, err
	}
	defer l.Close()
	a, err := net.DialUnix("unix", nil, l.Addr().(*net.UnixAddr))
	if err != nil {
		return [2]*net.UnixConn{}, err
	}
	b, err := l.AcceptUnix()
	return [2]*net.UnixConn{a, b}, err
}
