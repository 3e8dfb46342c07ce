package collab

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// The hub writes its data frames itself, under the upgraded connection
// (corkConn), instead of through coder/websocket's Write:
//
//   - a socket's queued frames are framed into one buffer and leave in one
//     write (coder/websocket flushes after every message: one syscall per
//     frame);
//   - that write is first tried without blocking, by a small pool of writer
//     goroutines shared by the hub (writerPool). Only a socket whose peer
//     does not take the bytes at once gets a goroutine of its own, which
//     waits with the write timeout (the slow-reader path). A busy room thus
//     costs no goroutine start, context or timer per delivery;
//   - coder/websocket still reads messages, answers the client's pings and
//     writes the close handshake through the same connection. Its write
//     buffer holds a whole control frame, so each of them reaches
//     corkConn.Write as one call, and corkConn keeps frames whole and in
//     order. The hub's own pings go out through writeControl.
//
// Reading: an idle connection holds no read buffer. corkConn reads into a
// pooled 4 KiB buffer only when the socket is readable and returns it once
// coder/websocket has consumed the bytes; coder/websocket's own bufio
// reader is the 16-byte minimum. Between messages the hub takes the
// client's pings and pongs itself (takeControl), so that an idle
// connection's reader stays parked through them.

const (
	// corkMaxBytes bounds what one non-blocking write gathers: a larger
	// batch (a big initial sync) goes through the socket's own goroutine,
	// frame by frame, so memory stays bounded.
	corkMaxBytes = 256 << 10
	// readBufSize is the pooled read buffer: one read syscall takes up to
	// this much of what the client sent.
	readBufSize = 4 << 10
	// ctrlBufSize is coder/websocket's write buffer: a server control
	// frame (2-byte header, at most 125 bytes of payload) fits whole.
	ctrlBufSize = 128
	// opCloseByte is the first byte of a close frame (FIN + opcode 8).
	opCloseByte = 0x88
)

var (
	corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}
	readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}
)

// corkConn is the hijacked connection under one coder/websocket Conn.
type corkConn struct {
	net.Conn
	// raw reaches the socket for non-blocking reads and writes; nil when
	// the connection has no file descriptor (then both block).
	raw syscall.RawConn

	// Read side, used by the socket's reader only (one at a time).
	br    *bufio.Reader // coder/websocket's (it re-targets it, keeps it)
	carry []byte        // bytes net/http had read past the upgrade request
	rbuf  *[]byte       // pooled; (*rbuf)[roff:rend] is unread; nil when empty
	roff  int
	rend  int
	// The netpoller callbacks and their results live here, so that reads
	// and writes allocate nothing.
	readFn, peekFn, fillFn func(uintptr) bool
	rdBuf                  *[]byte
	rdN                    int
	rdErr                  error
	peek                   [1]byte
	// rdSticky is the end of the stream or the error fill met; the next
	// Read returns it.
	rdSticky error
	// epArmed: the socket is registered with the hub's idlePoller.
	epArmed bool

	// off: a close frame went out or is about to; no more data frames.
	off atomic.Bool
	// ponged: a pong arrived since socket.tick last looked.
	ponged atomic.Bool

	// Write side: every write holds mu, so frames reach the socket whole
	// and in order.
	mu sync.Mutex
	// pending is the unwritten tail of a batch the socket did not take at
	// once; it goes out before anything else. pbuf is its pooled buffer.
	pending []byte
	pbuf    *[]byte
	writeFn func(uintptr) bool
	wrP     []byte
	wrN     int
	wrErr   error
}

// init sets up c over nc.
func (c *corkConn) init(nc net.Conn, carry []byte) {
	c.Conn, c.carry = nc, carry
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.readFn, c.peekFn, c.fillFn, c.writeFn = c.readOnce, c.peekOnce, c.fillOnce, c.writeOnce
		}
	}
}

// Read implements io.Reader for coder/websocket's bufio.Reader.
func (c *corkConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(c.carry) > 0 {
		n := copy(p, c.carry)
		c.carry = c.carry[n:]
		if len(c.carry) == 0 {
			c.carry = nil
		}
		return n, nil
	}
	if c.rbuf != nil {
		n := copy(p, (*c.rbuf)[c.roff:c.rend])
		c.roff += n
		if c.roff == c.rend {
			readBufs.Put(c.rbuf)
			c.rbuf = nil
		}
		return n, nil
	}
	if c.rdSticky != nil {
		// fill met the end of the stream or an error: report it now.
		err := c.rdSticky
		c.rdSticky = nil
		return 0, err
	}
	if c.raw == nil || len(p) >= readBufSize {
		return c.Conn.Read(p)
	}
	err := c.raw.Read(c.readFn)
	b, n, rerr := c.rdBuf, c.rdN, c.rdErr
	c.rdBuf, c.rdErr = nil, nil
	if err == nil && rerr != nil {
		err = &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	}
	if err != nil || n <= 0 {
		if b != nil {
			readBufs.Put(b)
		}
		if err == nil {
			err = io.EOF
		}
		return 0, err
	}
	k := copy(p, (*b)[:n])
	if k < n {
		c.rbuf, c.roff, c.rend = b, k, n
	} else {
		readBufs.Put(b)
	}
	return k, nil
}

