package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestMetricsGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, tt := range []struct {
		name, token, remote, auth, xff string
		want                           int
	}{
		{"loopback v4", "", "127.0.0.1:5000", "", "", 200},
		{"loopback v6", "", "[::1]:5000", "", "", 200},
		{"remote without token", "", "203.0.113.9:5000", "", "", 403},
		{"proxied through loopback", "", "127.0.0.1:5000", "", "203.0.113.9", 403},
		{"token", "0123456789abcdef", "203.0.113.9:5000", "Bearer 0123456789abcdef", "", 200},
		{"wrong token", "0123456789abcdef", "127.0.0.1:5000", "Bearer 0123456789abcdeX", "", 401},
		{"no token sent", "0123456789abcdef", "127.0.0.1:5000", "", "", 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = tt.remote
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			w := httptest.NewRecorder()
			metricsGuard(tt.token, ok).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d (body %s)", w.Code, tt.want, w.Body)
			}
		})
	}
}
