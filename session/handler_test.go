package session

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/session/ratelimit"
)

const goodPassword = "violet-mixdown-417"

func TestRegisterLoginMeLogout(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		c := e.client()
		r := c.want(http.StatusCreated, "POST", "/api/v1/auth/register",
			map[string]any{"email": " Artist@Example.com ", "password": goodPassword, "displayName": "DJ Test"})
		u := r.json(t)["user"].(map[string]any)
		if u["email"] != "artist@example.com" || u["displayName"] != "DJ Test" || u["emailVerified"] != false {
			t.Errorf("registered user = %v", u)
		}
		setCookie := r.Header.Get("Set-Cookie")
		for _, want := range []string{"mb_session=mbs_", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(setCookie, want) {
				t.Errorf("Set-Cookie %q lacks %q", setCookie, want)
			}
		}
		if strings.Contains(setCookie, "Secure") {
			t.Errorf("Secure set without SecureCookies: %q", setCookie)
		}
		first := c.cookie()
		me := c.want(http.StatusOK, "GET", "/api/v1/me", nil).json(t)["user"].(map[string]any)
		if me["id"] != u["id"] {
			t.Errorf("me = %v", me)
		}

		// Log in again from the same browser: a new session id, the old one ends.
		c.want(http.StatusOK, "POST", "/api/v1/auth/login", map[string]any{"email": "ARTIST@example.com", "password": goodPassword})
		if c.cookie() == first || c.cookie() == "" {
			t.Fatal("login kept the session id (fixation)")
		}
		old := e.client()
		old.header.Set("Cookie", "mb_session="+first)
		old.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)

		c.want(http.StatusNoContent, "POST", "/api/v1/auth/logout", nil)
		c.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		anon := e.client()
		r = anon.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		if r.Header.Get("Content-Type") != "application/problem+json" || r.code(t) != "unauthenticated" {
			t.Errorf("401 = %s %s", r.Header.Get("Content-Type"), r.Body)
		}
	})
}

func TestSecureCookie(t *testing.T) {
	db := openSQLite(t)
	e := newEnv(t, db, nil, "", func(o *Options) { o.SecureCookies = true })
	r := e.client().want(http.StatusCreated, "POST", "/api/v1/auth/register", map[string]any{"email": "s@example.com", "password": goodPassword, "displayName": "S"})
	if sc := r.Header.Get("Set-Cookie"); !strings.HasPrefix(sc, "__Host-mb_session=") || !strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie = %q", sc)
	}
}

func TestBadInput(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		c := e.register("bad@example.com", goodPassword)
		routes := []struct{ method, path string }{
			{"POST", "/api/v1/auth/register"}, {"POST", "/api/v1/auth/login"},
			{"POST", "/api/v1/auth/verify-email"}, {"POST", "/api/v1/auth/password-reset"},
			{"POST", "/api/v1/auth/password-reset/confirm"}, {"POST", "/api/v1/me/password"},
			{"POST", "/api/v1/tokens"}, {"POST", "/api/v1/teams"},
		}
		for _, rt := range routes {
			for _, tc := range []struct {
				name, body string
				status     int
				code       string
			}{
				{"malformed", `{"email": "a@b.c",`, 400, "invalid_json"},
				{"not json", `email=a@b.c`, 400, "invalid_json"},
				{"wrong type", `[1, 2]`, 400, "invalid_json"},
				{"unknown field", `{"isAdmin": true}`, 400, "unknown_field"},
				{"two values", `{} {}`, 400, "invalid_json"},
				{"empty", ``, 400, "invalid_json"},
				{"oversized", `{"email": "` + strings.Repeat("a", maxAuthBody) + `"}`, 413, "body_too_large"},
			} {
				r := c.do(rt.method, rt.path, tc.body)
				if r.Status != tc.status || r.code(t) != tc.code {
					t.Errorf("%s %s %s: %d %s, want %d %s", rt.method, rt.path, tc.name, r.Status, r.Body, tc.status, tc.code)
				}
			}
			r := c.do(rt.method, rt.path, nil, "Content-Type", "text/plain")
			if r.Status != http.StatusUnsupportedMediaType {
				t.Errorf("%s %s text/plain: %d", rt.method, rt.path, r.Status)
			}
		}

		for _, email := range []string{"", "no-at-sign", "a@b", "x@example.com\r\nBcc: v@example.com", "Name <a@example.com>", strings.Repeat("a", 300) + "@example.com"} {
			r := e.client().do("POST", "/api/v1/auth/register", map[string]any{"email": email, "password": goodPassword, "displayName": "X"})
			if r.Status != 400 || r.code(t) != "invalid_email" {
				t.Errorf("register email %q: %d %s", email, r.Status, r.Body)
			}
		}
		for _, tc := range []struct{ password, display string }{
			{"short", "X"}, {"password123", "X"}, {strings.Repeat("a", 200), "X"}, {"new@example.com", "X"},
		} {
			r := e.client().do("POST", "/api/v1/auth/register", map[string]any{"email": "new@example.com", "password": tc.password, "displayName": tc.display})
			if r.Status != 400 || r.code(t) != "weak_password" {
				t.Errorf("register password %.20q: %d %s", tc.password, r.Status, r.Body)
			}
		}
		for _, name := range []string{"", "   ", strings.Repeat("n", 101), "bell\a"} {
			r := e.client().do("POST", "/api/v1/auth/register", map[string]any{"email": "new@example.com", "password": goodPassword, "displayName": name})
			if r.Status != 400 || r.code(t) != "invalid_display_name" {
				t.Errorf("register display name %q: %d %s", name, r.Status, r.Body)
			}
		}
		r := c.do("GET", "/api/v1/me/audit?limit=100000", nil)
		if r.Status != 400 {
			t.Errorf("audit huge limit: %d", r.Status)
		}
		for _, tc := range []map[string]any{
			{"name": "", "scopes": []string{"read"}},
			{"name": "x", "scopes": []string{}},
			{"name": "x", "scopes": []string{"admin"}},
			{"name": "x", "scopes": []string{"read"}, "expiresInDays": 366},
			{"name": "x", "scopes": []string{"read"}, "expiresInDays": -1},
		} {
			if r := c.do("POST", "/api/v1/tokens", tc); r.Status != 400 {
				t.Errorf("token %v: %d %s", tc, r.Status, r.Body)
			}
		}
	})
}

