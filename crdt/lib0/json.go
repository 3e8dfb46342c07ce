package lib0

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// StringifyJSON returns the text JavaScript's JSON.stringify gives for v (an
// any value as described in the package documentation), which yjs writes
// for JSON, Embed and Format content in update format v1. Numbers are
// formatted as JavaScript formats them; non-finite numbers become null;
// undefined inside an object drops the property and inside an array becomes
// null; a []byte is an object with index keys, as a Uint8Array is. A
// top-level Undefined gives the text "undefined", which is how yjs writes an
// undefined JSON element. A BigInt is an error, as in JavaScript.
func StringifyJSON(v any) (string, error) {
	if v == Undefined {
		return "undefined", nil
	}
	var b strings.Builder
	if err := stringify(&b, v, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func isUndefined(v any) bool {
	_, ok := v.(UndefinedValue)
	return ok
}

func stringify(b *strings.Builder, v any, depth int) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	switch v := v.(type) {
	case nil, UndefinedValue:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		quoteJSON(b, v)
	case float64:
		b.WriteString(jsonNumber(v))
	case float32:
		b.WriteString(jsonNumber(float64(v)))
	case int:
		b.WriteString(jsonNumber(float64(v)))
	case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr:
		f, _ := toFloat(v)
		b.WriteString(jsonNumber(f))
	case BigInt:
		return fmt.Errorf("bigint in JSON: %w", ErrUnsupportedType)
	case []byte:
		b.WriteByte('{')
		for i, c := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('"')
			b.WriteString(strconv.Itoa(i))
			b.WriteString(`":`)
			b.WriteString(strconv.Itoa(int(c)))
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := stringify(b, x, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			quoteJSON(b, x)
		}
		b.WriteByte(']')
	case []float64:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonNumber(x))
		}
		b.WriteByte(']')
	case []int:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(x))
		}
		b.WriteByte(']')
	case Object:
		return stringifyObject(b, jsOrder(v), depth)
	case *Object:
		if v == nil {
			b.WriteString("null")
			return nil
		}
		return stringifyObject(b, jsOrder(*v), depth)
	case map[string]any:
		return stringifyObject(b, MapToObject(v), depth)
	default:
		return ErrUnsupportedType
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int8:
		return float64(v), true
	case int16:
		return float64(v), true
	case int32:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint:
		return float64(v), true
	case uint8:
		return float64(v), true
	case uint16:
		return float64(v), true
	case uint32:
		return float64(v), true
	case uint64:
		return float64(v), true
	case uintptr:
		return float64(v), true
	}
	return 0, false
}

func stringifyObject(b *strings.Builder, o Object, depth int) error {
	b.WriteByte('{')
	first := true
	for _, f := range o {
		if isUndefined(f.Value) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		quoteJSON(b, f.Key)
		b.WriteByte(':')
		if err := stringify(b, f.Value, depth+1); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

// quoteJSON writes s quoted as JSON.stringify does (well-formed
// JSON.stringify: lone surrogates are escaped as \udxxx).
func quoteJSON(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			switch {
			case c == '"':
				b.WriteString(`\"`)
			case c == '\\':
				b.WriteString(`\\`)
			case c == '\b':
				b.WriteString(`\b`)
			case c == '\f':
				b.WriteString(`\f`)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := decodeRune(s, i)
		if utf16.IsSurrogate(r) {
			b.WriteString(`\u`)
			b.WriteByte(hex[r>>12&0xf])
			b.WriteByte(hex[r>>8&0xf])
			b.WriteByte(hex[r>>4&0xf])
			b.WriteByte(hex[r&0xf])
		} else {
			b.WriteRune(r)
		}
		i += size
	}
	b.WriteByte('"')
}

// jsonNumber formats f as JavaScript's Number.prototype.toString does,
// with null for NaN and the infinities (as JSON.stringify writes them).
func jsonNumber(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	return FormatNumber(f)
}

// FormatNumber formats f as JavaScript's Number.prototype.toString (and
// String(f)) does: the shortest digits that round-trip, in plain notation
// for exponents from -7 to 20 and in exponent notation otherwise.
func FormatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±xx
	mant, expStr, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expStr)
	k := len(digits)
	n := exp + 1
	var out string
	switch {
	case k <= n && n <= 21:
		out = digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		out = digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		out = "0." + strings.Repeat("0", -n) + digits
	default:
		es := "+"
		if n-1 < 0 {
			es = "-"
		}
		ev := strconv.Itoa(abs(n - 1))
		if k == 1 {
			out = digits + "e" + es + ev
		} else {
			out = digits[:1] + "." + digits[1:] + "e" + es + ev
		}
	}
	return sign + out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ParseJSON parses text as JavaScript's JSON.parse does: numbers become
// float64, objects become Object in JavaScript property order, strings may
// hold lone surrogates (kept in WTF-8). The text "undefined" gives
// Undefined, which is how yjs reads an undefined JSON element.
func ParseJSON(text string) (any, error) {
	if text == "undefined" {
		return Undefined, nil
	}
	p := jsonParser{s: text}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, p.errf("unexpected data after value")
	}
	return v, nil
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrInvalidJSON, fmt.Sprintf(format, args...), p.i)
}

