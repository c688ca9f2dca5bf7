package cyberdb_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// The primitives' process tests run locks, blocking lists, watches,
// expiry, IncrWithTTL and transactions across real processes: prim
// children (primitives_child_test.go) driven through their standard
// input, the leader among them killed with SIGKILL. Stores are in Always
// mode unless a test says otherwise, so that every acknowledged write
// survives a kill and the tests can assert exact outcomes.

// newPrimFleet returns a fleet for a new Always store.
func newPrimFleet(t *testing.T) *primFleet {
	return newPrimFleetConf(t, storeConf{Durability: cyberdb.Always})
}

// newPrimFleetConf returns a fleet for a new store configured by conf.
func newPrimFleetConf(t *testing.T, conf storeConf) *primFleet {
	return &primFleet{fleet: newFleet(t, conf), used: map[*proc]map[int]bool{}}
}

// primFleet is a fleet of prim processes.
type primFleet struct {
	*fleet
	used map[*proc]map[int]bool // protected by fleet.mu: the lines wait matched
}

// startPrim starts a prim process in slot and waits until it is ready.
func (f *primFleet) startPrim(slot int) *proc {
	f.t.Helper()
	p := f.start("prim", slot)
	f.wait(p, "ready")
	return p
}

// startPrimLeader starts the first process of the store, which must lead.
func (f *primFleet) startPrimLeader(slot int) *proc {
	f.t.Helper()
	p := f.start("prim", slot)
	if role := f.wait(p, "role "); !strings.HasPrefix(role, "true") {
		f.t.Fatalf("the first process of the store: role %s", role)
	}
	f.wait(p, "ready")
	return p
}

// open opens the store in this process, closed at cleanup.
func (f *primFleet) open() *cyberdb.DB {
	f.t.Helper()
	db, err := cyberdb.Open(f.store, f.conf.options())
	must(f.t, err)
	f.t.Cleanup(func() { db.Close() })
	return db
}

// snapshotted returns the value of key in dict table of the store's last
// snapshot, and whether it is there.
func (f *primFleet) snapshotted(table, key string) (int64, bool) {
	f.t.Helper()
	tables, _, err := backup.Read(filepath.Join(f.store, "data.cdb"))
	if err != nil {
		return 0, false
	}
	for _, td := range tables {
		if e, ok := td.Dict[key]; ok && td.Name == table {
			var n int64
			must(f.t, ipc.DefaultCodec.Unmarshal(e.V, &n))
			return n, true
		}
	}
	return 0, false
}

// send sends p a command.
func (f *primFleet) send(p *proc, format string, args ...any) {
	p.c.Send(fmt.Sprintf(format, args...))
}

// wait waits for a line of p, not matched by an earlier wait, that starts
// with prefix, and returns the rest of it. It fails the test at once if p
// reports a failed command.
func (f *primFleet) wait(p *proc, prefix string) string {
	f.t.Helper()
	line := f.waitFor(p, fmt.Sprintf("%q", prefix), func(l string) bool { return strings.HasPrefix(l, prefix) })
	return strings.TrimSpace(strings.TrimPrefix(line, prefix))
}

// waitFor waits for a line of p, not matched before, for which match
// holds, and returns it.
func (f *primFleet) waitFor(p *proc, what string, match func(string) bool) string {
	f.t.Helper()
	var found string
	f.eventually(childTimeout, p.name+" prints "+what, func() bool {
		f.checkFailed(p)
		if f.used[p] == nil {
			f.used[p] = map[int]bool{}
		}
		for i, line := range p.lines {
			if !f.used[p][i] && match(line) {
				f.used[p][i], found = true, line
				return true
			}
		}
		return false
	})
	return found
}

// waitUint is wait for a line whose rest is a number.
func (f *primFleet) waitUint(p *proc, prefix string) uint64 {
	f.t.Helper()
	rest := f.wait(p, prefix)
	n, err := strconv.ParseUint(rest, 10, 64)
	if err != nil {
		f.t.Fatalf("%s: %s%s: %v", p.name, prefix, rest, err)
	}
	return n
}

// checkFailed fails the test if p reported a failed command; f.mu is
// held.
func (f *primFleet) checkFailed(p *proc) {
	for _, line := range p.lines {
		if strings.HasPrefix(line, "fail ") {
			f.t.Fatalf("%s: %s", p.name, line)
		}
	}
}

// checkNoFailures fails the test if any process reported a failed
// command.
func (f *primFleet) checkNoFailures() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.procs {
		f.checkFailed(p)
	}
}

// linesOf returns the rest of every line of p that starts with prefix;
// f.mu is held.
func (f *primFleet) linesOf(p *proc, prefix string) []string {
	var out []string
	for _, line := range p.lines {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			out = append(out, rest)
		}
	}
	return out
}

// lines is linesOf for a caller that does not hold f.mu.
func (f *primFleet) lines(p *proc, prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.linesOf(p, prefix)
}

// primFields splits each of lines into its integer fields.
func primFields(t *testing.T, lines []string) [][]int64 {
	t.Helper()
	out := make([][]int64, len(lines))
	for i, line := range lines {
		for _, w := range strings.Fields(line) {
			n, err := strconv.ParseInt(w, 10, 64)
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			out[i] = append(out[i], n)
		}
	}
	return out
}

// primFirsts returns the first integer field of each of lines.
func primFirsts(t *testing.T, lines []string) []int64 {
	t.Helper()
	var out []int64
	for _, f := range primFields(t, lines) {
		out = append(out, f[0])
	}
	return out
}

// primPause stops ps with SIGSTOP and waits until they are stopped, which
// keeps them out of an election.
func primPause(ps ...*proc) {
	for _, p := range ps {
		p.c.Signal(syscall.SIGSTOP)
	}
	for _, p := range ps {
		p.c.WaitStopped(childTimeout)
	}
}

// primResume continues ps after primPause.
func primResume(ps ...*proc) {
	for _, p := range ps {
		p.c.Signal(syscall.SIGCONT)
	}
}

// primTerm returns the term of a revision or fencing token.
func primTerm(rev uint64) uint64 { return rev >> 40 }

// primPromptly bounds how long a lock of a dead process may stay held (its
// lease is a minute).
const primPromptly = 5 * time.Second

