package collab

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// The Hocuspocus protocol (@hocuspocus/provider 4.x, server 4.x): every
// frame starts with varString(document name), then a message type. Types
// 0-3 are followed by exactly the y-protocols payload, so a y-websocket
// frame with the name in front is a Hocuspocus frame. Ping and Pong are
// bare one-byte frames without a name.
const (
	hpSync               = 0
	hpAwareness          = 1
	hpAuth               = 2
	hpQueryAwareness     = 3
	hpSyncReply          = 4
	hpStateless          = 5
	hpBroadcastStateless = 6
	hpClose              = 7
	hpSyncStatus         = 8
	hpPing               = 9
	hpPong               = 10
)

// Hocuspocus auth sub-types (@hocuspocus/common auth.ts).
const (
	hpAuthToken            = 0
	hpAuthPermissionDenied = 1
	hpAuthAuthenticated    = 2
)

// hpSyncStatus returns the (unprefixed) sync-status frame: 1 when an update
// was applied and is durable, 0 when it was refused.
func hpSyncStatusFrame(applied bool) []byte {
	if applied {
		return []byte{hpSyncStatus, 1}
	}
	return []byte{hpSyncStatus, 0}
}

func hpPrefix(doc string) []byte {
	e := lib0.NewEncoder()
	e.WriteVarString(doc)
	return e.Bytes()
}

func hpAuthFrame(doc string, sub uint64, text string) []byte {
	e := lib0.NewEncoder()
	e.WriteVarString(doc)
	e.WriteVarUint(hpAuth)
	e.WriteVarUint(sub)
	e.WriteVarString(text)
	return e.Bytes()
}

// hpFrame is one decoded client frame.
type hpFrame struct {
	doc   string
	typ   uint64
	msg   Message // types 0, 1, 3, 4
	token string  // auth token
}

// parseHocuspocus decodes a client frame (not Ping/Pong).
func parseHocuspocus(frame []byte) (hpFrame, error) {
	d := lib0.NewDecoder(frame)
	var f hpFrame
	var err error
	if f.doc, err = d.ReadVarString(); err != nil {
		return f, malformed("document name: %v", err)
	}
	start := d.Pos()
	if f.typ, err = d.ReadVarUint(); err != nil {
		return f, malformed("message type: %v", err)
	}
	switch f.typ {
	case hpSync, hpAwareness, hpQueryAwareness:
		f.msg, err = ParseMessage(frame[start:])
		return f, err
	case hpSyncReply:
		// A sync message that must not trigger another step 1: the same
		// payload as type 0.
		rest := append([]byte{hpSync}, frame[d.Pos():]...)
		f.msg, err = ParseMessage(rest)
		f.typ = hpSync
		return f, err
	case hpAuth:
		sub, err := d.ReadVarUint()
		if err != nil {
			return f, malformed("auth type: %v", err)
		}
		if sub != hpAuthToken {
			return f, malformed("client sent auth type %d", sub)
		}
		if f.token, err = d.ReadVarString(); err != nil {
			return f, malformed("auth token: %v", err)
		}
		// An optional provider version follows; it is not needed.
		return f, nil
	case hpStateless, hpBroadcastStateless, hpClose:
		return f, nil
	}
	return f, malformed("unknown hocuspocus message type %d", f.typ)
}

// hpDoc is one document on a Hocuspocus socket.
type hpDoc struct {
	c       *conn
	rm      *room
	pending []Message // frames that arrived before the token was accepted
}

// Limits of unauthenticated traffic per Hocuspocus socket.
const (
	hpMaxPendingFrames = 256
	hpMaxPendingBytes  = 4 << 20
)

