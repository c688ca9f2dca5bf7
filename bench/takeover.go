package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// takeoverTable is the dict table the takeover suite preloads and probes.
const takeoverTable = "takeover"

// nodeMsg tells a node process which store to open and how to probe it.
type nodeMsg struct {
	Store       storeMsg      `json:"store"`
	Table       string        `json:"table"`
	Key         string        `json:"key"`
	CallTimeout time.Duration `json:"call_timeout"`
	Poll        time.Duration `json:"poll"`
}

// killedMsg tells the survivors when the driver killed the leader.
type killedMsg struct {
	At int64 `json:"at"` // wall clock, Unix ns
}

// recoveredMsg is a survivor's report of its first successful call that
// started after the kill.
type recoveredMsg struct {
	At     int64 `json:"at"` // wall clock, Unix ns, when that call returned
	Leader bool  `json:"leader"`
	Len    int   `json:"len"` // keys in the table afterwards, to check nothing was lost
	Failed int   `json:"failed"`
}

// nodeMain runs a node process: it opens the store (as leader or client)
// and calls Get in a loop, reporting its first success after each kill of
// the leader that the driver announces.
func nodeMain(l *link) error {
	var m nodeMsg
	if err := l.expect("open", &m); err != nil {
		return err
	}
	db, err := openStore(m.Store)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := db.Dict(context.Background(), m.Table)
	if err != nil {
		return err
	}
	l.reply("ready", readyMsg{Pid: os.Getpid(), Leader: db.IsLeader()})
	p := &prober{l: l, db: db, d: d, m: m}
	return p.run()
}

// prober is the Get loop of a node process.
type prober struct {
	l  *link
	db *cyberdb.DB
	d  *cyberdb.Dict
	m  nodeMsg

	armed   bool        // recording successes for the next kill
	acked   bool        // "armed" has been answered
	killAt  time.Time   // zero until the driver announces the kill
	oks     []time.Time // start and end of each success since armed, in pairs
	failed  int         // failed calls since armed
	lastErr error
}

// run probes until the driver closes stdin.
func (p *prober) run() error {
	for {
		select {
		case cmd, ok := <-p.l.in:
			if !ok {
				return nil
			}
			if err := p.command(cmd); err != nil {
				return err
			}
		default:
		}
		p.probe()
		time.Sleep(p.m.Poll)
	}
}

// command handles a driver command.
func (p *prober) command(cmd envelope) error {
	switch cmd.Kind {
	case "arm":
		p.armed, p.acked, p.killAt, p.oks, p.failed = true, false, time.Time{}, p.oks[:0], 0
		return nil
	case "killed":
		var k killedMsg
		if err := decodeData(cmd, &k); err != nil {
			return err
		}
		p.killAt = time.Unix(0, k.At)
		return nil
	}
	return fmt.Errorf("node: unknown command %q", cmd.Kind)
}

// probe makes one call and reports recovery once a call that started
// after the kill has succeeded.
func (p *prober) probe() {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), p.m.CallTimeout)
	var v []byte
	_, err := p.d.Get(ctx, p.m.Key, &v)
	end := time.Now()
	cancel()
	if !p.armed {
		return
	}
	if err != nil {
		p.failed++
		p.lastErr = err
	} else {
		p.oks = append(p.oks, start, end)
		if !p.acked {
			p.acked = true
			p.l.reply("armed", nil)
		}
	}
	if !p.killAt.IsZero() {
		p.report()
	}
}

// report sends the first success that started at or after the kill, if
// there is one yet, and disarms.
func (p *prober) report() {
	for i := 0; i < len(p.oks); i += 2 {
		if p.oks[i].Before(p.killAt) {
			continue
		}
		n, _ := p.tableLen()
		p.l.reply("recovered", recoveredMsg{At: p.oks[i+1].UnixNano(), Leader: p.db.IsLeader(), Len: n, Failed: p.failed})
		p.armed = false
		return
	}
}

