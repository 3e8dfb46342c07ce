package rtc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/maxbooster/maxbooster/rtc"
)

// closeOf dials url raw, optionally writes msgs, and returns the close code
// and the last error message the server sent.
func closeOf(t *testing.T, url string, msgs ...string) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ws.CloseNow() }()
	ws.SetReadLimit(1 << 20)
	for _, m := range msgs {
		if err := ws.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			break
		}
	}
	last := ""
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return websocket.CloseStatus(err), last
		}
		if strings.Contains(string(b), `"type":"error"`) {
			last = string(b)
		}
	}
}

func TestRefusals(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{JoinTimeout: 300 * time.Millisecond, MaxMessageBytes: 4096})
	big := `{"type":"join","mode":"preview","assetId":"` + strings.Repeat("a", 5000) + `"}`
	tests := []struct {
		name     string
		url      string
		msgs     []string
		wantCode websocket.StatusCode
		wantErr  string
	}{
		{"no token", e.url("p1", ""), nil, rtc.CloseUnauthorized, ""},
		{"bad token", e.url("p1", "garbage"), nil, rtc.CloseUnauthorized, ""},
		{"other project", e.url("p1", token("u1", "p2", "owner")), nil, rtc.CloseForbidden, ""},
		{"bad role", e.url("p1", token("u1", "p1", "god")), nil, rtc.CloseForbidden, ""},
		{"bad project id", e.url("p!x", token("u1", "p!x", "owner")), nil, rtc.CloseNotFound, ""},
		{"viewer live", e.url("p1", token("u1", "p1", "viewer")), []string{`{"type":"join","mode":"live"}`}, rtc.CloseForbidden, "forbidden"},
		{"malformed json", e.url("p1", token("u1", "p1", "owner")), []string{`{"type":`}, rtc.CloseBadMessage, "bad_message"},
		{"unknown type", e.url("p1", token("u1", "p1", "owner")), []string{`{"type":"join","mode":"live"}`, `{"type":"dance"}`}, rtc.CloseBadMessage, "bad_message"},
		{"before join", e.url("p1", token("u1", "p1", "owner")), []string{`{"type":"answer","sdp":"x"}`}, rtc.CloseBadMessage, "not_joined"},
		{"bad mode", e.url("p1", token("u1", "p1", "owner")), []string{`{"type":"join","mode":"karaoke"}`}, rtc.CloseBadMessage, "bad_message"},
		{"too big", e.url("p1", token("u1", "p1", "owner")), []string{big}, websocket.StatusMessageTooBig, ""},
		{"no join", e.url("p1", token("u1", "p1", "owner")), nil, rtc.CloseTimeout, "join_timeout"},
		{"unknown asset", e.url("p1", token("u1", "p1", "viewer")), []string{`{"type":"join","mode":"preview","assetId":"nope"}`}, rtc.CloseNotFound, "not_found"},
		{"answer without offer", e.url("p1", token("u1", "p1", "owner")), []string{`{"type":"join","mode":"live"}`, `{"type":"answer","sdp":"v=0"}`, `{"type":"answer","sdp":"v=0"}`}, rtc.CloseBadMessage, "bad_"},
		{"malformed sdp", e.url("p1", token("u1", "p1", "owner")), []string{`{"type":"join","mode":"live"}`, `{"type":"answer","sdp":"this is not SDP"}`}, rtc.CloseBadMessage, "bad_sdp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := closeOf(t, tt.url, tt.msgs...)
			if code != tt.wantCode {
				t.Errorf("close code %d, want %d (last error %s)", code, tt.wantCode, msg)
			}
			if tt.wantErr != "" && !strings.Contains(msg, `"code":"`+tt.wantErr) {
				t.Errorf("error message %q, want code %q", msg, tt.wantErr)
			}
		})
	}
	waitEmpty(t, e.srv)
}

// waitEmpty waits until srv has no peers and no rooms.
func waitEmpty(t testing.TB, srv *rtc.Server) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); ; {
		rooms, peers := srv.Rooms()
		if rooms == 0 && peers == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d rooms, %d peers left", rooms, peers)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNoAnswer: a peer that never answers is dropped with close 4408.
func TestNoAnswer(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{AnswerTimeout: 300 * time.Millisecond})
	start := time.Now()
	c := e.dial(t, "p1", "u1", "owner", rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModeLive}, rtc.ClientOptions{NoAnswer: true})
	defer c.Close()
	m := waitEvent(t, c, rtc.MsgError, 5*time.Second)
	if m.Code != "answer_timeout" {
		t.Errorf("error %+v, want answer_timeout", m)
	}
	<-c.Done()
	if code := rtc.CloseCode(c.Err()); code != rtc.CloseTimeout {
		t.Errorf("close code %d (%v), want %d", code, c.Err(), rtc.CloseTimeout)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("dropped after %s, want about 300 ms", d)
	}
}

// TestRoomFull: the peer over the limit is refused with 4429; the others
// stay.
func TestRoomFull(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{MaxPeersPerRoom: 2})
	var cs []*rtc.Client
	for _, u := range []string{"a", "b", "c"} {
		cs = append(cs, e.dial(t, "p1", u, "owner", rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModeLive}, rtc.ClientOptions{}))
	}
	waitEvent(t, cs[0], rtc.MsgWelcome, 5*time.Second)
	waitEvent(t, cs[1], rtc.MsgWelcome, 5*time.Second)
	if m := waitEvent(t, cs[2], rtc.MsgError, 5*time.Second); m.Code != "room_full" {
		t.Errorf("third peer: %+v, want room_full", m)
	}
	<-cs[2].Done()
	if code := rtc.CloseCode(cs[2].Err()); code != rtc.CloseRoomFull {
		t.Errorf("close code %d, want %d", code, rtc.CloseRoomFull)
	}
	// Another project is not affected.
	d := e.dial(t, "p2", "c", "owner", rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModeLive}, rtc.ClientOptions{})
	waitEvent(t, d, rtc.MsgWelcome, 5*time.Second)
	for _, c := range append(cs, d) {
		_ = c.Close()
	}
}

// TestCandidatesBeforeAnswer: the client sends every candidate before its
// answer; the server buffers them and the connection comes up.
func TestCandidatesBeforeAnswer(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{})
	c := e.dial(t, "p1", "u1", "owner", rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModeLive}, rtc.ClientOptions{HoldCandidates: true})
	defer c.Close()
	waitConnected(t, c, 5*time.Second)
}

func waitConnected(t testing.TB, c *rtc.Client, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for c.PC().ConnectionState().String() != "connected" {
		if time.Now().After(deadline) {
			t.Fatalf("not connected after %s: %s", d, c.PC().ConnectionState())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
