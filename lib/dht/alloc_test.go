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
	inEngine(t, nil, func(e *engine) {
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
			e.handle(c.pkt, from)
			got := testing.AllocsPerRun(200, func() { e.handle(c.pkt, from) })
			if got > c.max {
				t.Errorf("%s: %.1f allocations per request, want ≤ %.0f", c.name, got, c.max)
			}
		}
	})
}
