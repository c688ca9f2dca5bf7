package cyberdb_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// The role of the primitives' process tests (primitives_process_test.go).
// A "prim" process opens the shared store like the crash tests' roles
// (see openStore, which prints its role lines), prints "ready", and then
// runs each command it reads on standard input on a goroutine of its own,
// so that a blocking call holds up no other command. A command that fails
// prints "fail <command> <error>". The process closes the store when
// standard input ends.
func init() {
	children["prim"] = childPrim
}

// primCallTimeout bounds each command's calls, waits included.
const primCallTimeout = 25 * time.Second

// primChild is the state of a prim process.
type primChild struct {
	db *cyberdb.DB

	out sync.Mutex // serializes output lines

	mu    sync.Mutex // protects locks
	locks map[string]*cyberdb.Lock
}

func childPrim(_ context.Context, boot *cyberdb.DB) error {
	db, err := openStore(boot)
	if err != nil {
		return err
	}
	defer db.Close()
	p := &primChild{db: db, locks: map[string]*cyberdb.Lock{}}
	p.say("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		go p.run(sc.Text())
	}
	return db.Close()
}

// say prints one line.
func (p *primChild) say(format string, args ...any) {
	p.out.Lock()
	defer p.out.Unlock()
	fmt.Printf(format+"\n", args...)
}

// primCommands are the commands of a prim process, by name. Each takes
// the words after the name; see each function for what it prints.
var primCommands = map[string]func(p *primChild, ctx context.Context, a primArgs) error{
	"trylock":    (*primChild).tryLock,
	"lock":       (*primChild).lock,
	"refresh":    (*primChild).refresh,
	"unlock":     (*primChild).unlock,
	"ensuredict": (*primChild).ensureDict,
	"appendn":    (*primChild).appendN,
	"consume":    (*primChild).consume,
	"movewait":   (*primChild).moveWait,
	"work":       (*primChild).work,
	"watch":      (*primChild).watch,
	"count":      (*primChild).count,
	"setttls":    (*primChild).setTTLs,
	"rate":       (*primChild).rate,
	"bank":       (*primChild).bank,
	"close":      (*primChild).close,
	"defttl":     (*primChild).defaultTTL,
	"fill":       (*primChild).fill,
}

// run runs one command line.
func (p *primChild) run(line string) {
	w := strings.Fields(line)
	if len(w) == 0 {
		return
	}
	f, ok := primCommands[w[0]]
	if !ok {
		p.say("fail %s unknown command", w[0])
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), primCallTimeout)
	defer cancel()
	if err := f(p, ctx, primArgs{w: w[1:]}); err != nil {
		p.say("fail %s %v", w[0], err)
	}
}

// primArgs are the words of a command, parsed on demand. A word that is
// missing or malformed reads as the zero value and fails the command.
type primArgs struct {
	w   []string
	err error
}

func (a *primArgs) str(i int) string {
	if i >= len(a.w) {
		a.err = fmt.Errorf("missing argument %d", i)
		return ""
	}
	return a.w[i]
}

func (a *primArgs) int(i int) int64 {
	n, err := strconv.ParseInt(a.str(i), 10, 64)
	if err != nil && a.err == nil {
		a.err = err
	}
	return n
}

func (a *primArgs) dur(i int) time.Duration {
	d, err := time.ParseDuration(a.str(i))
	if err != nil && a.err == nil {
		a.err = err
	}
	return d
}

// tryLock NAME LEASE takes the lock and prints "locked NAME TOKEN", or
// "busy NAME" when another holder has it.
func (p *primChild) tryLock(ctx context.Context, a primArgs) error {
	name, lease := a.str(0), a.dur(1)
	if a.err != nil {
		return a.err
	}
	l, err := p.db.TryLock(ctx, name, lease)
	return p.locked(name, l, err)
}

// lock NAME LEASE waits for the lock (up to primCallTimeout) and prints
// "locked NAME TOKEN".
func (p *primChild) lock(ctx context.Context, a primArgs) error {
	name, lease := a.str(0), a.dur(1)
	if a.err != nil {
		return a.err
	}
	l, err := p.db.Lock(ctx, name, lease)
	return p.locked(name, l, err)
}

// locked reports the outcome of an acquisition.
func (p *primChild) locked(name string, l *cyberdb.Lock, err error) error {
	switch {
	case errors.Is(err, cyberdb.ErrLocked):
		p.say("busy %s", name)
		return nil
	case err != nil:
		return err
	}
	p.mu.Lock()
	p.locks[name] = l
	p.mu.Unlock()
	p.say("locked %s %d", name, l.Token())
	return nil
}

