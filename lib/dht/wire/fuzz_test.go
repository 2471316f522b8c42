package wire

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// sameMessage reports the first difference between two messages, treating
// nil and empty slices alike ("" when equal).
func sameMessage(a, b *Message) string {
	type field struct {
		name string
		x, y any
	}
	scal := []field{
		{"Kind", a.Kind, b.Kind}, {"TID", a.TID, b.TID}, {"Net", a.Net, b.Net}, {"Client", a.Client, b.Client},
		{"ID", a.ID, b.ID}, {"Hash", a.Hash, b.Hash}, {"Target", a.Target, b.Target}, {"Want", a.Want, b.Want},
		{"VID", a.VID, b.VID}, {"Addr", a.Addr, b.Addr}, {"Created", a.Created, b.Created},
		{"HasCreated", a.HasCreated, b.HasCreated}, {"SID", a.SID, b.SID}, {"Version", a.Version, b.Version},
		{"ErrCode", a.ErrCode, b.ErrCode}, {"InlineValues", a.InlineValues, b.InlineValues},
	}
	for _, f := range scal {
		if f.x != f.y {
			return fmt.Sprintf("%s: %v vs %v", f.name, f.x, f.y)
		}
	}
	blobs := []field{
		{"UA", a.UA, b.UA}, {"Query", a.Query, b.Query}, {"Token", a.Token, b.Token}, {"Nodes4", a.Nodes4, b.Nodes4},
		{"Nodes6", a.Nodes6, b.Nodes6}, {"Fields", a.Fields, b.Fields}, {"ErrText", a.ErrText, b.ErrText},
	}
	for _, f := range blobs {
		if !bytes.Equal(f.x.([]byte), f.y.([]byte)) {
			return fmt.Sprintf("%s: %x vs %x", f.name, f.x, f.y)
		}
	}
	if (a.Query == nil) != (b.Query == nil) || (a.Fields == nil) != (b.Fields == nil) {
		return "presence of Query or Fields"
	}
	if !slices.EqualFunc(a.Values, b.Values, bytes.Equal) {
		return "Values"
	}
	if !slices.Equal(a.Sizes, b.Sizes) || !slices.Equal(a.Refreshed, b.Refreshed) || !slices.Equal(a.Expired, b.Expired) {
		return "Sizes, Refreshed or Expired"
	}
	if !slices.EqualFunc(a.Parts, b.Parts, func(x, y Part) bool {
		return x.Index == y.Index && x.Offset == y.Offset && bytes.Equal(x.Data, y.Data)
	}) {
		return "Parts"
	}
	return ""
}

func addCaptureSeeds(f *testing.F) {
	for _, c := range loadCaptures(f) {
		f.Add(c.raw)
	}
	for _, c := range appendixA {
		f.Add(unhex(f, c.hex))
	}
}

