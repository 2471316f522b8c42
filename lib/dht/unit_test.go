package dht

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// inEngine runs f on the test goroutine while a fresh node's engine
// goroutine waits, so f may use the engine's state (and t.Fatal).
func inEngine(t *testing.T, mod func(*Config), f func(e *engine)) {
	t.Helper()
	n := oneNode(t, mod)
	paused, resume := make(chan *engine), make(chan struct{})
	n.post(func(e *engine) {
		paused <- e
		<-resume
	})
	e := <-paused
	defer close(resume)
	e.now = monoNow()
	f(e)
}

func randomID(rng *rand.Rand) wire.InfoHash {
	var h wire.InfoHash
	for i := range h {
		h[i] = byte(rng.Uint32())
	}
	return h
}

func TestRoutingTable(t *testing.T) {
	inEngine(t, nil, func(e *engine) {
		rng := rand.New(rand.NewPCG(1, 2))
		f := e.fams[0]
		var all []*node
		for i := 0; i < 300; i++ {
			id := randomID(rng)
			if i%3 == 0 { // some nodes close to us, so that our bucket splits deep
				id = e.id
				id[19] ^= byte(i)
				id[18] ^= byte(i >> 8)
			}
			addr := netip.AddrPortFrom(loopback4, uint16(20000+i))
			n := e.getNode(f, id, addr, true, false)
			n.time, n.reply = e.now, e.now // good
			e.onNewNode(f, n, 2)
			all = append(all, n)
		}
		tab := &f.tab
		if len(tab.b) < 5 {
			t.Fatalf("only %d buckets after 300 nodes", len(tab.b))
		}
		mine := tab.find(e.id)
		for i, b := range tab.b {
			if i > 0 && tab.b[i-1].first.Compare(b.first) >= 0 {
				t.Fatalf("buckets out of order at %d", i)
			}
			if len(b.nodes) > targetNodes {
				t.Fatalf("bucket %d holds %d nodes", i, len(b.nodes))
			}
			for _, n := range b.nodes {
				if tab.find(n.id) != i || !n.inTable {
					t.Fatalf("node %s in the wrong bucket", n.id)
				}
			}
			// Only our own bucket splits: every other bucket that is
			// full has a neighbour... and the bucket holding our id
			// is the deepest.
			if i != mine && tab.depth(i) > tab.depth(mine) {
				t.Fatalf("bucket %d deeper than ours", i)
			}
		}
		// Nodes that did not fit are the buckets' candidates, or were
		// dropped from the node cache.
		for _, n := range all {
			if !n.inTable && !n.asCached && f.nodes[n.id] == n {
				t.Fatalf("node %s kept in the cache with no reference", n.id)
			}
		}
		// closest: good nodes, sorted by distance, at most count.
		target := randomID(rng)
		got := tab.closest(nil, target, targetNodes, e.now, &e.t)
		if len(got) != targetNodes {
			t.Fatalf("closest returned %d nodes", len(got))
		}
		if !slices.IsSortedFunc(got, func(a, b *node) int { return target.XorCmp(a.id, b.id) }) {
			t.Fatal("closest not sorted by distance")
		}
		var inTable []*node
		for _, b := range tab.b {
			inTable = append(inTable, b.nodes...)
		}
		slices.SortFunc(inTable, func(a, b *node) int { return target.XorCmp(a.id, b.id) })
		if got[0] != inTable[0] {
			t.Fatal("closest misses the nearest node")
		}
		// Expired nodes are not returned and are replaced first.
		got[0].expired = true
		again := tab.closest(nil, target, targetNodes, e.now, &e.t)
		if slices.Contains(again, got[0]) {
			t.Fatal("expired node returned")
		}
		// randomID stays in its bucket.
		for i := range tab.b {
			if tab.find(tab.randomID(i, rng)) != i {
				t.Fatalf("random id outside bucket %d", i)
			}
		}
	})
}

