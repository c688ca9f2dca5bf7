//go:build !race

package extest

// raceEnabled reports whether this binary, and so the examples it builds,
// uses the race detector.
const raceEnabled = false
