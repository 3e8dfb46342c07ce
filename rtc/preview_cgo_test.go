//go:build cgo

package rtc_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/maxbooster/maxbooster/rtc"
)

// previewClient is a Pion listener: a decoding receiver and the control
// channel with the states it reports.
type previewClient struct {
	*rtc.Client
	rx     *receiver
	dc     chan *webrtc.DataChannel
	states chan rtc.Control
}

func joinPreview(t testing.TB, e *env, project, user, asset string) *previewClient {
	t.Helper()
	return joinPreviewAs(t, e, project, user, "editor", asset)
}

// joinPreviewAs joins a preview with role.
func joinPreviewAs(t testing.TB, e *env, project, user, role, asset string) *previewClient {
	t.Helper()
	pcl := &previewClient{rx: &receiver{}, dc: make(chan *webrtc.DataChannel, 1), states: make(chan rtc.Control, 1024)}
	pcl.Client = e.dial(t, project, user, role, rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModePreview, AssetID: asset}, rtc.ClientOptions{
		Setup: func(pc *webrtc.PeerConnection) error {
			pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { pcl.rx.onTrack(tr) })
			pc.OnDataChannel(func(dc *webrtc.DataChannel) {
				dc.OnOpen(func() { pcl.dc <- dc })
				dc.OnMessage(func(m webrtc.DataChannelMessage) {
					var c rtc.Control
					if json.Unmarshal(m.Data, &c) == nil {
						select {
						case pcl.states <- c:
						default:
						}
					}
				})
			})
			return nil
		},
	})
	t.Cleanup(func() { _ = pcl.Close() })
	select {
	case dc := <-pcl.dc:
		pcl.dc <- dc
	case <-time.After(10 * time.Second):
		t.Fatal("control channel did not open")
	}
	return pcl
}

func (p *previewClient) control(t testing.TB, c rtc.Control) {
	t.Helper()
	dc := <-p.dc
	p.dc <- dc
	b, _ := json.Marshal(c)
	if err := dc.SendText(string(b)); err != nil {
		t.Fatal(err)
	}
}

// waitState returns the first state report satisfying ok.
func (p *previewClient) waitState(t testing.TB, d time.Duration, ok func(rtc.Control) bool) rtc.Control {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case c := <-p.states:
			if ok(c) {
				return c
			}
		case <-deadline:
			t.Fatalf("no matching state within %s", d)
		}
	}
}

func ms(v int64) *int64 { return &v }

