package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/examples/internal/extest"
)

func TestMain(m *testing.M) { extest.Main(m) }

// build compiles the example once and returns the binary's path.
func build() (string, error) { return extest.Build("prefork") }

func TestPrefork(t *testing.T) {
	dir := storeDir(t)
	s := startServer(t, dir)
	if body, _ := s.get(t, "/"); body != `{"code":1,"content":"Hello CyberDB!"}`+"\n" {
		t.Errorf("GET / = %q", body)
	}
	const n = 200
	pids := hitConcurrently(t, s, n)
	t.Logf("%d requests were answered by %d worker processes", n, len(pids))
	if got := s.peek(t); got != n {
		t.Errorf("hits after %d requests = %d", n, got)
	}
	s.stop(t)

	s = startServer(t, dir)
	if got := s.peek(t); got != n {
		t.Errorf("hits after a restart = %d, want %d", got, n)
	}
	s.stop(t)
}

func TestPrefork_RestartsDeadWorker(t *testing.T) {
	s := startServer(t, storeDir(t))
	_, pid := s.get(t, "/hits")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() bool {
		return strings.Contains(s.stderr.String(), "prefork: worker restarted")
	})
	for range 20 {
		if _, got := s.get(t, "/"); got == pid {
			t.Fatalf("killed worker %d answered", pid)
		}
	}
	s.stop(t)
}

// testEnv returns the environment of the example: the test's, without the
// race detector's one-second pause at the exit of every process.
func testEnv() []string {
	return append(os.Environ(), "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
}

// storeDir returns a fresh store directory, short enough for a socket path.
func storeDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "store")
}

// hitConcurrently sends n concurrent GET /hits, each on a new connection,
// checks that they were counted 1 to n, and returns the pids that
// answered.
func hitConcurrently(t *testing.T, s *server, n int) map[int]bool {
	hits := make([]int64, n)
	pids := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var body string
			body, pids[i] = s.get(t, "/hits")
			hits[i] = decodeHits(t, body)
		})
	}
	wg.Wait()
	slices.Sort(hits)
	for i, h := range hits {
		if h != int64(i+1) {
			t.Fatalf("sorted hit counts differ from 1..%d at %d: %v", n, i, hits)
		}
	}
	seen := map[int]bool{}
	for _, p := range pids {
		seen[p] = true
	}
	return seen
}

// decodeHits returns the counter of a /hits response.
func decodeHits(t *testing.T, body string) int64 {
	var r struct {
		Code int
		Hits int64
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Code != 1 {
		t.Errorf("bad /hits response %q: %v", body, err)
	}
	return r.Hits
}

// server is a running prefork parent.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	client *http.Client
	done   chan struct{} // closed when the parent exited
	err    error         // its exit error, set before done is closed
}

// startServer runs the example on a free port and waits until it serves.
func startServer(t *testing.T, dir string) *server {
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	s := &server{
		cmd:    exec.Command(bin, "-addr", addr, "-dir", dir, "-workers", "4"),
		addr:   addr,
		stderr: &syncBuffer{},
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second},
		done:   make(chan struct{}),
	}
	s.cmd.Env = testEnv()
	s.cmd.Stderr = s.stderr
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so cleanup can kill the workers too
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cleanup(t) })
	ready := make(chan struct{})
	go s.readStdout(stdout, ready)
	s.awaitReady(t, ready)
	return s
}

// readStdout closes ready when the ready line is printed, then reaps the
// parent once stdout ends.
func (s *server) readStdout(stdout io.Reader, ready chan struct{}) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if sc.Text() == fmt.Sprintf("prefork: serving on http://%s with 4 workers", s.addr) {
			close(ready)
		}
	}
	s.err = s.cmd.Wait()
	close(s.done)
}

func (s *server) awaitReady(t *testing.T, ready chan struct{}) {
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("prefork exited before serving: %v", s.err)
	case <-time.After(30 * time.Second):
		t.Fatal("prefork not ready after 30 s")
	}
}

// get fetches path on a new connection and returns the body and the pid
// of the worker that answered; it fails the test unless the status is 200.
func (s *server) get(t *testing.T, path string) (string, int) {
	resp, err := s.client.Get("http://" + s.addr + path)
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
		return "", 0
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s %q %v", path, resp.Status, body, err)
	}
	pid, _ := strconv.Atoi(resp.Header.Get("X-Worker-Pid"))
	return string(body), pid
}

// peek returns the hit counter without counting.
func (s *server) peek(t *testing.T) int64 {
	body, _ := s.get(t, "/hits?peek=1")
	return decodeHits(t, body)
}

// stop sends SIGTERM and checks that the parent exits with status 0.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatal("prefork still running 20 s after SIGTERM")
	}
	if s.err != nil {
		t.Fatalf("prefork exited with %v", s.err)
	}
}

// cleanup kills whatever is left of the process group and dumps the
// parent's and workers' logs if the test failed.
func (s *server) cleanup(t *testing.T) {
	select {
	case <-s.done:
	default:
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	if t.Failed() {
		t.Logf("prefork logs:\n%s", s.stderr.String())
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
