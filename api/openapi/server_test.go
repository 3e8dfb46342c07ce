package openapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/api/openapi/openapitest"
	"github.com/maxbooster/maxbooster/internal/lifecycle"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// newServer builds the whole server handler as Main does and returns it
// with the mux every module registered on.
func newServer(t *testing.T) (http.Handler, *http.ServeMux) {
	t.Helper()
	var mux *http.ServeMux
	lc := lifecycle.New()
	t.Cleanup(func() { _ = lc.Shutdown(context.Background()) })
	h, err := api.NewHandler(api.Deps{
		Logger:      slog.New(slog.DiscardHandler),
		DB:          storetest.OpenSQLite(t),
		Metrics:     prometheus.NewRegistry(),
		Lifecycle:   lc,
		ExtraRoutes: func(m *http.ServeMux) { mux = m },
	})
	if err != nil {
		t.Fatal(err)
	}
	if mux == nil {
		t.Fatal("api.NewHandler did not call ExtraRoutes")
	}
	return h, mux
}

// TestEveryRouteDocumented fails when a route registered on the server's
// mux (by any module) is missing from openapi.json, or the document names
// a route the server does not have.
func TestEveryRouteDocumented(t *testing.T) {
	_, mux := newServer(t)
	registered := openapitest.RegisteredPatterns(mux)
	if len(registered) == 0 {
		t.Fatal("could not read the mux's patterns (did net/http's internals change? see openapitest.RegisteredPatterns)")
	}
	v := openapitest.Validator(t)
	documented := v.Operations()
	for _, p := range registered {
		if p == "/" { // the problem+json 404 for everything else
			continue
		}
		if !slices.Contains(documented, p) {
			t.Errorf("route %q is registered but not in api/openapi/openapi.json", p)
		}
	}
	for _, op := range documented {
		if !slices.Contains(registered, op) && !v.Optional(op) {
			t.Errorf("openapi.json documents %q, which the server does not register", op)
		}
	}
}

// TestServerResponsesMatch drives the real server through the main flows
// and checks every response against the document.
func TestServerResponsesMatch(t *testing.T) {
	h, _ := newServer(t)
	srv := httptest.NewServer(openapitest.Wrap(t, h, nil))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	do := func(method, path, body string, want int, hdr ...string) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		return b
	}
	do("GET", "/healthz", "", 200)
	do("GET", "/readyz", "", 200)
	do("GET", "/metrics", "", 200)
	var doc map[string]any
	if err := json.Unmarshal(do("GET", "/api/v1/openapi.json", "", 200), &doc); err != nil || doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %v %v", err, doc["openapi"])
	}
	do("GET", "/api/v1/me", "", 401)
	do("POST", "/api/v1/auth/register", `{"email":"flow@example.com","password":"violet-mixdown-417","displayName":"Flow"}`, 201)
	do("GET", "/api/v1/me", "", 200)
	do("POST", "/api/v1/auth/login", `{"email":"flow@example.com","password":"wrong-password"}`, 401)
	do("POST", "/api/v1/auth/login", `{"email":"flow@example.com","password":"violet-mixdown-417"}`, 200)
	var tok struct{ ID, Token string }
	if err := json.Unmarshal(do("POST", "/api/v1/tokens", `{"name":"cli","scopes":["read"],"expiresInDays":30}`, 201), &tok); err != nil {
		t.Fatal(err)
	}
	do("GET", "/api/v1/tokens", "", 200)
	do("GET", "/api/v1/me/sessions", "", 200)
	do("GET", "/api/v1/me/audit", "", 200)
	do("POST", "/api/v1/teams", `{"name":"Label"}`, 201)
	do("GET", "/api/v1/teams", "", 200)
	do("POST", "/api/v1/tokens", `{"name":"x","scopes":["read"]}`, 403, "Sec-Fetch-Site", "cross-site")
	do("DELETE", "/api/v1/tokens/"+tok.ID, "", 204)
	do("POST", "/api/v1/auth/password-reset", `{"email":"flow@example.com"}`, 202)
	do("POST", "/api/v1/auth/logout", "", 204)
	do("GET", "/api/v1/me", "", 401)
	do("GET", "/api/v1/no-such-route", "", 404)
}
