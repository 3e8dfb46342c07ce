// Package respond writes HTTP responses for every API module: JSON bodies,
// JSON request decoding with limits, and errors as RFC 9457
// application/problem+json. The apperr.Kind → HTTP status mapping lives
// here and nowhere else.
package respond

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/internal/reqinfo"
)

// DefaultMaxJSONBytes is the body limit Decode applies: 1 MiB.
const DefaultMaxJSONBytes = 1 << 20

// ProblemContentType is the media type of error responses.
const ProblemContentType = "application/problem+json"

// Status returns the HTTP status for an error kind.
func Status(k apperr.Kind) int {
	switch k {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.Unauthenticated:
		return http.StatusUnauthorized
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.TooManyRequests:
		return http.StatusTooManyRequests
	case apperr.TooLarge:
		return http.StatusRequestEntityTooLarge
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	case apperr.PreconditionFailed:
		return http.StatusPreconditionFailed
	case apperr.Unsupported:
		return http.StatusUnsupportedMediaType
	case apperr.Canceled:
		return 499 // client closed request (nginx); nobody is listening anyway
	case apperr.Internal:
		return http.StatusInternalServerError
	}
	return http.StatusInternalServerError
}

// JSON writes v as a JSON body with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// A value we built ourselves failed to encode: a programming error.
		// Answer with a problem rather than half a body.
		writeProblem(w, nil, apperr.E("respond.JSON", apperr.Internal, err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n')) // a failed write means the client left
}

// NoContent writes 204 No Content.
func NoContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// Problem is the RFC 9457 problem details body. Type is "about:blank",
// so Title is the HTTP status text; Code is the stable machine code clients
// switch on; Detail is a human-readable, client-safe message.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	Code      string            `json:"code"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    map[string]string `json:"errors,omitempty"` // per-field messages for Invalid
}

// Error writes err as a problem+json response. The status and code come
// from the error's kind (see apperr); the cause never reaches the client.
// The error is recorded on the request (reqinfo) so the request log and
// the error reporter see it.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		err = apperr.E("respond.Error", apperr.Internal, errors.New("respond: nil error"))
	}
	writeProblem(w, r, err)
}

// ProblemFor builds the problem body for err on request r (r may be nil).
func ProblemFor(r *http.Request, err error) Problem {
	status := Status(apperr.KindOf(err))
	p := Problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: apperr.Message(err),
		Code:   apperr.Code(err),
		Errors: apperr.Fields(err),
	}
	if p.Title == "" {
		p.Title = "Client Closed Request"
	}
	if r != nil {
		p.Instance = r.URL.Path
		p.RequestID = reqinfo.ID(r.Context())
	}
	return p
}

func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemFor(r, err)
	if r != nil {
		reqinfo.SetError(r.Context(), err, p.Code)
	}
	body, mErr := json.Marshal(p)
	if mErr != nil { // cannot happen: Problem has only strings and ints
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"code":"internal"}`)
		p.Status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if p.Status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Bearer realm="maxbooster"`)
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// Decode reads a JSON request body into v, with DefaultMaxJSONBytes as the
// limit. See DecodeLimit.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	return DecodeLimit(w, r, v, DefaultMaxJSONBytes)
}

// DecodeLimit reads one JSON value from the request body into v. It
// requires a JSON Content-Type (which also keeps plain HTML forms from
// reaching JSON endpoints), rejects unknown fields, trailing data and
// bodies over limit bytes. Errors are *apperr.Error with kind Unsupported,
// TooLarge or Invalid and a message safe to show the client.
func DecodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	const op = "respond.Decode"
	if !isJSON(r.Header.Get("Content-Type")) {
		return apperr.Msgf(op, apperr.Unsupported, "Content-Type must be application/json.").WithCode("unsupported_media_type")
	}
	if r.ContentLength > limit {
		return tooLarge(op, limit, nil)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(op, limit, err)
	}
	// Exactly one value: anything but whitespace after it is an error.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return decodeError(op, limit, err)
		}
		return apperr.Msgf(op, apperr.Invalid, "The body must hold a single JSON value.").WithCode("invalid_json")
	}
	return nil
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func tooLarge(op string, limit int64, err error) error {
	return apperr.E(op, apperr.TooLarge, err).
		WithMsg(fmt.Sprintf("The request body must be at most %d bytes.", limit)).
		WithCode("body_too_large")
}

func decodeError(op string, limit int64, err error) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return tooLarge(op, limit, err)
	case errors.Is(err, io.EOF):
		return apperr.E(op, apperr.Invalid, err).WithMsg("The request body is empty.").WithCode("invalid_json")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.E(op, apperr.Invalid, err).WithMsg("The request body is truncated JSON.").WithCode("invalid_json")
	case errors.As(err, &syntaxErr):
		return apperr.E(op, apperr.Invalid, err).
			WithMsg(fmt.Sprintf("The request body is not valid JSON (at byte %d).", syntaxErr.Offset)).
			WithCode("invalid_json")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(body)"
		}
		return apperr.E(op, apperr.Invalid, err).
			WithMsg(fmt.Sprintf("Field %q must be %s.", field, typeErr.Type.String())).
			WithField(field, "wrong type").
			WithCode("invalid_json")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; the message is stable.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.E(op, apperr.Invalid, err).
			WithMsg(fmt.Sprintf("Unknown field %q.", name)).
			WithField(name, "unknown field").
			WithCode("unknown_field")
	}
	return apperr.E(op, apperr.Invalid, err).WithMsg("The request body could not be read.").WithCode("invalid_json")
}
