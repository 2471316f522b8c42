package dht

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// TestPutBorrowedValues: a put's values parse into memory the engine
// reuses, so what outlives the put (a local listener's values, the
// storage) must be copies. Puts of several values, more than
// maxPutScratch, at one key: each stored and each listened value is
// the one sent, after all the puts.
func TestPutBorrowedValues(t *testing.T) {
	inEngine(t, func(c *Config) { c.NoRateLimit = true }, func(e *engine) {
		from := netip.MustParseAddrPort("127.0.0.1:9")
		key := putKey(e, 0)
		op := &listenOp{key: key, values: map[uint64]*opValue{}, mb: newMailbox()}
		e.startListen(op)
		var tok [wire.TokenSize]byte
		e.tok.make(&tok, from, false)
		var peer wire.InfoHash
		peer[0] = 1
		var sent []*value.Value
		for p := 0; p < 3; p++ {
			m := &wire.Message{Kind: wire.KindPut, ID: peer, TID: uint32(p), UA: []byte(wire.UserAgent), Hash: key, Token: tok[:]}
			for i := 0; i < maxPutScratch+2; i++ {
				v := &value.Value{ID: uint64(1 + len(sent)), Data: bytes.Repeat([]byte{byte(len(sent))}, 10+len(sent)), UserType: string(rune('a' + len(sent)))}
				sent = append(sent, v)
				m.Values = append(m.Values, v.Pack())
			}
			b, err := m.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			e.handle(b, from)
		}
		k := e.store.keys[key]
		if k == nil {
			t.Fatal("nothing stored")
		}
		for _, v := range sent {
			i := k.find(v.ID)
			if i < 0 {
				t.Fatalf("value %d not stored", v.ID)
			}
			if !bytes.Equal(k.values[i].bytes(), v.Pack()) {
				t.Errorf("value %d stored as % x", v.ID, k.values[i].bytes())
			}
			ov := op.values[v.ID]
			if ov == nil {
				t.Fatalf("value %d not given to the listener", v.ID)
			}
			if !bytes.Equal(ov.v.Pack(), v.Pack()) {
				t.Errorf("the listener's value %d is now %v", v.ID, ov.v)
			}
		}
	})
}
