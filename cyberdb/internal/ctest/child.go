package ctest

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ChildEnv is the environment variable that tells a re-executed test
// binary which child role to play; TestMain dispatches on it.
const ChildEnv = "CYBERDB_TEST_CHILD"

// Child is a copy of the test binary running as another process. It
// reports through lines on its standard output and stops when told via
// its standard input.
type Child struct {
	t     testing.TB
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	mu    sync.Mutex   // protects log
	log   bytes.Buffer // everything the child printed, for failure reports
	done  chan struct{}
	err   error // the child's exit status, set before done closes
}

// StartChild runs the test binary as a child playing role, with extra
// environment variables. Its output is dumped if the test fails, and it
// is killed at cleanup if still running.
func StartChild(t testing.TB, role string, env ...string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), ChildEnv+"="+role), env...)
	c := &Child{t: t, name: role, cmd: cmd, lines: make(chan string, 1<<16), done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{c}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go c.read(stdout)
	t.Cleanup(c.cleanup)
	return c
}

// lockedWriter appends a child's standard error to its log.
type lockedWriter struct{ c *Child }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.log.Write(p)
}

// read forwards stdout lines and records the exit status.
func (c *Child) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		(&lockedWriter{c}).Write([]byte("stdout: " + line + "\n"))
		c.lines <- line
	}
	c.err = c.cmd.Wait()
	close(c.lines)
	close(c.done)
}

// PID returns the child's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Expect waits for the next line starting with prefix and returns the
// rest of it, failing the test on timeout or if the child exits first.
// Other lines are skipped.
func (c *Child) Expect(prefix string, timeout time.Duration) string {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("child %s (pid %d) exited (%v) before printing %q", c.name, c.PID(), c.err, prefix)
			}
			if rest, found := strings.CutPrefix(line, prefix); found {
				return strings.TrimSpace(rest)
			}
		case <-deadline:
			c.t.Fatalf("child %s (pid %d) did not print %q within %v", c.name, c.PID(), prefix, timeout)
		}
	}
}

// Send writes a line to the child's standard input.
func (c *Child) Send(line string) {
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		c.t.Errorf("child %s: send: %v", c.name, err)
	}
}

// Stop closes the child's standard input, which asks it to exit, and
// waits for it; it returns the exit status.
func (c *Child) Stop(timeout time.Duration) error {
	c.t.Helper()
	c.stdin.Close()
	return c.Wait(timeout)
}

// Wait waits for the child to exit and returns its exit status.
func (c *Child) Wait(timeout time.Duration) error {
	c.t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(timeout):
		c.t.Fatalf("child %s (pid %d) did not exit within %v", c.name, c.PID(), timeout)
		return nil
	}
}

// Kill sends SIGKILL and waits for the child to be gone.
func (c *Child) Kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// Signal sends sig to the child.
func (c *Child) Signal(sig os.Signal) {
	c.cmd.Process.Signal(sig)
}

// Done is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

func (c *Child) cleanup() {
	select {
	case <-c.done:
	default:
		c.Kill()
	}
	if c.t.Failed() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.t.Logf("child %s (pid %d) output:\n%s", c.name, c.PID(), c.log.String())
	}
}

// WaitStdin blocks a child until its parent closes standard input (or
// exits), then returns.
func WaitStdin() {
	io.Copy(io.Discard, os.Stdin)
}

// Eventually polls cond every few milliseconds until it holds, failing
// the test with msg after timeout.
func Eventually(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Rest waits for the child to exit and returns the lines it printed that
// Expect did not consume.
func (c *Child) Rest(timeout time.Duration) []string {
	c.t.Helper()
	c.Wait(timeout)
	var rest []string
	for line := range c.lines {
		rest = append(rest, line)
	}
	return rest
}
