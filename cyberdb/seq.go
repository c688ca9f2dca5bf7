package cyberdb

import "sync"

// sequencer numbers the writes a client sends, so the leader can apply a
// retried write once, and tracks which are still unanswered, so the
// leader can forget the results of the others.
type sequencer struct {
	mu      sync.Mutex          // protects the fields below
	next    uint64              // the next number to hand out; starts at 1
	low     uint64              // no number below it is unanswered
	pending map[uint64]struct{} // numbers handed out and not yet answered
}

func newSequencer() *sequencer {
	return &sequencer{next: 1, low: 1, pending: make(map[uint64]struct{})}
}

// begin returns a new sequence number and the acknowledgement to send
// with it: every write below it has been answered.
func (s *sequencer) begin() (seq, ack uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq = s.next
	s.next++
	s.pending[seq] = struct{}{}
	return seq, s.low
}

// ack returns the current acknowledgement, for a retried write.
func (s *sequencer) ack() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.low
}

// end marks seq answered (or abandoned).
func (s *sequencer) end(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, seq)
	for s.low < s.next {
		if _, ok := s.pending[s.low]; ok {
			break
		}
		s.low++
	}
}
