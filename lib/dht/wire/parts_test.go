package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"
)

var (
	peerA = netip.MustParseAddrPort("192.0.2.1:4222")
	peerB = netip.MustParseAddrPort("192.0.2.1:4223")
	t0    = time.Unix(1_700_000_000, 0)
)

// header returns a put header for values of the given packed sizes.
func header(tid uint32, sizes ...int) *Message {
	m := &Message{Kind: KindPut, TID: tid, ID: InfoHash(idA), Hash: InfoHash(keyB), Token: []byte("tok")}
	for i, s := range sizes {
		m.Sizes = append(m.Sizes, ValueSize{Index: uint32(i), Size: uint64(s)})
	}
	return m
}

func part(tid, index uint32, off int, data []byte) *Message {
	return &Message{Kind: KindValueData, TID: tid, Parts: []Part{{Index: index, Offset: uint64(off), Data: data}}}
}

func blob(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*13)
	}
	return b
}

func TestReassembleOutOfOrder(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{})
	v0, v1 := blob(3000, 1), blob(700, 2)
	hdr := header(9, len(v0), len(v1))
	hdr.Values = [][]byte{{0x01}} // an inline value besides
	hdr.Sizes[1].Index = 2
	if done, err := r.Start(peerA, hdr, t0); done != nil || err != nil {
		t.Fatal(done, err)
	}
	hdr.Token[0] = 'X' // Start copied the header
	feed := []*Message{
		part(9, 2, 500, v1[500:]),
		part(9, 0, 2560, v0[2560:]),
		part(9, 0, 0, v0[:1280]),
		part(9, 0, 0, v0[:1280]),     // duplicate
		part(9, 0, 100, v0[100:200]), // inside what is there
		part(9, 7, 0, []byte("no such index")),
		part(9, 0, 2999, v0[2999:]),   // overlaps
		part(9, 0, 2990, blob(20, 0)), // runs past the end: ignored
		part(9, 2, 0, v1[:500]),
	}
	for i, p := range feed {
		done, err := r.Add(peerA, p, t0.Add(time.Duration(i)*500*time.Millisecond))
		if done != nil || err != nil {
			t.Fatalf("part %d: %v %v", i, done, err)
		}
	}
	done, err := r.Add(peerA, part(9, 0, 1280, v0[1280:2560]), t0.Add(5*time.Second))
	if err != nil || done == nil {
		t.Fatalf("not complete: %v", err)
	}
	if len(done.Values) != 3 || !bytes.Equal(done.Values[0], []byte{0x01}) || !bytes.Equal(done.Values[1], v0) ||
		!bytes.Equal(done.Values[2], v1) || len(done.Sizes) != 0 || string(done.Token) != "tok" || done.InlineValues {
		t.Errorf("reassembled: %+v", done)
	}
	if r.Len() != 0 || r.Bytes() != 0 || len(r.peers) != 0 {
		t.Errorf("leftovers: %d sessions, %d bytes, %d peers", r.Len(), r.Bytes(), len(r.peers))
	}
	if _, err := r.Add(peerA, part(9, 0, 0, v0[:10]), t0); !errors.Is(err, ErrNoSession) {
		t.Errorf("part after completion: %v", err)
	}
}

func TestReassembleSessions(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{})
	if _, err := r.Start(peerA, &Message{Kind: KindPut}, t0); !errors.Is(err, ErrNotHeader) {
		t.Errorf("no sizes: %v", err)
	}
	// Parts before their header are dropped.
	if _, err := r.Add(peerA, part(1, 0, 0, []byte{1}), t0); !errors.Is(err, ErrNoSession) {
		t.Errorf("early part: %v", err)
	}
	if _, err := r.Start(peerA, header(1, 2000), t0); err != nil {
		t.Fatal(err)
	}
	// The header again (a retransmission) is refused; its parts still count.
	if _, err := r.Start(peerA, header(1, 2000), t0); !errors.Is(err, ErrSessionExists) {
		t.Errorf("second header: %v", err)
	}
	// Same tid from another port is another session.
	if _, err := r.Start(peerB, header(1, 10), t0); err != nil {
		t.Errorf("other peer, same tid: %v", err)
	}
	// Parts must come from the header's address and port.
	if _, err := r.Add(netip.MustParseAddrPort("192.0.2.9:4222"), part(1, 0, 0, blob(10, 0)), t0); !errors.Is(err, ErrNoSession) {
		t.Errorf("part from elsewhere: %v", err)
	}
	if done, _ := r.Add(peerB, part(1, 0, 0, blob(10, 0)), t0); done == nil {
		t.Errorf("peerB's message not complete")
	}
	if r.Len() != 1 {
		t.Errorf("%d sessions", r.Len())
	}
}