// ServeHocuspocus upgrades a request to a WebSocket speaking the
// Hocuspocus protocol: many documents (project ids) multiplexed on one
// socket, each authorized by its own token message (a room token, checked
// by Options.Auth as if it were the "token" query parameter), durable
// updates acknowledged with a sync status, refused ones answered with a
// negative one.
func (h *Hub) ServeHocuspocus(w http.ResponseWriter, r *http.Request) {
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
	ws, cc, err := accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:     h.opts.OriginPatterns,
		InsecureSkipVerify: h.opts.InsecureSkipOriginCheck,
	})
	if err != nil {
		h.connWG.Done()
		return
	}
	// The socket lives on in its own goroutine so that net/http's
	// per-request state (buffers, the deep handler stack) is released; the
	// request is kept, detached from its context, for cookie auth.
	go h.hocuspocusLoop(r.WithContext(h.base), ws, cc)
}

// hpReader is the read side of one Hocuspocus socket. Like a
// y-websocket connection's (readConn), it is parked with the hub's poller
// while the socket is quiet, holding no goroutine.
type hpReader struct {
	h            *Hub
	r            *http.Request // the upgrade request, for cookie auth
	sock         *socket
	docs         map[string]*hpDoc
	pendingBytes int
	rate         frameRate
	idle         readerIdle
}

// hocuspocusLoop starts reading one Hocuspocus socket; hpReader.read
// reads it until it closes.
func (h *Hub) hocuspocusLoop(r *http.Request, ws *websocket.Conn, cc *corkConn) {
	ws.SetReadLimit(h.opts.Limits.MaxMessageBytes)
	sock := newSocket(ws, cc, h.hpShared)
	if !h.track(sock) {
		sock.fail(CloseGoingAway, "server shutting down")
		sock.wait()
		h.connWG.Done()
		return
	}
	hr := &hpReader{h: h, r: r, sock: sock, docs: make(map[string]*hpDoc)}
	hr.idle.init(hr.read)
	hr.read()
}

// read reads frames until the socket is idle (it is parked, or a fresh
// goroutine waits) or over (end).
func (hr *hpReader) read() {
	if hr.loop() {
		hr.end()
	}
}

// end leaves every document and ends the socket.
func (hr *hpReader) end() {
	h, sock := hr.h, hr.sock
	for _, d := range hr.docs {
		if d.c != nil {
			d.rm.send(h.base, &roomEvent{kind: evLeave, c: d.c})
		}
	}
	h.untrack(sock)
	sock.fail(websocket.StatusNormalClosure, "")
	sock.wait()
	h.connWG.Done()
}

// loop handles frames; true when the socket is over.
func (hr *hpReader) loop() (over bool) {
	h, sock := hr.h, hr.sock
	parkAgain := hr.idle.begin()
	for {
		// Nothing (more) to read, or only pongs: park or wait, as
		// readConn does.
		if buffered, closing := sock.readBuffered(); !buffered && !closing {
			h.idle(sock, &hr.idle, parkAgain)
			return false
		}
		parkAgain = false
		data, ok := sock.readFrame(&h.opts.Limits, &hr.rate)
		if !ok {
			return true
		}
		hr.idle.message(h.opts.Tick)
		if len(data) == 1 && (data[0] == hpPing || data[0] == hpPong) {
			if data[0] == hpPing {
				sock.enqueue([]byte{hpPong})
			}
			continue
		}
		f, err := parseHocuspocus(data)
		if err != nil {
			sock.fail(CloseMalformed, err.Error())
			return true
		}
		d := hr.docs[f.doc]
		switch f.typ {
		case hpAuth:
			if d != nil && d.c != nil {
				continue // already authenticated
			}
			if d == nil {
				d = &hpDoc{}
			}
			if !h.hpJoin(hr.r, sock, f.doc, f.token, d, hr.docs) {
				hr.pendingBytes -= pendingSize(d.pending)
				delete(hr.docs, f.doc)
				continue
			}
			hr.docs[f.doc] = d
			hr.pendingBytes -= pendingSize(d.pending)
			for _, m := range d.pending {
				if !h.hpForward(d, m) {
					return true
				}
			}
			d.pending = nil
		case hpSync, hpAwareness, hpQueryAwareness:
			if d == nil || d.c == nil {
				// The provider sends its sync step 1 right behind the
				// token; keep it until the token is checked.
				if d == nil {
					if len(hr.docs) >= h.opts.Limits.MaxDocsPerSocket {
						sock.fail(CloseRoomFull, "too many documents on one connection")
						return true
					}
					d = &hpDoc{}
					hr.docs[f.doc] = d
				}
				if len(d.pending) >= hpMaxPendingFrames || hr.pendingBytes+len(data) > hpMaxPendingBytes {
					sock.fail(CloseRateLimited, "too much traffic before authentication")
					return true
				}
				d.pending = append(d.pending, f.msg)
				hr.pendingBytes += len(data)
				continue
			}
			if !h.hpForward(d, f.msg) {
				return true
			}
		case hpClose:
			if d != nil && d.c != nil {
				d.rm.send(h.base, &roomEvent{kind: evLeave, c: d.c})
			}
			if d != nil {
				hr.pendingBytes -= pendingSize(d.pending)
			}
			delete(hr.docs, f.doc)
		case hpStateless, hpBroadcastStateless:
			// Application-defined messages; Max Booster defines none.
		}
	}
}