// TestPrimProc_LockFreedWhenClientDies kills a client process that holds
// a lock with a lease of a minute: the leader, waiting in Lock, gets it
// at once, with a larger fencing token.
func TestPrimProc_LockFreedWhenClientDies(t *testing.T) {
	f := newPrimFleet(t)
	db := f.open()
	if !db.IsLeader() {
		t.Fatal("the first process of the store does not lead")
	}
	ctx := testCtx(t)
	c := f.startPrim(1)
	f.send(c, "trylock job 1m")
	tok := f.waitUint(c, "locked job ")
	if _, err := db.TryLock(ctx, "job", time.Minute); !errors.Is(err, cyberdb.ErrLocked) {
		t.Fatalf("TryLock of a lock a live client holds: %v, want ErrLocked", err)
	}
	type result struct {
		l   *cyberdb.Lock
		err error
		at  time.Time
	}
	got := make(chan result, 1)
	go func() {
		l, err := db.Lock(ctx, "job", time.Minute)
		got <- result{l, err, time.Now()}
	}()
	killed := f.kill(c)
	var r result
	select {
	case r = <-got:
	case <-time.After(primPromptly):
		t.Fatalf("Lock still waits %v after the holder was killed", primPromptly)
	}
	must(t, r.err)
	took := r.at.Sub(killed)
	t.Logf("the leader got the lock %v after the client holding it was killed", took)
	if took < 0 || took > primPromptly {
		t.Errorf("Lock returned %v after the holder was killed, want within %v (and not before)", took, primPromptly)
	}
	if r.l.Token() <= tok {
		t.Errorf("fencing token %d after the dead holder's %d", r.l.Token(), tok)
	}
	must(t, r.l.Unlock(ctx))
	f.checkNoFailures()
	f.shutdown()
}

// TestPrimProc_LockFreedAtTakeover kills a leader process that holds a
// lock with a lease of a minute: this process, a client until then,
// gets it at once after the takeover, with a fencing token of a later
// term. The lock a live client process holds stays its own across the
// takeover.
func TestPrimProc_LockFreedAtTakeover(t *testing.T) {
	f := newPrimFleet(t)
	l := f.startPrimLeader(0)
	c := f.startPrim(1)
	db := f.open()
	if db.IsLeader() {
		t.Fatal("a process opened after the leader leads")
	}
	ctx := testCtx(t)
	f.send(l, "trylock job 1m")
	tokL := f.waitUint(l, "locked job ")
	f.send(c, "trylock keep 1m")
	tokC := f.waitUint(c, "locked keep ")
	for _, name := range []string{"job", "keep"} {
		if _, err := db.TryLock(ctx, name, time.Minute); !errors.Is(err, cyberdb.ErrLocked) {
			t.Fatalf("TryLock of %q held by a live process: %v, want ErrLocked", name, err)
		}
	}
	killed := f.kill(l)
	lctx, cancel := context.WithTimeout(ctx, primPromptly)
	defer cancel()
	lk, err := db.Lock(lctx, "job", time.Minute)
	if err != nil {
		t.Fatalf("the lock of the killed leader is still held %v after it died: %v", time.Since(killed), err)
	}
	t.Logf("after the leader holding the lock was killed, this process (leader=%v) got it in %v", db.IsLeader(), time.Since(killed))
	if lk.Token() <= tokL || primTerm(lk.Token()) <= primTerm(tokL) {
		t.Errorf("fencing token %d (term %d) after the dead leader's %d (term %d): want a later term", lk.Token(), primTerm(lk.Token()), tokL, primTerm(tokL))
	}
	if lk.Token() <= tokC {
		t.Errorf("fencing token %d after %d", lk.Token(), tokC)
	}
	if _, err := db.TryLock(ctx, "keep", time.Minute); !errors.Is(err, cyberdb.ErrLocked) {
		t.Fatalf("TryLock of the lock of a live client after the takeover: %v, want ErrLocked", err)
	}
	f.send(c, "refresh keep")
	f.wait(c, "refreshed keep")
	f.send(c, "unlock keep")
	f.wait(c, "unlocked keep")
	k, err := db.TryLock(ctx, "keep", time.Minute)
	must(t, err)
	if k.Token() <= lk.Token() {
		t.Errorf("fencing token %d after %d", k.Token(), lk.Token())
	}
	f.checkNoFailures()
	f.shutdown()
}

// TestPrimProc_LockFreedWhenLeaderCloses has the leader process take a
// lock with a lease of a minute and close the store, then exit at once
// or go on running without the store. Like a client's, its lock must not
// outlive its Close: this process, the next leader, gets it at once.
func TestPrimProc_LockFreedWhenLeaderCloses(t *testing.T) {
	for _, then := range []string{"exit", "live"} {
		t.Run(then, func(t *testing.T) {
			f := newPrimFleet(t)
			l := f.startPrimLeader(0)
			db := f.open()
			ctx := testCtx(t)
			f.send(l, "trylock job 1m")
			tok := f.waitUint(l, "locked job ")
			closing := time.Now()
			f.send(l, "close %s", then)
			f.wait(l, "closed ok")
			lctx, cancel := context.WithTimeout(ctx, primPromptly)
			defer cancel()
			lk, err := db.Lock(lctx, "job", time.Minute)
			if err != nil {
				t.Fatalf("the lock of the leader that closed the store (and %s) is still held %v after Close began: %v", then, time.Since(closing), err)
			}
			t.Logf("this process (leader=%v) got the lock %v after the leader began to close", db.IsLeader(), time.Since(closing))
			if lk.Token() <= tok {
				t.Errorf("fencing token %d after %d", lk.Token(), tok)
			}
			f.checkNoFailures()
			f.shutdown()
		})
	}
}

// TestPrimProc_ClientLockSurvivesHandover has a client process hold a
// lock while the leader process closes the store gracefully: the client
// lives, so its lock stays its own on the next leader, which it can
// refresh and release, and which nobody else can take meanwhile.
func TestPrimProc_ClientLockSurvivesHandover(t *testing.T) {
	f := newPrimFleet(t)
	l := f.startPrimLeader(0)
	c := f.startPrim(1)
	db := f.open()
	ctx := testCtx(t)
	f.send(c, "trylock keep 1m")
	tok := f.waitUint(c, "locked keep ")
	f.send(l, "close")
	f.wait(l, "closed ok")
	if _, err := db.TryLock(ctx, "keep", time.Minute); !errors.Is(err, cyberdb.ErrLocked) {
		t.Fatalf("after the leader closed (this process leads: %v), TryLock of the lock a live client holds: %v, want ErrLocked", db.IsLeader(), err)
	}
	f.send(c, "refresh keep")
	f.wait(c, "refreshed keep")
	f.send(c, "unlock keep")
	f.wait(c, "unlocked keep")
	k, err := db.TryLock(ctx, "keep", time.Minute)
	must(t, err)
	if k.Token() <= tok {
		t.Errorf("fencing token %d after %d", k.Token(), tok)
	}
	f.checkNoFailures()
	f.shutdown()
}

