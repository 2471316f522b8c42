package dht

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// FamilyInfo is one family's state, the numbers dhtnode's "ll" prints.
type FamilyInfo struct {
	Bound       netip.AddrPort // invalid when the family is not running
	Status      Status
	Good        int // nodes that answered us recently
	Dubious     int // other unexpired nodes of the routing table
	Incoming    int // good nodes heard from after their last reply
	Cached      int // buckets holding a replacement candidate
	NodeCache   int // node objects known (table, searches, listeners)
	Searches    int
	TableDepth  int // depth of the bucket holding our id
	NetworkSize int // OpenDHT's estimate: 8·2^depth
}

// Info is a snapshot of the node.
type Info struct {
	ID             wire.InfoHash
	IPv4, IPv6     FamilyInfo
	Ops            int // running gets, puts and listens
	StoredKeys     int
	StoredValues   int
	StoredBytes    int64
	MaxStoreBytes  int64 // negative: unlimited
	RxDropped      uint64
	RateDropped    uint64
	Blacklisted    int
	PublicAddrs    []netip.Addr // addresses peers reported for us ("sa"), most reported first
	Received, Sent map[string]uint64
}

// Info returns a snapshot of the node's state.
func (n *Node) Info(ctx context.Context) (Info, error) {
	var in Info
	err := n.exec(ctx, func(e *engine) { in = e.info() })
	in.RxDropped += n.rxDrops()
	return in, err
}

func (n *Node) rxDrops() uint64 {
	n.rx.mu.Lock()
	defer n.rx.mu.Unlock()
	return n.rx.drops
}

func (e *engine) info() Info {
	in := Info{
		ID:            e.id,
		Ops:           e.gets + e.puts + len(e.listens),
		StoredKeys:    len(e.store.keys),
		StoredValues:  e.store.count,
		StoredBytes:   e.store.total,
		MaxStoreBytes: e.store.max,
		RxDropped:     e.stats.dropped.late,
		RateDropped:   e.stats.dropped.rate,
		Blacklisted:   len(e.blacklist),
		Received:      map[string]uint64{},
		Sent:          map[string]uint64{},
	}
	for k := range e.stats.recv {
		if e.stats.recv[k] > 0 {
			in.Received[wire.Kind(k).String()] = e.stats.recv[k]
		}
		if e.stats.sent[k] > 0 {
			in.Sent[wire.Kind(k).String()] = e.stats.sent[k]
		}
	}
	in.IPv4 = e.familyInfo(e.fams[0])
	in.IPv6 = e.familyInfo(e.fams[1])
	rep := slices.Clone(e.reported)
	slices.SortStableFunc(rep, func(a, b reportedAddr) int { return b.count - a.count })
	for _, r := range rep {
		in.PublicAddrs = append(in.PublicAddrs, r.addr)
	}
	return in
}

func (e *engine) familyInfo(f *family) FamilyInfo {
	fi := FamilyInfo{Bound: f.bound, Status: e.familyStatus(f), NodeCache: len(f.nodes), Searches: len(f.searches)}
	if f.conn == nil {
		fi.Bound = netip.AddrPort{}
	}
	for _, b := range f.tab.b {
		for _, n := range b.nodes {
			switch {
			case n.isGood(e.now, &e.t):
				fi.Good++
				if n.isIncoming() {
					fi.Incoming++
				}
			case !n.expired:
				fi.Dubious++
			}
		}
		if b.cached != nil {
			fi.Cached++
		}
	}
	fi.TableDepth = f.tab.depth(f.tab.find(e.id))
	if fi.TableDepth < 62 {
		fi.NetworkSize = targetNodes << fi.TableDepth
	}
	return fi
}

// NodeState is one routing-table node, as dhtnode's "lr" prints it.
type NodeState struct {
	ID        wire.InfoHash
	Addr      netip.AddrPort
	LastHeard time.Time // zero: never
	LastReply time.Time // zero: never
	Expired   bool
	Good      bool
}

// BucketInfo is one k-bucket.
type BucketInfo struct {
	First   wire.InfoHash
	Updated time.Time // last reply from one of its nodes; zero: never
	Nodes   []NodeState
	Cached  *NodeState // the replacement candidate
	Mine    bool       // the bucket holding our id
}

func (e *engine) nodeState(n *node) NodeState {
	return NodeState{ID: n.id, Addr: n.addr, LastHeard: wallOf(n.time), LastReply: wallOf(n.reply),
		Expired: n.expired, Good: n.isGood(e.now, &e.t)}
}

func wallOf(t ticks) time.Time {
	if t <= tMin || t >= tMax {
		return time.Time{}
	}
	return t.wall()
}

