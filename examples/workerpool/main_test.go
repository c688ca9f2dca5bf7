package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
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
	}{
		{"many jobs", 2000, 4},
		{"empty queue", 0, 2},
		{"more workers than jobs", 3, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runWorkerpool(t, tt.jobs, tt.workers)
			wantHead := fmt.Sprintf("workerpool: %d jobs, %d workers, ", tt.jobs, tt.workers)
			wantTail := fmt.Sprintf("workerpool: OK: %d results, 0 missing, 0 wrong, 0 extra, 0 duplicates, 0 left in queue\n", tt.jobs)
			if !bytes.HasPrefix(out, []byte(wantHead)) || !bytes.HasSuffix(out, []byte(wantTail)) {
				t.Fatalf("summary:\n%s\nwant it to start with %q and end with %q", out, wantHead, wantTail)
			}
			if sum := sumPerWorker(t, out); sum != tt.jobs {
				t.Errorf("per-worker counts add up to %d, want %d", sum, tt.jobs)
			}
		})
	}
}

// runWorkerpool runs the example with a private TMPDIR, checks that it
// succeeds and removes its temporary store, and returns its output.
func runWorkerpool(t *testing.T, jobs, workers int) []byte {
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
	cmd := exec.CommandContext(ctx, bin, "-jobs", strconv.Itoa(jobs), "-workers", strconv.Itoa(workers))
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
