package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func mustEncode(t *testing.T, m *Message) []byte {
	t.Helper()
	b, err := m.AppendBinary(nil)
	if err != nil {
		t.Fatalf("encode %v message: %v", m.Kind, err)
	}
	return b
}

// TestEncodeNetworkAndClient checks where "n" and "s" go: "n" after "v"
// (and first in value parts), "s" last, as OpenDHT writes them.
func TestEncodeNetworkAndClient(t *testing.T) {
	id := InfoHash(idA)
	got := mustEncode(t, &Message{Kind: KindPing, TID: 1, UA: []byte(UserAgent), Net: 300, ID: id, Client: true})
	want := enc(omap{{"a", omap{{"id", idA}}}, {"q", "ping"}, {"t", 1}, {"y", "q"}, {"v", "RNG1"}, {"n", 300}, {"s", true}})
	if !bytes.Equal(got, want) {
		t.Errorf("ping\n got %x\nwant %x", got, want)
	}
	got = mustEncode(t, &Message{Kind: KindReply, TID: 2, UA: []byte(UserAgent), Net: 1, ID: id, VID: 9, Addr: netip.MustParseAddr("10.0.0.1")})
	want = enc(omap{{"r", omap{{"id", idA}, {"vid", 9}, {"sa", bin{10, 0, 0, 1}}}}, {"t", 2}, {"y", "r"}, {"v", "RNG1"}, {"n", 1}})
	if !bytes.Equal(got, want) {
		t.Errorf("put reply\n got %x\nwant %x", got, want)
	}
	got = AppendValuePart(nil, 7, 3, 1, 1280, []byte("xy"))
	want = enc(omap{{"n", 7}, {"y", "p"}, {"t", 3}, {"p", omap{{1, omap{{"o", 1280}, {"d", bin("xy")}}}}}})
	if !bytes.Equal(got, want) {
		t.Errorf("part\n got %x\nwant %x", got, want)
	}
	got = mustEncode(t, &Message{Kind: KindError, TID: 4, UA: []byte(UserAgent), Net: 2, ID: id, ErrCode: 404, ErrText: []byte(ErrTextStorageNotFound)})
	want = enc(omap{{"e", []any{404, ErrTextStorageNotFound}}, {"r", omap{{"id", idA}}}, {"t", 4}, {"y", "e"}, {"v", "RNG1"}, {"n", 2}})
	if !bytes.Equal(got, want) {
		t.Errorf("error\n got %x\nwant %x", got, want)
	}
}

