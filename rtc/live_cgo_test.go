//go:build cgo

package rtc_test

import (
	"bytes"
	"context"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/rtc"
)

// liveFreqs: participant i sends a liveFreqs[i] Hz tone.
var liveFreqs = []float64{440, 660, 880, 1100}

// participant publishes a tone in 10 ms Opus packets with RFC 6464 levels
// and decodes every track it receives, by publisher (stream id).
type participant struct {
	*rtc.Client
	freq   float64
	peerID string
	sent   atomic.Int64

	mu     sync.Mutex
	heard  map[string]map[float64]int // publisher peer id → tone → frames
	frames map[string]int
	stop   chan struct{}
	done   chan struct{}
}

func joinLive(t testing.TB, e *env, user string, freq float64) *participant {
	t.Helper()
	p := &participant{freq: freq, heard: map[string]map[float64]int{}, frames: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	var track *webrtc.TrackLocalStaticRTP
	var sender *webrtc.RTPSender
	p.Client = e.dial(t, "p1", user, "editor", rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModeLive}, rtc.ClientOptions{
		Setup: func(pc *webrtc.PeerConnection) error {
			var err error
			track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", user)
			if err != nil {
				return err
			}
			if sender, err = pc.AddTrack(track); err != nil {
				return err
			}
			pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { p.listen(tr) })
			return nil
		},
	})
	p.peerID = waitEvent(t, p.Client, rtc.MsgWelcome, 5*time.Second).PeerID
	go p.publish(track, sender)
	t.Cleanup(func() { p.leave() })
	return p
}

func (p *participant) leave() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
		<-p.done
		_ = p.Close()
	}
}

func (p *participant) publish(track *webrtc.TrackLocalStaticRTP, sender *webrtc.RTPSender) {
	defer close(p.done)
	enc, err := opus.NewEncoder(48000, 2, opus.AppAudio)
	if err != nil {
		return
	}
	pcm := make([]float32, 2*480)
	buf := make([]byte, 1500)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var seq uint16
	var ts uint32
	for n := 0; ; n++ {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		for i := range 480 {
			v := float32(0.4 * math.Sin(2*math.Pi*p.freq*float64(n*480+i)/48000))
			pcm[2*i], pcm[2*i+1] = v, v
		}
		k, err := enc.EncodeFloat32(pcm, buf)
		if err != nil {
			return
		}
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: buf[:k]}
		for _, ext := range sender.GetParameters().HeaderExtensions {
			if ext.URI == rtc.AudioLevel {
				_ = pkt.SetExtension(uint8(ext.ID), []byte{0x80 | 8}) // voice, -8 dBov
			}
		}
		if track.WriteRTP(pkt) == nil {
			p.sent.Add(1)
		}
		seq++
		ts += 480
	}
}

func (p *participant) listen(tr *webrtc.TrackRemote) {
	dec, err := opus.NewDecoder(48000, 2)
	if err != nil {
		return
	}
	from := tr.StreamID()
	pcm := make([]float32, 2*5760)
	mono := make([]float32, 0, 5760)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		n, err := dec.DecodeFloat32(pkt.Payload, pcm)
		if err != nil {
			continue
		}
		mono = mono[:0]
		for i := range n {
			mono = append(mono, pcm[2*i])
		}
		f := tone(mono)
		p.mu.Lock()
		if p.heard[from] == nil {
			p.heard[from] = map[float64]int{}
		}
		p.heard[from][f]++
		p.frames[from]++
		p.mu.Unlock()
	}
}

func (p *participant) framesFrom(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frames[id]
}

