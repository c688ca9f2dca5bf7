package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// findRedis returns the path of the redis-server binary named by the
// -redis-server flag (looked up on PATH), or "" when Redis is off or
// missing.
func findRedis(name string) string {
	if name == "" || name == "off" {
		return ""
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return path
}

// redisServer is a redis-server process started for one set of cells,
// listening only on a Unix socket in its own directory.
type redisServer struct {
	cmd  *exec.Cmd
	dir  string
	sock string
	done chan struct{} // closed when the process has exited
}

// startRedis starts bin with its data in dir, the append-only file on
// with the given appendfsync policy (always, everysec, no), and waits
// until it answers PING.
func startRedis(bin, dir, fsync string) (*redisServer, error) {
	s := &redisServer{dir: dir, sock: filepath.Join(dir, "redis.sock"), done: make(chan struct{})}
	s.cmd = exec.Command(bin,
		"--port", "0", "--unixsocket", s.sock, "--unixsocketperm", "700",
		"--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", fsync,
		"--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"))
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting %s: %w", bin, err)
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(10 * time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls the socket until the server answers PING.
func (s *redisServer) waitReady(timeout time.Duration) error {
	c := redis.NewClient(redisOptions(s.sock, 1))
	defer c.Close()
	deadline := time.Now().Add(timeout)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("bench: redis-server exited at start; see %s", filepath.Join(s.dir, "redis.log"))
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: redis-server not answering on %s after %v: %w", s.sock, timeout, err)
		}
	}
}

// stop asks the server to exit (SIGTERM), killing it after 10 s.
func (s *redisServer) stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("bench: redis-server did not exit on SIGTERM; killed")
	}
}

// redisOptions returns client options for a Unix socket with pool
// connections, without the optional handshake commands of newer servers.
func redisOptions(sock string, pool int) *redis.Options {
	return &redis.Options{
		Network:                  "unix",
		Addr:                     sock,
		PoolSize:                 pool,
		MinIdleConns:             pool,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}

// redisTarget runs workload operations against a Redis server.
type redisTarget struct {
	c *redis.Client
}

// dialRedis connects to the server on sock with a pool of at least pool
// connections.
func dialRedis(sock string, pool int) (*redisTarget, error) {
	c := redis.NewClient(redisOptions(sock, max(pool, 1)))
	if err := c.Ping(context.Background()).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("bench: redis at %s: %w", sock, err)
	}
	return &redisTarget{c: c}, nil
}

// op returns the function performing one operation of kind name on keys
// prefixed "<name>:".
func (t *redisTarget) op(name string, value []byte) (opFunc, error) {
	prefix := name + ":"
	switch name {
	case "set":
		return func(ctx context.Context, key string) error {
			return t.c.Set(ctx, prefix+key, value, 0).Err()
		}, nil
	case "get":
		return func(ctx context.Context, key string) error {
			err := t.c.Get(ctx, prefix+key).Err()
			if errors.Is(err, redis.Nil) {
				return nil
			}
			return err
		}, nil
	case "incr":
		return func(ctx context.Context, key string) error {
			return t.c.Incr(ctx, prefix+key).Err()
		}, nil
	}
	return nil, fmt.Errorf("unknown op %q (want set, get or incr)", name)
}

func (t *redisTarget) close() error { return t.c.Close() }

// redisVersion returns the output of "redis-server --version", trimmed.
func redisVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "unknown version"
	}
	return strings.TrimSpace(string(out))
}