// RoutingTable returns the buckets of one family (v6 selects IPv6).
func (n *Node) RoutingTable(ctx context.Context, v6 bool) ([]BucketInfo, error) {
	var out []BucketInfo
	err := n.exec(ctx, func(e *engine) {
		f := e.fams[0]
		if v6 {
			f = e.fams[1]
		}
		mine := f.tab.find(e.id)
		for i, b := range f.tab.b {
			bi := BucketInfo{First: b.first, Updated: wallOf(b.time), Mine: i == mine}
			for _, nd := range b.nodes {
				bi.Nodes = append(bi.Nodes, e.nodeState(nd))
			}
			if b.cached != nil {
				c := e.nodeState(b.cached)
				bi.Cached = &c
			}
			out = append(out, bi)
		}
	})
	return out, err
}

// SearchNodeInfo is one node of a search, with dhtnode's "ls" flags.
type SearchNodeInfo struct {
	NodeState
	Synced     bool     // gave a fresh token
	Updated    bool     // answered a get since the newest get of the search started ('u', not 's')
	Candidate  bool     // slow to answer
	Pending    bool     // a get/find in flight
	Listening  bool     // a listen confirmed and fresh
	HasListen  bool     // a listen was sent to it (confirmed or not)
	ListenSent bool     // a listen request in flight ('f' in the listen column)
	Announced  []uint64 // values it acknowledged
	// AnnounceStates is the state of each value's last put request to the
	// node, as OpenDHT's Request::getStateChar: 'f' in flight, 'a'
	// acknowledged, 'e' expired (unanswered), 'c' cancelled.
	AnnounceStates map[uint64]byte
	// PendingRequests counts our requests to the node (of any search or
	// none) waiting for its reply: Node::getPendingMessageCount.
	PendingRequests int
	TokenBytes      int
}

// SearchInfo is one search.
type SearchInfo struct {
	Key       wire.InfoHash
	IPv6      bool
	Expired   bool
	Done      bool
	Synced    bool
	LastStep  time.Time // when the search last stepped; zero: never
	Gets      int
	Queries   []value.Query // of its gets, then of its listens (dhtnode's "Queries:")
	Puts      []uint64      // ids of the values being announced
	Permanent []uint64      // ids of the permanent ones
	Listens   int
	Nodes     []SearchNodeInfo
}

// Searches returns the searches of both families.
func (n *Node) Searches(ctx context.Context) ([]SearchInfo, error) {
	var out []SearchInfo
	err := n.exec(ctx, func(e *engine) {
		for _, f := range e.fams {
			for _, s := range f.searches {
				out = append(out, e.searchInfo(s))
			}
		}
		slices.SortFunc(out, func(a, b SearchInfo) int { return a.Key.Compare(b.Key) })
	})
	return out, err
}

func (e *engine) searchInfo(s *search) SearchInfo {
	si := SearchInfo{Key: s.id, IPv6: s.f.v6(), Expired: s.expired, Done: s.done,
		Synced: s.isSynced(e.now, &e.t), LastStep: wallOf(s.stepTime), Gets: len(s.gets), Listens: len(s.listens)}
	for _, op := range s.gets {
		si.Queries = append(si.Queries, op.query)
	}
	for _, l := range s.listens {
		si.Queries = append(si.Queries, value.Query{Where: l.where})
	}
	for _, a := range s.puts {
		si.Puts = append(si.Puts, a.op.v.ID)
		if a.op.permanent {
			si.Permanent = append(si.Permanent, a.op.v.ID)
		}
	}
	lastGet := s.lastGetStart()
	for _, sn := range s.nodes {
		ni := SearchNodeInfo{NodeState: e.nodeState(sn.node), Synced: sn.isSynced(e.now, &e.t),
			Updated: sn.lastGetReply > lastGet, Candidate: sn.candidate, Pending: sn.pendingGet(),
			HasListen: len(sn.listens) > 0, PendingRequests: len(sn.node.pending), TokenBytes: len(sn.token)}
		for _, nl := range sn.listens {
			if nl.req == nil {
				continue
			}
			if nl.req.completed() && nl.req.replyTime.add(e.t.listenExpire) > e.now {
				ni.Listening = true
			}
			ni.ListenSent = ni.ListenSent || nl.req.pending()
		}
		for id, a := range sn.acked {
			if a.done {
				ni.Announced = append(ni.Announced, id)
			}
			if c := a.stateChar(); c != 0 {
				if ni.AnnounceStates == nil {
					ni.AnnounceStates = map[uint64]byte{}
				}
				ni.AnnounceStates[id] = c
			}
		}
		slices.Sort(ni.Announced)
		si.Nodes = append(si.Nodes, ni)
	}
	return si
}