// held returns the lock named name this process took last.
func (p *primChild) held(name string) (*cyberdb.Lock, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.locks[name]
	if l == nil {
		return nil, fmt.Errorf("lock %q was never taken here", name)
	}
	return l, nil
}

// refresh NAME renews the lease and prints "refreshed NAME", or "notheld
// NAME".
func (p *primChild) refresh(ctx context.Context, a primArgs) error {
	l, err := p.held(a.str(0))
	if err != nil {
		return err
	}
	return p.lockCall(l, "refreshed", l.Refresh(ctx))
}

// unlock NAME releases the lock and prints "unlocked NAME", or "notheld
// NAME".
func (p *primChild) unlock(ctx context.Context, a primArgs) error {
	l, err := p.held(a.str(0))
	if err != nil {
		return err
	}
	return p.lockCall(l, "unlocked", l.Unlock(ctx))
}

func (p *primChild) lockCall(l *cyberdb.Lock, done string, err error) error {
	switch {
	case errors.Is(err, cyberdb.ErrNotHeld):
		p.say("notheld %s", l.Name())
	case err != nil:
		return err
	default:
		p.say("%s %s", done, l.Name())
	}
	return nil
}

// close closes the store and prints "closed ok" (or "closed <error>");
// with the argument "exit" the process then exits at once.
func (p *primChild) close(_ context.Context, a primArgs) error {
	err := p.db.Close()
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	p.say("closed %s", result)
	if len(a.w) > 0 && a.w[0] == "exit" {
		os.Exit(0)
	}
	return nil
}

// defaultTTL DICT TTL sets the dict's default TTL and prints "defttl
// DICT".
func (p *primChild) defaultTTL(ctx context.Context, a primArgs) error {
	name, ttl := a.str(0), a.dur(1)
	if a.err != nil {
		return a.err
	}
	d, err := p.db.EnsureDict(ctx, name)
	if err != nil {
		return err
	}
	if err := d.SetDefaultTTL(ctx, ttl); err != nil {
		return err
	}
	p.say("defttl %s", name)
	return nil
}

// fill DICT N stores keys k0 ... k<N-1> with values 0 ... N-1 in one
// SetMany and prints "filled START END": the wall clock in Unix
// nanoseconds before and after the call.
func (p *primChild) fill(ctx context.Context, a primArgs) error {
	n := a.int(1)
	if a.err != nil {
		return a.err
	}
	d, err := p.db.EnsureDict(ctx, a.str(0))
	if err != nil {
		return err
	}
	m := make(map[string]int64, n)
	for i := range n {
		m["k"+strconv.FormatInt(i, 10)] = i
	}
	start := nowNS()
	if err := d.SetMany(ctx, m); err != nil {
		return err
	}
	p.say("filled %d %d", start, nowNS())
	return nil
}

// ensureDict NAME makes sure the dict exists and prints "ensured NAME".
func (p *primChild) ensureDict(ctx context.Context, a primArgs) error {
	if _, err := p.db.EnsureDict(ctx, a.str(0)); err != nil {
		return err
	}
	p.say("ensured %s", a.str(0))
	return a.err
}

// appendN LIST FROM TO PACE appends FROM, FROM+1, ... TO, one call each,
// starting one every PACE (0: at once), printing "appended V" for each
// and then "appenddone TO".
func (p *primChild) appendN(ctx context.Context, a primArgs) error {
	from, to, pace := a.int(1), a.int(2), a.dur(3)
	if a.err != nil {
		return a.err
	}
	l, err := p.db.EnsureList(ctx, a.str(0))
	if err != nil {
		return err
	}
	tick := pacer(pace)
	for v := from; v <= to; v++ {
		<-tick()
		if err := l.Append(ctx, v); err != nil {
			return fmt.Errorf("append %d: %w", v, err)
		}
		p.say("appended %d", v)
	}
	p.say("appenddone %d", to)
	return nil
}

// consume LIST N prints "consuming", then takes N elements from the front
// with PopWait, printing "got V" for each, and then "consumed N".
func (p *primChild) consume(ctx context.Context, a primArgs) error {
	n := a.int(1)
	if a.err != nil {
		return a.err
	}
	l, err := p.db.EnsureList(ctx, a.str(0))
	if err != nil {
		return err
	}
	p.say("consuming")
	for range n {
		var v int64
		if err := l.PopWait(ctx, cyberdb.Front, &v); err != nil {
			return err
		}
		p.say("got %d", v)
	}
	p.say("consumed %d", n)
	return nil
}