// readOnce is Read's callback for the netpoller: one non-blocking read
// into a pooled buffer (c.rdBuf, c.rdN, c.rdErr). It lives on the
// connection so that a read allocates nothing.
func (c *corkConn) readOnce(fd uintptr) bool {
	b := readBufs.Get().(*[]byte)
	n, err := ignoringEINTR(func() (int, error) { return syscall.Read(int(fd), *b) })
	if errors.Is(err, syscall.EAGAIN) {
		// Nothing to read: hold no buffer while the netpoller waits.
		readBufs.Put(b)
		return false
	}
	c.rdBuf, c.rdN, c.rdErr = b, n, err
	return true
}

// peekOnce is waitReadable's callback: true once a byte can be read.
func (c *corkConn) peekOnce(fd uintptr) bool {
	_, err := ignoringEINTR(func() (int, error) {
		n, _, err := syscall.Recvfrom(int(fd), c.peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return n, err
	})
	return !errors.Is(err, syscall.EAGAIN)
}

// buffered reports whether bytes the client sent are already read from
// the socket but not yet consumed. Call it between messages, from the
// reader, while no close handshake can be reading (socket.readBuffered).
func (c *corkConn) buffered() bool {
	return len(c.carry) > 0 || c.rbuf != nil || c.rdSticky != nil || (c.br != nil && c.br.Buffered() > 0)
}

// fill reads what the socket holds now into the pooled buffer, without
// blocking, when nothing read is waiting there; the end of the stream or
// an error is kept for the next Read. Call it where buffered may be
// called.
func (c *corkConn) fill() {
	if c.raw == nil || len(c.carry) > 0 || c.rbuf != nil || c.rdSticky != nil {
		return
	}
	if err := c.raw.Read(c.fillFn); err != nil {
		c.rdSticky = err
		return
	}
	b, n, err := c.rdBuf, c.rdN, c.rdErr
	c.rdBuf, c.rdErr = nil, nil
	switch {
	case b == nil: // nothing to read
	case n > 0:
		c.rbuf, c.roff, c.rend = b, 0, n
	default:
		readBufs.Put(b)
		if err == nil {
			err = io.EOF
		} else {
			err = &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", err)}
		}
		c.rdSticky = err
	}
}

// fillOnce is fill's callback: one non-blocking read attempt.
func (c *corkConn) fillOnce(fd uintptr) bool {
	c.readOnce(fd)
	return true
}

// takeControl recognizes a client's ping or pong frame: final and masked,
// with a payload of at most maxControlTaken bytes, so that the whole frame
// fits in coder/websocket's 16-byte read buffer.
const (
	opPingByte      = 0x89
	opPongByte      = 0x8a
	maxControlTaken = 16 - 2 - 4
)

// takeControl consumes a client's ping or pong frame when one waits whole
// at the head of what was read, without blocking. It returns the frame's
// first byte (opPingByte or opPongByte) and, for a ping, its payload
// appended to buf and unmasked; op is 0 when there was none. Taken here,
// between messages, a ping or pong does not wake a reader into
// coder/websocket, where it would stay until the next message: the hub
// sends its pings itself (socket.tick), and the caller answers pings.
// Call it where buffered may be called, after fill.
func (c *corkConn) takeControl(buf []byte) (op byte, payload []byte) {
	if c.br == nil {
		return 0, buf
	}
	avail := c.br.Buffered() + len(c.carry)
	if c.rbuf != nil {
		avail += c.rend - c.roff
	}
	if avail < 2 {
		return 0, buf
	}
	// Peek reads from carry and rbuf, never from the socket: avail
	// bytes are there.
	h, err := c.br.Peek(2)
	if err != nil || (h[0] != opPingByte && h[0] != opPongByte) || h[1]&0x80 == 0 || int(h[1]&0x7f) > maxControlTaken {
		return 0, buf
	}
	n := 2 + 4 + int(h[1]&0x7f)
	if avail < n {
		return 0, buf
	}
	f, err := c.br.Peek(n)
	if err != nil {
		return 0, buf
	}
	op = f[0]
	if op == opPingByte {
		for i, b := range f[6:] {
			buf = append(buf, b^f[2+i%4])
		}
	}
	_, _ = c.br.Discard(n)
	return op, buf
}

// waitReadable returns once the socket has bytes to read or fails,
// holding no buffer while it waits. Call it between messages, from the
// reader, when buffered was false.
func (c *corkConn) waitReadable() error {
	if c.raw == nil {
		return nil
	}
	return c.raw.Read(c.peekFn)
}

func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if !errors.Is(err, syscall.EINTR) {
			return n, err
		}
	}
}

