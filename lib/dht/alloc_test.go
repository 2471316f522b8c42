package dht

import (
	"net/netip"
	"testing"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// TestServeAllocations checks that answering the common requests costs
// (almost) no allocation: the reply path reuses the engine's buffers.
func TestServeAllocations(t *testing.T) {
	// Without rate limits: the requests below must all be served, not
	// dropped by the per-IP limit after the first thousand.
	inEngine(t, func(c *Config) { c.NoRateLimit = true }, func(e *engine) {
		from := netip.MustParseAddrPort("127.0.0.1:9") // discard port: replies go nowhere
		var peer wire.InfoHash
		peer[0] = 1
		key := wire.InfoHashOf([]byte("k"))
		storeFrom(e, key, &value.Value{ID: 7, Data: make([]byte, 64)}, "192.0.2.1:1")
		for i := 0; i < 20; i++ { // a table with nodes to return
			var id wire.InfoHash
			id[0], id[1] = byte(i), 9
			n := e.getNode(e.fams[0], id, netip.AddrPortFrom(loopback4, uint16(1000+i)), true, false)
			n.time, n.reply = e.now, e.now
			e.onNewNode(e.fams[0], n, 2)
		}
		enc := func(m *wire.Message) []byte {
			m.ID, m.TID, m.UA = peer, 5, []byte(wire.UserAgent)
			b, err := m.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		sel, _ := value.Query{Select: value.Select{Fields: []value.Field{value.FieldID}}}.Pack()
		for _, c := range []struct {
			name string
			pkt  []byte
			max  float64
		}{
			{"ping", enc(&wire.Message{Kind: wire.KindPing}), 0},
			{"find", enc(&wire.Message{Kind: wire.KindFind, Target: key, Want: wire.Want4 | wire.Want6}), 0},
			{"get", enc(&wire.Message{Kind: wire.KindGet, Hash: key}), 0},
			// UnpackQuery builds the query's slices.
			{"get select id", enc(&wire.Message{Kind: wire.KindGet, Hash: key, Query: sel}), 4},
		} {
			before := e.stats.recv[wire.KindPing] + e.stats.recv[wire.KindFind] + e.stats.recv[wire.KindGet]
			e.handle(c.pkt, from)
			got := testing.AllocsPerRun(200, func() { e.handle(c.pkt, from) })
			if got > c.max {
				t.Errorf("%s: %.1f allocations per request, want ≤ %.0f", c.name, got, c.max)
			}
			if after := e.stats.recv[wire.KindPing] + e.stats.recv[wire.KindFind] + e.stats.recv[wire.KindGet]; after-before < 201 {
				t.Errorf("%s: %d of 201 requests served", c.name, after-before)
			}
		}

		// Puts: values parse into the engine's Unpackers, so a refresh of
		// an identical value allocates nothing, and a new value at a new
		// key only its packed copy and the key's record (map growth is
		// amortized).
		pkts := putPackets(t, e, from, 1, 0)
		e.handle(pkts[0], from)
		if got := testing.AllocsPerRun(200, func() { e.handle(pkts[0], from) }); got > 0 {
			t.Errorf("put refresh: %.1f allocations per request, want 0", got)
		}
		pkts = putPackets(t, e, from, 1001, 1)
		i := 0
		got := testing.AllocsPerRun(1000, func() { e.handle(pkts[i], from); i++ })
		if got > 2 {
			t.Errorf("put of a new value at a new key: %.1f allocations per request, want ≤ 2", got)
		}
		if k := e.store.keys[putKey(e, 1000)]; k == nil || len(k.values) != 1 {
			t.Fatalf("the puts were not stored: %+v", e.stats.dropped)
		}
	})
}

// putKey is a key next to the engine's id, so that it stores puts there.
func putKey(e *engine, i int) wire.InfoHash {
	k := e.id
	k[18], k[19] = byte(i>>8), byte(i)
	return k
}

// putPackets encodes n puts of 64-byte values from "from", the i-th at
// putKey(i*keyStep) with value id 1000+i.
func putPackets(tb testing.TB, e *engine, from netip.AddrPort, n, keyStep int) [][]byte {
	var peer wire.InfoHash
	peer[0] = 1
	var tok [wire.TokenSize]byte
	e.tok.make(&tok, from, false)
	out := make([][]byte, n)
	for i := range out {
		v := &value.Value{ID: uint64(1000 + i), Data: make([]byte, 64)}
		m := &wire.Message{Kind: wire.KindPut, ID: peer, TID: uint32(i), UA: []byte(wire.UserAgent),
			Hash: putKey(e, i*keyStep), Token: tok[:], Values: [][]byte{v.Pack()}}
		b, err := m.AppendBinary(nil)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// BenchmarkServe measures the engine's work per request (decode, handle,
// encode, and the batched sends of the replies to a discard port), without
// the socket reads.
func BenchmarkServe(b *testing.B) {
	cfg := testConfig()
	cfg.NoRateLimit = true
	n, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	paused, resume := make(chan *engine), make(chan struct{})
	n.post(func(e *engine) { paused <- e; <-resume })
	e := <-paused
	defer close(resume)
	e.now = monoNow()
	from := netip.MustParseAddrPort("127.0.0.1:9")
	var peer wire.InfoHash
	peer[0] = 1
	key := putKey(e, 0)
	storeFrom(e, key, &value.Value{ID: 7, Data: make([]byte, 64)}, "192.0.2.1:1")
	enc := func(m *wire.Message) []byte {
		m.ID, m.TID, m.UA = peer, 5, []byte(wire.UserAgent)
		p, err := m.AppendBinary(nil)
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name string
		pkt  []byte
	}{
		{"ping", enc(&wire.Message{Kind: wire.KindPing})},
		{"get", enc(&wire.Message{Kind: wire.KindGet, Hash: key})},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.handle(c.pkt, from)
			}
			e.tx.flush()
		})
	}
	b.Run("put", func(b *testing.B) {
		// New values over 4096 keys, as tests/bench/dhtload puts them.
		pkts := putPackets(b, e, from, 4096, 1)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			e.handle(pkts[i%len(pkts)], from)
			i++
		}
		e.tx.flush()
	})
}