func pendingSize(ms []Message) int {
	n := 0
	for _, m := range ms {
		n += len(m.Payload) + 4
	}
	return n
}

// hpForward hands a message to the document's room.
func (h *Hub) hpForward(d *hpDoc, m Message) bool {
	select {
	case d.rm.inbox <- &roomEvent{kind: evMessage, c: d.c, msg: m}:
		return true
	case <-d.c.sock.done:
		return false
	case <-d.rm.quit:
		d.c.sock.fail(CloseGoingAway, "room closed")
		return false
	}
}

// hpJoin authorizes token for document doc and joins its room. On refusal
// it sends permission-denied for that document only and returns false.
func (h *Hub) hpJoin(r *http.Request, sock *socket, doc, token string, d *hpDoc, docs map[string]*hpDoc) bool {
	deny := func(reason string) bool {
		sock.enqueue(hpAuthFrame(doc, hpAuthPermissionDenied, reason))
		return false
	}
	if !roomIDPattern.MatchString(doc) {
		return deny("invalid document name")
	}
	joined := 0
	for _, x := range docs {
		if x.c != nil {
			joined++
		}
	}
	if joined >= h.opts.Limits.MaxDocsPerSocket {
		return deny("too many documents on one connection")
	}
	// Check the token as Options.Auth checks ?token= on y-websocket.
	r2 := r.Clone(r.Context())
	q := r2.URL.Query()
	q.Set("token", token)
	r2.URL.RawQuery = q.Encode()
	authAt := time.Now()
	p, err := h.opts.Auth.Authorize(r2, doc)
	if err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "collab: hocuspocus document refused", slog.String("room", doc), slog.Any("err", err))
		if errors.Is(err, ErrForbidden) {
			return deny("forbidden")
		}
		return deny("unauthorized")
	}
	c := &conn{id: h.nextConn.Add(1), sock: sock, prefix: hpPrefix(doc), userID: p.UserID, authAt: authAt}
	c.setRole(p.Role)
	rm, err := h.acquire(doc, c)
	if err != nil {
		return deny(err.Error())
	}
	c.room = rm
	scope := "readonly"
	if p.Role.CanWrite() {
		scope = "read-write"
	}
	sock.enqueue(hpAuthFrame(doc, hpAuthAuthenticated, scope))
	reply := make(chan error, 1)
	if !rm.send(h.base, &roomEvent{kind: evJoin, c: c, reply: reply}) {
		rm.release(c)
		return deny("server shutting down")
	}
	if err := <-reply; err != nil {
		if errors.Is(err, ErrRoomFull) {
			return deny("room is full")
		}
		if errors.Is(err, ErrForbidden) {
			return deny("forbidden")
		}
		return deny("document unavailable")
	}
	d.c, d.rm = c, rm
	return true
}
