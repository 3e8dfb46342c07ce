package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/maxbooster/maxbooster/api/apitest"
	"github.com/maxbooster/maxbooster/rtc"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// TestRTCMounted checks that the signalling endpoint is reachable through
// the full middleware stack and refuses a socket without credentials with
// close code 4401, and a bad token the same way.
func TestRTCMounted(t *testing.T) {
	srv := apitest.New(t, storetest.OpenSQLite(t), nil)
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