func TestReassembleTimeouts(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{})
	r.Start(peerA, header(1, 3000), t0)
	r.Start(peerA, header(2, 3000), t0)
	r.Start(peerA, header(3, 3000), t0)
	// Session 1 gets a part every 2.9 s: alive until 10 s after its header.
	now := t0
	for i := 0; i < 3; i++ {
		now = now.Add(2900 * time.Millisecond)
		if _, err := r.Add(peerA, part(1, 0, i*10, blob(10, 0)), now); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	// At t0+8.7s sessions 2 and 3 have been silent for more than 3 s.
	if n := r.Expire(now); n != 2 || r.Len() != 1 {
		t.Errorf("Expire dropped %d, %d left", n, r.Len())
	}
	if _, err := r.Add(peerA, part(1, 0, 30, blob(10, 0)), t0.Add(10*time.Second+time.Millisecond)); !errors.Is(err, ErrNoSession) {
		t.Errorf("part after 10 s: %v", err)
	}
	if r.Len() != 0 || r.Bytes() != 0 {
		t.Errorf("%d sessions, %d bytes left", r.Len(), r.Bytes())
	}
}

func TestReassembleLimits(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{MaxMessageBytes: 5000, MaxPeerBytes: 6000, MaxTotalBytes: 9000, MaxPeerSessions: 2, MaxSessions: 3})
	if _, err := r.Start(peerA, header(1, 3000, 2001), t0); !errors.Is(err, ErrPartsLimit) {
		t.Errorf("declared over the message limit: %v", err)
	}
	// Declared sizes above the value-part limit are ignored, as in
	// OpenDHT; with nothing left, the message is complete at once.
	hdr := header(2, MaxPartValueSize+1)
	hdr.Values = [][]byte{{0xc0}}
	done, err := r.Start(peerA, hdr, t0)
	if err != nil || done == nil || len(done.Values) != 1 || len(done.Sizes) != 0 {
		t.Errorf("oversize only: %+v %v", done, err)
	}
	for tid := uint32(3); tid < 5; tid++ {
		if _, err := r.Start(peerA, header(tid, 4000), t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Start(peerB, header(5, 4000), t0); !errors.Is(err, ErrPartsLimit) {
		t.Errorf("third session of one IP: %v", err)
	}
	if _, err := r.Start(netip.MustParseAddrPort("192.0.2.2:1"), header(6, 4000), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(netip.MustParseAddrPort("192.0.2.3:1"), header(7, 10), t0); !errors.Is(err, ErrPartsLimit) {
		t.Errorf("session over the total: %v", err)
	}
	// Buffers are taken when data arrives: the second 4000-byte buffer of
	// peer A's IP would pass MaxPeerBytes, which drops that message.
	if _, err := r.Add(peerA, part(3, 0, 0, blob(10, 0)), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(peerA, part(4, 0, 0, blob(10, 0)), t0); !errors.Is(err, ErrPartsLimit) {
		t.Errorf("over the peer budget: %v", err)
	}
	if r.Bytes() != 4000 || r.Len() != 2 {
		t.Errorf("%d bytes, %d sessions", r.Bytes(), r.Len())
	}
	// The total budget: 4000 + 4000 > 9000 is fine, a third would not be.
	if _, err := r.Add(netip.MustParseAddrPort("192.0.2.2:1"), part(6, 0, 0, blob(10, 0)), t0); err != nil {
		t.Fatal(err)
	}
	if r.Bytes() != 8000 {
		t.Errorf("%d bytes", r.Bytes())
	}
	r.Expire(t0.Add(time.Hour))
	if r.Len() != 0 || r.Bytes() != 0 || len(r.peers) != 0 {
		t.Errorf("after expiry: %d sessions, %d bytes, %d peers", r.Len(), r.Bytes(), len(r.peers))
	}
}

// TestReassembleLargest carries a value of the largest size through the
// splitter and the reassembler.
func TestReassembleLargest(t *testing.T) {
	v := enc(bin(blob(MaxPartValueSize-5, 3))) // bin32 header: 5 bytes
	if len(v) != MaxPartValueSize {
		t.Fatal(len(v))
	}
	m := &Message{Kind: KindPut, TID: 77, ID: InfoHash(idA), Hash: InfoHash(keyB), Token: []byte("t"), Values: [][]byte{v}}
	b := mustEncode(t, m)
	hdr := mustDecode(t, b)
	r := NewReassembler(ReassemblerConfig{})
	if _, err := r.Start(peerA, hdr, t0); err != nil {
		t.Fatal(err)
	}
	var done *Message
	var p Message
	err := ValueParts(0, 77, m.Values, nil, func(d []byte) error {
		if err := p.Decode(d); err != nil {
			return err
		}
		var err error
		done, err = r.Add(peerA, &p, t0)
		return err
	})
	if err != nil || done == nil || !bytes.Equal(done.Values[0], v) {
		t.Fatalf("largest value: %v", err)
	}
}

func TestTIDs(t *testing.T) {
	g := NewTIDs(0xfffffffc)
	if a, b := g.Next(), g.Next(); a != 0xfffffffe || b != 2 {
		t.Errorf("wrap: %d %d", a, b)
	}
	if s := g.NextSocket(); s != 3 {
		t.Errorf("socket id %d", s)
	}
	g = NewTIDs(0xffffffff)
	if s := g.NextSocket(); s != 1 {
		t.Errorf("socket id wrap %d", s)
	}
	var r1, r2 TIDs
	if r1.Next() == r2.Next() && r1.Next() == r2.Next() {
		t.Errorf("two zero-value generators start at the same point")
	}
}
