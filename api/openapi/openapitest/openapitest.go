// Package openapitest checks a server against the OpenAPI document in
// tests: Wrap validates every response a handler writes, and
// RegisteredPatterns lists the routes registered on a ServeMux so a test
// can require that each one is documented.
package openapitest

import (
	"bytes"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/maxbooster/maxbooster/api/openapi"
)

var (
	once   sync.Once
	shared *openapi.Validator
	errNew error
)

// Validator returns the validator for the embedded document, failing tb
// if the document does not parse.
func Validator(tb testing.TB) *openapi.Validator {
	tb.Helper()
	once.Do(func() { shared, errNew = openapi.NewValidator() })
	if errNew != nil {
		tb.Fatal(errNew)
	}
	return shared
}

// Options tune Wrap.
type Options struct {
	// Skip, when it returns true for a request, leaves its response
	// unchecked (test-only routes).
	Skip func(r *http.Request) bool
}

// Wrap returns h with every response checked against the document; a
// mismatch fails tb with the request and the reason. Requests for paths
// the document lacks must be answered 404 or 405 (unknown route).
func Wrap(tb testing.TB, h http.Handler, opts *Options) http.Handler {
	tb.Helper()
	v := Validator(tb)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if opts != nil && opts.Skip != nil && opts.Skip(r) {
			h.ServeHTTP(w, r)
			return
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		method, path := r.Method, r.URL.Path
		h.ServeHTTP(rec, r)
		if !v.Documented(method, path) && (rec.status == http.StatusNotFound || rec.status == http.StatusMethodNotAllowed) {
			return
		}
		if method == http.MethodOptions && rec.status == http.StatusNoContent {
			return // CORS preflight, answered by middleware for every route
		}
		if err := v.CheckResponse(method, path, rec.status, rec.Header().Get("Content-Type"), rec.body.Bytes()); err != nil {
			tb.Errorf("openapitest: %s %s: %v", method, path, err)
		}
	})
}

type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	if r.body.Len() < 1<<20 {
		r.body.Write(p)
	}
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// RegisteredPatterns returns the patterns registered on mux, sorted.
// net/http offers no way to list them, so it reads the mux's routing tree
// by reflection (read-only) and collects every registered pattern's
// string. If a Go release changes those internals it returns nil, and the
// conformance test fails and says so.
func RegisteredPatterns(mux *http.ServeMux) []string {
	seen := map[uintptr]bool{}
	set := map[string]bool{}
	var walk func(v reflect.Value, depth int)
	walk = func(v reflect.Value, depth int) {
		if depth > 64 || !v.IsValid() {
			return
		}
		// Other kinds hold no patterns.
		//exhaustive:ignore
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			if v.Type().String() == "*http.pattern" {
				if f := v.Elem().FieldByName("str"); f.IsValid() && f.Kind() == reflect.String {
					set[f.String()] = true
				}
				return
			}
			walk(v.Elem(), depth+1)
		case reflect.Interface:
			walk(v.Elem(), depth+1)
		case reflect.Struct:
			// Neither holds a pattern, and other goroutines change both
			// (the database's pool: its connections, SQLite's background
			// checkpointer): reading them here would be a data race.
			if p := v.Type().PkgPath(); strings.HasPrefix(p, "sync") || p == "database/sql" {
				return
			}
			for i := range v.NumField() {
				walk(v.Field(i), depth+1)
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i), depth+1)
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Value(), depth+1)
			}
		}
	}
	walk(reflect.ValueOf(mux), 0)
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
