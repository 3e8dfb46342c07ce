package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/maxbooster/maxbooster/api/apitest"
	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// TestCollabMounted checks that the hub is reachable through the full
// middleware stack (WebSocket hijack included) and refuses a connection
// without a room token with the permanent close code 4401.
func TestCollabMounted(t *testing.T) {
	srv := apitest.New(t, storetest.OpenSQLite(t), nil)
	for _, path := range []string{"/collab/project-1", "/hocuspocus"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+path, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {srv.URL}}})
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			cancel()
			t.Fatalf("dial %s: %v", path, err)
		}
		if path == "/hocuspocus" {
			// Hocuspocus authorizes per document: a token message with a bad token.
			frame := []byte{1, 'p', 2, 0, 3, 'b', 'a', 'd'}
			if err := c.Write(ctx, websocket.MessageBinary, frame); err != nil {
				t.Fatal(err)
			}
			_, b, err := c.Read(ctx)
			if err != nil || len(b) < 4 || b[2] != 2 || b[3] != 1 {
				t.Errorf("hocuspocus answer = %x, %v; want permission denied", b, err)
			}
			_ = c.CloseNow()
			cancel()
			continue
		}
		_, _, err = c.Read(ctx)
		if code := websocket.CloseStatus(err); code != collab.CloseUnauthorized {
			t.Errorf("%s without a token: %v, want close %d", path, err, collab.CloseUnauthorized)
		}
		_ = c.CloseNow()
		cancel()
	}
}
