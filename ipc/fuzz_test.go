package ipc

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/cyberdb-go/cyberdb/transport"
)

// twoChunks returns a then b, so a decoder sees its input split once.
type twoChunks struct{ a, b []byte }

func (r *twoChunks) Read(p []byte) (int, error) {
	src := &r.a
	if len(r.a) == 0 {
		src = &r.b
	}
	if len(*src) == 0 {
		return 0, io.EOF
	}
	n := copy(p, *src)
	*src = (*src)[n:]
	return n, nil
}

const fuzzLimit = 4096

// decodeAll runs every decoder of the protocol over data split at split:
// frames as the server and the client classify them, a hello and an answer.
func decodeAll(t *testing.T, data []byte, split int) {
	fr := transport.NewFrameReader(&twoChunks{data[:split], data[split:]}, fuzzLimit)
	for {
		f, err := fr.Next()
		if err != nil {
			checkFrameError(t, err)
			break
		}
		if len(f.Body) > fuzzLimit-9 {
			t.Fatalf("body of %d bytes over the limit", len(f.Body))
		}
		_ = f.Type == frameRequest || f.Type == frameResponse || f.Type == frameGoodbye
	}
	if version, body, err := readHello(&twoChunks{data[:split], data[split:]}); err == nil {
		if len(body) > maxHandshakeBody {
			t.Fatalf("hello body of %d bytes", len(body))
		}
		_, _ = parseHello(version, body)
	}
	if rep, err := readReply(&twoChunks{data[:split], data[split:]}); err == nil {
		_ = rep.check(ProtocolVersion)
	}
}

func checkFrameError(t *testing.T, err error) {
	switch {
	case err == io.EOF, err == io.ErrUnexpectedEOF,
		errors.Is(err, transport.ErrFrameMalformed), errors.Is(err, transport.ErrFrameTooLarge):
	default:
		t.Fatalf("unexpected error %v", err)
	}
}

// FuzzDecode feeds arbitrary bytes, in two chunks, to the frame and
// handshake decoders: they must never panic, never return a frame over the
// limit and allocate a bounded amount whatever the length fields claim.
func FuzzDecode(f *testing.F) {
	var frames []byte
	frames = transport.AppendFrame(frames, frameRequest, 1, []byte{0xa1, 0x01, 0x05})
	frames = transport.AppendFrame(frames, frameResponse, 1, nil)
	frames = transport.AppendFrame(frames, frameGoodbye, 0, nil)
	hello, _ := appendHello(nil, ProtocolVersion, hello{Version: ProtocolVersion, ClientID: 2, PID: 3})
	f.Add(frames, 7)
	f.Add(hello, 9)
	f.Add(appendReply(nil, statusDenied, "uid 1"), 3)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, 2)
	f.Add(append([]byte(magic), 0, 1, 0xff, 0xff, 0xff, 0xff), 11)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		split = min(max(split, 0), len(data))
		before := allocated()
		decodeAll(t, data, split)
		if n := allocated() - before; n > 256<<10+uint64(len(data)) {
			t.Fatalf("decoding %d bytes allocated %d", len(data), n)
		}
	})
}

func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// TestDecode_Seeds runs the fuzz seeds and a few hand-made inputs as a
// plain test.
func TestDecode_Seeds(t *testing.T) {
	hello, _ := appendHello(nil, ProtocolVersion, hello{Version: ProtocolVersion, ClientID: 2, PID: 3})
	for _, data := range [][]byte{nil, hello, bytes.Repeat([]byte{0}, 100), appendReply(nil, statusOK, "")} {
		for split := range len(data) + 1 {
			decodeAll(t, data, split)
		}
	}
}
