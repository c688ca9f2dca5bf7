// Package ctest holds helpers for the tests of package cyberdb: short
// store directories, leader/client pairs, and child processes re-executed
// from the test binary.
package ctest

import (
	"log/slog"
	"os"
	"testing"
)

// Dir returns a new short directory for a store, removed at cleanup.
// Socket paths must fit in 108 bytes, which t.TempDir() may exceed.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Logger returns a logger for stores under test: quiet unless
// CYBERDB_TEST_LOG is set, when it logs to standard error.
func Logger() *slog.Logger {
	if os.Getenv("CYBERDB_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Closed reports whether ch is closed, without waiting.
func Closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
