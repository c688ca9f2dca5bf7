package transport_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"

	"github.com/cyberdb-go/cyberdb/transport"
)

func encodeFrames(frames []transport.Frame) []byte {
	var b []byte
	for _, f := range frames {
		b = transport.AppendFrame(b, f.Type, f.ID, f.Body)
	}
	return b
}

// readAll reads frames until an error, copying each body.
func readAll(fr *transport.FrameReader) ([]transport.Frame, error) {
	var out []transport.Frame
	for {
		f, err := fr.Next()
		if err != nil {
			return out, err
		}
		f.Body = bytes.Clone(f.Body)
		out = append(out, f)
	}
}

func sameFrames(a, b []transport.Frame) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].ID != b[i].ID || !bytes.Equal(a[i].Body, b[i].Body) {
			return false
		}
	}
	return true
}

var sampleFrames = []transport.Frame{
	{Type: 1, ID: 1, Body: []byte("hello")},
	{Type: 2, ID: 1<<64 - 1, Body: nil},
	{Type: 255, ID: 0, Body: bytes.Repeat([]byte{0xab}, 100<<10)},
	{Type: 3, ID: 42, Body: []byte{0}},
}

func TestFrameReader_RoundTrip(t *testing.T) {
	wire := encodeFrames(sampleFrames)
	readers := []struct {
		name string
		r    func() io.Reader
	}{
		{"whole", func() io.Reader { return bytes.NewReader(wire) }},
		{"one byte", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(wire)) }},
		{"half", func() io.Reader { return iotest.HalfReader(bytes.NewReader(wire)) }},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(wire)) }},
	}
	for _, tt := range readers {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(transport.NewFrameReader(tt.r(), 1<<20))
			if err != io.EOF {
				t.Fatalf("err = %v, want io.EOF", err)
			}
			if !sameFrames(got, sampleFrames) {
				t.Errorf("frames differ")
			}
		})
	}
}

func TestFrameReader_Invalid(t *testing.T) {
	tests := []struct {
		name string
		wire []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"short length", []byte{0, 0, 0}, io.ErrUnexpectedEOF},
		{"length 0", []byte{0, 0, 0, 0}, transport.ErrFrameMalformed},
		{"length 8", []byte{0, 0, 0, 8, 1, 0, 0, 0, 0, 0, 0, 0}, transport.ErrFrameMalformed},
		{"no id", []byte{0, 0, 0, 9, 1}, io.ErrUnexpectedEOF},
		{"short body", []byte{0, 0, 0, 12, 1, 0, 0, 0, 0, 0, 0, 0, 7, 'a'}, io.ErrUnexpectedEOF},
		{"over limit", []byte{0, 0, 4, 10}, &transport.FrameSizeError{Size: 1034, Limit: 1024}},
		{"max length", []byte{0xff, 0xff, 0xff, 0xff}, &transport.FrameSizeError{Size: 1<<32 - 1, Limit: 1024}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := transport.NewFrameReader(bytes.NewReader(tt.wire), 1024)
			_, err := fr.Next()
			if !sameError(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if _, again := fr.Next(); !sameError(again, tt.want) {
				t.Errorf("second Next err = %v, want sticky %v", again, tt.want)
			}
		})
	}
}

func sameError(got, want error) bool {
	var gs, ws *transport.FrameSizeError
	if errors.As(want, &ws) {
		return errors.As(got, &gs) && *gs == *ws && errors.Is(got, transport.ErrFrameTooLarge) &&
			got.Error() == fmt.Sprintf("cyberdb: frame too large: %d bytes, limit %d", ws.Size, ws.Limit)
	}
	return got == want
}

func TestFrameReader_AtLimit(t *testing.T) {
	body := make([]byte, 1024-9)
	fr := transport.NewFrameReader(bytes.NewReader(transport.AppendFrame(nil, 1, 1, body)), 1024)
	f, err := fr.Next()
	if err != nil || len(f.Body) != len(body) {
		t.Fatalf("Next = %d bytes, %v", len(f.Body), err)
	}
}

