package swarm

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Jami commit messages are JSON written by jsoncpp 1.9.5 (StreamWriterBuilder
// with indentation "" and no comments) and read by jsoncpp's CharReader
// with default settings. Go's encoding/json differs on both sides (it
// escapes <>&, writes raw UTF-8, rejects comments and trailing commas), so
// this file emulates jsoncpp (swarm.md §3.2).

// JSONKind is the type of a JSONValue (jsoncpp's ValueType).
type JSONKind uint8

const (
	JSONNull JSONKind = iota
	JSONInt
	JSONUint
	JSONReal
	JSONString
	JSONBool
	JSONArray
	JSONObject
)

// JSONValue is a decoded jsoncpp value. Integers that fit int64 are
// JSONInt, larger ones up to uint64 JSONUint, others JSONReal, as jsoncpp
// decodes them.
type JSONValue struct {
	Kind JSONKind
	Int  int64
	Uint uint64
	Real float64
	Str  string
	Bool bool
	Arr  []JSONValue
	Obj  map[string]JSONValue
}

// JSONStr, JSONNum are shorthands for building values.
func JSONStr(s string) JSONValue { return JSONValue{Kind: JSONString, Str: s} }

// JSONNum is an integer value.
func JSONNum(i int64) JSONValue { return JSONValue{Kind: JSONInt, Int: i} }

// ErrNotConvertible is what jsoncpp throws (Json::LogicError) when asString
// or asInt is applied to a value of the wrong kind.
var ErrNotConvertible = errors.New("JSON value is not convertible")

// AsString is jsoncpp Value::asString: null → "", bools "true"/"false",
// numbers in jsoncpp's spelling; arrays and objects are not convertible.
func (v JSONValue) AsString() (string, error) {
	switch v.Kind {
	case JSONNull:
		return "", nil
	case JSONString:
		return v.Str, nil
	case JSONBool:
		if v.Bool {
			return "true", nil
		}
		return "false", nil
	case JSONInt:
		return strconv.FormatInt(v.Int, 10), nil
	case JSONUint:
		return strconv.FormatUint(v.Uint, 10), nil
	case JSONReal:
		return formatReal(v.Real), nil
	}
	return "", ErrNotConvertible
}

// formatReal is jsoncpp valueToString(double): "%.17g", then ".0" appended
// when the result has neither '.' nor 'e'; non-finite values as jsoncpp
// spells them without special floats.
func formatReal(f float64) string {
	switch {
	case math.IsNaN(f):
		return "null"
	case math.IsInf(f, -1):
		return "-1e+9999"
	case math.IsInf(f, 1):
		return "1e+9999"
	}
	s := fmt.Sprintf("%.17g", f)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// AsInt is jsoncpp Value::asInt (32-bit): null 0, bools 0/1, integers in
// range, reals in range truncated; strings, arrays and objects throw.
func (v JSONValue) AsInt() (int, error) {
	switch v.Kind {
	case JSONNull:
		return 0, nil
	case JSONBool:
		if v.Bool {
			return 1, nil
		}
		return 0, nil
	case JSONInt:
		if v.Int >= math.MinInt32 && v.Int <= math.MaxInt32 {
			return int(v.Int), nil
		}
	case JSONUint:
		if v.Uint <= math.MaxInt32 {
			return int(v.Uint), nil
		}
	case JSONReal:
		if v.Real >= math.MinInt32 && v.Real <= math.MaxInt32 {
			return int(v.Real), nil
		}
	}
	return 0, ErrNotConvertible
}

// --- writer ---

// EncodeJSON serializes v exactly as jsoncpp 1.9.5 writeString does with
// indentation "" (what jamid and current upstream use for commit messages):
// object keys sorted byte-wise, no whitespace, jsoncpp string escaping,
// no trailing newline.
func EncodeJSON(v JSONValue) []byte {
	var b strings.Builder
	writeJSON(&b, v)
	return []byte(b.String())
}

// EncodeJSONObject is EncodeJSON of a flat object of strings and integers:
// values of type string, int, int64, uint64, bool or JSONValue.
func EncodeJSONObject(fields map[string]any) ([]byte, error) {
	obj := make(map[string]JSONValue, len(fields))
	for k, x := range fields {
		switch x := x.(type) {
		case string:
			obj[k] = JSONStr(x)
		case int:
			obj[k] = JSONNum(int64(x))
		case int64:
			obj[k] = JSONNum(x)
		case uint64:
			obj[k] = JSONValue{Kind: JSONUint, Uint: x}
		case bool:
			obj[k] = JSONValue{Kind: JSONBool, Bool: x}
		case JSONValue:
			obj[k] = x
		default:
			return nil, fmt.Errorf("json: field %q has unsupported type %T", k, x)
		}
	}
	return EncodeJSON(JSONValue{Kind: JSONObject, Obj: obj}), nil
}

func writeJSON(b *strings.Builder, v JSONValue) {
	switch v.Kind {
	case JSONNull:
		b.WriteString("null")
	case JSONInt:
		b.WriteString(strconv.FormatInt(v.Int, 10))
	case JSONUint:
		b.WriteString(strconv.FormatUint(v.Uint, 10))
	case JSONReal:
		b.WriteString(formatReal(v.Real))
	case JSONString:
		b.WriteString(quoteJSON(v.Str))
	case JSONBool:
		if v.Bool {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case JSONArray:
		b.WriteByte('[')
		for i, x := range v.Arr {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, x)
		}
		b.WriteByte(']')
	case JSONObject:
		keys := make([]string, 0, len(v.Obj))
		for k := range v.Obj {
			keys = append(keys, k)
		}
		// jsoncpp keeps members in a std::map ordered by memcmp of the
		// key bytes, then length: Go's string order.
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quoteJSON(k))
			b.WriteByte(':')
			writeJSON(b, v.Obj[k])
		}
		b.WriteByte('}')
	}
}

