package dht

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var loopback4 = netip.MustParseAddr("127.0.0.1")

// testConfig is a loopback IPv4 node.
func testConfig() Config {
	return Config{BindIPv4: loopback4, NoIPv6: true}
}

// cluster starts n nodes, each bootstrapped from the first one.
func cluster(t *testing.T, n int, mod func(i int, c *Config)) []*Node {
	t.Helper()
	nodes := make([]*Node, 0, n)
	t.Cleanup(func() {
		for _, nd := range nodes {
			nd.Close()
		}
	})
	for i := 0; i < n; i++ {
		cfg := testConfig()
		if mod != nil {
			mod(i, &cfg)
		}
		nd, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
		if i > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := nd.Bootstrap(ctx, nodes[0].Addr4().String())
			cancel()
			if err != nil {
				t.Fatalf("node %d bootstrap: %v", i, err)
			}
		}
	}
	// Each node gets to know a few others both ways (a ping makes the
	// pinged node good for the pinger): lookups still have to iterate.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range nodes {
		for _, k := range []int{1, 2, 5} {
			j := (i + k) % len(nodes)
			if j == i {
				continue
			}
			if _, err := nodes[i].Ping(ctx, nodes[j].Addr4()); err != nil {
				t.Fatal(err)
			}
			if _, err := nodes[j].Ping(ctx, nodes[i].Addr4()); err != nil {
				t.Fatal(err)
			}
		}
	}
	return nodes
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClusterPutGet(t *testing.T) {
	nodes := cluster(t, 20, nil)
	ctx := ctxT(t)
	for _, size := range []int{10, 599, 600, 3000, 60 * 1024} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			key := wire.InfoHashOf([]byte(fmt.Sprint("key", size)))
			data := bytes.Repeat([]byte{byte(size)}, size)
			v := &value.Value{Data: data, UserType: "test"}
			if err := nodes[3].Put(ctx, key, v, PutOptions{}); err != nil {
				t.Fatalf("put: %v", err)
			}
			checkStoredOnClosest(t, nodes, key, 3)
			for _, i := range []int{0, 11, 19} {
				vals, err := nodes[i].Get(ctx, key, nil)
				if err != nil {
					t.Fatalf("get from %d: %v", i, err)
				}
				if len(vals) != 1 || !bytes.Equal(vals[0].Data, data) || vals[0].ID != v.ID {
					t.Fatalf("get from %d: %d values", i, len(vals))
				}
			}
		})
	}
}

