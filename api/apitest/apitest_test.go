package apitest_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/api/apitest"
	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

type echo struct {
	Name string `json:"name"`
}

func TestAPIOnEveryEngine(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		srv := apitest.New(t, db, func(d *api.Deps) {
			d.ExtraRoutes = func(mux *http.ServeMux) {
				mux.HandleFunc("POST /test/echo", func(w http.ResponseWriter, r *http.Request) {
					var in echo
					if err := respond.Decode(w, r, &in); err != nil {
						respond.Error(w, r, err)
						return
					}
					if in.Name == "" {
						respond.Error(w, r, apperr.Msgf("echo", apperr.Invalid, "name is required").WithField("name", "required"))
						return
					}
					respond.JSON(w, http.StatusCreated, in)
				})
				mux.HandleFunc("GET /test/cookie", func(w http.ResponseWriter, r *http.Request) {
					if c, err := r.Cookie("mb_test"); err == nil {
						respond.JSON(w, http.StatusOK, echo{Name: c.Value})
						return
					}
					http.SetCookie(w, &http.Cookie{Name: "mb_test", Value: "kept", Path: "/"})
					respond.JSON(w, http.StatusOK, echo{})
				})
			}
		})
		c := srv.Client()

		var ready api.Readiness
		res := c.Do(t, http.MethodGet, "/readyz", nil)
		res.WantStatus(t, http.StatusOK)
		res.JSON(t, &ready)
		if ready.Checks["database"].Status != "ok" {
			t.Errorf("readyz = %+v", ready)
		}

		res = c.Do(t, http.MethodPost, "/test/echo", echo{Name: "Intro"})
		res.WantStatus(t, http.StatusCreated)
		var got echo
		res.JSON(t, &got)
		if got.Name != "Intro" {
			t.Errorf("echo = %+v", got)
		}

		p := c.Do(t, http.MethodPost, "/test/echo", echo{}).WantProblem(t, http.StatusBadRequest, "invalid")
		if p.Errors["name"] != "required" || p.Detail != "name is required" {
			t.Errorf("problem = %+v", p)
		}
		c.Do(t, http.MethodPost, "/test/echo", `{"name":"x","extra":1}`, http.Header{"Content-Type": {"application/json"}}).
			WantProblem(t, http.StatusBadRequest, "unknown_field")
		c.Do(t, http.MethodPost, "/test/echo", `name=x`, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}).
			WantProblem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		c.Do(t, http.MethodGet, "/api/v1/no/such/route", nil).WantProblem(t, http.StatusNotFound, "not_found")

		// Cookies persist across requests of one client, not across clients.
		c.Do(t, http.MethodGet, "/test/cookie", nil).WantStatus(t, http.StatusOK)
		c.Do(t, http.MethodGet, "/test/cookie", nil).JSON(t, &got)
		if got.Name != "kept" {
			t.Errorf("cookie not kept: %+v", got)
		}
		srv.Client().Do(t, http.MethodGet, "/test/cookie", nil).JSON(t, &got)
		if got.Name != "" {
			t.Errorf("a new client shares cookies: %+v", got)
		}

		var requests int
		for _, rec := range srv.Logs.Records() {
			if rec["msg"] == "request" {
				requests++
			}
		}
		if requests != 9 {
			t.Errorf("%d request log lines, want 9", requests)
		}
	})
}

func TestClientsKeepTheirOwnCookies(t *testing.T) {
	srv := apitest.New(t, storetest.OpenSQLite(t), nil)
	a, b := srv.Client(), srv.Client()
	u, _ := url.Parse(srv.URL)
	a.HTTP().Jar.SetCookies(u, []*http.Cookie{{Name: "who", Value: "a"}})
	if got := b.HTTP().Jar.Cookies(u); len(got) != 0 {
		t.Errorf("second client sees the first one's cookies: %v", got)
	}
	if a.HTTP() == b.HTTP() {
		t.Error("two clients share one *http.Client")
	}
}
