package backup

import (
	"bytes"
	"unsafe"
)

// arenaChunk is the size of the blocks arena copies small values and keys
// into: big enough to save most allocations, small enough that a few
// surviving values do not pin much memory.
const arenaChunk = 64 << 10

// arena copies values and keys into shared blocks. A block is never
// written again where it has handed out bytes, so the copies never alias
// one another nor any buffer of the reader.
type arena struct {
	buf []byte
}

// copy returns a copy of v whose capacity ends with it.
func (a *arena) copy(v []byte) []byte {
	if len(v) > arenaChunk/16 {
		return bytes.Clone(v)
	}
	if cap(a.buf)-len(a.buf) < len(v) {
		a.buf = make([]byte, 0, arenaChunk)
	}
	n := len(a.buf)
	a.buf = append(a.buf, v...)
	return a.buf[n:len(a.buf):len(a.buf)]
}

// string returns a copy of k as a string, which shares a block as the
// results of copy do: its bytes are never written again.
func (a *arena) string(k []byte) string {
	b := a.copy(k)
	return unsafe.String(unsafe.SliceData(b), len(b))
}
