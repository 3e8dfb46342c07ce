package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/internal/lifecycle"
	"github.com/maxbooster/maxbooster/rtc"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// TestRTCMounted checks that the signalling endpoint is reachable through
// the full middleware stack and refuses a socket without credentials with
// close code 4401, and a bad token the same way.
func TestRTCMounted(t *testing.T) {
	lc := lifecycle.New()
	h, err := api.NewHandler(api.Deps{
		Logger:    slog.New(slog.DiscardHandler),
		DB:        storetest.OpenSQLite(t),
		Metrics:   prometheus.NewRegistry(),
		Lifecycle: lc,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := lc.Shutdown(ctx); err != nil {
			t.Errorf("lifecycle shutdown: %v", err)
		}
		if err := lc.Flush(ctx); err != nil {
			t.Errorf("lifecycle flush: %v", err)
		}
	}()
	for _, q := range []string{"", "?token=not-a-token"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/rtc/project-1"+q, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {srv.URL}}})
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			cancel()
			t.Fatalf("dial: %v", err)
		}
		_, _, err = c.Read(ctx)
		if code := websocket.CloseStatus(err); code != rtc.CloseUnauthorized {
			t.Errorf("query %q: %v, want close %d", q, err, rtc.CloseUnauthorized)
		}
		_ = c.CloseNow()
		cancel()
	}
}
