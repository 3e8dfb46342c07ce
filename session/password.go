package session

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password length limits, counted in Unicode code points (NIST SP 800-63B:
// at least 8, allow at least 64). MaxPasswordBytes bounds the work a client
// can make the hasher do.
const (
	MinPasswordLen   = 8
	MaxPasswordLen   = 128
	MaxPasswordBytes = 512
)

// Errors returned by password checks and hashing.
var (
	ErrPasswordTooShort = errors.New("session: password too short")
	ErrPasswordTooLong  = errors.New("session: password too long")
	ErrPasswordCommon   = errors.New("session: password is too common")
	ErrPasswordInvalid  = errors.New("session: password is not valid UTF-8")
	ErrHashMalformed    = errors.New("session: malformed password hash")
)

// Argon2Params are the argon2id cost parameters. They are stored in every
// encoded hash, so raising them later only affects new hashes, and old
// hashes are upgraded on the next successful login.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // iterations
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultArgon2Params follow the OWASP Password Storage Cheat Sheet's first
// argon2id configuration (m=19 MiB, t=2, p=1).
var DefaultArgon2Params = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Hasher hashes and verifies passwords with argon2id. It bounds how many
// hashes run at once, because each one holds Params.Memory of RAM. The zero
// value is not usable; call NewHasher.
type Hasher struct {
	params Argon2Params
	sem    chan struct{}
	// verifies counts Verify calls (real and dummy); tests use it to show
	// that unknown and known accounts cost the same.
	verifies atomic.Int64
	dummy    string
}

// NewHasher returns a Hasher with params (zero value: DefaultArgon2Params)
// that runs at most concurrency hashes at once (<= 0: 4).
func NewHasher(params Argon2Params, concurrency int) *Hasher {
	if params == (Argon2Params{}) {
		params = DefaultArgon2Params
	}
	if concurrency <= 0 {
		concurrency = 4
	}
	h := &Hasher{params: params, sem: make(chan struct{}, concurrency)}
	// A hash of a random password with the current parameters: verifying
	// against it costs what a real verification costs.
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	salt := make([]byte, params.SaltLen)
	_, _ = rand.Read(salt)
	h.dummy = encodeHash(params, salt, argon2.IDKey(pw[:], salt, params.Time, params.Memory, params.Threads, params.KeyLen))
	return h
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Argon2Params { return h.params }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns the PHC-style encoding of password:
// $argon2id$v=19$m=...,t=...,p=...$salt$key (raw base64).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("session: salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	return encodeHash(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, comparing in constant
// time, and whether encoded should be replaced by a fresh Hash because it
// was made with weaker parameters than the Hasher's. An empty encoded (no
// such account) is checked against a dummy hash so the call costs the same.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	h.verifies.Add(1)
	dummy := encoded == ""
	if dummy {
		encoded = h.dummy
	}
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	if len(password) > MaxPasswordBytes {
		return false, false, nil
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.release()
	if subtle.ConstantTimeCompare(got, want) != 1 || dummy {
		return false, false, nil
	}
	rehash = p.Memory < h.params.Memory || p.Time < h.params.Time || p.Threads < h.params.Threads ||
		p.SaltLen < h.params.SaltLen || p.KeyLen < h.params.KeyLen
	return true, rehash, nil
}

func encodeHash(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Upper bounds on stored parameters, so a tampered hash cannot make a
// login allocate without limit.
const (
	maxHashMemory  = 1 << 20 // KiB = 1 GiB
	maxHashTime    = 64
	maxHashKeyLen  = 128
	maxHashSaltLen = 64
)

func decodeHash(s string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrHashMalformed
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q", ErrHashMalformed, parts[2])
	}
	var m, t, th uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, ErrHashMalformed
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, ErrHashMalformed
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			th = n
		default:
			return p, nil, nil, ErrHashMalformed
		}
	}
	if m < 8 || m > maxHashMemory || t < 1 || t > maxHashTime || th < 1 || th > 255 {
		return p, nil, nil, fmt.Errorf("%w: parameters out of range", ErrHashMalformed)
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) < 8 || len(salt) > maxHashSaltLen {
		return p, nil, nil, ErrHashMalformed
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > maxHashKeyLen {
		return p, nil, nil, ErrHashMalformed
	}
	// Every value was range-checked above (m, t < 2^32 by ParseUint; lengths <= 128).
	p = Argon2Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(th), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))} //nolint:gosec // G115: bounded above
	return p, salt, key, nil
}

// CheckPassword applies the password policy: valid UTF-8, length limits,
// not on the common-password list, and not the account's own email or
// display name.
func CheckPassword(password string, personal ...string) error {
	if !utf8.ValidString(password) {
		return ErrPasswordInvalid
	}
	if len(password) > MaxPasswordBytes {
		return ErrPasswordTooLong
	}
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLen {
		return ErrPasswordTooShort
	}
	if n > MaxPasswordLen {
		return ErrPasswordTooLong
	}
	if IsCommonPassword(password) {
		return ErrPasswordCommon
	}
	lower := strings.ToLower(password)
	for _, p := range personal {
		if p = strings.ToLower(strings.TrimSpace(p)); p == "" {
			continue
		}
		local, _, _ := strings.Cut(p, "@")
		if lower == p || (len(local) >= 4 && lower == local) {
			return ErrPasswordCommon
		}
	}
	return nil
}
