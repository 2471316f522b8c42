package dht

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// FuzzHandle feeds arbitrary datagrams to a node's engine: whatever a
// peer sends, the engine must not panic (its state persists across
// inputs, so sequences of messages are exercised too).
func FuzzHandle(f *testing.F) {
	n, err := New(Config{BindIPv4: loopback4, NoIPv6: true, NoRateLimit: true})
	if err != nil {
		f.Fatal(err)
	}
	paused, resume := make(chan *engine), make(chan struct{})
	n.post(func(e *engine) {
		paused <- e
		<-resume
	})
	e := <-paused
	f.Cleanup(func() {
		close(resume)
		n.Close()
	})
	from := netip.MustParseAddrPort("127.0.0.1:9")
	var peer wire.InfoHash
	peer[0] = 0x42
	key := wire.InfoHashOf([]byte("fuzz"))
	// Fixed secrets, so that saved inputs keep valid tokens.
	e.tok = tokens{secret: 1, old: 2}
	var tok [32]byte
	e.tok.make(&tok, from, false)
	enc := func(m wire.Message) []byte {
		m.ID, m.UA = peer, []byte(wire.UserAgent)
		if m.TID == 0 {
			m.TID = 9
		}
		b, _ := m.AppendBinary(nil)
		return b
	}
	v := &value.Value{ID: 5, Data: []byte("fuzz value"), UserType: "t"}
	big := &value.Value{ID: 6, Data: bytes.Repeat([]byte("B"), 2000)}
	q, _ := value.Query{Select: value.Select{Fields: []value.Field{value.FieldID, value.FieldUserType}}, Where: *new(value.Where).ValueType(0)}.Pack()
	for _, m := range []wire.Message{
		{Kind: wire.KindPing},
		{Kind: wire.KindFind, Target: key, Want: wire.Want4 | wire.Want6},
		{Kind: wire.KindGet, Hash: key, Query: q},
		{Kind: wire.KindPut, Hash: key, Token: tok[:], Values: [][]byte{v.Pack()}, HasCreated: true, Created: 1},
		{Kind: wire.KindPut, Hash: key, Token: tok[:], Values: [][]byte{big.Pack()}, TID: 77},
		{Kind: wire.KindRefresh, Hash: key, VID: 5, Token: tok[:]},
		{Kind: wire.KindListen, Hash: key, Token: tok[:], SID: 3, Version: 1, Query: q},
		{Kind: wire.KindUpdate, Hash: key, SID: 3, Token: tok[:], Values: [][]byte{v.Pack()}},
		{Kind: wire.KindUpdate, SID: 3, Refreshed: []uint64{5}, Expired: []uint64{6}},
		{Kind: wire.KindReply, TID: 1234, Nodes4: make([]byte, 26), Token: tok[:], Values: [][]byte{v.Pack()}},
		{Kind: wire.KindError, TID: 1234, ErrCode: 401, ErrText: []byte("x")},
		{Kind: wire.KindValueUpdate, TID: 3, Expired: []uint64{5}},
	} {
		f.Add(enc(m))
	}
	f.Add(wire.AppendValuePart(nil, 0, 77, 0, 0, big.Pack()[:1280]))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		e.now = monoNow()
		e.handle(b, from)
		e.runJobs()
	})
}
