package collab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Close codes the hub sends. y-websocket treats 4400-4499 as permanent
// (the provider stops reconnecting) and every other code as transient.
const (
	CloseUnauthorized   websocket.StatusCode = 4401 // no or invalid token
	CloseForbidden      websocket.StatusCode = 4403 // not a member, or access revoked
	CloseRoomFull       websocket.StatusCode = 4429 // connection limit of the room or user
	CloseMalformed      websocket.StatusCode = websocket.StatusUnsupportedData
	CloseRateLimited    websocket.StatusCode = websocket.StatusPolicyViolation
	CloseSlowReader     websocket.StatusCode = websocket.StatusTryAgainLater
	CloseUnavailable    websocket.StatusCode = websocket.StatusInternalError
	CloseGoingAway      websocket.StatusCode = websocket.StatusGoingAway
	closeReasonMaxBytes                      = 120
)

// Role is what a connection may do in a room.
type Role uint8

// Roles, from least to most capable.
const (
	RoleViewer Role = iota + 1 // reads the document; awareness only
	RoleEditor                 // reads and writes
	RoleOwner                  // reads and writes (and manages the project elsewhere)
)

// CanWrite reports whether the role may change the document.
func (r Role) CanWrite() bool { return r == RoleEditor || r == RoleOwner }

func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleEditor:
		return "editor"
	case RoleOwner:
		return "owner"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// ParseRole maps a role name ("viewer", "editor", "owner") to a Role.
func ParseRole(s string) (Role, bool) {
	switch s {
	case "viewer":
		return RoleViewer, true
	case "editor":
		return RoleEditor, true
	case "owner":
		return RoleOwner, true
	}
	return 0, false
}

// socket is one client WebSocket and its send queue. Its reader runs
// while there is something to read: an idle socket is parked with the
// hub's idlePoller and holds no goroutine (see readConn). Writing needs
// no goroutine of the socket's own: enqueue hands a socket whose queue
// becomes non-empty to the hub's writer pool, which writes the queue
// without blocking (see cork.go); only a socket whose peer does not take
// the bytes at once gets a drain goroutine, which exits when the queue is
// empty again. The hub's ticker (Hub.tickSockets) sends keep-alives and
// pings. A y-websocket socket carries one conn; a Hocuspocus socket
// multiplexes one conn per document.
//
// Every goroutine a socket starts, and its turn in the writer pool, is
// counted in wg; the handler calls fail and then wait before it returns.
type socket struct {
	ws *websocket.Conn
	cc *corkConn // under ws: data frames are written here
	sh *sockShared

	mu         sync.Mutex
	queue      [][]byte // frames waiting to be written
	queueBytes int
	writing    bool // in the writer pool or a drain goroutine is running
	closed     bool
	// evicted: tick ended the reader's wait with a read deadline in the
	// past, to park the socket.
	evicted   bool
	done      chan struct{} // closed by fail
	closeCode websocket.StatusCode
	closeText string
	// Times on monoClock. pongDue: a ping is out and its pong must arrive
	// by then; waitSince: when the reader began waiting (waitThenRead).
	// Zero when there is none.
	lastWrite, lastPing, pongDue, waitSince int64
	wg                                      sync.WaitGroup
	parkTok                                 uint64 // the latest park's token
}

// sockShared is what every socket of one protocol on a hub shares (a
// socket holds a pointer, not copies: an idle connection's bytes count).
type sockShared struct {
	// base is the hub's background context (cancelled by Hub.Close),
	// bounding writes and pings.
	base      context.Context
	writers   *writerPool // nil: every batch gets a drain goroutine
	lim       *Limits
	poller    *idlePoller // holds parked sockets; nil: sockets are not parked
	keepAlive []byte      // frame sent after keepEvery of silence
	keepEvery time.Duration
	pingEvery time.Duration
	tickEvery time.Duration // the hub's tick
}

// monoEpoch is monoClock's zero.
var monoEpoch = time.Now()

// monoClock returns t (which must carry a monotonic reading, as
// time.Now's and a ticker's do) in nanoseconds since monoEpoch, never 0.
func monoClock(t time.Time) int64 { return int64(t.Sub(monoEpoch)) + 1 }

func newSocket(ws *websocket.Conn, cc *corkConn, sh *sockShared) *socket {
	now := monoClock(time.Now())
	return &socket{ws: ws, cc: cc, sh: sh, done: make(chan struct{}), lastWrite: now, lastPing: now}
}

