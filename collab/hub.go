package collab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// Limits bound everything a client controls. Zero fields take the
// defaults shown.
type Limits struct {
	MaxMessageBytes        int64         // one WebSocket message; 16 MiB
	MessagesPerSecond      float64       // per connection; 200
	MessageBurst           float64       // 400
	BytesPerSecond         float64       // per connection; 8 MiB/s, burst 2×MaxMessageBytes
	MaxAwarenessStateBytes int           // one awareness state's JSON; 16 KiB
	MaxAwarenessEntries    int           // entries in one awareness update; 64
	MaxAwarenessPerConn    int           // client ids one connection may introduce; 8
	AwarenessPerSecond     float64       // awareness updates per connection; 20 (extra ones are dropped)
	AwarenessBurst         float64       // 40
	MaxConnsPerRoom        int           // 500
	MaxConnsPerUser        int           // across all rooms of this node; 50
	MaxDocsPerSocket       int           // documents on one Hocuspocus socket; 32
	SendQueueMessages      int           // frames queued for one client before it is cut off; 4096
	SendQueueBytes         int           // bytes queued for one client before it is cut off; 32 MiB
	WriteTimeout           time.Duration // one frame write (and a ping); 10 s
}

func (l *Limits) setDefaults() {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	deff := func(p *float64, v float64) {
		if *p <= 0 {
			*p = v
		}
	}
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = 16 << 20
	}
	deff(&l.MessagesPerSecond, 200)
	deff(&l.MessageBurst, 400)
	deff(&l.BytesPerSecond, 8<<20)
	def(&l.MaxAwarenessStateBytes, 16<<10)
	def(&l.MaxAwarenessEntries, 64)
	def(&l.MaxAwarenessPerConn, 8)
	deff(&l.AwarenessPerSecond, 20)
	deff(&l.AwarenessBurst, 40)
	def(&l.MaxConnsPerRoom, 500)
	def(&l.MaxConnsPerUser, 50)
	def(&l.MaxDocsPerSocket, 32)
	def(&l.SendQueueMessages, 4096)
	def(&l.SendQueueBytes, 32<<20)
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 10 * time.Second
	}
}

// Options configure a Hub. Store and Auth are required; every other zero
// field takes the default shown.
type Options struct {
	Store DocStore   // where documents live
	Auth  Authorizer // who may join which room
	// Bus connects hubs on several nodes; nil runs one node alone.
	Bus Bus
	// NodeID names this node on the Bus; default random.
	NodeID string
	Logger *slog.Logger // default: discard
	Limits Limits

	IdleTimeout      time.Duration // unload a room this long after its last connection left; 30 s
	KeepAlive        time.Duration // send a keep-alive frame after this much silence; 15 s
	PingInterval     time.Duration // WebSocket ping to detect dead peers; 30 s
	AwarenessTimeout time.Duration // drop awareness states not renewed for this long; 30 s
	CompactAfter     int           // compact a room's log at this many entries (500) and half the snapshot's bytes
	StoreTimeout     time.Duration // one DocStore or Bus call; 10 s
	Tick             time.Duration // room housekeeping interval; 1 s

	// OriginPatterns are the browser origins allowed besides the request's
	// own host (coder/websocket AcceptOptions.OriginPatterns).
	OriginPatterns []string
	// InsecureSkipOriginCheck accepts any Origin. For tests and non-browser
	// clients only.
	InsecureSkipOriginCheck bool
}

// Hub serves y-websocket rooms: GET /collab/{projectId}.
type Hub struct {
	opts   Options
	log    *slog.Logger
	store  DocStore
	bus    Bus
	nodeID string

	// base is cancelled by Close; it is the hub's own background context
	// (rooms, compactions, connections), not a request's.
	base   context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	rooms     map[string]*room
	userConns map[string]int
	// revoked holds recent revocations (room, user) so that a connection
	// authorized before one and joining after it still gets it.
	revoked map[revocationKey]revocation
	closed  bool

	wg      sync.WaitGroup // rooms, compactions and tickSockets
	connWG  sync.WaitGroup // connection handlers
	writers *writerPool    // writes sockets' queued frames; stopped by Close
	poller  *idlePoller    // holds idle connections; nil without epoll
	// What the sockets of each protocol share.
	ywsShared, hpShared *sockShared
	socks               map[*socket]struct{} // open sockets, closed by Close; guarded by mu
	nextConn            atomic.Uint64
	connsGauge          atomic.Int64
}

