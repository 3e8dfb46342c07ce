package session

import (
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"artist@example.com", "artist@example.com", true},
		{"  Artist+demo@Example.COM ", "artist+demo@example.com", true},
		{"o'brien@label.co.uk", "o'brien@label.co.uk", true},
		{"", "", false},
		{"plainaddress", "", false},
		{"@example.com", "", false},
		{"a@b", "", false},
		{"a@@b.com", "", false},
		{"a@b@c.com", "", false},
		{"Max <max@example.com>", "", false},
		{"max@example.com (comment)", "", false},
		{"max@[127.0.0.1]", "", false},
		{"max@.example.com", "", false},
		{"max@example..com", "", false},
		{"max@example.com.", "", false},
		{"max@-example.com", "", false},
		{"max @example.com", "", false},
		{"max@exa mple.com", "", false},
		{"max\n@example.com", "", false},
		{"max@example.com\r\nBcc: victim@example.com", "", false},
		{"x'; DROP TABLE users;--@example.com", "", false},
		{strings.Repeat("a", 65) + "@example.com", "", false},
		{"a@" + strings.Repeat("b", 250) + ".com", "", false},
		{"a@" + strings.Repeat("b", 64) + ".com", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