// Write implements io.Writer for coder/websocket's bufio.Writer, which
// carries control frames only (ping, pong, close), each in one call. They
// are bounded by coder/websocket's contexts, which close the connection
// when they expire.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) > 0 && p[0] == opCloseByte {
		c.off.Store(true)
	}
	if err := c.flushPendingLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// stop ends data frames for good: the socket is closing and its close
// frame comes next.
func (c *corkConn) stop() { c.off.Store(true) }

// tryResult is the outcome of tryWrite.
type tryResult uint8

const (
	tryWritten tryResult = iota // the socket took every byte
	tryPartial                  // the rest waits in pending: finish it with writeFrames
	tryBusy                     // another write holds the connection; nothing was done
)

// tryWrite frames and writes frames without blocking.
func (c *corkConn) tryWrite(frames [][]byte) (tryResult, error) {
	if c.raw == nil || !c.mu.TryLock() {
		return tryBusy, nil
	}
	defer c.mu.Unlock()
	if c.off.Load() {
		return 0, net.ErrClosed
	}
	if c.pending != nil {
		return tryBusy, nil
	}
	b := corkBufs.Get().(*[]byte)
	buf := (*b)[:0]
	for _, f := range frames {
		buf = appendFrame(buf, f)
	}
	*b = buf
	n, err := c.writeNonblock(buf)
	switch {
	case err != nil:
		putCorkBuf(b)
		return 0, err
	case n == len(buf):
		putCorkBuf(b)
		return tryWritten, nil
	}
	c.pending, c.pbuf = buf[n:], b
	return tryPartial, nil
}

// writeNonblock writes what the socket takes now; mu is held.
func (c *corkConn) writeNonblock(p []byte) (int, error) {
	c.wrP = p
	err := c.raw.Write(c.writeFn)
	n, werr := c.wrN, c.wrErr
	c.wrP, c.wrN, c.wrErr = nil, 0, nil
	if err != nil {
		return n, err
	}
	if werr != nil && !errors.Is(werr, syscall.EAGAIN) {
		return n, &net.OpError{Op: "write", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("write", werr)}
	}
	return n, nil
}

// writeOnce is writeNonblock's callback: one write attempt of c.wrP.
func (c *corkConn) writeOnce(fd uintptr) bool {
	n, err := ignoringEINTR(func() (int, error) { return syscall.Write(int(fd), c.wrP) })
	c.wrN, c.wrErr = max(n, 0), err
	return true
}

// writeFrames writes pending bytes and then frames, blocking, each write
// bounded by timeout (an error wrapping os.ErrDeadlineExceeded means the
// peer did not read in time). Frames are gathered into writes of up to
// corkMaxBytes; a larger frame goes out on its own.
func (c *corkConn) writeFrames(frames [][]byte, timeout time.Duration) error {
	return c.writeLocked(timeout, func() error {
		if len(frames) == 0 {
			return nil
		}
		b := corkBufs.Get().(*[]byte)
		defer func() { putCorkBuf(b) }()
		buf := (*b)[:0]
		for _, f := range frames {
			if len(buf) > 0 && len(buf)+len(f)+10 > corkMaxBytes {
				if err := c.writeAll(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
			if len(f) > corkMaxBytes {
				hdr := appendFrameHeader(buf[:0], len(f))
				if err := c.writeAll(hdr); err != nil {
					return err
				}
				if err := c.writeAll(f); err != nil {
					return err
				}
				continue
			}
			buf = appendFrame(buf, f)
			*b = buf
		}
		return c.writeAll(buf)
	})
}

// writeControl writes a server control frame (a ping), after any pending
// bytes, blocking at most timeout.
func (c *corkConn) writeControl(frame []byte, timeout time.Duration) error {
	return c.writeLocked(timeout, func() error { return c.writeAll(frame) })
}

// writeLocked runs write holding mu, after the pending bytes, with a
// write deadline timeout from now (none when timeout is 0). The deadline
// is lifted again afterwards: control frames coder/websocket writes are
// bounded by its contexts, and a stale deadline would fail them.
func (c *corkConn) writeLocked(timeout time.Duration, write func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off.Load() {
		return net.ErrClosed
	}
	if timeout > 0 {
		if err := c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		defer func() { _ = c.SetWriteDeadline(time.Time{}) }()
	}
	if err := c.flushPendingLocked(); err != nil {
		return err
	}
	return write()
}

// writeAll writes p, blocking (within the caller's write deadline).
func (c *corkConn) writeAll(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	_, err := c.Conn.Write(p)
	return err
}

// flushPendingLocked writes the pending tail, blocking; mu is held.
func (c *corkConn) flushPendingLocked() error {
	if c.pending == nil {
		return nil
	}
	_, err := c.Conn.Write(c.pending)
	c.pending = nil
	putCorkBuf(c.pbuf)
	c.pbuf = nil
	return err
}

func putCorkBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		corkBufs.Put(b)
	}
}