// TestPrimProc_LockFreedWhenHolderDiesDuringTakeover has a client process
// hold a lock with a lease of a minute and stops it, kills the leader and
// kills the client once this process has taken over, before the client
// could attach to it: the lock must be released when its holder dies, not
// when its lease runs out.
func TestPrimProc_LockFreedWhenHolderDiesDuringTakeover(t *testing.T) {
	f := newPrimFleet(t)
	l := f.startPrimLeader(0)
	c := f.startPrim(1)
	db := f.open()
	ctx := testCtx(t)
	f.send(c, "trylock job 1m")
	tok := f.waitUint(c, "locked job ")
	primPause(c)
	f.kill(l)
	ctest.Eventually(t, childTimeout, "this process leads", db.IsLeader)
	if _, err := db.TryLock(ctx, "job", time.Minute); !errors.Is(err, cyberdb.ErrLocked) {
		t.Fatalf("TryLock of the lock of a live (stopped) client after the takeover: %v, want ErrLocked", err)
	}
	died := f.kill(c)
	lctx, cancel := context.WithTimeout(ctx, primPromptly)
	defer cancel()
	lk, err := db.Lock(lctx, "job", time.Minute)
	if err != nil {
		t.Fatalf("the lock of a client that died is still held %v after its death: %v", time.Since(died), err)
	}
	t.Logf("this process got the lock %v after its holder died", time.Since(died))
	if lk.Token() <= tok {
		t.Errorf("fencing token %d after %d", lk.Token(), tok)
	}
	f.checkNoFailures()
	f.shutdown()
}

// TestPrimProc_FencingTokensGrowAcrossTakeovers takes locks in the leader
// and in a client, kills the leader and takes a lock in the next one,
// round after round: every token is larger than all before it, a token
// of a new leader is of a later term, and the lock the dead leader held
// is free for the next one at once. In Always mode every grant survives
// the kill; in Interval mode with a commit interval of an hour none does,
// and the next leader must still never hand out a token as small.
func TestPrimProc_FencingTokensGrowAcrossTakeovers(t *testing.T) {
	t.Run("always", func(t *testing.T) { fencingTokens(t, storeConf{Durability: cyberdb.Always}) })
	t.Run("interval", func(t *testing.T) {
		fencingTokens(t, storeConf{Durability: cyberdb.Interval, CommitInterval: time.Hour})
	})
}

func fencingTokens(t *testing.T, conf storeConf) {
	f := newPrimFleetConf(t, conf)
	f.startPrimLeader(0)
	f.startPrim(1)
	f.startPrim(2)
	var last uint64
	next := func(who string, tok uint64) {
		t.Helper()
		if tok <= last {
			t.Errorf("%s got fencing token %d after %d", who, tok, last)
		}
		last = tok
	}
	for r := range ctest.Rounds(2, 5) {
		l, _ := f.leader(childTimeout)
		name := fmt.Sprintf("f%d", r)
		f.send(l, "trylock %s 1m", name)
		tok := f.waitUint(l, "locked "+name+" ")
		next(l.name+" (leader)", tok)
		c := f.live()[0]
		if c == l {
			c = f.live()[1]
		}
		f.send(c, "trylock %s 1m", name)
		f.wait(c, "busy "+name)
		f.send(c, "trylock g%d 1m", r)
		next(c.name+" (client)", f.waitUint(c, fmt.Sprintf("locked g%d ", r)))
		f.send(c, "unlock g%d", r)
		f.wait(c, fmt.Sprintf("unlocked g%d", r))
		killed := f.kill(l)
		n, _ := f.leader(childTimeout)
		f.send(n, "trylock %s 1m", name)
		line := f.waitFor(n, "the result of trylock "+name, func(s string) bool {
			return strings.HasPrefix(s, "locked "+name+" ") || s == "busy "+name
		})
		if line == "busy "+name {
			t.Fatalf("round %d: the lock %q of the killed leader is still held after the takeover", r, name)
		}
		tokN, err := strconv.ParseUint(strings.Fields(line)[2], 10, 64)
		must(t, err)
		t.Logf("round %d: %s got %q %v after %s was killed; token %d (term %d) after %d (term %d)",
			r, n.name, name, time.Since(killed), l.name, tokN, primTerm(tokN), tok, primTerm(tok))
		next(n.name+" (new leader)", tokN)
		if primTerm(tokN) <= primTerm(tok) {
			t.Errorf("round %d: the new leader's token %d is of term %d, the dead leader's %d of term %d", r, tokN, primTerm(tokN), tok, primTerm(tok))
		}
		f.startPrim(l.slot)
	}
	f.checkNoFailures()
	f.shutdown()
}

