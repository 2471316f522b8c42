package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/jamikit/jamikit/lib/dht/msgp"
)

// Test builder: a tiny msgpack encoder for hand-made datagrams.
type (
	kv   struct{ k, v any } // map entry; k may be any type
	omap []kv               // map with keys in this order
	bin  []byte
	raw  []byte // pre-encoded msgpack
)

func enc(v any) []byte {
	var b []byte
	switch x := v.(type) {
	case nil:
		b = append(b, 0xc0)
	case omap:
		b = msgp.AppendMapHeader(b, len(x))
		for _, e := range x {
			b = append(b, enc(e.k)...)
			b = append(b, enc(e.v)...)
		}
	case []any:
		b = msgp.AppendArrayHeader(b, len(x))
		for _, e := range x {
			b = append(b, enc(e)...)
		}
	case string:
		b = msgp.AppendStr(b, x)
	case bin:
		b = msgp.AppendBin(b, x)
	case raw:
		b = append(b, x...)
	case int:
		b = msgp.AppendInt(b, int64(x))
	case uint64:
		b = msgp.AppendUint(b, x)
	case bool:
		b = msgp.AppendBool(b, x)
	default:
		panic("enc: unsupported type")
	}
	return b
}

var (
	idA  = bin(bytes.Repeat([]byte{0xaa}, 20))
	keyB = bin(bytes.Repeat([]byte{0xbb}, 20))
)

func req(q string, args omap, extra ...kv) []byte {
	m := omap{{"a", args}, {"q", q}, {"t", 7}, {"y", "q"}, {"v", "RNG1"}}
	return enc(append(m, extra...))
}

func mustDecode(t *testing.T, b []byte) *Message {
	t.Helper()
	m, err := Decode(b)
	if err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	return m
}

