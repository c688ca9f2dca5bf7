// Package extest builds the example programs for their tests, which run
// them as real processes.
package extest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once sync.Once
	bin  string // the built binary
	dir  string // the temporary directory holding it
	err  error
)

// Main runs the tests of an example and removes its binary afterwards;
// call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// Build compiles the example in the current directory once, with the race
// detector when the tests use it, and returns the binary's path.
func Build(name string) (string, error) {
	once.Do(func() {
		if dir, err = os.MkdirTemp("", "cdb"); err != nil {
			return
		}
		bin = filepath.Join(dir, name)
		args := []string{"build", "-o", bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, berr := exec.Command("go", append(args, ".")...).CombinedOutput()
		if berr != nil {
			err = fmt.Errorf("go build: %v\n%s", berr, out)
		}
	})
	return bin, err
}