// tableLen returns the number of keys in the probed table.
func (p *prober) tableLen() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.d.Len(ctx)
}

// node is the driver's view of a node process.
type node struct {
	c      *child
	leader bool
}

// takeoverSize is the outcome of the rounds at one store size.
type takeoverSize struct {
	keys    int
	preload time.Duration
	first   []time.Duration // per round: kill to the first survivor served
	last    []time.Duration // per round: kill to the last survivor served
	err     error
}

// runTakeover measures takeover times for each store size.
func runTakeover(b *bench) error {
	c := b.cfg
	fmt.Fprintf(b.out, "\n## takeover: SIGKILL of the leader to the first successful Get (timeout %v, every %v) on each of %d surviving processes; Durability %s, %d B values, %d rounds\n",
		c.callTimeout, c.poll, c.survivors, c.takeoverMode, c.takeoverValue, c.rounds)
	var sizes []takeoverSize
	for _, n := range c.sizes {
		s := b.takeoverRounds(n)
		if s.err != nil {
			fmt.Fprintf(os.Stderr, "  takeover keys=%d failed after %d rounds: %v\n", n, len(s.first), s.err)
		}
		sizes = append(sizes, s)
	}
	b.takeoverTable(sizes)
	for _, s := range sizes {
		if s.err != nil {
			return fmt.Errorf("%d keys: %w", s.keys, s.err)
		}
	}
	return nil
}

// takeoverRounds preloads a store of n keys and kills its leader
// -rounds times, replacing the killed process each time.
func (b *bench) takeoverRounds(n int) takeoverSize {
	s := takeoverSize{keys: n}
	dir, err := b.dir(fmt.Sprintf("takeover-%d-", n))
	if err != nil {
		s.err = err
		return s
	}
	sm := storeMsg{Dir: dir, Mode: b.cfg.takeoverMode}
	if s.preload, s.err = b.preload(sm, n); s.err != nil {
		return s
	}
	nm := nodeMsg{Store: sm, Table: takeoverTable, Key: keyNames(1)[0], CallTimeout: b.cfg.callTimeout, Poll: b.cfg.poll}
	var nodes []*node
	defer func() {
		for _, nd := range nodes {
			nd.c.stop(time.Minute)
		}
	}()
	for range b.cfg.survivors + 1 {
		nd, err := b.startNode(nm)
		if err != nil {
			s.err = err
			return s
		}
		nodes = append(nodes, nd)
	}
	for r := range b.cfg.rounds {
		if nodes, s.err = b.killRound(nodes, nm, &s); s.err != nil {
			s.err = fmt.Errorf("round %d: %w", r+1, s.err)
			return s
		}
	}
	return s
}

// preload fills a fresh store with n keys in a leader process that then
// closes gracefully, leaving them in the snapshot.
func (b *bench) preload(sm storeMsg, n int) (time.Duration, error) {
	leader, err := b.startLeader(sm)
	if err != nil {
		return 0, err
	}
	var p preloadedMsg
	pm := preloadMsg{Table: takeoverTable, Keys: n, ValueSize: b.cfg.takeoverValue, Chunk: 10_000}
	if err := leader.call("preload", pm, 10*time.Minute, "preloaded", &p); err != nil {
		leader.kill()
		return 0, err
	}
	return p.Elapsed, leader.stop(5 * time.Minute)
}

// startNode starts a node process and waits until its store is open.
func (b *bench) startNode(nm nodeMsg) (*node, error) {
	c, err := b.spawn("node")
	if err != nil {
		return nil, err
	}
	var r readyMsg
	if err := c.call("open", nm, 5*time.Minute, "ready", &r); err != nil {
		c.kill()
		return nil, err
	}
	return &node{c: c, leader: r.Leader}, nil
}

