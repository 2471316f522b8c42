// Package proxy is OpenDHT 2.4.12's REST proxy (opendht.md §8): a Server
// that serves a *dht.Node over HTTP with the routes, chunked streams and
// JSON bodies of dhtnode --proxyserver, and a Client that implements
// dht.Client over that API, doing what OpenDHT's DhtProxyClient does (the
// client jamid uses when Account.proxyEnabled is set).
package proxy

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// ErrJSON means the body is not JSON at all (the server's
// {"err:":"Incorrect JSON"}).
var ErrJSON = errors.New("proxy: incorrect JSON")

// ErrValue means the JSON parsed but OpenDHT's Value(Json) would have
// thrown on it (a member of the wrong type, an owner that is not a public
// key): the server answers 500 then, as upstream's catch-all does.
var ErrValue = errors.New("proxy: invalid value JSON")

// MarshalValueJSON is Value::toJson written by jsoncpp's StreamWriter with
// no indentation: members sorted by name, the id as a decimal string,
// owner as PEM text, binary fields in padded standard base64. extra adds
// members (the server's "expired", the client's "permanent"); its values
// must be JSON-encodable. No trailing newline.
func MarshalValueJSON(v *value.Value, extra map[string]any) []byte {
	m := map[string]jsonRaw{"id": jsonRaw(quoteJSON(strconv.FormatUint(v.ID, 10)))}
	if v.IsEncrypted() {
		m["cypher"] = jsonRaw(quoteJSON(base64.StdEncoding.EncodeToString(v.Cypher)))
	} else {
		if len(v.Signature) > 0 {
			m["sig"] = jsonRaw(quoteJSON(base64.StdEncoding.EncodeToString(v.Signature)))
		}
		if len(v.Owner) > 0 {
			m["seq"] = jsonRaw(strconv.Itoa(int(v.Seq)))
			// PublicKey::toString keeps the NUL that gnutls writes after
			// the PEM text: Debian's proxy sends "...-----\n\u0000".
			m["owner"] = jsonRaw(quoteJSON(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: v.Owner})) + "\x00"))
			// toJson tests "if (recipient)", i.e. a non-zero hash.
			if v.Recipient != nil && !v.Recipient.IsZero() {
				m["to"] = jsonRaw(quoteJSON(v.Recipient.String()))
			}
		}
		m["type"] = jsonRaw(strconv.Itoa(int(v.Type)))
		m["data"] = jsonRaw(quoteJSON(base64.StdEncoding.EncodeToString(v.Data)))
		if v.UserType != "" {
			m["utype"] = jsonRaw(quoteJSON(v.UserType))
		}
	}
	if v.Priority != nil && *v.Priority != 0 {
		m["prio"] = jsonRaw(strconv.Itoa(int(*v.Priority)))
	}
	for k, x := range extra {
		m[k] = jsonRaw(marshalAny(x))
	}
	return writeObject(m)
}

// jsonRaw is an already-encoded JSON member value.
type jsonRaw string

// writeObject writes members in name order, as jsoncpp's std::map does.
func writeObject(m map[string]jsonRaw) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteJSON(k))
		b.WriteByte(':')
		b.WriteString(string(m[k]))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// marshalAny encodes the few member types the package writes (bool,
// integers, float64, strings, nested maps of them) the way jsoncpp does.
func marshalAny(x any) string {
	switch t := x.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(t)
	case string:
		return quoteJSON(t)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case uint64:
		return strconv.FormatUint(t, 10)
	case float64:
		return formatDouble(t)
	case map[string]any:
		m := make(map[string]jsonRaw, len(t))
		for k, v := range t {
			m[k] = jsonRaw(marshalAny(v))
		}
		return string(writeObject(m))
	}
	panic(fmt.Sprintf("proxy: cannot encode %T", x))
}

// formatDouble is jsoncpp's valueToString(double): 17 significant digits
// with %g, and ".0" appended when the result looks like an integer.
func formatDouble(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	s := strconv.FormatFloat(f, 'g', 17, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// quoteJSON is jsoncpp's valueToQuotedString with emitUTF8 off (the
// default of StreamWriterBuilder): control characters and every non-ASCII
// character are \u escapes (UTF-16 surrogate pairs above the BMP); '/' is
// left alone. Invalid UTF-8 becomes U+FFFD.
func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || (r >= 0x80 && r < 0x10000):
			fmt.Fprintf(&b, `\u%04x`, r)
		case r >= 0x10000:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// parseJSON reads the first JSON value of b as jsoncpp's default
// CharReader does (failIfExtra off: trailing bytes are ignored).
func parseJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return nil, ErrJSON
	}
	return x, nil
}