// TestPrimProc_QueueJobOfDeadWorker runs a reliable queue: worker
// processes move a job each to the list of jobs in progress and are
// killed before they finish it. The jobs wait there, requeued they are
// done by a live worker, and no job is lost or done twice. Workers
// killed while they wait on an empty list take nothing that comes later.
func TestPrimProc_QueueJobOfDeadWorker(t *testing.T) {
	const jobs, dying = 8, 3
	f := newPrimFleet(t)
	db := f.open()
	ctx := testCtx(t)
	var all []string
	for i := range jobs {
		all = append(all, fmt.Sprintf("job-%d", i))
	}
	queue, err := db.CreateList(ctx, "jobs", all)
	must(t, err)
	inflight, err := db.CreateList(ctx, "inflight")
	must(t, err)
	taken := map[string]bool{}
	var workers []*proc
	for i := range dying {
		w := f.startPrim(i)
		f.send(w, "movewait jobs inflight")
		job := f.wait(w, "took ")
		if taken[job] {
			t.Fatalf("%s took %s, which another worker took", w.name, job)
		}
		taken[job] = true
		workers = append(workers, w)
	}
	for _, w := range workers {
		f.kill(w)
	}
	var held, waiting []string
	must(t, inflight.ToSlice(ctx, &held))
	must(t, queue.ToSlice(ctx, &waiting))
	if len(held) != dying || !primAllIn(held, taken) {
		t.Fatalf("in progress after the workers died: %v, want the jobs they took: %v", held, taken)
	}
	if want := slices.DeleteFunc(slices.Clone(all), func(j string) bool { return taken[j] }); !slices.Equal(waiting, want) {
		t.Fatalf("queue %v, want %v", waiting, want)
	}
	for {
		ok, err := inflight.Move(ctx, queue, cyberdb.Front, cyberdb.Back, nil)
		must(t, err)
		if !ok {
			break
		}
	}
	primDeadWaiters(t, f, db)
	w := f.startPrim(dying + 2)
	f.send(w, "work jobs inflight %d", jobs)
	f.wait(w, fmt.Sprintf("worked %d", jobs))
	done := f.lines(w, "done ")
	slices.Sort(done)
	if !slices.Equal(done, all) {
		t.Errorf("the live worker did %v, want each of %v once", done, all)
	}
	for _, l := range []*cyberdb.List{queue, inflight} {
		if n, err := l.Len(ctx); err != nil || n != 0 {
			t.Errorf("list %s holds %d jobs at the end (%v), want none", l.Name(), n, err)
		}
	}
	f.checkNoFailures()
	f.shutdown()
}

// primAllIn reports whether every element of s is in set and none twice.
func primAllIn(s []string, set map[string]bool) bool {
	seen := map[string]bool{}
	for _, x := range s {
		if !set[x] || seen[x] {
			return false
		}
		seen[x] = true
	}
	return true
}

// primDeadWaiters has two processes wait on empty lists, one in
// MoveWait and one in PopWait, kills them once the leader (db) serves
// their calls and checks that elements appended once the calls are gone
// stay where they were put.
func primDeadWaiters(t *testing.T, f *primFleet, db *cyberdb.DB) {
	t.Helper()
	ctx := testCtx(t)
	idle, err := db.CreateList(ctx, "idle")
	must(t, err)
	idle2, err := db.CreateList(ctx, "idle2")
	must(t, err)
	mover, popper := f.startPrim(90), f.startPrim(91)
	f.send(mover, "movewait idle inflight")
	f.send(popper, "consume idle2 1")
	ctest.Eventually(t, childTimeout, "the leader serves both waits", func() bool { return cyberdb.WaitingCalls(db) == 2 })
	f.kill(mover)
	f.kill(popper)
	ctest.Eventually(t, childTimeout, "the leader ends the waits of the dead", func() bool { return cyberdb.WaitingCalls(db) == 0 })
	for _, l := range []*cyberdb.List{idle, idle2} {
		must(t, l.Append(ctx, "late"))
		var got []string
		must(t, l.ToSlice(ctx, &got))
		if !slices.Equal(got, []string{"late"}) {
			t.Errorf("list %s holds %v after a dead waiter's call ended, want [late]", l.Name(), got)
		}
		must(t, l.Clear(ctx))
	}
}

// TestPrimProc_PopWaitAcrossTakeover has a consumer process wait in
// PopWait for what a producer process appends while the leader is killed
// again and again, once while the consumer waits on an empty list and
// once while both are busy. The two are stopped during each election, so
// that they stay clients and their calls are retried on the next leader.
// A last leader closes gracefully with no process stopped, while the
// consumer waits. The consumer gets every element, once, in order,
// including those appended after the takeovers.
func TestPrimProc_PopWaitAcrossTakeover(t *testing.T) {
	const batch = 20
	f := newPrimFleet(t)
	f.startPrimLeader(0)
	c, p := f.startPrim(1), f.startPrim(2)
	f.startPrim(3)
	rounds := ctest.Rounds(2, 4)
	n := (rounds + 1) * batch
	f.send(c, "consume q %d", n)
	f.wait(c, "consuming")
	got := func() int { return len(f.linesOf(c, "got ")) }
	for r := range rounds {
		busy := r%2 == 1
		from, to := r*batch+1, (r+1)*batch
		if busy {
			f.send(p, "appendn q %d %d 2ms", from, to)
			f.eventually(childTimeout, "a third of the batch appended", func() bool { return len(f.linesOf(p, "appended ")) >= from-1+batch/3 })
		} else {
			f.send(p, "appendn q %d %d 0", from, to)
			f.wait(p, fmt.Sprintf("appenddone %d", to))
			f.eventually(childTimeout, "the consumer takes the batch", func() bool { return got() == to })
		}
		primPause(c, p)
		l, _ := f.leader(childTimeout)
		killed := f.kill(l)
		next, since := f.leader(childTimeout)
		primResume(c, p)
		t.Logf("round %d (busy=%v): %s killed with %d elements taken, %d appended; %s led %v later",
			r, busy, l.name, len(f.lines(c, "got ")), len(f.lines(p, "appended ")), next.name, since.Sub(killed))
		f.startPrim(l.slot)
		if busy {
			f.wait(p, fmt.Sprintf("appenddone %d", to))
		}
	}
	f.eventually(childTimeout, "the consumer takes every batch", func() bool { return got() == rounds*batch })
	f.mu.Lock()
	if c.leading || p.leading {
		t.Errorf("the consumer (leader=%v) or the producer (leader=%v), stopped during each election, leads", c.leading, p.leading)
	}
	f.mu.Unlock()
	l, _ := f.leader(childTimeout)
	f.send(l, "close exit")
	f.wait(l, "closed ok")
	next, _ := f.leader(childTimeout)
	t.Logf("%s closed; %s leads", l.name, next.name)
	f.send(p, "appendn q %d %d 0", rounds*batch+1, n)
	f.wait(c, fmt.Sprintf("consumed %d", n))
	var want []int64
	for v := range n {
		want = append(want, int64(v+1))
	}
	if taken := primFirsts(t, f.lines(c, "got ")); !slices.Equal(taken, want) {
		t.Errorf("the consumer got %v, want 1 to %d once each in order", taken, n)
	}
	if put := primFirsts(t, f.lines(p, "appended ")); !slices.Equal(put, want) {
		t.Errorf("the producer appended %v, want 1 to %d", put, n)
	}
	f.checkNoFailures()
	f.shutdown()
}

