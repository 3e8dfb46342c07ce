package session

import (
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// ErrEmailInvalid is returned for an address that is not a plain
// addr-spec (local@domain.tld) within the RFC 5321 length limits.
var ErrEmailInvalid = errors.New("session: invalid email address")

// MaxEmailLen is the RFC 5321 limit on a forward path.
const MaxEmailLen = 254

// NormalizeEmail checks that s is a bare email address (no display name,
// no comments, no IP literal, a dotted domain, RFC 5321 lengths) and
// returns it trimmed and lower-cased, the form accounts are keyed by.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxEmailLen || !utf8.ValidString(s) {
		return "", ErrEmailInvalid
	}
	for _, r := range s {
		if r < 0x21 || r == 0x7f || r == '<' || r == '>' || r == '(' || r == ')' || r == ',' || r == ';' || r == '"' || r == '\\' {
			return "", ErrEmailInvalid
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", ErrEmailInvalid
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(local) > 64 || strings.Contains(domain, "@") {
		return "", ErrEmailInvalid
	}
	if strings.HasPrefix(domain, "[") || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") || strings.HasPrefix(domain, "-") {
		return "", ErrEmailInvalid
	}
	for label := range strings.SplitSeq(domain, ".") {
		if len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", ErrEmailInvalid
		}
	}
	return strings.ToLower(s), nil
}
