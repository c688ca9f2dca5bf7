package cyberdb_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// The roles of the crash and takeover tests. runChild opens a private
// store in CDB_DIR for them; they close it and open the shared store in
// CDB_STORE with the options in the environment (see storeConf). Besides
// their own lines they print
//
//	role <leader> <unix ns>
//
// after Open and whenever Options.OnRoleChange is called.
func init() {
	children["worker"] = childWorker
	children["ctl"] = childCtl
}

// storeConf is the configuration the crash and takeover tests give every
// process of a store, passed to children in the environment.
type storeConf struct {
	Durability     cyberdb.Durability
	CommitInterval time.Duration // 0: the default
	KeepAlive      time.Duration // 0: the default
	BackupInterval time.Duration // 0: none but at Close
}

// env returns the environment that tells a child conf and the store.
func (c storeConf) env(store string) []string {
	return []string{
		"CDB_STORE=" + store,
		"CDB_DURABILITY=" + strconv.Itoa(int(c.Durability)),
		"CDB_COMMIT_INTERVAL=" + c.CommitInterval.String(),
		"CDB_KEEPALIVE=" + c.KeepAlive.String(),
		"CDB_STORE_BACKUP_INTERVAL=" + c.BackupInterval.String(),
	}
}

// confFromEnv reads the configuration env wrote.
func confFromEnv() storeConf {
	d, _ := strconv.Atoi(os.Getenv("CDB_DURABILITY"))
	return storeConf{
		Durability:     cyberdb.Durability(d),
		CommitInterval: envDuration("CDB_COMMIT_INTERVAL", 0),
		KeepAlive:      envDuration("CDB_KEEPALIVE", 0),
		BackupInterval: envDuration("CDB_STORE_BACKUP_INTERVAL", 0),
	}
}

// options returns the test options with c applied.
func (c storeConf) options() *cyberdb.Options {
	o := testOptions()
	o.Durability = c.Durability
	o.CommitInterval = c.CommitInterval
	o.KeepAlive = c.KeepAlive
	if c.BackupInterval > 0 {
		o.BackupInterval = c.BackupInterval
	}
	return o
}

// envDuration parses the duration in the environment variable name.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// nowNS is the wall clock in Unix nanoseconds, comparable across the
// processes of the machine.
func nowNS() int64 { return time.Now().UnixNano() }

// openStore closes the private store boot and opens the shared one,
// reporting every role change.
func openStore(boot *cyberdb.DB) (*cyberdb.DB, error) {
	if err := boot.Close(); err != nil {
		return nil, err
	}
	var mu sync.Mutex // orders the role lines
	o := confFromEnv().options()
	o.OnRoleChange = func(leader bool) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("role %v %d\n", leader, nowNS())
	}
	db, err := cyberdb.Open(os.Getenv("CDB_STORE"), o)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	fmt.Printf("role %v %d\n", db.IsLeader(), nowNS())
	mu.Unlock()
	return db, nil
}

// crashElem is an element of list "l": step I of the worker named Client.
type crashElem struct {
	Client string `cbor:"client"`
	I      int64  `cbor:"i"`
}

// errClass names the kind of a failed call for the parent.
func errClass(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, cyberdb.ErrLeaderLost):
		return "leaderlost"
	}
	return "other"
}

// opReport prints the outcome of one call: on success
//
//	ack <kind> <step> <value> <end ns> <start ns>
//
// and on failure
//
//	err <kind> <step> <class> <start ns> <end ns> <message>
func opReport(kind string, step, value, start int64, err error) {
	end := nowNS()
	if err != nil {
		fmt.Printf("err %s %d %s %d %d %v\n", kind, step, errClass(err), start, end, err)
		return
	}
	fmt.Printf("ack %s %d %d %d %d\n", kind, step, value, end, start)
}

// watchStdin returns a channel closed when the line "stop" arrives or
// standard input ends, and one closed when it ends.
func watchStdin() (stop, eof <-chan struct{}) {
	s, e := make(chan struct{}), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() && sc.Text() != "stop" {
		}
		close(s)
		for sc.Scan() {
		}
		close(e)
	}()
	return s, e
}

