package dht

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// TestFlood sends ten times the per-IP rate limit of malformed and
// well-formed datagrams from one address while a client on another
// address uses the node: the client's get succeeds, memory stays bounded,
// the node keeps answering.
func TestFlood(t *testing.T) {
	n := oneNode(t, nil)
	client, err := New(Config{BindIPv4: netip.MustParseAddr("127.0.0.2"), NoIPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := ctxT(t)
	if err := client.Bootstrap(ctx, n.Addr4().String()); err != nil {
		t.Fatal(err)
	}
	key := wire.InfoHashOf([]byte("flooded"))
	v := &value.Value{Data: []byte("still here")}
	if err := client.Put(ctx, key, v, PutOptions{}); err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	attacker, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.3:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer attacker.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	packets := floodPackets(rng)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// 10 × the per-IP limit, within about a second.
		total := 10 * DefaultMaxRequestsPerSec / 8
		start := time.Now()
		for i := 0; i < total; i++ {
			_, _ = attacker.WriteToUDPAddrPort(packets[i%len(packets)], n.Addr4())
			if i%1024 == 1023 {
				time.Sleep(time.Until(start.Add(time.Duration(i/1024+1) * 100 * time.Millisecond)))
			}
		}
	}()
	// Meanwhile the client reads its value back.
	vals, err := client.Get(ctx, key, nil)
	if err != nil || len(vals) != 1 || string(vals[0].Data) != "still here" {
		t.Fatalf("client get during the flood: %v, %d values", err, len(vals))
	}
	<-done
	vals, err = client.Get(ctx, key, nil)
	if err != nil || len(vals) != 1 {
		t.Fatalf("client get after the flood: %v, %d values", err, len(vals))
	}
	if _, err := client.Ping(ctx, n.Addr4()); err != nil {
		t.Fatalf("ping after the flood: %v", err)
	}
	in, err := n.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if in.RateDropped == 0 {
		t.Fatal("the rate limiter dropped nothing")
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 32<<20 {
		t.Fatalf("heap grew by %d MiB", grown>>20)
	}
	t.Logf("rate-dropped %d, heap %+d KiB, cached nodes %d", in.RateDropped, (int64(after.HeapAlloc)-int64(before.HeapAlloc))>>10, in.IPv4.NodeCache)
}

// floodPackets builds a mix of hostile datagrams.
func floodPackets(rng *rand.Rand) [][]byte {
	var out [][]byte
	id := func() wire.InfoHash { return randomID(rng) }
	enc := func(m *wire.Message) []byte {
		m.UA = []byte(wire.UserAgent)
		b, err := m.AppendBinary(nil)
		if err != nil {
			panic(err)
		}
		return b
	}
	for i := 0; i < 64; i++ {
		// Random bytes, and random bytes that start like a map.
		b := make([]byte, 1+rng.IntN(200))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		out = append(out, b, append([]byte{0x85, 0xa1, 'a'}, b...))
		// Well-formed requests from ever new node ids.
		out = append(out, enc(&wire.Message{Kind: wire.KindPing, TID: rng.Uint32(), ID: id()}))
		out = append(out, enc(&wire.Message{Kind: wire.KindGet, TID: rng.Uint32(), ID: id(), Hash: id()}))
		out = append(out, enc(&wire.Message{Kind: wire.KindFind, TID: rng.Uint32(), ID: id(), Target: id(), Want: wire.Want4 | wire.Want6}))
		// A put header announcing two big values that never come, and
		// parts of sessions that do not exist.
		out = append(out, enc(&wire.Message{Kind: wire.KindPut, TID: rng.Uint32(), ID: id(), Hash: id(), Token: make([]byte, 32),
			Sizes: []wire.ValueSize{{Index: 0, Size: 65000}, {Index: 1, Size: 65000}}}))
		out = append(out, wire.AppendValuePart(nil, 0, rng.Uint32(), 0, 0, make([]byte, 1200)))
		// A truncated valid message.
		full := enc(&wire.Message{Kind: wire.KindListen, TID: rng.Uint32(), ID: id(), Hash: id(), Token: make([]byte, 32), SID: 1, Version: 1})
		out = append(out, full[:len(full)/2])
	}
	return out
}

func TestRejoinFromExportedNodes(t *testing.T) {
	nodes := cluster(t, 10, nil)
	ctx := ctxT(t)
	key := wire.InfoHashOf([]byte("persisted"))
	v := &value.Value{Data: []byte("from before")}
	if err := nodes[2].Put(ctx, key, v, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	exported, err := nodes[9].ExportNodes(ctx)
	if err != nil || len(exported) == 0 {
		t.Fatalf("export: %v, %d nodes", err, len(exported))
	}
	b, _ := State{ID: nodes[9].ID(), Nodes: exported}.MarshalBinary()
	nodes[9].Close()
	var st State
	if err := st.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	// Restarted without a bootstrap node: the saved nodes are enough.
	cfg := testConfig()
	cfg.ID, cfg.Nodes = st.ID, st.Nodes
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	vals, err := n.Get(ctx, key, nil)
	if err != nil || len(vals) != 1 || vals[0].ID != v.ID {
		t.Fatalf("get after restart: %v, %d values", err, len(vals))
	}
}

func TestCloseLeaksNothing(t *testing.T) {
	base := goleak.IgnoreCurrent()
	nodes := make([]*Node, 0, 4)
	for i := 0; i < 4; i++ {
		n, err := New(Config{BindIPv4: loopback4, BindIPv6: netip.IPv6Loopback()})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
		if i > 0 {
			if err := n.Bootstrap(ctxT(t), nodes[0].Addr4().String(), nodes[0].Addr6().String()); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := ctxT(t)
	key := wire.InfoHashOf([]byte("leak"))
	got := make(chan struct{}, 10)
	if _, err := nodes[1].Listen(ctx, key, nil, func([]*value.Value, bool) bool { got <- struct{}{}; return true }); err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithCancel(ctx)
	if _, err := nodes[2].Listen(lctx, key, nil, func([]*value.Value, bool) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if err := nodes[3].Put(ctx, key, &value.Value{Data: []byte("x")}, PutOptions{Permanent: true}); err != nil {
		t.Fatal(err)
	}
	<-got
	cancel()
	if _, err := nodes[0].Get(ctx, key, nil); err != nil {
		t.Fatal(err)
	}
	// Both families ran: the IPv6 sockets carried traffic too.
	if in, _ := nodes[1].Info(ctx); in.IPv6.Good == 0 {
		t.Fatal("no good IPv6 node")
	}
	for _, n := range nodes {
		n.Close()
		n.Close() // idempotent
		select {
		case <-n.Done():
		default:
			t.Fatal("Done not closed")
		}
	}
	if err := nodes[0].Put(ctx, key, &value.Value{Data: []byte("y")}, PutOptions{}); err != ErrClosed {
		t.Fatalf("put on a closed node: %v", err)
	}
	goleak.VerifyNone(t, base)
}
