package transport

import (
	"bytes"
	"io"
	"testing"
)

func TestFrameReader_ReleasesLargeBuffer(t *testing.T) {
	var wire []byte
	wire = AppendFrame(wire, 1, 1, make([]byte, 2<<20))
	wire = AppendFrame(wire, 1, 2, []byte("small"))
	fr := NewFrameReader(bytes.NewReader(wire), 4<<20)
	for i := range 2 {
		if _, err := fr.Next(); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if _, err := fr.Next(); err != io.EOF {
		t.Fatalf("err = %v", err)
	}
	if cap(fr.buf) > retainSize {
		t.Errorf("buffer of %d bytes kept after a large frame", cap(fr.buf))
	}
}

// twoChunks returns a then b, each split no further.
type twoChunks struct{ a, b []byte }

func (r *twoChunks) Read(p []byte) (int, error) {
	if len(r.a) > 0 {
		n := copy(p, r.a)
		r.a = r.a[n:]
		return n, nil
	}
	if len(r.b) > 0 {
		n := copy(p, r.b)
		r.b = r.b[n:]
		return n, nil
	}
	return 0, io.EOF
}

// FuzzFrameReader feeds arbitrary bytes in two chunks and checks that the
// reader never panics, never returns a frame over its limit and never
// holds more than the limit plus one read buffer.
func FuzzFrameReader(f *testing.F) {
	f.Add(AppendFrame(AppendFrame(nil, 1, 2, []byte("abc")), 2, 3, nil), 5)
	f.Add([]byte{0, 0, 0, 0}, 2)
	f.Add([]byte{0, 0, 16, 0, 1}, 1)
	const limit = 4096
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		split = min(max(split, 0), len(data))
		fr := NewFrameReader(&twoChunks{data[:split], data[split:]}, limit)
		for {
			fr2, err := fr.Next()
			if cap(fr.buf) > limit+4+readSize {
				t.Fatalf("buffer grew to %d", cap(fr.buf))
			}
			if err != nil {
				return
			}
			if len(fr2.Body) > limit-frameMeta {
				t.Fatalf("body of %d bytes over limit", len(fr2.Body))
			}
		}
	})
}
