package assets

import (
	"bytes"
	"context"
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
