//go:build unix

package backup

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockNB takes an exclusive flock on f without waiting.
func lockNB(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return fmt.Errorf("%s is locked: another Write to the same path is in progress", f.Name())
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return nil
}