// TestLiveRoomFour: four participants each hear the other three (each by
// its own tone, never their own), see join, speaking, mute and leave
// events, and one is recorded to an Ogg Opus blob.
func TestLiveRoomFour(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{})
	users := []string{"ann", "ben", "cat", "dan"}
	var ps []*participant
	start := time.Now()
	for i, u := range users {
		ps = append(ps, joinLive(t, e, u, liveFreqs[i]))
	}
	tone := map[string]float64{}
	for _, p := range ps {
		tone[p.peerID] = p.freq
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		all := true
		for _, p := range ps {
			for _, q := range ps {
				if p != q && p.framesFrom(q.peerID) < 50 {
					all = false
				}
			}
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			for _, p := range ps {
				p.mu.Lock()
				t.Logf("%s (%s): frames %v answers %d", p.peerID, p.PC().ConnectionState(), p.frames, p.Answers())
				p.mu.Unlock()
			}
			t.Fatal("not everyone hears everyone after 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("everyone heard everyone 50 frames after %s", time.Since(start))
	if st := e.srv.Stats(); st.Tracks != 4 || st.ForwardedPackets < 12*50 || st.ReceivedPackets*3 < st.ForwardedPackets {
		t.Errorf("stats %+v: want 4 tracks, each received packet forwarded to 3", st)
	}
	for _, p := range ps {
		p.mu.Lock()
		if _, self := p.heard[p.peerID]; self {
			t.Errorf("%s hears itself", p.peerID)
		}
		if len(p.heard) != 3 {
			t.Errorf("%s hears %d publishers, want 3", p.peerID, len(p.heard))
		}
		for from, tones := range p.heard {
			total, right := 0, tones[tone[from]]
			for _, n := range tones {
				total += n
			}
			if right*10 < total*9 {
				t.Errorf("%s hears %s: %v, want %g Hz in ≥ 90 %% of frames", p.peerID, from, tones, tone[from])
			}
		}
		p.mu.Unlock()
		if p.Answers() < 2 {
			t.Errorf("%s answered %d offers, want renegotiations", p.peerID, p.Answers())
		}
	}
	// Speaking: ann hears that ben speaks.
	for {
		m := waitEvent(t, ps[0].Client, rtc.MsgSpeaking, 3*time.Second)
		if m.PeerID == ps[1].peerID && m.Speaking != nil && *m.Speaking {
			break
		}
	}

	// Record ben for a second.
	ctx := context.Background()
	on, off := true, false
	if err := ps[1].Send(ctx, rtc.Message{Type: rtc.MsgRecord, On: &on}); err != nil {
		t.Fatal(err)
	}
	sent0 := ps[1].sent.Load()
	time.Sleep(time.Second)
	if err := ps[1].Send(ctx, rtc.Message{Type: rtc.MsgRecord, On: &off}); err != nil {
		t.Fatal(err)
	}
	// A loaded machine's ticker sends fewer than 100 packets a second:
	// expect what was sent.
	sentSecs := float64(ps[1].sent.Load()-sent0) * 0.01
	rec := waitEvent(t, ps[1].Client, rtc.MsgRecorded, 5*time.Second)
	checkRecording(t, e.blobs.get(rec.Blob), liveFreqs[1], sentSecs)

	// Mute cat: the others are told, and cat's packets stop.
	if err := ps[2].Send(ctx, rtc.Message{Type: rtc.MsgMute, Muted: &on}); err != nil {
		t.Fatal(err)
	}
	if m := waitEvent(t, ps[0].Client, rtc.MsgMuted, 3*time.Second); m.PeerID != ps[2].peerID || m.Muted == nil || !*m.Muted {
		t.Errorf("muted event %+v", m)
	}
	for { // and cat no longer shows as speaking
		m := waitEvent(t, ps[0].Client, rtc.MsgSpeaking, 3*time.Second)
		if m.PeerID == ps[2].peerID && m.Speaking != nil && !*m.Speaking {
			break
		}
	}
	time.Sleep(200 * time.Millisecond)
	before := ps[0].framesFrom(ps[2].peerID)
	time.Sleep(300 * time.Millisecond)
	if got := ps[0].framesFrom(ps[2].peerID) - before; got > 0 {
		t.Errorf("%d frames from muted cat", got)
	}

	// Dan leaves: the others are told.
	ps[3].leave()
	for _, p := range ps[:3] {
		for {
			m := waitEvent(t, p.Client, rtc.MsgLeft, 5*time.Second)
			if m.PeerID == ps[3].peerID {
				break
			}
		}
	}
	for _, p := range ps[:3] {
		p.leave()
	}
	waitEmpty(t, e.srv)
}

// checkRecording decodes an Ogg Opus recording and wants about a second of
// the tone.
func checkRecording(t *testing.T, b []byte, freq, wantSecs float64) {
	t.Helper()
	if len(b) == 0 {
		t.Fatal("recording is empty")
	}
	r, err := audio.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("recording: %v", err)
	}
	defer r.Close()
	x, err := audio.ReadAll(r, 10*48000*2)
	if err != nil {
		t.Fatalf("recording: %v", err)
	}
	secs := float64(len(x)/2) / 48000
	t.Logf("recording: %.2f s of audio; %.2f s were sent while recording", secs, wantSecs)
	if secs < 0.7*wantSecs-0.05 || secs > wantSecs+0.1 || secs < 0.1 {
		t.Errorf("recording is %.2f s, want about the %.2f s sent", secs, wantSecs)
	}
	mono := make([]float32, 0, len(x)/2)
	for i := 0; i+1 < len(x); i += 2 {
		mono = append(mono, float32(x[i]))
	}
	if got := tone(mono[len(mono)/4 : 3*len(mono)/4]); got != freq {
		t.Errorf("recording is %g Hz, want %g", got, freq)
	}
}

func TestPreferPtime(t *testing.T) {
	in := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n"
	out := rtc.PreferPtime(in, 10)
	if strings.Count(out, "a=ptime:10\r\n") != 1 || !strings.Contains(out, "opus/48000/2\r\na=ptime:10\r\nm=application") {
		t.Errorf("got %q", out)
	}
	if again := rtc.PreferPtime(out, 10); again != out {
		t.Errorf("second pass changed it: %q", again)
	}
}
