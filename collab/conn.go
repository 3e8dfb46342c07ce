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

// conn is one client WebSocket in one room. The read pump runs in the
// HTTP handler's goroutine; the write pump is a goroutine the handler
// starts and waits for. The room talks to a conn only through enqueue,
// setRole and fail, which never block.
type conn struct {
	id     uint64
	ws     *websocket.Conn
	userID string
	role   atomic.Uint32 // Role
	room   *room
	log    *slog.Logger
	lim    *Limits

	mu         sync.Mutex
	queue      [][]byte // frames waiting for the write pump
	queueBytes int
	wake       chan struct{} // cap 1: queue has frames
	done       chan struct{} // closed by fail
	failOnce   sync.Once
	closeCode  websocket.StatusCode
	closeText  string

	awarenessBucket bucket
}

func (c *conn) Role() Role     { return Role(c.role.Load()) }
func (c *conn) setRole(r Role) { c.role.Store(uint32(r)) }
func (c *conn) attrs() []slog.Attr {
	return []slog.Attr{slog.Uint64("conn", c.id), slog.String("user", c.userID)}
}

// enqueue queues frame for the client. A client whose queue is over its
// limits is disconnected (it resyncs on reconnect) rather than allowed to
// grow memory. The first frame of an empty queue is always accepted, so
// one large initial sync can go out.
func (c *conn) enqueue(frame []byte) {
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return
	default:
	}
	if len(c.queue) > 0 && (len(c.queue) >= c.lim.SendQueueMessages || c.queueBytes+len(frame) > c.lim.SendQueueBytes) {
		c.mu.Unlock()
		c.fail(CloseSlowReader, "slow reader: send queue full")
		return
	}
	c.queue = append(c.queue, frame)
	c.queueBytes += len(frame)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// fail closes the connection with code and reason once; later calls are
// ignored. It does not block: the write pump sends the close frame.
func (c *conn) fail(code websocket.StatusCode, reason string) {
	c.failOnce.Do(func() {
		if len(reason) > closeReasonMaxBytes {
			reason = reason[:closeReasonMaxBytes]
		}
		c.mu.Lock()
		c.closeCode, c.closeText = code, reason
		c.queue, c.queueBytes = nil, 0
		close(c.done)
		c.mu.Unlock()
	})
}

func (c *conn) take() [][]byte {
	c.mu.Lock()
	q := c.queue
	c.queue, c.queueBytes = nil, 0
	c.mu.Unlock()
	return q
}

// writePump sends queued frames, keep-alives and pings until the
// connection fails or ctx ends, then closes the socket with the recorded
// code.
func (c *conn) writePump(ctx context.Context, keepAlive, pingEvery time.Duration) {
	ka := time.NewTicker(keepAlive)
	defer ka.Stop()
	lastWrite := time.Now()
	lastPing := time.Now()
	var pingWG sync.WaitGroup
	defer pingWG.Wait()
	write := func(frame []byte) bool {
		wctx, cancel := context.WithTimeout(ctx, c.lim.WriteTimeout)
		err := c.ws.Write(wctx, websocket.MessageBinary, frame)
		cancel()
		if err != nil {
			if wctx.Err() != nil && ctx.Err() == nil {
				c.fail(CloseSlowReader, "slow reader: write timeout")
			} else {
				c.fail(websocket.StatusAbnormalClosure, "")
			}
			return false
		}
		lastWrite = time.Now()
		return true
	}
	for {
		select {
		case <-c.done:
			c.mu.Lock()
			code, text := c.closeCode, c.closeText
			c.mu.Unlock()
			if code == websocket.StatusAbnormalClosure {
				_ = c.ws.CloseNow()
			} else {
				_ = c.ws.Close(code, text)
			}
			return
		case <-ctx.Done():
			c.fail(CloseGoingAway, "server shutting down")
		case <-c.wake:
			for _, f := range c.take() {
				if !write(f) {
					break
				}
			}
		case now := <-ka.C:
			if now.Sub(lastWrite) >= keepAlive-keepAlive/10 {
				write(keepAliveFrame)
			}
			if now.Sub(lastPing) >= pingEvery {
				lastPing = now
				pingWG.Add(1)
				go func() {
					defer pingWG.Done()
					pctx, cancel := context.WithTimeout(ctx, c.lim.WriteTimeout)
					defer cancel()
					if err := c.ws.Ping(pctx); err != nil && !errors.Is(err, context.Canceled) {
						c.fail(websocket.StatusAbnormalClosure, "")
					}
				}()
			}
		}
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
