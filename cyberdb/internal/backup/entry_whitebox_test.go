package backup

import (
	"bytes"
	"math"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

func TestEntryHeader_RoundTrip(t *testing.T) {
	v := []byte{0x61, 'v'}
	tests := []struct {
		e    engine.Entry
		size int // of the header
	}{
		{engine.Entry{}, 2},
		{engine.Entry{Ver: 127}, 2},
		{engine.Entry{Ver: 128}, 3},
		{engine.Entry{Ver: 1 << 20, Exp: 1}, 12},
		{engine.Entry{Ver: 5, Exp: 1_700_000_000_000_000_000}, 10},
		{engine.Entry{Ver: math.MaxUint64, Exp: math.MaxInt64}, maxEntryHeader},
		{engine.Entry{Exp: math.MinInt64}, 10},
		{engine.Entry{Exp: -1}, 10},
	}
	for _, tt := range tests {
		tt.e.V = v
		h := appendEntryHeader(nil, &tt.e)
		if len(h) != tt.size {
			t.Errorf("%+v: header of %d bytes, want %d", tt.e, len(h), tt.size)
		}
		got, err := parseEntry(append(h, v...))
		if err != nil || got.Ver != tt.e.Ver || got.Exp != tt.e.Exp || !bytes.Equal(got.V, v) {
			t.Errorf("%+v: parsed %+v, %v", tt.e, got, err)
		}
	}
}

func TestEntryHeader_Invalid(t *testing.T) {
	v := []byte{0xf5} // true
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "entry header: empty entry"},
		{"flags only", []byte{0}, "entry header: malformed version"},
		{"unknown flag", cat([]byte{0x02, 0}, v), "entry header: unknown flags 0x02"},
		{"high flag", cat([]byte{0x81, 0}, make([]byte, 8), v), "entry header: unknown flags 0x81"},
		{"version cut", []byte{0, 0x80}, "entry header: malformed version"},
		{"version of 11 bytes", cat([]byte{0}, bytes.Repeat([]byte{0xff}, 10), []byte{0x01}, v), "entry header: malformed version"},
		{"version overflows 64 bits", cat([]byte{0}, bytes.Repeat([]byte{0xff}, 9), []byte{0x02}, v), "entry header: malformed version"},
		{"version padded", cat([]byte{0, 0x81, 0x80, 0}, v), "entry header: version not minimally encoded"},
		{"zero padded", cat([]byte{0, 0x80, 0}, v), "entry header: version not minimally encoded"},
		{"deadline cut", []byte{1, 0, 0, 0, 0, 0, 0, 0, 1}, "entry header: deadline cut short"},
		{"deadline zero", cat([]byte{1, 0}, make([]byte, 8), v), "entry header: deadline flagged but 0"},
		{"no value", []byte{0, 5}, "empty value"},
		{"no value after deadline", cat([]byte{1, 5}, bytes.Repeat([]byte{1}, 8)), "empty value"},
		{"two values", cat([]byte{0, 5}, v, v), "cyberdb: malformed CBOR"},
		{"deadline unflagged", cat([]byte{0, 5}, bytes.Repeat([]byte{1}, 8), v), "cyberdb: malformed CBOR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseEntry(tt.b)
			if err == nil || !bytes.HasPrefix([]byte(err.Error()), []byte(tt.want)) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
