package payments

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/session"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// TestIdempotencyMiddleware drives s.idempotent directly: stored replays,
// 422 on a reused key, 409 while in progress, takeover of an abandoned
// request, and 5xx answers not stored.
func TestIdempotencyMiddleware(t *testing.T) {
	db := storetest.OpenSQLite(t)
	clk := &testClock{t: time.Now().UTC()}
	s, err := New(Options{DB: db, Gateway: &faultyGateway{}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	block := make(chan struct{})
	status := http.StatusCreated
	h := s.idempotent(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		if r.Header.Get("X-Block") != "" {
			<-block
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"echo":` + string(body) + `,"run":` + strconv.FormatInt(runs.Load(), 10) + `}`))
	})
	do := func(userID, key, body string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/payments/payouts", strings.NewReader(body))
		if key != "" {
			r.Header.Set(IdempotencyHeader, key)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		r = r.WithContext(session.WithPrincipal(r.Context(), &session.Principal{User: session.User{ID: userID}}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	if w := do("u1", "", `1`); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "idempotency_key_required") {
		t.Errorf("no key: %d %s", w.Code, w.Body)
	}
	if w := do("u1", "bad key", `1`); w.Code != http.StatusBadRequest {
		t.Errorf("key with a space: %d", w.Code)
	}
	first := do("u1", "k1", `1`)
	if first.Code != http.StatusCreated || runs.Load() != 1 {
		t.Fatalf("first: %d, runs %d", first.Code, runs.Load())
	}
	again := do("u1", "k1", `1`)
	if again.Code != http.StatusCreated || again.Body.String() != first.Body.String() || again.Header().Get("Idempotent-Replayed") != "true" || runs.Load() != 1 {
		t.Errorf("replay: %d %q (runs %d)", again.Code, again.Body, runs.Load())
	}
	if w := do("u1", "k1", `2`); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "idempotency_key_reused") {
		t.Errorf("same key, other body: %d %s", w.Code, w.Body)
	}
	if w := do("u2", "k1", `2`); w.Code != http.StatusCreated || runs.Load() != 2 {
		t.Errorf("another user's key space: %d", w.Code)
	}

	// While the first request runs, a retry is told to wait.
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- do("u1", "slow", `3`, "X-Block", "1") }()
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() != 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if w := do("u1", "slow", `3`); w.Code != http.StatusConflict || w.Header().Get("Retry-After") == "" {
		t.Errorf("in progress: %d %s", w.Code, w.Body)
	}
	close(block)
	if w := <-done; w.Code != http.StatusCreated {
		t.Errorf("slow request: %d", w.Code)
	}

	// A record left in progress by a dead server is taken over later.
	now := clk.Now()
	if _, err := db.ExecContext(context.Background(), `INSERT INTO pay_idempotency (user_id, key, request_hash, status, created_at)
		VALUES ('u1', 'orphan', ?, 0, ?)`, requestHashForTest(`4`), now.Add(-10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if w := do("u1", "orphan", `4`); w.Code != http.StatusCreated {
		t.Errorf("abandoned request retried: %d %s", w.Code, w.Body)
	}

	// 5xx answers are not kept: the client may retry.
	status = http.StatusServiceUnavailable
	if w := do("u1", "flaky", `5`); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("5xx: %d", w.Code)
	}
	status = http.StatusCreated
	before := runs.Load()
	if w := do("u1", "flaky", `5`); w.Code != http.StatusCreated || runs.Load() != before+1 {
		t.Errorf("retry after a 5xx: %d, ran %d", w.Code, runs.Load()-before)
	}
}

func requestHashForTest(body string) string {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/payments/payouts", nil)
	return requestHash(r, []byte(body))
}
