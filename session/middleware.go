package session

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/internal/reqinfo"
)

// clientIP is the address rate limits and the audit log use: the peer
// address, or, when the peer is one of Options.TrustedProxies, the
// right-most address in X-Forwarded-For that is not a trusted proxy.
func (s *Service) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.opts.TrustedProxies) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0 && i >= len(hops)-16; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a forged or garbled entry: stop at the last good hop
		}
		peer = a.Unmap()
		if !s.trusted(peer) {
			break
		}
	}
	return peer.String()
}

func (s *Service) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Service) meta(r *http.Request) Meta {
	return Meta{IP: s.clientIP(r), UserAgent: truncate(r.UserAgent(), 256)}
}

// writeError writes err as problem+json, with Retry-After for rate limits.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var re *RetryError
	if errors.As(err, &re) {
		secs := int((re.After + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	respond.Error(w, r, err)
}

var errUnauthenticated = apperr.E("session", apperr.Unauthenticated, nil).WithCode("unauthenticated").
	WithMsg("Log in or send a valid Authorization: Bearer token.")

// Middleware wraps the whole API: CORS (only for configured origins),
// cross-origin protection for state-changing requests (Go's
// http.CrossOriginProtection: a browser's cross-site POST is refused
// whatever cookies it carries), authentication by session cookie or bearer
// token (the caller lands in the context, see UserFromContext), the scope
// a token needs for the method, and the per-user (or, anonymous, per-IP)
// API rate limit. Routes that need a caller also use RequireUser.
func (s *Service) Middleware(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, o := range s.opts.CORSOrigins {
		_ = cop.AddTrustedOrigin(o) // validated in New
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.Error(w, r, apperr.E("session.CrossOrigin", apperr.Forbidden, nil).WithCode("cross_origin").
			WithMsg("Cross-origin requests that change state are not allowed."))
	}))
	authed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2, err := s.authenticate(w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r2)
		// The mux records the matched pattern on the request it got; hand
		// it back so the outer middleware can label metrics and logs.
		r.Pattern = r2.Pattern
	})
	return s.cors(cop.Handler(authed))
}

// authenticate resolves the caller, enforces token scopes and the API
// rate limit, and returns r with the principal in its context.
func (s *Service) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	ctx := r.Context()
	var p *Principal
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	// Only personal access tokens (mbp_...) are ours. Other bearer
	// credentials, such as a room token on a collab WebSocket, pass through
	// unauthenticated for their route to check; routes that need a user
	// answer 401 to them.
	if strings.EqualFold(scheme, "Bearer") && strings.HasPrefix(tok, prefixToken) {
		u, t, err := s.authToken(ctx, tok)
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				return nil, apperr.E("session.authenticate", apperr.Internal, err)
			}
			return nil, errUnauthenticated
		}
		p = &Principal{User: u, TokenID: t.ID, Scopes: t.Scopes}
		need := ScopeWrite
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			need = ScopeRead
		}
		if !p.HasScope(need) {
			return nil, apperr.E("session.authenticate", apperr.Forbidden, nil).WithCode("insufficient_scope").
				WithMsg("The token lacks the " + need + " scope.")
		}
	} else if c, err := r.Cookie(s.cookie); err == nil && c.Value != "" {
		u, ss, err := s.authSession(ctx, c.Value)
		switch {
		case err == nil:
			p = &Principal{User: u, SessionID: ss.ID, sessionHash: ss.TokenHash}
		case errors.Is(err, ErrNotFound):
			s.clearCookie(w) // stale: forget it, carry on anonymous
		default:
			return nil, apperr.E("session.authenticate", apperr.Internal, err)
		}
	}
	if p == nil {
		if slices.Contains(s.opts.Unthrottled, r.URL.Path) {
			return r, nil
		}
		if err := s.limit(ctx, "session.api", "ip:"+s.clientIP(r), s.limits.APIPerIP); err != nil {
			return nil, err
		}
		return r, nil
	}
	if err := s.limit(ctx, "session.api", "user:"+p.User.ID, s.limits.APIPerUser); err != nil {
		return nil, err
	}
	reqinfo.SetUser(ctx, p.User.ID)
	return r.WithContext(WithPrincipal(ctx, p)), nil
}

// cors answers preflights and sets CORS headers for configured origins
// only; with none configured it adds nothing.
func (s *Service) cors(next http.Handler) http.Handler {
	if len(s.opts.CORSOrigins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		if origin == "" || !slices.Contains(s.opts.CORSOrigins, origin) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Request-Id, Idempotency-Key")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id")
		next.ServeHTTP(w, r)
	})
}

// RequireUser answers 401 unless the request is authenticated.
func RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := PrincipalFromContext(r.Context()); !ok {
			respond.Error(w, r, errUnauthenticated)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireSession answers 401 unless the caller is a browser session:
// tokens cannot manage tokens, passwords or sessions.
func RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFromContext(r.Context())
		if !ok {
			respond.Error(w, r, errUnauthenticated)
			return
		}
		if !p.ViaSession() {
			respond.Error(w, r, apperr.E("session", apperr.Forbidden, nil).WithCode("session_required").
				WithMsg("This action needs a logged-in browser session, not a token."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireScope answers 401 without a caller and 403 unless the caller may
// act with scope.
func RequireScope(scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFromContext(r.Context())
		if !ok {
			respond.Error(w, r, errUnauthenticated)
			return
		}
		if !p.HasScope(scope) {
			respond.Error(w, r, apperr.E("session", apperr.Forbidden, nil).WithCode("insufficient_scope").
				WithMsg("The token lacks the "+scope+" scope."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Service) setCookie(w http.ResponseWriter, secret string) {
	//nolint:gosec // G124: Secure follows Options.SecureCookies, off only for plain-HTTP development
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie, Value: secret, Path: "/", MaxAge: int(s.opts.MaxAge / time.Second),
		HttpOnly: true, Secure: s.opts.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Service) clearCookie(w http.ResponseWriter) {
	//nolint:gosec // G124: as setCookie
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.opts.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// CookieName returns the session cookie's name.
func (s *Service) CookieName() string { return s.cookie }
