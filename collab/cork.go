package collab

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Corking: coder/websocket flushes its buffer to the connection after
// every message, one write syscall per frame. A busy room sends each
// connection several frames in a row, and those syscalls were about half
// of the hub's CPU. So the hub hands coder/websocket a connection that,
// while the socket's drain goroutine writes a queue of frames, gathers
// the bytes in memory and sends them in one write when the queue is done
// (TCP_CORK in user space). Outside a drain, writes pass straight through.

// corkMaxBytes bounds what a cork gathers: a larger batch (a big initial
// sync) is written out at once, so memory stays bounded.
const corkMaxBytes = 256 << 10

var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// corkConn is the hijacked connection under one coder/websocket Conn.
// All writes hold mu, so bytes reach the socket in the order coder
// produced them, whole frames at a time.
type corkConn struct {
	net.Conn

	mu      sync.Mutex
	corked  bool
	off     bool // the socket is closing: no more corking
	buf     *[]byte
	timeout time.Duration
}

// Write implements io.Writer for coder/websocket's bufio.Writer.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	if len(*c.buf)+len(p) <= corkMaxBytes {
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	if err := c.deadline(); err != nil {
		return 0, err
	}
	defer c.clearDeadline()
	return c.Conn.Write(p)
}

// cork starts gathering writes; each flush gets timeout to finish. It
// reports false when the connection is closing.
func (c *corkConn) cork(timeout time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off || c.corked {
		return false
	}
	c.corked, c.timeout = true, timeout
	c.buf = corkBufs.Get().(*[]byte)
	return true
}

// uncork writes what was gathered in one write and stops gathering. An
// error wrapping os.ErrDeadlineExceeded means the peer did not read in
// time.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uncorkLocked()
}

func (c *corkConn) uncorkLocked() error {
	if !c.corked {
		return nil
	}
	err := c.flushLocked()
	c.corked = false
	*c.buf = (*c.buf)[:0]
	if cap(*c.buf) <= 64<<10 {
		corkBufs.Put(c.buf)
	}
	c.buf = nil
	return err
}

func (c *corkConn) flushLocked() error {
	if len(*c.buf) == 0 {
		return nil
	}
	if err := c.deadline(); err != nil {
		return err
	}
	_, err := c.Conn.Write(*c.buf)
	c.clearDeadline()
	*c.buf = (*c.buf)[:0]
	return err
}

func (c *corkConn) deadline() error {
	if c.timeout <= 0 {
		return nil
	}
	return c.SetWriteDeadline(time.Now().Add(c.timeout))
}

// clearDeadline lifts the write deadline again: writes outside a cork
// (pings, close frames) are bounded by coder/websocket's contexts, and a
// stale deadline would fail them long after the batch it was set for.
func (c *corkConn) clearDeadline() {
	if c.timeout > 0 {
		_ = c.SetWriteDeadline(time.Time{})
	}
}

// stop ends corking for good, writing out what was gathered: the socket
// is closing and its close frame must not wait in a buffer. It may block
// for the write timeout; call it off the room's goroutine.
func (c *corkConn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = true
	_ = c.uncorkLocked()
}

// corkWriter wraps the handler's ResponseWriter so that coder/websocket's
// Accept hijacks a corkConn.
type corkWriter struct {
	http.ResponseWriter
	cc *corkConn
}

// Hijack implements http.Hijacker.
func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("collab: connection cannot be hijacked")
	}
	c, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	// coder/websocket writes through the returned ReadWriter's Writer on
	// the server side: point it at the corking connection, after writing
	// out anything net/http buffered.
	if err := brw.Flush(); err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	// The corking connection is the write buffer that matters, so the
	// 4 KiB one net/http allocated is dropped for a minimal one: an idle
	// connection keeps no write buffer at all beyond these 16 bytes.
	w.cc = &corkConn{Conn: c}
	return w.cc, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(w.cc, 16)), nil
}

// Unwrap lets http.ResponseController reach the original writer.
func (w *corkWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accept upgrades the request like websocket.Accept and returns the
// corking connection under it (nil if the server's connection could not
// be wrapped; the socket then writes frame by frame).
func accept(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions) (*websocket.Conn, *corkConn, error) {
	cw := &corkWriter{ResponseWriter: w}
	ws, err := websocket.Accept(cw, r, opts)
	if err != nil {
		return nil, nil, err
	}
	return ws, cw.cc, nil
}

// writeBatch writes frames as binary messages, corked into as few
// syscalls as corkMaxBytes allows, within the write timeout. It reports
// whether the peer was too slow (timeout) when it fails.
func (s *socket) writeBatch(frames [][]byte) (slow bool, err error) {
	wctx, cancel := context.WithTimeout(s.base, s.lim.WriteTimeout)
	defer cancel()
	corked := s.cc != nil && s.cc.cork(s.lim.WriteTimeout)
	for _, f := range frames {
		if err = s.ws.Write(wctx, websocket.MessageBinary, f); err != nil {
			break
		}
	}
	if corked {
		if uerr := s.cc.uncork(); err == nil && uerr != nil {
			err = uerr
		}
	}
	if err != nil {
		return (wctx.Err() != nil && s.base.Err() == nil) || errors.Is(err, os.ErrDeadlineExceeded), err
	}
	return false, nil
}