const hexLower = "0123456789abcdef"

func appendU(b *strings.Builder, cp uint32) {
	b.WriteString(`\u`)
	b.WriteByte(hexLower[cp>>12&0xf])
	b.WriteByte(hexLower[cp>>8&0xf])
	b.WriteByte(hexLower[cp>>4&0xf])
	b.WriteByte(hexLower[cp&0xf])
}

// quoteJSON is jsoncpp valueToQuotedStringN with emitUTF8 = false.
func quoteJSON(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
			continue
		case '\\':
			b.WriteString(`\\`)
			continue
		case '\b':
			b.WriteString(`\b`)
			continue
		case '\f':
			b.WriteString(`\f`)
			continue
		case '\n':
			b.WriteString(`\n`)
			continue
		case '\r':
			b.WriteString(`\r`)
			continue
		case '\t':
			b.WriteString(`\t`)
			continue
		}
		cp, n := utf8ToCodepoint(s[i:])
		i += n - 1
		switch {
		case cp < 0x20:
			appendU(&b, cp)
		case cp < 0x80:
			b.WriteByte(byte(cp))
		case cp < 0x10000:
			appendU(&b, cp)
		default:
			cp -= 0x10000
			appendU(&b, 0xd800+(cp>>10&0x3ff))
			appendU(&b, 0xdc00+(cp&0x3ff))
		}
	}
	b.WriteByte('"')
	return b.String()
}

// utf8ToCodepoint is jsoncpp's decoder used by the writer, quirks included:
// continuation bytes are not checked (only masked), a stray continuation
// byte starts a 2-byte sequence, overlong forms, surrogates and truncated
// sequences give U+FFFD, values above U+10FFFF are not rejected. It returns
// the code point and the bytes consumed.
func utf8ToCodepoint(s string) (uint32, int) {
	const repl = 0xFFFD
	first := uint32(s[0])
	switch {
	case first < 0x80:
		return first, 1
	case first < 0xE0:
		if len(s) < 2 {
			return repl, 1
		}
		cp := (first&0x1F)<<6 | uint32(s[1])&0x3F
		if cp < 0x80 {
			return repl, 2
		}
		return cp, 2
	case first < 0xF0:
		if len(s) < 3 {
			return repl, 1
		}
		cp := (first&0x0F)<<12 | (uint32(s[1])&0x3F)<<6 | uint32(s[2])&0x3F
		if cp >= 0xD800 && cp <= 0xDFFF || cp < 0x800 {
			return repl, 3
		}
		return cp, 3
	case first < 0xF8:
		if len(s) < 4 {
			return repl, 1
		}
		cp := (first&0x07)<<18 | (uint32(s[1])&0x3F)<<12 | (uint32(s[2])&0x3F)<<6 | uint32(s[3])&0x3F
		if cp < 0x10000 {
			return repl, 4
		}
		return cp, 4
	}
	return repl, 1
}