// childWorker writes to the store until told "stop" or until standard
// input ends, one call at a time, each with the deadline CDB_OP_TIMEOUT
// (default 20 s), starting a step every CDB_PACE (default 1 ms; 0: at
// once). Step i is Incr of key "n" in dict "c" and, with
// CDB_APPEND=1, Append of {CDB_CLIENT, i} to list "l". It prints "ready"
// once the tables exist, an ack or err line per call (see opReport), and
// "stopped <steps>" when it stops; then it holds the store open until
// standard input ends.
func childWorker(_ context.Context, boot *cyberdb.DB) error {
	db, err := openStore(boot)
	if err != nil {
		return err
	}
	defer db.Close()
	w, err := newCrashWorker(db)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	stop, eof := watchStdin()
	pace := pacer(envDuration("CDB_PACE", time.Millisecond))
	for i := int64(0); ; i++ {
		select {
		case <-stop:
			fmt.Printf("stopped %d\n", i)
			<-eof
			return db.Close()
		case <-pace():
		}
		w.step(i)
	}
}

// pacer returns a function whose channel lets a step start once per d, or
// at once if d is 0.
func pacer(d time.Duration) func() <-chan time.Time {
	if d <= 0 {
		now := make(chan time.Time)
		close(now)
		return func() <-chan time.Time { return now }
	}
	t := time.NewTicker(d)
	return func() <-chan time.Time { return t.C }
}

// crashWorker holds what childWorker writes to.
type crashWorker struct {
	name    string
	timeout time.Duration
	d       *cyberdb.Dict
	l       *cyberdb.List // nil unless CDB_APPEND=1
}

func newCrashWorker(db *cyberdb.DB) (*crashWorker, error) {
	w := &crashWorker{name: os.Getenv("CDB_CLIENT"), timeout: envDuration("CDB_OP_TIMEOUT", 20*time.Second)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var err error
	if w.d, err = db.EnsureDict(ctx, "c"); err != nil {
		return nil, err
	}
	if os.Getenv("CDB_APPEND") == "1" {
		w.l, err = db.EnsureList(ctx, "l")
	}
	return w, err
}

// step performs and reports step i.
func (w *crashWorker) step(i int64) {
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	start := nowNS()
	n, err := w.d.Incr(ctx, "n", 1)
	cancel()
	opReport("incr", i, n, start, err)
	if w.l == nil {
		return
	}
	ctx, cancel = context.WithTimeout(context.Background(), w.timeout)
	start = nowNS()
	err = w.l.Append(ctx, crashElem{Client: w.name, I: i})
	cancel()
	opReport("append", i, i, start, err)
}

// childCtl runs the commands it reads on standard input, one per line:
//
//	incr    Incr key "n" of dict "c" and print an ack or err line (see opReport)
//	status  print "status leader=<bool> n=<value of n>" (or "status <error>")
//	fill    create dict "a" with 20000 keys and print "filled"
//	fork    start /bin/sleep 60 and print "forked <pid>"
//	close   print "closing <ns>", close the store, print "closed <ns> <ok or error>" and exit
//
// It prints "ready" once dict "c" exists, and closes the store when
// standard input ends.
func childCtl(_ context.Context, boot *cyberdb.DB) error {
	db, err := openStore(boot)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	d, err := db.EnsureDict(ctx, "c")
	cancel()
	if err != nil {
		return err
	}
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	for step := int64(0); sc.Scan(); step++ {
		if sc.Text() == "close" {
			return ctlClose(db)
		}
		if err := ctlRun(db, d, sc.Text(), step); err != nil {
			return err
		}
	}
	return db.Close()
}

// ctlRun runs one command of childCtl other than close.
func ctlRun(db *cyberdb.DB, d *cyberdb.Dict, cmd string, step int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	switch cmd {
	case "incr":
		start := nowNS()
		n, err := d.Incr(ctx, "n", 1)
		opReport("incr", step, n, start, err)
	case "status":
		var n int64
		if _, err := d.Get(ctx, "n", &n); err != nil {
			fmt.Printf("status %v\n", err)
			return nil
		}
		fmt.Printf("status leader=%v n=%d\n", db.IsLeader(), n)
	case "fill":
		return ctlFill(ctx, db, 20000)
	case "fork":
		cmd := exec.Command("/bin/sleep", "60")
		if err := cmd.Start(); err != nil {
			return err
		}
		fmt.Printf("forked %d\n", cmd.Process.Pid)
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}

// ctlFill creates dict "a" with n keys.
func ctlFill(ctx context.Context, db *cyberdb.DB, n int) error {
	a, err := db.EnsureDict(ctx, "a")
	if err != nil {
		return err
	}
	m := make(map[string]int, n)
	for i := range n {
		m[strconv.Itoa(i)] = i
	}
	if err := a.SetMany(ctx, m); err != nil {
		return err
	}
	fmt.Println("filled")
	return nil
}

// ctlClose closes the store, reporting when it started and ended.
func ctlClose(db *cyberdb.DB) error {
	fmt.Printf("closing %d\n", nowNS())
	err := db.Close()
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	fmt.Printf("closed %d %s\n", nowNS(), result)
	return err
}
