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
// with the given appendfsync policy (always, everysec, no) or off, and
// waits until it answers PING.
func startRedis(bin, dir, fsync string) (*redisServer, error) {
	s := &redisServer{dir: dir, sock: filepath.Join(dir, "redis.sock"), done: make(chan struct{})}
	aof := []string{"--appendonly", "yes", "--appendfsync", fsync}
	if fsync == "off" {
		aof = []string{"--appendonly", "no"}
	}
	s.cmd = exec.Command(bin, append([]string{
		"--port", "0", "--unixsocket", s.sock, "--unixsocketperm", "700",
		"--dir", dir, "--save", "", "--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log")}, aof...)...)
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

// redisList is the key of the ops suite's list.
const redisList = "list"

// load sets p.Keys keys "<table>:k…" (or "k…" for an empty table name)
// in pipelines of p.Chunk.
func (t *redisTarget) load(p preloadMsg) error {
	ctx := context.Background()
	keys := prefixedKeys(p.Table, p.Keys)
	value := randomValue(p.ValueSize, 1)
	for lo := 0; lo < len(keys); lo += p.Chunk {
		pipe := t.c.Pipeline()
		for _, k := range keys[lo:min(lo+p.Chunk, len(keys))] {
			pipe.Set(ctx, k, value, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("preloading keys %d..: %w", lo, err)
		}
	}
	return nil
}

// drop empties the server: the ops suite keeps one table at a time.
func (t *redisTarget) drop(string) error {
	return t.c.FlushAll(context.Background()).Err()
}

// conn returns one goroutine's view of the server for cell c: the pool
// and a pipeline of its own.
func (t *redisTarget) conn(c opsCell, keys int, seed uint64) (opConn, error) {
	return &redisConn{c: t.c, pipe: t.c.Pipeline(), kv: prefixedKeys(kvTable(c.ValueSize), keys),
		incr: prefixedKeys("incr", keys), value: randomValue(c.ValueSize, seed)}, nil
}

// redisConn is one goroutine's commands to Redis in the ops suite.
type redisConn struct {
	c        *redis.Client
	pipe     redis.Pipeliner
	kv, incr []string // key names with their table's prefix
	value    any      // the payload of writes, converted to an interface once
}

// cmd issues the command for op on r, the client or the pipeline.
func (c *redisConn) cmd(ctx context.Context, r redis.Cmdable, op opKind, key int) redis.Cmder {
	switch op {
	case opSet:
		return r.Set(ctx, c.kv[key], c.value, 0)
	case opIncr:
		return r.Incr(ctx, c.incr[key])
	case opPush:
		return r.RPush(ctx, redisList, c.value)
	case opPop:
		return r.RPop(ctx, redisList)
	}
	return r.Get(ctx, c.kv[key])
}

func (c *redisConn) do(ctx context.Context, op opKind, key int) error {
	return ignoreNil(c.cmd(ctx, c.c, op, key).Err())
}

func (c *redisConn) queue(op opKind, key int) { c.cmd(context.Background(), c.pipe, op, key) }

func (c *redisConn) flush(ctx context.Context) error {
	_, err := c.pipe.Exec(ctx)
	return ignoreNil(err)
}

func (c *redisConn) close() error { return nil }

// ignoreNil drops redis.Nil, the reply to a GET of a missing key.
func ignoreNil(err error) error {
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

// redisVersion returns the output of "redis-server --version", trimmed.
func redisVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "unknown version"
	}
	return strings.TrimSpace(string(out))
}
