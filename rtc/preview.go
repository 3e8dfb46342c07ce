package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/maxbooster/maxbooster/audio/blob"
)

// Source yields a preview as 20 ms Opus packets (48 kHz stereo).
type Source interface {
	// Frames is the length in 20 ms frames; it may change (a mix whose
	// document changes).
	Frames() int
	// Packet returns frame i's Opus packet. Calls are sequential.
	Packet(i int) ([]byte, error)
	// Close releases the source.
	Close() error
}

// stateEvery is how often the playhead is reported while playing.
const stateEvery = 100 * time.Millisecond

// player streams one Source to every listener of it: one track, one
// playhead (the listening party). Its goroutine runs while it has
// listeners.
type player struct {
	rm    *room
	key   string
	src   Source
	track *webrtc.TrackLocalStaticRTP

	mu        sync.Mutex
	listeners map[*peer]*webrtc.DataChannel
	playing   bool
	pos       int // next frame
	loopA     int // loop region [loopA, loopB) in frames; loopB 0 = none
	loopB     int
	ended     bool
	errText   string

	stop chan struct{}
	done chan struct{}
}

// joinPreview attaches p to the player of the asked source (creating it)
// and adds its track and control channel to p's connection.
func (p *peer) joinPreview(ctx context.Context, rm *room, assetID string) (websocket.StatusCode, string, string) {
	key := "mix"
	if assetID != "" {
		key = "asset:" + assetID
	}
	pl, code, ec, text := rm.player(ctx, key, assetID, p)
	if code != 0 {
		return code, ec, text
	}
	p.mu.Lock()
	p.player = pl // release removes the listener
	p.mu.Unlock()
	s, err := p.pc.AddTrack(pl.track)
	if err != nil {
		return CloseUnavailable, "internal", "cannot add the preview track"
	}
	go drainRTCP(s)
	ordered := true
	dc, err := p.pc.CreateDataChannel("control", &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		return CloseUnavailable, "internal", "cannot open the control channel"
	}
	pl.mu.Lock()
	pl.listeners[p] = dc
	pl.mu.Unlock()
	dc.OnOpen(func() { pl.sendState(dc) })
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		if len(msg.Data) > 1024 {
			return
		}
		var c Control
		if json.Unmarshal(msg.Data, &c) != nil {
			return
		}
		if !controlOps[c.Op] {
			return // unknown ops are ignored, as before
		}
		if !canControl(p.grant.Role) {
			_ = dc.SendText(string(mustJSON(controlError{Op: "error", Code: "forbidden", Error: errViewerControl})))
			return
		}
		pl.control(c)
	})
	return 0, "", ""
}

// controlOps are the ops a listener sends.
var controlOps = map[string]bool{"play": true, "pause": true, "seek": true, "loop": true}

// errViewerControl is what a viewer's control op is answered with.
const errViewerControl = "viewers listen only: play, pause, seek and loop of the shared playhead need the editor or owner role"

// canControl reports whether role may move the shared playhead (the role
// the peer joined with): owners and editors control, viewers listen.
func canControl(role string) bool { return role == "owner" || role == "editor" }

// controlError is the data channel's answer to a refused op.
type controlError struct {
	Op    string `json:"op"`
	Code  string `json:"code"`
	Error string `json:"error"`
}