// killRound kills the leader node, waits for every survivor to be served
// again, records the times in s and starts a replacement node. It
// returns the nodes alive afterwards.
func (b *bench) killRound(nodes []*node, nm nodeMsg, s *takeoverSize) ([]*node, error) {
	li := slices.IndexFunc(nodes, func(nd *node) bool { return nd.leader })
	if li < 0 {
		return nodes, errors.New("no node is the leader")
	}
	victim := nodes[li]
	survivors := slices.Delete(slices.Clone(nodes), li, li+1)
	for _, nd := range survivors {
		if err := nd.c.call("arm", nil, 30*time.Second, "armed", nil); err != nil {
			return nodes, err
		}
	}
	killAt := time.Now()
	victim.c.kill()
	if err := b.awaitRecovery(survivors, killAt, s); err != nil {
		return survivors, err
	}
	nd, err := b.startNode(nm)
	if err != nil {
		return survivors, err
	}
	return append(survivors, nd), nil
}

// awaitRecovery tells the survivors the kill time, collects their
// reports and checks that exactly one leads and no key was lost.
func (b *bench) awaitRecovery(survivors []*node, killAt time.Time, s *takeoverSize) error {
	for _, nd := range survivors {
		if err := nd.c.send("killed", killedMsg{At: killAt.UnixNano()}); err != nil {
			return err
		}
	}
	var times []time.Duration
	leaders := 0
	for _, nd := range survivors {
		var r recoveredMsg
		if err := nd.c.recv(5*time.Minute, "recovered", &r); err != nil {
			return err
		}
		nd.leader = r.Leader
		leaders += btoi(r.Leader)
		if r.Len != s.keys {
			return fmt.Errorf("process %d sees %d keys after the takeover, want %d", nd.c.pid(), r.Len, s.keys)
		}
		times = append(times, time.Unix(0, r.At).Sub(killAt))
	}
	if leaders != 1 {
		return fmt.Errorf("%d survivors report leading, want 1", leaders)
	}
	s.first = append(s.first, slices.Min(times))
	s.last = append(s.last, slices.Max(times))
	b.gob.line(fmt.Sprintf("Takeover/keys=%d/served=first", s.keys), 1, metric{float64(slices.Min(times)), "ns/op"})
	b.gob.line(fmt.Sprintf("Takeover/keys=%d/served=all", s.keys), 1, metric{float64(slices.Max(times)), "ns/op"})
	fmt.Fprintf(os.Stderr, "  takeover keys=%-8d round %-2d first %-8s all %s\n", s.keys, len(s.first), fmtDur(slices.Min(times)), fmtDur(slices.Max(times)))
	return nil
}

// takeoverTable prints the suite's table and the headline check.
func (b *bench) takeoverTable(sizes []takeoverSize) {
	var rows []string
	for _, s := range sizes {
		rows = append(rows, fmt.Sprintf("%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s", s.keys, len(s.first), fmtDur(s.preload),
			fmtDur(percentile(s.first, 0.5)), fmtDur(percentile(s.first, 0.99)),
			fmtDur(percentile(s.last, 0.5)), fmtDur(percentile(s.last, 0.99)), fmtDur(slices.Max(append(s.last, 0))), errText(s.err)))
	}
	fmt.Fprintln(b.out, "\nfirst: until the first survivor (usually the new leader) is served; all: until every survivor is")
	table(b.out, "keys\trounds\tpreload\tfirst p50\tfirst p99\tall p50\tall p99\tall max\terror", rows)
	for _, s := range sizes {
		if s.keys == 100_000 && len(s.last) > 0 {
			p99 := percentile(s.last, 0.99)
			fmt.Fprintf(b.out, "\ntakeover p99 at 100000 keys, all survivors served: %s (target < 100ms: %s)\n", fmtDur(p99), verdict(p99 < 100*time.Millisecond))
		}
	}
}

// percentile returns the nearest-rank q-quantile of ds, 0 when empty.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	rank := max(int(q*float64(len(s))+0.999999), 1)
	return s[min(rank, len(s))-1]
}

// errText returns err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
