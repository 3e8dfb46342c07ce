package api_test

import (
	"net/http"
	"testing"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/api/apitest"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// The token passes the session middleware (it is not a personal access
// token) and reaches /metrics.
func TestMetricsTokenThroughTheStack(t *testing.T) {
	srv := apitest.New(t, storetest.OpenSQLite(t), func(d *api.Deps) { d.MetricsToken = "0123456789abcdef" })
	c := srv.Client()
	c.Do(t, "GET", "/metrics", nil).WantProblem(t, http.StatusUnauthorized, "metrics_token_required")
	c.Do(t, "GET", "/metrics", nil, http.Header{"Authorization": {"Bearer 0123456789abcdef"}}).WantStatus(t, http.StatusOK)
}
