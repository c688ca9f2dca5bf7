package ipc

import "time"

// WriteRawToLane writes b on the client's lane i, bypassing the framing.
func WriteRawToLane(c *Client, i int, b []byte) {
	_, _ = c.streams[i].st.Write(b)
}

// MaxSessionStreams is the number of streams and lanes a session may have.
const MaxSessionStreams = maxSessionStreams

// MaxIdleDedicated is the number of idle dedicated streams a Client keeps.
const MaxIdleDedicated = maxIdleDedicated

// DedicatedStreams returns the number of dedicated streams c counts open
// (the leader may still serve them) and the number idle in its pool.
func DedicatedStreams(c *Client) (open, idle int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.dedicated), len(c.idle)
}

// ServedStreams returns the number of streams and lanes s serves.
func ServedStreams(s *Server) int {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	n := 0
	for _, ss := range sessions {
		ss.mu.Lock()
		n += len(ss.open)
		ss.mu.Unlock()
	}
	return n
}

// MaxHeld is the number of batches of replies a stream holds for their
// marks before it stops reading requests.
const MaxHeld = maxHeld

// ExpireWrites makes every later reply write of s's streams and lanes
// fail at once, as if their clients had stopped reading.
func ExpireWrites(s *Server) {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for _, ss := range sessions {
		ss.mu.Lock()
		for st := range ss.open {
			_ = st.SetWriteDeadline(past)
		}
		ss.mu.Unlock()
	}
}