func TestTokens(t *testing.T) {
	var tk tokens
	tk.rotate(1)
	tk.rotate(2)
	a := netip.MustParseAddrPort("192.0.2.1:4222")
	var tok [32]byte
	tk.make(&tok, a, false)
	if !tk.match(tok[:], a) {
		t.Fatal("fresh token refused")
	}
	if tk.match(tok[:], netip.MustParseAddrPort("192.0.2.1:4223")) || tk.match(tok[:], netip.MustParseAddrPort("192.0.2.2:4222")) {
		t.Fatal("token accepted for another address")
	}
	if tk.match(tok[:31], a) || tk.match(append(tok[:], 0), a) {
		t.Fatal("token of a wrong length accepted")
	}
	tk.rotate(3)
	if !tk.match(tok[:], a) {
		t.Fatal("token of the previous secret refused")
	}
	tk.rotate(4)
	if tk.match(tok[:], a) {
		t.Fatal("token two rotations old accepted")
	}
	// IPv6 and the secret's byte order: SHA-256(secret LE ‖ IP ‖ port BE).
	var tk6 tokens
	tk6.rotate(0x0102030405060708)
	b := netip.MustParseAddrPort("[2001:db8::1]:80")
	tk6.make(&tok, b, false)
	if !tk6.match(tok[:], b) || tk6.match(tok[:], netip.MustParseAddrPort("[2001:db8::1]:81")) {
		t.Fatal("IPv6 token")
	}
}

func TestRateLimiter(t *testing.T) {
	sec := ticks(time.Second)
	r := rateLimiter{quota: 3}
	for i := 0; i < 3; i++ {
		if !r.allow(0) {
			t.Fatalf("request %d refused", i)
		}
	}
	if r.allow(sec / 2) {
		t.Fatal("fourth request in the window allowed")
	}
	if !r.allow(sec + 1) {
		t.Fatal("window did not slide")
	}
	unlimited := rateLimiter{quota: -1}
	for i := 0; i < 10000; i++ {
		if !unlimited.allow(0) {
			t.Fatal("unlimited limiter refused")
		}
	}

	l := newLimiter(5, 2)
	a1 := netip.MustParseAddrPort("192.0.2.1:1")
	a2 := netip.MustParseAddrPort("192.0.2.1:2") // same IP, other port
	b := netip.MustParseAddrPort("192.0.2.2:1")
	v6a := netip.MustParseAddrPort("[2001:db8:0:1::1]:1")
	v6b := netip.MustParseAddrPort("[2001:db8:0:1::2]:1") // same /64
	if !l.allow(a1, 0) || !l.allow(a2, 0) || l.allow(a1, 0) {
		t.Fatal("per-IP limit ignores the port or was not applied")
	}
	if !l.allow(v6a, 0) || !l.allow(v6b, 0) || l.allow(v6b, 0) {
		t.Fatal("IPv6 /64 not grouped")
	}
	if !l.allow(b, 0) || l.allow(b, 0) {
		t.Fatal("global limit: 5 requests, the fifth from a fresh IP must pass")
	}
	if l.allow(netip.MustParseAddrPort("192.0.2.9:1"), 0) {
		t.Fatal("global limit not applied")
	}
	if !l.allow(netip.MustParseAddrPort("192.0.2.9:1"), 2*sec) {
		t.Fatal("limits did not recover")
	}
}

// storeFrom stores v at key as if put by from.
func storeFrom(e *engine, key wire.InfoHash, v *value.Value, from string) bool {
	var a netip.AddrPort
	if from != "" {
		a = netip.MustParseAddrPort(from)
	}
	return e.storageStore(key, v, v.Pack(), e.now, a, false)
}