// enqueue queues frame for the client. A client whose queue is over its
// limits is disconnected (it resyncs on reconnect) rather than allowed to
// grow memory. The first frame of an empty queue is always accepted, so
// one large initial sync can go out.
func (s *socket) enqueue(frame []byte) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.queue) > 0 && (len(s.queue) >= s.sh.lim.SendQueueMessages || s.queueBytes+len(frame) > s.sh.lim.SendQueueBytes) {
		s.mu.Unlock()
		s.fail(CloseSlowReader, "slow reader: send queue full")
		return
	}
	s.queue = append(s.queue, frame)
	s.queueBytes += len(frame)
	start := !s.writing
	if start {
		s.writing = true
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if start {
		s.startWriting()
	}
}

// startWriting gives the socket's queue to a writer; s.writing is set and
// counted in s.wg.
func (s *socket) startWriting() {
	if s.sh.writers == nil || !s.sh.writers.schedule(s) {
		go s.drain(nil)
	}
}

// writeNow runs in the writer pool: it writes the queue without blocking
// until it is empty, and hands the socket to a drain goroutine when the
// peer does not take the bytes at once or the batch is large.
func (s *socket) writeNow() {
	for {
		s.mu.Lock()
		q := s.queue
		big := s.queueBytes > corkMaxBytes
		s.queue, s.queueBytes = nil, 0
		if len(q) == 0 || s.closed {
			s.writing = false
			s.mu.Unlock()
			s.wg.Done()
			return
		}
		s.mu.Unlock()
		if big {
			go s.drain(q)
			return
		}
		res, err := s.cc.tryWrite(q)
		switch {
		case err != nil:
			s.fail(websocket.StatusAbnormalClosure, "")
			s.mu.Lock()
			s.writing = false
			s.mu.Unlock()
			s.wg.Done()
			return
		case res == tryBusy:
			go s.drain(q)
			return
		case res == tryPartial:
			go s.drain(nil)
			return
		}
		now := monoClock(time.Now())
		s.mu.Lock()
		s.lastWrite = now
		s.mu.Unlock()
	}
}

