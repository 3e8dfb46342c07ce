package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
)

// peer is one signalling connection and its peer connection.
type peer struct {
	s     *Server
	ws    *websocket.Conn
	grant Grant
	id    string

	out  chan []byte   // messages for the writer
	done chan struct{} // closed by fail: the writer sends what is queued, then closes the socket

	closeOnce   sync.Once
	closeCode   websocket.StatusCode
	closeReason string

	mu       sync.Mutex // guards the fields below
	mode     string
	room     *room
	pc       *webrtc.PeerConnection
	offering bool // an offer waits for its answer
	again    bool // another offer is needed once it comes
	timer    *time.Timer
	pending  []webrtc.ICECandidateInit
	ended    bool

	// live
	muted atomic.Bool
	rec   atomic.Pointer[recorder]
	// preview
	player *player
}

func newPeer(s *Server, ws *websocket.Conn, g Grant, id string) *peer {
	ws.SetReadLimit(s.lim.MaxMessageBytes)
	return &peer{s: s, ws: ws, grant: g, id: id, out: make(chan []byte, 256), done: make(chan struct{})}
}

// send queues m for the client. A client that does not read its messages
// is dropped rather than buffered without limit.
func (p *peer) send(m Message) {
	b := mustJSON(m)
	select {
	case <-p.done:
	case p.out <- b:
	default:
		p.fail(CloseUnavailable, "slow_client", "too many unread messages")
	}
}

// fail sends an error message (when code is set) and closes the socket
// with code once what is queued is written. Only the first call counts.
func (p *peer) fail(code websocket.StatusCode, errCode, text string) {
	p.closeOnce.Do(func() {
		if errCode != "" {
			select {
			case p.out <- mustJSON(Message{Type: MsgError, Code: errCode, Message: text}):
			default:
			}
		}
		p.closeCode, p.closeReason = code, text
		close(p.done)
	})
}

// writeLoop writes queued messages until fail, then the queued rest and
// the close frame.
func (p *peer) writeLoop(ctx context.Context) {
	write := func(b []byte) bool {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return p.ws.Write(wctx, websocket.MessageText, b) == nil
	}
	for {
		select {
		case b := <-p.out:
			if !write(b) {
				p.fail(websocket.StatusGoingAway, "", "write failed")
				_ = p.ws.CloseNow()
				return
			}
		case <-p.done:
			for {
				select {
				case b := <-p.out:
					if !write(b) {
						_ = p.ws.CloseNow()
						return
					}
				default:
					reason := p.closeReason
					if len(reason) > 120 {
						reason = reason[:120]
					}
					_ = p.ws.Close(p.closeCode, reason)
					return
				}
			}
		}
	}
}

// run serves the connection until it ends, then releases everything.
func (p *peer) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.writeLoop(context.WithoutCancel(ctx)) }()
	joinTimer := time.AfterFunc(p.s.lim.JoinTimeout, func() {
		p.mu.Lock()
		joined := p.mode != ""
		p.mu.Unlock()
		if !joined {
			p.fail(CloseTimeout, "join_timeout", "no join message in time")
		}
	})
	p.readLoop(ctx)
	joinTimer.Stop()
	p.fail(websocket.StatusNormalClosure, "", "bye")
	wg.Wait()
	p.release()
}

// release leaves the room and closes the peer connection.
func (p *peer) release() {
	p.mu.Lock()
	p.ended = true
	if p.timer != nil {
		p.timer.Stop()
	}
	rm, pc, pl := p.room, p.pc, p.player
	p.mu.Unlock()
	rec := p.rec.Swap(nil)
	if rec != nil {
		rec.abort()
	}
	if pl != nil {
		pl.removeListener(p)
	}
	if rm != nil {
		rm.leaveLive(p)
		p.s.leaveRoom(rm, p)
	}
	if pc != nil {
		_ = pc.Close()
	}
}

