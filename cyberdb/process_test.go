package cyberdb_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/journal"
	"github.com/cyberdb-go/cyberdb/ipc"
)

const childTimeout = 30 * time.Second

// TestProcess_IncrExact has 4 processes increment one counter 1000 times
// each; exactly 4000 increments must be counted.
func TestProcess_IncrExact(t *testing.T) {
	const procs, n = 4, 1000
	dir := ctest.Dir(t)
	var kids []*ctest.Child
	for range procs {
		c := ctest.StartChild(t, "incr", "CDB_DIR="+dir, "CDB_N="+strconv.Itoa(n))
		c.Expect("open ", childTimeout)
		kids = append(kids, c)
	}
	db := openClient(t, dir)
	ctx := testCtx(t)
	_, err := db.CreateDict(ctx, "c")
	must(t, err)
	for _, c := range kids {
		c.Send("go")
	}
	for _, c := range kids {
		c.Expect("done", childTimeout)
	}
	d, err := db.Dict(ctx, "c")
	must(t, err)
	var got int
	if _, err := d.Get(ctx, "n", &got); err != nil || got != procs*n {
		t.Fatalf("counter = %d, %v; want %d", got, err, procs*n)
	}
	must(t, db.Close())
	for _, c := range kids {
		if err := c.Stop(childTimeout); err != nil {
			t.Errorf("child exit: %v", err)
		}
	}
}

// TestProcess_RaceToLead starts two processes at once on a fresh
// directory, many times: exactly one must lead each time.
func TestProcess_RaceToLead(t *testing.T) {
	trials := 20
	if testing.Short() {
		trials = 5
	}
	for trial := range trials {
		dir := ctest.Dir(t)
		a := ctest.StartChild(t, "hold", "CDB_DIR="+dir)
		b := ctest.StartChild(t, "hold", "CDB_DIR="+dir)
		la := a.Expect("open leader=", childTimeout)
		lb := b.Expect("open leader=", childTimeout)
		if strings.HasPrefix(la, "true") == strings.HasPrefix(lb, "true") {
			t.Fatalf("trial %d: leaders %q and %q: want exactly one", trial, la, lb)
		}
		for _, c := range []*ctest.Child{a, b} {
			if err := c.Stop(childTimeout); err != nil {
				t.Fatalf("trial %d: child exit: %v", trial, err)
			}
		}
	}
}

// TestProcess_StaleSocketAndLock kills a leader with SIGKILL, leaving its
// socket file behind: the next process to open the store must lead, and
// the one after it attach.
func TestProcess_StaleSocketAndLock(t *testing.T) {
	dir := ctest.Dir(t)
	leader := ctest.StartChild(t, "hold", "CDB_DIR="+dir)
	if got := leader.Expect("open leader=", childTimeout); !strings.HasPrefix(got, "true") {
		t.Fatalf("first child: leader=%s", got)
	}
	leader.Kill()
	if _, err := os.Lstat(filepath.Join(dir, "sock")); err != nil {
		t.Fatalf("the killed leader left no socket file to test with: %v", err)
	}
	db := openLeader(t, dir)
	_, err := db.CreateDict(testCtx(t), "d")
	must(t, err)
	late := ctest.StartChild(t, "hold", "CDB_DIR="+dir)
	if got := late.Expect("open leader=", childTimeout); !strings.HasPrefix(got, "false") {
		t.Fatalf("process started after the new leader: leader=%s", got)
	}
	must(t, late.Stop(childTimeout))
}