// drain writes q (and whatever an earlier non-blocking write left
// pending), then the queue, blocking, until the queue is empty or a write
// fails. A peer that takes no bytes for the write timeout is a slow
// reader.
func (s *socket) drain(q [][]byte) {
	defer s.wg.Done()
	// Hub.Close must not wait for a stuck peer's write timeout.
	stop := context.AfterFunc(s.sh.base, func() { _ = s.cc.SetWriteDeadline(time.Now()) })
	defer stop()
	for {
		if err := s.cc.writeFrames(q, s.sh.lim.WriteTimeout); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && s.sh.base.Err() == nil {
				s.fail(CloseSlowReader, "slow reader: write timeout")
			} else {
				s.fail(websocket.StatusAbnormalClosure, "")
			}
			s.mu.Lock()
			s.writing = false
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		s.lastWrite = monoClock(time.Now())
		q = s.queue
		s.queue, s.queueBytes = nil, 0
		if len(q) == 0 || s.closed {
			s.writing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// pingFrame is the hub's ping: final, no payload. A client's pong is
// taken between messages by corkConn.takeControl, or by coder/websocket's
// OnPongReceived while a message is being read.
var pingFrame = []byte{0x89, 0x00}

// aLongTimeAgo is a read deadline that has passed: it wakes a waiting
// read at once.
var aLongTimeAgo = time.Unix(1, 0)

// tick runs every hub tick (Hub.tickSockets): a keep-alive frame after
// silence (y-websocket and Hocuspocus clients drop a connection that is
// silent for 30 s), and a WebSocket ping now and then to find dead peers:
// a peer whose pong has not come within the write timeout is cut off.
func (s *socket) tick(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	now := monoClock(at)
	since := func(t int64) time.Duration { return time.Duration(now - t) }
	if since(s.lastWrite) >= s.sh.keepEvery-s.sh.keepEvery/10 && len(s.queue) == 0 {
		s.queue = append(s.queue, s.sh.keepAlive)
		s.queueBytes += len(s.sh.keepAlive)
		if !s.writing {
			s.writing = true
			s.wg.Add(1)
			s.startWriting()
		}
	}
	if s.pongDue != 0 {
		switch {
		case s.cc.ponged.Swap(false):
			s.pongDue = 0
		case now > s.pongDue:
			s.pongDue = 0
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.fail(websocket.StatusAbnormalClosure, "")
			}()
			return
		}
	}
	// A reader waiting since parkAfterTicks ticks is woken (a read
	// deadline in the past) and parks the socket instead. The deadline is
	// set only while the reader waits, and lifted (endWait) before it
	// reads.
	if s.sh.poller != nil && !s.evicted && s.waitSince != 0 && since(s.waitSince) >= parkAfterTicks*s.sh.tickEvery {
		s.evicted = true
		_ = s.cc.SetReadDeadline(aLongTimeAgo)
	}
	if s.pongDue == 0 && since(s.lastPing) >= s.sh.pingEvery {
		s.lastPing = now
		s.pongDue = now + int64(s.sh.lim.WriteTimeout)
		s.cc.ponged.Store(false) // a late pong of an earlier ping is no answer
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.cc.writeControl(pingFrame, s.sh.lim.WriteTimeout); err != nil {
				s.fail(websocket.StatusAbnormalClosure, "")
			}
		}()
	}
}

// frameRate is one connection's budget of incoming messages and bytes.
type frameRate struct{ msgs, bytes bucket }

// readFrame reads the next binary message, enforcing the size and rate
// limits. On a read error, a limit exceeded or a text message it closes
// the socket with the reason and returns false.
//
// The read has no context to cancel: a cancellable one costs a
// context.AfterFunc registration on the hub's context per message (and
// per idle connection). A read ends when the socket is closed; Hub.Close
// closes every socket.
func (s *socket) readFrame(lim *Limits, rate *frameRate) ([]byte, bool) {
	typ, data, err := s.ws.Read(context.Background())
	if err != nil {
		var ce websocket.CloseError
		switch {
		case errors.As(err, &ce):
			s.fail(websocket.StatusNormalClosure, "")
		case strings.Contains(err.Error(), "read limited"):
			s.fail(websocket.StatusMessageTooBig, fmt.Sprintf("message larger than %d bytes", lim.MaxMessageBytes))
		default:
			s.fail(websocket.StatusAbnormalClosure, "")
		}
		return nil, false
	}
	now := time.Now()
	if !rate.msgs.take(now, 1, lim.MessagesPerSecond, lim.MessageBurst) ||
		!rate.bytes.take(now, float64(len(data)), lim.BytesPerSecond, max(2*float64(lim.MaxMessageBytes), lim.BytesPerSecond)) {
		s.fail(CloseRateLimited, "rate limit exceeded")
		return nil, false
	}
	if typ != websocket.MessageBinary {
		s.fail(CloseMalformed, "text messages are not part of the protocol")
		return nil, false
	}
	return data, true
}

// readBuffered reports whether bytes the client sent wait to be read (it
// reads what the socket holds, without blocking; always true for a
// connection without a file descriptor, whose reader must block) and
// whether the socket is closing; pings and pongs at the head are consumed
// on the way, and the pings answered. Between messages
// only the reader touches those buffers, except coder/websocket's close
// handshake, which reads once fail has marked the socket closed: hence the
// lock.
func (s *socket) readBuffered() (buffered, closing bool) {
	var pong []byte // the answer to the client's pings, if it sent any
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, true
	}
	for {
		s.cc.fill()
		op, payload := s.cc.takeControl(nil)
		if op == 0 {
			break
		}
		if op == opPongByte {
			s.cc.ponged.Store(true)
		} else {
			pong = append(append(pong[:0], opPongByte, byte(len(payload))), payload...) //nolint:gosec // len(payload) <= maxControlTaken; a pong for the last ping
		}
	}
	// Without a file descriptor (TLS) nothing tells whether bytes wait:
	// the reader reads, blocking.
	buffered = s.cc.buffered() || s.cc.raw == nil
	s.mu.Unlock()
	if pong != nil {
		if err := s.cc.writeControl(pong, s.sh.lim.WriteTimeout); err != nil {
			s.fail(websocket.StatusAbnormalClosure, "")
			return false, true
		}
	}
	return buffered, false
}

// parkAfterTicks is how many hub ticks a reader waits before tick parks
// its socket with the poller.
const parkAfterTicks = 2

// startWait records that the reader starts waiting for the socket to be
// readable; false when the socket is closing.
func (s *socket) startWait() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.waitSince = monoClock(time.Now())
	return true
}

// endWait records that the wait is over and reports whether tick ended
// it to park the socket; the read deadline it set is lifted before
// anything is read.
func (s *socket) endWait() (evicted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waitSince = 0
	if !s.evicted {
		return false
	}
	s.evicted = false
	_ = s.cc.SetReadDeadline(time.Time{})
	return true
}

// park hands the socket to the hub's idle poller until the client sends
// more: resume runs then, or when fail closes the socket. Call it from the
// reader, when readBuffered found nothing, as its last act. False: the
// socket is closed or cannot be parked, and the caller keeps reading.
func (s *socket) park(resume func()) bool {
	if s.sh.poller == nil || s.cc.raw == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	tok, ok := s.sh.poller.park(s.cc.raw, &s.cc.epArmed, resume)
	if ok {
		s.parkTok = tok
	}
	return ok
}

