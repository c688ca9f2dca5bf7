package transport

// Cred is the identity of the process at the other end of a Unix socket,
// as the kernel recorded it when the connection was made.
type Cred struct {
	PID int32
	UID uint32
	GID uint32
}