// primEvent is an event a prim process printed.
type primEvent struct {
	rev        uint64
	typ, key   string
	value, old string
}

// primEvents parses the "ev" lines of p.
func (f *primFleet) primEvents(p *proc) []primEvent {
	f.t.Helper()
	var evs []primEvent
	for _, line := range f.lines(p, "ev ") {
		w := strings.Fields(line)
		if len(w) != 5 {
			f.t.Fatalf("%s: malformed event line %q", p.name, line)
		}
		rev, err := strconv.ParseUint(w[0], 10, 64)
		must(f.t, err)
		evs = append(evs, primEvent{rev, w[1], w[2], w[3], w[4]})
	}
	return evs
}

// TestPrimProc_WatchAcrossTakeover has a client process watch a dict
// (from now on, resuming after every 25 events) while the leader sets a
// key to 1, 2, 3, ... and is killed mid-way; the next leader continues
// from the value it finds. The watcher is stopped during the election,
// so that its watch resumes on the next leader from a client. It sees
// every value exactly once, in order, with growing revisions: every
// write the killed leader acknowledged and every one after.
func TestPrimProc_WatchAcrossTakeover(t *testing.T) {
	f := newPrimFleet(t)
	w := f.startPrimLeader(0)
	f.send(w, "ensuredict w")
	f.wait(w, "ensured w")
	v, s := f.startPrim(1), f.startPrim(2)
	f.send(v, "watch w 25")
	f.send(w, "count w v 1000000 1ms")
	f.eventually(childTimeout, "writes and events", func() bool {
		return len(f.linesOf(w, "wrote ")) >= 60 && len(f.linesOf(v, "ev ")) >= 30
	})
	primPause(v)
	killed := f.kill(w)
	next, since := f.leader(childTimeout)
	primResume(v)
	acked := primFirsts(t, f.lines(w, "wrote "))
	more := ctest.Rounds(50, 200)
	f.send(s, "count w v %d 0", more)
	start, _ := strconv.ParseInt(f.wait(s, "start "), 10, 64)
	end, _ := strconv.ParseInt(f.wait(s, "countdone "), 10, 64)
	t.Logf("%d writes acknowledged before the kill, the next leader %s (%v later) found %d; %d more written",
		len(acked), next.name, since.Sub(killed), start, end-start)
	if last := acked[len(acked)-1]; start < last || start > last+1 {
		t.Errorf("after the takeover the key holds %d; the killed leader acknowledged up to %d", start, last)
	}
	f.eventually(childTimeout, "the watcher sees the last write", func() bool {
		evs := f.linesOf(v, "ev ")
		return len(evs) > 0 && strings.Contains(evs[len(evs)-1], fmt.Sprintf(" v %d ", end))
	})
	evs := f.primEvents(v)
	first, _ := strconv.ParseInt(evs[0].value, 10, 64)
	var lastBefore uint64
	for i, ev := range evs {
		want := strconv.FormatInt(first+int64(i), 10)
		if ev.typ != "set" || ev.key != "v" || ev.value != want {
			t.Fatalf("event %d: %+v, want a set of v to %s (events %+v)", i, ev, want, evs)
		}
		if i > 0 && ev.rev <= evs[i-1].rev {
			t.Fatalf("event %d: revision %d after %d", i, ev.rev, evs[i-1].rev)
		}
		if val := first + int64(i); val <= start {
			lastBefore = ev.rev
		} else if primTerm(ev.rev) <= primTerm(lastBefore) {
			t.Fatalf("event %d: revision %d after the takeover is of term %d, that of the write before it %d", i, ev.rev, primTerm(ev.rev), primTerm(lastBefore))
		}
	}
	if first > start {
		t.Errorf("the watch saw no write from before the kill: its first value is %d", first)
	}
	rewatches := len(f.lines(v, "rewatch "))
	t.Logf("the watcher saw values %d to %d, %d events, resuming %d times", first, end, len(evs), rewatches)
	if rewatches == 0 {
		t.Error("the watcher never resumed a watch")
	}
	f.checkNoFailures()
	f.shutdown()
}

// TestPrimProc_WatchBehindSnapshotAcrossTakeover has a client process
// watch a dict while the leader, which snapshots every 20 ms, writes to
// it. The watcher is stopped, a few writes behind, until a snapshot holds
// writes it has not seen; then the leader is killed. Before the kill the
// leader held those writes in the watch history; after it, the watch must
// go on and see each of them (a takeover only delays a watch), not fail
// with ErrCompacted.
func TestPrimProc_WatchBehindSnapshotAcrossTakeover(t *testing.T) {
	f := newPrimFleetConf(t, storeConf{Durability: cyberdb.Always, BackupInterval: 20 * time.Millisecond})
	w := f.startPrimLeader(0)
	f.send(w, "ensuredict w")
	f.wait(w, "ensured w")
	v, s := f.startPrim(1), f.startPrim(2)
	f.send(v, "watch w 1000000")
	f.send(w, "count w v 1000000 1ms")
	f.eventually(childTimeout, "events", func() bool { return len(f.linesOf(v, "ev ")) >= 20 })
	primPause(v)
	evs := f.primEvents(v)
	seen, _ := strconv.ParseInt(evs[len(evs)-1].value, 10, 64)
	ctest.Eventually(t, childTimeout, "a snapshot holds writes the watcher has not seen", func() bool {
		n, ok := f.snapshotted("w", "v")
		return ok && n > seen+20
	})
	snap, _ := f.snapshotted("w", "v")
	f.kill(w)
	t.Logf("the watcher saw up to %d; the last snapshot holds %d", seen, snap)
	f.leader(childTimeout)
	primResume(v)
	f.send(s, "count w v 20 0")
	end, _ := strconv.ParseInt(f.wait(s, "countdone "), 10, 64)
	f.eventually(childTimeout, "the watcher sees the last write", func() bool {
		f.checkFailed(v)
		evs := f.linesOf(v, "ev ")
		return strings.Contains(evs[len(evs)-1], fmt.Sprintf(" v %d ", end))
	})
	evs = f.primEvents(v)
	first, _ := strconv.ParseInt(evs[0].value, 10, 64)
	for i, ev := range evs {
		if want := strconv.FormatInt(first+int64(i), 10); ev.value != want {
			t.Fatalf("event %d sets v to %s, want %s", i, ev.value, want)
		}
	}
	f.checkNoFailures()
	f.shutdown()
}