// FuzzDecode: Decode never panics; whatever it accepts re-encodes without
// error, decodes again to the same message, and re-encodes to the same
// bytes (the encoding of a decoded message is a fixed point).
func FuzzDecode(f *testing.F) {
	addCaptureSeeds(f)
	f.Add(enc(omap{{"p", omap{{0, omap{{"o", 0}, {"d", []any{1, 2}}}}}}, {"t", "abcd"}}))
	f.Add(enc(omap{{"e", []any{203}}, {"a", omap{{"id", idA}, {"sa", bin{1, 2, 3, 4}}, {"h", keyB}}}}))
	f.Add(enc(omap{{"r", omap{{"id", idA}, {"values", []any{700, omap{}, 800}}, {"w", []any{2, "x"}}}}, {"s", true}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m1 Message
		if m1.Decode(b) != nil {
			return
		}
		e1, err := m1.AppendBinary(nil)
		if err != nil {
			t.Fatalf("re-encoding a decoded %v: %v", m1.Kind, err)
		}
		var m2 Message
		if err := m2.Decode(e1); err != nil {
			t.Fatalf("decoding our encoding %x: %v", e1, err)
		}
		if d := sameMessage(&m1, &m2); d != "" {
			t.Fatalf("round trip changed %s\n in %x\nout %x", d, b, e1)
		}
		e2, err := m2.AppendBinary(nil)
		if err != nil || !bytes.Equal(e1, e2) {
			t.Fatalf("second encoding differs: %v\n%x\n%x", err, e1, e2)
		}
		if c := m1.Clone(); sameMessage(c, &m1) != "" {
			t.Fatalf("clone differs: %s", sameMessage(c, &m1))
		}
	})
}

// FuzzReassemble feeds a header and value-part datagrams in any order to a
// Reassembler with small limits: no panic, memory within the limits, a
// completed message has every value at its declared size, and expiry
// releases everything.
func FuzzReassemble(f *testing.F) {
	v := enc(bin(blob(3000, 5)))
	hdr := mustEncodeF(&Message{Kind: KindPut, TID: 3, ID: InfoHash(idA), Hash: InfoHash(keyB), Token: []byte("t"), Values: [][]byte{v}})
	var parts [][]byte
	_ = ValueParts(0, 3, [][]byte{v}, nil, func(d []byte) error { parts = append(parts, append([]byte(nil), d...)); return nil })
	f.Add(hdr, parts[0], parts[1], parts[2], uint8(0))
	f.Add(hdr, parts[2], parts[0], parts[1], uint8(0x15))
	f.Add(hdr, parts[1], parts[1], parts[0], uint8(0xff))
	caps := loadCaptures(f)
	for i, c := range caps {
		if c.Name == "get-big/reply" && i+3 < len(caps) {
			f.Add(c.raw, caps[i+1].raw, caps[i+2].raw, caps[i+3].raw, uint8(1))
		}
	}
	f.Fuzz(func(t *testing.T, h, p1, p2, p3 []byte, gaps uint8) {
		cfg := ReassemblerConfig{MaxMessageBytes: 8000, MaxPeerBytes: 10000, MaxTotalBytes: 12000, MaxPeerSessions: 2, MaxSessions: 3}
		r := NewReassembler(cfg)
		from := netip.MustParseAddrPort("192.0.2.7:9")
		now := t0
		var m Message
		for i, d := range [][]byte{h, p1, p2, p3} {
			now = now.Add(time.Duration(gaps>>(2*i)&3) * 1500 * time.Millisecond)
			if m.Decode(d) != nil {
				continue
			}
			var done *Message
			switch {
			case m.Kind == KindValueData:
				done, _ = r.Add(from, &m, now)
			case len(m.Sizes) > 0:
				done, _ = r.Start(from, &m, now)
			}
			if r.Bytes() > cfg.MaxTotalBytes || r.Bytes() < 0 {
				t.Fatalf("%d bytes held", r.Bytes())
			}
			if done != nil && (len(done.Sizes) != 0 || done.InlineValues) {
				t.Fatalf("complete message still a header: %+v", done)
			}
		}
		r.Expire(now.Add(time.Minute))
		if r.Len() != 0 || r.Bytes() != 0 || len(r.peers) != 0 {
			t.Fatalf("after expiry: %d sessions, %d bytes, %d peers", r.Len(), r.Bytes(), len(r.peers))
		}
	})
}

// FuzzPartsRoundTrip splits values with ValueParts and delivers the parts
// in a scrambled order, with duplicates: the reassembled values must be
// the originals.
func FuzzPartsRoundTrip(f *testing.F) {
	f.Add([]byte("x"), uint16(3000), uint16(10), uint64(0x0123456789abcdef))
	f.Add([]byte{}, uint16(0), uint16(1280), uint64(7))
	f.Add([]byte("abc"), uint16(65000), uint16(1), uint64(1))
	f.Fuzz(func(t *testing.T, seed []byte, n0, n1 uint16, perm uint64) {
		mk := func(n uint16, s byte) []byte {
			data := make([]byte, n)
			for i := range data {
				data[i] = s + byte(i)
				if len(seed) > 0 {
					data[i] ^= seed[i%len(seed)]
				}
			}
			return enc(bin(data))
		}
		vals := [][]byte{mk(n0, 1), mk(n1, 2)}
		hdr := &Message{Kind: KindUpdate, TID: 11, ID: InfoHash(idA), Hash: InfoHash(keyB), SID: 1, Version: 1, Values: vals}
		b, err := hdr.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		var h Message
		if err := h.Decode(b); err != nil {
			t.Fatal(err)
		}
		if !hdr.NeedsParts() {
			if len(h.Values) != 2 || !bytes.Equal(h.Values[0], vals[0]) || !bytes.Equal(h.Values[1], vals[1]) {
				t.Fatalf("inline values changed")
			}
			return
		}
		var dgrams [][]byte
		_ = ValueParts(0, 11, vals, nil, func(d []byte) error { dgrams = append(dgrams, append([]byte(nil), d...)); return nil })
		// Scramble: a permutation driven by perm, plus one duplicate.
		for i := len(dgrams) - 1; i > 0; i-- {
			j := int(perm % uint64(i+1))
			perm = perm/uint64(i+1) ^ perm<<7
			dgrams[i], dgrams[j] = dgrams[j], dgrams[i]
		}
		dgrams = append(dgrams, dgrams[0])
		r := NewReassembler(ReassemblerConfig{})
		from := netip.MustParseAddrPort("[2001:db8::1]:4222")
		if _, err := r.Start(from, &h, t0); err != nil {
			t.Fatal(err)
		}
		var done *Message
		var p Message
		for _, d := range dgrams {
			if err := p.Decode(d); err != nil {
				t.Fatal(err)
			}
			got, err := r.Add(from, &p, t0)
			if got != nil {
				done = got
			}
			if err != nil && done == nil {
				t.Fatal(err)
			}
		}
		if done == nil || len(done.Values) != 2 || !bytes.Equal(done.Values[0], vals[0]) || !bytes.Equal(done.Values[1], vals[1]) {
			t.Fatalf("values not reassembled")
		}
	})
}

// FuzzParseNodes: compact node lists parse without panic and re-encode to
// the same bytes.
func FuzzParseNodes(f *testing.F) {
	for _, c := range loadCaptures(f) {
		if m, err := Decode(c.raw); err == nil && len(m.Nodes4) > 0 {
			f.Add(m.Nodes4, false)
		}
	}
	f.Add(make([]byte, 38), true)
	f.Add(make([]byte, 27), false)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		nodes, err := ParseNodes(nil, b, v6)
		if err != nil {
			return
		}
		out, err := AppendNodes(nil, nodes, v6)
		if !v6 && err != nil {
			t.Fatal(err)
		}
		if v6 && err != nil {
			// IPv4-mapped IPv6 records are written back as n4 records:
			// AppendNodes refuses them in n6, which is fine.
			return
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs\n got %x\nwant %x", out, b)
		}
	})
}

func mustEncodeF(m *Message) []byte {
	b, err := m.AppendBinary(nil)
	if err != nil {
		panic(err)
	}
	return b
}
