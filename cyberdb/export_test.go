package cyberdb

// SetClientProtocolVersion makes clients opened afterwards speak protocol
// version v, and returns a function that restores the real version.
func SetClientProtocolVersion(v uint16) func() {
	old := clientVersion
	clientVersion = v
	return func() { clientVersion = old }
}