func TestDecodeTolerant(t *testing.T) {
	// A ping with only a, q and t is answered by 2.4.12 (§2.1).
	m := mustDecode(t, enc(omap{{"a", omap{{"id", idA}}}, {"q", "ping"}, {"t", 3}}))
	if m.Kind != KindPing || m.TID != 3 || m.UA != nil {
		t.Errorf("minimal ping: %+v", m)
	}
	// Text and blobs: str and bin are both accepted; blobs also as arrays
	// of small integers.
	m = mustDecode(t, enc(omap{{"a", omap{{"id", idA}, {"h", keyB}, {"token", "abc"}}}, {"q", bin("get")}, {"t", 1}, {"v", bin("o2")}}))
	if m.Kind != KindGet || string(m.Token) != "abc" || string(m.UA) != "o2" {
		t.Errorf("str/bin: %+v", m)
	}
	m = mustDecode(t, req("put", omap{{"id", idA}, {"h", keyB}, {"token", []any{1, 2, 3}}}))
	if !bytes.Equal(m.Token, []byte{1, 2, 3}) {
		t.Errorf("array token: %x", m.Token)
	}
	// Integers in any encoding; signed non-negative ones count as unsigned.
	m = mustDecode(t, enc(omap{{"a", omap{{"id", idA}}}, {"q", "ping"}, {"t", raw{0xd2, 0, 0, 1, 0}}, {"n", raw{0xd0, 5}}}))
	if m.TID != 256 || m.Net != 5 {
		t.Errorf("signed ints: %+v", m)
	}
	// The legacy tid: a 4-byte str or bin, big-endian; sid likewise.
	m = mustDecode(t, enc(omap{{"a", omap{{"id", idA}, {"sid", bin{0, 0, 1, 2}}}}, {"q", "listen"}, {"t", "\x01\x02\x03\x04"}}))
	if m.TID != 0x01020304 || m.SID != 0x0102 {
		t.Errorf("legacy tid: %+v", m)
	}
	// Unknown keys, non-str keys (even "a" as bin), container keys and
	// trailing bytes are skipped.
	b := enc(omap{{"zz", []any{1, omap{{"x", 2}}}}, {bin("a"), 5}, {[]any{1}, 2}, {omap{{"k", 1}}, 3}, {7, 8},
		{"a", omap{{"id", idA}, {"unknown", omap{}}, {1, 2}}}, {"q", "ping"}, {"t", 9}})
	m = mustDecode(t, append(b, 0xc1, 0xff))
	if m.Kind != KindPing || m.TID != 9 || m.ID != InfoHash(idA) {
		t.Errorf("unknown keys: %+v", m)
	}
	// "w": unknown families are ignored; an empty list is kept apart from
	// an absent one.
	m = mustDecode(t, req("find", omap{{"id", idA}, {"target", keyB}, {"w", []any{10, 99, "x", -1}}}))
	if m.Want != Want6 {
		t.Errorf("want: %v", m.Want)
	}
	m = mustDecode(t, req("find", omap{{"id", idA}, {"target", keyB}, {"w", []any{}}}))
	if m.Want != WantEmpty {
		t.Errorf("empty want: %v", m.Want)
	}
	if v4, v6 := m.Want.Families(false); v4 || v6 {
		t.Errorf("empty want families %v %v", v4, v6)
	}
	if v4, v6 := Want(0).Families(true); v4 || !v6 {
		t.Errorf("absent want families %v %v", v4, v6)
	}
	// "sa" of an odd length leaves the address unset.
	m = mustDecode(t, enc(omap{{"r", omap{{"id", idA}, {"sa", bin{1, 2, 3}}}}, {"t", 1}}))
	if m.Kind != KindReply || m.Addr.IsValid() {
		t.Errorf("odd sa: %+v", m)
	}
	m = mustDecode(t, enc(omap{{"r", omap{{"id", idA}, {"sa", bin(netip.MustParseAddr("::1").AsSlice())}}}, {"t", 1}}))
	if m.Addr != netip.MustParseAddr("::1") {
		t.Errorf("v6 sa: %v", m.Addr)
	}
	// "y" is only checked when nothing else classifies the message.
	m = mustDecode(t, enc(omap{{"r", omap{{"id", idA}}}, {"y", 5}, {"t", 1}}))
	if m.Kind != KindReply {
		t.Errorf("reply with odd y: %v", m.Kind)
	}
	// Classification order: e, r, p, u, then q.
	m = mustDecode(t, enc(omap{{"e", []any{404}}, {"r", omap{{"id", idA}}}, {"q", "ping"}, {"a", omap{{"id", keyB}}}}))
	if m.Kind != KindError || m.ErrCode != 404 || m.ID != InfoHash(keyB) || m.ErrText != nil {
		t.Errorf("error: %+v", m)
	}
	m = mustDecode(t, enc(omap{{"u", omap{{"id", idA}, {"exp", []any{1, uint64(1 << 63)}}}}, {"y", "r"}, {"t", 8}}))
	if m.Kind != KindValueUpdate || len(m.Expired) != 2 || m.Expired[1] != 1<<63 {
		t.Errorf("legacy update: %+v", m)
	}
	// Values: sizes above the part limit are kept (and ignored later);
	// negative integers are values (that will not unpack).
	m = mustDecode(t, req("put", omap{{"id", idA}, {"h", keyB}, {"values", []any{omap{{"id", 1}}, 3000, uint64(MaxPartValueSize + 1), -4}}}))
	if len(m.Values) != 2 || len(m.Sizes) != 2 || m.Sizes[0] != (ValueSize{1, 3000}) || m.Sizes[1].Index != 2 {
		t.Errorf("values: %+v", m)
	}
	// Requests carry n4/n6 unchecked; OpenDHT never reads them there.
	mustDecode(t, req("ping", omap{{"id", idA}, {"n4", bin{1}}}))
	// "fileds" is ignored when "values" is present, even empty.
	m = mustDecode(t, enc(omap{{"r", omap{{"id", idA}, {"values", []any{}}, {"fileds", 5}}}}))
	if m.Fields != nil || len(m.Values) != 0 {
		t.Errorf("values+fileds: %+v", m)
	}
	// A "fileds" without "v" is fine.
	m = mustDecode(t, enc(omap{{"r", omap{{"id", idA}, {"fileds", omap{{"f", []any{}}}}}}}))
	if m.Fields == nil {
		t.Errorf("fileds without v dropped")
	}
}

