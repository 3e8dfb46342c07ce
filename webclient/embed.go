// Package webclient serves the browser studio: the Vite build in dist/,
// embedded into the binary. dist/ is committed, so `go build` works on a
// machine without Node; `make webclient` rebuilds it from src/.
package webclient

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Handler serves the built client: files under assets/ (content-hashed
// names) with a year-long immutable cache, other files with revalidation,
// and index.html (never cached) for every other GET or HEAD path, so the
// client-side routes (/projects/…, /invite/…) load the app. When dist/
// holds no build it serves a page saying how to build one.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return missing()
	}
	return handlerFS(sub)
}

func handlerFS(root fs.FS) http.Handler {
	index, err := fs.ReadFile(root, "index.html")
	if err != nil {
		return missing()
	}
	files := http.FileServerFS(root)
	started := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if st, err := fs.Stat(root, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					w.Header().Set("Cache-Control", "public, max-age=3600, must-revalidate")
				}
				w.Header().Set("X-Content-Type-Options", "nosniff")
				files.ServeHTTP(w, r)
				return
			}
			// A missing hashed asset is a real 404: an old index.html must
			// not get HTML back for its script.
			if strings.HasPrefix(name, "assets/") {
				http.NotFound(w, r)
				return
			}
		}
		serveIndex(w, r, index, started)
	})
}

func serveIndex(w http.ResponseWriter, r *http.Request, index []byte, mod time.Time) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	http.ServeContent(w, r, "index.html", mod, bytes.NewReader(index))
}

const missingPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Max Booster: web studio not built</title>
<style>body{font:15px/1.5 system-ui,sans-serif;background:#0d0f12;color:#e6e8eb;max-width:40rem;margin:4rem auto;padding:0 1rem}code{background:#1f232a;padding:.1em .35em;border-radius:4px}</style></head>
<body><h1>The web studio is not built into this binary</h1>
<p>This server was built without <code>webclient/dist</code>. Build the client and then the server:</p>
<pre><code>make webclient   # npm ci + npm run build in webclient/ (needs Node 20)
make build</code></pre>
<p>The API is available at <code>/api/v1/</code> (<a href="/api/v1/openapi.json" style="color:#f59e0b">OpenAPI document</a>).</p>
</body></html>
`

func missing() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(missingPage))
		}
	})
}

// IsServerPath reports whether a path belongs to the server rather than
// the client: the API, the realtime endpoints and the operational ones.
// Unknown paths there stay problem+json 404s instead of loading the app.
func IsServerPath(p string) bool {
	for _, prefix := range []string{"/api/", "/collab/", "/rtc/", "/hocuspocus"} {
		if strings.HasPrefix(p, prefix) || p+"/" == prefix {
			return true
		}
	}
	switch p {
	case "/api", "/collab", "/rtc", "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}
