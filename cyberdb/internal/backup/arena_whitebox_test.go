package backup

import (
	"bytes"
	"fmt"
	"testing"
)

// Copies from an arena keep their content when the buffer they were
// copied from is reused, and never reach into one another: appending to
// one leaves the next intact.
func TestArena_Copies(t *testing.T) {
	var a arena
	src := make([]byte, 0, 64)
	var keys []string
	var vals [][]byte
	for i := range 3 * arenaChunk / 20 { // spans several blocks
		src = fmt.Appendf(src[:0], "k%06d", i)
		keys = append(keys, a.string(src))
		src = fmt.Appendf(src[:0], "value %06d", i)
		vals = append(vals, a.copy(src))
		clear(src[:cap(src)]) // the reader reuses its buffer
	}
	for i := range keys {
		if want := fmt.Sprintf("k%06d", i); keys[i] != want {
			t.Fatalf("key %d reads %q, want %q", i, keys[i], want)
		}
		if want := fmt.Sprintf("value %06d", i); string(vals[i]) != want {
			t.Fatalf("value %d reads %q, want %q", i, vals[i], want)
		}
		if cap(vals[i]) != len(vals[i]) {
			t.Fatalf("value %d has room for %d more bytes", i, cap(vals[i])-len(vals[i]))
		}
	}
	_ = append(vals[0], "overwritten"...)
	if keys[1] != "k000001" || string(vals[1]) != "value 000001" {
		t.Fatalf("appending to a value changed the next entry: %q %q", keys[1], vals[1])
	}
}

// Empty keys and large values and keys are copies of their own.
func TestArena_Sizes(t *testing.T) {
	var a arena
	if s := a.string(nil); s != "" {
		t.Fatalf("empty key: %q", s)
	}
	big := bytes.Repeat([]byte{7}, arenaChunk/16+1)
	v := a.copy(big)
	k := a.string(big)
	big[0] = 8
	if v[0] != 7 || k[0] != 7 || len(v) != len(big) || len(k) != len(big) {
		t.Fatal("a large value or key shares the source")
	}
	if len(a.buf) != 0 {
		t.Fatalf("large copies went into the block: %d bytes", len(a.buf))
	}
}