// lists returns the lists named by words i and i+1, created if needed.
func (p *primChild) lists(ctx context.Context, a primArgs, i int) (from, to *cyberdb.List, err error) {
	if a.err != nil {
		return nil, nil, a.err
	}
	if from, err = p.db.EnsureList(ctx, a.str(i)); err != nil {
		return nil, nil, err
	}
	to, err = p.db.EnsureList(ctx, a.str(i+1))
	return from, to, err
}

// moveWait FROM TO prints "moving", then moves the front element of FROM
// to the back of TO with MoveWait and prints "took ELEMENT".
func (p *primChild) moveWait(ctx context.Context, a primArgs) error {
	from, to, err := p.lists(ctx, a, 0)
	if err != nil {
		return err
	}
	p.say("moving")
	var job string
	if err := from.MoveWait(ctx, to, cyberdb.Front, cyberdb.Back, &job); err != nil {
		return err
	}
	p.say("took %s", job)
	return nil
}

// work FROM TO N is a reliable queue worker doing N jobs: it moves a job
// from FROM to TO (its jobs in progress) with MoveWait, prints "took JOB",
// removes it from TO once done and prints "done JOB"; then "worked N".
func (p *primChild) work(ctx context.Context, a primArgs) error {
	n := a.int(2)
	from, to, err := p.lists(ctx, a, 0)
	if err != nil {
		return err
	}
	for range n {
		var job string
		if err := from.MoveWait(ctx, to, cyberdb.Front, cyberdb.Back, &job); err != nil {
			return err
		}
		p.say("took %s", job)
		if err := to.Remove(ctx, job); err != nil {
			return fmt.Errorf("remove %s from %s: %w", job, to.Name(), err)
		}
		p.say("done %s", job)
	}
	p.say("worked %d", n)
	return nil
}

// watch TABLE EVERY watches the table from now on, until the process
// exits, printing
//
//	ev <rev> <type> <key> <value> <old>
//
// for each event (integers, or "-" for no value). After every EVERY
// events it ends the watch and starts another from the last revision
// seen, printing "rewatch <rev>".
func (p *primChild) watch(_ context.Context, a primArgs) error {
	table, every := a.str(0), a.int(1)
	if a.err != nil {
		return a.err
	}
	from := uint64(0)
	for {
		n := int64(0)
		for ev, err := range p.db.Watch(context.Background(), table, &cyberdb.WatchOptions{From: from}) {
			if err != nil {
				return err
			}
			p.say("ev %d %s %s %s %s", ev.Rev, ev.Type, ev.Key, primValue(ev.Value), primValue(ev.Old))
			from = ev.Rev
			if n++; n == every {
				break
			}
		}
		p.say("rewatch %d", from)
	}
}

