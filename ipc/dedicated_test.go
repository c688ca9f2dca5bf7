package ipc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/ipc"
	"github.com/cyberdb-go/cyberdb/transport"
)

// holder blocks each "hold" request until a "cancel" request lets it go
// (reply "element") or its peer's session ends (reply "gone"); "gate"
// requests wait for the gate to open instead. It echoes anything else.
type holder struct {
	echo
	held chan struct{} // a hold or gate started
	let  chan struct{} // lets one hold go
	gate chan struct{} // closed to let every gate request go
	gone atomic.Int32  // holds ended by Peer.Done
}

func newHolder() *holder {
	return &holder{held: make(chan struct{}, 4096), let: make(chan struct{}), gate: make(chan struct{})}
}

func (h *holder) Handle(p *ipc.Peer, req, dst []byte) []byte {
	switch string(req) {
	case "hold":
		h.held <- struct{}{}
		return append(dst, h.wait(p, h.let)...)
	case "gate":
		h.held <- struct{}{}
		return append(dst, h.wait(p, h.gate)...)
	case "cancel":
		select {
		case h.let <- struct{}{}:
			return append(dst, "cancelled"...)
		case <-time.After(5 * time.Second):
			return append(dst, "none"...)
		}
	}
	return h.echo.Handle(p, req, dst)
}

func (h *holder) wait(p *ipc.Peer, ch chan struct{}) string {
	select {
	case <-ch:
		return "element"
	case <-p.Done():
		h.gone.Add(1)
		return "gone"
	}
}

// started waits for n holds to start.
func (h *holder) started(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-h.held:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d holds started", i, n)
		}
	}
}

// sendOn takes a dedicated stream of c and sends req on it.
func sendOn(t *testing.T, c *ipc.Client, req string) *ipc.Dedicated {
	t.Helper()
	d, err := c.Dedicated()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Send([]byte(req)); err != nil {
		t.Fatal(err)
	}
	return d
}

// recvAsync runs d.Recv(ctx) on a goroutine and delivers its outcome.
func recvAsync(ctx context.Context, d *ipc.Dedicated) <-chan error {
	done := make(chan error, 1)
	go func() {
		got, err := d.Recv(ctx)
		if err == nil {
			err = fmt.Errorf("reply %q", got)
		}
		done <- err
	}()
	return done
}

// within returns what arrives on ch, failing the test if nothing does soon.
func within(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: timed out", what)
		return nil
	}
}

// mustRecv returns d's reply, failing the test on an error.
func mustRecv(t *testing.T, d *ipc.Dedicated) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := d.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return string(got)
}

// TestDedicated_DoesNotDelayLanes checks that a call blocked on a
// dedicated stream holds up no call on the (single) lane.
func TestDedicated_DoesNotDelayLanes(t *testing.T) {
	h := newHolder()
	srv := startServer(t, h, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{Streams: 1})
	d := sendOn(t, c, "hold")
	h.started(t, 1)
	for i := range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		want := fmt.Sprint(i)
		got, err := c.Call(ctx, []byte(want))
		cancel()
		if err != nil || string(got) != want {
			t.Fatalf("lane call %d = %q, %v", i, got, err)
		}
	}
	if got, err := c.Call(context.Background(), []byte("cancel")); err != nil || string(got) != "cancelled" {
		t.Fatalf("cancel = %q, %v", got, err)
	}
	if got := mustRecv(t, d); got != "element" {
		t.Errorf("Recv = %q", got)
	}
	d.Release()
}

