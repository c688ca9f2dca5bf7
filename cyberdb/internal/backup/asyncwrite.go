package backup

import (
	"os"
	"sync"
)

// asyncBuf is the size of the buffers an asyncWriter hands to its
// goroutine.
const asyncBuf = 1 << 20

// asyncWriter writes to a file from a goroutine of its own, a buffer at a
// time, so that the kernel copying one buffer into the page cache
// overlaps with the pages of the next being laid out.
type asyncWriter struct {
	f    *os.File
	buf  []byte      // the buffer being filled
	full chan []byte // buffers to write, closed by close
	free chan []byte // buffers written, to fill again
	done chan struct{}

	mu  sync.Mutex // protects err
	err error      // the first write error
}

func newAsyncWriter(f *os.File) *asyncWriter {
	w := &asyncWriter{
		f:    f,
		buf:  make([]byte, 0, asyncBuf),
		full: make(chan []byte, 1),
		free: make(chan []byte, 2), // room for both buffers: run never blocks on it
		done: make(chan struct{}),
	}
	w.free <- make([]byte, 0, asyncBuf)
	go w.run()
	return w
}

// run writes the buffers it receives until full is closed; after an
// error it only hands them back.
func (w *asyncWriter) run() {
	defer close(w.done)
	for b := range w.full {
		if w.failed() == nil {
			if _, err := w.f.Write(b); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
		}
		w.free <- b[:0]
	}
}

// failed returns the first write error, if any.
func (w *asyncWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Write buffers p. It returns the error of an earlier write, if any.
func (w *asyncWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(w.buf) == cap(w.buf) {
			w.full <- w.buf
			w.buf = <-w.free
			if err := w.failed(); err != nil {
				return n - len(p), err
			}
		}
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf, p = w.buf[:len(w.buf)+c], p[c:]
	}
	return n, nil
}

// close writes what is buffered, stops the goroutine and returns the
// first write error. The writer is unusable afterwards.
func (w *asyncWriter) close() error {
	w.full <- w.buf
	close(w.full)
	<-w.done
	return w.failed()
}
