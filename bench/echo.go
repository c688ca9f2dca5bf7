package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"
)

// echoMsg tells an echo server process where to listen.
type echoMsg struct {
	Sock string `json:"sock"`
}

// echoMain runs the raw-echo server process: it answers every frame with
// the same frame, on its Unix socket, until the driver closes stdin. It
// is the ops suite's transport limit: one round trip, no encoding.
func echoMain(l *link) error {
	var m echoMsg
	if err := l.expect("open", &m); err != nil {
		return err
	}
	ln, err := net.Listen("unix", m.Sock)
	if err != nil {
		return err
	}
	defer ln.Close()
	go acceptEcho(ln)
	l.reply("ready", readyMsg{Pid: os.Getpid()})
	for _, ok := l.next(); ok; _, ok = l.next() {
	}
	return nil
}

// acceptEcho serves each connection of ln until ln is closed.
func acceptEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go serveEcho(c)
	}
}

// serveEcho echoes frames on c until it closes, replying to all the
// frames of one pipelined write in one write.
func serveEcho(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriterSize(c, 64<<10)
	var buf []byte
	for {
		var err error
		if buf, err = readFrame(r, buf); err != nil {
			return
		}
		w.Write(buf)
		if r.Buffered() == 0 && w.Flush() != nil {
			return
		}
	}
}

// frameHeader is the size of a frame's length prefix.
const frameHeader = 4

// makeFrame returns a frame: a little-endian uint32 length, then size
// bytes of payload.
func makeFrame(size int) []byte {
	f := make([]byte, frameHeader+size)
	binary.LittleEndian.PutUint32(f, uint32(size))
	for i := range size {
		f[frameHeader+i] = byte(i)
	}
	return f
}

// readFrame reads one whole frame (header included) into buf, growing
// it as needed, and returns it.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	buf = append(buf[:0], 0, 0, 0, 0)
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf, err
	}
	n := int(binary.LittleEndian.Uint32(buf))
	if n > 64<<20 {
		return buf, fmt.Errorf("echo: frame of %d bytes", n)
	}
	buf = slices.Grow(buf, n)[:frameHeader+n]
	_, err := io.ReadFull(r, buf[frameHeader:])
	return buf, err
}

// echoTarget is the raw-echo column as a client process sees it.
type echoTarget struct {
	sock string
}

func (t *echoTarget) close() error { return nil }

// conn dials a connection of its own for one goroutine; its frames carry
// as many bytes as a key and a value of c's size.
func (t *echoTarget) conn(c opsCell, keys int, _ uint64) (opConn, error) {
	nc, err := net.DialTimeout("unix", t.sock, 10*time.Second)
	if err != nil {
		return nil, err
	}
	size := len(keyNames(keys)[0]) + c.ValueSize
	return &echoConn{c: nc, r: bufio.NewReaderSize(nc, 64<<10), frame: makeFrame(size)}, nil
}

// echoConn is one goroutine's connection to the echo server.
type echoConn struct {
	c       net.Conn
	r       *bufio.Reader
	frame   []byte // the request, sent as is
	out     []byte // queued requests
	pending int    // replies awaited for out
	in      []byte // reply buffer, reused
}

func (c *echoConn) do(_ context.Context, _ opKind, _ int) error {
	if _, err := c.c.Write(c.frame); err != nil {
		return err
	}
	return c.read(1)
}

func (c *echoConn) queue(opKind, int) {
	c.out = append(c.out, c.frame...)
	c.pending++
}

func (c *echoConn) flush(context.Context) error {
	n := c.pending
	_, err := c.c.Write(c.out)
	c.out, c.pending = c.out[:0], 0
	if err != nil {
		return err
	}
	return c.read(n)
}

// read reads n replies.
func (c *echoConn) read(n int) error {
	for range n {
		var err error
		if c.in, err = readFrame(c.r, c.in); err != nil {
			return err
		}
	}
	return nil
}

func (c *echoConn) close() error { return c.c.Close() }