// --- reader ---

// jsonStackLimit is CharReaderBuilder's default stackLimit (jsoncpp throws
// beyond it; we return an error).
const jsonStackLimit = 1000

// ErrJSONSyntax is returned by ParseJSON for documents jsoncpp rejects.
var ErrJSONSyntax = errors.New("JSON syntax error")

type jsonReader struct {
	s     string
	pos   int
	depth int
}

type tokKind int

const (
	tokEOS tokKind = iota
	tokObjBegin
	tokObjEnd
	tokArrBegin
	tokArrEnd
	tokString
	tokNumber
	tokTrue
	tokFalse
	tokNull
	tokArrSep
	tokMemberSep
	tokComment
	tokError
)

type token struct {
	kind       tokKind
	start, end int
}

// ParseJSON parses a document the way jamid's Json::CharReaderBuilder with
// default settings does: a UTF-8 BOM is skipped, C and C++ comments and
// trailing commas are allowed, any value may be the root, anything after
// the root value is ignored, later duplicate keys win, numbers may start
// with '+' and have leading zeros, strings may hold raw control bytes, and
// lone \u surrogates are kept (as CESU-style bytes). A NUL byte ends the
// document.
func ParseJSON(doc []byte) (JSONValue, error) {
	r := &jsonReader{s: string(doc)}
	if strings.HasPrefix(r.s, "\xEF\xBB\xBF") {
		r.pos = 3
	}
	return r.readValue()
}

func (r *jsonReader) next() byte {
	if r.pos >= len(r.s) {
		return 0
	}
	c := r.s[r.pos]
	r.pos++
	return c
}

func (r *jsonReader) skipSpaces() {
	for r.pos < len(r.s) {
		switch r.s[r.pos] {
		case ' ', '\t', '\r', '\n':
			r.pos++
		default:
			return
		}
	}
}

func (r *jsonReader) match(lit string) bool {
	if len(r.s)-r.pos < len(lit) || r.s[r.pos:r.pos+len(lit)] != lit {
		return false
	}
	r.pos += len(lit)
	return true
}

func (r *jsonReader) readToken() (token, bool) {
	r.skipSpaces()
	t := token{start: r.pos}
	ok := true
	switch c := r.next(); c {
	case '{':
		t.kind = tokObjBegin
	case '}':
		t.kind = tokObjEnd
	case '[':
		t.kind = tokArrBegin
	case ']':
		t.kind = tokArrEnd
	case '"':
		t.kind = tokString
		ok = r.readString()
	case '/':
		t.kind = tokComment
		ok = r.readComment()
	case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		t.kind = tokNumber
		r.readNumber(false)
	case '-', '+':
		if r.readNumber(true) {
			t.kind = tokNumber
		} else {
			ok = false // ±Infinity needs allowSpecialFloats
		}
	case 't':
		t.kind = tokTrue
		ok = r.match("rue")
	case 'f':
		t.kind = tokFalse
		ok = r.match("alse")
	case 'n':
		t.kind = tokNull
		ok = r.match("ull")
	case ',':
		t.kind = tokArrSep
	case ':':
		t.kind = tokMemberSep
	case 0:
		t.kind = tokEOS
	default:
		ok = false
	}
	if !ok {
		t.kind = tokError
	}
	t.end = r.pos
	return t, ok
}

func (r *jsonReader) readString() bool {
	var c byte
	for r.pos < len(r.s) {
		c = r.next()
		if c == '\\' {
			r.next()
		} else if c == '"' {
			break
		}
	}
	return c == '"'
}

func (r *jsonReader) readComment() bool {
	switch r.next() {
	case '*':
		for r.pos+1 < len(r.s) {
			c := r.next()
			if c == '*' && r.s[r.pos] == '/' {
				break
			}
		}
		return r.next() == '/'
	case '/':
		for r.pos < len(r.s) {
			c := r.next()
			if c == '\n' {
				break
			}
			if c == '\r' {
				if r.pos < len(r.s) && r.s[r.pos] == '\n' {
					r.pos++
				}
				break
			}
		}
		return true
	}
	return false
}

