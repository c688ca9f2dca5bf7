package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/examples/internal/extest"
)

func TestMain(m *testing.M) { extest.Main(m) }

// build compiles the example once and returns the binary's path.
func build() (string, error) { return extest.Build("workerpool") }

func TestWorkerpool(t *testing.T) {
	tests := []struct {
		name          string
		jobs, workers int
		args          []string
		long          bool
	}{
		{"many jobs", 1000, 4, []string{"-work", "0"}, true},
		{"empty queue", 0, 2, nil, false},
		{"more workers than jobs", 3, 4, nil, false},
		// Worker 1 is killed as soon as it takes a job: slow jobs make
		// sure that the kill lands before the job is done.
		{"killed worker", 200, 4, []string{"-kill", "-work", "10ms"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.long && testing.Short() {
				t.Skip("skipped in short mode")
			}
			args := append([]string{"-jobs", strconv.Itoa(tt.jobs), "-workers", strconv.Itoa(tt.workers)}, tt.args...)
			out := runWorkerpool(t, args...)
			wantHead := fmt.Sprintf("workerpool: %d jobs, %d workers, ", tt.jobs, tt.workers)
			wantTail := fmt.Sprintf("workerpool: OK: %d results, 0 missing, 0 wrong, 0 extra, 0 duplicates, 0 queued, 0 in progress\n", tt.jobs)
			if !bytes.Contains(out, []byte(wantHead)) || !bytes.HasSuffix(out, []byte(wantTail)) {
				t.Fatalf("summary:\n%s\nwant it to contain %q and end with %q", out, wantHead, wantTail)
			}
			if sum := sumPerWorker(t, out); sum != tt.jobs {
				t.Errorf("per-worker counts add up to %d, want %d", sum, tt.jobs)
			}
			if slices.Contains(tt.args, "-kill") {
				checkKill(t, out)
			}
		})
	}
}

// Lines of the output of -kill.
var (
	killedLine    = regexp.MustCompile(`(?m)^killing worker 1, which holds job \d+$`)
	recoveredLine = regexp.MustCompile(`(?m)^recovered job (\d+) of dead worker (\d+)$`)
)

// checkKill checks that worker 1 was killed holding a job, and that its
// job, and no other worker's, was recovered.
func checkKill(t *testing.T, out []byte) {
	if !killedLine.Match(out) {
		t.Fatalf("no worker killed:\n%s", out)
	}
	recovered := recoveredLine.FindAllSubmatch(out, -1)
	for _, m := range recovered {
		if string(m[2]) != "1" {
			t.Errorf("recovered a job of worker %s, which was not killed:\n%s", m[2], out)
		}
	}
	if len(recovered) == 0 {
		t.Errorf("no job recovered:\n%s", out)
	}
}

// runWorkerpool runs the example with args and a private TMPDIR, checks
// that it succeeds and removes its temporary store, and returns its
// output.
func runWorkerpool(t *testing.T, args ...string) []byte {
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "-timeout", "20s")...)
	cmd.Env = append(testEnv(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("workerpool: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	t.Logf("ran in %v", time.Since(start).Round(time.Millisecond))
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary store not removed: %v", left)
	}
	return stdout.Bytes()
}

// testEnv returns the environment of the example: the test's, without the
// race detector's one-second pause at the exit of every process.
func testEnv() []string {
	return append(os.Environ(), "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
}

// perWorker matches a per-worker line of the summary.
var perWorker = regexp.MustCompile(`(?m)^  worker (\d+): (\d+) jobs$`)

// sumPerWorker adds up the per-worker job counts of the summary.
func sumPerWorker(t *testing.T, out []byte) int {
	sum := 0
	for _, m := range perWorker.FindAllSubmatch(out, -1) {
		n, err := strconv.Atoi(string(m[2]))
		if err != nil {
			t.Fatal(err)
		}
		sum += n
	}
	return sum
}