func TestLoginEnumeration(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		e.register("known@example.com", goodPassword)
		c := e.client()
		before := e.svc.hasher.verifies.Load()
		wrong := c.want(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]any{"email": "known@example.com", "password": "not-the-password"})
		mid := e.svc.hasher.verifies.Load()
		unknown := c.want(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]any{"email": "nobody@example.com", "password": "not-the-password"})
		after := e.svc.hasher.verifies.Load()
		invalid := c.want(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]any{"email": "not an email", "password": "x"})
		last := e.svc.hasher.verifies.Load()
		// Same answer, and the same password hashing work, for all three.
		if mid-before != 1 || after-mid != 1 || last-after != 1 {
			t.Errorf("argon2 verifications: known %d, unknown %d, invalid %d; want 1 each", mid-before, after-mid, last-after)
		}
		strip := func(r response) string {
			m := r.json(t)
			delete(m, "request_id")
			return fmt.Sprint(m)
		}
		if strip(wrong) != strip(unknown) || strip(wrong) != strip(invalid) {
			t.Errorf("answers differ:\n%s\n%s\n%s", wrong.Body, unknown.Body, invalid.Body)
		}
		if wrong.code(t) != "invalid_credentials" {
			t.Errorf("code = %s", wrong.code(t))
		}
	})
}

func TestResetEnumeration(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		e.register("known@example.com", goodPassword)
		e.waitMail("known@example.com", prefixVerify)
		c := e.client()
		known := c.want(http.StatusAccepted, "POST", "/api/v1/auth/password-reset", map[string]any{"email": "known@example.com"})
		unknown := c.want(http.StatusAccepted, "POST", "/api/v1/auth/password-reset", map[string]any{"email": "nobody@example.com"})
		if string(known.Body) != string(unknown.Body) || known.Header.Get("Content-Length") != unknown.Header.Get("Content-Length") {
			t.Errorf("answers differ: %q vs %q", known.Body, unknown.Body)
		}
		// The answer is given before the account is even looked up: the
		// handler only queues the work, the same for both.
		e.waitMail("known@example.com", prefixReset)
		if msgs, _ := e.svc.store.Outbox(context.Background(), "nobody@example.com", 5); len(msgs) != 0 {
			t.Errorf("mail sent to an unknown address: %v", msgs)
		}
	})
}