func (p *peer) readLoop(ctx context.Context) {
	for {
		typ, b, err := p.ws.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				p.fail(websocket.StatusMessageTooBig, "", "message too big")
			}
			return
		}
		select {
		case <-p.done:
			continue // closing: wait for the close handshake
		default:
		}
		if typ != websocket.MessageText {
			p.fail(CloseBadMessage, "bad_message", "messages are JSON text")
			continue
		}
		var m Message
		dec := json.NewDecoder(strings.NewReader(string(b)))
		if err := dec.Decode(&m); err != nil {
			p.fail(CloseBadMessage, "bad_message", "malformed JSON: "+err.Error())
			continue
		}
		p.handle(ctx, m)
	}
}

func (p *peer) handle(ctx context.Context, m Message) {
	p.mu.Lock()
	mode := p.mode
	p.mu.Unlock()
	if m.Type != MsgJoin && mode == "" {
		p.fail(CloseBadMessage, "not_joined", "send join first")
		return
	}
	switch m.Type {
	case MsgJoin:
		if mode != "" {
			p.fail(CloseBadMessage, "bad_message", "already joined")
			return
		}
		p.join(ctx, m)
	case MsgAnswer:
		p.answer(m.SDP)
	case MsgCandidate:
		p.candidate(m.Candidate)
	case MsgMute:
		if mode != ModeLive || m.Muted == nil {
			p.fail(CloseBadMessage, "bad_message", "mute needs live mode and muted")
			return
		}
		p.setMuted(*m.Muted)
	case MsgRecord:
		if mode != ModeLive || m.On == nil {
			p.fail(CloseBadMessage, "bad_message", "record needs live mode and on")
			return
		}
		p.record(ctx, m.PeerID, *m.On)
	case MsgLeave:
		p.fail(websocket.StatusNormalClosure, "", "left")
	default:
		p.fail(CloseBadMessage, "bad_message", fmt.Sprintf("unknown message type %q", m.Type))
	}
}

// join makes the peer connection for the chosen mode and sends the first
// offer.
func (p *peer) join(ctx context.Context, m Message) {
	if m.Mode != ModePreview && m.Mode != ModeLive {
		p.fail(CloseBadMessage, "bad_message", `mode must be "preview" or "live"`)
		return
	}
	if m.Mode == ModeLive && p.grant.Role == "viewer" {
		p.fail(CloseForbidden, "forbidden", "viewers cannot join live sessions")
		return
	}
	if m.AssetID != "" && (m.Mode != ModePreview || !projectIDPattern.MatchString(m.AssetID)) {
		p.fail(CloseBadMessage, "bad_message", "assetId is a preview's asset id")
		return
	}
	rm, err := p.s.joinRoom(p)
	if errors.Is(err, errRoomFull) {
		p.fail(CloseRoomFull, "room_full", fmt.Sprintf("room is full (%d peers)", p.s.lim.MaxPeersPerRoom))
		return
	}
	if err != nil {
		p.fail(CloseUnavailable, "shutting_down", "server shutting down")
		return
	}
	pc, err := p.s.opts.Engine.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		p.mu.Lock()
		p.room = rm
		p.mu.Unlock()
		p.fail(CloseUnavailable, "internal", "cannot create peer connection")
		return
	}
	p.mu.Lock()
	p.mode, p.room, p.pc = m.Mode, rm, pc
	p.mu.Unlock()
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		ci := c.ToJSON()
		p.send(Message{Type: MsgCandidate, Candidate: &ci})
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed {
			p.fail(CloseTimeout, "ice_failed", "connection failed")
		}
	})
	if m.Mode == ModePreview {
		if code, ec, text := p.joinPreview(ctx, rm, m.AssetID); code != 0 {
			p.fail(code, ec, text)
			return
		}
		p.send(Message{Type: MsgWelcome, PeerID: p.id, UserID: p.grant.UserID, Mode: m.Mode, Role: p.grant.Role})
	} else {
		peers, err := rm.joinLive(p)
		if err != nil {
			p.fail(CloseUnavailable, "internal", err.Error())
			return
		}
		p.send(Message{Type: MsgWelcome, PeerID: p.id, UserID: p.grant.UserID, Mode: m.Mode, Role: p.grant.Role, Peers: peers})
	}
	p.negotiate()
}

