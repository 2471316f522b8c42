package wire

import (
	"net/netip"
	"testing"
)

// Benchmarks of the per-datagram hot paths. The engine's budget is a few
// microseconds and no allocation per message: decode into a reused
// Message, encode into a reused buffer.

func captureBytes(b *testing.B, from, name string) []byte {
	for _, c := range loadCaptures(b) {
		if c.From == from && c.Name == name {
			return c.raw
		}
	}
	b.Fatalf("no capture %s", name)
	return nil
}

func benchDecode(b *testing.B, raw []byte) {
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := m.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePing(b *testing.B) { benchDecode(b, captureBytes(b, "probe", "ping")) }
func BenchmarkDecodeGet(b *testing.B)  { benchDecode(b, captureBytes(b, "python", "get")) }
func BenchmarkDecodePut(b *testing.B)  { benchDecode(b, captureBytes(b, "python", "put")) }
func BenchmarkDecodeFindReply(b *testing.B) {
	benchDecode(b, captureBytes(b, "dhtnode", "find/reply"))
}
func BenchmarkDecodeGetReplyValues(b *testing.B) {
	benchDecode(b, captureBytes(b, "dhtnode", "get-values/reply"))
}
func BenchmarkDecodeValuePart(b *testing.B) {
	benchDecode(b, captureBytes(b, "dhtnode", "get-big/value-part"))
}

func benchEncode(b *testing.B, m *Message) {
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = m.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkEncodePong(b *testing.B) {
	benchEncode(b, &Message{Kind: KindReply, TID: 0xea3f02ad, UA: []byte(UserAgent), ID: InfoHash(idA),
		Addr: netip.MustParseAddr("127.0.0.1")})
}

// A get reply with 8 IPv4 nodes, a token and one inline value.
func BenchmarkEncodeGetReply(b *testing.B) {
	benchEncode(b, &Message{Kind: KindReply, TID: 0xea3f02ad, UA: []byte(UserAgent), ID: InfoHash(idA),
		Addr: netip.MustParseAddr("127.0.0.1"), Nodes4: make([]byte, 8*NodeInfo4Len), Token: make([]byte, 32),
		Values: [][]byte{enc(omap{{"id", uint64(1 << 63)}, {"dat", omap{{"body", omap{{"type", 0}, {"data", bin(make([]byte, 200))}}}}}})}})
}

func BenchmarkEncodePut(b *testing.B) {
	m, err := Decode(captureBytes(b, "python", "put"))
	if err != nil {
		b.Fatal(err)
	}
	m.InlineValues = false
	benchEncode(b, m)
}

func BenchmarkValueParts(b *testing.B) {
	v := [][]byte{enc(bin(make([]byte, 20000)))}
	buf := make([]byte, 0, 1400)
	b.ReportAllocs()
	b.SetBytes(int64(len(v[0])))
	for b.Loop() {
		_ = ValueParts(0, 1, v, buf, func([]byte) error { return nil })
	}
}