// checkStoredOnClosest checks that key is stored by the 8 nodes closest to
// it, and by no other node but the putter (which keeps a local copy).
func checkStoredOnClosest(t *testing.T, nodes []*Node, key wire.InfoHash, putter int) {
	t.Helper()
	// The putter's search never includes itself: the targets are the 8
	// closest other nodes.
	var idx []int
	for i := range nodes {
		if i != putter {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return key.XorCmp(nodes[a].ID(), nodes[b].ID()) })
	closest := map[int]bool{}
	for _, i := range idx[:targetNodes] {
		closest[i] = true
	}
	for i, n := range nodes {
		st, err := n.Storage(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		has := false
		for _, k := range st.Keys {
			has = has || (k.Key == key && k.Values > 0)
		}
		switch {
		case closest[i] && !has:
			t.Errorf("node %d is among the 8 closest but does not store the value", i)
		case !closest[i] && has && i != putter:
			t.Errorf("node %d is not among the 8 closest but stores the value", i)
		}
	}
}

// shortTypes registers test types with lifetimes of a few seconds.
func shortTypes() *value.Registry {
	r := value.NewRegistry()
	r.Register(value.Type{ID: 100, Name: "2s", Expiration: 2 * time.Second})
	r.Register(value.Type{ID: 101, Name: "3s", Expiration: 3 * time.Second})
	return r
}

type listenEvent struct {
	id      uint64
	size    int
	utype   string
	expired bool
}

func listenChan(t *testing.T, n *Node, key wire.InfoHash, where *value.Where) (<-chan listenEvent, ListenToken) {
	t.Helper()
	ch := make(chan listenEvent, 1000)
	tok, err := n.Listen(ctxT(t), key, where, func(vals []*value.Value, expired bool) bool {
		for _, v := range vals {
			ch <- listenEvent{v.ID, len(v.Data), v.UserType, expired}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch, tok
}

// waitEvent returns the next event matching f.
func waitEvent(t *testing.T, ch <-chan listenEvent, what string, f func(listenEvent) bool) listenEvent {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-ch:
			if f(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no listen event: %s", what)
		}
	}
}

func TestClusterListen(t *testing.T) {
	reg := shortTypes()
	nodes := cluster(t, 20, func(i int, c *Config) { c.Types = reg })
	ctx := ctxT(t)
	key := wire.InfoHashOf([]byte("listen key"))
	before := &value.Value{Data: []byte("before")}
	if err := nodes[12].Put(ctx, key, before, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	ch, tok := listenChan(t, nodes[7], key, nil)
	waitEvent(t, ch, "value put before listening", func(ev listenEvent) bool { return ev.id == before.ID && !ev.expired })

	for _, size := range []int{10, 599, 600, 3000, 60 * 1024} {
		v := &value.Value{Data: bytes.Repeat([]byte("v"), size)}
		if err := nodes[12].Put(ctx, key, v, PutOptions{}); err != nil {
			t.Fatal(err)
		}
		ev := waitEvent(t, ch, fmt.Sprint("new value of ", size), func(ev listenEvent) bool { return ev.id == v.ID })
		if ev.size != size || ev.expired {
			t.Fatalf("event %+v", ev)
		}
	}
	// A short-lived value: new, then expired.
	short := &value.Value{Type: 100, Data: []byte("short")}
	if err := nodes[15].Put(ctx, key, short, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, "short value", func(ev listenEvent) bool { return ev.id == short.ID && !ev.expired })
	waitEvent(t, ch, "short value expiry", func(ev listenEvent) bool { return ev.id == short.ID && ev.expired })

	if ok, err := nodes[7].CancelListen(ctx, tok); !ok || err != nil {
		t.Fatalf("cancel listen: %v %v", ok, err)
	}
	if ok, _ := nodes[7].CancelListen(ctx, tok); ok {
		t.Fatal("cancelled twice")
	}
}

func TestClusterListenWhere(t *testing.T) {
	nodes := cluster(t, 12, nil)
	ctx := ctxT(t)
	key := wire.InfoHashOf([]byte("filtered"))
	w := new(value.Where).UserType("a")
	ch, _ := listenChan(t, nodes[2], key, w)
	b := &value.Value{Data: []byte("b"), UserType: "b"}
	a := &value.Value{Data: []byte("a"), UserType: "a"}
	for _, v := range []*value.Value{b, a} {
		if err := nodes[9].Put(ctx, key, v, PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ev := waitEvent(t, ch, "filtered value", func(listenEvent) bool { return true })
	if ev.id != a.ID || ev.utype != "a" {
		t.Fatalf("first event %+v, want only user_type a", ev)
	}
	vals, err := nodes[5].Get(ctx, key, &value.Query{Where: *w})
	if err != nil || len(vals) != 1 || vals[0].ID != a.ID {
		t.Fatalf("get where: %v %d", err, len(vals))
	}
}

func TestClusterQuery(t *testing.T) {
	nodes := cluster(t, 12, nil)
	ctx := ctxT(t)
	key := wire.InfoHashOf([]byte("query"))
	vals := []*value.Value{
		{ID: 1, Type: 0, Data: []byte("x"), UserType: "text/plain"},
		{ID: 2, Type: 3, Data: []byte("y"), UserType: "other"},
		{ID: 3, Type: 3, Data: []byte("z")},
	}
	for _, v := range vals {
		if err := nodes[1].Put(ctx, key, v, PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	q, err := value.ParseQuery("SELECT id,user_type WHERE value_type=3")
	if err != nil {
		t.Fatal(err)
	}
	var rows []value.FieldIndex
	err = nodes[8].Query(ctx, key, q, func(r []value.FieldIndex) bool {
		rows = append(rows, r...)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]string{}
	for _, r := range rows {
		got[r[value.FieldID].Int] = string(r[value.FieldUserType].Blob)
		if _, ok := r[value.FieldValueType]; ok {
			t.Fatalf("row has an unselected field: %v", r)
		}
	}
	if len(got) != 2 || got[2] != "other" || got[3] != "" {
		t.Fatalf("rows %v", got)
	}
	// GetFunc can stop early.
	calls := 0
	err = nodes[10].GetFunc(ctx, key, nil, func([]*value.Value) bool { calls++; return false })
	if err != nil || calls != 1 {
		t.Fatalf("early stop: %v after %d calls", err, calls)
	}
}

func TestClusterPermanent(t *testing.T) {
	reg := shortTypes()
	nodes := cluster(t, 12, func(i int, c *Config) {
		c.Types = reg
		c.timing = defaultTiming()
		c.timing.reannounceMargin = time.Second
	})
	ctx := ctxT(t)
	key := wire.InfoHashOf([]byte("permanent"))
	v := &value.Value{Type: 101, Data: []byte("forever")}
	if err := nodes[4].Put(ctx, key, v, PutOptions{Permanent: true}); err != nil {
		t.Fatal(err)
	}
	temp := &value.Value{Type: 101, Data: []byte("temporary")}
	if err := nodes[4].Put(ctx, key, temp, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// After three lifetimes the storers still hold the permanent value
	// (re-announced with refresh or put), not the other one.
	time.Sleep(9 * time.Second)
	holders := 0
	for i, n := range nodes {
		if i == 4 {
			continue
		}
		for _, st := range storedIDs(t, n, key) {
			if st == temp.ID {
				t.Fatalf("node %d still has the temporary value", i)
			}
			if st == v.ID {
				holders++
			}
		}
	}
	if holders < 4 {
		t.Fatalf("the permanent value is on %d nodes", holders)
	}
	// Once cancelled, it vanishes from the storers within a lifetime.
	if ok, err := nodes[4].CancelPut(ctx, key, v.ID); !ok || err != nil {
		t.Fatalf("cancel put: %v %v", ok, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := 0
		for _, n := range nodes {
			left += len(storedIDs(t, n, key))
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d copies left after cancel", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// storedIDs lists the ids a node stores at key (through Get on its own
// storage only: Storage gives counts, the local get gives ids).
func storedIDs(t *testing.T, n *Node, key wire.InfoHash) []uint64 {
	t.Helper()
	var ids []uint64
	err := n.exec(ctxT(t), func(e *engine) {
		if k := e.store.keys[key]; k != nil {
			for _, st := range k.values {
				ids = append(ids, st.id)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestClusterListenRefresh shrinks the listen timers: listens are re-sent
// every second and storers forget a listener after 3 s without one. A
// listen keeps working long after that; once cancelled, the storers drop
// it.
func TestClusterListenRefresh(t *testing.T) {
	nodes := cluster(t, 10, func(i int, c *Config) {
		c.timing = defaultTiming()
		c.timing.listenExpire = 2 * time.Second
		c.timing.reannounceMargin = time.Second
		c.timing.listenerExpire = 3 * time.Second
		c.timing.expireMin, c.timing.expireMax = 500*time.Millisecond, 700*time.Millisecond
	})
	ctx := ctxT(t)
	key := wire.InfoHashOf([]byte("refreshed listen"))
	ch, tok := listenChan(t, nodes[6], key, nil)
	remoteListeners := func() int {
		c := 0
		for i, n := range nodes {
			if i == 6 {
				continue
			}
			st, err := n.Storage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range st.Keys {
				if k.Key == key {
					c += k.Listeners
				}
			}
		}
		return c
	}
	deadline := time.Now().Add(20 * time.Second)
	for remoteListeners() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the listen reached no node")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(7 * time.Second) // more than twice the storers' listener lifetime
	// Listens go to the 4 closest nodes (LISTEN_NODES).
	if n := remoteListeners(); n != listenNodes {
		t.Fatalf("%d remote listeners after several refreshes, want %d", n, listenNodes)
	}
	v := &value.Value{Data: []byte("late")}
	if err := nodes[2].Put(ctx, key, v, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, "value put after several refreshes", func(ev listenEvent) bool { return ev.id == v.ID })
	if _, err := nodes[6].CancelListen(ctx, tok); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for remoteListeners() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("storers kept a cancelled listen")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestClusterIPv6 runs a small network on ::1 only.
func TestClusterIPv6(t *testing.T) {
	ctx := ctxT(t)
	var nodes []*Node
	for i := 0; i < 6; i++ {
		n, err := New(Config{NoIPv4: true, BindIPv6: netip.IPv6Loopback()})
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		defer n.Close()
		if i > 0 {
			if err := n.Bootstrap(ctx, nodes[0].Addr6().String()); err != nil {
				t.Fatal(err)
			}
			if _, err := nodes[0].Ping(ctx, n.Addr6()); err != nil {
				t.Fatal(err)
			}
		}
		nodes = append(nodes, n)
	}
	key := wire.InfoHashOf([]byte("v6"))
	v := &value.Value{Data: bytes.Repeat([]byte("6"), 5000)}
	if err := nodes[5].Put(ctx, key, v, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	vals, err := nodes[3].Get(ctx, key, nil)
	if err != nil || len(vals) != 1 || !bytes.Equal(vals[0].Data, v.Data) {
		t.Fatalf("get over IPv6: %v %d", err, len(vals))
	}
	in, _ := nodes[0].Info(ctx)
	if in.IPv6.Good < 5 || in.IPv4.Bound.IsValid() {
		t.Fatalf("info: %+v", in.IPv6)
	}
}