// primWatchLog collects what a watch of this process yields.
type primWatchLog struct {
	mu  sync.Mutex // protects evs and err
	evs []cyberdb.Event
	err error
}

// primStartWatch watches table of db from now on, until the test ends.
func primStartWatch(t *testing.T, db *cyberdb.DB, table string) *primWatchLog {
	ctx, cancel := context.WithCancel(context.Background())
	w := &primWatchLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range db.Watch(ctx, table, nil) {
			w.mu.Lock()
			w.evs, w.err = append(w.evs, ev), err
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return w
}

// events returns the events of type typ seen so far, failing the test if
// the watch failed.
func (w *primWatchLog) events(t *testing.T, typ cyberdb.EventType) []cyberdb.Event {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		t.Fatalf("watch: %v", w.err)
	}
	var out []cyberdb.Event
	for _, ev := range w.evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// TestPrimProc_ExpiryAcrossTakeover sets keys with a TTL in a leader
// process, stops it until some of them are past their deadline and kills
// it. The next leader (this process) never returns those, removes them at
// once (its watch, started before, sees each expire once), and the others
// keep their absolute deadlines: they are there until then, not longer.
// A dict's default TTL survives too. The next leader restores the keys
// from the log, or from a snapshot taken after they were set.
func TestPrimProc_ExpiryAcrossTakeover(t *testing.T) {
	t.Run("log", func(t *testing.T) { expiryAcrossTakeover(t, storeConf{Durability: cyberdb.Always}) })
	t.Run("snapshot", func(t *testing.T) {
		expiryAcrossTakeover(t, storeConf{Durability: cyberdb.Always, BackupInterval: 20 * time.Millisecond})
	})
}

func expiryAcrossTakeover(t *testing.T, conf storeConf) {
	const keys = 10
	const shortTTL, longTTL, defTTL = 700 * time.Millisecond, 2 * time.Second, time.Hour
	f := newPrimFleetConf(t, conf)
	l := f.startPrimLeader(0)
	db := f.open()
	ctx := testCtx(t)
	d, err := db.CreateDict(ctx, "e")
	must(t, err)
	watch := primWatchNow(t, db, d)
	f.send(l, "defttl dflt %s", defTTL)
	f.wait(l, "defttl dflt")
	f.send(l, "setttls e later %d %s", keys, longTTL)
	later := primFields(t, []string{f.wait(l, "ttlset later ")})[0]
	f.send(l, "setttls e gone %d %s", keys, shortTTL)
	gone := primFields(t, []string{f.wait(l, "ttlset gone ")})[0]
	if conf.BackupInterval > 0 {
		ctest.Eventually(t, childTimeout, "a snapshot holds the keys", func() bool {
			_, ok := f.snapshotted("e", fmt.Sprintf("gone%d", keys-1))
			return ok
		})
	}
	primPause(l)
	stopped := time.Now()
	exercised := stopped.Before(time.Unix(0, gone[0]).Add(shortTTL))
	if !exercised {
		t.Logf("the leader stopped %v after the short deadlines began: it may have removed keys itself", stopped.Sub(time.Unix(0, gone[0]).Add(shortTTL)))
	}
	goneBy := time.Unix(0, gone[1]).Add(shortTTL)
	ctest.Eventually(t, childTimeout, "the short deadlines pass", func() bool { return time.Now().After(goneBy) })
	killed := f.kill(l)
	primCheckGone(t, d, keys)
	t.Logf("read %v after the kill", time.Since(killed))
	if !db.IsLeader() {
		t.Fatal("this process, the only one left, does not lead")
	}
	primCheckDeadline(t, d, "later0", later, longTTL)
	dflt, err := db.Dict(ctx, "dflt")
	must(t, err)
	must(t, dflt.Set(ctx, "x", 1))
	if left, _, err := dflt.TTL(ctx, "x"); err != nil || left < defTTL-time.Minute {
		t.Errorf("a key written without TTL after the takeover has %v left (%v), want the dict's default %v", left, err, defTTL)
	}
	ctest.Eventually(t, primPromptly, "every key past its deadline expires", func() bool {
		return len(watch.events(t, cyberdb.EventExpire)) >= keys
	})
	primCheckExpiresAt(t, d, "later0", later, longTTL)
	ctest.Eventually(t, primPromptly, "every key expires", func() bool { return len(watch.events(t, cyberdb.EventExpire)) >= 2*keys })
	primCheckExpired(t, watch.events(t, cyberdb.EventSet), watch.events(t, cyberdb.EventExpire), keys, exercised)
	if n, err := d.Len(ctx); err != nil || n != 1 {
		t.Errorf("the dict holds %d keys (%v), want only ping", n, err)
	}
	f.checkNoFailures()
}

// primWatchNow watches d from now on and returns once the watch sees a
// write of its own, to key "ping".
func primWatchNow(t *testing.T, db *cyberdb.DB, d *cyberdb.Dict) *primWatchLog {
	t.Helper()
	watch := primStartWatch(t, db, d.Name())
	ping := 0
	ctest.Eventually(t, childTimeout, "the watch sees a write", func() bool {
		ping++
		must(t, d.Set(context.Background(), "ping", ping))
		return len(watch.events(t, cyberdb.EventSet)) > 0
	})
	return watch
}

// primCheckGone checks that no read returns gone0 ... gone<keys-1>, past
// their deadlines, and that the dict holds ping and later0 ... only. Half
// of the gone keys are never read by name, so that only the expirer
// removes them.
func primCheckGone(t *testing.T, d *cyberdb.Dict, keys int) {
	t.Helper()
	ctx := context.Background()
	names, err := d.Keys(ctx)
	must(t, err)
	for i := range keys {
		k := fmt.Sprintf("gone%d", i)
		if slices.Contains(names, k) {
			t.Errorf("Keys after the takeover returns %s, past its deadline", k)
		}
		if i%2 == 0 { // the others are never read: their removal is the expirer's
			if ok, err := d.Get(ctx, k, nil); err != nil || ok {
				t.Errorf("Get(%s) after the takeover: found=%v, %v; want not found", k, ok, err)
			}
		}
	}
	if _, ok, err := d.TTL(ctx, "gone0"); err != nil || ok {
		t.Errorf("TTL(gone0) after the takeover: exists=%v, %v; want not", ok, err)
	}
	var all map[string]int
	must(t, d.ToMap(ctx, &all))
	if len(all) != keys+1 {
		t.Errorf("after the takeover the dict holds %v, want ping and the %d keys not yet due", all, keys)
	}
}

// primCheckExpiresAt waits until key is gone and checks that it went at
// its deadline, ttl after a call made between the times in span (Unix
// nanoseconds): not before, and not much after.
func primCheckExpiresAt(t *testing.T, d *cyberdb.Dict, key string, span []int64, ttl time.Duration) {
	t.Helper()
	ctest.Eventually(t, childTimeout, key+" expires", func() bool {
		ok, err := d.Has(context.Background(), key)
		must(t, err)
		if ok {
			return false
		}
		if early := time.Until(time.Unix(0, span[0]).Add(ttl)); early > 10*time.Millisecond {
			t.Fatalf("%s expired %v before its deadline", key, early)
		}
		return true
	})
	if late := time.Since(time.Unix(0, span[1]).Add(ttl)); late > time.Second {
		t.Errorf("%s expired %v after its deadline", key, late)
	}
}

// TestPrimProc_LenAfterTakeoverCountsNoExpiredKey fills a dict with
// keys of a default TTL in a leader process, stops it until they are all
// past their deadline and kills it. The next leader (this process)
// removes them all at once; Len, called all along, must count none of
// them, like every other read.
func TestPrimProc_LenAfterTakeoverCountsNoExpiredKey(t *testing.T) {
	const keys, ttl = 5000, 300 * time.Millisecond
	f := newPrimFleet(t)
	l := f.startPrimLeader(0)
	db := f.open()
	ctx := testCtx(t)
	f.send(l, "defttl e %s", ttl)
	f.wait(l, "defttl e")
	d, err := db.Dict(ctx, "e")
	must(t, err)
	watch := primWatchNow(t, db, d)
	f.send(l, "fill e %d", keys)
	filled := primFields(t, []string{f.wait(l, "filled ")})[0]
	primPause(l)
	if time.Now().After(time.Unix(0, filled[0]).Add(ttl)) {
		t.Skip("the machine is too slow: the leader was stopped after the first deadline")
	}
	due := time.Unix(0, filled[1]).Add(ttl)
	ctest.Eventually(t, childTimeout, "the deadlines pass", func() bool { return time.Now().After(due) })
	f.kill(l)
	calls, wrong := 0, 0
	ctest.Eventually(t, childTimeout, "every key removed", func() bool {
		n, err := d.Len(ctx)
		must(t, err)
		if calls++; n != 0 {
			if wrong++; wrong == 1 {
				t.Errorf("Len = %d after every deadline passed", n)
			}
		}
		removed := 0
		for _, ev := range watch.events(t, cyberdb.EventExpire) {
			if strings.HasPrefix(ev.Key, "k") {
				removed++
			}
		}
		return removed == keys
	})
	t.Logf("Len was called %d times while the keys were removed, %d times with a count other than 0", calls, wrong)
	f.checkNoFailures()
}

// primCheckDeadline checks that key expires at its original deadline: ttl
// after a call made between the times in span (Unix nanoseconds).
func primCheckDeadline(t *testing.T, d *cyberdb.Dict, key string, span []int64, ttl time.Duration) {
	t.Helper()
	before := time.Now()
	left, ok, err := d.TTL(context.Background(), key)
	after := time.Now()
	if err != nil || !ok {
		t.Fatalf("TTL(%s): exists=%v, %v", key, ok, err)
	}
	const slack = 20 * time.Millisecond
	lo, hi := time.Unix(0, span[0]).Add(ttl-slack), time.Unix(0, span[1]).Add(ttl+slack)
	if before.Add(left).After(hi) || after.Add(left).Before(lo) {
		t.Errorf("%s has %v left: a deadline in [%s, %s], want one in [%s, %s]", key, left,
			before.Add(left).Format("15:04:05.000"), after.Add(left).Format("15:04:05.000"), lo.Format("15:04:05.000"), hi.Format("15:04:05.000"))
	}
}

// primCheckExpired checks the expiry events: one for each key, with its old
// value. When the dead leader was stopped before any deadline passed,
// the keys past theirs at the takeover must have been removed by the
// next leader: at a revision of a later term than their writes'.
func primCheckExpired(t *testing.T, sets, expires []cyberdb.Event, keys int, exercised bool) {
	t.Helper()
	written := map[string]uint64{}
	for _, ev := range sets {
		written[ev.Key] = ev.Rev
	}
	seen := map[string]bool{}
	for _, ev := range expires {
		i, err := strconv.Atoi(strings.TrimLeft(ev.Key, "abcdefghijklmnopqrstuvwxyz"))
		var old int
		if err != nil || ev.Old.Decode(&old) != nil || old != i || seen[ev.Key] {
			t.Errorf("expiry of %q with old value %v (seen before: %v)", ev.Key, ev.Old, seen[ev.Key])
		}
		seen[ev.Key] = true
		if exercised && strings.HasPrefix(ev.Key, "gone") && primTerm(ev.Rev) <= primTerm(written[ev.Key]) {
			t.Errorf("%s expired at revision %d, written at %d: of the same term, so not by the next leader", ev.Key, ev.Rev, written[ev.Key])
		}
	}
	if len(seen) != 2*keys {
		t.Errorf("%d keys expired, want %d: %v", len(seen), 2*keys, seen)
	}
}

// TestPrimProc_RateLimitWindow has 4 processes count hits of one fixed
// window with IncrWithTTL: the counts returned are 1 to the number of
// hits, once each, so exactly as many are admitted as the limit; the
// window's deadline is the one its first hit set. Once the window is
// expired the next hits start a new one from 1.
func TestPrimProc_RateLimitWindow(t *testing.T) {
	const procs, window = 4, 20 * time.Second
	f := newPrimFleet(t)
	db := f.open()
	ctx := testCtx(t)
	d, err := db.CreateDict(ctx, "rl")
	must(t, err)
	hits := ctest.Rounds(50, 100)
	var ps []*proc
	for i := range procs {
		ps = append(ps, f.startPrim(i))
	}
	seen := make([]int, procs)
	for w := range 2 {
		for _, p := range ps {
			f.send(p, "rate rl hits %s %d", window, hits)
		}
		var calls [][]int64
		for i, p := range ps {
			f.wait(p, "ratedone hits")
			all := primFields(t, f.lines(p, "rated "))
			calls = append(calls, all[seen[i]:]...)
			seen[i] = len(all)
		}
		primCheckWindow(t, d, calls, procs*hits, window)
		if w == 0 {
			_, err := d.Expire(ctx, "hits", time.Millisecond)
			must(t, err)
			ctest.Eventually(t, primPromptly, "the window ends", func() bool {
				ok, err := d.Has(ctx, "hits")
				must(t, err)
				return !ok
			})
		}
	}
	f.checkNoFailures()
	f.shutdown()
}

// primCheckWindow checks the calls of one window (count, start, end): counts
// 1 to total once each, the counter at total, and the deadline set by the
// first call.
func primCheckWindow(t *testing.T, d *cyberdb.Dict, calls [][]int64, total int, window time.Duration) {
	t.Helper()
	var counts []int64
	var creator []int64
	lastStart := int64(0)
	for _, c := range calls {
		counts = append(counts, c[0])
		if c[0] == 1 {
			creator = c
		}
		lastStart = max(lastStart, c[1])
	}
	slices.Sort(counts)
	for i, n := range counts {
		if n != int64(i+1) {
			t.Fatalf("the %d calls returned counts %v, want 1 to %d once each", len(counts), counts, total)
		}
	}
	if len(counts) != total {
		t.Fatalf("%d calls, want %d", len(counts), total)
	}
	admitted := 0
	for _, n := range counts {
		if n <= int64(total/4) {
			admitted++
		}
	}
	var n int64
	if ok, err := d.Get(context.Background(), "hits", &n); err != nil || !ok || n != int64(total) {
		t.Fatalf("the window's counter is %d (found=%v, %v), want %d", n, ok, err, total)
	}
	t.Logf("%d hits counted in %v; with a limit of %d, %d admitted", total, time.Duration(lastStart-creator[1]), total/4, admitted)
	primCheckDeadline(t, d, "hits", creator[1:], window)
}

// TestPrimProc_TxnTransfers has 4 processes each commit 100 transfers
// between 10 accounts, optimistically (GetVersion, then a transaction
// checking both versions), and increment a counter with Update, while
// the leader is killed once. The accounts always sum to the same total,
// in every read of them all in one transaction and in one call; the
// counts of transfers and updates committed are exact.
func TestPrimProc_TxnTransfers(t *testing.T) {
	const procs, accounts, txns, updates = 4, 10, 100, 25
	f := newPrimFleet(t)
	f.startPrimLeader(0)
	db := f.open()
	ctx := testCtx(t)
	start := map[string]int64{}
	for i := range accounts {
		start[bankKey(i)] = bankStart
	}
	d, err := db.CreateDict(ctx, "bank", start)
	must(t, err)
	rng := ctest.Rand(t)
	var ps []*proc
	for i := range procs {
		ps = append(ps, f.startPrim(i+1))
	}
	obs := observeBank(t, db, d, accounts)
	for _, p := range ps {
		f.send(p, "bank bank %d %d %d %d", accounts, txns, updates, rng.Uint32())
	}
	f.eventually(childTimeout, "every worker commits 20 transfers", func() bool {
		return allOf(ps, func(p *proc) bool { return len(f.linesOf(p, "bankprog ")) >= 2 })
	})
	l, _ := f.leader(childTimeout)
	f.kill(l)
	var commits, conflicts, ups int64
	for _, p := range ps {
		r := primFields(t, []string{f.wait(p, "bankdone ")})[0]
		commits, conflicts, ups = commits+r[0], conflicts+r[1], ups+r[2]
	}
	n, reads := obs.stop()
	t.Logf("%d transfers committed, %d lost a check, %d updates; this process read the accounts %d times", commits, conflicts, ups, n)
	if commits != procs*txns || ups != procs*updates {
		t.Fatalf("workers committed %d transfers and %d updates, want %d and %d", commits, ups, procs*txns, procs*updates)
	}
	for _, p := range ps {
		for _, s := range f.lines(p, "badsum ") {
			t.Errorf("%s read accounts summing to %s", p.name, s)
		}
	}
	for _, r := range reads {
		t.Error(r)
	}
	var got map[string]int64
	must(t, d.ToMap(ctx, &got))
	var sum int64
	for i := range accounts {
		sum += got[bankKey(i)]
	}
	if sum != accounts*bankStart || got["n"] != commits || got["u"] != ups {
		t.Errorf("at the end the accounts sum to %d, n=%d, u=%d; want %d, %d and %d", sum, got["n"], got["u"], accounts*bankStart, commits, ups)
	}
	f.checkNoFailures()
	f.shutdown()
}

// bankObserver reads the accounts again and again in this process.
type bankObserver struct {
	done   chan struct{}
	cancel context.CancelFunc
	n      int
	bad    []string
}

// observeBank reads the accounts of d until stop, in one transaction and
// with ToMap, recording each read that does not add up.
func observeBank(t *testing.T, db *cyberdb.DB, d *cyberdb.Dict, accounts int) *bankObserver {
	ctx, cancel := context.WithCancel(context.Background())
	o := &bankObserver{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(o.done)
		for ctx.Err() == nil {
			sum, err := bankSum(ctx, db, d, accounts)
			var m map[string]int64
			if err == nil {
				err = d.ToMap(ctx, &m)
			}
			switch {
			case ctx.Err() != nil:
			case err != nil:
				o.bad = append(o.bad, fmt.Sprintf("read %d: %v", o.n, err))
				return
			case sum != int64(accounts)*bankStart:
				o.bad = append(o.bad, fmt.Sprintf("a transaction read accounts summing to %d", sum))
			case primSumAccounts(m, accounts) != int64(accounts)*bankStart:
				o.bad = append(o.bad, fmt.Sprintf("ToMap read accounts summing to %d", primSumAccounts(m, accounts)))
			}
			o.n++
		}
	}()
	t.Cleanup(func() { o.stop() })
	return o
}

// stop ends the reads and returns how many there were and the bad ones.
func (o *bankObserver) stop() (int, []string) {
	o.cancel()
	<-o.done
	return o.n, o.bad
}

// primSumAccounts adds up accounts a0 ... of m.
func primSumAccounts(m map[string]int64, accounts int) int64 {
	var sum int64
	for i := range accounts {
		sum += m[bankKey(i)]
	}
	return sum
}
