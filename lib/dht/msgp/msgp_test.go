package msgp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
)

// h decodes hex with optional spaces.
func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStringAndBinForms(t *testing.T) {
	for _, n := range []int{0, 31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("x", n)
		b := AppendStr(nil, s)
		var hdr []byte
		switch {
		case n < 32:
			hdr = []byte{0xa0 | byte(n)}
		case n < 256:
			hdr = []byte{0xd9, byte(n)}
		case n < 65536:
			hdr = []byte{0xda, byte(n >> 8), byte(n)}
		default:
			hdr = []byte{0xdb, 0, byte(n >> 16), byte(n >> 8), byte(n)}
		}
		if !bytes.HasPrefix(b, hdr) || len(b) != len(hdr)+n {
			t.Errorf("str %d: header % x", n, b[:min(len(b), 5)])
		}
		if sb := AppendStr(nil, []byte(s)); !bytes.Equal(sb, b) {
			t.Errorf("str %d: bytes and string forms differ", n)
		}
		bb := AppendBin(nil, []byte(s))
		switch {
		case n < 256:
			hdr = []byte{0xc4, byte(n)}
		case n < 65536:
			hdr = []byte{0xc5, byte(n >> 8), byte(n)}
		default:
			hdr = []byte{0xc6, 0, byte(n >> 16), byte(n >> 8), byte(n)}
		}
		if !bytes.HasPrefix(bb, hdr) || len(bb) != len(hdr)+n {
			t.Errorf("bin %d: header % x", n, bb[:min(len(bb), 5)])
		}
	}
}

// msgpack-c's packer: smallest form, unsigned forms for v >= 0.
func TestSmallestIntegerForms(t *testing.T) {
	uints := []struct {
		v    uint64
		want string
	}{
		{0, "00"}, {0x7f, "7f"}, {0x80, "cc80"}, {0xff, "ccff"}, {0x100, "cd0100"},
		{0xffff, "cdffff"}, {0x10000, "ce00010000"}, {math.MaxUint32, "ceffffffff"},
		{1 << 32, "cf0000000100000000"}, {math.MaxUint64, "cfffffffffffffffff"},
	}
	for _, c := range uints {
		if got := AppendUint(nil, c.v); !bytes.Equal(got, h(t, c.want)) {
			t.Errorf("uint %d: %x, want %s", c.v, got, c.want)
		}
		if c.v <= math.MaxInt64 {
			if got := AppendInt(nil, int64(c.v)); !bytes.Equal(got, h(t, c.want)) {
				t.Errorf("int %d: %x, want %s", c.v, got, c.want)
			}
		}
	}
	ints := []struct {
		v    int64
		want string
	}{
		{-1, "ff"}, {-32, "e0"}, {-33, "d0df"}, {math.MinInt8, "d080"}, {math.MinInt8 - 1, "d1ff7f"},
		{math.MinInt16, "d18000"}, {math.MinInt16 - 1, "d2ffff7fff"}, {math.MinInt32, "d280000000"},
		{math.MinInt32 - 1, "d3ffffffff7fffffff"}, {math.MinInt64, "d38000000000000000"},
	}
	for _, c := range ints {
		if got := AppendInt(nil, c.v); !bytes.Equal(got, h(t, c.want)) {
			t.Errorf("int %d: %x, want %s", c.v, got, c.want)
		}
	}
}

func TestHeaderForms(t *testing.T) {
	cases := []struct {
		got  []byte
		want string
	}{
		{AppendMapHeader(nil, 0), "80"}, {AppendMapHeader(nil, 15), "8f"}, {AppendMapHeader(nil, 16), "de0010"},
		{AppendMapHeader(nil, 65535), "deffff"}, {AppendMapHeader(nil, 65536), "df00010000"},
		{AppendArrayHeader(nil, 0), "90"}, {AppendArrayHeader(nil, 15), "9f"}, {AppendArrayHeader(nil, 16), "dc0010"},
		{AppendArrayHeader(nil, 65535), "dcffff"}, {AppendArrayHeader(nil, 65536), "dd00010000"},
		{AppendBool(nil, true), "c3"}, {AppendBool(nil, false), "c2"},
	}
	for i, c := range cases {
		if !bytes.Equal(c.got, h(t, c.want)) {
			t.Errorf("case %d: %x, want %s", i, c.got, c.want)
		}
	}
}