func TestDecodeStrict(t *testing.T) {
	ping := func(args omap, extra ...kv) []byte { return req("ping", args, extra...) }
	cases := map[string][]byte{
		"not a map":        enc([]any{1}),
		"empty":            nil,
		"truncated":        ping(omap{{"id", idA}})[:20],
		"reserved byte":    append(enc(omap{{"a", omap{{"id", idA}}}, {"zz", raw{}}}), 0xc1),
		"id as str":        ping(omap{{"id", string(idA)}}),
		"id of 19 bytes":   ping(omap{{"id", idA[:19]}}),
		"h of 21 bytes":    ping(omap{{"id", idA}, {"h", append(bin{1}, idA...)}}),
		"target as int":    ping(omap{{"id", idA}, {"target", 1}}),
		"sa as str":        ping(omap{{"id", idA}, {"sa", "\x7f\x00\x00\x01"}}),
		"token as int":     ping(omap{{"id", idA}, {"token", 5}}),
		"token byte 256":   ping(omap{{"id", idA}, {"token", []any{256}}}),
		"vid negative":     ping(omap{{"id", idA}, {"vid", -1}}),
		"c as str":         ping(omap{{"id", idA}, {"c", "now"}}),
		"ve too big":       ping(omap{{"id", idA}, {"ve", uint64(1 << 40)}}),
		"sid too big":      ping(omap{{"id", idA}, {"sid", uint64(1 << 32)}}),
		"sid of 3 bytes":   ping(omap{{"id", idA}, {"sid", bin{1, 2, 3}}}),
		"re not array":     ping(omap{{"id", idA}, {"re", 5}}),
		"exp of strings":   ping(omap{{"id", idA}, {"exp", []any{"x"}}}),
		"values not array": ping(omap{{"id", idA}, {"values", omap{}}}),
		"w not array":      ping(omap{{"id", idA}, {"w", 2}}),
		"q not a map":      ping(omap{{"id", idA}, {"q", []any{}}}),
		"q without s":      ping(omap{{"id", idA}, {"q", omap{{"w", []any{}}}}}),
		"q without w":      ping(omap{{"id", idA}, {"q", omap{{"s", []any{}}}}}),
		"fileds no f":      ping(omap{{"id", idA}, {"fileds", omap{{"v", []any{}}}}}),
		"fileds f empty":   ping(omap{{"id", idA}, {"fileds", omap{{"f", []any{}}, {"v", []any{1}}}}}),
		"fileds f str":     ping(omap{{"id", idA}, {"fileds", omap{{"f", []any{"id"}}}}}),
		"fileds v map":     ping(omap{{"id", idA}, {"fileds", omap{{"f", []any{1}}, {"v", omap{}}}}}),
		"t negative":       ping(omap{{"id", idA}}, kv{"t", -1}),
		"t too big":        ping(omap{{"id", idA}}, kv{"t", uint64(1 << 32)}),
		"t of 5 bytes":     ping(omap{{"id", idA}}, kv{"t", "12345"}),
		"n negative":       ping(omap{{"id", idA}}, kv{"n", -1}),
		"s not bool":       ping(omap{{"id", idA}}, kv{"s", 1}),
		"v as int":         ping(omap{{"id", idA}}, kv{"v", 1}),
		"q as int":         enc(omap{{"r", omap{{"id", idA}}}, {"q", 1}}),
		"unknown q":        req("store", omap{{"id", idA}}),
		"no q":             enc(omap{{"a", omap{{"id", idA}}}}),
		"y is r, no body":  enc(omap{{"a", omap{{"id", idA}}}, {"q", "ping"}, {"y", "r"}}),
		"y as int":         enc(omap{{"a", omap{{"id", idA}}}, {"q", "ping"}, {"y", 1}}),
		"no a":             enc(omap{{"q", "ping"}, {"t", 1}}),
		"a not a map":      enc(omap{{"a", []any{}}, {"q", "ping"}}),
		"r not a map":      enc(omap{{"r", 5}}),
		"e not array":      enc(omap{{"e", 401}, {"r", omap{{"id", idA}}}}),
		"e empty":          enc(omap{{"e", []any{}}, {"r", omap{{"id", idA}}}}),
		"e code too big":   enc(omap{{"e", []any{70000, "x"}}, {"r", omap{{"id", idA}}}}),
		"reply n4 25":      enc(omap{{"r", omap{{"id", idA}, {"n4", bin(make([]byte, 25))}}}}),
		"update n6 39":     enc(omap{{"u", omap{{"id", idA}, {"n6", bin(make([]byte, 39))}}}}),
		"p not a map":      enc(omap{{"p", []any{}}, {"t", 1}}),
		"p entry not map":  enc(omap{{"p", omap{{0, 1}}}, {"t", 1}}),
		"p index negative": enc(omap{{"p", omap{{-1, omap{{"o", 0}, {"d", bin{1}}}}}}}),
		"p offset str":     enc(omap{{"p", omap{{0, omap{{"o", "0"}, {"d", bin{1}}}}}}}),
		"p data int":       enc(omap{{"p", omap{{0, omap{{"o", 0}, {"d", 1}}}}}}),
		"huge array":       append([]byte{0x81, 0xa2, 'z', 'z', 0xdd, 0xff, 0xff, 0xff, 0xff}, 0x01),
		"huge str":         []byte{0x81, 0xa2, 'z', 'z', 0xdb, 0xff, 0xff, 0xff, 0xff, 0x01},
	}
	for name, b := range cases {
		if m, err := Decode(b); err == nil {
			t.Errorf("%s: accepted as %v", name, m.Kind)
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v does not match ErrMalformed", name, err)
		}
	}
}