// TestPreviewAsset plays an asset's preview to a Pion client on loopback:
// the tones per channel are the source's, seek lands where asked, pause
// sends nothing, the loop region loops, and the playhead is reported.
func TestPreviewAsset(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{})
	src := synth(len(stepFreqs), func(s int) float64 { return stepFreqs[s] }, func(s int) float64 { return 1.5 * stepFreqs[s] })
	e.assets.previews["p1/a1"] = oggOpus(t, src)
	c := joinPreview(t, e, "p1", "u1", "a1")
	st := c.waitState(t, 5*time.Second, func(rtc.Control) bool { return true })
	if st.Playing || st.DurationMs != int64(len(stepFreqs))*1000+20 && st.DurationMs != int64(len(stepFreqs))*1000 {
		t.Errorf("initial state %+v", st)
	}

	// Play: first audio within 100 ms; second 0 is 440 Hz left, 660 Hz right.
	play := time.Now()
	c.control(t, rtc.Control{Op: "play"})
	deadline := time.Now().Add(2 * time.Second)
	for c.rx.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if c.rx.count() == 0 {
		t.Fatal("no audio after play")
	}
	first, _ := c.rx.since(0)
	tta := first[0].at.Sub(play)
	t.Logf("play → first audio %s", tta)
	if tta > 100*time.Millisecond {
		t.Errorf("time to first audio %s, want < 100 ms", tta)
	}
	for deadline := time.Now().Add(5 * time.Second); c.rx.count() < 40 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	frames, n := c.rx.since(0)
	if len(frames) < 40 {
		t.Fatalf("%d frames in 5 s", len(frames))
	}
	checkTones(t, "second 0", frames[3:40], 440, 660)

	// Seek to 3 s: lands on 1100/1650 Hz within a few frames.
	seek := time.Now()
	c.control(t, rtc.Control{Op: "seek", Ms: ms(3000)})
	for deadline, m := time.Now().Add(5*time.Second), n; c.rx.count() < m+30 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	frames, n = c.rx.since(n)
	landed := -1
	for i, f := range frames {
		if f.left == 1100 && f.right == 1650 {
			landed = i
			break
		}
	}
	if landed < 0 || landed > 5 || len(frames) < landed+20 {
		t.Fatalf("seek to 3000 ms: landed at frame %d of %d", landed, len(frames))
	}
	t.Logf("seek → new position heard %s", frames[landed].at.Sub(seek))
	checkTones(t, "after seek", frames[landed+1:landed+20], 1100, 1650)

	// Pause: nothing arrives; the state says paused at the same position.
	c.control(t, rtc.Control{Op: "pause"})
	paused := c.waitState(t, 2*time.Second, func(s rtc.Control) bool { return !s.Playing })
	time.Sleep(100 * time.Millisecond)
	_, n = c.rx.since(n)
	time.Sleep(300 * time.Millisecond)
	if got, _ := c.rx.since(n); len(got) != 0 {
		t.Errorf("%d frames during pause", len(got))
	}
	if paused.PositionMs < 3000 || paused.PositionMs > 4000 {
		t.Errorf("paused at %d ms, want 3000..4000", paused.PositionMs)
	}

	// Loop 1000..1400 ms from 1000: positions stay in the region, and the
	// playhead is reported about every 100 ms.
	c.control(t, rtc.Control{Op: "loop", LoopStartMs: ms(1000), LoopEndMs: ms(1400)})
	c.control(t, rtc.Control{Op: "seek", Ms: ms(1000)})
	c.control(t, rtc.Control{Op: "play"})
	c.waitState(t, 2*time.Second, func(s rtc.Control) bool { return s.Playing })
	reports, wrapped, last := 0, false, int64(-1)
	end := time.After(time.Second)
collect:
	for {
		select {
		case s := <-c.states:
			if !s.Playing {
				continue
			}
			reports++
			if s.PositionMs < 1000 || s.PositionMs > 1400 {
				t.Errorf("position %d ms outside the loop 1000..1400", s.PositionMs)
			}
			if last >= 0 && s.PositionMs < last {
				wrapped = true
			}
			last = s.PositionMs
		case <-end:
			break collect
		}
	}
	if !wrapped {
		t.Error("loop never wrapped in 1 s")
	}
	if reports < 6 {
		t.Errorf("%d playhead reports in 1 s, want about 10", reports)
	}
	_ = c.Close()
	waitEmpty(t, e.srv)
}

// checkTones wants at least 90 % of frames to carry the tones.
func checkTones(t testing.TB, what string, frames []frame, left, right float64) {
	t.Helper()
	ok := 0
	for _, f := range frames {
		if f.left == left && f.right == right {
			ok++
		}
	}
	if len(frames) == 0 || ok*10 < len(frames)*9 {
		t.Errorf("%s: %d/%d frames are %g Hz left / %g Hz right", what, ok, len(frames), left, right)
		for i, f := range frames {
			if i < 5 {
				t.Logf("  frame %d: L %g R %g rms %.3f", i, f.left, f.right, f.rms)
			}
		}
	}
}

// TestListeningParty: two listeners of one asset share one playhead: one
// pauses, both see it; both hear the same packets.
func TestListeningParty(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{})
	src := synth(len(stepFreqs), func(s int) float64 { return stepFreqs[s] }, func(s int) float64 { return 1.5 * stepFreqs[s] })
	e.assets.previews["p1/a1"] = oggOpus(t, src)
	a := joinPreview(t, e, "p1", "alice", "a1")
	b := joinPreview(t, e, "p1", "bob", "a1")
	a.control(t, rtc.Control{Op: "seek", Ms: ms(2000)})
	a.control(t, rtc.Control{Op: "play"})
	st := b.waitState(t, 2*time.Second, func(s rtc.Control) bool { return s.Playing })
	if st.Listeners != 2 {
		t.Errorf("bob sees %d listeners, want 2", st.Listeners)
	}
	time.Sleep(500 * time.Millisecond)
	b.control(t, rtc.Control{Op: "pause"})
	pausedLater := func(s rtc.Control) bool { return !s.Playing && s.PositionMs > 2000 }
	sa := a.waitState(t, 2*time.Second, pausedLater)
	sb := b.waitState(t, 2*time.Second, pausedLater)
	if sa.PositionMs != sb.PositionMs {
		t.Errorf("playheads differ: alice %d, bob %d", sa.PositionMs, sb.PositionMs)
	}
	fa, _ := a.rx.since(0)
	fb, _ := b.rx.since(0)
	checkTones(t, "alice", fa[3:], 880, 1320)
	checkTones(t, "bob", fb[3:], 880, 1320)
	if d := len(fa) - len(fb); d > 3 || d < -3 {
		t.Errorf("alice heard %d frames, bob %d", len(fa), len(fb))
	}
}

