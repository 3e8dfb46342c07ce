package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/maxbooster/maxbooster/api/apitest"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// A known path with a method it does not serve is a 405 with Allow, in
// problem+json; an unknown API path stays a 404.
func TestMethodNotAllowed(t *testing.T) {
	srv := apitest.New(t, storetest.OpenSQLite(t), nil)
	c := srv.Client()
	res := c.Do(t, http.MethodDelete, "/healthz", nil)
	p := res.WantProblem(t, http.StatusMethodNotAllowed, "method_not_allowed")
	if allow := res.Header.Get("Allow"); !strings.Contains(allow, "GET") || strings.Contains(allow, "DELETE") {
		t.Errorf("Allow = %q, want GET (and not DELETE)", allow)
	}
	if !strings.Contains(p.Detail, "DELETE") {
		t.Errorf("detail %q does not name the method", p.Detail)
	}
	c.Do(t, http.MethodDelete, "/api/v1/no/such/thing", nil).WantProblem(t, http.StatusNotFound, "not_found")
}