// appendFrame appends a final binary WebSocket frame holding payload, as
// a server sends it (unmasked, RFC 6455 section 5.2).
func appendFrame(b, payload []byte) []byte {
	return append(appendFrameHeader(b, len(payload)), payload...)
}

func appendFrameHeader(b []byte, n int) []byte {
	const finBinary = 0x82
	switch {
	case n < 126:
		return append(b, finBinary, uint8(n)) //nolint:gosec // n < 126
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, finBinary, 126), uint16(n)) //nolint:gosec // n <= 0xffff
	default:
		return binary.BigEndian.AppendUint64(append(b, finBinary, 127), uint64(n)) //nolint:gosec // n > 0
	}
}

// corkWriter wraps the handler's ResponseWriter so that coder/websocket's
// Accept hijacks a corkConn.
type corkWriter struct {
	http.ResponseWriter
	cc       *corkConn // set up by Hijack
	hijacked bool
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
	// Write out anything net/http buffered (the 101 response).
	if err := brw.Flush(); err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	// Bytes the client sent right after its request are already in
	// net/http's reader: corkConn hands them out first. coder/websocket
	// reads through the returned reader (it re-targets it at the
	// connection), so the 4 KiB ones net/http allocated are dropped for
	// minimal ones: the read buffer that matters is corkConn's pooled one,
	// and writes of data frames bypass coder/websocket's writer.
	var carry []byte
	if br := brw.Reader; br.Buffered() > 0 {
		b, _ := br.Peek(br.Buffered())
		carry = append([]byte(nil), b...)
	}
	w.cc.init(c, carry)
	w.hijacked = true
	w.cc.br = bufio.NewReaderSize(w.cc, 16)
	return w.cc, bufio.NewReadWriter(w.cc.br, bufio.NewWriterSize(w.cc, ctrlBufSize)), nil
}

// Unwrap lets http.ResponseController reach the original writer.
func (w *corkWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accept upgrades the request like websocket.Accept and returns the
// corkConn under it.
func accept(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions) (*websocket.Conn, *corkConn, error) {
	cc := new(corkConn)
	cw := &corkWriter{ResponseWriter: w, cc: cc}
	// Pongs read inside a message (see corkConn.takeControl for the rest).
	// The callback lives as long as the connection: it must hold cc only,
	// not cw, whose ResponseWriter holds net/http's buffers and request.
	opts.OnPongReceived = func(context.Context, []byte) { cc.ponged.Store(true) }
	ws, err := websocket.Accept(cw, r, opts)
	if err != nil {
		return nil, nil, err
	}
	if !cw.hijacked {
		_ = ws.CloseNow()
		return nil, nil, errors.New("collab: websocket accepted without hijacking")
	}
	// coder/websocket re-targeted its reader at io.MultiReader(what was
	// buffered, the connection), kept for the connection's life. Nothing
	// was buffered (Hijack moved it to carry) and nothing has been read
	// since: reading the corkConn directly is the same stream, 100 bytes
	// per connection lighter.
	cc.br.Reset(cc)
	return ws, cw.cc, nil
}

// writerPool is the hub's few goroutines (one per CPU) that write the
// sockets' queued frames without blocking. A socket is in the queue at
// most once (socket.writing), so its frames keep their order.
type writerPool struct {
	q    chan *socket
	wg   sync.WaitGroup
	once sync.Once
}

func newWriterPool(n int) *writerPool {
	p := &writerPool{q: make(chan *socket, 4096)}
	p.wg.Add(n)
	for range n {
		go p.run()
	}
	return p
}

func (p *writerPool) run() {
	defer p.wg.Done()
	for s := range p.q {
		s.writeNow()
	}
}

// schedule queues s for a writer; false when the queue is full.
func (p *writerPool) schedule(s *socket) bool {
	select {
	case p.q <- s:
		return true
	default:
		return false
	}
}

// close stops the writers once no socket can be scheduled any more. It
// may be called more than once.
func (p *writerPool) close() {
	p.once.Do(func() { close(p.q) })
	p.wg.Wait()
}