func TestStorageQuota(t *testing.T) {
	inEngine(t, func(c *Config) { c.MaxStoreSize = 10000 }, func(e *engine) {
		kA := wire.InfoHashOf([]byte("a"))
		kB := wire.InfoHashOf([]byte("b"))
		data := bytes.Repeat([]byte("x"), 1000)
		for i := 1; i <= 3; i++ {
			storeFrom(e, kA, &value.Value{ID: uint64(i), Data: data}, "") // local: no quota
		}
		for i := 1; i <= 3; i++ {
			storeFrom(e, kA, &value.Value{ID: uint64(100 + i), Data: data}, "192.0.2.1:1")
		}
		for i := 1; i <= 6; i++ {
			e.now += ticks(time.Millisecond) // later values expire later
			storeFrom(e, kB, &value.Value{ID: uint64(200 + i), Data: data}, "192.0.2.2:1")
		}
		// 12000 bytes put for a limit of 10000: the biggest user
		// (192.0.2.2) loses its earliest-expiring values.
		if e.store.total > 10000 {
			t.Fatalf("total %d over the limit", e.store.total)
		}
		if q := e.store.quotas[netip.MustParseAddr("192.0.2.2")]; q == nil || q.size != 4000 {
			t.Fatalf("quota of the evicted IP: %+v", q)
		}
		if q := e.store.quotas[netip.MustParseAddr("192.0.2.1")]; q == nil || q.size != 3000 {
			t.Fatalf("quota of the other IP: %+v", q)
		}
		ids := map[uint64]bool{}
		for _, st := range e.store.keys[kB].values {
			ids[st.id] = true
		}
		if ids[201] || ids[202] || !ids[203] || !ids[206] {
			t.Fatalf("evicted the wrong values: kept %v", ids)
		}
		// Local values are never evicted, even alone over the limit.
		for i := 10; i < 30; i++ {
			storeFrom(e, kA, &value.Value{ID: uint64(i), Data: data}, "")
		}
		for i := 1; i <= 3; i++ {
			if e.store.keys[kA].find(uint64(i)) < 0 {
				t.Fatal("local value evicted")
			}
		}
	})
}

func TestStorageLimits(t *testing.T) {
	inEngine(t, func(c *Config) { c.NoRateLimit = true }, func(e *engine) {
		key := wire.InfoHashOf([]byte("many"))
		for i := 1; i <= MaxValuesPerKey+10; i++ {
			storeFrom(e, key, &value.Value{ID: uint64(i), Data: []byte{1}}, "192.0.2.1:1")
		}
		if n := len(e.store.keys[key].values); n != MaxValuesPerKey {
			t.Fatalf("%d values under one key", n)
		}
		if e.store.max >= 0 {
			t.Fatal("NoRateLimit must lift the storage limit")
		}
		// Values over 64 KiB are refused by the default store policy.
		big := &value.Value{ID: 1, Data: make([]byte, value.MaxValueSize+1)}
		if _, ok := e.types.Get(0).AllowStore(key, big, netip.AddrPort{}); ok {
			t.Fatal("oversized value allowed")
		}
	})
}

func TestStorageExpiry(t *testing.T) {
	inEngine(t, func(c *Config) { c.Types = shortTypes() }, func(e *engine) {
		key := wire.InfoHashOf([]byte("exp"))
		op := &listenOp{key: key, values: map[uint64]*opValue{}, mb: newMailbox()}
		e.startListen(op)
		short := &value.Value{ID: 1, Type: 100, Data: []byte("2s")}
		long := &value.Value{ID: 2, Type: 0, Data: []byte("10m")}
		storeFrom(e, key, short, "192.0.2.1:1")
		storeFrom(e, key, long, "192.0.2.1:1")
		// A put of identical content refreshes: expiration moves to
		// now + lifetime.
		e.now += ticks(time.Second)
		e.announced(key, short, e.now, netip.MustParseAddrPort("192.0.2.1:1"))
		k := e.store.keys[key]
		if got := k.values[k.find(1)].expire; got != e.now.add(2*time.Second) {
			t.Fatalf("refresh: expire %d, want %d", got, e.now.add(2*time.Second))
		}
		// An unsigned value cannot be edited.
		e.announced(key, &value.Value{ID: 2, Data: []byte("other")}, e.now, netip.MustParseAddrPort("192.0.2.1:1"))
		if !bytes.Equal(k.values[k.find(2)].bytes(), long.Pack()) {
			t.Fatal("unsigned value edited")
		}
		// A value created in the past expires earlier; one already
		// expired is not stored.
		if e.storageStore(key, &value.Value{ID: 3, Type: 100, Data: []byte("old")}, nil, e.now-ticks(3*time.Second), netip.MustParseAddrPort("192.0.2.1:1"), false) {
			t.Fatal("stored a value created beyond its lifetime")
		}
		e.now += ticks(2500 * time.Millisecond)
		e.expireDue()
		if k.find(1) >= 0 || k.find(2) < 0 {
			t.Fatal("expiry removed the wrong values")
		}
		if e.store.count != 1 {
			t.Fatalf("count %d", e.store.count)
		}
		evs, _, _ := op.mb.take()
		var added, expired []uint64
		for _, ev := range evs {
			for _, v := range ev.vals {
				if ev.expired {
					expired = append(expired, v.ID)
				} else {
					added = append(added, v.ID)
				}
			}
		}
		if !slices.Equal(added, []uint64{1, 2}) || !slices.Equal(expired, []uint64{1}) {
			t.Fatalf("local listener: added %v expired %v", added, expired)
		}
		e.cancelListen(op.token)
	})
}