// TestFrameReader_Cut cuts a valid stream at every offset: the frames
// before the cut come out intact, then io.EOF at a frame boundary and
// io.ErrUnexpectedEOF inside a frame.
func TestFrameReader_Cut(t *testing.T) {
	frames := []transport.Frame{{1, 7, []byte("abc")}, {2, 8, nil}, {3, 9, []byte("0123456789")}}
	wire := encodeFrames(frames)
	ends := map[int]int{0: 0}
	for i, off := 0, 0; i < len(frames); i++ {
		off += transport.HeaderSize + len(frames[i].Body)
		ends[off] = i + 1
	}
	complete := 0
	for cut := 0; cut <= len(wire); cut++ {
		if n, ok := ends[cut]; ok {
			complete = n
		}
		got, err := readAll(transport.NewFrameReader(bytes.NewReader(wire[:cut]), 1024))
		want := io.ErrUnexpectedEOF
		if _, boundary := ends[cut]; boundary {
			want = io.EOF
		}
		if err != want || !sameFrames(got, frames[:complete]) {
			t.Errorf("cut %d: %d frames, err %v; want %d frames, err %v", cut, len(got), err, complete, want)
		}
	}
}

func TestFrameReader_Buffered(t *testing.T) {
	wire := encodeFrames(sampleFrames[:2])
	fr := transport.NewFrameReader(bytes.NewReader(wire), 1024)
	if fr.Buffered() != 0 {
		t.Fatalf("Buffered before read = %d", fr.Buffered())
	}
	steps := []int{transport.HeaderSize, 0}
	for i, want := range steps {
		if _, err := fr.Next(); err != nil {
			t.Fatal(err)
		}
		if got := fr.Buffered(); got != want {
			t.Errorf("after frame %d: Buffered = %d, want %d", i, got, want)
		}
	}
}

func TestFrameReader_NoProgress(t *testing.T) {
	fr := transport.NewFrameReader(emptyReader{}, 1024)
	if _, err := fr.Next(); err != io.ErrNoProgress {
		t.Errorf("err = %v, want io.ErrNoProgress", err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestPutHeader(t *testing.T) {
	body := []byte("payload")
	b := append(make([]byte, transport.HeaderSize), body...)
	transport.PutHeader(b, 9, 12345)
	if want := transport.AppendFrame(nil, 9, 12345, body); !bytes.Equal(b, want) {
		t.Errorf("PutHeader = %x, want %x", b, want)
	}
	if got := transport.AppendHeader(nil, 9, 12345, len(body)); !bytes.Equal(got, b[:transport.HeaderSize]) {
		t.Errorf("AppendHeader = %x", got)
	}
}

func BenchmarkFrame(b *testing.B) {
	for _, size := range []int{16, 4096} {
		body := make([]byte, size)
		b.Run(fmt.Sprintf("encode/%dB", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			buf := make([]byte, 0, 64<<10)
			for b.Loop() {
				buf = transport.AppendFrame(buf[:0], 1, 1, body)
			}
		})
		b.Run(fmt.Sprintf("decode/%dB", size), func(b *testing.B) {
			benchDecode(b, body)
		})
	}
}

// benchDecode decodes frames from a reader that replays a batch of 64.
func benchDecode(b *testing.B, body []byte) {
	var batch []byte
	for i := range 64 {
		batch = transport.AppendFrame(batch, 1, uint64(i), body)
	}
	r := &replayReader{data: batch}
	fr := transport.NewFrameReader(r, 1<<20)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := fr.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// replayReader returns data over and over.
type replayReader struct {
	data []byte
	off  int
}

func (r *replayReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// TestFrameReader_Random round-trips random frames through random read
// sizes; the seed is logged so a failure can be replayed.
func TestFrameReader_Random(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	pool := make([]byte, 128<<10)
	for i := range pool {
		pool[i] = byte(rng.Uint32())
	}
	for round := range 50 {
		frames := make([]transport.Frame, rng.IntN(50))
		for i := range frames {
			start := rng.IntN(len(pool))
			body := pool[start : start+rng.IntN(min(len(pool)-start, 70<<10)+1)]
			frames[i] = transport.Frame{Type: uint8(rng.Uint32()), ID: rng.Uint64(), Body: body}
		}
		r := &choppyReader{data: encodeFrames(frames), rng: rng}
		got, err := readAll(transport.NewFrameReader(r, 1<<20))
		if err != io.EOF || !sameFrames(got, frames) {
			t.Fatalf("round %d: %d of %d frames, err %v", round, len(got), len(frames), err)
		}
	}
}

// choppyReader returns data in reads of random size.
type choppyReader struct {
	data []byte
	rng  *rand.Rand
}

func (r *choppyReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+r.rng.IntN(100<<10))], r.data)
	r.data = r.data[n:]
	return n, nil
}