// readNumber scans jsoncpp's liberal number token: digits, optional
// fraction, optional exponent; validation happens in decodeNumber.
func (r *jsonReader) readNumber(checkInf bool) bool {
	p := r.pos
	if checkInf && p < len(r.s) && r.s[p] == 'I' {
		r.pos = p + 1
		return false
	}
	at := func() byte {
		r.pos = p
		if p < len(r.s) {
			c := r.s[p]
			p++
			return c
		}
		return 0
	}
	c := byte('0')
	for c >= '0' && c <= '9' {
		c = at()
	}
	if c == '.' {
		c = at()
		for c >= '0' && c <= '9' {
			c = at()
		}
	}
	if c == 'e' || c == 'E' {
		c = at()
		if c == '+' || c == '-' {
			c = at()
		}
		for c >= '0' && c <= '9' {
			c = at()
		}
	}
	return true
}

func (r *jsonReader) skipCommentTokens() token {
	for {
		t, _ := r.readToken()
		if t.kind != tokComment {
			return t
		}
	}
}

func (r *jsonReader) readTokenSkippingComments() (token, bool) {
	t, ok := r.readToken()
	for ok && t.kind == tokComment {
		t, ok = r.readToken()
	}
	return t, ok
}

func (r *jsonReader) readValue() (JSONValue, error) {
	if r.depth > jsonStackLimit {
		return JSONValue{}, fmt.Errorf("%w: nesting deeper than %d", ErrJSONSyntax, jsonStackLimit)
	}
	t := r.skipCommentTokens()
	switch t.kind {
	case tokObjBegin:
		return r.readObject()
	case tokArrBegin:
		return r.readArray()
	case tokNumber:
		return decodeNumber(r.s[t.start:t.end])
	case tokString:
		s, err := decodeString(r.s[t.start+1 : t.end-1])
		return JSONStr(s), err
	case tokTrue:
		return JSONValue{Kind: JSONBool, Bool: true}, nil
	case tokFalse:
		return JSONValue{Kind: JSONBool}, nil
	case tokNull:
		return JSONValue{}, nil
	}
	return JSONValue{}, fmt.Errorf("%w: value, object or array expected at offset %d", ErrJSONSyntax, t.start)
}

func (r *jsonReader) readObject() (JSONValue, error) {
	v := JSONValue{Kind: JSONObject, Obj: map[string]JSONValue{}}
	r.depth++
	defer func() { r.depth-- }()
	for {
		name, ok := r.readTokenSkippingComments()
		if !ok {
			break
		}
		// An empty object or a trailing comma (allowTrailingCommas).
		if name.kind == tokObjEnd {
			return v, nil
		}
		if name.kind != tokString {
			break
		}
		key, err := decodeString(r.s[name.start+1 : name.end-1])
		if err != nil {
			return v, err
		}
		colon, ok := r.readToken()
		if !ok || colon.kind != tokMemberSep {
			return v, fmt.Errorf("%w: missing ':' after object member name", ErrJSONSyntax)
		}
		val, err := r.readValue()
		if err != nil {
			return v, err
		}
		v.Obj[key] = val
		comma, ok := r.readTokenSkippingComments()
		if !ok || (comma.kind != tokObjEnd && comma.kind != tokArrSep) {
			return v, fmt.Errorf("%w: missing ',' or '}' in object", ErrJSONSyntax)
		}
		if comma.kind == tokObjEnd {
			return v, nil
		}
	}
	return v, fmt.Errorf("%w: missing '}' or object member name", ErrJSONSyntax)
}

func (r *jsonReader) readArray() (JSONValue, error) {
	v := JSONValue{Kind: JSONArray, Arr: []JSONValue{}}
	r.depth++
	defer func() { r.depth-- }()
	for {
		r.skipSpaces()
		if r.pos < len(r.s) && r.s[r.pos] == ']' {
			r.pos++ // empty array or trailing comma
			return v, nil
		}
		val, err := r.readValue()
		if err != nil {
			return v, err
		}
		v.Arr = append(v.Arr, val)
		t, ok := r.readTokenSkippingComments()
		if !ok || (t.kind != tokArrSep && t.kind != tokArrEnd) {
			return v, fmt.Errorf("%w: missing ',' or ']' in array", ErrJSONSyntax)
		}
		if t.kind == tokArrEnd {
			return v, nil
		}
	}
}