// TestEncodeLayouts checks the argument order of each request as 2.4.12's
// send functions write it, for the messages the captures do not cover.
func TestEncodeLayouts(t *testing.T) {
	id, key := InfoHash(idA), InfoHash(keyB)
	tok := bytes.Repeat([]byte{1}, 32)
	q := enc(omap{{"s", []any{1}}, {"w", []any{}}})
	val := enc(omap{{"id", 5}, {"dat", omap{{"body", omap{{"type", 0}, {"data", bin("x")}}}}}})
	tail := []kv{{"t", 9}, {"y", "q"}, {"v", "RNG1"}}
	cases := []struct {
		m    Message
		args omap
		q    string
	}{
		{Message{Kind: KindGet, Hash: key, Query: q, Want: Want4 | Want6},
			omap{{"id", idA}, {"h", keyB}, {"q", raw(q)}, {"w", []any{2, 10}}}, "get"},
		{Message{Kind: KindFind, Target: key, Want: Want6},
			omap{{"id", idA}, {"target", keyB}, {"w", []any{10}}}, "find"},
		{Message{Kind: KindListen, Hash: key, Token: tok, SID: 77, Version: 1, Query: q},
			omap{{"id", idA}, {"ve", 1}, {"h", keyB}, {"token", bin(tok)}, {"sid", 77}, {"q", raw(q)}}, "listen"},
		{Message{Kind: KindRefresh, Hash: key, VID: 1 << 40, Token: tok},
			omap{{"id", idA}, {"h", keyB}, {"vid", uint64(1 << 40)}, {"token", bin(tok)}}, "refresh"},
		{Message{Kind: KindPut, Hash: key, Token: tok, Values: [][]byte{val}, Created: 1700000000, HasCreated: true},
			omap{{"id", idA}, {"h", keyB}, {"values", []any{raw(val)}}, {"c", 1700000000}, {"token", bin(tok)}}, "put"},
		{Message{Kind: KindUpdate, Hash: key, SID: 3, Version: 1, Token: tok, Values: [][]byte{val}, Created: 5, HasCreated: true},
			omap{{"id", idA}, {"ve", 1}, {"h", keyB}, {"sid", 3}, {"values", []any{raw(val)}}, {"c", 5}, {"token", bin(tok)}}, "update"},
	}
	for _, c := range cases {
		c.m.ID, c.m.TID, c.m.UA = id, 9, []byte(UserAgent)
		got := mustEncode(t, &c.m)
		want := enc(append(omap{{"a", c.args}, {"q", c.q}}, tail...))
		if !bytes.Equal(got, want) {
			t.Errorf("%s\n got %x\nwant %x", c.q, got, want)
		}
	}
	// Expired notification: (a, y, v, n, q, t) order, no h, no ve.
	got := mustEncode(t, &Message{Kind: KindUpdate, TID: 9, UA: []byte(UserAgent), Net: 4, ID: id, SID: 3, Expired: []uint64{7}})
	want := enc(omap{{"a", omap{{"id", idA}, {"sid", 3}, {"exp", []any{7}}}}, {"y", "q"}, {"v", "RNG1"}, {"n", 4}, {"q", "update"}, {"t", 9}})
	if !bytes.Equal(got, want) {
		t.Errorf("expired\n got %x\nwant %x", got, want)
	}
	// Legacy "u": (u, y:"r", v, n, t=sid).
	got = mustEncode(t, &Message{Kind: KindValueUpdate, TID: 88, UA: []byte(UserAgent), ID: id, Token: tok, Refreshed: []uint64{1}})
	want = enc(omap{{"u", omap{{"id", idA}, {"token", bin(tok)}, {"re", []any{1}}}}, {"y", "r"}, {"v", "RNG1"}, {"t", 88}})
	if !bytes.Equal(got, want) {
		t.Errorf("legacy update\n got %x\nwant %x", got, want)
	}
	// A reply with everything, in sendNodesValues order.
	got = mustEncode(t, &Message{Kind: KindReply, TID: 1, ID: id, Addr: netip.MustParseAddr("::1"),
		Nodes4: make([]byte, 26), Nodes6: make([]byte, 38), Token: tok, Fields: enc(omap{{"f", []any{1}}, {"v", []any{5}}})})
	want = enc(omap{{"r", omap{{"id", idA}, {"sa", bin(netip.MustParseAddr("::1").AsSlice())}, {"n4", bin(make([]byte, 26))},
		{"n6", bin(make([]byte, 38))}, {"token", bin(tok)}, {"fileds", omap{{"f", []any{1}}, {"v", []any{5}}}}}}, {"t", 1}, {"y", "r"}})
	if !bytes.Equal(got, want) {
		t.Errorf("full reply\n got %x\nwant %x", got, want)
	}
}

func TestNeedsParts(t *testing.T) {
	vals := func(n, size int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			n := size - 2 // bin8 header
			if n > 255 {
				n = size - 3 // bin16 header
			}
			out[i] = enc(bin(make([]byte, n)))
			if len(out[i]) != size {
				panic("test value size")
			}
		}
		return out
	}
	for _, c := range []struct {
		n, size int
		parts   bool
	}{
		{0, 0, false}, {1, 599, false}, {1, 600, true}, {2, 300, true}, {49, 12, false}, {50, 3, true},
	} {
		v := vals(c.n, max(c.size, 2))
		if got := NeedsParts(v); got != c.parts {
			t.Errorf("%d values of %d bytes: NeedsParts %v", c.n, c.size, got)
		}
		m := &Message{Kind: KindReply, Values: v}
		b := mustEncode(t, m)
		d := mustDecode(t, b)
		if c.n > 0 && (len(d.Sizes) > 0) != c.parts {
			t.Errorf("%d values of %d bytes: header %+v", c.n, c.size, d)
		}
		if m.NeedsParts() != c.parts {
			t.Errorf("Message.NeedsParts %v", m.NeedsParts())
		}
	}
	// A decoded message keeps inline values inline, whatever their size.
	m := mustDecode(t, enc(omap{{"r", omap{{"id", idA}, {"values", []any{bin(make([]byte, 1000))}}}}}))
	if m.NeedsParts() || len(mustDecode(t, mustEncode(t, m)).Sizes) != 0 {
		t.Errorf("decoded inline values re-encoded as parts")
	}
}

