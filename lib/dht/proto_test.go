package dht

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// probe is a raw client speaking the wire protocol to a node, to check
// the answers a real OpenDHT peer would get.
type probe struct {
	t    *testing.T
	c    *net.UDPConn
	id   wire.InfoHash
	to   netip.AddrPort
	net  uint32
	tid  uint32
	buf  []byte
	last []byte
}

func newProbe(t *testing.T, to netip.AddrPort) *probe {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback4, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &probe{t: t, c: c, to: to, tid: 100, buf: make([]byte, 65536)}
	cryptoRand(p.id[:])
	return p
}

func (p *probe) addr() netip.AddrPort { return p.c.LocalAddr().(*net.UDPAddr).AddrPort() }

// send sends m as a request (kind set by the caller) and returns its tid.
func (p *probe) send(m *wire.Message) uint32 {
	p.t.Helper()
	p.tid++
	if m.TID == 0 {
		m.TID = p.tid
	}
	if m.ID.IsZero() {
		m.ID = p.id
	}
	if m.Net == 0 {
		m.Net = p.net
	}
	m.UA = []byte(wire.UserAgent)
	b, err := m.AppendBinary(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendRaw(b)
	if m.NeedsParts() {
		_ = wire.ValueParts(m.Net, m.TID, m.Values, nil, func(d []byte) error { p.sendRaw(d); return nil })
	}
	return m.TID
}

func (p *probe) sendRaw(b []byte) {
	if _, err := p.c.WriteToUDPAddrPort(b, p.to); err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the next datagram (decoded and cloned), or nil after d.
func (p *probe) recv(d time.Duration) *wire.Message {
	p.t.Helper()
	reasm := wire.NewReassembler(wire.ReassemblerConfig{})
	deadline := time.Now().Add(d)
	for {
		p.c.SetReadDeadline(deadline)
		n, from, err := p.c.ReadFromUDPAddrPort(p.buf)
		if err != nil {
			return nil
		}
		var m wire.Message
		if err := m.Decode(p.buf[:n]); err != nil {
			p.t.Fatalf("undecodable datagram: %v", err)
		}
		p.last = append(p.last[:0], p.buf[:n]...)
		switch {
		case m.Kind == wire.KindValueData:
			if full, _ := reasm.Add(from, &m, time.Now()); full != nil {
				return full
			}
		case len(m.Sizes) > 0:
			if full, _ := reasm.Start(from, &m, time.Now()); full != nil {
				return full
			}
		default:
			return m.Clone()
		}
	}
}

// expect waits for a message with the given tid.
func (p *probe) expect(tid uint32) *wire.Message {
	p.t.Helper()
	for {
		m := p.recv(3 * time.Second)
		if m == nil {
			p.t.Fatalf("no answer to tid %d", tid)
		}
		if m.TID == tid && (m.Kind == wire.KindReply || m.Kind == wire.KindError) {
			return m
		}
	}
}

// silence checks that nothing answers tid for a while.
func (p *probe) silence(tid uint32, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		m := p.recv(time.Until(deadline))
		if m == nil {
			return
		}
		if m.TID == tid && (m.Kind == wire.KindReply || m.Kind == wire.KindError) {
			p.t.Fatalf("unexpected answer to tid %d: %v", tid, m.Kind)
		}
	}
}

// token gets a write token for key with a get.
func (p *probe) token(key wire.InfoHash) []byte {
	p.t.Helper()
	r := p.expect(p.send(&wire.Message{Kind: wire.KindGet, Hash: key}))
	if len(r.Token) != wire.TokenSize {
		p.t.Fatalf("get reply without a 32-byte token: %d", len(r.Token))
	}
	return r.Token
}

func oneNode(t *testing.T, mod func(*Config)) *Node {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func TestProtoPing(t *testing.T) {
	n := oneNode(t, nil)
	p := newProbe(t, n.Addr4())
	// A ping with only a, q and t is answered (opendht.md §2.1).
	p.sendRaw([]byte("\x83\xa1a\x81\xa2id\xc4\x14" + string(p.id[:]) + "\xa1q\xa4ping\xa1t\x05"))
	r := p.expect(5)
	if r.Kind != wire.KindReply || r.ID != n.ID() || r.Addr != loopback4 {
		t.Fatalf("pong: %+v", r)
	}
	// The pong is byte-for-byte OpenDHT's.
	want := []byte("\x84\xa1r\x82\xa2id\xc4\x14" + string(idBytes(n.ID())) + "\xa2sa\xc4\x04\x7f\x00\x00\x01\xa1t\x05\xa1y\xa1r\xa1v\xa4RNG1")
	if !bytes.Equal(p.last, want) {
		t.Fatalf("pong bytes\n got %x\nwant %x", p.last, want)
	}
	// Our own id, a zero id and another network are dropped silently.
	p.silence(p.send(&wire.Message{Kind: wire.KindPing, ID: n.ID()}), 300*time.Millisecond)
	p.net = 7
	p.silence(p.send(&wire.Message{Kind: wire.KindPing}), 300*time.Millisecond)
	p.net = 0
	// Garbage is dropped, the node keeps answering.
	p.sendRaw([]byte{0x85, 0xa1, 0x61})
	p.expect(p.send(&wire.Message{Kind: wire.KindPing}))
}

func TestProtoNetworkID(t *testing.T) {
	n := oneNode(t, func(c *Config) { c.Network = 42 })
	p := newProbe(t, n.Addr4())
	p.silence(p.send(&wire.Message{Kind: wire.KindPing}), 300*time.Millisecond)
	p.net = 42
	r := p.expect(p.send(&wire.Message{Kind: wire.KindPing}))
	if r.Net != 42 {
		t.Fatalf("reply network %d", r.Net)
	}
}

func TestProtoPutGetErrors(t *testing.T) {
	n := oneNode(t, nil)
	p := newProbe(t, n.Addr4())
	key := wire.InfoHashOf([]byte("proto"))

	// get without h: 203.
	r := p.expect(p.send(&wire.Message{Kind: wire.KindGet}))
	if r.Kind != wire.KindError || r.ErrCode != 203 || string(r.ErrText) != wire.ErrTextGetNoInfoHash || r.ID != n.ID() {
		t.Fatalf("get without h: %+v", r)
	}
	tok := p.token(key)
	v := &value.Value{ID: 12345, Data: []byte("hello")}

	// put with a wrong token: 401.
	bad := bytes.Clone(tok)
	bad[0] ^= 1
	r = p.expect(p.send(&wire.Message{Kind: wire.KindPut, Hash: key, Token: bad, Values: [][]byte{v.Pack()}}))
	if r.Kind != wire.KindError || r.ErrCode != 401 || string(r.ErrText) != wire.ErrTextPutWrongToken {
		t.Fatalf("bad token: %+v", r)
	}
	// Byte for byte OpenDHT's error: {"e": [401, text], "r": {"id"}, "t", "y": "e", "v"}.
	wantErr := []byte("\x85\xa1e\x92\xcd\x01\x91\xb4Put with wrong token\xa1r\x81\xa2id\xc4\x14" + string(idBytes(n.ID())) +
		"\xa1t" + string([]byte{byte(r.TID)}) + "\xa1y\xa1e\xa1v\xa4RNG1")
	if !bytes.Equal(p.last, wantErr) {
		t.Fatalf("error bytes\n got %x\nwant %x", p.last, wantErr)
	}
	// The token is bound to the port: another socket of the same IP fails.
	p2 := newProbe(t, n.Addr4())
	r = p2.expect(p2.send(&wire.Message{Kind: wire.KindPut, Hash: key, Token: tok, Values: [][]byte{v.Pack()}}))
	if r.ErrCode != 401 {
		t.Fatalf("token from another port: %+v", r)
	}
	// put without h: 203.
	r = p.expect(p.send(&wire.Message{Kind: wire.KindPut, Token: tok, Values: [][]byte{v.Pack()}}))
	if r.ErrCode != 203 || string(r.ErrText) != wire.ErrTextPutNoInfoHash {
		t.Fatalf("put without h: %+v", r)
	}
	// put with id 0: 203.
	zero := &value.Value{Data: []byte("x")}
	r = p.expect(p.send(&wire.Message{Kind: wire.KindPut, Hash: key, Token: tok, Values: [][]byte{zero.Pack()}}))
	if r.ErrCode != 203 || string(r.ErrText) != wire.ErrTextPutInvalidID {
		t.Fatalf("put id 0: %+v", r)
	}
	// A put whose values do not parse gets no reply at all.
	p.silence(p.send(&wire.Message{Kind: wire.KindPut, Hash: key, Token: tok, Values: [][]byte{{0x81, 0xa2, 'i', 'd', 0x05}}}), 300*time.Millisecond)

	// A good put: one reply per value, with vid and sa.
	v2 := &value.Value{ID: 777, Type: 5, Data: []byte("second")}
	tid := p.send(&wire.Message{Kind: wire.KindPut, Hash: key, Token: tok, Values: [][]byte{v.Pack(), v2.Pack()}})
	got := map[uint64]bool{}
	for range 2 {
		r := p.expect(tid)
		if r.Kind != wire.KindReply || r.Addr != loopback4 {
			t.Fatalf("put reply: %+v", r)
		}
		got[r.VID] = true
	}
	if !got[12345] || !got[777] {
		t.Fatalf("put replies: %v", got)
	}

	// get returns both values; with a WHERE only the matching one.
	r = p.expect(p.send(&wire.Message{Kind: wire.KindGet, Hash: key}))
	if len(r.Values) != 2 || len(r.Token) != 32 {
		t.Fatalf("get: %d values", len(r.Values))
	}
	q, _ := value.Query{Where: *new(value.Where).ValueType(5)}.Pack()
	r = p.expect(p.send(&wire.Message{Kind: wire.KindGet, Hash: key, Query: q}))
	if len(r.Values) != 1 || !bytes.Equal(r.Values[0], v2.Pack()) {
		t.Fatalf("get where type=5: %d values", len(r.Values))
	}
	// SELECT id gives "fileds", exactly as OpenDHT writes them.
	q, _ = value.Query{Select: value.Select{Fields: []value.Field{value.FieldID}}, Where: *new(value.Where).ID(12345)}.Pack()
	r = p.expect(p.send(&wire.Message{Kind: wire.KindGet, Hash: key, Query: q}))
	if r.Values != nil || !bytes.Equal(r.Fields, []byte("\x82\xa1f\x91\x01\xa1v\x91\xcd\x30\x39")) {
		t.Fatalf("select id: values %d fields %x", len(r.Values), r.Fields)
	}
	q, _ = value.Query{Select: value.Select{Fields: []value.Field{value.FieldUserType, value.FieldOwnerPk, value.FieldID}}}.Pack()
	r = p.expect(p.send(&wire.Message{Kind: wire.KindGet, Hash: key, Query: q}))
	if _, rows, err := value.UnpackFields(r.Fields); err != nil || len(rows) != 2 {
		t.Fatalf("select id,owner,utype: %v %d", err, len(rows))
	}
	// A WHERE on seq cannot be parsed by 2.4.12: the datagram is dropped.
	p.silence(p.send(&wire.Message{Kind: wire.KindGet, Hash: key, Query: []byte("\x82\xa1s\x90\xa1w\x91\x82\xa1f\x04\xa1v\x01")}), 300*time.Millisecond)

	// refresh: 401 with a bad token, 404 for a key with no storage,
	// success for an unknown id under a known key.
	r = p.expect(p.send(&wire.Message{Kind: wire.KindRefresh, Hash: key, VID: 12345, Token: bad}))
	if r.ErrCode != 401 {
		t.Fatalf("refresh bad token: %+v", r)
	}
	r = p.expect(p.send(&wire.Message{Kind: wire.KindRefresh, Hash: wire.InfoHashOf([]byte("nothing")), VID: 1, Token: tok}))
	if r.ErrCode != 404 || string(r.ErrText) != wire.ErrTextStorageNotFound {
		t.Fatalf("refresh unknown key: %+v", r)
	}
	r = p.expect(p.send(&wire.Message{Kind: wire.KindRefresh, Hash: key, VID: 99, Token: tok}))
	if r.Kind != wire.KindReply || r.VID != 99 {
		t.Fatalf("refresh unknown id: %+v", r)
	}
	// listen: 203 without h, 401 with a bad token.
	r = p.expect(p.send(&wire.Message{Kind: wire.KindListen, Token: tok, SID: 3, Version: 1}))
	if r.ErrCode != 203 || string(r.ErrText) != wire.ErrTextListenNoInfoHash {
		t.Fatalf("listen without h: %+v", r)
	}
	r = p.expect(p.send(&wire.Message{Kind: wire.KindListen, Hash: key, Token: bad, SID: 3, Version: 1}))
	if r.ErrCode != 401 || string(r.ErrText) != wire.ErrTextListenWrongToken {
		t.Fatalf("listen bad token: %+v", r)
	}
}

func TestProtoListenUpdates(t *testing.T) {
	n := oneNode(t, nil)
	p := newProbe(t, n.Addr4())
	key := wire.InfoHashOf([]byte("listen"))
	tok := p.token(key)
	v1 := &value.Value{ID: 1, Data: []byte("one")}
	p.expect(p.send(&wire.Message{Kind: wire.KindPut, Hash: key, Token: tok, Values: [][]byte{v1.Pack()}}))

	// A new listener gets the stored values in an update sent before the
	// listen confirmation.
	tid := p.send(&wire.Message{Kind: wire.KindListen, Hash: key, Token: tok, SID: 9, Version: 1})
	m := p.recv(3 * time.Second)
	if m == nil || m.Kind != wire.KindUpdate || m.SID != 9 || m.Hash != key || len(m.Values) != 1 || len(m.Token) != 32 || m.Version != 1 {
		t.Fatalf("first update: %+v", m)
	}
	p.reply(m.TID)
	if r := p.expect(tid); r.Kind != wire.KindReply || r.Addr != loopback4 {
		t.Fatalf("listen reply: %+v", r)
	}

	// A new value arrives as an update; a big one with value parts.
	big := &value.Value{ID: 2, Data: bytes.Repeat([]byte("b"), 3000)}
	p.send(&wire.Message{Kind: wire.KindPut, Hash: key, Token: tok, Values: [][]byte{big.Pack()}})
	gotUpdate := false
	for !gotUpdate {
		m := p.recv(3 * time.Second)
		if m == nil {
			t.Fatal("no update for the new value")
		}
		if m.Kind == wire.KindUpdate {
			if len(m.Values) != 1 || !bytes.Equal(m.Values[0], big.Pack()) {
				t.Fatalf("update: %d values", len(m.Values))
			}
			p.reply(m.TID)
			gotUpdate = true
		}
	}
	// Re-putting identical content is a refresh: listeners get "re".
	p.send(&wire.Message{Kind: wire.KindPut, Hash: key, Token: tok, Values: [][]byte{v1.Pack()}})
	for {
		m := p.recv(3 * time.Second)
		if m == nil {
			t.Fatal("no refresh notification")
		}
		if m.Kind == wire.KindUpdate {
			if len(m.Refreshed) != 1 || m.Refreshed[0] != 1 || m.SID != 9 || !m.Hash.IsZero() {
				t.Fatalf("refresh update: %+v", m)
			}
			p.reply(m.TID)
			break
		}
	}
}

// reply answers an update as a listener does.
func (p *probe) reply(tid uint32) {
	m := wire.Message{Kind: wire.KindReply, TID: tid, ID: p.id, UA: []byte(wire.UserAgent), Addr: loopback4}
	b, _ := m.AppendBinary(nil)
	p.sendRaw(b)
}

func TestProtoFindWant(t *testing.T) {
	nodes := cluster(t, 3, nil)
	p := newProbe(t, nodes[0].Addr4())
	// Node 0 pinged nodes 1 and 2 (cluster): they are good, so it gives
	// them out.
	r := p.expect(p.send(&wire.Message{Kind: wire.KindFind, Target: nodes[1].ID()}))
	if len(r.Nodes4) != 2*wire.NodeInfo4Len || len(r.Token) != 32 || len(r.Nodes6) != 0 {
		t.Fatalf("find: n4 %d n6 %d token %d", len(r.Nodes4), len(r.Nodes6), len(r.Token))
	}
	ns, _ := wire.ParseNodes(nil, r.Nodes4, false)
	if ns[0].ID != nodes[1].ID() || ns[0].Addr != nodes[1].Addr4() {
		t.Fatalf("closest node: %+v", ns[0])
	}
	// "w" with only IPv6 gives no IPv4 nodes.
	r = p.expect(p.send(&wire.Message{Kind: wire.KindFind, Target: nodes[1].ID(), Want: wire.Want6}))
	if len(r.Nodes4) != 0 {
		t.Fatalf("w=[10]: n4 %d", len(r.Nodes4))
	}
}

func idBytes(h wire.InfoHash) []byte { return h[:] }

func TestProtoLegacyListen(t *testing.T) {
	n := oneNode(t, nil)
	p := newProbe(t, n.Addr4())
	key := wire.InfoHashOf([]byte("legacy"))
	tok := p.token(key)
	v := &value.Value{ID: 4, Data: []byte("old style")}
	p.expect(p.send(&wire.Message{Kind: wire.KindPut, Hash: key, Token: tok, Values: [][]byte{v.Pack()}}))
	// A version 0 listen: values come as a reply whose tid is the sid,
	// refreshes as a "u" message; nothing needs answering.
	p.send(&wire.Message{Kind: wire.KindListen, Hash: key, Token: tok, SID: 77})
	m := p.recv(3 * time.Second) // sent before the listen confirmation
	if m == nil || m.Kind != wire.KindReply || len(m.Values) != 1 || len(m.Token) != 32 {
		t.Fatalf("legacy values: %+v", m)
	}
	p.send(&wire.Message{Kind: wire.KindPut, Hash: key, Token: tok, Values: [][]byte{v.Pack()}})
	for {
		m := p.recv(3 * time.Second)
		if m == nil {
			t.Fatal("no legacy refresh")
		}
		if m.Kind == wire.KindValueUpdate {
			if m.TID != 77 || len(m.Refreshed) != 1 || m.Refreshed[0] != 4 {
				t.Fatalf("legacy refresh: %+v", m)
			}
			break
		}
	}
}
