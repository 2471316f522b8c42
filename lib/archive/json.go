package archive

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The archive's JSON is read and written by hand rather than with
// encoding/json because jamid's reader (jsoncpp in strict mode) rejects
// documents that encoding/json accepts, duplicate keys above all, and because
// its writer (jsoncpp's StreamWriter with no indentation) has an escaping
// style of its own: every non-ASCII character becomes a lowercase \uXXXX
// escape. Writing the same bytes keeps archives we produce indistinguishable
// from the daemon's, and the strict reader makes us refuse what it refuses.

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

func (k jsonKind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// jsonValue is one parsed JSON value. Numbers keep their literal text so that
// nothing is lost when a value is written back.
type jsonValue struct {
	kind jsonKind
	b    bool
	s    string // string content, or the number literal
	arr  []*jsonValue
	obj  []jsonMember // in document order, keys unique
}

type jsonMember struct {
	key string
	val *jsonValue
}

// get returns the member named key, or nil.
func (v *jsonValue) get(key string) *jsonValue {
	for _, m := range v.obj {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// maxJSONDepth is jsoncpp's default stack limit in strict mode.
const maxJSONDepth = 1000

// jsonSyntaxError locates a parse failure.
type jsonSyntaxError struct {
	Offset int
	Msg    string
}

func (e *jsonSyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// parseJSON parses one complete JSON document the way jsoncpp's strict mode
// does: no comments, no single quotes, nothing but whitespace after the root
// value, duplicate object keys rejected (at any depth).
func parseJSON(data []byte) (*jsonValue, error) {
	p := &jsonParser{data: data}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, p.errorf("unexpected data after the top-level value")
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	pos  int
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return &jsonSyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (*jsonValue, error) {
	if depth >= maxJSONDepth {
		return nil, p.errorf("nesting deeper than %d", maxJSONDepth)
	}
	if p.pos >= len(p.data) {
		return nil, p.errorf("unexpected end of data")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jsonValue{kind: jsonString, s: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		for _, lit := range []struct {
			text string
			v    jsonValue
		}{{"true", jsonValue{kind: jsonBool, b: true}}, {"false", jsonValue{kind: jsonBool}}, {"null", jsonValue{kind: jsonNull}}} {
			if len(p.data)-p.pos >= len(lit.text) && string(p.data[p.pos:p.pos+len(lit.text)]) == lit.text {
				p.pos += len(lit.text)
				v := lit.v
				return &v, nil
			}
		}
		return nil, p.errorf("unexpected character %q", c)
	}
}

func (p *jsonParser) object(depth int) (*jsonValue, error) {
	p.pos++ // '{'
	v := &jsonValue{kind: jsonObject}
	seen := map[string]bool{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errorf("expected a string as object key")
		}
		keyAt := p.pos
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, &jsonSyntaxError{Offset: keyAt, Msg: fmt.Sprintf("duplicate key %q", key)}
		}
		seen[key] = true
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errorf("expected ':' after object key")
		}
		p.pos++
		p.skipSpace()
		val, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v.obj = append(v.obj, jsonMember{key, val})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf("unexpected end of data in object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return v, nil
		default:
			return nil, p.errorf("expected ',' or '}' in object")
		}
	}
}

func (p *jsonParser) array(depth int) (*jsonValue, error) {
	p.pos++ // '['
	v := &jsonValue{kind: jsonArray}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		p.skipSpace()
		el, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v.arr = append(v.arr, el)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf("unexpected end of data in array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return v, nil
		default:
			return nil, p.errorf("expected ',' or ']' in array")
		}
	}
}

// number accepts the RFC 8259 grammar and keeps the literal.
func (p *jsonParser) number() (*jsonValue, error) {
	start := p.pos
	d := p.data
	if d[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.pos < len(d) && d[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return nil, p.errorf("malformed number")
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.errorf("malformed number")
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.errorf("malformed number")
		}
	}
	return &jsonValue{kind: jsonNumber, s: string(d[start:p.pos])}, nil
}

// str reads a string literal; escapes are decoded, surrogate pairs combined.
// jsoncpp does not validate UTF-8 on read, and its writer turns each invalid
// byte into U+FFFD; doing that here already keeps a read/write round trip
// stable (and two keys that only differ in invalid bytes are then
// duplicates, as they would be in the daemon's next write).
func (p *jsonParser) str() (string, error) {
	s, err := p.rawStr()
	if err == nil && !utf8.ValidString(s) {
		s = fixUTF8(s)
	}
	return s, err
}

// fixUTF8 replaces every byte of an invalid sequence with U+FFFD.
func fixUTF8(s string) string {
	var b []byte
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, r)
		i += size
	}
	return string(b)
}