// primValue formats a value of an event: an integer, or "-".
func primValue(v cyberdb.Value) string {
	var n int64
	if v.Bytes() == nil || v.Decode(&n) != nil {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

// count DICT KEY N PACE reads KEY (0 when missing), prints "start V",
// then sets KEY to V+1, V+2, ... V+N, one call each, starting one every
// PACE, printing "wrote V" once each is acknowledged, then "countdone V".
func (p *primChild) count(ctx context.Context, a primArgs) error {
	key, n, pace := a.str(1), a.int(2), a.dur(3)
	if a.err != nil {
		return a.err
	}
	d, err := p.db.EnsureDict(ctx, a.str(0))
	if err != nil {
		return err
	}
	var v int64
	if _, err := d.Get(ctx, key, &v); err != nil {
		return err
	}
	p.say("start %d", v)
	tick := pacer(pace)
	for end := v + n; v < end; {
		<-tick()
		if err := d.Set(ctx, key, v+1); err != nil {
			return fmt.Errorf("set %d: %w", v+1, err)
		}
		v++
		p.say("wrote %d", v)
	}
	p.say("countdone %d", v)
	return nil
}

// setTTLs DICT PREFIX N TTL sets PREFIX0 ... PREFIX<N-1> to 0 ... N-1,
// each to expire TTL after its call, and prints "ttlset PREFIX START END":
// the wall clock in Unix nanoseconds before the first call and after the
// last.
func (p *primChild) setTTLs(ctx context.Context, a primArgs) error {
	prefix, n, ttl := a.str(1), a.int(2), a.dur(3)
	if a.err != nil {
		return a.err
	}
	d, err := p.db.EnsureDict(ctx, a.str(0))
	if err != nil {
		return err
	}
	start := nowNS()
	for i := range n {
		if err := d.SetTTL(ctx, prefix+strconv.FormatInt(i, 10), i, ttl); err != nil {
			return err
		}
	}
	p.say("ttlset %s %d %d", prefix, start, nowNS())
	return nil
}

// rate DICT KEY TTL N calls IncrWithTTL(KEY, 1, TTL) N times, printing
// "rated V START END" for each (the count it returned and when the call
// ran, in Unix nanoseconds), then "ratedone KEY".
func (p *primChild) rate(ctx context.Context, a primArgs) error {
	key, ttl, n := a.str(1), a.dur(2), a.int(3)
	if a.err != nil {
		return a.err
	}
	d, err := p.db.EnsureDict(ctx, a.str(0))
	if err != nil {
		return err
	}
	for range n {
		start := nowNS()
		v, err := d.IncrWithTTL(ctx, key, 1, ttl)
		if err != nil {
			return err
		}
		p.say("rated %d %d %d", v, start, nowNS())
	}
	p.say("ratedone %s", key)
	return nil
}

// bank DICT ACCOUNTS TXNS UPDATES SEED commits TXNS transfers between
// random accounts a0 ... a<ACCOUNTS-1> of DICT, each read with GetVersion
// and written by a transaction that checks both versions and increments
// key "n"; a transfer that loses its check is read and tried again. After
// each commit it reads every account in one transaction and prints
// "badsum SUM" unless they sum to 1000 per account; after every
// TXNS/UPDATES commits it increments key "u" with Update. It prints
// "bankprog COMMITS" every 10 commits and at the end "bankdone COMMITS
// CONFLICTS UPDATES".
func (p *primChild) bank(ctx context.Context, a primArgs) error {
	accounts, txns, updates, seed := int(a.int(1)), a.int(2), a.int(3), uint64(a.int(4))
	if a.err != nil {
		return a.err
	}
	d, err := p.db.Dict(ctx, a.str(0))
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	every := max(txns/max(updates, 1), 1)
	var commits, conflicts, ups int64
	for commits < txns {
		i := rng.IntN(accounts)
		j := (i + 1 + rng.IntN(accounts-1)) % accounts
		ok, err := p.transfer(ctx, d, bankKey(i), bankKey(j), 1+rng.Int64N(50))
		if err != nil {
			return err
		}
		if !ok {
			conflicts++
			continue
		}
		commits++
		if err := p.audit(ctx, d, accounts); err != nil {
			return err
		}
		if ups < updates && commits%every == 0 {
			if _, err := d.Update(ctx, "u", primIncr); err != nil {
				return fmt.Errorf("update: %w", err)
			}
			ups++
		}
		if commits%10 == 0 {
			p.say("bankprog %d", commits)
		}
	}
	p.say("bankdone %d %d %d", commits, conflicts, ups)
	return nil
}

// bankKey names account i.
func bankKey(i int) string { return "a" + strconv.Itoa(i) }

// bankStart is the balance each account starts with.
const bankStart = 1000

// transfer moves amount from account from to account to, unless one of
// them changed since it was read: then it reports false.
func (p *primChild) transfer(ctx context.Context, d *cyberdb.Dict, from, to string, amount int64) (bool, error) {
	var a, b int64
	va, _, err := d.GetVersion(ctx, from, &a)
	if err != nil {
		return false, err
	}
	vb, _, err := d.GetVersion(ctx, to, &b)
	if err != nil {
		return false, err
	}
	tx := p.db.Txn()
	tx.CheckVersion(d, from, va)
	tx.CheckVersion(d, to, vb)
	tx.Set(d, from, a-amount)
	tx.Set(d, to, b+amount)
	tx.Incr(d, "n", 1)
	err = tx.Commit(ctx)
	if errors.Is(err, cyberdb.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// audit reads every account in one transaction and prints "badsum SUM"
// when they do not add up.
func (p *primChild) audit(ctx context.Context, d *cyberdb.Dict, accounts int) error {
	sum, err := bankSum(ctx, p.db, d, accounts)
	if err != nil {
		return err
	}
	if sum != int64(accounts)*bankStart {
		p.say("badsum %d", sum)
	}
	return nil
}

// bankSum reads accounts a0 ... in one transaction and returns their sum.
func bankSum(ctx context.Context, db *cyberdb.DB, d *cyberdb.Dict, accounts int) (int64, error) {
	tx := db.Txn()
	gets := make([]*cyberdb.Pending[cyberdb.Value], accounts)
	for i := range gets {
		gets[i] = tx.Get(d, bankKey(i))
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	var sum int64
	for i, g := range gets {
		var v int64
		if !g.Found() {
			return 0, fmt.Errorf("account %s is missing", bankKey(i))
		}
		if err := g.Value().Decode(&v); err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// primIncr is an Update function adding 1 to an integer (0 if absent).
func primIncr(old cyberdb.Value, found bool) (any, error) {
	var n int64
	if found {
		if err := old.Decode(&n); err != nil {
			return nil, err
		}
	}
	return n + 1, nil
}
