package ipc

import "fmt"

// A stream's replies that must wait for their mark (see Flusher) are
// written by the stream's replier goroutine, in order, while the stream
// goes on reading and applying requests. The calls a client makes while
// one commit is under way thus join the next commit, instead of waiting
// unread until this one ends, and commits follow each other back to
// back.

// maxHeld bounds the batches of replies a stream hands over and that are
// not written yet; the stream stops reading requests while it is reached.
const maxHeld = 4

// heldBatch is a batch of reply frames and the highest mark among them.
type heldBatch struct {
	out  []byte
	mark uint64
}

// replier writes the batches a stream hands over.
type replier struct {
	s      *serverStream
	queue  chan heldBatch // batches to write, in order
	free   chan []byte    // written batches' buffers, for reuse
	failed chan struct{}  // closed when a batch could not be written; err is set
	done   chan struct{}  // closed when the replier returns
	err    error
}

// newReplier starts the replier of s, whose handler marks replies.
func newReplier(s *serverStream) *replier {
	r := &replier{
		s:      s,
		queue:  make(chan heldBatch, maxHeld),
		free:   make(chan []byte, maxHeld),
		failed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	go r.run()
	return r
}

// run writes each batch once its mark allows, until the queue is closed.
// A failure ends the session as a failed stream does, at once: the stream
// may be waiting for requests while the client waits for the lost
// replies. The batches that follow are dropped.
func (r *replier) run() {
	defer close(r.done)
	for b := range r.queue {
		if r.err == nil {
			if err := r.write(b); err != nil {
				r.err = err
				close(r.failed)
				r.s.sess.streamFailed(err)
			}
		}
		r.free <- b.out[:0]
	}
}

// write waits until the batch's replies may go, then writes them.
func (r *replier) write(b heldBatch) error {
	if b.mark > 0 {
		if err := r.s.flusher.Flush(r.s.sess.peer, b.mark); err != nil {
			return fmt.Errorf("replies withheld: %w", err)
		}
	}
	return r.s.write(b.out)
}

// hold hands s.out over to the replier, starting it if need be, and gives
// s a free buffer. It blocks while maxHeld batches are held. flush has
// checked that the replier has not failed.
func (s *serverStream) hold() {
	if s.rep == nil {
		s.rep = newReplier(s)
	}
	var free []byte
	waited := s.held == maxHeld
	if waited {
		free = <-s.rep.free // a batch left the queue: it has room
	}
	s.rep.queue <- heldBatch{out: s.out, mark: s.mark}
	s.held++
	s.out, s.mark = nil, 0
	if waited {
		s.reuse(free) // once s.out is handed over, so that free replaces it
	}
	s.reclaim()
}

// reclaim takes back the buffers of the batches written meanwhile, and
// returns how many batches are still held.
func (s *serverStream) reclaim() int {
	for s.held > 0 {
		select {
		case buf := <-s.rep.free:
			s.reuse(buf)
		default:
			return s.held
		}
	}
	return 0
}

// reuse takes back the buffer of a written batch.
func (s *serverStream) reuse(buf []byte) {
	s.held--
	if s.out == nil && cap(buf) <= retainOut {
		s.out = buf
	}
}

// replyErr returns why the replier stopped writing, if it has.
func (s *serverStream) replyErr() error {
	select {
	case <-s.rep.failed:
		return s.rep.err
	default:
		return nil
	}
}

// endReplies waits until the replier has written every batch held, and
// returns its error.
func (s *serverStream) endReplies() error {
	if s.rep == nil {
		return nil
	}
	close(s.rep.queue)
	<-s.rep.done
	return s.rep.err
}
