package main

import (
	"flag"
	"fmt"
	"time"
)

// largeConfig holds the flags of the suites on a large dict: memory and
// snapshot.
type largeConfig struct {
	memoryKeys    int
	memoryValue   int
	snapshotKeys  int
	snapshotValue int
	snapshots     int
	snapshotGap   time.Duration
	snapshotMode  string
}

// flags registers the memory and snapshot suites' flags.
func (c *largeConfig) flags(fs *flag.FlagSet) func() error {
	fs.IntVar(&c.memoryKeys, "memory-keys", 1_000_000, "memory suite: keys loaded")
	fs.IntVar(&c.memoryValue, "memory-value", 64, "memory suite: value size in bytes")
	fs.IntVar(&c.snapshotKeys, "snapshot-keys", 1_000_000, "snapshot suite: keys in the dict")
	fs.IntVar(&c.snapshotValue, "snapshot-value", 64, "snapshot suite: value size in bytes")
	fs.IntVar(&c.snapshots, "snapshots", 3, "snapshot suite: Save calls")
	fs.DurationVar(&c.snapshotGap, "snapshot-gap", 300*time.Millisecond, "snapshot suite: time without Save before, between and after the Save calls")
	fs.StringVar(&c.snapshotMode, "snapshot-mode", "snapshot", "snapshot suite: Durability mode of the store (snapshot: no log, so no snapshot but ours)")
	return func() error { return nil }
}

// validate checks the values.
func (c *largeConfig) validate() error {
	switch {
	case c.memoryKeys < 1 || c.snapshotKeys < 1 || c.snapshots < 1:
		return fmt.Errorf("bench: -memory-keys, -snapshot-keys and -snapshots must be at least 1")
	case c.memoryValue < 0 || c.snapshotValue < 0 || c.snapshotGap < 0:
		return fmt.Errorf("bench: -memory-value, -snapshot-value and -snapshot-gap must not be negative")
	}
	return nil
}