// decodeNumber: an integer if it is one and fits (int64, else uint64),
// otherwise parsed as a double by istream >> double.
func decodeNumber(tok string) (JSONValue, error) {
	digits := tok
	neg := strings.HasPrefix(tok, "-")
	if neg {
		digits = tok[1:]
	}
	threshold := uint64(math.MaxUint64 / 10)
	maxLast := uint64(math.MaxUint64 % 10)
	if neg {
		threshold = uint64(-(math.MinInt64 / 10))
		maxLast = uint64(-(math.MinInt64 % 10))
	}
	var val uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return decodeDouble(tok)
		}
		d := uint64(c - '0')
		if val >= threshold && (val > threshold || i != len(digits)-1 || d > maxLast) {
			return decodeDouble(tok)
		}
		val = val*10 + d
	}
	if neg {
		return JSONNum(-int64(val/10)*10 - int64(val%10)), nil
	}
	if val <= math.MaxInt64 {
		return JSONNum(int64(val)), nil
	}
	return JSONValue{Kind: JSONUint, Uint: val}, nil
}

// decodeDouble emulates libstdc++ `istringstream >> double` on the whole
// token: strtod must consume it entirely and not overflow.
func decodeDouble(tok string) (JSONValue, error) {
	s := tok
	if strings.HasPrefix(s, "+") {
		s = s[1:]
		if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
			return JSONValue{}, fmt.Errorf("%w: %q is not a number", ErrJSONSyntax, tok)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		// Underflow to zero or a denormal is accepted by strtod.
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange && !math.IsInf(f, 0) {
			return JSONValue{Kind: JSONReal, Real: f}, nil
		}
		return JSONValue{}, fmt.Errorf("%w: %q is not a number", ErrJSONSyntax, tok)
	}
	return JSONValue{Kind: JSONReal, Real: f}, nil
}

func decodeString(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		i++
		if c == '"' {
			break
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i == len(s) {
			return "", fmt.Errorf("%w: empty escape sequence in string", ErrJSONSyntax)
		}
		e := s[i]
		i++
		switch e {
		case '"', '/', '\\':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			cp, n, err := decodeUnicode(s[i:])
			if err != nil {
				return "", err
			}
			i += n
			b.WriteString(codePointToUTF8(cp))
		default:
			return "", fmt.Errorf("%w: bad escape sequence in string", ErrJSONSyntax)
		}
	}
	return b.String(), nil
}

func hex4(s string) (uint32, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var v uint32
	for i := 0; i < 4; i++ {
		c := s[i]
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v += uint32(c - '0')
		case c >= 'a' && c <= 'f':
			v += uint32(c-'a') + 10
		case c >= 'A' && c <= 'F':
			v += uint32(c-'A') + 10
		default:
			return 0, false
		}
	}
	return v, true
}

// decodeUnicode reads the 4 hex digits after \u, and for a high surrogate
// the following \uXXXX whose low 10 bits complete the pair (jsoncpp does
// not check that it is a low surrogate).
func decodeUnicode(s string) (uint32, int, error) {
	cp, ok := hex4(s)
	if !ok {
		return 0, 0, fmt.Errorf("%w: bad unicode escape sequence", ErrJSONSyntax)
	}
	if cp < 0xD800 || cp > 0xDBFF {
		return cp, 4, nil
	}
	if len(s)-4 < 6 {
		return 0, 0, fmt.Errorf("%w: incomplete surrogate pair", ErrJSONSyntax)
	}
	if s[4] != '\\' || s[5] != 'u' {
		return 0, 0, fmt.Errorf("%w: expecting the second half of a surrogate pair", ErrJSONSyntax)
	}
	lo, ok := hex4(s[6:])
	if !ok {
		return 0, 0, fmt.Errorf("%w: bad unicode escape sequence", ErrJSONSyntax)
	}
	return 0x10000 + (cp&0x3FF)<<10 + lo&0x3FF, 10, nil
}

// codePointToUTF8 encodes without validation (lone surrogates become
// 3-byte sequences), as jsoncpp does.
func codePointToUTF8(cp uint32) string {
	switch {
	case cp <= 0x7F:
		return string([]byte{byte(cp)})
	case cp <= 0x7FF:
		return string([]byte{byte(0xC0 | cp>>6), byte(0x80 | cp&0x3F)})
	case cp <= 0xFFFF:
		return string([]byte{byte(0xE0 | cp>>12), byte(0x80 | cp>>6&0x3F), byte(0x80 | cp&0x3F)})
	case cp <= 0x10FFFF:
		return string([]byte{byte(0xF0 | cp>>18), byte(0x80 | cp>>12&0x3F), byte(0x80 | cp>>6&0x3F), byte(0x80 | cp&0x3F)})
	}
	return ""
}
