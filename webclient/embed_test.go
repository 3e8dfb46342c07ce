package webclient

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	root := fstest.MapFS{
		"index.html":           {Data: []byte("<!doctype html><div id=root></div>")},
		"assets/app-abc123.js": {Data: []byte("console.log(1)")},
		"favicon.svg":          {Data: []byte("<svg/>")},
	}
	h := handlerFS(root)
	tests := []struct {
		name, method, path string
		status             int
		cache, body        string
	}{
		{"index", "GET", "/", 200, "no-cache", "id=root"},
		{"spa route", "GET", "/projects/p1", 200, "no-cache", "id=root"},
		{"invite route", "GET", "/invite/tok", 200, "no-cache", "id=root"},
		{"hashed asset", "GET", "/assets/app-abc123.js", 200, "public, max-age=31536000, immutable", "console.log"},
		{"plain file", "GET", "/favicon.svg", 200, "public, max-age=3600, must-revalidate", "<svg/>"},
		{"missing asset", "GET", "/assets/gone-1.js", 404, "", ""},
		{"head", "HEAD", "/projects", 200, "no-cache", ""},
		{"post", "POST", "/", 405, "", ""},
		{"traversal", "GET", "/../../etc/passwd", 200, "no-cache", "id=root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Cache-Control"); tt.cache != "" && got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body %q does not contain %q", rec.Body.String(), tt.body)
			}
		})
	}
}

func TestHandlerWithoutBuild(t *testing.T) {
	for name, root := range map[string]fstest.MapFS{
		"empty":       {},
		"readme only": {"README.txt": {Data: []byte("built by make webclient")}},
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			handlerFS(root).ServeHTTP(rec, httptest.NewRequest("GET", "/projects/p1", nil))
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "make webclient") {
				t.Fatalf("got %d %q, want the how-to-build page", rec.Code, rec.Body.String())
			}
		})
	}
}

// The committed build must be embedded: a binary without it would serve
// the how-to-build page instead of the studio.
func TestEmbeddedBuild(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !strings.Contains(rec.Body.String(), `<div id="root">`) {
		t.Fatalf("embedded dist has no index.html with the app root: %.200q", rec.Body.String())
	}
}

func TestIsServerPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/api/v1/nope": true, "/api": true, "/collab/p1": true, "/rtc/p1": true, "/hocuspocus": true,
		"/healthz": true, "/": false, "/projects/p1": false, "/invite/x": false, "/apiary": false, "/account": false,
	} {
		if got := IsServerPath(p); got != want {
			t.Errorf("IsServerPath(%q) = %v, want %v", p, got, want)
		}
	}
}