func TestResetFlowEndsSessions(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		a := e.register("reset@example.com", goodPassword)
		b := e.client()
		b.want(http.StatusOK, "POST", "/api/v1/auth/login", map[string]any{"email": "reset@example.com", "password": goodPassword})
		e.client().want(http.StatusAccepted, "POST", "/api/v1/auth/password-reset", map[string]any{"email": "reset@example.com"})
		secret := e.waitMail("reset@example.com", prefixReset)

		anon := e.client()
		for _, weak := range []string{"password", "reset@example.com"} { // common; the account's own email
			r := anon.do("POST", "/api/v1/auth/password-reset/confirm", map[string]any{"token": secret, "password": weak})
			if r.Status != 400 || r.code(t) != "weak_password" {
				t.Fatalf("weak new password %q: %d %s", weak, r.Status, r.Body)
			}
		}
		anon.want(http.StatusNoContent, "POST", "/api/v1/auth/password-reset/confirm", map[string]any{"token": secret, "password": "new-" + goodPassword})
		// Single use.
		r := anon.do("POST", "/api/v1/auth/password-reset/confirm", map[string]any{"token": secret, "password": "other-" + goodPassword})
		if r.Status != 400 || r.code(t) != "invalid_token" {
			t.Errorf("reused reset token: %d %s", r.Status, r.Body)
		}
		for _, bad := range []string{"", "mbr_short", "mbv_" + secret[4:], strings.Repeat("x", 10000), "' OR 1=1 --"} {
			r := anon.do("POST", "/api/v1/auth/password-reset/confirm", map[string]any{"token": bad, "password": "other-" + goodPassword})
			if r.Status != 400 && r.Status != 413 {
				t.Errorf("bad token %.20q: %d %s", bad, r.Status, r.Body)
			}
		}
		// Every session of the account ended.
		a.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		b.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		anon.want(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]any{"email": "reset@example.com", "password": goodPassword})
		me := anon.want(http.StatusOK, "POST", "/api/v1/auth/login", map[string]any{"email": "reset@example.com", "password": "new-" + goodPassword})
		if me.json(t)["user"].(map[string]any)["emailVerified"] != true {
			t.Error("a completed reset did not mark the email verified")
		}
	})
}

func TestVerifyEmail(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		c := e.register("verify@example.com", goodPassword)
		secret := e.waitMail("verify@example.com", prefixVerify)
		c.want(http.StatusNoContent, "POST", "/api/v1/auth/verify-email", map[string]any{"token": secret})
		if v := c.want(http.StatusOK, "GET", "/api/v1/me", nil).json(t)["user"].(map[string]any)["emailVerified"]; v != true {
			t.Errorf("emailVerified = %v", v)
		}
		if r := c.do("POST", "/api/v1/auth/verify-email", map[string]any{"token": secret}); r.Status != 400 {
			t.Errorf("second use: %d", r.Status)
		}
		if r := c.do("POST", "/api/v1/me/verify-email", nil); r.Status != http.StatusConflict {
			t.Errorf("resend when verified: %d %s", r.Status, r.Body)
		}
	})
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		a := e.register("change@example.com", goodPassword)
		thief := e.client()
		thief.want(http.StatusOK, "POST", "/api/v1/auth/login", map[string]any{"email": "change@example.com", "password": goodPassword})
		stolen := thief.cookie()
		before := a.cookie()

		r := a.do("POST", "/api/v1/me/password", map[string]any{"currentPassword": "wrong-password", "newPassword": "new-" + goodPassword})
		if r.Status != http.StatusForbidden || r.code(t) != "wrong_password" {
			t.Fatalf("wrong current password: %d %s", r.Status, r.Body)
		}
		a.want(http.StatusOK, "POST", "/api/v1/me/password", map[string]any{"currentPassword": goodPassword, "newPassword": "new-" + goodPassword})
		if a.cookie() == before {
			t.Error("password change kept the session id")
		}
		a.want(http.StatusOK, "GET", "/api/v1/me", nil)
		thief.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		replay := e.client()
		replay.header.Set("Cookie", "mb_session="+stolen)
		replay.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		replay.header.Set("Cookie", "mb_session="+before)
		replay.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
	})
}

// auditEvents returns c's newest n audit events as "event: detail".
func auditEvents(t *testing.T, c *client, n int) []string {
	t.Helper()
	var out []string
	for _, ev := range c.want(http.StatusOK, "GET", fmt.Sprintf("/api/v1/me/audit?limit=%d", n), nil).json(t)["events"].([]any) {
		m := ev.(map[string]any)
		out = append(out, m["event"].(string)+": "+m["detail"].(string))
	}
	return out
}

// bearerClient returns a client that sends the personal access token.
func (e *env) bearerClient(secret string) *client {
	c := e.client()
	c.header.Set("Authorization", "Bearer "+secret)
	return c
}

