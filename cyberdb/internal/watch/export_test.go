package watch

// Waiting returns the number of readers of table registered for a wakeup.
func Waiting(h *Hub, table string) int {
	t := h.table(table)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.all.n
	for _, s := range t.keys {
		n += s.n
	}
	return n
}

// WaitedKeys returns the number of keys of table with readers registered.
func WaitedKeys(h *Hub, table string) int {
	t := h.table(table)
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}
