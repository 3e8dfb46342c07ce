package session

import (
	_ "embed"
	"strings"
	"sync"
)

// commonPasswords is the lower-cased common-password list; see
// gen-common-passwords.sh for where it comes from.
//
//go:embed common-passwords.txt
var commonPasswords string

var commonSet = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 20000)
	for line := range strings.Lines(commonPasswords) {
		if line = strings.TrimSpace(line); line != "" {
			m[line] = struct{}{}
		}
	}
	return m
})

// IsCommonPassword reports whether password (case-insensitively) is on the
// embedded list of common passwords.
func IsCommonPassword(password string) bool {
	_, ok := commonSet()[strings.ToLower(password)]
	return ok
}
