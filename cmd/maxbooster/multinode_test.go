package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/internal/redistest"
	"github.com/maxbooster/maxbooster/rtc"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// freeAddr returns a loopback address no one listens on now (a node must
// know its own URL, MB_NODE_URL, before it listens).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestMultiNodeRTC runs two servers sharing PostgreSQL and Redis, each
// with its MB_NODE_URL. A participant joins a project's live session on
// node A with a room token; another joins through node B with only the
// session cookie: B relays to A, A authenticates the cookie itself, and
// both are in one room. A bad token through B is refused like on A.
func TestMultiNodeRTC(t *testing.T) {
	redisAddr := redistest.Addr(t)
	prefix := redistest.Prefix(t) // MB_REDIS_PREFIX: this test's keys only
	dbURL := storetest.PostgresURL(t)
	var nodes []*Main
	for range 2 {
		cfg := testConfig(t)
		cfg.DatabaseURL = dbURL
		cfg.RedisURL = "redis://" + redisAddr + "/0"
		cfg.RedisPrefix = prefix
		cfg.Listen = freeAddr(t)
		cfg.NodeURL = "http://" + cfg.Listen
		m := NewMain(cfg, testLogger(t))
		startMain(t, m)
		nodes = append(nodes, m)
	}
	a, b := nodes[0], nodes[1]

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	post := func(path string, body any) map[string]any { return postJSON(t, hc, a.URL(), path, body) }
	me := post("/api/v1/auth/register", map[string]string{"email": "nodes@example.com", "password": "a long enough passphrase 42", "displayName": "N"})
	project, _ := post("/api/v1/projects", map[string]string{"name": "Two nodes"})["id"].(string)
	token, _ := post("/api/v1/projects/"+project+"/room-token", nil)["token"].(string)
	if project == "" || token == "" {
		t.Fatalf("project %q, token %q", project, token)
	}
	au, _ := url.Parse(a.URL())
	cookie := ""
	for _, c := range jar.Cookies(au) {
		cookie += c.Name + "=" + c.Value + "; "
	}

	eng, err := rtc.NewEngine(rtc.Config{Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	wsURL := func(m *Main) string { return "ws://" + m.Addr().String() + "/rtc/" + project }
	dial := func(u string, h http.Header) *rtc.Client {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := rtc.Dial(ctx, eng.API(), u, rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModeLive}, rtc.ClientOptions{Header: h})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	next := func(c *rtc.Client, typ string) rtc.Message {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case m := <-c.Events:
				if m.Type == typ {
					return m
				}
			case <-c.Done():
				t.Fatalf("closed waiting for %s: %v", typ, c.Err())
			case <-deadline:
				t.Fatalf("no %s in 10 s", typ)
			}
		}
	}

	first := dial(wsURL(a)+"?token="+url.QueryEscape(token), nil)
	defer first.Close()
	next(first, rtc.MsgWelcome)
	second := dial(wsURL(b), http.Header{"Cookie": {cookie}})
	defer second.Close()
	w := next(second, rtc.MsgWelcome)
	if len(w.Peers) != 1 || w.UserID == "" {
		t.Errorf("welcome through B: %+v, want the participant on A", w)
	}
	if j := next(first, rtc.MsgJoined); j.PeerID != w.PeerID {
		t.Errorf("A's participant saw %+v join, want %s", j, w.PeerID)
	}
	if user, _ := me["user"].(map[string]any); user == nil || user["id"] != w.UserID {
		t.Errorf("joined through B as %q, want the registered user %v", w.UserID, me["user"])
	}
	holder, err := a.Redis.Get(context.Background(), prefix+"rtc:room:"+project).Result()
	if err != nil || holder != a.Config.NodeURL {
		t.Errorf("room lease held by %q (%v), want node A %s", holder, err, a.Config.NodeURL)
	}
	// Sessions are under the prefix too, and nothing under the default.
	if sess, _ := a.Redis.Keys(context.Background(), prefix+"usess:*").Result(); len(sess) == 0 {
		t.Errorf("no session keys under %s", prefix)
	}
	if n := a.Redis.Exists(context.Background(), "mb:rtc:room:"+project).Val(); n != 0 {
		t.Errorf("the room lease is under the default prefix mb: too")
	}

	bad := dial(wsURL(b)+"?token=not-a-token", nil)
	<-bad.Done()
	if code := rtc.CloseCode(bad.Err()); code != rtc.CloseUnauthorized {
		t.Errorf("bad token through B: close %d, want %d", code, rtc.CloseUnauthorized)
	}
	_ = bad.Close()

	// Both leave: A releases the lease.
	_ = second.Close()
	_ = first.Close()
	deadline := time.Now().Add(5 * time.Second)
	for a.Redis.Exists(context.Background(), prefix+"rtc:room:"+project).Val() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("room lease still held 5 s after everyone left")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// postJSON posts body as JSON to base+path with hc and returns the decoded
// answer; any failure or a status of 300 or more fails the test.
func postJSON(t *testing.T, hc *http.Client, base, path string, body any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode >= 300 {
		t.Fatalf("POST %s = %d %v, %v", path, resp.StatusCode, out, err)
	}
	return out
}
