package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOpGen_Next(t *testing.T) {
	run := opsRun{Keys: 1000, Seed: 7}
	t.Run("list alternates push and pop", func(t *testing.T) {
		run.Cell.Workload = "list"
		g := newOpGen(run, 0)
		for i := range 6 {
			want := opPush
			if i%2 == 1 {
				want = opPop
			}
			if op, _ := g.next(); op != want {
				t.Fatalf("op %d = %d, want %d", i, op, want)
			}
		}
	})
	t.Run("mix is about 10% set", func(t *testing.T) {
		run.Cell.Workload = "mix"
		g := newOpGen(run, 0)
		sets := 0
		for range 10_000 {
			op, key := g.next()
			if key < 0 || key >= run.Keys {
				t.Fatalf("key %d out of range", key)
			}
			sets += btoi(op == opSet)
		}
		if sets < 800 || sets > 1200 {
			t.Errorf("%d sets in 10000, want about 1000", sets)
		}
	})
	t.Run("zipf favours low keys", func(t *testing.T) {
		run.Cell.Workload, run.Zipf = "get", 1.2
		g := newOpGen(run, 0)
		low := 0
		for range 10_000 {
			op, key := g.next()
			if op != opGet || key < 0 || key >= run.Keys {
				t.Fatalf("got op %d key %d", op, key)
			}
			low += btoi(key < 10)
		}
		if low < 3000 {
			t.Errorf("%d of 10000 keys below 10, want most", low)
		}
	})
}

func TestRunOpsCell_RWMap(t *testing.T) {
	m := newRWMap()
	if err := m.load(preloadMsg{Table: kvTable(16), Keys: 100, ValueSize: 16}); err != nil {
		t.Fatal(err)
	}
	for _, w := range opsWorkloads {
		for _, batch := range []int{1, 16} {
			run := opsRun{Cell: opsCell{w, 16, 1, 2, batch}, Keys: 100, Workers: 2,
				StartAt: time.Now().UnixNano(), Warmup: time.Millisecond, Duration: 20 * time.Millisecond, Seed: 1}
			r, err := runOpsCell(m, run)
			if err != nil {
				t.Fatal(err)
			}
			if r.Ops == 0 || r.Errors > 0 || r.Ops != r.Calls*int64(batch) {
				t.Errorf("%s batch %d: %d ops, %d calls, %d errors (%s)", w, batch, r.Ops, r.Calls, r.Errors, r.FirstErr)
			}
		}
	}
}

func TestRWMapConn_PopEmpty(t *testing.T) {
	c, _ := newRWMap().conn(opsCell{Workload: "list", ValueSize: 4}, 1, 1)
	if err := c.do(context.Background(), opPop, 0); !errors.Is(err, errEmpty) {
		t.Errorf("pop of an empty list: %v, want errEmpty", err)
	}
	c.queue(opPush, 0)
	c.queue(opPop, 0)
	c.queue(opPop, 0)
	if err := c.flush(context.Background()); !errors.Is(err, errEmpty) {
		t.Errorf("flush: %v, want errEmpty from the third op", err)
	}
}

func TestEcho(t *testing.T) {
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go acceptEcho(ln)
	c, err := (&echoTarget{sock: sock}).conn(opsCell{ValueSize: 100}, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	ec := c.(*echoConn)
	if err := c.do(context.Background(), opGet, 0); err != nil || !bytes.Equal(ec.in, ec.frame) {
		t.Fatalf("do: %v; reply %d bytes, want the %d-byte request", err, len(ec.in), len(ec.frame))
	}
	for range 16 {
		c.queue(opGet, 0)
	}
	if err := c.flush(context.Background()); err != nil || ec.pending != 0 || !bytes.Equal(ec.in, ec.frame) {
		t.Fatalf("flush: %v, %d pending", err, ec.pending)
	}
}

func TestReadFrame(t *testing.T) {
	f := makeFrame(300)
	if len(f) != frameHeader+300 {
		t.Fatalf("frame of %d bytes", len(f))
	}
	var buf []byte
	for cut := range len(f) {
		if _, err := readFrame(bytes.NewReader(f[:cut]), buf); err == nil {
			t.Fatalf("a frame cut at %d read without error", cut)
		}
	}
	got, err := readFrame(bytes.NewReader(append(f, f...)), buf)
	if err != nil || !bytes.Equal(got, f) {
		t.Errorf("readFrame = %d bytes, %v", len(got), err)
	}
	huge := []byte{0xff, 0xff, 0xff, 0xff}
	if _, err := readFrame(bytes.NewReader(huge), nil); err == nil {
		t.Errorf("a 4 GiB frame was accepted")
	}
}