// TestProcess_RestoreEqualsLastSnapshot kills a leader in Snapshot mode
// that writes continuously and checks that the next leader restores
// exactly the last snapshot, which holds only acknowledged writes.
func TestProcess_RestoreEqualsLastSnapshot(t *testing.T) {
	dir := ctest.Dir(t)
	w := ctest.StartChild(t, "counter", "CDB_DIR="+dir, "CDB_BACKUP_INTERVAL=20ms", "CDB_DURABILITY=Snapshot")
	w.Expect("open leader=true", childTimeout)
	path := filepath.Join(dir, "data.cdb")
	ctest.Eventually(t, childTimeout, "a snapshot holding a write", func() bool {
		tables, _, err := backup.Read(path)
		return err == nil && len(tables) == 1 && len(tables[0].Dict) == 1
	})
	acked := 0
	for acked < 50 {
		acked, _ = strconv.Atoi(w.Expect("acked ", childTimeout))
	}
	w.Kill()
	for _, line := range w.Rest(childTimeout) {
		if n, err := strconv.Atoi(strings.TrimPrefix(line, "acked ")); err == nil {
			acked = max(acked, n)
		}
	}
	tables, _, err := backup.Read(path)
	must(t, err)
	db := openLeaderWith(t, dir, func(o *cyberdb.Options) { o.Durability = cyberdb.Snapshot })
	ctx := testCtx(t)
	d, err := db.Dict(ctx, "c")
	must(t, err)
	var restored map[string]cyberdb.Value
	must(t, d.ToMap(ctx, &restored))
	var snapN, gotN int
	must(t, ipc.DefaultCodec.Unmarshal(tables[0].Dict["n"].V, &snapN))
	must(t, restored["n"].Decode(&gotN))
	if len(restored) != len(tables[0].Dict) || gotN != snapN {
		t.Fatalf("restored n=%d (%d keys), last snapshot n=%d (%d keys)", gotN, len(restored), snapN, len(tables[0].Dict))
	}
	if snapN < 1 || snapN > acked {
		t.Fatalf("snapshot n=%d, acknowledged up to %d", snapN, acked)
	}
	t.Logf("acknowledged %d, snapshot and restore hold %d", acked, snapN)
}

// TestProcess_GracefulRestartKeepsEverything closes a leader and reopens
// the store: everything written must be there.
func TestProcess_GracefulRestartKeepsEverything(t *testing.T) {
	dir := ctest.Dir(t)
	ctx := testCtx(t)
	want := map[string]int{"a": 1, "zero": 0, "neg": -5}
	db, err := cyberdb.Open(dir, testOptions())
	must(t, err)
	_, err = db.CreateDict(ctx, "d", want)
	must(t, err)
	must(t, db.Close())
	db = openLeader(t, dir)
	d, err := db.Dict(ctx, "d")
	must(t, err)
	var got map[string]int
	must(t, d.ToMap(ctx, &got))
	if !maps.Equal(got, want) {
		t.Fatalf("after restart %v, want %v", got, want)
	}
}

// TestOpen_CorruptBackup refuses to start on a damaged backup file and
// leaves the file, and the term of the last leader, as they were.
func TestOpen_CorruptBackup(t *testing.T) {
	dir := ctest.Dir(t)
	ctx := testCtx(t)
	db, err := cyberdb.Open(dir, testOptions())
	must(t, err)
	_, err = db.CreateDict(ctx, "d", map[string]string{"k": strings.Repeat("v", 5000)})
	must(t, err)
	must(t, db.Close())
	path := filepath.Join(dir, "data.cdb")
	data, err := os.ReadFile(path)
	must(t, err)
	at := bytes.Index(data, []byte("vvvvvvvv"))
	if at < 0 {
		t.Fatal("value not found in the backup file")
	}
	data[at+100] = 'w'
	must(t, os.WriteFile(path, data, 0o600))
	term, err := os.ReadFile(path + ".term")
	must(t, err)
	_, err = cyberdb.Open(dir, testOptions())
	if !errors.Is(err, cyberdb.ErrCorrupt) && !errors.Is(err, cyberdb.ErrForeign) {
		t.Fatalf("Open on a corrupt backup: %v, want ErrCorrupt", err)
	}
	t.Logf("Open: %v", err)
	after, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(after, data) {
		t.Fatal("Open changed the corrupt backup file")
	}
	if after, err := os.ReadFile(path + ".term"); err != nil || !bytes.Equal(after, term) {
		t.Fatalf("Open changed the term file: %x, %v; was %x", after, err, term)
	}
}