// NewHub returns a hub. Call Close to stop it.
func NewHub(opts Options) (*Hub, error) {
	if opts.Store == nil || opts.Auth == nil {
		return nil, errors.New("collab: Options.Store and Options.Auth are required")
	}
	opts.Limits.setDefaults()
	dur := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	dur(&opts.IdleTimeout, 30*time.Second)
	dur(&opts.KeepAlive, 15*time.Second)
	dur(&opts.PingInterval, 30*time.Second)
	dur(&opts.AwarenessTimeout, 30*time.Second)
	dur(&opts.StoreTimeout, 10*time.Second)
	dur(&opts.Tick, time.Second)
	if opts.CompactAfter <= 0 {
		opts.CompactAfter = 500
	}
	if opts.NodeID == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		opts.NodeID = hex.EncodeToString(b)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base, cancel := context.WithCancel(context.Background())
	h := &Hub{
		opts: opts, log: log, store: opts.Store, bus: opts.Bus, nodeID: opts.NodeID,
		base: base, cancel: cancel, writers: newWriterPool(runtime.GOMAXPROCS(0)), poller: newIdlePoller(),
		rooms: make(map[string]*room), socks: make(map[*socket]struct{}), userConns: make(map[string]int), revoked: make(map[revocationKey]revocation),
	}
	h.ywsShared = &sockShared{base: base, writers: h.writers, lim: &h.opts.Limits, poller: h.poller, keepAlive: keepAliveFrame,
		keepEvery: opts.KeepAlive, pingEvery: opts.PingInterval, tickEvery: opts.Tick}
	hp := *h.ywsShared
	hp.keepAlive = []byte{hpPing}
	h.hpShared = &hp
	h.wg.Add(1)
	go h.tickSockets()
	return h, nil
}

// tickSockets ticks every open socket (keep-alives, pings) each Tick,
// until Close: one timer for the hub instead of one per connection.
func (h *Hub) tickSockets() {
	defer h.wg.Done()
	t := time.NewTicker(h.opts.Tick)
	defer t.Stop()
	var socks []*socket
	for {
		select {
		case <-h.base.Done():
			return
		case now := <-t.C:
			h.mu.Lock()
			for s := range h.socks {
				socks = append(socks, s)
			}
			h.mu.Unlock()
			for _, s := range socks {
				s.tick(now)
			}
			clear(socks)
			socks = socks[:0]
		}
	}
}

// NodeID returns the node id this hub uses on the Bus.
func (h *Hub) NodeID() string { return h.nodeID }

// Stats is a point-in-time count of the hub's load.
type Stats struct {
	Rooms int // loaded rooms
	Conns int // open connections
}

// Stats returns the hub's current load.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{Rooms: len(h.rooms), Conns: int(h.connsGauge.Load())}
}

var roomIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// ServeHTTP upgrades a request for /collab/{projectId} (the y-websocket
// URL shape: serverUrl + "/" + room + "?token=...") to a WebSocket and
// runs the connection until it closes. The room comes from the
// "projectId" path value when the route declares it, else from the last
// path segment.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	roomID := r.PathValue("projectId")
	if roomID == "" {
		roomID = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	}
	if !roomIDPattern.MatchString(roomID) {
		http.Error(w, "collab: invalid project id", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	closed := h.closed
	if !closed {
		h.connWG.Add(1)
	}
	h.mu.Unlock()
	if closed {
		http.Error(w, "collab: shutting down", http.StatusServiceUnavailable)
		return
	}
	authAt := time.Now()
	p, authErr := h.opts.Auth.Authorize(r, roomID)
	ws, cc, err := accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:     h.opts.OriginPatterns,
		InsecureSkipVerify: h.opts.InsecureSkipOriginCheck,
	})
	if err != nil {
		h.connWG.Done()
		return // Accept answered the request
	}
	// The connection lives on in its own goroutine so that net/http's
	// per-request state (buffers, the deep handler stack) is released.
	go h.serveConn(roomID, p, authAt, authErr, ws, cc)
}

