//go:build cgo

package api_test

import (
	"context"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/api/apitest"
	"github.com/maxbooster/maxbooster/api/assets"
	"github.com/maxbooster/maxbooster/api/projects"
	"github.com/maxbooster/maxbooster/audio/blob"
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
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Deps.Lifecycle.Shutdown(ctx); err != nil {
			t.Errorf("lifecycle shutdown: %v", err)
		}
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
	cookies := c.HTTP().Jar.Cookies(u.URL)
	var hdr []string
	for _, ck := range cookies {
		hdr = append(hdr, ck.Name+"="+ck.Value)
	}
	viaCookie, err := rtc.Dial(ctx, eng.API(), ws, rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModePreview, AssetID: "no-such-asset"},
		rtc.ClientOptions{Header: http.Header{"Cookie": {strings.Join(hdr, "; ")}, "Origin": {srv.URL}}})
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
	var bobCookies []string
	for _, ck := range bob.HTTP().Jar.Cookies(u.URL) {
		bobCookies = append(bobCookies, ck.Name+"="+ck.Value)
	}
	outsider, err := rtc.Dial(ctx, eng.API(), ws, rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModePreview},
		rtc.ClientOptions{Header: http.Header{"Cookie": {strings.Join(bobCookies, "; ")}, "Origin": {srv.URL}}})
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