// player returns the room's player for key, creating it; the caller is
// counted as a listener (placeholder until its channel exists).
func (rm *room) player(ctx context.Context, key, assetID string, p *peer) (*player, websocket.StatusCode, string, string) {
	rm.mu.Lock()
	if pl := rm.players[key]; pl != nil {
		pl.mu.Lock()
		pl.listeners[p] = nil
		pl.mu.Unlock()
		rm.mu.Unlock()
		return pl, 0, "", ""
	}
	rm.mu.Unlock()
	src, code, ec, text := rm.s.openSource(ctx, p.grant.UserID, rm.id, assetID)
	if code != 0 {
		return nil, code, ec, text
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: SampleRate, Channels: Channels, SDPFmtpLine: OpusFmtp,
	}, "audio", "preview")
	if err != nil {
		_ = src.Close()
		return nil, CloseUnavailable, "internal", "cannot create the preview track"
	}
	pl := &player{rm: rm, key: key, src: src, track: track, listeners: map[*peer]*webrtc.DataChannel{p: nil},
		stop: make(chan struct{}), done: make(chan struct{})}
	rm.mu.Lock()
	if other := rm.players[key]; other != nil { // lost a race: use the first one
		other.mu.Lock()
		other.listeners[p] = nil
		other.mu.Unlock()
		rm.mu.Unlock()
		_ = src.Close()
		return other, 0, "", ""
	}
	rm.players[key] = pl
	rm.mu.Unlock()
	go pl.run()
	return pl, 0, "", ""
}

// openSource opens an asset's preview or the project mix.
func (s *Server) openSource(ctx context.Context, userID, projectID, assetID string) (Source, websocket.StatusCode, string, string) {
	if assetID == "" {
		if s.opts.Docs == nil {
			return nil, CloseUnavailable, "unavailable", "mix previews are not configured"
		}
		src, err := newMixSource(ctx, s, userID, projectID)
		if errors.Is(err, ErrNoOpus) {
			return nil, CloseUnavailable, "unavailable", err.Error()
		}
		if err != nil {
			s.log.Warn("rtc: mix source", "project", projectID, "err", err)
			return nil, CloseUnavailable, "internal", "cannot follow the project document"
		}
		return src, 0, "", ""
	}
	if s.opts.Assets == nil {
		return nil, CloseUnavailable, "unavailable", "asset previews are not configured"
	}
	rc, err := s.opts.Assets.Preview(ctx, userID, projectID, assetID)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, CloseNotFound, "not_found", "no such asset or no preview yet"
	}
	if err != nil {
		s.log.Warn("rtc: open preview", "project", projectID, "asset", assetID, "err", err)
		return nil, CloseUnavailable, "internal", "cannot open the preview"
	}
	defer rc.Close()
	pkts, err := ReadOggOpus(io.LimitReader(rc, s.lim.MaxPreviewBytes+1), s.lim.MaxPreviewBytes)
	if err != nil {
		return nil, CloseUnavailable, "bad_preview", err.Error()
	}
	return PacketSource(pkts), 0, "", ""
}

// PacketSource is a Source over pre-encoded 20 ms Opus packets.
type PacketSource [][]byte

// Frames implements Source.
func (ps PacketSource) Frames() int { return len(ps) }

// Packet implements Source.
func (ps PacketSource) Packet(i int) ([]byte, error) { return ps[i], nil }

// Close implements Source.
func (PacketSource) Close() error { return nil }

// removeListener drops p; the last listener stops the player.
func (pl *player) removeListener(p *peer) {
	pl.mu.Lock()
	delete(pl.listeners, p)
	n := len(pl.listeners)
	pl.mu.Unlock()
	if n > 0 {
		return
	}
	pl.rm.mu.Lock()
	pl.mu.Lock()
	last := len(pl.listeners) == 0 && pl.rm.players[pl.key] == pl
	if last {
		delete(pl.rm.players, pl.key)
	}
	pl.mu.Unlock()
	pl.rm.mu.Unlock()
	if last {
		close(pl.stop)
		<-pl.done
		_ = pl.src.Close()
	}
}

const msPerFrame = int64(FrameDur / time.Millisecond)

