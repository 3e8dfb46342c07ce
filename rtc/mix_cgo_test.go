//go:build cgo

package rtc_test

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"gopkg.in/hraban/opus.v2"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/collab/daw"
	"github.com/maxbooster/maxbooster/crdt"
	"github.com/maxbooster/maxbooster/rtc"
)

// setTrack sets one field of the track at index i.
func setTrack(i int, key string, v any) func(d *crdt.Doc) error {
	return func(d *crdt.Doc) error {
		return d.GetArray(daw.RootTracks).ToArray()[i].(*crdt.Map).Set(key, v)
	}
}

// TestPreviewMixFollowsDocument renders the project mix from the DAW
// document (two tracks panned hard left and right), and checks that a
// mute and a solo made during playback are heard within 200 ms.
func TestPreviewMixFollowsDocument(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{})
	tone := func(f float64) []float64 {
		return synth(6, func(int) float64 { return f }, func(int) float64 { return f })
	}
	e.assets.audio["p1/a440"] = wavBytes(t, tone(440))
	e.assets.audio["p1/a660"] = wavBytes(t, tone(660))
	e.docs.edit(t, "p1", func(d *crdt.Doc) error {
		if err := daw.AddTrack(d, daw.Track{ID: "t1", Name: "left", Kind: daw.KindAudio, Pan: -1}); err != nil {
			return err
		}
		if err := daw.AddTrack(d, daw.Track{ID: "t2", Name: "right", Kind: daw.KindAudio, Pan: 1, Volume: -6}); err != nil {
			return err
		}
		// t1: the 440 Hz asset from its second 1, at project second 0.5, with fades.
		if err := daw.AddClip(d, "t1", daw.Clip{ID: "c1", AssetID: "a440", Position: 0.5, Offset: 1, Length: 4, FadeIn: 0.1, FadeOut: 0.1}); err != nil {
			return err
		}
		return daw.AddClip(d, "t2", daw.Clip{ID: "c2", AssetID: "a660", Position: 0, Length: 5, Gain: 3})
	})
	c := joinPreview(t, e, "p1", "u1", "")
	st := c.waitState(t, 5*time.Second, func(rtc.Control) bool { return true })
	if st.DurationMs != 5000 {
		t.Errorf("mix duration %d ms, want 5000", st.DurationMs)
	}
	c.control(t, rtc.Control{Op: "play"})
	for deadline := time.Now().Add(5 * time.Second); c.rx.count() < 60 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	frames, n := c.rx.since(0)
	if len(frames) < 60 {
		t.Fatalf("%d frames in 5 s", len(frames))
	}
	checkTones(t, "before the clip on the left", frames[3:20], 0, 660)
	checkTones(t, "both clips", frames[30:55], 440, 660)

	// Mute t1 during playback: the left side goes quiet within 200 ms.
	edit := time.Now()
	e.docs.edit(t, "p1", setTrack(0, "mute", true))
	quietAfter(t, c, &n, edit, func(f frame) bool { return f.left == 0 && f.right == 660 }, "mute t1")

	// Unmute t1 and solo it: now only the left side sounds.
	edit = time.Now()
	e.docs.edit(t, "p1", func(d *crdt.Doc) error {
		return errorsJoin(setTrack(0, "mute", false)(d), setTrack(0, "solo", true)(d))
	})
	quietAfter(t, c, &n, edit, func(f frame) bool { return f.left == 440 && f.right == 0 }, "solo t1")
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// quietAfter waits for five frames in a row satisfying ok and wants the
// first of them within 200 ms of the edit.
func quietAfter(t *testing.T, c *previewClient, n *int, edit time.Time, ok func(frame) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	var got []frame
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		var more []frame
		more, *n = c.rx.since(*n)
		got = append(got, more...)
		run := 0
		for i, f := range got {
			if !ok(f) {
				run = 0
				continue
			}
			run++
			if run == 5 {
				first := got[i-4]
				d := first.at.Sub(edit)
				t.Logf("%s heard after %s", what, d)
				if d > 200*time.Millisecond {
					t.Errorf("%s heard after %s, want < 200 ms", what, d)
				}
				return
			}
		}
	}
	t.Errorf("%s never heard", what)
}

