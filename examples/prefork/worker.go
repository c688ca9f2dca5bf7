package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// shutdownTimeout bounds how long a stopping worker waits for its
// in-flight requests.
const shutdownTimeout = 10 * time.Second

// readyFD is the descriptor of the pipe on which a worker tells the parent
// it is listening (the parent's exec.Cmd.ExtraFiles[0]).
const readyFD = 3

// runWorker opens the store, serves HTTP until SIGINT or SIGTERM, then
// finishes the requests in flight and closes the store.
func runWorker(cfg config) error {
	ready := readyPipe()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := cyberdb.Open(cfg.dir, &cyberdb.Options{Logger: storeLog})
	if err != nil {
		return err
	}
	err = serve(ctx, db, cfg.addr, ready)
	if cerr := db.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close store: %w", cerr))
	}
	slog.Info("prefork: worker stopped", "err", err)
	return err
}

// serve seeds the store, listens on addr, tells the parent through ready
// (if not nil) and serves until ctx ends.
func serve(ctx context.Context, db *cyberdb.DB, addr string, ready *os.File) error {
	a, err := newApp(ctx, db)
	if err != nil {
		return err
	}
	ln, err := listenReusePort(ctx, addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}
	slog.Info("prefork: worker listening", "addr", ln.Addr().String(), "leader", db.IsLeader())
	if ready != nil {
		ready.Write([]byte{1})
		ready.Close()
	}
	return runServer(ctx, srv, ln)
}

// runServer serves on ln until ctx ends, then shuts srv down gracefully.
func runServer(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("prefork: worker shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc // http.ErrServerClosed
	return err
}

// readyPipe returns the pipe the parent passed as readyFD, or nil if
// there is none. Call it before opening any file, so that readyFD cannot
// be one of this process's own.
func readyPipe() *os.File {
	var st unix.Stat_t
	if err := unix.Fstat(readyFD, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil // no os.File here: its finalizer would close the descriptor
	}
	return os.NewFile(readyFD, "ready")
}
