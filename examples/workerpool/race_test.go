//go:build race

package main

// raceEnabled reports whether the test binary, and so the example binary
// it builds, uses the race detector.
const raceEnabled = true
