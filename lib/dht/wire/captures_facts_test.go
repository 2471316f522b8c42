package wire

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// find returns the decoded captures whose name and sender match.
func findCaptures(t *testing.T, caps []capturedDatagram, from, name string) []*Message {
	t.Helper()
	var out []*Message
	for _, c := range caps {
		if c.From == from && c.Name == name {
			m, err := Decode(c.raw)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no capture %s from %s", name, from)
	}
	return out
}

// TestCapturesFacts checks what the captures say about 2.4.12 against the
// spec, field by field.
func TestCapturesFacts(t *testing.T) {
	caps := loadCaptures(t)
	one := func(from, name string) *Message { return findCaptures(t, caps, from, name)[0] }
	lo := netip.MustParseAddr("127.0.0.1")

	pong := one("dhtnode", "ping/reply")
	if pong.Kind != KindReply || pong.Addr != lo || string(pong.UA) != "RNG1" || pong.Token != nil {
		t.Errorf("pong: %+v", pong)
	}
	// §3.2: find and get replies always carry a 32-byte token.
	for _, n := range []string{"find/reply", "get-empty/reply", "get-values/reply"} {
		if r := one("dhtnode", n); len(r.Token) != TokenSize {
			t.Errorf("%s: token %x", n, r.Token)
		}
	}
	// §3.4: one reply per value, with vid, id and sa.
	if r := one("dhtnode", "put/reply"); r.VID != 12345 || r.Addr != lo {
		t.Errorf("put reply: %+v", r)
	}
	// §2.4 error codes and texts.
	for _, c := range []struct {
		name string
		code uint16
		text string
	}{
		{"put-bad-token/error", ErrCodeUnauthorized, ErrTextPutWrongToken},
		{"put-id-0/error", ErrCodeNonAuthoritative, ErrTextPutInvalidID},
		{"get-no-h/error", ErrCodeNonAuthoritative, ErrTextGetNoInfoHash},
		{"refresh-unknown-key/error", ErrCodeNotFound, ErrTextStorageNotFound},
	} {
		e := one("dhtnode", c.name)
		if e.Kind != KindError || e.ErrCode != c.code || string(e.ErrText) != c.text || e.ID.IsZero() {
			t.Errorf("%s: %+v", c.name, e)
		}
		if pe, ok := e.Err().(*ProtocolError); !ok || pe.Code != c.code {
			t.Errorf("%s: Err() = %v", c.name, e.Err())
		}
	}
	// §3.5: refresh of a known value id echoes it.
	if r := one("dhtnode", "refresh/reply"); r.VID != 12345 {
		t.Errorf("refresh reply: %+v", r)
	}
	// §3.3 SELECT replies.
	sel := one("dhtnode", "get-select-id/reply")
	if !bytes.Equal(sel.Fields, []byte{0x82, 0xa1, 'f', 0x91, 0x01, 0xa1, 'v', 0x91, 0xcd, 0x30, 0x39}) || sel.Values != nil && len(sel.Values) > 0 {
		t.Errorf("select id: fileds %x", sel.Fields)
	}
	sel = one("dhtnode", "get-select-id-seq/reply")
	if !bytes.Equal(sel.Fields, []byte{0x82, 0xa1, 'f', 0x92, 0x01, 0x04, 0xa1, 'v', 0x92, 0xcd, 0x30, 0x39, 0x00}) {
		t.Errorf("select id,seq: fileds %x", sel.Fields)
	}
	if w := one("dhtnode", "get-where-id/reply"); len(w.Values) != 1 || w.Fields != nil {
		t.Errorf("where id: %+v", w)
	}
	// §1.2: a 3000-byte value comes back as a size header and 1280-byte parts.
	hdr := one("dhtnode", "get-big/reply")
	if len(hdr.Values) != 0 || len(hdr.Sizes) != 1 || hdr.Sizes[0].Index != 0 {
		t.Fatalf("big header: %+v", hdr)
	}
	parts := findCaptures(t, caps, "dhtnode", "get-big/value-part")
	var sizes []int
	for _, p := range parts {
		if p.Kind != KindValueData || len(p.Parts) != 1 || p.TID != hdr.TID {
			t.Fatalf("part: %+v", p)
		}
		sizes = append(sizes, len(p.Parts[0].Data))
	}
	if len(sizes) != 3 || sizes[0] != MTU || sizes[1] != MTU || sizes[0]+sizes[1]+sizes[2] != int(hdr.Sizes[0].Size) {
		t.Errorf("part sizes %v for %d bytes", sizes, hdr.Sizes[0].Size)
	}
	// §3.6: the listener gets the stored values as an update request with
	// ve, h, sid, values and token, and no "c".
	upd := findCaptures(t, caps, "dhtnode", "update")
	if u := upd[0]; u.Kind != KindUpdate || u.Version != 1 || u.SID != 77 || len(u.Values) == 0 || len(u.Token) != 32 || u.HasCreated {
		t.Errorf("update values: %+v", u)
	}
	refreshed := 0
	for _, u := range upd {
		if len(u.Refreshed) > 0 {
			refreshed++
			if u.Version != 0 || !u.Hash.IsZero() || u.SID != 77 || u.Refreshed[0] != 12345 {
				t.Errorf("update re: %+v", u)
			}
		}
	}
	if refreshed != 1 {
		t.Errorf("%d refreshed notifications, want 1", refreshed)
	}
	// Legacy listeners (no "ve") get a plain reply whose tid is the sid.
	legacy := 0
	for _, r := range findCaptures(t, caps, "dhtnode", "reply") {
		if r.TID != 88 {
			t.Errorf("unsolicited reply with tid %d", r.TID)
		}
		if len(r.Values) > 0 && len(r.Token) == 32 {
			legacy++
		}
		if len(r.Nodes4) > 0 {
			nodes, err := ParseNodes(nil, r.Nodes4, false)
			if err != nil || nodes[0].ID != InfoHashOf([]byte("probe-dhtnode")) ||
				nodes[0].Addr != netip.MustParseAddrPort("127.0.0.1:5001") {
				t.Errorf("n4 %v %v", nodes, err)
			}
		}
	}
	if legacy != 2 {
		t.Errorf("%d legacy value replies, want 2", legacy)
	}

	// python3-opendht as a client.
	put := findCaptures(t, caps, "python", "put")
	if p := put[0]; len(p.Values) != 1 || len(p.Token) != 32 || !bytes.Contains(p.Values[0], []byte("python says hi")) {
		t.Errorf("python put: %+v", p)
	}
	if p := put[1]; len(p.Sizes) != 1 || len(p.Values) != 0 {
		t.Errorf("python big put header: %+v", p)
	}
	get := one("python", "get")
	if string(get.Query) != "\x82\xa1s\x91\x01\xa1w\x90" {
		t.Errorf("python get query %x (want the pagination query)", get.Query)
	}
	l := one("python", "listen")
	if l.Version != 1 || l.SID == 0 || len(l.Token) != 32 || l.Hash != InfoHashOf([]byte("pykey")) {
		t.Errorf("python listen: %+v", l)
	}
	withW := 0
	for _, f := range findCaptures(t, caps, "python", "find") {
		if f.Want == Want4|Want6 {
			withW++
		}
	}
	if withW == 0 {
		t.Errorf("python never sent w=[2,10]")
	}
	for _, r := range findCaptures(t, caps, "python", "reply") {
		if r.Addr != lo || r.Token != nil || len(r.Values) != 0 {
			t.Errorf("python update reply: %+v", r)
		}
	}
}

// TestCapturesTIDs checks §2.3 on the captures: each real peer numbers
// its requests to us from a random start, +2 per request, and takes listen
// socket ids from the same counter (+1).
func TestCapturesTIDs(t *testing.T) {
	caps := loadCaptures(t)
	for _, from := range []string{"dhtnode", "python"} {
		var prev uint32
		n := 0
		for _, c := range caps {
			m, err := Decode(c.raw)
			if err != nil || c.From != from || !m.Kind.IsRequest() || m.Kind == KindPing {
				continue
			}
			if n > 0 {
				step := m.TID - prev
				if m.Kind == KindListen && from == "python" {
					// the socket id was taken in between
					if m.SID != prev+1 || step != 3 {
						t.Errorf("%s listen: sid %d tid %d after %d", from, m.SID, m.TID, prev)
					}
				} else if step != 2 {
					t.Errorf("%s %v: tid %d after %d", from, m.Kind, m.TID, prev)
				}
			}
			prev = m.TID
			n++
		}
		if n < 4 {
			t.Errorf("%s: %d requests", from, n)
		}
	}
}

// TestCapturedPartsReassembleAndSplit feeds the captured value parts to a
// Reassembler, then splits the value again: ValueParts must reproduce the
// captured part datagrams byte for byte.
func TestCapturedPartsReassembleAndSplit(t *testing.T) {
	caps := loadCaptures(t)
	for _, c := range []struct{ from, hdr, part string }{
		{"dhtnode", "get-big/reply", "get-big/value-part"},
		{"python", "put", "value-part"},
	} {
		var hdr *Message
		for _, m := range findCaptures(t, caps, c.from, c.hdr) {
			if len(m.Sizes) > 0 {
				hdr = m
			}
		}
		from := netip.MustParseAddrPort("127.0.0.1:4222")
		now := time.Unix(1000, 0)
		re := NewReassembler(ReassemblerConfig{})
		if done, err := re.Start(from, hdr, now); done != nil || err != nil {
			t.Fatalf("start: %v %v", done, err)
		}
		var raws [][]byte
		var full *Message
		for _, x := range caps {
			if x.From != c.from || x.Name != c.part {
				continue
			}
			raws = append(raws, x.raw)
			p, _ := Decode(x.raw)
			if full != nil {
				t.Fatal("complete before the last part")
			}
			var err error
			if full, err = re.Add(from, p, now); err != nil {
				t.Fatal(err)
			}
		}
		if full == nil || len(full.Values) != 1 || len(full.Values[0]) != int(hdr.Sizes[0].Size) || len(full.Sizes) != 0 {
			t.Fatalf("%s: reassembly: %+v", c.from, full)
		}
		if !isOneObject(full.Values[0]) {
			t.Errorf("reassembled value is not one msgpack object")
		}
		if re.Len() != 0 || re.Bytes() != 0 {
			t.Errorf("reassembler keeps %d sessions, %d bytes", re.Len(), re.Bytes())
		}
		var got [][]byte
		err := ValueParts(full.Net, full.TID, full.Values, nil, func(d []byte) error {
			got = append(got, append([]byte(nil), d...))
			return nil
		})
		if err != nil || len(got) != len(raws) {
			t.Fatalf("split: %v, %d datagrams, want %d", err, len(got), len(raws))
		}
		for i := range got {
			if !bytes.Equal(got[i], raws[i]) {
				t.Errorf("%s part %d differs\n got %x\nwant %x", c.from, i, got[i], raws[i])
			}
		}
		// And the header our encoder writes for that value is the captured one.
		out := &Message{Kind: hdr.Kind, TID: hdr.TID, UA: hdr.UA, ID: hdr.ID, Hash: hdr.Hash,
			Addr: hdr.Addr, Token: hdr.Token, Created: hdr.Created, HasCreated: hdr.HasCreated,
			Values: full.Values}
		if !out.NeedsParts() {
			t.Errorf("NeedsParts false for a %d-byte value", len(full.Values[0]))
		}
		b, err := out.AppendBinary(nil)
		want := rawOf(t, caps, c.from, c.hdr, hdr.TID)
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("%s header\n got %x\nwant %x", c.from, b, want)
		}
	}
}

func rawOf(t *testing.T, caps []capturedDatagram, from, name string, tid uint32) []byte {
	for _, c := range caps {
		if c.From == from && c.Name == name {
			if m, _ := Decode(c.raw); m != nil && m.TID == tid {
				return c.raw
			}
		}
	}
	t.Fatalf("no %s", name)
	return nil
}