// TestDedicated_RecvContext checks that a Recv whose context ends returns
// its error and leaves the reply to a later Recv, after the caller has
// canceled the call through a lane.
func TestDedicated_RecvContext(t *testing.T) {
	h := newHolder()
	srv := startServer(t, h, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{})
	d := sendOn(t, c, "hold")
	h.started(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := recvAsync(ctx, d)
	cancel()
	if err := within(t, done, "canceled Recv"); err != context.Canceled {
		t.Fatalf("Recv = %v, want context.Canceled", err)
	}
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := d.Recv(short); err != context.DeadlineExceeded {
		t.Fatalf("Recv = %v, want context.DeadlineExceeded", err)
	}
	if got, err := c.Call(context.Background(), []byte("cancel")); err != nil || string(got) != "cancelled" {
		t.Fatalf("cancel = %q, %v", got, err)
	}
	if got := mustRecv(t, d); got != "element" {
		t.Errorf("Recv after cancel = %q, want the held reply", got)
	}
	if err := d.Send([]byte("next")); err != nil {
		t.Fatal(err)
	}
	if got := mustRecv(t, d); got != "next" {
		t.Errorf("next Recv = %q", got)
	}
}

// TestDedicated_SessionEnds checks that a blocked Recv is woken when the
// session ends, and that the handler's Peer.Done is closed meanwhile.
func TestDedicated_SessionEnds(t *testing.T) {
	tests := []struct {
		name string
		end  func(*testServer, *ipc.Client)
		want error
	}{
		{"client closes", func(_ *testServer, c *ipc.Client) { c.Close() }, ipc.ErrClientClosed},
		{"leader aborts", func(_ *testServer, c *ipc.Client) {
			ipc.WriteRawToLane(c, 0, transport.AppendFrame(nil, 9, 1, nil))
		}, ipc.ErrSessionClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHolder()
			srv := startServer(t, h, ipc.ServerConfig{})
			c := dial(t, srv.path, ipc.ClientConfig{ClientID: 5})
			d := sendOn(t, c, "hold")
			h.started(t, 1)
			done := recvAsync(context.Background(), d)
			tt.end(srv, c)
			if err := within(t, done, "Recv"); !errors.Is(err, tt.want) || !errors.Is(err, ipc.ErrSessionClosed) {
				t.Errorf("Recv = %v, want %v", err, tt.want)
			}
			waitFor(t, "Peer.Done", func() bool { return h.gone.Load() == 1 })
			waitFor(t, "PeerClosed", func() bool { return slicesEqual(h.closedPeers(), []uint64{5}) })
			if _, err := c.Dedicated(); !errors.Is(err, ipc.ErrSessionClosed) {
				t.Errorf("Dedicated after the end = %v", err)
			}
		})
	}
}

// TestDedicated_ServerClose checks that Server.Close closes Peer.Done for
// a handler blocked on it, returns well within the goodbye grace, and that
// the client still receives the handler's reply, then a goodbye.
func TestDedicated_ServerClose(t *testing.T) {
	h := newHolder()
	srv := startServer(t, h, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{ClientID: 6})
	blocked := sendOn(t, c, "hold")
	idle := sendOn(t, c, "x")
	if got := mustRecv(t, idle); got != "x" {
		t.Fatalf("Recv = %q", got)
	}
	h.started(t, 1)
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v", took)
	}
	if h.gone.Load() != 1 {
		t.Errorf("%d handlers saw Peer.Done, want 1", h.gone.Load())
	}
	if got := mustRecv(t, blocked); got != "gone" {
		t.Errorf("Recv = %q, want the handler's reply", got)
	}
	err := idle.Send([]byte("y"))
	if err == nil {
		_, err = idle.Recv(context.Background())
	}
	if err != ipc.ErrLeaderClosed {
		t.Errorf("call after goodbye = %v, want ErrLeaderClosed", err)
	}
	<-c.Done()
	if !errors.Is(c.Err(), ipc.ErrLeaderClosed) {
		t.Errorf("Err = %v", c.Err())
	}
}

// TestDedicated_Pool checks that released streams are reused, that a
// stream with a reply outstanding is never handed out again, and that the
// pool is bounded.
func TestDedicated_Pool(t *testing.T) {
	h := newHolder()
	srv := startServer(t, h, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{Streams: 2})
	for i := range 50 {
		d := sendOn(t, c, fmt.Sprint(i))
		if got := mustRecv(t, d); got != fmt.Sprint(i) {
			t.Fatalf("Recv = %q", got)
		}
		d.Release()
	}
	expectStreams(t, c, srv, 1, 1)
	held := sendOn(t, c, "hold")
	h.started(t, 1)
	held.Release() // outstanding: closed once the reply arrives
	d := sendOn(t, c, "x")
	if got := mustRecv(t, d); got != "x" {
		t.Fatalf("Recv on the next stream = %q", got)
	}
	d.Release()
	expectStreams(t, c, srv, 2, 1)
	if got, err := c.Call(context.Background(), []byte("cancel")); err != nil || string(got) != "cancelled" {
		t.Fatalf("cancel = %q, %v", got, err)
	}
	expectStreams(t, c, srv, 1, 1)
	fillPool(t, c)
	expectStreams(t, c, srv, ipc.MaxIdleDedicated, ipc.MaxIdleDedicated)
}

