package dht

import (
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// What dhtnode's ls and ld show beyond the node list: a search's last
// step, its queries, each node's listen state and pending requests, the
// 'u' mark of nodes that answered since the newest get, and the remote
// listeners a storing node keeps per listening node.
func TestSearchAndStorageInfo(t *testing.T) {
	nodes := cluster(t, 6, nil)
	ctx := ctxT(t)
	key := wire.InfoHashOf([]byte("info key"))
	w := new(value.Where).UserType("b")
	start := time.Now()
	ch, _ := listenChan(t, nodes[1], key, w)
	v := &value.Value{Data: []byte("x"), UserType: "b"}
	if err := nodes[2].Put(ctx, key, v, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, "the value", func(ev listenEvent) bool { return ev.id == v.ID })

	// The listener's search, once its listens are confirmed.
	var s SearchInfo
	deadline := time.Now().Add(30 * time.Second)
	for {
		srs, err := nodes[1].Searches(ctx)
		if err != nil {
			t.Fatal(err)
		}
		confirmed := 0
		for _, si := range srs {
			if si.Key == key && !si.IPv6 {
				s = si
				for _, n := range si.Nodes {
					if n.Listening {
						confirmed++
					}
				}
			}
		}
		if confirmed > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no confirmed listen in %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s.LastStep.Before(start) || s.LastStep.After(time.Now()) {
		t.Errorf("LastStep %v, want since %v", s.LastStep, start)
	}
	if len(s.Queries) != 1 || s.Queries[0].String() != (value.Query{Where: *w}).String() {
		t.Errorf("Queries %v, want the listen's WHERE user_type=b", s.Queries)
	}
	for _, n := range s.Nodes {
		if n.Listening && !n.HasListen {
			t.Errorf("node %s listening without a listen sent", n.ID)
		}
		if n.PendingRequests < 0 || n.PendingRequests > 10 {
			t.Errorf("node %s: %d pending requests", n.ID, n.PendingRequests)
		}
		// No get runs on the search: every synced node answered since.
		if n.Synced && !n.Updated {
			t.Errorf("node %s synced but not updated with no get running", n.ID)
		}
	}

	// Some storing node counts nodes[1] as one remote listener, with one
	// entry (its listen socket on the key).
	found := false
	for _, n := range nodes {
		st, err := n.Storage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range st.Keys {
			if k.Key != key {
				continue
			}
			if k.Listeners != len(k.RemoteListeners) {
				t.Errorf("%d listener nodes, %d detailed", k.Listeners, len(k.RemoteListeners))
			}
			for _, l := range k.RemoteListeners {
				if l.ID == nodes[1].ID() {
					found = true
					if l.Entries != 1 || l.Addr != nodes[1].Addr4() {
						t.Errorf("remote listener %+v, want 1 entry from %s", l, nodes[1].Addr4())
					}
				}
			}
		}
	}
	if !found {
		t.Error("no storing node lists the listener")
	}
}