func TestChangePasswordRevokesTokens(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		a := e.register("pat@example.com", goodPassword)
		other := e.client()
		other.want(http.StatusOK, "POST", "/api/v1/auth/login", map[string]any{"email": "pat@example.com", "password": goodPassword})
		var ids []string
		var bearers []*client
		for _, scopes := range [][]string{{"read"}, {"read", "write"}} {
			m := a.want(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": "ci", "scopes": scopes}).json(t)
			ids = append(ids, m["id"].(string))
			b := e.bearerClient(m["token"].(string))
			b.want(http.StatusOK, "GET", "/api/v1/me", nil)
			bearers = append(bearers, b)
		}
		// Someone else's token is not touched.
		bob := e.register("bob-pat@example.com", goodPassword)
		bobTok := e.bearerClient(bob.want(http.StatusCreated, "POST", "/api/v1/tokens",
			map[string]any{"name": "bob", "scopes": []string{"read"}}).json(t)["token"].(string))

		// A failed attempt revokes nothing.
		a.do("POST", "/api/v1/me/password", map[string]any{"currentPassword": "wrong-password", "newPassword": "new-" + goodPassword})
		bearers[0].want(http.StatusOK, "GET", "/api/v1/me", nil)

		a.want(http.StatusOK, "POST", "/api/v1/me/password", map[string]any{"currentPassword": goodPassword, "newPassword": "new-" + goodPassword})
		for i, b := range bearers {
			if r := b.do("GET", "/api/v1/me", nil); r.Status != http.StatusUnauthorized || r.code(t) != "unauthenticated" {
				t.Errorf("token %d after the change: %d %s", i, r.Status, r.Body)
			}
		}
		other.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		a.want(http.StatusOK, "GET", "/api/v1/me", nil) // the caller stays signed in
		if list := a.want(http.StatusOK, "GET", "/api/v1/tokens", nil).json(t)["tokens"].([]any); len(list) != 0 {
			t.Errorf("tokens after the change = %v", list)
		}
		bobTok.want(http.StatusOK, "GET", "/api/v1/me", nil)

		slices.Sort(ids)
		want := []string{"password_change: ended 1 session, revoked 2 tokens: " + strings.Join(ids, " ")}
		if got := auditEvents(t, a, 1); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("audit = %q, want %q", got, want)
		}
	})
}

func TestResetPasswordRevokesTokens(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		a := e.register("pat-reset@example.com", goodPassword)
		m := a.want(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": "ci", "scopes": []string{"read"}}).json(t)
		bearer := e.bearerClient(m["token"].(string))
		bearer.want(http.StatusOK, "GET", "/api/v1/me", nil)

		e.client().want(http.StatusAccepted, "POST", "/api/v1/auth/password-reset", map[string]any{"email": "pat-reset@example.com"})
		secret := e.waitMail("pat-reset@example.com", prefixReset)
		e.client().want(http.StatusNoContent, "POST", "/api/v1/auth/password-reset/confirm", map[string]any{"token": secret, "password": "new-" + goodPassword})

		if r := bearer.do("GET", "/api/v1/me", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("token after the reset: %d %s", r.Status, r.Body)
		}
		a.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		c := e.client()
		c.want(http.StatusOK, "POST", "/api/v1/auth/login", map[string]any{"email": "pat-reset@example.com", "password": "new-" + goodPassword})
		want := "password_reset: ended 1 session, revoked 1 token: " + m["id"].(string)
		if got := auditEvents(t, c, 2); len(got) != 2 || got[1] != want {
			t.Errorf("audit = %q, want %q before the login", got, want)
		}
	})
}

func TestBruteForce(t *testing.T) {
	penalty := ratelimit.Penalty{Free: 3, Base: time.Minute, Max: time.Hour, Forget: time.Hour}
	forEachBackend(t, func(o *Options) { o.Limits.LoginPenalty = penalty }, func(t *testing.T, e *env) {
		e.register("victim@example.com", goodPassword)
		c := e.client()
		for i := range 3 {
			r := c.do("POST", "/api/v1/auth/login", map[string]any{"email": "victim@example.com", "password": fmt.Sprintf("guess-%d-xxxx", i)})
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d", i, r.Status)
			}
		}
		r := c.do("POST", "/api/v1/auth/login", map[string]any{"email": "victim@example.com", "password": "guess-4-xxxx"})
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("4th guess: %d", r.Status)
		}
		// Now locked for a minute: even the right password waits.
		r = c.do("POST", "/api/v1/auth/login", map[string]any{"email": "victim@example.com", "password": goodPassword})
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || r.code(t) != "login_throttled" {
			t.Fatalf("throttled login: %d %q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		// Unknown accounts are throttled the same way (no enumeration).
		for range 4 {
			c.do("POST", "/api/v1/auth/login", map[string]any{"email": "ghost@example.com", "password": "guess-xxxx"})
		}
		if r := c.do("POST", "/api/v1/auth/login", map[string]any{"email": "ghost@example.com", "password": "guess-xxxx"}); r.Status != http.StatusTooManyRequests {
			t.Errorf("unknown account not throttled: %d", r.Status)
		}
	})
}

func TestLoginPerIPLimit(t *testing.T) {
	forEachBackend(t, func(o *Options) { o.Limits.LoginPerIP = ratelimit.Limit{Rate: 3, Burst: 3, Period: time.Hour} }, func(t *testing.T, e *env) {
		c := e.client()
		for i := range 3 {
			if r := c.do("POST", "/api/v1/auth/login", map[string]any{"email": fmt.Sprintf("u%d@example.com", i), "password": "whatever-1"}); r.Status != 401 {
				t.Fatalf("attempt %d: %d", i, r.Status)
			}
		}
		r := c.do("POST", "/api/v1/auth/login", map[string]any{"email": "u9@example.com", "password": "whatever-1"})
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Fatalf("4th attempt from one IP: %d %q", r.Status, r.Header.Get("Retry-After"))
		}
	})
}

