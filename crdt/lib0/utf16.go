package lib0

import (
	"unicode/utf16"
	"unicode/utf8"
)

// decodeRune decodes the code point at s[i:] as WTF-8: like the WHATWG
// UTF-8 decoder (a malformed sequence yields U+FFFD and the length of its
// maximal subpart), except that the three-byte encodings of surrogates
// (ED A0..BF xx) decode to the surrogate itself.
func decodeRune(s string, i int) (rune, int) {
	b := s[i]
	if b < 0x80 {
		return rune(b), 1
	}
	var need int
	var cp rune
	lower, upper := byte(0x80), byte(0xbf)
	switch {
	case b >= 0xc2 && b <= 0xdf:
		need, cp = 1, rune(b&0x1f)
	case b >= 0xe0 && b <= 0xef:
		need, cp = 2, rune(b&0x0f)
		if b == 0xe0 {
			lower = 0xa0
		}
	case b >= 0xf0 && b <= 0xf4:
		need, cp = 3, rune(b&0x07)
		switch b {
		case 0xf0:
			lower = 0x90
		case 0xf4:
			upper = 0x8f
		}
	default:
		return utf8.RuneError, 1
	}
	j := i + 1
	for range need {
		if j >= len(s) {
			return utf8.RuneError, j - i
		}
		c := s[j]
		if c < lower || c > upper {
			return utf8.RuneError, j - i
		}
		lower, upper = 0x80, 0xbf
		cp = cp<<6 | rune(c&0x3f)
		j++
	}
	return cp, j - i
}

// UTF16Len returns the length of s in UTF-16 code units, JavaScript's
// string length: 2 for each code point above U+FFFF, 1 for every other code
// point, lone surrogate (in WTF-8) or malformed sequence.
func UTF16Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] < 0x80 {
			n++
			i++
			continue
		}
		r, size := decodeRune(s, i)
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// UTF16Index returns the byte index in s at which off UTF-16 code units
// of s end, and whether that is a character boundary of s as it is: false
// when off falls inside a surrogate pair, past the end, or when s holds
// bytes that are not well-formed UTF-8 (which a conversion to UTF-16 and
// back would change).
func UTF16Index(s string, off int) (int, bool) {
	n := 0
	for i := 0; i < len(s); {
		if n == off {
			return i, true
		}
		if s[i] < 0x80 {
			n++
			i++
			continue
		}
		r, size := decodeRune(s, i)
		switch {
		case r == utf8.RuneError && size == 1:
			return 0, false
		case r >= 0x10000:
			n += 2
		default:
			n++
		}
		i += size
	}
	return len(s), n == off
}

// AppendUTF16 appends the UTF-16 code units of s to dst and returns the
// extended slice. Lone surrogates in WTF-8 are kept as lone surrogates;
// malformed UTF-8 becomes U+FFFD.
func AppendUTF16(dst []uint16, s string) []uint16 {
	for i := 0; i < len(s); {
		if s[i] < 0x80 {
			dst = append(dst, uint16(s[i]))
			i++
			continue
		}
		r, size := decodeRune(s, i)
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			dst = append(dst, uint16(r1), uint16(r2)) //nolint:gosec // G115: surrogate halves fit 16 bits
		} else {
			dst = append(dst, uint16(r)) //nolint:gosec // G115: r is below 0x10000 here
		}
		i += size
	}
	return dst
}

// StringFromUTF16 returns the Go string for UTF-16 code units u: surrogate
// pairs become their code point; a lone surrogate is kept in its WTF-8
// form so that AppendUTF16 gives u back.
func StringFromUTF16(u []uint16) string {
	ascii := true
	for _, c := range u {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	b := make([]byte, 0, len(u)+len(u)/2)
	if ascii {
		for _, c := range u {
			b = append(b, byte(c)) //nolint:gosec // G115: every unit is ASCII here
		}
		return string(b)
	}
	for i := 0; i < len(u); i++ {
		c := rune(u[i])
		if utf16.IsSurrogate(c) {
			if c < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] < 0xe000 {
				b = utf8.AppendRune(b, utf16.DecodeRune(c, rune(u[i+1])))
				i++
				continue
			}
			// WTF-8: the generalized three-byte form.
			b = append(b, 0xe0|byte(c>>12), 0x80|byte(c>>6)&0x3f, 0x80|byte(c)&0x3f) //nolint:gosec // G115: masked to the byte being built
			continue
		}
		b = utf8.AppendRune(b, c)
	}
	return string(b)
}

// jsUTF8 returns the UTF-8 that JavaScript's TextEncoder produces for the
// string s denotes: pairs of WTF-8 surrogates join into one code point, lone
// surrogates and malformed sequences become U+FFFD.
func jsUTF8(s string) string {
	return string(appendJSUTF8(make([]byte, 0, len(s)), AppendUTF16(nil, s)))
}

// appendJSUTF8 appends the TextEncoder encoding of UTF-16 units u.
func appendJSUTF8(b []byte, u []uint16) []byte {
	for i := 0; i < len(u); i++ {
		c := rune(u[i])
		if c < 0x80 {
			b = append(b, byte(c))
			continue
		}
		if utf16.IsSurrogate(c) {
			if c < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] < 0xe000 {
				c = utf16.DecodeRune(c, rune(u[i+1]))
				i++
			} else {
				c = utf8.RuneError
			}
		}
		b = utf8.AppendRune(b, c)
	}
	return b
}

// appendWireUTF16 appends the UTF-16 units of valid UTF-8 bytes b.
func appendWireUTF16(dst []uint16, b []byte) []uint16 {
	s := string(b)
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			dst = append(dst, uint16(r1), uint16(r2)) //nolint:gosec // G115: surrogate halves fit 16 bits
		} else {
			dst = append(dst, uint16(r)) //nolint:gosec // G115: r is below 0x10000 here
		}
	}
	return dst
}