// msgpack-c's typing on read: signed forms of non-negative numbers are
// positive integers; as<T> refuses other types and out-of-range values.
func TestReadTyping(t *testing.T) {
	uintCases := []struct {
		in   string
		max  uint64
		want uint64
		err  error
	}{
		{"05", 255, 5, nil},
		{"d005", 255, 5, nil},
		{"d30000000000000100", math.MaxUint64, 256, nil},
		{"cd0100", 255, 0, ErrRange},
		{"ff", math.MaxUint64, 0, ErrType},
		{"d0ff", math.MaxUint64, 0, ErrType},
		{"a131", math.MaxUint64, 0, ErrType},
		{"c3", math.MaxUint64, 0, ErrType},
		{"cd01", math.MaxUint64, 0, ErrTruncated},
		{"", math.MaxUint64, 0, ErrTruncated},
		{"c1", math.MaxUint64, 0, ErrReserved},
	}
	for _, c := range uintCases {
		r := NewReader(h(t, c.in))
		got, err := r.Uint(c.max)
		if got != c.want || err != c.err {
			t.Errorf("Uint(%s, %d) = %d, %v; want %d, %v", c.in, c.max, got, err, c.want, c.err)
		}
	}
	intCases := []struct {
		in   string
		want int64
		err  error
	}{
		{"ff", -1, nil}, {"d0ff", -1, nil}, {"d1ff7f", -129, nil}, {"7f", 127, nil},
		{"d280000000", math.MinInt32, nil},
		{"d3ffffffff7fffffff", 0, ErrRange}, {"ce80000000", 0, ErrRange}, {"c0", 0, ErrType},
	}
	for _, c := range intCases {
		r := NewReader(h(t, c.in))
		got, err := r.Int(math.MinInt32, math.MaxInt32)
		if got != c.want || err != c.err {
			t.Errorf("Int(%s) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
		}
	}
	// Text: str or bin. Bin: bin only. Blob: also arrays of bytes.
	for _, in := range []string{"a26869", "c4026869", "d9026869"} {
		r := NewReader(h(t, in))
		if p, err := r.Text(); err != nil || string(p) != "hi" {
			t.Errorf("Text(%s) = %q, %v", in, p, err)
		}
		r = NewReader(h(t, in))
		if p, err := r.Blob(); err != nil || string(p) != "hi" {
			t.Errorf("Blob(%s) = %q, %v", in, p, err)
		}
	}
	r := NewReader(h(t, "a26869"))
	if _, err := r.Bin(); err != ErrType {
		t.Errorf("Bin of a str: %v", err)
	}
	r = NewReader(h(t, "9268cc69"))
	if p, err := r.Blob(); err != nil || string(p) != "hi" {
		t.Errorf("Blob of an array: %q, %v", p, err)
	}
	r = NewReader(h(t, "91cd0100"))
	if _, err := r.Blob(); err != ErrRange {
		t.Errorf("Blob with 256: %v", err)
	}
	r = NewReader(h(t, "c3c2"))
	if v, err := r.Bool(); !v || err != nil {
		t.Errorf("Bool c3: %v %v", v, err)
	}
	if v, err := r.Bool(); v || err != nil {
		t.Errorf("Bool c2: %v %v", v, err)
	}
	// Head: floats give their bits, ext its payload without the type byte.
	r = NewReader(h(t, "ca3f800000 d50701 02"))
	if k, u, _, err := r.Head(); k != KindFloat || math.Float32frombits(uint32(u)) != 1 || err != nil {
		t.Errorf("float: %v %x %v", k, u, err)
	}
	if k, _, p, err := r.Head(); k != KindExt || !bytes.Equal(p, []byte{1, 2}) || err != nil {
		t.Errorf("ext: %v %x %v", k, p, err)
	}
}

// Every declared length is checked against what is left before use.
func TestHostileLengths(t *testing.T) {
	huge := []string{
		"ddffffffff 01",   // array of 2^32-1
		"dfffffffff 0101", // map of 2^32-1 pairs
		"dbffffffff 01",   // str of 2^32-1 bytes
		"c6ffffffff 01",   // bin
		"c9ffffffff 01",   // ext
		"82 01",           // map of 2 pairs, 1 byte
	}
	for _, in := range huge {
		b := h(t, in)
		r := NewReader(b)
		if k, _, _, err := r.Head(); err != ErrTruncated && k != KindArray && k != KindMap {
			t.Errorf("Head(%s): %v", in, err)
		}
		r = NewReader(b)
		if _, err := r.Raw(); err != ErrTruncated {
			t.Errorf("Raw(%s): %v", in, err)
		}
		r = NewReader(b)
		if k, _, _, _ := r.Head(); k == KindArray || k == KindMap {
			r.Seek(0)
			if _, err := r.Container(k); err != ErrTruncated {
				t.Errorf("Container(%s): %v", in, err)
			}
		}
	}
	// A type error wins over a count that does not fit.
	r := NewReader(h(t, "ddffffffff"))
	if _, err := r.Container(KindMap); err != ErrType {
		t.Errorf("Container(map) of a huge array: %v", err)
	}
	r = NewReader(h(t, "ddffffffff"))
	if _, err := r.Container(KindArray); err != ErrTruncated {
		t.Errorf("Container(array) of a huge array: %v", err)
	}
	r = NewReader(h(t, "ddffffffff"))
	if _, err := r.Blob(); err != ErrTruncated {
		t.Errorf("Blob of a huge array: %v", err)
	}
	// Deep nesting costs no stack: a million nested arrays.
	deep := append(bytes.Repeat([]byte{0x91}, 1_000_000), 0xc0)
	r = NewReader(deep)
	if raw, err := r.Raw(); err != nil || len(raw) != len(deep) {
		t.Errorf("deep nesting: %d bytes, %v", len(raw), err)
	}
	if _, err := readerOf(deep[:len(deep)-1]).Raw(); err != ErrTruncated {
		t.Errorf("deep nesting, truncated: %v", err)
	}
}

// readerOf is NewReader for a one-off read in a test expression.
func readerOf(b []byte) *Reader { r := NewReader(b); return &r }

// Raw gives the exact bytes of one object, and returned slices cannot be
// appended into the input that follows them.
func TestRawSpan(t *testing.T) {
	in := h(t, "82 a1 61 92 01 c4 01 ff a1 62 c0 07")
	r := NewReader(in)
	raw, err := r.Raw()
	if err != nil || !bytes.Equal(raw, in[:len(in)-1]) || r.Pos() != len(in)-1 {
		t.Fatalf("Raw = %x, %v, pos %d", raw, err, r.Pos())
	}
	_ = append(raw, 0xee)
	if in[len(in)-1] != 0x07 {
		t.Fatal("appending to a span overwrote the input")
	}
	r.Seek(0)
	if k, n, _, err := r.Head(); k != KindMap || n != 2 || err != nil {
		t.Errorf("Head after Seek: %v %d %v", k, n, err)
	}
}

// Maps are read as OpenDHT's findMapValue sees them.
func TestMapLookup(t *testing.T) {
	// Non-str keys (even containers) are skipped, the first str key wins,
	// trailing bytes are ignored.
	in := h(t, "85 01 02 91 a1 78 03 c4 01 78 04 a1 78 05 a1 78 06 ffff")
	m, err := ReadMap(in)
	if err != nil || len(m) != len(in)-2 {
		t.Fatalf("ReadMap: %x, %v", m, err)
	}
	if v := m.Find("x"); !bytes.Equal(v, []byte{5}) {
		t.Errorf("Find(x) = %x", v)
	}
	if v := m.Find("y"); v != nil {
		t.Errorf("Find(y) = %x", v)
	}
	// Key reports non-str keys and consumes them whole.
	r := NewReader(in)
	if _, err := r.Container(KindMap); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for range 5 {
		k, ok, err := r.Key()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			keys = append(keys, string(k))
		} else {
			keys = append(keys, "-")
		}
		if err := r.Skip(); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(keys, ","); got != "-,-,-,x,x" {
		t.Errorf("keys %s", got)
	}
	// A broken entry after the key fails the whole map, as in msgpack-c.
	for _, bad := range []string{"82 a1 78 01 a1 79 c1", "82 a1 78 01 a1 79", "92 01 02", "c0", ""} {
		if _, err := ReadMap(h(t, bad)); err == nil {
			t.Errorf("ReadMap(%s) accepted", bad)
		}
	}
	if _, err := ReadMap(h(t, "92 01 02")); !errors.Is(err, ErrType) {
		t.Errorf("ReadMap of an array: %v", err)
	}
	// A Map that did not come from ReadMap finds nothing and does not panic.
	if v := Map(h(t, "83 a1 78")).Find("x"); v != nil {
		t.Errorf("Find in junk: %x", v)
	}
}

// Reading allocates nothing: the DHT decodes every datagram this way.
func TestReadAllocatesNothing(t *testing.T) {
	in := AppendMapHeader(nil, 4)
	in = AppendStr(AppendStr(in, "v"), "RNG1")
	in = AppendUint(AppendStr(in, "t"), 0xdeadbeef)
	in = AppendBin(AppendStr(in, "id"), make([]byte, 20))
	in = AppendBool(AppendStr(in, "s"), true)
	allocs := testing.AllocsPerRun(100, func() {
		m, err := ReadMap(in)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(m.Find("t"))
		if v, err := r.Uint(math.MaxUint32); v != 0xdeadbeef || err != nil {
			t.Fatal(v, err)
		}
		r = NewReader(in)
		n, _ := r.Container(KindMap)
		for range n {
			if _, _, err := r.Key(); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Raw(); err != nil {
				t.Fatal(err)
			}
		}
		r = NewReader([]byte{0xc1})
		if r.Skip() == nil {
			t.Fatal("0xc1 skipped")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per read", allocs)
	}
}