func (p *jsonParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) lit(word string, v any) (any, error) {
	if strings.HasPrefix(p.s[p.i:], word) {
		p.i += len(word)
		return v, nil
	}
	return nil, p.errf("unexpected token")
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, ErrTooDeep
	}
	if p.i >= len(p.s) {
		return nil, p.errf("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == 'n':
		return p.lit("null", nil)
	case c == 't':
		return p.lit("true", true)
	case c == 'f':
		return p.lit("false", false)
	case c == '"':
		return p.str()
	case c == '[':
		p.i++
		arr := []any{}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return arr, nil
		}
		for {
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			p.ws()
			if p.i >= len(p.s) {
				return nil, p.errf("unterminated array")
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == ']' {
				p.i++
				return arr, nil
			}
			return nil, p.errf("expected , or ]")
		}
	case c == '{':
		p.i++
		var obj objectBuilder
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return obj.object(), nil
		}
		for {
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return nil, p.errf("expected string key")
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, p.errf("expected :")
			}
			p.i++
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			obj.set(k.(string), v)
			p.ws()
			if p.i >= len(p.s) {
				return nil, p.errf("unterminated object")
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == '}' {
				p.i++
				return obj.object(), nil
			}
			return nil, p.errf("expected , or }")
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.num()
	}
	return nil, p.errf("unexpected token")
}

func (p *jsonParser) num() (any, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.s) && p.s[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, p.errf("invalid number")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.errf("invalid number")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.errf("invalid number")
		}
	}
	f, err := strconv.ParseFloat(p.s[start:p.i], 64)
	if err != nil && !math.IsInf(f, 0) {
		return nil, p.errf("invalid number")
	}
	return f, nil
}

func (p *jsonParser) str() (any, error) {
	p.i++ // opening quote
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '"' {
			s := p.s[start:p.i]
			p.i++
			if !utf8.ValidString(s) {
				return nil, p.errf("invalid UTF-8")
			}
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	// Slow path: escapes, built in UTF-16 so that \ud83d\ude00 and lone
	// surrogates come out as JavaScript has them.
	if !utf8.ValidString(p.s[start:p.i]) {
		return nil, p.errf("invalid UTF-8")
	}
	u := AppendUTF16(nil, p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return StringFromUTF16(u), nil
		case c < 0x20:
			return nil, p.errf("control character in string")
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return nil, p.errf("unterminated string")
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				u = append(u, uint16(e))
			case 'b':
				u = append(u, '\b')
			case 'f':
				u = append(u, '\f')
			case 'n':
				u = append(u, '\n')
			case 'r':
				u = append(u, '\r')
			case 't':
				u = append(u, '\t')
			case 'u':
				if p.i+4 > len(p.s) {
					return nil, p.errf("invalid unicode escape")
				}
				x, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 16)
				if err != nil {
					return nil, p.errf("invalid unicode escape")
				}
				u = append(u, uint16(x))
				p.i += 4
			default:
				return nil, p.errf("invalid escape")
			}
		default:
			j := p.i
			for j < len(p.s) && p.s[j] != '"' && p.s[j] != '\\' && p.s[j] >= 0x20 {
				j++
			}
			if !utf8.ValidString(p.s[p.i:j]) {
				return nil, p.errf("invalid UTF-8")
			}
			u = AppendUTF16(u, p.s[p.i:j])
			p.i = j
		}
	}
	return nil, p.errf("unterminated string")
}