func TestStateRoundTrip(t *testing.T) {
	s := State{ID: wire.InfoHashOf([]byte("me")), Nodes: []wire.NodeInfo{
		{ID: wire.InfoHashOf([]byte("a")), Addr: netip.MustParseAddrPort("192.0.2.1:4222")},
		{ID: wire.InfoHashOf([]byte("b")), Addr: netip.MustParseAddrPort("[2001:db8::5]:4223")},
	}}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got State
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if got.ID != s.ID || !slices.Equal(got.Nodes, s.Nodes) {
		t.Fatalf("round trip: %+v", got)
	}
	if err := got.UnmarshalBinary([]byte{0x81, 0xa2, 'i', 'd', 0xc4, 0x01, 0x00}); err == nil {
		t.Fatal("1-byte id accepted")
	}
}

// TestStateForms pins down which encodings of a state file read, and as
// what: besides OpenDHT's own map, those the general msgpack decoder used
// before accepted (see readStruct), so that no file that read before
// stops reading. Declared counts larger than the file are refused before
// anything is sized by them.
func TestStateForms(t *testing.T) {
	id := bytes.Repeat([]byte{7}, wire.HashLen)
	sa := sockaddr(netip.MustParseAddrPort("127.0.0.1:4242"))
	str := func(s string) []byte { return msgp.AppendStr(nil, s) }
	bin := func(p []byte) []byte { return msgp.AppendBin(nil, p) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	node := cat([]byte{0x82}, str("id"), bin(id), str("addr"), bin(sa))
	for _, c := range []struct {
		name  string
		in    []byte
		nodes int // -1: refused
	}{
		{"empty map", []byte{0x80}, 0},
		{"nil", []byte{0xc0}, 0},
		{"empty array", []byte{0x90}, 0},
		{"positional", cat([]byte{0x94, 0x01}, bin(id), []byte{0x91}, node, []byte{0x90}), 1},
		{"positional node", cat([]byte{0x94, 0x01}, bin(id), []byte{0x91, 0x92}, bin(id), bin(sa), []byte{0x90}), 1},
		{"positional, wrong length", cat([]byte{0x93, 0x01}, bin(id), []byte{0x90}), -1},
		{"bin key, str id", cat([]byte{0x81}, bin([]byte("id")), str(string(id))), 0},
		{"nil key skipped", cat([]byte{0x81, 0xc0}, str("anything")), 0},
		{"int key", []byte{0x81, 0x01, 0x01}, -1},
		{"negative version", cat([]byte{0x81}, str("v"), []byte{0xff}), 0},
		{"float version", cat([]byte{0x81}, str("v"), []byte{0xca, 0, 0, 0, 0}), -1},
		{"nil node: no id", cat([]byte{0x81}, str("nodes"), []byte{0x93, 0xc0, 0x90}, node), -1},
		{"node without addr skipped", cat([]byte{0x81}, str("nodes"), []byte{0x92, 0x81}, str("id"), bin(id), node), 1},
		{"last id counts", cat([]byte{0x82}, str("id"), bin(id[:3]), str("id"), []byte{0xc0}), 0},
		{"values skipped", cat([]byte{0x81}, str("values"), []byte{0xc7, 0x01, 0x05, 0xaa}), 0},
		{"trailing bytes", cat([]byte{0x81}, str("nodes"), []byte{0x91}, node, []byte{0xc1}), 1},
		{"reserved byte", cat([]byte{0x81}, str("values"), []byte{0xc1}), -1},
		{"truncated", []byte{0x84}, -1},
		{"2^32-1 nodes", cat([]byte{0x81}, str("nodes"), []byte{0xdd, 0xff, 0xff, 0xff, 0xff}), -1},
		{"4 GiB id", cat([]byte{0x81}, str("id"), []byte{0xc6, 0xff, 0xff, 0xff, 0xff}), -1},
	} {
		var s State
		err := s.UnmarshalBinary(c.in)
		if c.nodes < 0 {
			if !errors.Is(err, ErrState) {
				t.Errorf("%s: err %v, want ErrState", c.name, err)
			}
			continue
		}
		if err != nil || len(s.Nodes) != c.nodes {
			t.Errorf("%s: err %v, %d nodes, want %d", c.name, err, len(s.Nodes), c.nodes)
		}
	}
}

func FuzzState(f *testing.F) {
	s := State{ID: wire.InfoHashOf([]byte("me")), Nodes: []wire.NodeInfo{{ID: wire.InfoHashOf([]byte("a")), Addr: netip.MustParseAddrPort("192.0.2.1:4222")}}}
	b, _ := s.MarshalBinary()
	f.Add(b)
	f.Add([]byte{0x80})
	f.Add([]byte{0x94, 0x01, 0xc0, 0x91, 0x92, 0xc0, 0xc0, 0x90})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s State
		if s.UnmarshalBinary(b) != nil {
			return
		}
		out, _ := s.MarshalBinary()
		var again State
		if err := again.UnmarshalBinary(out); err != nil || again.ID != s.ID || !slices.Equal(again.Nodes, s.Nodes) {
			t.Fatalf("re-encoding changed the state: %v", err)
		}
	})
}