// TestPreviewMixFollowsHub plays the mix of a project held by a real
// collab hub (rtc.HubDocs, as the server is wired) and hears an edit
// applied to the hub, as an editor's would be, within 200 ms.
func TestPreviewMixFollowsHub(t *testing.T) {
	checkLeaks(t)
	hub, err := collab.NewHub(collab.Options{Store: collab.NewMemStore(), Auth: collab.AuthorizerFunc(func(*http.Request, string) (collab.Principal, error) {
		return collab.Principal{}, collab.ErrForbidden
	})})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, rtc.Limits{}, func(o *rtc.Options) { o.Docs = rtc.HubDocs(hub) })
	t.Cleanup(func() { // after the server closes (cleanups run last first)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hub.Close(ctx); err != nil {
			t.Errorf("hub close: %v", err)
		}
	})
	e.assets.audio["p1/a440"] = wavBytes(t, synth(4, func(int) float64 { return 440 }, func(int) float64 { return 440 }))
	doc := crdt.NewDoc(nil)
	apply := func(edit func() error) {
		t.Helper()
		var updates [][]byte
		unsub := doc.OnUpdate(func(u []byte, _ any, _ *crdt.Transaction) { updates = append(updates, append([]byte(nil), u...)) })
		err := edit()
		unsub()
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range updates {
			if err := hub.Apply(context.Background(), "p1", u); err != nil {
				t.Fatal(err)
			}
		}
	}
	apply(func() error {
		if err := daw.AddTrack(doc, daw.Track{ID: "t1", Kind: daw.KindAudio}); err != nil {
			return err
		}
		return daw.AddClip(doc, "t1", daw.Clip{ID: "c1", AssetID: "a440", Length: 4})
	})
	c := joinPreview(t, e, "p1", "u1", "")
	c.waitState(t, 5*time.Second, func(s rtc.Control) bool { return s.DurationMs == 4000 })
	c.control(t, rtc.Control{Op: "play"})
	for deadline := time.Now().Add(5 * time.Second); c.rx.count() < 30 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	frames, n := c.rx.since(0)
	if len(frames) < 30 {
		t.Fatalf("%d frames", len(frames))
	}
	checkTones(t, "from the hub's document", frames[3:30], 440, 440)
	edit := time.Now()
	apply(func() error { return setTrack(0, "mute", true)(doc) })
	quietAfter(t, c, &n, edit, func(f frame) bool { return f.left == 0 && f.right == 0 }, "mute through the hub")
}

// TestMixSeekResetsEncoder: after a seek the mix's packets are the ones a
// new encoder makes from that position, byte for byte, so nothing of the
// old position (the encoder's lookahead and prediction) leaks into the
// new one. Without the reset the first packets after the jump differ.
func TestMixSeekResetsEncoder(t *testing.T) {
	const secs = 6
	pcm := make(rtc.PCM, 2*secs*rtc.SampleRate)
	for i := range secs * rtc.SampleRate {
		f := 440.0
		if i >= 3*rtc.SampleRate {
			f = 1100
		}
		v := float32(0.5 * math.Sin(2*math.Pi*f*float64(i)/rtc.SampleRate))
		pcm[2*i], pcm[2*i+1] = v, v
	}
	doc := crdt.NewDoc(nil)
	if err := daw.AddTrack(doc, daw.Track{ID: "t1", Kind: daw.KindAudio}); err != nil {
		t.Fatal(err)
	}
	if err := daw.AddClip(doc, "t1", daw.Clip{ID: "c1", AssetID: "a", Length: secs}); err != nil {
		t.Fatal(err)
	}
	m := rtc.NewMix(daw.Read(doc), map[string]rtc.PCM{"a": pcm})
	played, closePlayed, err := rtc.NewMixPackets(m)
	if err != nil {
		t.Fatal(err)
	}
	defer closePlayed()
	encode := func(packet func(int) ([]byte, error), from, to int) [][]byte {
		var out [][]byte
		for i := from; i < to; i++ {
			b, err := packet(i)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, append([]byte(nil), b...))
		}
		return out
	}
	encode(played, 0, 50) // one second of 440 Hz
	afterSeek := encode(played, 200, 210)
	encode(played, 210, 220)
	afterLoop := encode(played, 100, 110) // a loop's wrap back

	for _, c := range []struct {
		name string
		from int
		got  [][]byte
	}{{"seek to 4 s", 200, afterSeek}, {"wrap to 2 s", 100, afterLoop}} {
		fresh, closeFresh, err := rtc.NewMixPackets(m)
		if err != nil {
			t.Fatal(err)
		}
		want := encode(fresh, c.from, c.from+len(c.got))
		closeFresh()
		for i := range want {
			if !bytes.Equal(c.got[i], want[i]) {
				t.Errorf("%s: packet %d differs from a new encoder's (%d vs %d bytes): the old position leaks in", c.name, i, len(c.got[i]), len(want[i]))
			}
		}
	}
	// And what is heard: the first frame after the seek carries no 440 Hz.
	dec, err := opus.NewDecoder(rtc.SampleRate, 2)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 2*5760)
	n, err := dec.DecodeFloat32(afterSeek[0], out)
	if err != nil {
		t.Fatal(err)
	}
	left := make([]float32, n)
	for i := range n {
		left[i] = out[2*i]
	}
	if old, cur := goertzel(left, 440), goertzel(left, 1100); old*100 > cur {
		t.Errorf("first frame after the seek: power at 440 Hz %.3g, at 1100 Hz %.3g; the old position is heard", old, cur)
	}
}

