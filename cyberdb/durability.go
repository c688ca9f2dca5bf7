package cyberdb

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// Durability chooses when the leader acknowledges a write, and so what a
// crash can lose. See the package documentation for what survives what.
type Durability int

const (
	// Interval, the default, logs every write and commits the log to disk
	// every Options.CommitInterval (100 ms): a crash of the leader's
	// process or of the machine loses at most that window of writes.
	Interval Durability = iota
	// Always acknowledges a write only after its log record is fsynced.
	// Concurrent writes from all processes share one commit (group
	// commit). A write that cannot be made durable fails and is not applied.
	Always
	// Snapshot keeps only the periodic snapshots (Options.BackupInterval)
	// and the one at Close: a crash loses the writes since the last one.
	Snapshot
	// None keeps the store in memory only (a log and snapshots on tmpfs,
	// never fsynced): it survives the crash of any process, including
	// the leader (minus about the last 10 ms of writes, which the log
	// writes to tmpfs together), but not a reboot, and is removed when
	// the last process closes it.
	None
)

// String returns the name of the mode.
func (d Durability) String() string {
	switch d {
	case Interval:
		return "Interval"
	case Always:
		return "Always"
	case Snapshot:
		return "Snapshot"
	case None:
		return "None"
	}
	return fmt.Sprintf("Durability(%d)", int(d))
}

// logged reports whether the mode keeps an operation log.
func (d Durability) logged() bool { return d != Snapshot }

// memoryDir returns the tmpfs directory that holds the files of a store
// whose durability is None: one per store directory and user.
func memoryDir(dir string) (string, error) {
	base := "/dev/shm"
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		base = os.TempDir()
	}
	sum := sha256.Sum256([]byte(dir))
	path := filepath.Join(base, fmt.Sprintf("cyberdb-%d-%s", os.Geteuid(), hex.EncodeToString(sum[:8])))
	if err := os.MkdirAll(path, 0o700); err != nil {
		return "", fmt.Errorf("cyberdb: create memory directory: %w", err)
	}
	if err := checkOwned(path); err != nil {
		return "", err
	}
	return path, nil
}