// TestListeningPartyViewerListens: a viewer hears the shared playhead but
// cannot move it. Its play, pause, seek and loop are answered with an
// "error" (code forbidden) on the control channel and change nothing for
// anyone; an editor's ops still do.
func TestListeningPartyViewerListens(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{})
	src := synth(len(stepFreqs), func(s int) float64 { return stepFreqs[s] }, func(s int) float64 { return 1.5 * stepFreqs[s] })
	e.assets.previews["p1/a1"] = oggOpus(t, src)
	ed := joinPreviewAs(t, e, "p1", "ed", "editor", "a1")
	v := joinPreviewAs(t, e, "p1", "vic", "viewer", "a1")
	if w := waitEvent(t, v.Client, rtc.MsgWelcome, 5*time.Second); w.Role != "viewer" {
		t.Errorf("viewer's welcome %+v, want role viewer", w)
	}
	for _, c := range []rtc.Control{{Op: "seek", Ms: ms(3000)}, {Op: "play"}, {Op: "loop", LoopStartMs: ms(1000), LoopEndMs: ms(2000)}} {
		v.control(t, c)
		got := v.waitState(t, 2*time.Second, func(s rtc.Control) bool { return s.Op == "error" })
		if got.Code != "forbidden" || !strings.Contains(got.Error, "viewer") {
			t.Errorf("viewer's %s answered %+v, want error forbidden", c.Op, got)
		}
	}
	// Nothing moved: the editor's next state (after its own seek) starts
	// from a stopped playhead with no loop, and nothing was sent.
	ed.control(t, rtc.Control{Op: "seek", Ms: ms(1000)})
	st := ed.waitState(t, 2*time.Second, func(s rtc.Control) bool { return s.PositionMs == 1000 })
	if st.Playing || *st.LoopEndMs != 0 {
		t.Errorf("after the viewer's ops: %+v, want paused without a loop", st)
	}
	if n := v.rx.count() + ed.rx.count(); n != 0 {
		t.Errorf("%d frames sent, want none (the viewer's play was refused)", n)
	}
	// The editor plays; the viewer hears it.
	ed.control(t, rtc.Control{Op: "play"})
	v.waitState(t, 2*time.Second, func(s rtc.Control) bool { return s.Playing })
	for deadline := time.Now().Add(5 * time.Second); v.rx.count() < 20 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	fv, _ := v.rx.since(0)
	if len(fv) < 20 {
		t.Fatalf("viewer heard %d frames", len(fv))
	}
	checkTones(t, "viewer", fv[3:20], 660, 990)
	// A viewer's pause during playback is refused too.
	v.control(t, rtc.Control{Op: "pause"})
	if got := v.waitState(t, 2*time.Second, func(s rtc.Control) bool { return s.Op == "error" }); got.Code != "forbidden" {
		t.Errorf("viewer's pause answered %+v", got)
	}
	if st := ed.waitState(t, 2*time.Second, func(s rtc.Control) bool { return s.Op == "state" }); !st.Playing {
		t.Errorf("the viewer paused the party: %+v", st)
	}
}

// TestPreviewBadAsset: a preview that is not Ogg Opus is refused clearly.
func TestPreviewBadAsset(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{})
	e.assets.previews["p1/bad"] = []byte("RIFF....WAVEfmt this is not ogg")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rtc.Dial(ctx, e.client.API(), e.url("p1", token("u", "p1", "viewer")), rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModePreview, AssetID: "bad"}, rtc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if m := waitEvent(t, c, rtc.MsgError, 5*time.Second); m.Code != "bad_preview" {
		t.Errorf("error %+v, want bad_preview", m)
	}
}
