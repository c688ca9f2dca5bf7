package cyberdb_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// TestTakeover_GracefulHandover closes the leader while two worker
// processes write: their calls go on, on the next leader, without an
// error, and every acknowledged increment is counted exactly once. It
// logs how long the workers waited.
func TestTakeover_GracefulHandover(t *testing.T) {
	f := newFleet(t, storeConf{})
	l := f.start("ctl", 0)
	f.expect(l, "role true", childTimeout)
	f.expect(l, "ready", childTimeout)
	ws := []*proc{f.start("worker", 1), f.start("worker", 2)}
	f.eventually(childTimeout, "workers write", func() bool { return allOf(ws, func(p *proc) bool { return len(p.acks) >= 20 }) })
	l.c.Send("close")
	closing := unixNS(f.expect(l, "closing ", childTimeout))
	closedAt, result, _ := strings.Cut(f.expect(l, "closed ", childTimeout), " ")
	closed := unixNS(closedAt)
	if result != "ok" {
		t.Errorf("leader's Close: %s", result)
	}
	f.eventually(childTimeout, "workers write after the handover", func() bool {
		return allOf(ws, func(p *proc) bool { return countAcks(p, closed) >= 20 })
	})
	next, since := f.leader(childTimeout)
	t.Logf("Close took %v; %s led %v after it began", closed.Sub(closing), next.name, since.Sub(closing))
	f.mu.Lock()
	for _, w := range ws {
		first, pause := handoverWait(w.acks, closing)
		t.Logf("%s: next acknowledged write %v after Close began; longest pause between writes %v", w.name, first, pause)
		for _, e := range w.errs {
			t.Errorf("%s: %+v failed during a graceful handover: %s", w.name, e.opKey, e.msg)
		}
	}
	f.mu.Unlock()
	if err := l.c.Wait(childTimeout); err != nil {
		t.Errorf("leader exit: %v", err)
	}
	f.stopWorkers()
	got := f.read()
	f.shutdown()
	f.checkCounter(f.model(), got.n, lossWindow{})
}

// allOf reports whether cond holds for every process of ps.
func allOf(ps []*proc, cond func(*proc) bool) bool {
	for _, p := range ps {
		if !cond(p) {
			return false
		}
	}
	return true
}

// countAcks counts p's acknowledged calls started after t.
func countAcks(p *proc, t time.Time) int {
	n := 0
	for _, a := range p.acks {
		if a.start.After(t) {
			n++
		}
	}
	return n
}

// handoverWait returns how long after t the first call started after t
// was acknowledged, and the longest time between two acknowledgements
// around t (from the last one before t onward).
func handoverWait(acks []opAck, t time.Time) (first, pause time.Duration) {
	i := slices.IndexFunc(acks, func(a opAck) bool { return a.end.After(t) })
	if i < 0 {
		return -1, -1
	}
	first = -1
	for j := max(i, 1); j < len(acks); j++ {
		pause = max(pause, acks[j].end.Sub(acks[j-1].end))
		if first < 0 && acks[j].start.After(t) {
			first = acks[j].end.Sub(t)
		}
	}
	return first, pause
}