func TestRxQueue(t *testing.T) {
	q := rxQueue{max: 3, maxBytes: 1 << 20, signal: make(chan struct{}, 1)}
	from := netip.MustParseAddrPort("192.0.2.1:1")
	for i := byte(0); i < 5; i++ {
		q.push([]byte{i}, from)
	}
	got := q.take(nil)
	if len(got) != 3 || got[0].data[0] != 2 || got[2].data[0] != 4 || q.drops != 2 {
		t.Fatalf("queue kept %d packets, first %d, drops %d; want the 3 newest", len(got), got[0].data[0], q.drops)
	}
	for i := range got {
		got[i].release()
	}
	// The byte bound drops old packets too.
	q = rxQueue{max: 1000, maxBytes: 3 * smallPacket, signal: make(chan struct{}, 1)}
	for i := 0; i < 10; i++ {
		q.push(make([]byte, 100), from)
	}
	if got := q.take(nil); len(got) != 3 {
		t.Fatalf("byte-bounded queue kept %d packets", len(got))
	}
	big := make([]byte, 10*smallPacket)
	q.push(big, from) // alone over the bound: still queued
	if got := q.take(nil); len(got) != 1 || len(got[0].data) != len(big) {
		t.Fatal("a large datagram was lost")
	}
}

// TestStateFromDhtnode reads a state file written by the real dhtnode -f
// (2.4.12) and writes it back byte for byte.
func TestStateFromDhtnode(t *testing.T) {
	b, err := os.ReadFile("testdata/dhtnode_state.bin")
	if err != nil {
		t.Fatal(err)
	}
	var s State
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if s.ID.String() != "80bb2d9696d35500ad3048200f56e448604dbfd2" || len(s.Nodes) != 1 ||
		s.Nodes[0].Addr != netip.MustParseAddrPort("127.0.0.1:45411") || !strings.HasPrefix(s.Nodes[0].ID.String(), "63a1928a993e") {
		t.Fatalf("state %+v", s)
	}
	out, _ := s.MarshalBinary()
	if !bytes.Equal(out, b) {
		t.Fatalf("re-encoded state differs:\n got %x\nwant %x", out, b)
	}
}
