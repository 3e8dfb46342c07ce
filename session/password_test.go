package session

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// fastParams keep tests quick; DefaultArgon2Params are used in production.
var fastParams = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(fastParams, 2)
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoding %q does not carry its parameters", enc)
	}
	enc2, _ := h.Hash(ctx, "correct horse battery")
	if enc == enc2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	tests := []struct {
		name     string
		password string
		encoded  string
		ok       bool
	}{
		{"right", "correct horse battery", enc, true},
		{"wrong", "correct horse batterx", enc, false},
		{"empty", "", enc, false},
		{"prefix", "correct horse", enc, false},
		{"no account", "correct horse battery", "", false},
		{"too long", strings.Repeat("a", MaxPasswordBytes+1), enc, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, tt.password, tt.encoded)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.ok || rehash {
				t.Errorf("Verify = %v, %v; want %v, false", ok, rehash, tt.ok)
			}
		})
	}
}

func TestRehashWhenParametersRaised(t *testing.T) {
	ctx := context.Background()
	old := NewHasher(fastParams, 1)
	enc, _ := old.Hash(ctx, "a long passphrase")
	raised := fastParams
	raised.Memory *= 2
	h := NewHasher(raised, 1)
	ok, rehash, err := h.Verify(ctx, "a long passphrase", enc)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify with raised params = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	ok, rehash, _ = h.Verify(ctx, "wrong passphrase!", enc)
	if ok || rehash {
		t.Fatalf("wrong password: ok=%v rehash=%v", ok, rehash)
	}
	enc2, _ := h.Hash(ctx, "a long passphrase")
	if ok, rehash, _ := h.Verify(ctx, "a long passphrase", enc2); !ok || rehash {
		t.Fatalf("new hash: ok=%v rehash=%v", ok, rehash)
	}
}

func TestDecodeHashRejectsTampering(t *testing.T) {
	h := NewHasher(fastParams, 1)
	for _, enc := range []string{
		"plaintext",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5",
	} {
		if _, _, err := h.Verify(context.Background(), "whatever1", enc); !errors.Is(err, ErrHashMalformed) {
			t.Errorf("Verify(%q) err = %v, want ErrHashMalformed", enc, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		password string
		personal []string
		want     error
	}{
		{"short", nil, ErrPasswordTooShort},
		{"1234567", nil, ErrPasswordTooShort},
		{"password", nil, ErrPasswordCommon},
		{"PassWord123", nil, ErrPasswordCommon},
		{"qwertyuiop", nil, ErrPasswordCommon},
		{strings.Repeat("x", MaxPasswordLen+1), nil, ErrPasswordTooLong},
		{strings.Repeat("é", 300), nil, ErrPasswordTooLong},
		{"\xff\xfe invalid utf8", nil, ErrPasswordInvalid},
		{"dj.shadow@example.com", []string{"dj.shadow@example.com"}, ErrPasswordCommon},
		{"dj.shadow", []string{"DJ.Shadow@example.com"}, ErrPasswordCommon},
		{"bassline-in-the-rain", []string{"a@b.co", "Max"}, nil},
		{"ünïcødé pässwörd", nil, nil},
		{strings.Repeat("x", MaxPasswordLen-1) + "y", nil, nil},
	}
	for _, tt := range tests {
		if got := CheckPassword(tt.password, tt.personal...); !errors.Is(got, tt.want) {
			t.Errorf("CheckPassword(%.20q) = %v, want %v", tt.password, got, tt.want)
		}
	}
}

func TestCommonPasswordList(t *testing.T) {
	if n := len(commonSet()); n < 10000 {
		t.Fatalf("common password list has %d entries, want >= 10000", n)
	}
	for _, p := range []string{"iloveyou", "1qaz2wsx", "PASSWORD1", "trustno1"} {
		if !IsCommonPassword(p) {
			t.Errorf("IsCommonPassword(%q) = false", p)
		}
	}
	if IsCommonPassword("violet-mixdown-417") {
		t.Error("a random phrase is on the list")
	}
}

func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(DefaultArgon2Params, 1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "benchmark password"); err != nil {
			b.Fatal(err)
		}
	}
}
