//go:build cgo

package rtc_test

import (
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/rtc"
)

// TestMultiNodeLiveAudio: Ann's signalling lands on node A, Ben's on node
// B (relayed to A, which holds the room). Each hears the other's tone,
// and the media flows through A alone: B forwards no packet.
func TestMultiNodeLiveAudio(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t)
	a := c.node(t, nodeOptions{})
	b := c.node(t, nodeOptions{})
	ann := joinLive(t, a.env, "ann", liveFreqs[0])
	ben := joinLive(t, b.env, "ben", liveFreqs[1])
	deadline := time.Now().Add(10 * time.Second)
	for ann.framesFrom(ben.peerID) < 50 || ben.framesFrom(ann.peerID) < 50 {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s ann heard %d frames of ben, ben %d of ann", ann.framesFrom(ben.peerID), ben.framesFrom(ann.peerID))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, x := range []struct {
		p, from *participant
	}{{ann, ben}, {ben, ann}} {
		x.p.mu.Lock()
		tones := x.p.heard[x.from.peerID]
		total := 0
		for _, n := range tones {
			total += n
		}
		if right := tones[x.from.freq]; right*10 < total*9 {
			t.Errorf("%s hears %s: %v, want %g Hz in ≥ 90 %% of frames", x.p.peerID, x.from.peerID, tones, x.from.freq)
		}
		x.p.mu.Unlock()
	}
	sa, sb := a.srv.Stats(), b.srv.Stats()
	if sa.Tracks != 2 || sa.ForwardedPackets < 100 || sb.ReceivedPackets != 0 || sb.Relayed != 1 {
		t.Errorf("stats A %+v, B %+v: want both tracks forwarded by A, B only relaying signalling", sa, sb)
	}
	ben.leave()
	ann.leave()
	waitEmpty(t, a.srv)
}

// TestMultiNodeListeningParty: Alice listens to an asset through node A,
// Bob through node B. They share one playhead on A: Bob's seek and pause
// are what Alice sees, and both hear the same tones.
func TestMultiNodeListeningParty(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t)
	a := c.node(t, nodeOptions{})
	b := c.node(t, nodeOptions{})
	src := synth(len(stepFreqs), func(s int) float64 { return stepFreqs[s] }, func(s int) float64 { return 1.5 * stepFreqs[s] })
	c.assets.previews["p1/a1"] = oggOpus(t, src)
	alice := joinPreview(t, a.env, "p1", "alice", "a1")
	bob := joinPreview(t, b.env, "p1", "bob", "a1")
	bob.control(t, rtc.Control{Op: "seek", Ms: ms(2000)})
	bob.control(t, rtc.Control{Op: "play"})
	st := alice.waitState(t, 2*time.Second, func(s rtc.Control) bool { return s.Playing && s.PositionMs >= 2000 })
	if st.Listeners != 2 {
		t.Errorf("alice sees %d listeners, want 2 (one listening party across nodes)", st.Listeners)
	}
	time.Sleep(500 * time.Millisecond)
	bob.control(t, rtc.Control{Op: "pause"})
	pausedLater := func(s rtc.Control) bool { return !s.Playing && s.PositionMs > 2000 }
	sa := alice.waitState(t, 2*time.Second, pausedLater)
	sb := bob.waitState(t, 2*time.Second, pausedLater)
	if sa.PositionMs != sb.PositionMs {
		t.Errorf("playheads differ: alice %d, bob %d", sa.PositionMs, sb.PositionMs)
	}
	fa, _ := alice.rx.since(0)
	fb, _ := bob.rx.since(0)
	checkTones(t, "alice", fa[3:], 880, 1320)
	checkTones(t, "bob", fb[3:], 880, 1320)
	if sb := b.srv.Stats(); sb.Relayed != 1 || sb.Peers != 0 {
		t.Errorf("B stats %+v, want bob relayed to A", sb)
	}
}
