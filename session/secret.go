package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Prefixes of the secrets this package hands out. They make a leaked
// secret recognizable to secret scanners and tell the kinds apart.
const (
	prefixSession = "mbs_"
	prefixToken   = "mbp_" // personal access token
	prefixVerify  = "mbv_" // email verification
	prefixReset   = "mbr_" // password reset
)

// maxSecretLen bounds a secret presented by a client before it is hashed.
const maxSecretLen = 128

// newSecret returns prefix + 32 random bytes in unpadded base64url.
func newSecret(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// hashSecret is how a secret is stored: SHA-256, hex. The secrets carry 256
// bits of entropy, so an unsalted fast hash is enough (a database leak
// does not reveal usable secrets), and lookups stay indexable.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// validSecret reports whether s looks like a secret of the given kind,
// before any lookup is made.
func validSecret(s, prefix string) bool {
	if len(s) > maxSecretLen || !strings.HasPrefix(s, prefix) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s[len(prefix):])
	return err == nil && len(b) == 32
}

// newID returns a random public identifier (16 bytes, hex).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
