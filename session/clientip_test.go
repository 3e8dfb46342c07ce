package session

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/session/ratelimit"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	tests := []struct {
		name    string
		proxies []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"no proxies configured", nil, "127.0.0.1:5000", []string{"203.0.113.7"}, "127.0.0.1"},
		{"trusted proxy", proxies, "127.0.0.1:5000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"untrusted peer", proxies, "198.51.100.1:5000", []string{"203.0.113.7"}, "198.51.100.1"},
		{"proxy chain", proxies, "127.0.0.1:5000", []string{"203.0.113.7, 10.1.2.3"}, "203.0.113.7"},
		{"forged left entries", proxies, "127.0.0.1:5000", []string{"1.1.1.1, 203.0.113.7"}, "203.0.113.7"},
		{"two headers", proxies, "127.0.0.1:5000", []string{"1.1.1.1", "203.0.113.7"}, "203.0.113.7"},
		{"garbage", proxies, "127.0.0.1:5000", []string{"not-an-ip"}, "127.0.0.1"},
		{"no header", proxies, "127.0.0.1:5000", nil, "127.0.0.1"},
		{"ipv6", proxies, "127.0.0.1:5000", []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{opts: Options{TrustedProxies: tt.proxies}}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientIP(r); got != tt.want {
				t.Errorf("clientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoginLimitPerForwardedIP(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil, "", func(o *Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		o.Limits.LoginPerIP = ratelimit.Limit{Rate: 2, Burst: 2, Period: time.Hour}
	})
	c := e.client()
	body := map[string]any{"email": "x@example.com", "password": "whatever-1"}
	for range 2 {
		c.want(http.StatusUnauthorized, "POST", "/api/v1/auth/login", body, "X-Forwarded-For", "203.0.113.1")
	}
	c.want(http.StatusTooManyRequests, "POST", "/api/v1/auth/login", body, "X-Forwarded-For", "203.0.113.1")
	// Another client behind the same proxy has its own budget.
	c.want(http.StatusUnauthorized, "POST", "/api/v1/auth/login", body, "X-Forwarded-For", "203.0.113.2")
}