func TestEncodeErrors(t *testing.T) {
	cases := map[string]*Message{
		"kind":        {Kind: KindInvalid},
		"kind 200":    {Kind: 200},
		"bad value":   {Kind: KindPut, Values: [][]byte{{0x92, 0x01}}},
		"two objects": {Kind: KindPut, Values: [][]byte{{0x01, 0x02}}},
		"bad query":   {Kind: KindGet, Query: []byte{}},
		"bad fileds":  {Kind: KindReply, Fields: []byte{0x81}},
		"sizes":       {Kind: KindReply, Sizes: []ValueSize{{Index: 3, Size: 10}}},
		"too large":   {Kind: KindPut, Values: [][]byte{enc(bin(make([]byte, MaxPartValueSize)))}},
	}
	for name, m := range cases {
		if b, err := m.AppendBinary(nil); err == nil {
			t.Errorf("%s: encoded %x", name, b)
		}
	}
	err := ValueParts(0, 1, [][]byte{make([]byte, MaxPartValueSize+1)}, nil, func([]byte) error { return nil })
	if !errors.Is(err, ErrValueTooLarge) {
		t.Errorf("ValueParts: %v", err)
	}
}

// TestExplicitSizes checks that a header with Sizes re-encodes exactly,
// inline values interleaved where they were.
func TestExplicitSizes(t *testing.T) {
	b := enc(omap{{"r", omap{{"id", idA}, {"values", []any{700, omap{{"id", 1}}, 800}}}}, {"t", 1}, {"y", "r"}})
	m := mustDecode(t, b)
	if len(m.Sizes) != 2 || m.Sizes[1].Index != 2 || len(m.Values) != 1 {
		t.Fatalf("%+v", m)
	}
	if got := mustEncode(t, m); !bytes.Equal(got, b) {
		t.Errorf("\n got %x\nwant %x", got, b)
	}
}

func TestValuePartsSplit(t *testing.T) {
	for _, n := range []int{0, 1, MTU - 1, MTU, MTU + 1, 3 * MTU, MaxPartValueSize} {
		v := make([]byte, n)
		for i := range v {
			v[i] = byte(i * 7)
		}
		var chunks [][]byte
		var offs []uint64
		err := ValueParts(0, 5, [][]byte{{0xc0}, v}, make([]byte, 0, 2000), func(d []byte) error {
			p := mustDecode(t, d)
			if p.Kind != KindValueData || p.TID != 5 || len(p.Parts) != 1 {
				t.Fatalf("part %+v", p)
			}
			if p.Parts[0].Index == 1 {
				chunks = append(chunks, append([]byte(nil), p.Parts[0].Data...))
				offs = append(offs, p.Parts[0].Offset)
			}
			if len(d) > MTU+30 {
				t.Errorf("datagram of %d bytes", len(d))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := max(1, (n+MTU-1)/MTU)
		if len(chunks) != want || !bytes.Equal(bytes.Join(chunks, nil), v) {
			t.Errorf("%d bytes: %d chunks, want %d", n, len(chunks), want)
		}
		for i, o := range offs {
			if o != uint64(i*MTU) {
				t.Errorf("%d bytes: chunk %d at %d", n, i, o)
			}
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := ValueParts(0, 1, [][]byte{make([]byte, 5000)}, nil, func([]byte) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("emit error: %v after %d calls", err, calls)
	}
}

func TestClone(t *testing.T) {
	caps := loadCaptures(t)
	for _, c := range caps {
		buf := append([]byte(nil), c.raw...)
		m := mustDecode(t, buf)
		cl := m.Clone()
		for i := range buf {
			buf[i] = 0xc1
		}
		got := mustEncode(t, cl)
		if !bytes.Equal(got, c.raw) {
			t.Fatalf("%s: clone shares the datagram", c.Name)
		}
	}
}
