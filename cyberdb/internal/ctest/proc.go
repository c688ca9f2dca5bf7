package ctest

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Lines returns the child's standard output, one line per value, closed
// once the child has exited. It is for tests that consume every line
// themselves; Expect must not be used on the same child.
func (c *Child) Lines() <-chan string { return c.lines }

// Exited reports whether the child has exited.
func (c *Child) Exited() bool { return Closed(c.done) }

// KillAt sends SIGKILL, waits for the child to be gone and returns the
// time just before the signal was sent.
func (c *Child) KillAt() time.Time {
	at := time.Now()
	c.Kill()
	return at
}

// WaitStopped polls until every thread of the child is stopped by a
// signal (state T in /proc), failing the test after timeout. It returns
// the time it saw them all stopped.
func (c *Child) WaitStopped(timeout time.Duration) time.Time {
	c.t.Helper()
	Eventually(c.t, timeout, "child "+c.name+" stopped", func() bool { return allStopped(c.PID()) })
	return time.Now()
}

// allStopped reports whether every thread of process pid is stopped.
func allStopped(pid int) bool {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		if taskState(pid, task.Name()) != 'T' {
			return false
		}
	}
	return true
}

// ProcState returns the state letter of process pid from /proc (R, S, T,
// Z...), or 0 if the process does not exist.
func ProcState(pid int) byte {
	return taskState(pid, strconv.Itoa(pid))
}

// taskState returns the state letter of thread tid of process pid, or 0.
func taskState(pid int, tid string) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + tid + "/stat")
	if err != nil {
		return 0
	}
	// The command name in parentheses may hold spaces; the state follows it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// Running reports whether process pid exists and is not a zombie.
func Running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	s := ProcState(pid)
	return s != 0 && s != 'Z' && s != 'X'
}

// Rand returns a random generator seeded from CYBERDB_SEED if set, else at
// random, and logs the seed so a failure can be replayed.
func Rand(t testing.TB) *rand.Rand {
	t.Helper()
	seed, err := strconv.ParseUint(os.Getenv("CYBERDB_SEED"), 10, 64)
	if err != nil {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (set CYBERDB_SEED=%d to replay)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// Rounds returns how many rounds a chaos test runs: short in -short mode,
// def otherwise, or the number in CYBERDB_SOAK when set (for long soaks).
func Rounds(short, def int) int {
	if n, err := strconv.Atoi(os.Getenv("CYBERDB_SOAK")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return short
	}
	return def
}

// Between returns a random duration in [lo, hi].
func Between(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
}

// CloseStdin closes the child's standard input, which asks it to exit,
// without waiting for it; Wait collects the exit status.
func (c *Child) CloseStdin() {
	c.stdin.Close()
}
