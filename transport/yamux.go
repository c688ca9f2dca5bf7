package transport

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/yamux"
)

// Yamux settings that YamuxConfig fixes instead of inheriting yamux's
// defaults (which log to stderr, ping every 30 s and let a half-closed
// stream linger for 5 minutes).
const (
	// WriteTimeout bounds a write that the connection does not accept; the
	// session is closed when it expires.
	WriteTimeout = 10 * time.Second
	// StreamWindow is the largest receive window of a stream, so that a
	// batch of requests or replies rarely waits for a window update.
	StreamWindow = 1 << 20
	// streamTimeout bounds opening a stream and closing one half-closed.
	streamTimeout = 10 * time.Second
	// acceptBacklog is the number of opened streams waiting for Accept.
	acceptBacklog = 256
	// idleKeepAlive fills the keepalive interval, which yamux validates even
	// when keepalive is off.
	idleKeepAlive = 30 * time.Second
)

// YamuxConfig returns a yamux configuration for a local session: keepalive
// pings every keepAlive (0 turns them off), a 10 s write timeout, 1 MiB
// stream windows and no logging.
func YamuxConfig(keepAlive time.Duration) *yamux.Config {
	interval := keepAlive
	if interval <= 0 {
		interval = idleKeepAlive
	}
	return &yamux.Config{
		AcceptBacklog:          acceptBacklog,
		EnableKeepAlive:        keepAlive > 0,
		KeepAliveInterval:      interval,
		ConnectionWriteTimeout: WriteTimeout,
		MaxStreamWindowSize:    StreamWindow,
		StreamOpenTimeout:      streamTimeout,
		StreamCloseTimeout:     streamTimeout,
		LogOutput:              io.Discard,
	}
}

// Server starts the accepting side of a yamux session on conn; a nil cfg
// means YamuxConfig(0). The session owns conn and closes it.
func Server(conn net.Conn, cfg *yamux.Config) (*yamux.Session, error) {
	s, err := yamux.Server(newHeaderJoiner(conn), orDefault(cfg))
	if err != nil {
		return nil, fmt.Errorf("cyberdb: yamux server: %w", err)
	}
	return s, nil
}

// Client starts the dialing side of a yamux session on conn; a nil cfg
// means YamuxConfig(0). The session owns conn and closes it.
func Client(conn net.Conn, cfg *yamux.Config) (*yamux.Session, error) {
	s, err := yamux.Client(newHeaderJoiner(conn), orDefault(cfg))
	if err != nil {
		return nil, fmt.Errorf("cyberdb: yamux client: %w", err)
	}
	return s, nil
}

func orDefault(cfg *yamux.Config) *yamux.Config {
	if cfg == nil {
		return YamuxConfig(0)
	}
	return cfg
}