func (p *jsonParser) rawStr() (string, error) {
	p.pos++ // opening quote
	d := p.data
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(d) && d[p.pos] != '"' && d[p.pos] != '\\' && d[p.pos] >= 0x20 {
		p.pos++
	}
	if p.pos < len(d) && d[p.pos] == '"' {
		p.pos++
		return string(d[start : p.pos-1]), nil
	}
	buf := append([]byte(nil), d[start:p.pos]...)
	for {
		if p.pos >= len(d) {
			return "", p.errorf("unterminated string")
		}
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		p.pos++ // backslash
		if p.pos >= len(d) {
			return "", p.errorf("unterminated string")
		}
		e := d[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) && r < 0xdc00 {
				// A high surrogate must be followed by its low half, as jsoncpp requires.
				if p.pos+2 > len(d) || d[p.pos] != '\\' || d[p.pos+1] != 'u' {
					return "", p.errorf("unpaired surrogate in \\u escape")
				}
				p.pos += 2
				lo, err := p.hex4()
				if err != nil {
					return "", err
				}
				r = utf16.DecodeRune(r, lo)
				if r == utf8.RuneError {
					return "", p.errorf("invalid surrogate pair in \\u escape")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("invalid escape '\\%c'", e)
		}
	}
}

func (p *jsonParser) hex4() (rune, error) {
	if p.pos+4 > len(p.data) {
		return 0, p.errorf("short \\u escape")
	}
	v, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, p.errorf("invalid \\u escape")
	}
	p.pos += 4
	return rune(v), nil
}

// appendJSON writes v as jsoncpp's StreamWriter does with an empty
// indentation: compact, object keys in byte-wise order.
func appendJSON(buf []byte, v *jsonValue) []byte {
	switch v.kind {
	case jsonNull:
		return append(buf, "null"...)
	case jsonBool:
		return strconv.AppendBool(buf, v.b)
	case jsonNumber:
		return append(buf, v.s...)
	case jsonString:
		return appendJSONString(buf, v.s)
	case jsonArray:
		buf = append(buf, '[')
		for i, el := range v.arr {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSON(buf, el)
		}
		return append(buf, ']')
	default:
		ms := append([]jsonMember(nil), v.obj...)
		sort.Slice(ms, func(i, j int) bool { return ms[i].key < ms[j].key })
		buf = append(buf, '{')
		for i, m := range ms {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, m.key)
			buf = append(buf, ':')
			buf = appendJSON(buf, m.val)
		}
		return append(buf, '}')
	}
}

const lowerHex = "0123456789abcdef"

// appendJSONString quotes s like jsoncpp without emitUTF8: the usual short
// escapes, other control characters and every non-ASCII code point as
// lowercase \uXXXX (surrogate pairs above the BMP), invalid UTF-8 as \ufffd.
// '/' and DEL are not escaped.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	u := func(r rune) {
		buf = append(buf, '\\', 'u', lowerHex[r>>12&15], lowerHex[r>>8&15], lowerHex[r>>4&15], lowerHex[r&15])
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				buf = append(buf, '\\', '"')
			case '\\':
				buf = append(buf, '\\', '\\')
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				if c < 0x20 {
					u(rune(c))
				} else {
					buf = append(buf, c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r > 0xffff {
			hi, lo := utf16.EncodeRune(r)
			u(hi)
			u(lo)
		} else {
			u(r) // invalid bytes decode as U+FFFD, as in jsoncpp
		}
	}
	return append(buf, '"')
}

// canonicalJSON re-encodes a JSON text (e.g. a json.RawMessage supplied by a
// caller) in the archive's style, checking it with the strict parser.
func canonicalJSON(raw []byte) ([]byte, error) {
	v, err := parseJSON(raw)
	if err != nil {
		return nil, err
	}
	return appendJSON(nil, v), nil
}

// Typed accessors used when mapping the document onto Archive. They follow
// jsoncpp's asXxx conversions where the daemon relies on them.

var errJSONType = errors.New("wrong JSON type")

// asInt converts like jsoncpp's asInt64: integers, integral reals, booleans and null.
func (v *jsonValue) asInt() (int64, error) {
	switch v.kind {
	case jsonNull:
		return 0, nil
	case jsonBool:
		if v.b {
			return 1, nil
		}
		return 0, nil
	case jsonNumber:
		if n, err := strconv.ParseInt(v.s, 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(v.s, 64)
		if err != nil || f < -9.2e18 || f > 9.2e18 {
			return 0, fmt.Errorf("number %s out of range", v.s)
		}
		return int64(f), nil
	}
	return 0, fmt.Errorf("%w: %s where a number was expected", errJSONType, v.kind)
}

// asBool converts like jsoncpp's asBool: booleans, numbers (non-zero) and null.
func (v *jsonValue) asBool() (bool, error) {
	switch v.kind {
	case jsonNull:
		return false, nil
	case jsonBool:
		return v.b, nil
	case jsonNumber:
		f, err := strconv.ParseFloat(v.s, 64)
		return f != 0, err
	}
	return false, fmt.Errorf("%w: %s where a boolean was expected", errJSONType, v.kind)
}

// asString converts like jsoncpp's asString: scalars become text, null is "".
func (v *jsonValue) asString() (string, error) {
	switch v.kind {
	case jsonNull:
		return "", nil
	case jsonBool:
		return strconv.FormatBool(v.b), nil
	case jsonNumber, jsonString:
		return v.s, nil
	}
	return "", fmt.Errorf("%w: %s where a string was expected", errJSONType, v.kind)
}

func jsonStr(s string) *jsonValue { return &jsonValue{kind: jsonString, s: s} }
func jsonInt(n int64) *jsonValue  { return &jsonValue{kind: jsonNumber, s: strconv.FormatInt(n, 10)} }
func jsonBoolean(b bool) *jsonValue {
	return &jsonValue{kind: jsonBool, b: b}
}
