package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"
)

// childEnv names the environment variable that makes the binary run as a
// child process of the given role instead of as the benchmark driver.
const childEnv = "CYBERDB_BENCH_CHILD"

// envelope is one message between the driver and a child: one JSON
// object per line, on the child's stdin (commands) and stdout (replies).
type envelope struct {
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data,omitempty"`
}

// errorMsg is the body of a child's "error" reply.
type errorMsg struct {
	Err string `json:"err"`
}

// child is a re-executed copy of this binary running one role.
type child struct {
	role string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  chan envelope // replies; closed when stdout ends
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done
}

// spawn starts this binary as a child of role; verbose passes the
// child's library logs through at info level instead of warnings only.
func spawn(role string, verbose bool) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: finding own binary: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+role, fmt.Sprintf("%s_VERBOSE=%t", childEnv, verbose))
	cmd.Stderr = os.Stderr
	c := &child{role: role, cmd: cmd, out: make(chan envelope, 16), done: make(chan struct{})}
	if c.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting %s process: %w", role, err)
	}
	go c.read(stdout)
	return c, nil
}

// read forwards the child's replies to c.out, then reaps the process.
func (c *child) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var m envelope
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			m = envelope{Kind: "error", Data: mustJSON(errorMsg{Err: "unparsable reply: " + sc.Text()})}
		}
		c.out <- m
	}
	close(c.out)
	c.err = c.cmd.Wait()
	close(c.done)
}

// pid returns the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// send writes one command to the child.
func (c *child) send(kind string, v any) error {
	b, err := json.Marshal(envelope{Kind: kind, Data: mustJSON(v)})
	if err != nil {
		return err
	}
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("bench: %s process %d: %w", c.role, c.pid(), err)
	}
	return nil
}

// recv waits up to timeout for a reply of the given kind and decodes its
// body into v (which may be nil). An "error" reply, an unexpected kind or
// the child's exit is an error.
func (c *child) recv(timeout time.Duration, kind string, v any) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m, ok := <-c.out:
		if !ok {
			<-c.done
			return fmt.Errorf("bench: %s process %d exited (%v) while %q was awaited", c.role, c.pid(), c.err, kind)
		}
		return c.decode(m, kind, v)
	case <-t.C:
		return fmt.Errorf("bench: %s process %d: no %q reply within %v", c.role, c.pid(), kind, timeout)
	}
}

// decode checks a reply's kind and unmarshals its body into v.
func (c *child) decode(m envelope, kind string, v any) error {
	if m.Kind == "error" {
		var e errorMsg
		json.Unmarshal(m.Data, &e)
		return fmt.Errorf("bench: %s process %d: %s", c.role, c.pid(), e.Err)
	}
	if m.Kind != kind {
		return fmt.Errorf("bench: %s process %d: got %q, want %q", c.role, c.pid(), m.Kind, kind)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(m.Data, v)
}

// call sends a command and waits for its reply.
func (c *child) call(kind string, v any, timeout time.Duration, replyKind string, reply any) error {
	if err := c.send(kind, v); err != nil {
		return err
	}
	return c.recv(timeout, replyKind, reply)
}

// stop closes the child's stdin, which asks it to close its store and
// exit, and waits up to timeout before killing it.
func (c *child) stop(timeout time.Duration) error {
	c.in.Close()
	select {
	case <-c.done:
		return c.err
	case <-time.After(timeout):
		c.kill()
		return fmt.Errorf("bench: %s process %d did not exit within %v; killed", c.role, c.pid(), timeout)
	}
}

// kill sends SIGKILL and waits for the process to be reaped.
func (c *child) kill() {
	c.cmd.Process.Kill()
	for range c.out { // drain so the reader can reap the process
	}
	<-c.done
}

// mustJSON marshals v, which is always one of this package's plain types.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// childRoles maps a role name to the function a child of that role runs.
var childRoles = map[string]func(*link) error{
	"leader": leaderMain,
	"client": clientMain,
	"node":   nodeMain,
	"echo":   echoMain,
}

// link is a child's end of the conversation with the driver.
type link struct {
	mu  sync.Mutex // protects enc
	enc *json.Encoder
	in  chan envelope // commands; closed at EOF (the driver asks to stop or died)
}

// runChild runs this process as a child of role and returns its exit code.
func runChild(role string) int {
	level := slog.LevelWarn
	if os.Getenv(childEnv+"_VERBOSE") == "true" {
		level = slog.LevelInfo
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	l := &link{enc: json.NewEncoder(os.Stdout), in: make(chan envelope, 16)}
	go l.read(os.Stdin)
	main, ok := childRoles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "bench: unknown child role %q\n", role)
		return 2
	}
	if err := main(l); err != nil {
		l.reply("error", errorMsg{Err: err.Error()})
		return 1
	}
	return 0
}

// read forwards commands from r until EOF.
func (l *link) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var m envelope
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			l.in <- m
		}
	}
	close(l.in)
}

// reply sends one message to the driver; safe for concurrent use.
func (l *link) reply(kind string, v any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.enc.Encode(envelope{Kind: kind, Data: mustJSON(v)})
}

// next waits for the next command; ok is false at EOF.
func (l *link) next() (envelope, bool) {
	m, ok := <-l.in
	return m, ok
}

// expect waits for a command of the given kind and decodes it into v.
func (l *link) expect(kind string, v any) error {
	m, ok := l.next()
	if !ok {
		return errors.New("driver closed the conversation")
	}
	if m.Kind != kind {
		return fmt.Errorf("got command %q, want %q", m.Kind, kind)
	}
	return decodeData(m, v)
}

// decodeData unmarshals a command's body into v.
func decodeData(cmd envelope, v any) error {
	if err := json.Unmarshal(cmd.Data, v); err != nil {
		return fmt.Errorf("command %q: %w", cmd.Kind, err)
	}
	return nil
}