// TestTakeover_HungLeader stops the leader with SIGSTOP. It still holds
// the lock, so no other process may lead and nobody serves: the workers'
// calls, each with a 1 s deadline, must fail with a deadline or lost
// leader error instead of hanging, none may succeed, and no worker may
// claim the lead. After SIGCONT the calls succeed again with the same
// leader. Stopped again and then killed, the leader is replaced by one of
// the workers. With Always, every acknowledged increment is counted once.
func TestTakeover_HungLeader(t *testing.T) {
	const keepAlive, opTimeout = 200 * time.Millisecond, time.Second
	f := newFleet(t, storeConf{Durability: cyberdb.Always, KeepAlive: keepAlive})
	l := f.start("ctl", 0)
	f.expect(l, "role true", childTimeout)
	f.expect(l, "ready", childTimeout)
	ws := []*proc{f.start("worker", 1, "CDB_OP_TIMEOUT="+opTimeout.String()), f.start("worker", 2, "CDB_OP_TIMEOUT="+opTimeout.String())}
	f.eventually(childTimeout, "workers write", func() bool { return allOf(ws, func(p *proc) bool { return len(p.acks) >= 10 }) })

	l.c.Signal(syscall.SIGSTOP)
	stopped := l.c.WaitStopped(childTimeout)
	f.eventually(childTimeout, "workers' calls fail while the leader is stopped", func() bool {
		return allOf(ws, func(p *proc) bool { return countErrs(p, stopped) >= 2 })
	})
	f.checkHung(ws, stopped, opTimeout+2*time.Second)

	resumed := time.Now()
	l.c.Signal(syscall.SIGCONT)
	f.eventually(childTimeout, "workers write again after SIGCONT", func() bool {
		return allOf(ws, func(p *proc) bool { return p.ackedSince(resumed) })
	})
	if p, _ := f.leader(childTimeout); p != l {
		t.Errorf("after SIGCONT %s leads, want the resumed leader %s", p.name, l.name)
	}
	f.mu.Lock()
	for _, w := range ws {
		first, _ := handoverWait(w.acks, resumed)
		t.Logf("%s wrote again %v after SIGCONT", w.name, first)
	}
	f.mu.Unlock()

	l.c.Signal(syscall.SIGSTOP)
	stopped = l.c.WaitStopped(childTimeout)
	f.eventually(childTimeout, "workers' calls fail while the leader is stopped again", func() bool {
		return allOf(ws, func(p *proc) bool { return countErrs(p, stopped) >= 1 })
	})
	f.checkHung(ws, stopped, opTimeout+2*time.Second)
	killed := f.kill(l)
	next, since := f.leader(childTimeout)
	f.eventually(childTimeout, "workers write after the hung leader was killed", func() bool {
		return allOf(ws, func(p *proc) bool { return p.ackedSince(killed) })
	})
	f.leader(childTimeout)
	t.Logf("%s led %v after the stopped leader was killed", next.name, since.Sub(killed))

	f.stopWorkers()
	got := f.read()
	f.shutdown()
	f.checkCounter(f.model(), got.n, lossWindow{})
}

// countErrs counts p's failed calls started after t.
func countErrs(p *proc, t time.Time) int {
	n := 0
	for _, e := range p.errs {
		if e.start.After(t) {
			n++
		}
	}
	return n
}

// checkHung checks the workers while the leader is stopped since
// stopped: no call started since then succeeded, each failed within
// limit with a deadline or lost leader error, and no worker leads.
func (f *fleet) checkHung(ws []*proc, stopped time.Time, limit time.Duration) {
	t := f.t
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range ws {
		if w.leading {
			t.Errorf("%s leads while the stopped leader holds the lock", w.name)
		}
		for _, a := range w.acks {
			if a.start.After(stopped) {
				t.Errorf("%s: %+v started %v after the leader stopped and succeeded: someone else served it", w.name, a.opKey, a.start.Sub(stopped))
			}
		}
		for i, e := range w.errs {
			if !e.start.After(stopped) {
				continue
			}
			if took := e.end.Sub(e.start); e.class == "other" || took > limit {
				t.Errorf("%s: %+v failed after %v with %s", w.name, e.opKey, took, e.msg)
			}
			if i == len(w.errs)-1 {
				t.Logf("%s: a call to the stopped leader failed after %v: %s", w.name, e.end.Sub(e.start), e.msg)
			}
		}
	}
}