// stateChar is the announce column's letter for one value on one node
// (0: nothing to show, OpenDHT prints a blank).
func (a *ackStatus) stateChar() byte {
	if a.req == nil {
		if a.done {
			return 'a' // found there by the permanent-put probe
		}
		return 0
	}
	switch a.req.state {
	case reqPending:
		return 'f'
	case reqCompleted:
		return 'a'
	case reqExpired:
		return 'e'
	case reqCancelled:
		return 'c'
	}
	return '?'
}

// KeyInfo is one storage entry, as dhtnode's "ld" prints it.
type KeyInfo struct {
	Key    wire.InfoHash
	Values int
	Bytes  int64
	// Listeners counts the remote nodes listening (OpenDHT's "N list.":
	// nodes, not listen sockets); RemoteListeners details them.
	Listeners       int
	RemoteListeners []ListenerInfo
	Local           int // local listen operations
}

// ListenerInfo is a remote node listening on a key: dhtnode's
// "Listener <id> <addr> : N entries".
type ListenerInfo struct {
	ID      wire.InfoHash
	Addr    netip.AddrPort
	Entries int // its listen sockets on the key
}

// StorageInfo is the storage with its per-IP usage.
type StorageInfo struct {
	Keys        []KeyInfo
	TotalValues int
	TotalBytes  int64
	MaxBytes    int64 // negative: unlimited
	PerIP       map[netip.Addr]int64
}

// Storage returns what the node stores.
func (n *Node) Storage(ctx context.Context) (StorageInfo, error) {
	var si StorageInfo
	err := n.exec(ctx, func(e *engine) {
		si = StorageInfo{TotalValues: e.store.count, TotalBytes: e.store.total, MaxBytes: e.store.max, PerIP: map[netip.Addr]int64{}}
		for _, k := range e.store.keys {
			ki := KeyInfo{Key: k.key, Values: len(k.values), Bytes: k.size}
			if k.lst != nil {
				ki.Local = len(k.lst.local)
				// In the order the nodes first listened.
				at := map[*node]int{}
				for _, l := range k.lst.remote {
					i, ok := at[l.node]
					if !ok {
						i = len(ki.RemoteListeners)
						at[l.node] = i
						ki.RemoteListeners = append(ki.RemoteListeners, ListenerInfo{ID: l.node.id, Addr: l.node.addr})
					}
					ki.RemoteListeners[i].Entries++
				}
				ki.Listeners = len(ki.RemoteListeners)
			}
			si.Keys = append(si.Keys, ki)
		}
		for a, q := range e.store.quotas {
			si.PerIP[a] = q.size
		}
		slices.SortFunc(si.Keys, func(a, b KeyInfo) int { return a.Key.Compare(b.Key) })
	})
	return si, err
}

// ExportNodes returns the good nodes of both routing tables, those of our
// own bucket first (Dht::exportNodes): what a restarted node needs to
// rejoin without its bootstrap (see Config.Nodes, ImportNodes).
func (n *Node) ExportNodes(ctx context.Context) ([]wire.NodeInfo, error) {
	var out []wire.NodeInfo
	err := n.exec(ctx, func(e *engine) { out = e.exportNodes() })
	return out, err
}

func (e *engine) exportNodes() []wire.NodeInfo {
	var out []wire.NodeInfo
	add := func(b *bucket) {
		for _, nd := range b.nodes {
			if nd.isGood(e.now, &e.t) {
				out = append(out, nd.info())
			}
		}
	}
	mine := [2]int{}
	for i, f := range e.fams {
		mine[i] = f.tab.find(e.id)
		add(f.tab.b[mine[i]])
	}
	for i, f := range e.fams {
		for k, b := range f.tab.b {
			if k != mine[i] {
				add(b)
			}
		}
	}
	return out
}

// ImportNodes adds known nodes to the routing tables as unconfirmed
// (Dht::insertNode); the routing table upkeep contacts them.
func (n *Node) ImportNodes(ctx context.Context, nodes []wire.NodeInfo) error {
	return n.exec(ctx, func(e *engine) {
		for _, ni := range nodes {
			e.importNode(ni)
		}
	})
}

func (e *engine) importNode(ni wire.NodeInfo) {
	a := netip.AddrPortFrom(ni.Addr.Addr().Unmap(), ni.Addr.Port())
	if ni.ID.IsZero() || ni.ID == e.id || wire.IsMartian(a) {
		return
	}
	f := e.famOf(a)
	if f.conn == nil {
		return
	}
	nd := e.getNode(f, ni.ID, a, false, false)
	e.onNewNode(f, nd, 0)
	e.maybeForget(f, nd)
}