// serveConn runs one accepted y-websocket connection: it joins the room
// and hands the connection to readConn, which reads it until it closes.
func (h *Hub) serveConn(roomID string, p Principal, authAt time.Time, authErr error, ws *websocket.Conn, cc *corkConn) {
	reading := false // readConn owns the cleanup below from then on
	defer func() {
		if !reading {
			h.connWG.Done()
		}
	}()
	if authErr != nil {
		// Close with a 44xx code: y-websocket treats it as permanent and
		// stops reconnecting.
		code, reason := CloseUnauthorized, "unauthorized: a valid room token is required"
		if errors.Is(authErr, ErrForbidden) {
			code, reason = CloseForbidden, "forbidden: no access to this project"
		}
		h.log.LogAttrs(h.base, slog.LevelInfo, "collab: connection refused", slog.String("room", roomID), slog.Any("err", authErr))
		_ = ws.Close(code, reason)
		return
	}
	ws.SetReadLimit(h.opts.Limits.MaxMessageBytes)
	sock := newSocket(ws, cc, h.ywsShared)
	defer func() {
		if !reading {
			sock.wait()
		}
	}()
	if !h.track(sock) {
		sock.fail(CloseGoingAway, "server shutting down")
		return
	}
	defer func() {
		if !reading {
			h.untrack(sock)
		}
	}()
	c := &conn{id: h.nextConn.Add(1), sock: sock, userID: p.UserID, authAt: authAt}
	c.setRole(p.Role)

	rm, err := h.acquire(roomID, c)
	if err != nil {
		code := CloseRoomFull
		if errors.Is(err, ErrHubClosed) {
			code = CloseGoingAway
		}
		sock.fail(code, err.Error())
		return
	}
	c.room = rm
	defer func() {
		if !reading {
			sock.fail(websocket.StatusNormalClosure, "")
		}
	}()

	reply := make(chan error, 1)
	if !rm.send(h.base, &roomEvent{kind: evJoin, c: c, reply: reply}) {
		h.releaseUnjoined(rm, c)
		c.fail(CloseGoingAway, "server shutting down")
		return
	}
	if err := <-reply; err != nil {
		switch {
		case errors.Is(err, ErrRoomFull):
			c.fail(CloseRoomFull, "room is full")
		case errors.Is(err, ErrHubClosed):
			c.fail(CloseGoingAway, "server shutting down")
		case errors.Is(err, ErrForbidden):
			c.fail(CloseForbidden, "access to this project was revoked")
		default:
			c.fail(CloseUnavailable, "document unavailable")
		}
		return
	}
	reading = true
	cr := &connReader{c: c, rm: rm}
	cr.idle.init(func() { h.readConn(cr) })
	go h.readConn(cr)
}

// connReader is the read side of a joined y-websocket connection.
type connReader struct {
	c    *conn
	rm   *room
	rate frameRate
	idle readerIdle
}

// readerIdle is what a socket's reader keeps to decide between parking
// and waiting (see readConn); only the reader uses it, one at a time.
type readerIdle struct {
	resume   func() // starts the reader again after a park
	read     func() // the reader itself, run by waitThenRead
	unparked bool   // the poller started this reader
	// quiet: the last message came after parkAfterTicks ticks of silence
	// (or none came yet). lastMsg: when it came (monoClock).
	quiet   bool
	lastMsg int64
}

// init sets up the state of a reader that read runs: resume (for the
// poller) marks the run as unparked and starts read on a new goroutine.
func (ri *readerIdle) init(read func()) {
	ri.read = read
	ri.resume = func() {
		ri.unparked = true
		go ri.read()
	}
	ri.quiet = true // silent so far
}

