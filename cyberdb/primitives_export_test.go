package cyberdb

// WaitingCalls returns how many blocking calls and watches of client
// processes db, a leader, is serving now; 0 when db does not lead. The
// primitives' process tests poll it to know that a call reached the
// leader.
func WaitingCalls(db *DB) int {
	p := db.cur.Load()
	if p == nil {
		return 0
	}
	l, ok := p.r.(*leader)
	if !ok {
		return 0
	}
	l.waits.mu.Lock()
	defer l.waits.mu.Unlock()
	return len(l.waits.calls)
}
