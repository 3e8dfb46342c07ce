package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SecretKeyLen is the length of a secrets key: AES-256.
const SecretKeyLen = 32

// ErrSecretKey marks a secret that cannot be opened: sealed with a key
// that is not configured, or damaged.
var ErrSecretKey = errors.New("session: cannot open sealed secret")

// SecretKeys seal the secrets the session module keeps at rest (the
// room-token signing keys) with AES-256-GCM. The first key seals; every
// key opens. Each sealed value is stored with the id of its key (derived
// from the key, so it needs no configuring), which makes rotation a
// matter of putting a new key first and keeping the old one listed until
// the store has resealed what it holds (RoomKeys does so as it loads).
// A nil *SecretKeys seals nothing: values are stored as they are.
type SecretKeys struct {
	keys []secretKey // keys[0] seals
}

type secretKey struct {
	id   string
	aead cipher.AEAD
}

// NewSecretKeys returns SecretKeys over raw 32-byte keys, the sealing key
// first.
func NewSecretKeys(keys ...[]byte) (*SecretKeys, error) {
	if len(keys) == 0 {
		return nil, errors.New("session: no secrets key")
	}
	sk := &SecretKeys{}
	for i, k := range keys {
		if len(k) != SecretKeyLen {
			return nil, fmt.Errorf("session: secrets key %d is %d bytes, want %d", i+1, len(k), SecretKeyLen)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("session: secrets key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("session: secrets key %d: %w", i+1, err)
		}
		sum := sha256.Sum256(append([]byte("maxbooster secrets key id\x00"), k...))
		id := hex.EncodeToString(sum[:8])
		for _, prev := range sk.keys {
			if prev.id == id {
				return nil, fmt.Errorf("session: secrets key %d is listed twice", i+1)
			}
		}
		sk.keys = append(sk.keys, secretKey{id: id, aead: aead})
	}
	return sk, nil
}

// ParseSecretKeys parses a comma-separated list of base64 (standard or
// URL alphabet, padded or not) 32-byte keys, the sealing key first: the
// form of MB_SECRETS_KEY.
func ParseSecretKeys(s string) (*SecretKeys, error) {
	var raw [][]byte
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		var (
			k   []byte
			err error
		)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if k, err = enc.DecodeString(part); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("session: secrets key %d is not base64", i+1)
		}
		raw = append(raw, k)
	}
	return NewSecretKeys(raw...)
}

// GenerateSecretKey returns a new random key in the form ParseSecretKeys
// reads.
func GenerateSecretKey() string {
	var k [SecretKeyLen]byte
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(k[:])
}

// CurrentID returns the id of the sealing key.
func (sk *SecretKeys) CurrentID() string { return sk.keys[0].id }

// Seal encrypts plaintext with the sealing key, bound to context (the
// row it belongs to, so a sealed value cannot be moved to another row),
// and returns the ciphertext (nonce first) and the key's id.
func (sk *SecretKeys) Seal(plaintext []byte, context string) (sealed []byte, keyID string) {
	k := sk.keys[0]
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	_, _ = rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, plaintext, []byte(context)), k.id
}

// Open decrypts what Seal returned, with the key named keyID. It fails
// with ErrSecretKey when that key is not configured or the value or its
// context do not match.
func (sk *SecretKeys) Open(sealed []byte, keyID, context string) ([]byte, error) {
	for _, k := range sk.keys {
		if k.id != keyID {
			continue
		}
		n := k.aead.NonceSize()
		if len(sealed) < n+k.aead.Overhead() {
			return nil, fmt.Errorf("%w: too short", ErrSecretKey)
		}
		pt, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
		if err != nil {
			return nil, fmt.Errorf("%w: damaged or moved (key %s)", ErrSecretKey, keyID)
		}
		return pt, nil
	}
	return nil, fmt.Errorf("%w: sealed with key %s, which is not configured", ErrSecretKey, keyID)
}