// begin starts a run of the reader; parkAgain reports whether it was
// started by the poller, so that it parks again as soon as nothing is
// left to read until it has read a message (pongs only woke it).
func (ri *readerIdle) begin() (parkAgain bool) {
	parkAgain = ri.unparked
	ri.unparked = false
	return parkAgain
}

// message records a message read now.
func (ri *readerIdle) message(tick time.Duration) {
	now := monoClock(time.Now())
	ri.quiet = ri.lastMsg == 0 || time.Duration(now-ri.lastMsg) >= parkAfterTicks*tick
	ri.lastMsg = now
}

// idle ends a reader run that found nothing to read: the socket is parked
// (a quiet connection, or pongs only since the poller woke it) or a fresh
// goroutine waits for more (waitThenRead).
func (h *Hub) idle(s *socket, ri *readerIdle, parkAgain bool) {
	if (parkAgain || ri.quiet) && s.park(ri.resume) {
		return
	}
	go h.waitThenRead(s, ri)
}

// readConn reads frames and passes them to the room until the connection
// fails; then it leaves the room and ends the connection.
//
// Once the reader has read what arrived, a fresh goroutine takes over the
// waiting (waitThenRead), at a shallow depth (corkConn.waitReadable, not
// inside coder/websocket's reader): a goroutine's stack grows to the
// deepest call it made and shrinks only when the garbage collector finds
// it mostly unused, so the waiting one would otherwise keep the 8 KiB
// that handling a message took, where waiting needs 2 KiB.
//
// Idle connections are most of a hub's connections, and they hold no
// goroutine (on Linux): a connection whose last message came after a
// silence of two ticks or more (or that has sent none) is parked with the
// hub's idlePoller as soon as it has nothing more to read, and one whose
// reader has waited for two ticks is parked by the hub's ticker. Busy
// connections keep their waiting goroutine: the Go scheduler wakes the
// readers of many sockets together, so messages that arrive together
// reach their rooms before the rooms flush, and a room commits and relays
// them as one batch. Parking every connection between messages cost that
// batching (in the 100-room benchmark a commit per update, and a third of
// the throughput).
func (h *Hub) readConn(cr *connReader) {
	c := cr.c
	parkAgain := cr.idle.begin()
	for {
		// Nothing (more) to read, or only pongs: park or wait. A closing
		// socket fails the read below.
		if buffered, closing := c.sock.readBuffered(); !buffered && !closing {
			h.idle(c.sock, &cr.idle, parkAgain)
			return
		}
		parkAgain = false
		data, ok := c.sock.readFrame(&h.opts.Limits, &cr.rate)
		if !ok {
			h.endConn(cr)
			return
		}
		m, err := ParseMessage(data)
		if err != nil {
			c.fail(CloseMalformed, err.Error())
			h.endConn(cr)
			return
		}
		cr.idle.message(h.opts.Tick)
		select {
		case cr.rm.inbox <- &roomEvent{kind: evMessage, c: c, msg: m}:
		case <-c.sock.done:
			h.endConn(cr)
			return
		case <-cr.rm.quit:
			c.fail(CloseGoingAway, "room closed")
			h.endConn(cr)
			return
		}
	}
}

// waitThenRead waits, at a shallow depth, until the connection is
// readable, and reads it. When the hub's ticker finds the connection idle
// (socket.tick), it ends the wait and the socket is parked with the
// poller, holding no goroutine until the client sends more.
func (h *Hub) waitThenRead(s *socket, ri *readerIdle) {
	if s.startWait() {
		_ = s.cc.waitReadable()
		if s.endWait() {
			if buffered, closing := s.readBuffered(); !buffered && !closing && s.park(ri.resume) {
				return
			}
		}
	}
	ri.read()
}

// endConn leaves the room and ends the connection once its reads are over.
func (h *Hub) endConn(cr *connReader) {
	cr.rm.send(h.base, &roomEvent{kind: evLeave, c: cr.c})
	s := cr.c.sock
	s.fail(websocket.StatusNormalClosure, "")
	h.untrack(s)
	s.wait()
	h.connWG.Done()
}