func TestAPIRateLimitPerUser(t *testing.T) {
	forEachBackend(t, func(o *Options) { o.Limits.APIPerUser = ratelimit.Limit{Rate: 5, Burst: 5, Period: time.Hour} }, func(t *testing.T, e *env) {
		c := e.register("busy@example.com", goodPassword)
		n := 0
		for range 10 {
			if r := c.do("GET", "/api/v1/me", nil); r.Status == http.StatusTooManyRequests {
				if r.Header.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
				break
			}
			n++
		}
		if n != 5 {
			t.Errorf("%d requests before 429, want 5", n)
		}
	})
}

func TestCrossSitePost(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		c := e.register("csrf@example.com", goodPassword)
		host := strings.TrimPrefix(e.srv.URL, "http://")
		for _, hdr := range [][]string{
			{"Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "same-site"},
			{"Origin", "https://evil.example"},
		} {
			r := c.do("POST", "/api/v1/tokens", map[string]any{"name": "x", "scopes": []string{"read"}}, hdr...)
			if r.Status != http.StatusForbidden || r.code(t) != "cross_origin" {
				t.Errorf("POST with %v: %d %s", hdr, r.Status, r.Body)
			}
			r = c.do("POST", "/api/v1/auth/logout", nil, hdr...)
			if r.Status != http.StatusForbidden {
				t.Errorf("logout with %v: %d", hdr, r.Status)
			}
		}
		c.want(http.StatusOK, "GET", "/api/v1/me", nil, "Sec-Fetch-Site", "cross-site") // reads are not state changes
		c.want(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": "ok", "scopes": []string{"read"}}, "Sec-Fetch-Site", "same-origin")
		c.want(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": "ok2", "scopes": []string{"read"}}, "Origin", "http://"+host)
		if toks := c.want(http.StatusOK, "GET", "/api/v1/tokens", nil).json(t)["tokens"].([]any); len(toks) != 2 {
			t.Errorf("%d tokens, want 2 (the cross-site ones must not exist)", len(toks))
		}
	})
}

func TestCORS(t *testing.T) {
	db := openSQLite(t)
	off := newEnv(t, db, nil, "", nil)
	r := off.client().do("OPTIONS", "/api/v1/me", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "GET")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS answered without configured origins: %v", r.Header)
	}
	on := newEnv(t, openSQLite(t), nil, "", func(o *Options) { o.CORSOrigins = []string{"https://app.example"} })
	r = on.client().do("OPTIONS", "/api/v1/me", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "POST")
	if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || r.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight: %d %v", r.Status, r.Header)
	}
	r = on.client().do("OPTIONS", "/api/v1/me", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from an unlisted origin got CORS headers: %v", r.Header)
	}
	// The configured origin may also make state changes with its cookie.
	c := on.client()
	c.want(http.StatusCreated, "POST", "/api/v1/auth/register", map[string]any{"email": "cors@example.com", "password": goodPassword, "displayName": "C"},
		"Origin", "https://app.example", "Sec-Fetch-Site", "cross-site")
	if _, err := New(Options{DB: db, Logger: off.svc.log, CORSOrigins: []string{"*"}}); err == nil {
		t.Error("New accepted the CORS origin *")
	}
}

func TestTokens(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		c := e.register("tok@example.com", goodPassword)
		r := c.want(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": "CI upload", "scopes": []string{"read"}, "expiresInDays": 7})
		m := r.json(t)
		id, secret := m["id"].(string), m["token"].(string)
		if !strings.HasPrefix(secret, "mbp_") || id == "" {
			t.Fatalf("token response %v", m)
		}
		list := c.want(http.StatusOK, "GET", "/api/v1/tokens", nil)
		if strings.Contains(string(list.Body), secret) || strings.Contains(string(list.Body), hashSecret(secret)) {
			t.Error("token list shows the secret or its hash")
		}
		bearer := e.client()
		bearer.header.Set("Authorization", "Bearer "+secret)
		if got := bearer.want(http.StatusOK, "GET", "/api/v1/me", nil).json(t)["user"].(map[string]any)["email"]; got != "tok@example.com" {
			t.Errorf("me via token = %v", got)
		}
		// A read token cannot write, and no token manages tokens or passwords.
		if r := bearer.do("POST", "/api/v1/teams", map[string]any{"name": "x"}); r.Status != http.StatusForbidden || r.code(t) != "insufficient_scope" {
			t.Errorf("write with read token: %d %s", r.Status, r.Body)
		}
		rw := c.want(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": "rw", "scopes": []string{"read", "write", "write"}}).json(t)
		if fmt.Sprint(rw["scopes"]) != "[read write]" {
			t.Errorf("scopes = %v", rw["scopes"])
		}
		writer := e.client()
		writer.header.Set("Authorization", "Bearer "+rw["token"].(string))
		writer.want(http.StatusCreated, "POST", "/api/v1/teams", map[string]any{"name": "Label"})
		if r := writer.do("POST", "/api/v1/tokens", map[string]any{"name": "x", "scopes": []string{"read"}}); r.Status != http.StatusForbidden || r.code(t) != "session_required" {
			t.Errorf("token minting a token: %d %s", r.Status, r.Body)
		}
		if r := writer.do("POST", "/api/v1/me/password", map[string]any{"currentPassword": goodPassword, "newPassword": "x-" + goodPassword}); r.Status != http.StatusForbidden {
			t.Errorf("token changing the password: %d", r.Status)
		}
		// Other users cannot revoke it; its owner can, and then it is dead.
		other := e.register("other@example.com", goodPassword)
		other.want(http.StatusNotFound, "DELETE", "/api/v1/tokens/"+id, nil)
		c.want(http.StatusNoContent, "DELETE", "/api/v1/tokens/"+id, nil)
		c.want(http.StatusNotFound, "DELETE", "/api/v1/tokens/"+id, nil)
		bearer.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		for _, h := range []string{"Bearer", "Bearer mbp_forged", "Basic dXNlcjpwYXNz", "Bearer " + strings.Repeat("a", 5000),
			"Bearer mbp_" + strings.Repeat("a", 5000), "Bearer " + c.cookie(), "Bearer eyJhbGciOiJub25lIn0.e30."} {
			r := e.client().do("GET", "/api/v1/me", nil, "Authorization", h)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("Authorization %.30q: %d", h, r.Status)
			}
		}
		// Expired tokens fail.
		if _, err := e.svc.opts.DB.ExecContext(context.Background(), `UPDATE api_tokens SET expires_at = ?`, now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		writer.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
	})
}

