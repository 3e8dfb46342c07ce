package collab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// socket is one client WebSocket: its send queue and write pump. The read
// pump runs in the HTTP handler's goroutine; the write pump is a goroutine
// the handler starts and waits for. A y-websocket socket carries one conn;
// a Hocuspocus socket multiplexes one conn per document.
type socket struct {
	ws        *websocket.Conn
	lim       *Limits
	keepAlive []byte // frame sent after KeepAlive of silence

	mu         sync.Mutex
	queue      [][]byte // frames waiting for the write pump
	queueBytes int
	wake       chan struct{} // cap 1: queue has frames
	done       chan struct{} // closed by fail
	failOnce   sync.Once
	closeCode  websocket.StatusCode
	closeText  string
}

func newSocket(ws *websocket.Conn, lim *Limits, keepAlive []byte) *socket {
	return &socket{ws: ws, lim: lim, keepAlive: keepAlive, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// enqueue queues frame for the client. A client whose queue is over its
// limits is disconnected (it resyncs on reconnect) rather than allowed to
// grow memory. The first frame of an empty queue is always accepted, so
// one large initial sync can go out.
func (s *socket) enqueue(frame []byte) {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
	}
	if len(s.queue) > 0 && (len(s.queue) >= s.lim.SendQueueMessages || s.queueBytes+len(frame) > s.lim.SendQueueBytes) {
		s.mu.Unlock()
		s.fail(CloseSlowReader, "slow reader: send queue full")
		return
	}
	s.queue = append(s.queue, frame)
	s.queueBytes += len(frame)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// fail closes the socket with code and reason once; later calls are
// ignored. It does not block: the write pump sends the close frame.
func (s *socket) fail(code websocket.StatusCode, reason string) {
	s.failOnce.Do(func() {
		if len(reason) > closeReasonMaxBytes {
			reason = reason[:closeReasonMaxBytes]
		}
		s.mu.Lock()
		s.closeCode, s.closeText = code, reason
		s.queue, s.queueBytes = nil, 0
		close(s.done)
		s.mu.Unlock()
	})
}

func (s *socket) take() [][]byte {
	s.mu.Lock()
	q := s.queue
	s.queue, s.queueBytes = nil, 0
	s.mu.Unlock()
	return q
}

// writePump sends queued frames, keep-alives and pings until the
// socket fails or ctx ends, then closes it with the recorded code.
func (s *socket) writePump(ctx context.Context, keepAlive, pingEvery time.Duration) {
	ka := time.NewTicker(keepAlive)
	defer ka.Stop()
	lastWrite := time.Now()
	lastPing := time.Now()
	var pingWG sync.WaitGroup
	defer pingWG.Wait()
	write := func(frame []byte) bool {
		wctx, cancel := context.WithTimeout(ctx, s.lim.WriteTimeout)
		err := s.ws.Write(wctx, websocket.MessageBinary, frame)
		cancel()
		if err != nil {
			if wctx.Err() != nil && ctx.Err() == nil {
				s.fail(CloseSlowReader, "slow reader: write timeout")
			} else {
				s.fail(websocket.StatusAbnormalClosure, "")
			}
			return false
		}
		lastWrite = time.Now()
		return true
	}
	for {
		select {
		case <-s.done:
			s.mu.Lock()
			code, text := s.closeCode, s.closeText
			s.mu.Unlock()
			if code == websocket.StatusAbnormalClosure {
				_ = s.ws.CloseNow()
			} else {
				_ = s.ws.Close(code, text)
			}
			return
		case <-ctx.Done():
			s.fail(CloseGoingAway, "server shutting down")
		case <-s.wake:
			for _, f := range s.take() {
				if !write(f) {
					break
				}
			}
		case now := <-ka.C:
			if now.Sub(lastWrite) >= keepAlive-keepAlive/10 {
				write(s.keepAlive)
			}
			if now.Sub(lastPing) >= pingEvery {
				lastPing = now
				pingWG.Add(1)
				go func() {
					defer pingWG.Done()
					pctx, cancel := context.WithTimeout(ctx, s.lim.WriteTimeout)
					defer cancel()
					if err := s.ws.Ping(pctx); err != nil && !errors.Is(err, context.Canceled) {
						s.fail(websocket.StatusAbnormalClosure, "")
					}
				}()
			}
		}
	}
}

// conn is one client's membership in one room: a y-websocket socket, or
// one document on a Hocuspocus socket. The room talks to it only through
// methods that never block.
type conn struct {
	id     uint64
	sock   *socket
	prefix []byte // Hocuspocus: varString(document name) before every frame
	userID string
	role   atomic.Uint32 // Role
	room   *room

	awarenessBucket bucket // owned by the room goroutine
}

func (c *conn) Role() Role     { return Role(c.role.Load()) }
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
	last   time.Time
}

// take removes n tokens if available and reports whether it did.
func (b *bucket) take(now time.Time, n, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}
