package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Supervision timings.
const (
	restartDelay = time.Second      // pause before restarting a dead worker
	killAfter    = 15 * time.Second // grace before a stopping worker is killed
)

// runParent starts the workers, prints a ready line once all of them
// listen, and supervises them until SIGINT or SIGTERM, which it forwards.
// It fails if a worker fails to start or to stop cleanly.
func runParent(cfg config) error {
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(sigCtx)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ready := make(chan bool, cfg.workers)
	errs := make([]error, cfg.workers)
	var wg sync.WaitGroup
	for slot := range cfg.workers {
		wg.Go(func() { errs[slot] = supervise(ctx, exe, slot, ready) })
	}
	if awaitReady(ctx, ready, cfg.workers) {
		fmt.Printf("prefork: serving on http://%s with %d workers\n", cfg.addr, cfg.workers)
	} else {
		cancel() // stop the workers that did start
	}
	wg.Wait()
	slog.Info("prefork: all workers stopped")
	return errors.Join(errs...)
}

// awaitReady reports whether all n workers started, or false as soon as
// one fails to or ctx ends.
func awaitReady(ctx context.Context, ready <-chan bool, n int) bool {
	for range n {
		select {
		case ok := <-ready:
			if !ok {
				return false
			}
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// supervise runs the worker of one slot until ctx ends, restarting it
// whenever it dies. It reports on ready whether the first one started,
// and returns why it did not, or why the last one did not stop cleanly.
func supervise(ctx context.Context, exe string, slot int, ready chan<- bool) error {
	w, err := spawn(ctx, exe, slot)
	ready <- err == nil
	if err != nil {
		return err
	}
	for {
		<-w.done
		if ctx.Err() != nil {
			slog.Info("prefork: worker exited", "slot", slot, "worker_pid", w.pid(), "status", w.status())
			if w.err != nil {
				return fmt.Errorf("worker %d (pid %d): %w", slot, w.pid(), w.err)
			}
			return nil
		}
		slog.Error("prefork: worker died; restarting it", "slot", slot, "worker_pid", w.pid(), "status", w.status())
		if w = respawn(ctx, exe, slot); w == nil {
			return nil
		}
	}
}

// respawn starts a replacement worker, retrying until it starts or ctx
// ends (then it returns nil).
func respawn(ctx context.Context, exe string, slot int) *worker {
	for {
		if !sleepCtx(ctx, restartDelay) {
			return nil
		}
		w, err := spawn(ctx, exe, slot)
		if err == nil {
			slog.Info("prefork: worker restarted", "slot", slot, "worker_pid", w.pid())
			return w
		}
		slog.Error("prefork: restart failed", "slot", slot, "err", err)
	}
}

// sleepCtx waits d and reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
