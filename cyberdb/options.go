package cyberdb

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/cyberdb-go/cyberdb/ipc"
)

// Options configures Open. The zero value of a field means its default;
// DefaultOptions returns them filled in. Open copies the struct and never
// modifies or retains the caller's.
type Options struct {
	// BackupPath is the bbolt file the leader restores from and snapshots
	// to. Default: "data.cdb" in the store's directory. A relative path is
	// taken relative to the directory.
	BackupPath string
	// Durability chooses when a write is acknowledged and what a crash
	// can lose; the default is Interval.
	Durability Durability
	// CommitInterval is the period of log commits in Interval mode.
	// Default 100 ms.
	CommitInterval time.Duration
	// BackupInterval is the period of the leader's snapshots; they are also
	// taken when the leader closes. Default 5 minutes. Negative disables the
	// periodic snapshots but not the one at Close.
	BackupInterval time.Duration
	// OpenTimeout bounds how long Open waits for a leader to answer (a
	// leader that is still starting, or one that just died). Default 10 s.
	OpenTimeout time.Duration
	// LockTimeout bounds how long the new leader waits for the backup
	// file's own lock. Default 2 s.
	LockTimeout time.Duration
	// KeepAlive is the interval of the liveness probe between clients and
	// the leader; a peer silent for about twice as long is considered dead.
	// Default 1 s. Negative disables it.
	KeepAlive time.Duration
	// Streams is the number of connections ("lanes") a client process
	// keeps to the leader for its calls; calls from all goroutines share
	// them. Default 4, at most 64.
	Streams int
	// MaxMessageSize bounds one message on the socket in either direction.
	// Default 64 MiB.
	MaxMessageSize int
	// AllowUIDs and AllowGIDs list the users and groups, besides this
	// process's own user, whose processes may attach to the leader. When
	// either is set the socket is made accessible to other users and the
	// peer credentials (SO_PEERCRED) are the only gate.
	AllowUIDs []uint32
	AllowGIDs []uint32
	// OnRoleChange, if set, is called with true when this process becomes
	// the leader and with false when it stops being the leader (after Open
	// and during takeovers, not at Close). It runs on a library goroutine
	// and must not block for long.
	OnRoleChange func(leader bool)
	// Logger receives the leader's and client's log records. Default
	// slog.Default().
	Logger *slog.Logger
}

// DefaultOptions returns a fresh Options with every default filled in.
func DefaultOptions() *Options {
	return &Options{
		BackupPath:     "data.cdb",
		Durability:     Interval,
		CommitInterval: 100 * time.Millisecond,
		BackupInterval: 5 * time.Minute,
		OpenTimeout:    10 * time.Second,
		LockTimeout:    2 * time.Second,
		KeepAlive:      time.Second,
		Streams:        4,
		MaxMessageSize: ipc.DefaultLimits().MaxMessageSize,
		Logger:         slog.Default(),
	}
}

// withDefaults returns a copy of o (nil means defaults) with zero fields
// replaced by their defaults and paths made absolute against dir.
func (o *Options) withDefaults(dir string) (Options, error) {
	d := *DefaultOptions()
	if o != nil {
		d = o.merge(d)
	}
	if !filepath.IsAbs(d.BackupPath) {
		d.BackupPath = filepath.Join(dir, d.BackupPath)
	}
	return d, d.validate()
}

// merge copies o's set fields over the defaults d.
func (o *Options) merge(d Options) Options {
	pick(&d.BackupPath, o.BackupPath)
	pick(&d.Durability, o.Durability)
	pick(&d.CommitInterval, o.CommitInterval)
	d.OnRoleChange = o.OnRoleChange
	pick(&d.BackupInterval, o.BackupInterval)
	pick(&d.OpenTimeout, o.OpenTimeout)
	pick(&d.LockTimeout, o.LockTimeout)
	pick(&d.KeepAlive, o.KeepAlive)
	pick(&d.Streams, o.Streams)
	pick(&d.MaxMessageSize, o.MaxMessageSize)
	d.AllowUIDs = append([]uint32(nil), o.AllowUIDs...)
	d.AllowGIDs = append([]uint32(nil), o.AllowGIDs...)
	if o.Logger != nil {
		d.Logger = o.Logger
	}
	return d
}

// pick sets *dst to v unless v is the zero value.
func pick[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

func (o *Options) validate() error {
	switch {
	case o.Durability < Interval || o.Durability > None:
		return fmt.Errorf("%w: unknown Durability %d", ErrInvalid, o.Durability)
	case o.CommitInterval <= 0:
		return fmt.Errorf("%w: CommitInterval %v is not positive", ErrInvalid, o.CommitInterval)
	case o.OpenTimeout < 0:
		return fmt.Errorf("%w: OpenTimeout %v is negative", ErrInvalid, o.OpenTimeout)
	case o.LockTimeout < 0:
		return fmt.Errorf("%w: LockTimeout %v is negative", ErrInvalid, o.LockTimeout)
	case o.Streams < 0 || o.Streams > 64:
		return fmt.Errorf("%w: Streams %d out of range [1, 64]", ErrInvalid, o.Streams)
	}
	return o.limits().Validate()
}

// limits returns the decoder limits implied by the options.
func (o *Options) limits() ipc.Limits {
	l := ipc.DefaultLimits()
	l.MaxMessageSize = o.MaxMessageSize
	return l
}

// keepAlive returns the keepalive interval to use, 0 meaning off.
func (o *Options) keepAlive() time.Duration {
	return max(o.KeepAlive, 0)
}

// shared reports whether other users may attach.
func (o *Options) shared() bool {
	return len(o.AllowUIDs) > 0 || len(o.AllowGIDs) > 0
}