func TestSessionsListAndRevoke(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		a := e.register("multi@example.com", goodPassword)
		b := e.client()
		b.want(http.StatusOK, "POST", "/api/v1/auth/login", map[string]any{"email": "multi@example.com", "password": goodPassword}, "User-Agent", "phone/1")
		list := a.want(http.StatusOK, "GET", "/api/v1/me/sessions", nil).json(t)["sessions"].([]any)
		if len(list) != 2 {
			t.Fatalf("%d sessions, want 2", len(list))
		}
		var otherID string
		for _, s := range list {
			m := s.(map[string]any)
			if m["current"] == false {
				otherID = m["id"].(string)
				if m["userAgent"] != "phone/1" {
					t.Errorf("userAgent = %v", m["userAgent"])
				}
			}
		}
		if strings.Contains(fmt.Sprint(list), a.cookie()) || strings.Contains(fmt.Sprint(list), hashSecret(a.cookie())) {
			t.Error("session list leaks the secret")
		}
		stranger := e.register("stranger@example.com", goodPassword)
		stranger.want(http.StatusNotFound, "DELETE", "/api/v1/me/sessions/"+otherID, nil)
		a.want(http.StatusNoContent, "DELETE", "/api/v1/me/sessions/"+otherID, nil)
		b.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		a.want(http.StatusOK, "GET", "/api/v1/me", nil)
	})
}

func TestSessionIdleExpiry(t *testing.T) {
	forEachBackend(t, func(o *Options) { o.IdleTimeout = time.Hour }, func(t *testing.T, e *env) {
		c := e.register("idle@example.com", goodPassword)
		h := hashSecret(c.cookie())
		// Pretend the last activity was two hours ago.
		ss, err := e.svc.sessions.SessionByHash(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.sessions.TouchSession(context.Background(), h, ss.LastSeenAt.Add(-2*time.Hour), 3*time.Hour); err != nil {
			t.Fatal(err)
		}
		c.want(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
	})
}

func TestConcurrentRegistration(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			codes = map[int]int{}
		)
		for i := range 8 {
			wg.Go(func() {
				r := e.client().do("POST", "/api/v1/auth/register", map[string]any{"email": "race@example.com", "password": goodPassword, "displayName": fmt.Sprint("Racer ", i)})
				mu.Lock()
				codes[r.Status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[http.StatusCreated] != 1 || codes[http.StatusConflict] != 7 {
			t.Errorf("status counts = %v, want one 201 and seven 409", codes)
		}
	})
}

func TestSQLMetacharacters(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		evil := `x'); DROP TABLE users; --`
		email := "o'brien+x%_@example.com"
		password := `p'"; DROP TABLE sessions; -- \ %`
		c := e.client()
		r := c.want(http.StatusCreated, "POST", "/api/v1/auth/register", map[string]any{"email": email, "password": password, "displayName": evil})
		if r.json(t)["user"].(map[string]any)["displayName"] != evil {
			t.Errorf("display name mangled: %s", r.Body)
		}
		e.client().want(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]any{"email": "' OR '1'='1", "password": "' OR '1'='1"})
		e.client().want(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]any{"email": "o'brien+x%@example.com", "password": password})
		c.want(http.StatusOK, "POST", "/api/v1/auth/login", map[string]any{"email": email, "password": password})
		tok := c.want(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": evil, "scopes": []string{"read"}}).json(t)
		if tok["name"] != evil {
			t.Errorf("token name = %v", tok["name"])
		}
		team := c.want(http.StatusCreated, "POST", "/api/v1/teams", map[string]any{"name": evil}).json(t)["team"].(map[string]any)
		c.want(http.StatusNotFound, "POST", "/api/v1/teams/"+team["id"].(string)+"/members", map[string]any{"email": "a'b@example.com", "role": "member"})
		for _, p := range []string{"/api/v1/tokens/'%20OR%201=1", "/api/v1/me/sessions/'%20OR%20'1'='1", "/api/v1/teams/x'%20OR%201=1"} {
			if r := c.do("DELETE", p, nil); r.Status != http.StatusNotFound {
				t.Errorf("DELETE %s: %d", p, r.Status)
			}
		}
		c.want(http.StatusOK, "GET", "/api/v1/me/audit?before=1", nil)
		if r := c.do("GET", "/api/v1/me/audit?before=1%20OR%201=1", nil); r.Status != 400 {
			t.Errorf("audit cursor injection: %d", r.Status)
		}
		// Everything is still there.
		c.want(http.StatusOK, "GET", "/api/v1/me", nil)
		if n := len(c.want(http.StatusOK, "GET", "/api/v1/tokens", nil).json(t)["tokens"].([]any)); n != 1 {
			t.Errorf("%d tokens", n)
		}
	})
}

