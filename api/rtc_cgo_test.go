//go:build cgo

package api_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/api/apitest"
	"github.com/maxbooster/maxbooster/api/assets"
	"github.com/maxbooster/maxbooster/api/projects"
	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/collab/daw"
	"github.com/maxbooster/maxbooster/crdt"
	"github.com/maxbooster/maxbooster/rtc"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// TestRTCThroughTheAPI runs rtc as mounted: a user registers, creates a
// project and takes a room token; a Go peer joins the live session with
// it, records itself, and the recording becomes an asset of the project.
// The session cookie admits a socket too (an unknown asset answers 4404).
func TestRTCThroughTheAPI(t *testing.T) {
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.New(t, storetest.OpenSQLite(t), func(d *api.Deps) {
		d.Assets = assets.Config{Blobs: blobs, UploadDir: t.TempDir(), TempDir: t.TempDir(),
			MaxUploadBytes: 64 << 20, Workers: 1, Poll: 50 * time.Millisecond, MaxSeconds: 60}
	})
	c := srv.Client()
	c.Do(t, "POST", "/api/v1/auth/register", map[string]string{"email": "ann@example.com", "password": "a long enough passphrase 42", "displayName": "Ann"}).WantStatus(t, http.StatusCreated)
	var p projects.Project
	res := c.Do(t, "POST", "/api/v1/projects", map[string]string{"name": "Session"})
	res.WantStatus(t, http.StatusCreated)
	res.JSON(t, &p)
	var rt projects.RoomToken
	res = c.Do(t, "POST", "/api/v1/projects/"+p.ID+"/room-token", nil)
	res.WantStatus(t, http.StatusOK)
	res.JSON(t, &rt)

	eng, err := rtc.NewEngine(rtc.Config{Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ws := "ws" + strings.TrimPrefix(srv.URL, "http") + "/rtc/" + p.ID
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The session cookie admits a socket; the asset does not exist.
	u, _ := http.NewRequest("GET", srv.URL, nil)
	cookieHeader := func(cl *apitest.Client) string {
		var hdr []string
		for _, ck := range cl.HTTP().Jar.Cookies(u.URL) {
			hdr = append(hdr, ck.Name+"="+ck.Value)
		}
		return strings.Join(hdr, "; ")
	}
	viaCookie, err := rtc.Dial(ctx, eng.API(), ws, rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModePreview, AssetID: "no-such-asset"},
		rtc.ClientOptions{Header: http.Header{"Cookie": {cookieHeader(c)}, "Origin": {srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	<-viaCookie.Done()
	if code := rtc.CloseCode(viaCookie.Err()); code != rtc.CloseNotFound {
		t.Errorf("cookie socket for an unknown asset: %v, want close %d", viaCookie.Err(), rtc.CloseNotFound)
	}
	_ = viaCookie.Close()

	// Another signed-in user without access to the project: 4403.
	bob := srv.Client()
	bob.Do(t, "POST", "/api/v1/auth/register", map[string]string{"email": "bob@example.com", "password": "a long enough passphrase 42", "displayName": "Bob"}).WantStatus(t, http.StatusCreated)
	outsider, err := rtc.Dial(ctx, eng.API(), ws, rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModePreview},
		rtc.ClientOptions{Header: http.Header{"Cookie": {cookieHeader(bob)}, "Origin": {srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	<-outsider.Done()
	if code := rtc.CloseCode(outsider.Err()); code != rtc.CloseForbidden {
		t.Errorf("outsider's cookie socket: %v, want close %d", outsider.Err(), rtc.CloseForbidden)
	}
	_ = outsider.Close()

	// Live with the room token: publish a tone, record it.
	var track *webrtc.TrackLocalStaticRTP
	peer, err := rtc.Dial(ctx, eng.API(), ws+"?token="+rt.Token, rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModeLive}, rtc.ClientOptions{
		Setup: func(pc *webrtc.PeerConnection) error {
			var err error
			if track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "ann"); err != nil {
				return err
			}
			_, err = pc.AddTrack(track)
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		enc, err := opus.NewEncoder(48000, 2, opus.AppAudio)
		if err != nil {
			return
		}
		pcm, buf := make([]float32, 2*960), make([]byte, 1500)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for i := range 960 {
				v := float32(0.3 * math.Sin(2*math.Pi*440*float64(n*960+i)/48000))
				pcm[2*i], pcm[2*i+1] = v, v
			}
			k, err := enc.EncodeFloat32(pcm, buf)
			if err != nil {
				return
			}
			_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: uint32(n * 960)}, Payload: buf[:k]}) //nolint:gosec // test counters
		}
	}()
	defer func() { close(stop); <-done }()
	for deadline := time.Now().Add(10 * time.Second); peer.PC().ConnectionState() != webrtc.PeerConnectionStateConnected; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("live peer did not connect")
		}
	}
	on, off := true, false
	if err := peer.Send(ctx, rtc.Message{Type: rtc.MsgRecord, On: &on}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := peer.Send(ctx, rtc.Message{Type: rtc.MsgRecord, On: &off}); err != nil {
		t.Fatal(err)
	}
	var rec rtc.Message
	for rec.Type != rtc.MsgRecorded {
		select {
		case rec = <-peer.Events:
			if rec.Type == rtc.MsgError {
				t.Fatalf("error: %+v", rec)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no recorded event")
		}
	}
	if rec.AssetID == "" || rec.Blob == "" || rec.Bytes == 0 {
		t.Fatalf("recorded %+v, want an asset", rec)
	}
	var a assets.Asset
	res = c.Do(t, "GET", "/api/v1/assets/"+rec.AssetID, nil)
	res.WantStatus(t, http.StatusOK)
	res.JSON(t, &a)
	if a.ProjectID == nil || *a.ProjectID != p.ID || a.SHA256 != rec.Blob || !strings.HasSuffix(a.Filename, ".opus") {
		t.Errorf("asset %+v, want an .opus in project %s with blob %s", a, p.ID, rec.Blob)
	}
}

// toneWAV is a 16-bit stereo 48 kHz WAV of a sine at f Hz (amplitude 0.5).
func toneWAV(t *testing.T, f float64, seconds int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tone.wav")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := audio.NewWAVWriter(fh, audio.WAVOptions{SampleRate: 48000, Channels: 2, Format: audio.PCM16})
	if err != nil {
		t.Fatal(err)
	}
	n := seconds * 48000
	x := make([]float64, 2*n)
	for i := range n {
		v := 0.5 * math.Sin(2*math.Pi*f*float64(i)/48000)
		x[2*i], x[2*i+1] = v, v
	}
	if err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = fh.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goertzelPower is the power of x at f Hz (48 kHz).
func goertzelPower(x []float32, f float64) float64 {
	w := 2 * math.Pi * f / 48000
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + c*s1 - s2
		s2, s1 = s1, s
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

// editDocument applies edit to the project's document through the
// y-websocket endpoint, as the studio does: sync the server's state into a
// local doc, make the edit, send its updates, and wait until a second
// connection reads them back.
func editDocument(ctx context.Context, t *testing.T, wsBase, projectID, token string, edit func(d *crdt.Doc) error) {
	t.Helper()
	url := wsBase + "/collab/" + projectID + "?token=" + token
	conn, resp, err := websocket.Dial(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.CloseNow() }()
	doc := crdt.NewDoc(nil)
	if err := conn.Write(ctx, websocket.MessageBinary, collab.EncodeSync(collab.SyncStep1, crdt.EncodeStateVector(doc))); err != nil {
		t.Fatal(err)
	}
	for synced := false; !synced; {
		_, frame, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("collab sync: %v", err)
		}
		m, err := collab.ParseMessage(frame)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == collab.MessageSync && m.Sync == collab.SyncStep2 {
			if err := crdt.ApplyUpdate(doc, m.Payload, "server"); err != nil {
				t.Fatal(err)
			}
			synced = true
		}
	}
	var updates [][]byte
	unsub := doc.OnUpdate(func(u []byte, _ any, _ *crdt.Transaction) { updates = append(updates, append([]byte(nil), u...)) })
	err = edit(doc)
	unsub()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range updates {
		if err := conn.Write(ctx, websocket.MessageBinary, collab.EncodeSync(collab.SyncUpdate, u)); err != nil {
			t.Fatal(err)
		}
	}
	// Read the document back until the edit is there (the hub applies
	// updates in order, after logging them).
	want := daw.Read(doc)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the edit never reached the server's document")
		}
		c2, resp2, err := websocket.Dial(ctx, url, nil)
		if resp2 != nil && resp2.Body != nil {
			_ = resp2.Body.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		other := crdt.NewDoc(nil)
		_ = c2.Write(ctx, websocket.MessageBinary, collab.EncodeSync(collab.SyncStep1, crdt.EncodeStateVector(other)))
		for {
			_, frame, err := c2.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m, err := collab.ParseMessage(frame); err == nil && m.Type == collab.MessageSync && m.Sync == collab.SyncStep2 {
				_ = crdt.ApplyUpdate(other, m.Payload, "server")
				break
			}
		}
		_ = c2.CloseNow()
		if cmp.Equal(daw.Read(other).Tracks, want.Tracks) {
			return
		}
	}
}

// TestRTCProjectMixThroughTheAPI plays the project mix as the studio gets
// it from the real server: a WAV tone uploaded to the project, a clip of
// it added to the document over y-websocket, and the mix heard through a
// Go peer. It must carry the tone (not silence) and a non-zero duration.
func TestRTCProjectMixThroughTheAPI(t *testing.T) {
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.New(t, storetest.OpenSQLite(t), func(d *api.Deps) {
		d.Assets = assets.Config{Blobs: blobs, UploadDir: t.TempDir(), TempDir: t.TempDir(),
			MaxUploadBytes: 64 << 20, Workers: 1, Poll: 50 * time.Millisecond, MaxSeconds: 60}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := srv.Client()
	c.Do(t, "POST", "/api/v1/auth/register", map[string]string{"email": "mia@example.com", "password": "a long enough passphrase 42", "displayName": "Mia"}).WantStatus(t, http.StatusCreated)
	var p projects.Project
	res := c.Do(t, "POST", "/api/v1/projects", map[string]string{"name": "Mix"})
	res.WantStatus(t, http.StatusCreated)
	res.JSON(t, &p)

	// Upload a 3 s 660 Hz tone to the project and wait for its job.
	var a assets.Asset
	res = c.Do(t, "POST", "/api/v1/assets?filename=tone.wav&projectId="+p.ID, toneWAV(t, 660, 3), http.Header{"Content-Type": {"audio/wav"}})
	res.WantStatus(t, http.StatusCreated)
	res.JSON(t, &a)
	if a.JobID == nil {
		t.Fatalf("upload %+v has no job", a)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var j assets.Job
		res = c.Do(t, "GET", "/api/v1/jobs/"+*a.JobID, nil)
		res.WantStatus(t, http.StatusOK)
		res.JSON(t, &j)
		if j.Status == "done" {
			break
		}
		if j.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("job %+v", j)
		}
	}

	var rt projects.RoomToken
	res = c.Do(t, "POST", "/api/v1/projects/"+p.ID+"/room-token", nil)
	res.WantStatus(t, http.StatusOK)
	res.JSON(t, &rt)
	wsBase := "ws" + strings.TrimPrefix(srv.URL, "http")
	editDocument(ctx, t, wsBase, p.ID, rt.Token, func(d *crdt.Doc) error {
		if err := daw.AddTrack(d, daw.Track{ID: "t1", Name: "Tone", Kind: daw.KindAudio}); err != nil {
			return err
		}
		return daw.AddClip(d, "t1", daw.Clip{ID: "c1", AssetID: a.ID, Position: 0.5, Length: 2.5})
	})

	eng, err := rtc.NewEngine(rtc.Config{Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	var (
		mu     sync.Mutex
		pcm    []float32 // left channel as heard
		states = make(chan rtc.Control, 64)
		ctl    = make(chan *webrtc.DataChannel, 1)
	)
	peer, err := rtc.Dial(ctx, eng.API(), wsBase+"/rtc/"+p.ID+"?token="+rt.Token, rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModePreview}, rtc.ClientOptions{
		Setup: func(pc *webrtc.PeerConnection) error {
			pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				dec, err := opus.NewDecoder(48000, 2)
				if err != nil {
					return
				}
				buf := make([]float32, 2*5760)
				for {
					pkt, _, err := tr.ReadRTP()
					if err != nil {
						return
					}
					n, err := dec.DecodeFloat32(pkt.Payload, buf)
					if err != nil {
						continue
					}
					mu.Lock()
					for i := range n {
						pcm = append(pcm, buf[2*i])
					}
					mu.Unlock()
				}
			})
			pc.OnDataChannel(func(dc *webrtc.DataChannel) {
				dc.OnOpen(func() { ctl <- dc })
				dc.OnMessage(func(m webrtc.DataChannelMessage) {
					var st rtc.Control
					if json.Unmarshal(m.Data, &st) == nil {
						select {
						case states <- st:
						default:
						}
					}
				})
			})
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	var dc *webrtc.DataChannel
	select {
	case dc = <-ctl:
	case <-peer.Done():
		t.Fatalf("mix refused: %v", peer.Err())
	case <-ctx.Done():
		t.Fatal("no control channel")
	}
	var first rtc.Control
	select {
	case first = <-states:
	case <-time.After(10 * time.Second):
		t.Fatal("no state on the control channel")
	}
	if first.DurationMs != 3000 {
		t.Errorf("mix duration %d ms, want 3000 (clip at 0.5 s for 2.5 s)", first.DurationMs)
	}
	if err := dc.SendText(`{"op":"seek","ms":1000}`); err != nil {
		t.Fatal(err)
	}
	if err := dc.SendText(`{"op":"play"}`); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(pcm)
		mu.Unlock()
		if n >= 48000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("heard %d samples in 10 s", n)
		}
	}
	mu.Lock()
	x := append([]float32(nil), pcm[4800:48000]...) // past the decoder's start
	mu.Unlock()
	var rms float64
	for _, v := range x {
		rms += float64(v) * float64(v)
	}
	rms = math.Sqrt(rms / float64(len(x)))
	at, off := goertzelPower(x, 660), goertzelPower(x, 440)
	t.Logf("mix rms %.3f, power at 660 Hz %.3g, at 440 Hz %.3g", rms, at, off)
	if rms < 0.1 || at < 100*off {
		t.Errorf("the mix is not the 660 Hz tone: rms %.3f, power at 660 Hz %.3g vs 440 Hz %.3g", rms, at, off)
	}
}
