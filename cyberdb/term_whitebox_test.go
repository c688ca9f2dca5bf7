package cyberdb

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// termLeader returns a leader whose term file lies in dir and whose
// restored revisions are of term restored.
func termLeader(dir string, restored uint64) *leader {
	l := &leader{
		db:    &DB{log: slog.New(slog.DiscardHandler)},
		files: files{backup: filepath.Join(dir, "data.cdb")},
		eng:   engine.New(nil),
	}
	l.eng.SetRevision(restored<<termShift | 12)
	return l
}

// A new leader takes the term after the last leader's and after that of
// every restored revision, and leaves it in the term file, whichever of
// the two is ahead and whether or not the file can be read.
func TestTakeTerm(t *testing.T) {
	tests := []struct {
		name     string
		file     []byte // nil: no term file
		restored uint64 // the term of the restored revisions
		want     uint64
	}{
		{"first leader", nil, 0, 1},
		{"term file ahead", termBytes(t, 5), 3, 6},
		{"revisions ahead", termBytes(t, 2), 7, 8},
		{"same term", termBytes(t, 4), 4, 5},
		{"unreadable file", []byte("damaged"), 4, 5},
		{"unreadable file, no revisions", []byte("damaged"), 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := termLeader(t.TempDir(), tt.restored)
			if tt.file != nil {
				if err := os.WriteFile(l.files.termFile(), tt.file, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := l.takeTerm(l.startTerm()); got != tt.want {
				t.Fatalf("term %d, want %d", got, tt.want)
			}
			if got, err := readTerm(l.files.termFile()); err != nil || got != tt.want {
				t.Fatalf("the term file holds %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// An unreadable term file is left as it is until the restored revisions
// are known, so that a leader that fails to restore never replaces it
// with a lower term.
func TestStartTerm_Unreadable(t *testing.T) {
	l := termLeader(t.TempDir(), 0)
	if err := os.WriteFile(l.files.termFile(), []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	l.startTerm().wait()
	if b, err := os.ReadFile(l.files.termFile()); err != nil || string(b) != "damaged" {
		t.Fatalf("the term file holds %q, %v; want it untouched", b, err)
	}
}

// A leader that fails to start gives its term back, so that the term
// file holds the last leader's term again.
func TestDropTerm(t *testing.T) {
	for _, last := range []uint64{0, 5} {
		l := termLeader(t.TempDir(), 0)
		if last != 0 {
			if err := writeTerm(l.files.termFile(), last); err != nil {
				t.Fatal(err)
			}
		}
		l.dropTerm(l.startTerm())
		if got, err := readTerm(l.files.termFile()); err != nil || got != last {
			t.Fatalf("after a failed start the term file holds %d, %v; want %d", got, err, last)
		}
		if got := l.takeTerm(l.startTerm()); got != last+1 {
			t.Fatalf("the next leader takes term %d, want %d", got, last+1)
		}
	}
}

// A term whose early write fails is still taken, and written again once
// the restore is over: to the file if its directory has appeared since,
// and not at all if it still cannot be written.
func TestTakeTerm_EarlyWriteFails(t *testing.T) {
	for _, appears := range []bool{true, false} {
		dir := filepath.Join(t.TempDir(), "later")
		l := termLeader(dir, 0)
		p := l.startTerm()
		if p.wait(); p.err == nil {
			t.Fatal("the term was written without its directory")
		}
		if appears {
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if got := l.takeTerm(p); got != 1 {
			t.Fatalf("term %d, want 1", got)
		}
		if got, err := readTerm(l.files.termFile()); appears && (err != nil || got != 1) {
			t.Fatalf("the term file holds %d, %v; want 1", got, err)
		}
	}
}

// termBytes returns the content of a term file holding term.
func termBytes(t *testing.T, term uint64) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "term")
	if err := writeTerm(path, term); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