func TestTeams(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		owner := e.register("owner@example.com", goodPassword)
		admin := e.register("admin@example.com", goodPassword)
		member := e.register("member@example.com", goodPassword)
		outsider := e.register("outsider@example.com", goodPassword)
		team := owner.want(http.StatusCreated, "POST", "/api/v1/teams", map[string]any{"name": "Night Shift Records"}).json(t)["team"].(map[string]any)
		id := team["id"].(string)
		base := "/api/v1/teams/" + id
		owner.want(http.StatusCreated, "POST", base+"/members", map[string]any{"email": "admin@example.com", "role": "admin"})
		admin.want(http.StatusCreated, "POST", base+"/members", map[string]any{"email": "member@example.com", "role": "member"})
		if r := admin.do("POST", base+"/members", map[string]any{"email": "outsider@example.com", "role": "owner"}); r.Status != http.StatusForbidden {
			t.Errorf("admin adding an owner: %d", r.Status)
		}
		if r := member.do("POST", base+"/members", map[string]any{"email": "outsider@example.com", "role": "member"}); r.Status != http.StatusForbidden {
			t.Errorf("member adding: %d", r.Status)
		}
		if r := owner.do("POST", base+"/members", map[string]any{"email": "member@example.com", "role": "member"}); r.Status != http.StatusConflict {
			t.Errorf("adding twice: %d", r.Status)
		}
		if r := owner.do("POST", base+"/members", map[string]any{"email": "outsider@example.com", "role": "god"}); r.Status != http.StatusBadRequest {
			t.Errorf("bad role: %d", r.Status)
		}
		outsider.want(http.StatusNotFound, "GET", base, nil)
		got := member.want(http.StatusOK, "GET", base, nil).json(t)
		members := got["members"].([]any)
		if len(members) != 3 || members[0].(map[string]any)["role"] != "owner" || got["team"].(map[string]any)["role"] != "member" {
			t.Errorf("team view = %v", got)
		}
		if teams := member.want(http.StatusOK, "GET", "/api/v1/teams", nil).json(t)["teams"].([]any); len(teams) != 1 {
			t.Errorf("member's teams = %v", teams)
		}
		memberID := members[2].(map[string]any)["userId"].(string)
		ownerID := members[0].(map[string]any)["userId"].(string)
		if r := admin.do("PATCH", base+"/members/"+ownerID, map[string]any{"role": "member"}); r.Status != http.StatusForbidden {
			t.Errorf("admin demoting the owner: %d", r.Status)
		}
		if r := owner.do("PATCH", base+"/members/"+ownerID, map[string]any{"role": "admin"}); r.Status != http.StatusConflict {
			t.Errorf("last owner stepping down: %d %s", r.Status, r.Body)
		}
		if r := owner.do("DELETE", base+"/members/"+ownerID, nil); r.Status != http.StatusConflict {
			t.Errorf("last owner leaving: %d", r.Status)
		}
		if role, _ := e.svc.TeamRole(context.Background(), id, memberID); role != TeamRoleMember {
			t.Errorf("TeamRole = %q", role)
		}
		admin.want(http.StatusOK, "PATCH", base+"/members/"+memberID, map[string]any{"role": "admin"})
		member.want(http.StatusNoContent, "DELETE", base+"/members/"+memberID, nil) // leaves
		member.want(http.StatusNotFound, "GET", base, nil)
		admin.want(http.StatusForbidden, "DELETE", base, nil)
		owner.want(http.StatusNoContent, "DELETE", base, nil)
		owner.want(http.StatusNotFound, "GET", base, nil)
		if r := owner.do("POST", "/api/v1/teams", map[string]any{"name": strings.Repeat("x", 101)}); r.Status != 400 {
			t.Errorf("long team name: %d", r.Status)
		}
	})
}