// UnmarshalValueJSON is Value(Json): it parses one JSON object (see
// parseJSON) and reads the value members. A body that is not JSON gives
// ErrJSON; members of the wrong type give ErrValue.
func UnmarshalValueJSON(b []byte) (*value.Value, error) {
	x, err := parseJSON(b)
	if err != nil {
		return nil, err
	}
	return valueFromJSON(x)
}

// valueFromJSON reads an already parsed JSON document. As with jsoncpp's
// const operator[], null reads as an object without members; any other
// non-object throws.
func valueFromJSON(x any) (*value.Value, error) {
	if x == nil {
		return &value.Value{}, nil
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not an object", ErrValue)
	}
	v := &value.Value{ID: unpackID(m["id"])}
	if s, ok := m["cypher"].(string); ok {
		v.Cypher = decodeBase64(s)
	}
	if s, ok := m["sig"].(string); ok {
		v.Signature = decodeBase64(s)
	}
	if j, present := m["seq"]; present && j != nil {
		n, err := asInt(j)
		if err != nil {
			return nil, fmt.Errorf("%w: seq: %v", ErrValue, err)
		}
		v.Seq = uint16(n) // seq is a uint16_t member assigned from asInt
	}
	if s, ok := m["owner"].(string); ok {
		der, err := parsePublicKey([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("%w: owner: %v", ErrValue, err)
		}
		v.Owner = der
	}
	if s, ok := m["to"].(string); ok {
		// InfoHash(std::string) is zero unless it is exactly 40 hex digits.
		h, err := wire.ParseInfoHash(s)
		if err != nil {
			h = wire.InfoHash{}
		}
		v.Recipient = &h
	}
	if j, present := m["type"]; present && j != nil {
		n, err := asInt(j)
		if err != nil {
			return nil, fmt.Errorf("%w: type: %v", ErrValue, err)
		}
		v.Type = uint16(n)
	}
	if s, ok := m["data"].(string); ok {
		v.Data = decodeBase64(s)
	}
	if s, ok := m["utype"].(string); ok {
		v.UserType = s
	}
	if n, ok := m["prio"].(json.Number); ok {
		// isIntegral: an integer, or a double without a fractional part.
		if f, err := n.Float64(); err == nil && f == math.Trunc(f) && f >= 0 && f <= math.MaxUint32 {
			p := uint8(uint32(f)) // priority is a uint8 member assigned from asUInt
			v.Priority = &p
		}
	}
	return v, nil
}

// unpackID is unpackId: a string goes through std::stoull, a number
// through asLargestUInt; anything that throws gives 0.
func unpackID(x any) uint64 {
	switch t := x.(type) {
	case string:
		return stoull(t)
	case json.Number:
		if u, err := strconv.ParseUint(t.String(), 10, 64); err == nil {
			return u
		}
		if f, err := t.Float64(); err == nil && f >= 0 && f < 18446744073709551616.0 {
			return uint64(f)
		}
	case bool:
		if t {
			return 1
		}
	}
	return 0
}

// stoull is std::stoull(s, nullptr, 10): leading space, an optional sign
// (a minus negates modulo 2^64, as strtoull does), the longest run of
// digits; no digits or overflow throw (0 here).
func stoull(s string) uint64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0
	}
	u, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil {
		return 0
	}
	if neg {
		return -u
	}
	return u
}

// asInt is jsoncpp's asInt: integers in range, doubles in range
// (truncated), booleans; strings, arrays and objects throw.
func asInt(x any) (int64, error) {
	switch t := x.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(t.String(), 10, 64); err == nil {
			if n < math.MinInt32 || n > math.MaxInt32 {
				return 0, errors.New("out of Int range")
			}
			return n, nil
		}
		f, err := t.Float64()
		if err != nil || f < math.MinInt32 || f > math.MaxInt32 {
			return 0, errors.New("out of Int range")
		}
		return int64(f), nil
	case bool:
		if t {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%T is not convertible to Int", x)
}

// decodeBase64 reads padded standard base64. OpenDHT's decoder never
// fails (it decodes garbage into garbage); here the unpadded and
// whitespace-free forms are accepted and anything else decodes to nothing.
func decodeBase64(s string) []byte {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b
	}
	if b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err == nil {
		return b
	}
	return nil
}

// parsePublicKey accepts a PEM or DER SubjectPublicKeyInfo, as
// crypto::PublicKey(blob) does, and returns the DER.
func parsePublicKey(b []byte) ([]byte, error) {
	der := b
	if blk, _ := pem.Decode(b); blk != nil {
		der = blk.Bytes
	}
	if _, err := x509.ParsePKIXPublicKey(der); err != nil {
		return nil, errors.New("not a public key")
	}
	return append([]byte(nil), der...), nil
}
