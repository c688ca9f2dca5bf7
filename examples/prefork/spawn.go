package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// worker is a running worker process.
type worker struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done is closed
}

func (w *worker) pid() int { return w.cmd.Process.Pid }

// status describes how the process exited; call it after done is closed.
func (w *worker) status() string {
	if w.err != nil {
		return w.err.Error()
	}
	return "exit status 0"
}

// spawn starts this program again as the worker of slot and waits until
// it listens. The worker is sent SIGTERM when ctx ends, and killed if it
// has not exited killAfter later.
func spawn(ctx context.Context, exe string, slot int) (*worker, error) {
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), workerEnv+"="+strconv.Itoa(slot))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{wr} // the worker's readyFD
	err = cmd.Start()
	wr.Close()
	if err != nil {
		return nil, fmt.Errorf("start worker %d: %w", slot, err)
	}
	w := &worker{cmd: cmd, done: make(chan struct{})}
	go w.wait()
	go w.stopOn(ctx)
	return w, w.awaitReady(r, slot)
}

// wait reaps the process.
func (w *worker) wait() {
	w.err = w.cmd.Wait()
	close(w.done)
}

// stopOn forwards the end of ctx to the process as SIGTERM, and kills it
// if it outlives the grace period.
func (w *worker) stopOn(ctx context.Context) {
	select {
	case <-w.done:
		return
	case <-ctx.Done():
	}
	w.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(killAfter)
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
		w.cmd.Process.Kill()
	}
}

// awaitReady reads the worker's ready byte; end of file means the worker
// exited before listening.
func (w *worker) awaitReady(r io.Reader, slot int) error {
	if _, err := r.Read(make([]byte, 1)); err == nil {
		return nil
	}
	<-w.done
	return fmt.Errorf("worker %d (pid %d) exited before listening: %s", slot, w.pid(), w.status())
}