// fail closes the socket with code and reason once; later calls are
// ignored. It does not block: a goroutine sends the close frame. A parked
// reader is resumed, so that it sees the close and ends the connection.
func (s *socket) fail(code websocket.StatusCode, reason string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(reason) > closeReasonMaxBytes {
		reason = reason[:closeReasonMaxBytes]
	}
	s.closed = true
	s.closeCode, s.closeText = code, reason
	s.queue, s.queueBytes = nil, 0
	close(s.done)
	s.wg.Add(1)
	parked := s.parkTok
	s.parkTok = 0
	s.mu.Unlock()
	if parked != 0 {
		if resume := s.sh.poller.take(parked); resume != nil {
			resume()
		}
	}
	go func() {
		defer s.wg.Done()
		s.cc.stop() // no data frame may follow the close frame
		if code == websocket.StatusAbnormalClosure {
			_ = s.ws.CloseNow()
		} else {
			_ = s.ws.Close(code, reason)
		}
	}()
}

// wait returns once every goroutine of the socket has ended; call fail
// first.
func (s *socket) wait() { s.wg.Wait() }

// conn is one client's membership in one room: a y-websocket socket, or
// one document on a Hocuspocus socket. The room talks to it only through
// methods that never block.
type conn struct {
	id     uint64
	sock   *socket
	prefix []byte // Hocuspocus: varString(document name) before every frame
	userID string
	role   atomic.Uint32 // a Role; always < 256
	room   *room
	authAt time.Time // when the role was decided (Authorize)

	awarenessBucket bucket // owned by the room goroutine
	// awarenessHeld is the newest throttled entry per client id, sent on a
	// later tick; nil when nothing is held. Owned by the room goroutine.
	awarenessHeld map[uint64]AwarenessEntry
}

// holdAwareness keeps entries for later, newest clock per client id, at
// most limit client ids (further ones are dropped: the connection is over
// its awareness budget anyway).
func (c *conn) holdAwareness(entries []AwarenessEntry, limit int) {
	if c.awarenessHeld == nil {
		c.awarenessHeld = make(map[uint64]AwarenessEntry, len(entries))
	}
	for _, e := range entries {
		old, ok := c.awarenessHeld[e.ClientID]
		if ok && old.Clock > e.Clock {
			continue
		}
		if !ok && len(c.awarenessHeld) >= limit {
			continue
		}
		c.awarenessHeld[e.ClientID] = e
	}
}

// takeHeldAwareness returns the held entries that entries does not
// supersede, followed by entries, and forgets them.
func (c *conn) takeHeldAwareness(entries []AwarenessEntry) []AwarenessEntry {
	out := make([]AwarenessEntry, 0, len(c.awarenessHeld)+len(entries))
	for id, h := range c.awarenessHeld {
		if !slices.ContainsFunc(entries, func(e AwarenessEntry) bool { return e.ClientID == id && e.Clock >= h.Clock }) {
			out = append(out, h)
		}
	}
	c.awarenessHeld = nil
	return append(out, entries...)
}

func (c *conn) Role() Role     { return Role(c.role.Load() & 0xff) }
func (c *conn) setRole(r Role) { c.role.Store(uint32(r)) }
func (c *conn) attrs() []slog.Attr {
	return []slog.Attr{slog.Uint64("conn", c.id), slog.String("user", c.userID)}
}
func (c *conn) hocuspocus() bool { return c.prefix != nil }

// enqueue queues a y-protocols frame for this client.
func (c *conn) enqueue(frame []byte) {
	if c.prefix == nil {
		c.sock.enqueue(frame)
		return
	}
	f := make([]byte, 0, len(c.prefix)+len(frame))
	c.sock.enqueue(append(append(f, c.prefix...), frame...))
}

// fail closes the client's socket.
func (c *conn) fail(code websocket.StatusCode, reason string) { c.sock.fail(code, reason) }

// denyWrite tells the client its change was refused: y-protocols
// permission-denied, or a negative Hocuspocus sync status.
func (c *conn) denyWrite(reason string) {
	if c.hocuspocus() {
		c.enqueue(hpSyncStatusFrame(false))
		return
	}
	c.enqueue(EncodePermissionDenied(reason))
}

// ack confirms a durable update to a Hocuspocus client (y-websocket has no
// acknowledgements).
func (c *conn) ack() {
	if c.hocuspocus() {
		c.enqueue(hpSyncStatusFrame(true))
	}
}

// bucket is a token bucket: rate tokens per second up to burst.
type bucket struct {
	tokens float64
	last   int64 // monoClock; 0 before the first take
}

// take removes n tokens if available and reports whether it did.
func (b *bucket) take(at time.Time, n, rate, burst float64) bool {
	now := monoClock(at)
	if b.last == 0 {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+time.Duration(now-b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}
