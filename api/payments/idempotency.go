package payments

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/internal/reqinfo"
	"github.com/maxbooster/maxbooster/session"
)

// IdempotencyHeader is the request header every money-moving POST needs.
const IdempotencyHeader = "Idempotency-Key"

// idempotencyTTL is how long a stored response answers a repeated key.
const idempotencyTTL = 24 * time.Hour

// abandonedAfter is when a request still marked in progress is taken to
// have died with its server; a retry then runs it again (the work under it
// is idempotent by keys derived from the same Idempotency-Key).
const abandonedAfter = 5 * time.Minute

// maxIdempotentBody caps the bodies of money-moving requests.
const maxIdempotentBody = 64 << 10

// idempotent wraps a money-moving handler. The request needs an
// Idempotency-Key (1-255 visible ASCII characters). The first response to
// a (user, key) is stored with a hash of method, path and body; a repeat
// with the same request gets the stored response again (header
// Idempotent-Replayed: true), a repeat with a different request is
// refused with 422 idempotency_key_reused, and a repeat while the first is
// still running gets 409 idempotency_in_progress. A 5xx is not stored, so
// the client may retry it (the work underneath is idempotent by keys
// derived from this one).
func (s *Service) idempotent(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		const op = "payments.Idempotency"
		ctx := r.Context()
		u, ok := session.UserFromContext(ctx)
		if !ok {
			respond.Error(w, r, apperr.E(op, apperr.Unauthenticated, nil))
			return
		}
		key := r.Header.Get(IdempotencyHeader)
		if !validIdempotencyKey(key) {
			respond.Error(w, r, apperr.Msgf(op, apperr.Invalid, "This request moves money: send an Idempotency-Key header (1-255 visible ASCII characters, e.g. a UUID) and reuse it on retries.").
				WithCode("idempotency_key_required"))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxIdempotentBody))
		if err != nil {
			respond.Error(w, r, apperr.E(op, apperr.TooLarge, err).WithCode("body_too_large").WithMsg("The request body is too large."))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		hash := requestHash(r, body)

		now := s.now().UTC()
		res, err := s.db.ExecContext(ctx, `INSERT INTO pay_idempotency (user_id, key, request_hash, status, created_at)
			VALUES (?, ?, ?, 0, ?) ON CONFLICT (user_id, key) DO NOTHING`, u.ID, key, hash, now)
		if err != nil {
			respond.Error(w, r, apperr.E(op, apperr.Internal, err))
			return
		}
		claimed := true
		if n, _ := res.RowsAffected(); n == 0 {
			claimed = false
		}
		if !claimed {
			var (
				prevHash, ctype, prevBody string
				status                    int
				created                   time.Time
			)
			if err := s.db.QueryRowContext(ctx, `SELECT request_hash, status, content_type, body, created_at FROM pay_idempotency
				WHERE user_id = ? AND key = ?`, u.ID, key).Scan(&prevHash, &status, &ctype, &prevBody, &created); err != nil {
				respond.Error(w, r, apperr.E(op, apperr.Internal, err))
				return
			}
			switch {
			case prevHash != hash:
				writeStatusProblem(w, r, http.StatusUnprocessableEntity, apperr.Msgf(op, apperr.Conflict,
					"This Idempotency-Key was already used for a different request.").WithCode("idempotency_key_reused"))
			case status == 0 && now.Sub(created) > abandonedAfter && s.takeOver(ctx, u.ID, key, now):
				claimed = true // the first attempt died mid-request: run it again
			case status == 0:
				w.Header().Set("Retry-After", "1")
				respond.Error(w, r, apperr.Msgf(op, apperr.Conflict, "A request with this Idempotency-Key is still in progress.").
					WithCode("idempotency_in_progress"))
			default:
				w.Header().Set("Content-Type", ctype)
				w.Header().Set("Idempotent-Replayed", "true")
				w.Header().Set("X-Content-Type-Options", "nosniff")
				w.WriteHeader(status)
				_, _ = io.WriteString(w, prevBody)
			}
			if !claimed {
				return
			}
		}

		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		func() {
			defer func() {
				if p := recover(); p != nil {
					s.forgetKey(u.ID, key)
					panic(p)
				}
			}()
			next(rec, r)
		}()
		if rec.status >= 500 {
			s.forgetKey(u.ID, key)
		} else if _, err := s.db.ExecContext(context.WithoutCancel(ctx), `UPDATE pay_idempotency SET status = ?, content_type = ?, body = ?
			WHERE user_id = ? AND key = ?`, rec.status, rec.header.Get("Content-Type"), rec.body.String(), u.ID, key); err != nil {
			s.log.ErrorContext(ctx, "payments: store idempotent response", "err", err)
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	}
}

// takeOver claims an abandoned in-progress record; false if another
// request got there first.
func (s *Service) takeOver(ctx context.Context, userID, key string, now time.Time) bool {
	res, err := s.db.ExecContext(ctx, `UPDATE pay_idempotency SET created_at = ? WHERE user_id = ? AND key = ? AND status = 0 AND created_at < ?`,
		now, userID, key, now.Add(-abandonedAfter))
	if err != nil {
		return false
	}
	n, _ := res.RowsAffected()
	return n == 1
}

func (s *Service) forgetKey(userID, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM pay_idempotency WHERE user_id = ? AND key = ?`, userID, key); err != nil {
		s.log.Error("payments: forget idempotency key", "err", err)
	}
}

// expireIdempotency deletes stored responses older than idempotencyTTL.
func (s *Service) expireIdempotency(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM pay_idempotency WHERE created_at < ? AND status <> 0`, s.now().UTC().Add(-idempotencyTTL))
	return err
}

func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > 255 {
		return false
	}
	for i := range len(k) {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// writeStatusProblem writes err as problem+json with a status the kind
// table does not give (422 for a reused idempotency key).
func writeStatusProblem(w http.ResponseWriter, r *http.Request, status int, err error) {
	p := respond.ProblemFor(r, err)
	p.Status, p.Title = status, http.StatusText(status)
	reqinfo.SetError(r.Context(), err, p.Code)
	body, _ := json.Marshal(p) // strings and ints only
	w.Header().Set("Content-Type", respond.ProblemContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// recorder buffers a response so it can be stored before it is sent.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// requestHash identifies a request for Idempotency-Key comparison.
func requestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Method + "\x00" + r.URL.Path + "\x00"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