// acquire returns the room for id, loading it on first use, with a
// reference held for c.
func (h *Hub) acquire(id string, c *conn) (*room, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	if h.userConns[c.userID] >= h.opts.Limits.MaxConnsPerUser {
		return nil, fmt.Errorf("%w: too many connections for this user", ErrRoomFull)
	}
	rm := h.roomLocked(id)
	rm.refs++
	h.userConns[c.userID]++
	h.connsGauge.Add(1)
	return rm, nil
}

// roomLocked returns the loaded room for id, starting it if there is
// none; h.mu is held.
func (h *Hub) roomLocked(id string) *room {
	rm := h.rooms[id]
	if rm == nil {
		rm = newRoom(h, id)
		h.rooms[id] = rm
		h.wg.Add(1) // done by rm.end, on whichever goroutine runs the loop then
		go rm.run(h.base)
	}
	return rm
}

// releaseUnjoined drops a reference for a connection the room never saw.
func (h *Hub) releaseUnjoined(rm *room, c *conn) { rm.release(c) }

// detach removes rm from the registry so the next join loads the room
// afresh.
func (h *Hub) detach(rm *room) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !rm.detached {
		if h.rooms[rm.id] == rm {
			delete(h.rooms, rm.id)
		}
		rm.detached = true
	}
}

// Revoke applies a membership change to open connections of userID in
// room on every node: role 0 disconnects them (close code 4403), a lower
// role applies to their next message.
func (h *Hub) Revoke(ctx context.Context, roomID, userID string, role Role) error {
	h.mu.Lock()
	rm := h.rooms[roomID]
	h.noteRevocationLocked(roomID, userID, role)
	h.mu.Unlock()
	if rm != nil {
		rm.send(ctx, &roomEvent{kind: evRevoke, userID: userID, role: role})
	}
	if h.bus != nil {
		e := lib0.NewEncoder()
		e.WriteVarString(userID)
		e.WriteVarUint(uint64(role))
		msg := encodeBusMessage(busMessage{node: h.nodeID, kind: busRevoke, payload: e.Bytes()})
		if err := h.bus.Publish(ctx, roomID, msg); err != nil {
			return fmt.Errorf("collab: publish revoke: %w", err)
		}
	}
	return nil
}

// Close stops accepting connections, closes open ones (1001 going away),
// flushes every room to the store and waits for all of the hub's
// goroutines, or until ctx ends.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	socks := make([]*socket, 0, len(h.socks))
	for s := range h.socks {
		socks = append(socks, s)
	}
	h.mu.Unlock()
	h.cancel()
	// Reads have no context (see readFrame): closing ends them. Rooms
	// flush what is pending when they shut down, whatever their sockets do.
	for _, s := range socks {
		s.fail(CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		h.connWG.Wait()
		h.wg.Wait()
		// Every socket has ended: nothing schedules a write any more.
		h.writers.close()
		if h.poller != nil {
			h.poller.close()
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("collab: close: %w", ctx.Err())
	}
}

// track registers an open socket for Close; false when the hub is
// closing.
func (h *Hub) track(s *socket) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.socks[s] = struct{}{}
	return true
}

func (h *Hub) untrack(s *socket) {
	h.mu.Lock()
	delete(h.socks, s)
	h.mu.Unlock()
}

type revocationKey struct{ room, user string }

type revocation struct {
	role Role
	at   time.Time
}

// revocationWindow is how long a revocation is remembered for connections
// authorized before it and joining after it: longer than any join takes.
const revocationWindow = time.Minute

// noteRevocationLocked remembers a revocation; h.mu is held.
func (h *Hub) noteRevocationLocked(roomID, userID string, role Role) {
	now := time.Now()
	for k, rv := range h.revoked {
		if now.Sub(rv.at) > revocationWindow {
			delete(h.revoked, k)
		}
	}
	h.revoked[revocationKey{roomID, userID}] = revocation{role: role, at: now}
}

// revokedSince returns a revocation of userID in roomID made after t.
func (h *Hub) revokedSince(roomID, userID string, t time.Time) (Role, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rv, ok := h.revoked[revocationKey{roomID, userID}]
	if !ok || !rv.at.After(t) {
		return 0, false
	}
	return rv.role, true
}