// TestDecodePartsEntries checks value-part parsing details.
func TestDecodePartsEntries(t *testing.T) {
	// Entries without "o" or "d" are skipped before their index is read.
	m := mustDecode(t, enc(omap{{"y", "p"}, {"t", 4}, {"p", omap{
		{"bad-index-but-skipped", omap{{"o", 0}}},
		{1, omap{{"d", "x"}, {"o", 10}, {"z", 1}}},
		{0, omap{{"o", 0}, {"d", []any{7, 8}}}},
	}}}))
	if m.Kind != KindValueData || m.TID != 4 || len(m.Parts) != 2 {
		t.Fatalf("parts: %+v", m)
	}
	if p := m.Parts[0]; p.Index != 1 || p.Offset != 10 || string(p.Data) != "x" {
		t.Errorf("part 0: %+v", p)
	}
	if p := m.Parts[1]; p.Index != 0 || !bytes.Equal(p.Data, []byte{7, 8}) {
		t.Errorf("part 1: %+v", p)
	}
	// A value part is classified before the sender id is looked at, and
	// a garbage "a" does not matter to it.
	m = mustDecode(t, enc(omap{{"a", 5}, {"p", omap{}}, {"n", 3}}))
	if m.Kind != KindValueData || m.Net != 3 {
		t.Errorf("part with odd a: %+v", m)
	}
}

// TestDecodeReuse checks that a reused Message does not leak fields from
// the previous datagram.
func TestDecodeReuse(t *testing.T) {
	var m Message
	big := req("put", omap{{"id", idA}, {"h", keyB}, {"c", 5}, {"values", []any{1000}}, {"token", bin{1}}, {"re", []any{1}}})
	if err := m.Decode(big); err != nil {
		t.Fatal(err)
	}
	if err := m.Decode(req("ping", omap{{"id", idA}})); err != nil {
		t.Fatal(err)
	}
	if m.HasCreated || len(m.Sizes) != 0 || m.Token != nil || len(m.Refreshed) != 0 || !m.Hash.IsZero() || m.InlineValues {
		t.Errorf("stale fields: %+v", m)
	}
}