// control applies a listener's command, then tells everyone the state.
func (pl *player) control(c Control) {
	pl.mu.Lock()
	frames := pl.src.Frames()
	clamp := func(ms int64) int {
		f := ms / msPerFrame
		if f < 0 {
			f = 0
		}
		if f > int64(frames) {
			f = int64(frames)
		}
		return int(f)
	}
	switch c.Op {
	case "play":
		if pl.pos >= frames {
			pl.pos = 0
		}
		pl.playing, pl.ended = true, false
	case "pause":
		pl.playing = false
	case "seek":
		if c.Ms == nil {
			pl.mu.Unlock()
			return
		}
		pl.pos, pl.ended = clamp(*c.Ms), false
	case "loop":
		if c.LoopStartMs == nil || c.LoopEndMs == nil {
			pl.mu.Unlock()
			return
		}
		a, b := clamp(*c.LoopStartMs), clamp(*c.LoopEndMs)
		if b <= a {
			a, b = 0, 0
		}
		pl.loopA, pl.loopB = a, b
	default:
		pl.mu.Unlock()
		return
	}
	pl.mu.Unlock()
	pl.broadcastState()
}

func (pl *player) stateLocked() Control {
	errText := pl.errText
	if ps, ok := pl.src.(interface{ problem() string }); ok && errText == "" {
		errText = ps.problem()
	}
	return Control{Op: "state", Playing: pl.playing, PositionMs: int64(pl.pos) * msPerFrame,
		DurationMs: int64(pl.src.Frames()) * msPerFrame, Listeners: len(pl.listeners), Ended: pl.ended, Error: errText,
		LoopStartMs: ptr(int64(pl.loopA) * msPerFrame), LoopEndMs: ptr(int64(pl.loopB) * msPerFrame)}
}

func ptr[T any](v T) *T { return &v }

func (pl *player) sendState(dc *webrtc.DataChannel) {
	pl.mu.Lock()
	b := mustJSON(pl.stateLocked())
	pl.mu.Unlock()
	_ = dc.SendText(string(b))
}

func (pl *player) broadcastState() {
	pl.mu.Lock()
	b := string(mustJSON(pl.stateLocked()))
	dcs := make([]*webrtc.DataChannel, 0, len(pl.listeners))
	for _, dc := range pl.listeners {
		if dc != nil {
			dcs = append(dcs, dc)
		}
	}
	pl.mu.Unlock()
	for _, dc := range dcs {
		if dc.ReadyState() == webrtc.DataChannelStateOpen {
			_ = dc.SendText(b)
		}
	}
}

// run paces packets every 20 ms. RTP timestamps follow the wall clock
// (they advance while paused, so receivers see a gap, not jitter), and
// the first packet after a gap carries the marker bit.
func (pl *player) run() {
	defer close(pl.done)
	t := time.NewTicker(FrameDur)
	defer t.Stop()
	var (
		seq    uint16
		ts     uint32
		marker = true
		ticks  int
		frames = -1 // the length last reported
		issue  string
	)
	for {
		select {
		case <-pl.stop:
			return
		case <-t.C:
		}
		ticks++
		pl.mu.Lock()
		var payload []byte
		changed := false
		if pl.playing {
			frames := pl.src.Frames()
			if pl.loopB > 0 && pl.pos >= pl.loopB {
				pl.pos = pl.loopA
			}
			if pl.pos >= frames {
				pl.playing, pl.ended, changed = false, true, true
			} else {
				b, err := pl.src.Packet(pl.pos)
				if err != nil {
					pl.playing, pl.errText, changed = false, err.Error(), true
				} else {
					payload = b
					pl.pos++
				}
			}
		}
		report := pl.playing && ticks%int(stateEvery/FrameDur) == 0
		// A mix's length or problem changes with the document and with
		// assets that arrive late: report it even while paused.
		if n := pl.src.Frames(); n != frames {
			changed = changed || frames >= 0
			frames = n
		}
		if ps, ok := pl.src.(interface{ problem() string }); ok {
			if now := ps.problem(); now != issue {
				changed, issue = true, now
			}
		}
		pl.mu.Unlock()
		if payload != nil {
			_ = pl.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, Marker: marker, SequenceNumber: seq, Timestamp: ts}, Payload: payload})
			seq++
			marker = false
		} else {
			marker = true
		}
		ts += FrameLen
		if changed || report {
			pl.broadcastState()
		}
	}
}