func TestAuditLog(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		c := e.register("audit@example.com", goodPassword)
		e.client().do("POST", "/api/v1/auth/login", map[string]any{"email": "audit@example.com", "password": "wrong-password"})
		c.want(http.StatusOK, "POST", "/api/v1/auth/login", map[string]any{"email": "audit@example.com", "password": goodPassword})
		id := c.want(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": "t", "scopes": []string{"read"}}).json(t)["id"].(string)
		c.want(http.StatusNoContent, "DELETE", "/api/v1/tokens/"+id, nil)
		c.want(http.StatusOK, "POST", "/api/v1/me/password", map[string]any{"currentPassword": goodPassword, "newPassword": "new-" + goodPassword})
		got := c.want(http.StatusOK, "GET", "/api/v1/me/audit?limit=3", nil).json(t)
		var events []string
		for _, ev := range got["events"].([]any) {
			events = append(events, ev.(map[string]any)["event"].(string))
		}
		if fmt.Sprint(events) != "[password_change token_revoke token_create]" {
			t.Errorf("newest events = %v", events)
		}
		next := fmt.Sprint(int64(got["nextBefore"].(float64)))
		rest := c.want(http.StatusOK, "GET", "/api/v1/me/audit?before="+next, nil).json(t)["events"].([]any)
		events = nil
		for _, ev := range rest {
			events = append(events, ev.(map[string]any)["event"].(string))
		}
		if fmt.Sprint(events) != "[login login_failed register]" {
			t.Errorf("older events = %v", events)
		}
	})
}

func TestNoSecretsInLogsOrSentry(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *env) {
		password := "hunter2-very-secret-pass"
		c := e.register("leak@example.com", password)
		e.client().do("POST", "/api/v1/auth/login", map[string]any{"email": "leak@example.com", "password": "wrong-" + password})
		tok := c.want(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": "t", "scopes": []string{"read", "write"}}).json(t)["token"].(string)
		e.client().want(http.StatusAccepted, "POST", "/api/v1/auth/password-reset", map[string]any{"email": "leak@example.com"})
		reset := e.waitMail("leak@example.com", prefixReset)
		verify := e.waitMail("leak@example.com", prefixVerify)
		cookie := c.cookie()

		// A panic while authenticated reaches Sentry with the user id only.
		c.want(http.StatusInternalServerError, "GET", "/api/v1/test/panic", nil, "Authorization", "Bearer "+tok)
		ev := e.sentry.WaitEvent(t)
		if ev.User.ID == "" {
			t.Error("the Sentry event lacks the user id")
		}
		// The capture works: the request log and the outbox line are there.
		if logs := e.logs.String(); !strings.Contains(logs, `"path":"/api/v1/auth/login"`) || !strings.Contains(logs, "leak@example.com") {
			t.Fatalf("log capture is missing lines: %.500s", logs)
		}
		for name, secret := range map[string]string{"password": password, "session": cookie, "token": tok, "reset": reset, "verify": verify} {
			if strings.Contains(e.logs.String(), secret) {
				t.Errorf("the log holds the %s secret", name)
			}
			if strings.Contains(ev.Raw, secret) {
				t.Errorf("the Sentry event holds the %s secret", name)
			}
		}
	})
}

func TestRoomTokensFromService(t *testing.T) {
	db := openSQLite(t)
	e := newEnv(t, db, nil, "", nil)
	tok, _, err := e.svc.RoomTokens().Issue(context.Background(), "user-1", "project-1", RoomRoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.RoomTokens().Verify(context.Background(), tok)
	if err != nil || c.ProjectID != "project-1" {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
}

// Unthrottled paths (signed webhooks) skip the anonymous per-IP limit;
// every other anonymous request still meets it.
func TestUnthrottledPathsSkipTheIPLimit(t *testing.T) {
	forEachBackend(t, func(o *Options) {
		o.Limits.APIPerIP = ratelimit.Limit{Rate: 2, Burst: 2, Period: time.Hour}
		o.Unthrottled = []string{"/api/v1/test/hook"}
	}, func(t *testing.T, e *env) {
		c := e.client()
		for i := 0; i < 5; i++ {
			if r := c.do("POST", "/api/v1/test/hook", nil); r.Status == http.StatusTooManyRequests {
				t.Fatalf("webhook request %d was rate limited", i)
			}
		}
		limited := false
		for i := 0; i < 5; i++ {
			if c.do("GET", "/api/v1/test/other", nil).Status == http.StatusTooManyRequests {
				limited = true
			}
		}
		if !limited {
			t.Error("other anonymous requests were not limited")
		}
	})
}