// TestServer_MalformedFrame sends garbage to the leader's socket: that
// connection is dropped, and the leader and its other clients go on.
func TestServer_MalformedFrame(t *testing.T) {
	dir := ctest.Dir(t)
	ctx := testCtx(t)
	leader := openLeader(t, dir)
	client := openClient(t, dir)
	d, err := client.CreateDict(ctx, "d")
	must(t, err)
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		bytes.Repeat([]byte{0xff}, 4096),
		{},
	} {
		conn, err := net.Dial("unix", filepath.Join(dir, "sock"))
		must(t, err)
		conn.Write(junk)
		conn.(*net.UnixConn).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(childTimeout))
		_, err = io.Copy(io.Discard, conn)
		conn.Close()
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("leader did not close a garbage connection: %v", err)
		}
	}
	must(t, d.Set(ctx, "still", "works"))
	if !leader.IsLeader() {
		t.Fatal("leader lost its role")
	}
}

// TestOpen_VersionMismatch attaches with another protocol version: Open
// must fail with ErrVersionMismatch and the leader must go on.
func TestOpen_VersionMismatch(t *testing.T) {
	dir := ctest.Dir(t)
	leader := openLeader(t, dir)
	restore := cyberdb.SetClientProtocolVersion(ipc.ProtocolVersion + 1)
	_, err := cyberdb.Open(dir, testOptions())
	restore()
	if !errors.Is(err, cyberdb.ErrVersionMismatch) {
		t.Fatalf("Open with another protocol version: %v, want ErrVersionMismatch", err)
	}
	t.Logf("Open: %v", err)
	if _, err := leader.CreateDict(testCtx(t), "d"); err != nil {
		t.Fatalf("leader after a version mismatch: %v", err)
	}
	openClient(t, dir)
}

// TestProcess_CorruptLogTail kills a writing leader, damages the last
// record of its log, and checks that the next leader restores everything
// before it and reports the loss.
func TestProcess_CorruptLogTail(t *testing.T) {
	dir := ctest.Dir(t)
	w := ctest.StartChild(t, "counter", "CDB_DIR="+dir, "CDB_DURABILITY=Always")
	w.Expect("open leader=true", childTimeout)
	w.Expect("acked 100", childTimeout) // in Always mode, acknowledged means committed
	w.Kill()
	logPath := filepath.Join(dir, "data.cdb.log")
	damageLastRecord(t, logPath)
	good, err := journal.Replay(logPath, 0, time.Second, func(uint64, []byte) error { return nil })
	if !errors.Is(err, journal.ErrTornTail) {
		t.Fatalf("replay of the damaged log: %v, want ErrTornTail", err)
	}
	var logs bytes.Buffer
	db := openLeaderWith(t, dir, func(o *cyberdb.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	})
	d, err := db.Dict(testCtx(t), "c")
	must(t, err)
	var n uint64
	if _, err := d.Get(testCtx(t), "n", &n); err != nil || n != good-1 {
		t.Fatalf("restored n = %d, %v; want %d, the last intact record", n, err, good-1)
	}
	if !strings.Contains(logs.String(), "damaged") {
		t.Fatalf("the loss was not logged; logs:\n%s", logs.String())
	}
	// The damaged tail is cut, so writes made from now on survive a restart.
	_, err = d.Incr(testCtx(t), "after", 1)
	must(t, err)
	must(t, db.Close())
	db = openLeader(t, dir)
	d, err = db.Dict(testCtx(t), "c")
	must(t, err)
	if ok, err := d.Has(testCtx(t), "after"); err != nil || !ok {
		t.Fatalf("a write made after the damaged tail was lost: %v, %v", ok, err)
	}
}

// damageLastRecord flips the last non-zero byte of a log file, which lies
// in its last record (the file is pre-allocated with zeros after it).
func damageLastRecord(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	end := len(bytes.TrimRight(data, "\x00"))
	if end == 0 {
		t.Fatal("the log is empty")
	}
	data[end-1] ^= 0xff
	must(t, os.WriteFile(path, data, 0o600))
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