// negotiate queues an offer: it is made now when none is outstanding, or
// once the outstanding one is answered.
func (p *peer) negotiate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended || p.pc == nil {
		return
	}
	if p.offering {
		p.again = true
		return
	}
	p.offerLocked()
}

func (p *peer) offerLocked() {
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		if p.pc.ConnectionState() != webrtc.PeerConnectionStateClosed {
			p.s.log.Warn("rtc: offer", "peer", p.id, "err", err)
			p.fail(CloseUnavailable, "internal", "cannot make an offer")
		}
		return
	}
	p.offering, p.again = true, false
	p.timer = time.AfterFunc(p.s.lim.AnswerTimeout, func() {
		p.fail(CloseTimeout, "answer_timeout", fmt.Sprintf("no answer within %s", p.s.lim.AnswerTimeout))
	})
	sdp := offer.SDP
	if p.mode == ModeLive {
		// Pion refuses a local description that differs from its offer;
		// ptime only tells the remote sender what to send, so the client
		// gets it and the local description stays as made.
		sdp = preferPtime(sdp, 10)
	}
	p.send(Message{Type: MsgOffer, SDP: sdp})
}

// answer applies the client's answer, then the candidates that came
// before it, then the next queued offer.
func (p *peer) answer(sdp string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.offering {
		p.failLocked(CloseBadMessage, "bad_message", "answer without an offer")
		return
	}
	if sdp == "" || len(sdp) > int(p.s.lim.MaxMessageBytes) {
		p.failLocked(CloseBadMessage, "bad_sdp", "answer has no SDP")
		return
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		p.failLocked(CloseBadMessage, "bad_sdp", "malformed SDP answer: "+err.Error())
		return
	}
	p.timer.Stop()
	p.offering = false
	for _, c := range p.pending {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.failLocked(CloseBadMessage, "bad_candidate", "malformed ICE candidate: "+err.Error())
			return
		}
	}
	p.pending = nil
	if p.again {
		p.offerLocked()
	}
}

// failLocked is fail for callers holding p.mu (fail does not take it).
func (p *peer) failLocked(code websocket.StatusCode, errCode, text string) {
	p.fail(code, errCode, text)
}

// candidate adds a remote candidate, or holds it until the remote
// description is set.
func (p *peer) candidate(c *webrtc.ICECandidateInit) {
	if c == nil || len(c.Candidate) > 1024 {
		p.fail(CloseBadMessage, "bad_candidate", "candidate missing or too long")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pc.RemoteDescription() == nil {
		if len(p.pending) >= p.s.lim.MaxPendingICE {
			p.failLocked(CloseBadMessage, "too_many_candidates", fmt.Sprintf("more than %d candidates before the answer", p.s.lim.MaxPendingICE))
			return
		}
		p.pending = append(p.pending, *c)
		return
	}
	if err := p.pc.AddICECandidate(*c); err != nil {
		p.failLocked(CloseBadMessage, "bad_candidate", "malformed ICE candidate: "+err.Error())
	}
}

// drainRTCP reads a sender's RTCP so interceptors (NACK responder, reports)
// see it; it ends when the peer connection closes.
func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// preferPtime asks for ms-long packets in every audio section that has no
// ptime yet (browsers honour a=ptime from the remote description: 10 ms
// halves the packetization delay of live audio).
func preferPtime(sdp string, ms int) string {
	lines := strings.SplitAfter(sdp, "\r\n")
	var b strings.Builder
	audio, has := false, false
	flush := func() {
		if audio && !has {
			fmt.Fprintf(&b, "a=ptime:%d\r\n", ms)
		}
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			flush()
			audio, has = strings.HasPrefix(l, "m=audio"), false
		}
		if strings.HasPrefix(l, "a=ptime:") {
			has = true
		}
		b.WriteString(l)
	}
	flush()
	return b.String()
}
