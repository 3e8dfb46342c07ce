package rtc

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// room is one project's peers: live participants and preview listeners.
type room struct {
	s  *Server
	id string

	mu      sync.Mutex
	peers   map[*peer]struct{}
	live    map[*peer]*publication // live participants; nil publication until their track arrives
	players map[string]*player     // preview sources by key
}

// publication is one participant's forwarded track.
type publication struct {
	owner *peer
	track *webrtc.TrackLocalStaticRTP
	subs  atomic.Int64 // len(senders), read by the forwarding loop
	// senders of this track on other peers' connections
	senders map[*peer]*webrtc.RTPSender
}

func newRoom(s *Server, id string) *room {
	return &room{s: s, id: id, peers: map[*peer]struct{}{}, live: map[*peer]*publication{}, players: map[string]*player{}}
}

// add admits p unless the room holds max peers.
func (rm *room) add(p *peer, limit int) bool {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if len(rm.peers) >= limit {
		return false
	}
	rm.peers[p] = struct{}{}
	return true
}

// remove drops p and reports whether the room is empty.
func (rm *room) remove(p *peer) bool {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	delete(rm.peers, p)
	return len(rm.peers) == 0
}

// broadcastLive sends m to every live participant but skip.
func (rm *room) broadcastLive(m Message, skip *peer) {
	rm.mu.Lock()
	targets := make([]*peer, 0, len(rm.live))
	for q := range rm.live {
		if q != skip {
			targets = append(targets, q)
		}
	}
	rm.mu.Unlock()
	for _, q := range targets {
		q.send(m)
	}
}

// joinLive makes p a live participant: a receive transceiver for its
// audio, every existing publication added to its connection. It returns
// the participants already there.
func (rm *room) joinLive(p *peer) ([]PeerInfo, error) {
	pc := p.pc
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return nil, errors.New("cannot add the audio transceiver")
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		rm.publish(p, remote, recv)
	})
	rm.mu.Lock()
	var infos []PeerInfo
	for q, pub := range rm.live {
		infos = append(infos, PeerInfo{PeerID: q.id, UserID: q.grant.UserID, Muted: q.muted.Load()})
		if pub != nil {
			if err := pub.attach(p); err != nil {
				rm.mu.Unlock()
				return nil, err
			}
		}
	}
	rm.live[p] = nil
	rm.mu.Unlock()
	rm.broadcastLive(Message{Type: MsgJoined, PeerID: p.id, UserID: p.grant.UserID}, p)
	return infos, nil
}

// attach adds pub's track to q's connection (the caller renegotiates q).
func (pub *publication) attach(q *peer) error {
	s, err := q.pc.AddTrack(pub.track)
	if err != nil {
		return errors.New("cannot add a participant's track")
	}
	pub.senders[q] = s
	pub.subs.Store(int64(len(pub.senders)))
	go drainRTCP(s)
	return nil
}

// publish forwards p's incoming track to every other participant.
func (rm *room) publish(p *peer, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if remote.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, "audio", p.id)
	if err != nil {
		return
	}
	pub := &publication{owner: p, track: local, senders: map[*peer]*webrtc.RTPSender{}}
	rm.mu.Lock()
	if old, ok := rm.live[p]; !ok || old != nil {
		rm.mu.Unlock() // left already, or a second track: one track per participant
		return
	}
	rm.live[p] = pub
	rm.s.stats.tracks.Add(1)
	defer rm.s.stats.tracks.Add(-1)
	var renegotiate []*peer
	for q := range rm.live {
		if q != p && pub.attach(q) == nil {
			renegotiate = append(renegotiate, q)
		}
	}
	rm.mu.Unlock()
	for _, q := range renegotiate {
		q.negotiate()
	}
	levelID := 0
	for _, ext := range recv.GetParameters().HeaderExtensions {
		if ext.URI == AudioLevel {
			levelID = ext.ID
		}
	}
	rm.forward(p, remote, local, levelID, pub)
}

// speakingLevel is the loudness (dBov, as RFC 6464 sends it negated) at
// and above which a participant counts as speaking; speakingHold keeps the
// indicator on through short pauses.
const (
	speakingLevel = 45
	speakingHold  = 400 * time.Millisecond
)

// forward copies RTP from remote to local until the track ends: audio
// levels are read for the speaking indicator, header extensions stripped
// (their ids are negotiated per connection), muted participants dropped,
// and packets recorded when recording is on.
func (rm *room) forward(p *peer, remote *webrtc.TrackRemote, local *webrtc.TrackLocalStaticRTP, levelID int, pub *publication) {
	var (
		speaking  bool
		lastLoud  time.Time
		lastEvent time.Time
		pkt       = &rtp.Packet{}
		buf       = make([]byte, 1500)
	)
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		if p.muted.Load() {
			if speaking { // a muted participant is not heard speaking
				speaking, lastLoud = false, time.Time{}
				off, db := false, -127
				rm.broadcastLive(Message{Type: MsgSpeaking, PeerID: p.id, Speaking: &off, Level: &db}, nil)
			}
			continue
		}
		if levelID != 0 {
			if ext := pkt.GetExtension(uint8(levelID)); len(ext) > 0 { //nolint:gosec // G115: extension ids are 1..255
				lvl := int(ext[0] & 0x7f)
				now := time.Now()
				if lvl <= speakingLevel {
					lastLoud = now
				}
				on := !lastLoud.IsZero() && now.Sub(lastLoud) < speakingHold
				if on != speaking && now.Sub(lastEvent) > 100*time.Millisecond {
					speaking, lastEvent = on, now
					db := -lvl
					rm.broadcastLive(Message{Type: MsgSpeaking, PeerID: p.id, Speaking: &on, Level: &db}, nil)
				}
			}
		}
		if rec := p.rec.Load(); rec != nil {
			rec.write(pkt)
		}
		pkt.Extension, pkt.Extensions, pkt.ExtensionProfile = false, nil, 0
		rm.s.stats.received.Add(1)
		if err := local.WriteRTP(pkt); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			continue // one subscriber's failure is not the others'
		}
		rm.s.stats.forwarded.Add(uint64(pub.subs.Load())) //nolint:gosec // G115: a count, never negative
	}
}

// leaveLive removes p's publication from everyone and tells them.
func (rm *room) leaveLive(p *peer) {
	rm.mu.Lock()
	pub, ok := rm.live[p]
	if !ok {
		rm.mu.Unlock()
		return
	}
	delete(rm.live, p)
	var renegotiate []*peer
	if pub != nil {
		pub.subs.Store(0)
		for q, s := range pub.senders {
			if _, still := rm.live[q]; still && q.pc.RemoveTrack(s) == nil {
				renegotiate = append(renegotiate, q)
			}
		}
	}
	for _, other := range rm.live { // p's senders of others' tracks go with its connection
		if other != nil {
			delete(other.senders, p)
			other.subs.Store(int64(len(other.senders)))
		}
	}
	rm.mu.Unlock()
	for _, q := range renegotiate {
		q.negotiate()
	}
	rm.broadcastLive(Message{Type: MsgLeft, PeerID: p.id, UserID: p.grant.UserID}, p)
}

// setMuted mutes (the server stops forwarding) or unmutes p.
func (p *peer) setMuted(on bool) {
	if p.muted.Swap(on) == on {
		return
	}
	p.mu.Lock()
	rm := p.room
	p.mu.Unlock()
	rm.broadcastLive(Message{Type: MsgMuted, PeerID: p.id, UserID: p.grant.UserID, Muted: &on}, nil)
}
