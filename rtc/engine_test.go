package rtc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/rtc"
)

// TestEngineCandidates: the server announces its one UDP port, an ICE-TCP
// passive candidate when TCP is on, and the public IP instead of the local
// one behind 1:1 NAT.
func TestEngineCandidates(t *testing.T) {
	checkLeaks(t)
	tests := []struct {
		name      string
		cfg       rtc.Config
		want      []string
		wantNot   []string
		checkPort bool
	}{
		{"loopback udp", rtc.Config{UDP: "127.0.0.1:0"}, []string{"127.0.0.1", " udp "}, []string{" tcp "}, true},
		{"tcp fallback", rtc.Config{UDP: "127.0.0.1:0", TCP: "127.0.0.1:0"}, []string{" udp ", " tcp ", "tcptype passive"}, nil, false},
		{"public ip", rtc.Config{UDP: "127.0.0.1:0", PublicIPs: []string{"203.0.113.7"}}, []string{"203.0.113.7"}, []string{"127.0.0.1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng, err := rtc.NewEngine(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			client, err := rtc.NewEngine(rtc.Config{Ephemeral: true})
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			srv, err := rtc.NewServer(rtc.Options{Engine: eng, Verify: verify})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.Handle("GET /rtc/{projectId}", srv)
			hs := httptest.NewServer(mux)
			defer hs.Close()
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Close(ctx)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := rtc.Dial(ctx, client.API(), "ws"+strings.TrimPrefix(hs.URL, "http")+"/rtc/p1?token="+token("u", "p1", "editor"),
				rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModeLive}, rtc.ClientOptions{NoAnswer: true})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// The server trickles its candidates after the offer; the
			// client never answers, so they stay in its pending list.
			var got []string
			deadline := time.After(3 * time.Second)
		collect:
			for {
				select {
				case <-deadline:
					break collect
				case <-time.After(20 * time.Millisecond):
					got = c.PendingCandidates()
					if containsAll(got, tt.want) {
						break collect
					}
				}
			}
			all := strings.Join(got, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("candidates %q lack %q", got, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(all, w) {
					t.Errorf("candidates %q contain %q", got, w)
				}
			}
			if tt.checkPort {
				port := eng.UDPAddr().String()[strings.LastIndex(eng.UDPAddr().String(), ":")+1:]
				if !strings.Contains(all, " "+port+" ") {
					t.Errorf("candidates %q not on the shared port %s", got, port)
				}
			}
		})
	}
}

func containsAll(got, want []string) bool {
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			return false
		}
	}
	return true
}