// TestTakeover_ForkedChildDoesNotHoldLock has the leader start a child
// process, which inherits no file of the store (they are close-on-exec),
// and kills the leader: this process takes over while the child still
// runs, and finds the acknowledged write.
func TestTakeover_ForkedChildDoesNotHoldLock(t *testing.T) {
	if _, err := os.Stat("/bin/sleep"); err != nil {
		t.Skip("no /bin/sleep")
	}
	conf := storeConf{Durability: cyberdb.Always}
	f := newFleet(t, conf)
	l := f.start("ctl", 0)
	f.expect(l, "role true", childTimeout)
	f.expect(l, "ready", childTimeout)
	db, err := cyberdb.Open(f.store, conf.options())
	must(t, err)
	t.Cleanup(func() { db.Close() })
	ctx := testCtx(t)
	d, err := db.Dict(ctx, "c")
	must(t, err)
	n, err := d.Incr(ctx, "n", 1)
	must(t, err)
	l.c.Send("fork")
	pid, _ := strconv.Atoi(f.expect(l, "forked ", childTimeout))
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if open := filesUnder(pid, f.store); len(open) > 0 {
		t.Errorf("the leader's child process %d has files of the store open: %v", pid, open)
	}
	f.kill(l)
	if !ctest.Running(pid) {
		t.Fatalf("the leader's child process %d ended with it", pid)
	}
	ctest.Eventually(t, 10*time.Second, "this process leads while the leader's child runs", db.IsLeader)
	var got int64
	if _, err := d.Get(ctx, "n", &got); err != nil || got != n {
		t.Errorf("after the takeover n = %d, %v; want %d", got, err, n)
	}
	if !ctest.Running(pid) {
		t.Errorf("the leader's child process %d ended during the takeover", pid)
	}
}

// filesUnder lists the open files of process pid that are in dir.
func filesUnder(pid int, dir string) []string {
	fds := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(fds)
	var open []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(fds, e.Name()))
		if err == nil && strings.HasPrefix(target, dir+"/") {
			open = append(open, target)
		}
	}
	return open
}

// TestTakeover_StartDuringTakeover kills the leader of three processes
// again and again, each time starting a new process at a random moment
// around the kill, so that it opens the store during the takeover.
// Afterwards exactly one process must lead and all must read the same
// counter, which holds every acknowledged increment (Always).
func TestTakeover_StartDuringTakeover(t *testing.T) {
	f := newFleet(t, storeConf{Durability: cyberdb.Always})
	rng := ctest.Rand(t)
	for s := range 3 {
		f.expect(f.start("ctl", s), "ready", childTimeout)
	}
	want := int64(0)
	for range ctest.Rounds(4, 10) {
		leader := f.agree(want)
		ps := f.live()
		want = f.ctlIncr(ps[rng.IntN(len(ps))], want)
		late := f.start("ctl", leader.slot)
		time.Sleep(ctest.Between(rng, 0, 250*time.Millisecond))
		f.kill(leader)
		f.expect(late, "ready", childTimeout)
	}
	f.agree(want)
	f.shutdown()
}

// agree asks every live process for its role and the counter: exactly
// one must lead and all must read want. It returns the leader.
func (f *fleet) agree(want int64) *proc {
	f.t.Helper()
	ps := f.live()
	for _, p := range ps {
		p.c.Send("status")
	}
	var leaders []string
	var leader *proc
	for _, p := range ps {
		var lead bool
		var n int64
		status := f.expect(p, "status ", childTimeout)
		if _, err := fmt.Sscanf(status, "leader=%t n=%d", &lead, &n); err != nil {
			f.t.Fatalf("%s: status %q: %v", p.name, status, err)
		}
		if n != want {
			f.t.Errorf("%s reads n=%d, want %d", p.name, n, want)
		}
		if lead {
			leaders = append(leaders, p.name)
			leader = p
		}
	}
	if len(leaders) != 1 {
		f.t.Fatalf("leaders %v among %d processes, want exactly one", leaders, len(ps))
	}
	return leader
}

// ctlIncr has p increment the counter, which must become want+1, and
// returns the new value.
func (f *fleet) ctlIncr(p *proc, want int64) int64 {
	f.t.Helper()
	f.mu.Lock()
	before := len(p.acks) + len(p.errs)
	f.mu.Unlock()
	p.c.Send("incr")
	f.eventually(childTimeout, p.name+" increments", func() bool { return len(p.acks)+len(p.errs) > before })
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(p.errs) > 0 {
		f.t.Fatalf("%s: increment failed: %s", p.name, p.errs[0].msg)
	}
	if got := p.acks[len(p.acks)-1].value; got != want+1 {
		f.t.Errorf("%s: Incr returned %d, want %d", p.name, got, want+1)
	}
	return want + 1
}
