package dht

import (
	"math/rand/v2"
	"net/netip"
	"slices"

	"github.com/jamikit/jamikit/lib/dht/wire"
)

// node is what we know of a remote node of one address family
// (OpenDHT's Node): one object per (id, family), its address following
// the latest source seen.
type node struct {
	id    wire.InfoHash
	addr  netip.AddrPort
	time  ticks // last message received from it
	reply ticks // last reply to one of our requests
	tids  wire.TIDs

	expired    bool
	client     bool // sent "s": true; never put in tables or searches
	inTable    bool // in a bucket
	asCached   bool // a bucket's cached candidate
	authErrors uint8

	searchRefs int32 // search nodes pointing here
	listenRefs int32 // remote listeners registered by this node

	pending map[uint32]*request    // our requests waiting for its reply
	sockets map[uint32]*nodeListen // listen sockets we opened on it, by sid
}

// maxAuthErrors is Node::MAX_AUTH_ERRORS: more 401s than this expire the node.
const maxAuthErrors = 3

func (n *node) isGood(now ticks, t *timing) bool {
	return !n.expired && n.reply >= now.sub(t.nodeGood) && n.time >= now.sub(t.nodeExpire)
}

func (n *node) isOld(now ticks, t *timing) bool { return n.time.add(t.nodeExpire) < now }

func (n *node) isRemovable(now ticks, t *timing) bool { return n.expired && n.isOld(now, t) }

// isIncoming: heard from it more recently than it replied to us.
func (n *node) isIncoming() bool { return n.time > n.reply }

func (n *node) isPendingMessage() bool { return len(n.pending) > 0 }

func (n *node) info() wire.NodeInfo { return wire.NodeInfo{ID: n.id, Addr: n.addr} }

// referenced reports whether anything still needs the node object; an
// unreferenced node is dropped from the node cache (OpenDHT keeps weak
// references there, so unused nodes vanish the same way).
func (n *node) referenced() bool {
	return n.inTable || n.asCached || n.searchRefs > 0 || n.listenRefs > 0 ||
		len(n.pending) > 0 || len(n.sockets) > 0
}

// bucket is one k-bucket: the nodes whose id falls in [first, next.first).
type bucket struct {
	first  wire.InfoHash
	time   ticks // last reply from one of its nodes
	nodes  []*node
	cached *node
}

// table is one family's routing table (OpenDHT's RoutingTable): buckets
// sorted by their first id, the first starting at zero.
type table struct {
	b        []*bucket
	growTime ticks // last time our own bucket gained a node
}

func newTable() table {
	return table{b: []*bucket{{time: tMin}}, growTime: tMin}
}

// find returns the index of the bucket covering id.
func (t *table) find(id wire.InfoHash) int {
	// The last bucket whose first id is ≤ id.
	i, _ := slices.BinarySearchFunc(t.b, id, func(b *bucket, id wire.InfoHash) int {
		return b.first.Compare(id)
	})
	if i < len(t.b) && t.b[i].first == id {
		return i
	}
	return i - 1
}

func (t *table) contains(i int, id wire.InfoHash) bool { return t.find(id) == i }

// depth is RoutingTable::depth: one more than the larger low bit of the
// bucket's first id and the next bucket's.
func (t *table) depth(i int) int {
	b1 := t.b[i].first.LowBit()
	b2 := -1
	if i+1 < len(t.b) {
		b2 = t.b[i+1].first.LowBit()
	}
	return max(b1, b2) + 1
}

// split cuts bucket i in two halves and redistributes its nodes.
func (t *table) split(i int) bool {
	bit := t.depth(i)
	if bit >= 8*wire.HashLen {
		return false
	}
	b := t.b[i]
	mid := b.first
	mid.SetBit(bit, true)
	nb := &bucket{first: mid, time: b.time}
	t.b = slices.Insert(t.b, i+1, nb)
	nodes := b.nodes
	b.nodes = nil
	for _, n := range nodes {
		if n.id.Compare(mid) < 0 {
			b.nodes = append(b.nodes, n)
		} else {
			nb.nodes = append(nb.nodes, n)
		}
	}
	return true
}

// randomID is RoutingTable::randomId: a random id inside bucket i.
func (t *table) randomID(i int, rng *rand.Rand) wire.InfoHash {
	bit := t.depth(i)
	first := t.b[i].first
	if bit >= 8*wire.HashLen {
		return first
	}
	var id wire.InfoHash
	for j := range id {
		id[j] = byte(rng.Uint32())
	}
	for j := 0; j < bit; j++ {
		id.SetBit(j, first.Bit(j))
	}
	return id
}

// randomNode is Bucket::randomNode: a random node, preferring unexpired ones.
func (b *bucket) randomNode(rng *rand.Rand) *node {
	if len(b.nodes) == 0 {
		return nil
	}
	alive := 0
	for _, n := range b.nodes {
		if !n.expired {
			alive++
		}
	}
	if alive == 0 {
		return b.nodes[rng.IntN(len(b.nodes))]
	}
	k := rng.IntN(alive)
	for _, n := range b.nodes {
		if !n.expired {
			if k == 0 {
				return n
			}
			k--
		}
	}
	return b.nodes[len(b.nodes)-1]
}

// closest is RoutingTable::findClosestNodes: good nodes sorted by distance
// to id, walking outward from id's bucket until count are found. dst is
// reused.
func (t *table) closest(dst []*node, id wire.InfoHash, count int, now ticks, tm *timing) []*node {
	dst = dst[:0]
	insert := func(b *bucket) {
		for _, n := range b.nodes {
			if !n.isGood(now, tm) {
				continue
			}
			pos := len(dst)
			for k, o := range dst {
				if id.XorCmp(n.id, o.id) < 0 {
					pos = k
					break
				}
			}
			dst = slices.Insert(dst, pos, n)
		}
	}
	i := t.find(id)
	next, prev := i, i-1
	for len(dst) < count && (next < len(t.b) || prev >= 0) {
		if next < len(t.b) {
			insert(t.b[next])
			next++
		}
		if prev >= 0 {
			insert(t.b[prev])
			prev--
		}
	}
	if len(dst) > count {
		dst = dst[:count]
	}
	return dst
}

// remove takes n out of bucket i.
func (b *bucket) remove(n *node) bool {
	for k, o := range b.nodes {
		if o == n {
			b.nodes = slices.Delete(b.nodes, k, k+1)
			return true
		}
	}
	return false
}

func (b *bucket) has(n *node) bool { return slices.Contains(b.nodes, n) }