// TestMixAudioBudget: decoded mix audio is shared and bounded. With
// Limits.MaxMixBytes room for one 1 s asset, a second project's clip is
// silent (and its state says why) while the first mix plays; once the
// first mix ends, the second mix's retry drops the idle asset and plays.
// A mix restarted later finds its asset cached (no second decode). The
// decoded audio never exceeds the budget.
func TestMixAudioBudget(t *testing.T) {
	checkLeaks(t)
	const budget = 600_000 // one 1 s stereo asset is 384 KB, reserved as 417 KB
	e := newEnv(t, rtc.Limits{MaxMixBytes: budget})
	one := func(f float64) []byte {
		return wavBytes(t, synth(1, func(int) float64 { return f }, func(int) float64 { return f }))
	}
	e.assets.audio["p1/a"] = one(440)
	e.assets.audio["p2/b"] = one(660)
	for _, p := range []string{"p1", "p2"} {
		asset := map[string]string{"p1": "a", "p2": "b"}[p]
		e.docs.edit(t, p, func(d *crdt.Doc) error {
			if err := daw.AddTrack(d, daw.Track{ID: "t1", Kind: daw.KindAudio}); err != nil {
				return err
			}
			return daw.AddClip(d, "t1", daw.Clip{ID: "c1", AssetID: asset, Length: 1})
		})
	}
	check := func(what string, assets int, decodes int64) {
		t.Helper()
		st := e.srv.Stats()
		if st.MixBytes > budget || st.MixAssets != assets || st.MixDecodes != decodes {
			t.Errorf("%s: %d bytes of %d, %d assets, %d decodes; want %d assets, %d decodes", what, st.MixBytes, budget, st.MixAssets, st.MixDecodes, assets, decodes)
		}
	}
	// join plays the project's mix and returns its first state, and a
	// function that leaves and waits until the mix has closed.
	join := func(project, user string) (rtc.Control, func()) {
		c := joinPreview(t, e, project, user, "")
		st := c.waitState(t, 5*time.Second, func(rtc.Control) bool { return true })
		return st, func() {
			_, before := e.srv.Rooms()
			_ = c.Close()
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if _, peers := e.srv.Rooms(); peers < before {
					return
				}
				if time.Now().After(deadline) {
					t.Fatal("peer did not leave")
				}
			}
		}
	}
	st, leaveAlice := join("p1", "alice")
	if st.DurationMs != 1000 || st.Error != "" {
		t.Errorf("p1 mix: %+v, want 1000 ms", st)
	}
	check("p1 playing", 1, 1)
	carol := joinPreview(t, e, "p2", "carol", "")
	st = carol.waitState(t, 5*time.Second, func(rtc.Control) bool { return true })
	if st.DurationMs != 0 || !strings.Contains(st.Error, "memory") {
		t.Errorf("p2 mix while p1 plays: %+v, want a silent clip and the reason", st)
	}
	check("p2 refused", 1, 1)
	// Alice leaves: p1's asset goes idle, and Carol's mix, retrying, gets
	// the room within a few seconds.
	leaveAlice()
	carol.waitState(t, 6*time.Second, func(s rtc.Control) bool { return s.DurationMs == 1000 && s.Error == "" })
	check("p2 retried: p1's idle asset dropped", 1, 2)
	_ = carol.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, peers := e.srv.Rooms(); peers == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("carol did not leave")
		}
	}
	check("everyone left: p2's asset stays cached", 1, 2)
	st, leave := join("p2", "dave")
	if st.DurationMs != 1000 {
		t.Errorf("p2 mix again: %+v", st)
	}
	check("p2 again: a cache hit", 1, 2)
	leave()
}

// TestMixRetriesMissingAsset: a clip whose asset cannot be opened yet
// (still uploading) is silent at first and heard once the asset is there,
// without any further edit.
func TestMixRetriesMissingAsset(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{})
	e.docs.edit(t, "p1", func(d *crdt.Doc) error {
		if err := daw.AddTrack(d, daw.Track{ID: "t1", Kind: daw.KindAudio}); err != nil {
			return err
		}
		return daw.AddClip(d, "t1", daw.Clip{ID: "c1", AssetID: "late", Length: 2})
	})
	c := joinPreview(t, e, "p1", "u1", "")
	if st := c.waitState(t, 5*time.Second, func(rtc.Control) bool { return true }); st.DurationMs != 0 {
		t.Fatalf("mix without its asset: %+v, want 0 ms", st)
	}
	e.assets.mu.Lock()
	e.assets.audio["p1/late"] = wavBytes(t, synth(2, func(int) float64 { return 440 }, func(int) float64 { return 440 }))
	e.assets.mu.Unlock()
	// The new length reaches listeners by itself (paused, no edit).
	st := c.waitState(t, 6*time.Second, func(s rtc.Control) bool { return s.DurationMs == 2000 })
	t.Logf("asset heard after it appeared: %+v", st)
}