// fillPool takes more dedicated streams than the pool holds at once and
// releases them all.
func fillPool(t *testing.T, c *ipc.Client) {
	t.Helper()
	var ds []*ipc.Dedicated
	for range ipc.MaxIdleDedicated + 4 {
		d, err := c.Dedicated()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	for _, d := range ds {
		d.Release()
	}
}

// expectStreams waits until c counts open dedicated streams, idle of
// them pooled, and the server serves them besides c's two lanes.
func expectStreams(t *testing.T, c *ipc.Client, srv *testServer, open, idle int) {
	t.Helper()
	const lanes = 2
	waitFor(t, fmt.Sprintf("%d open, %d idle", open, idle), func() bool {
		o, i := ipc.DedicatedStreams(c)
		return o == open && i == idle && ipc.ServedStreams(srv.Server) == lanes+open
	})
}

func mustOpen(c *ipc.Client) int {
	o, _ := ipc.DedicatedStreams(c)
	return o
}

// TestDedicated_Many blocks more calls at once than the old limit of 256
// streams per session allowed.
func TestDedicated_Many(t *testing.T) {
	const n = 300
	h := newHolder()
	srv := startServer(t, h, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- gateCall(c)
		}()
	}
	h.started(t, n)
	close(h.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// gateCall makes a "gate" call on a dedicated stream.
func gateCall(c *ipc.Client) error {
	d, err := c.Dedicated()
	if err != nil {
		return err
	}
	defer d.Release()
	if err := d.Send([]byte("gate")); err != nil {
		return err
	}
	got, err := d.Recv(context.Background())
	if err == nil && string(got) != "element" {
		err = fmt.Errorf("reply %q", got)
	}
	return err
}

// TestDedicated_Limit checks that a client refuses to open more streams
// than the leader allows, rather than lose its session.
func TestDedicated_Limit(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{Streams: 4})
	var ds []*ipc.Dedicated
	for range ipc.MaxSessionStreams - 4 {
		d, err := c.Dedicated()
		if err != nil {
			t.Fatalf("stream %d: %v", len(ds), err)
		}
		ds = append(ds, d)
	}
	if _, err := c.Dedicated(); err != ipc.ErrTooManyStreams {
		t.Fatalf("Dedicated over the limit = %v", err)
	}
	ds[0].Close()
	waitFor(t, "a stream let go", func() bool { return mustOpen(c) == len(ds)-1 })
	d, err := c.Dedicated()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Send([]byte("last")); err != nil {
		t.Fatal(err)
	}
	if got := mustRecv(t, d); got != "last" {
		t.Errorf("Recv = %q", got)
	}
	if got, err := c.Call(context.Background(), []byte("lane")); err != nil || string(got) != "lane" {
		t.Errorf("Call = %q, %v", got, err)
	}
}

// TestDedicated_Misuse checks the errors of calls out of order.
func TestDedicated_Misuse(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{Limits: smallLimits()})
	c := dial(t, srv.path, ipc.ClientConfig{Limits: smallLimits()})
	d, err := c.Dedicated()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Recv(context.Background()); err == nil {
		t.Error("Recv without a request succeeded")
	}
	if err := d.Send(make([]byte, 1<<20)); !errors.Is(err, transport.ErrFrameTooLarge) {
		t.Errorf("Send of a large request = %v", err)
	}
	if err := d.Send([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := d.Send([]byte("b")); err == nil {
		t.Error("second Send with a reply outstanding succeeded")
	}
	if got := mustRecv(t, d); got != "a" {
		t.Errorf("Recv = %q", got)
	}
	d.Release()
	if err := d.Send([]byte("c")); err == nil {
		t.Error("Send after Release succeeded")
	}
	d.Release()
	if err := d.Close(); err != nil {
		t.Errorf("Close after Release = %v", err)
	}
}

// TestPeer_DoneOfLiteral checks that a Peer no Server made never ends.
func TestPeer_DoneOfLiteral(t *testing.T) {
	p := &ipc.Peer{ClientID: 1}
	select {
	case <-p.Done():
		t.Error("Done closed")
	default:
	}
}

// TestDedicated_CloseWakesMany checks that Client.Close promptly wakes
// many calls blocked on dedicated streams.
func TestDedicated_CloseWakesMany(t *testing.T) {
	const n = 300
	h := newHolder()
	srv := startServer(t, h, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{})
	errs := make(chan error, n)
	for range n {
		go func() { errs <- gateCall(c) }()
	}
	h.started(t, n)
	start := time.Now()
	c.Close()
	for range n {
		if err := within(t, errs, "blocked call"); err != ipc.ErrClientClosed {
			t.Fatalf("call = %v, want ErrClientClosed", err)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close and wake-ups took %v", took)
	}
	waitFor(t, "every handler sees Peer.Done", func() bool { return h.gone.Load() == n })
}
