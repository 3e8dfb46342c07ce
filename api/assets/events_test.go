package assets

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/session"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// TestEventsKeepAliveAndResume: while a job waits in the queue (no
// worker runs here) the stream sends its state once, then keep-alive
// comments; a client reconnecting with that event's id gets only the
// comments, not the same state again.
func TestEventsKeepAliveAndResume(t *testing.T) {
	db := storetest.OpenSQLite(t)
	s, c := newTestService(t, db, Config{})
	a, err := s.Create(context.Background(), c, CreateInput{Filename: "a.wav", Body: bytes.NewReader(wavBytes(t, 0.2)), Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(s)
	h.KeepAlive = 30 * time.Millisecond
	mux := http.NewServeMux()
	h.Routes(mux)
	stream := func(lastID string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		ctx = session.WithPrincipal(ctx, &session.Principal{User: session.User{ID: c.UserID}})
		req := httptest.NewRequestWithContext(ctx, "GET", "/api/v1/jobs/"+*a.JobID+"/events", nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req) // returns when ctx ends
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/event-stream" {
			t.Fatalf("status %d, %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		return rec.Body.String()
	}
	first := stream("")
	if strings.Count(first, "event: progress") != 1 || !strings.Contains(first, `"status":"queued"`) ||
		!strings.Contains(first, ": keep-alive") {
		t.Fatalf("first stream:\n%s", first)
	}
	id := strings.TrimPrefix(strings.Split(first[strings.Index(first, "id: "):], "\n")[0], "id: ")
	again := stream(id)
	if strings.Contains(again, "event:") || !strings.Contains(again, ": keep-alive") {
		t.Errorf("resumed stream repeats the state or sends nothing:\n%s", again)
	}
}

// TestEventStreamsPerUser: a user holds at most MaxStreamsPerUser event
// streams at once; one more is refused with 429 (another user is not
// affected), and closing a stream frees its slot.
func TestEventStreamsPerUser(t *testing.T) {
	db := storetest.OpenSQLite(t)
	s, c := newTestService(t, db, Config{})
	a, err := s.Create(context.Background(), c, CreateInput{Filename: "a.wav", Body: bytes.NewReader(wavBytes(t, 0.2)), Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(s)
	h.MaxStreamsPerUser = 2
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := session.WithPrincipal(r.Context(), &session.Principal{User: session.User{ID: r.Header.Get("X-Test-User")}})
		mux.ServeHTTP(w, r.WithContext(ctx))
	}))
	defer srv.Close()
	open := func(user string) *http.Response {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // bounds a stream that should have been refused
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/jobs/"+*a.JobID+"/events", nil)
		req.Header.Set("X-Test-User", user)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first, second := open(c.UserID), open(c.UserID)
	for _, res := range []*http.Response{first, second} {
		if res.StatusCode != http.StatusOK {
			t.Fatalf("stream: status %d", res.StatusCode)
		}
		if _, err := res.Body.Read(make([]byte, 64)); err != nil { // the stream is being served
			t.Fatal(err)
		}
	}
	third := open(c.UserID)
	b, _ := io.ReadAll(third.Body)
	third.Body.Close()
	if third.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(b), "too_many_streams") {
		t.Fatalf("third stream: %d %s, want 429 too_many_streams", third.StatusCode, b)
	}
	other := open("someone-else") // no access to the job: 404, not 429
	other.Body.Close()
	if other.StatusCode != http.StatusNotFound {
		t.Errorf("other user's stream: %d, want 404", other.StatusCode)
	}
	first.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := open(c.UserID)
		code := res.StatusCode
		res.Body.Close()
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream's slot was not freed: %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	second.Body.Close()
}
