package ns

import (
	"context"
	"strconv"
	"sync"
)

// The lookup cache.
//
// Without it every GET /name costs four contract calls (owner, addr,
// publickey, signature) and every GET /addr one, which caps an embedded
// server far below what its HTTP layer can answer. A record is not immutable,
// though: the contract (§3) has owner-only calls, transfer, disown and
// setAddress, that change or delete a record and free its name, and the
// owner can send them without this server (a shared chain in RPC mode, the
// embedded chain's --rpc-listen). So the cache is kept coherent with the
// contract's events rather than trusted forever: every write to a record
// emits Changed(name), and every write to the reverse map comes with
// PrimaryChanged(name, addr). The registrar reports them through a
// ChangeFeed; a registrar that cannot is not cached at all.
//
// Coherence rests on three rules:
//   - An event evicts the entries of its name and addr. The feed reports
//     events in chain order, so an entry filled from the chain before a
//     write is evicted once that write is reported.
//   - A fill from a chain read is dropped when any invalidation happened
//     while the read was in progress (a generation counter): the read may
//     have seen the state before a write whose eviction already ran.
//   - The pipeline knows its confirmed record exactly as the chain holds it
//     right after its transaction (reserveFor writes every field that is
//     served), at a known position (block, index). It stores it unless the
//     feed has already reported a later write, and the entry then survives
//     the events of that transaction itself, but not later ones.
//
// Between a foreign write being mined and its event being reported, a
// cached answer can lag by the feed's delay: at once on the embedded chain
// (new heads are pushed in-process), one poll interval on a node over HTTP.
//
// Not-found answers are cached only when CacheNotFound is set, which
// jami-ns serve does on the embedded chain without --rpc-listen: there the
// pipeline is the chain's only writer, and it replaces the negative entries
// of the name and the Jami ID before it answers 200, so a name is never
// answered 404 here after its registration was confirmed. Where other
// servers write on the same contract (RPC mode, or an embedded chain exposed
// with --rpc-listen), their registrations reach us only through the events,
// a poll (or a pushed head) after they were mined, while the other server
// may already have answered 200 and its client may be looking the name up
// here. A TTL would only shorten that window; not caching negatives closes
// it, at the price of a chain read per miss (two calls, not four). Found
// records stay cached there too: they change only by owner calls that no
// Jami client makes, and the events bound how long a change takes to show.

// DefaultCacheBytes bounds the lookup cache unless Options.CacheBytes says
// otherwise: some 15,000 records with RSA-4096 keys.
const DefaultCacheBytes = 64 << 20

// Change is one write to the registrar contract, as its events report it.
type Change struct {
	// Block and Index place the write on the chain: the block number and
	// the transaction's index in it.
	Block uint64
	Index uint
	Name  string  // the name whose record changed ("" when none)
	Addr  Address // the Jami ID whose name changed (zero when none)
	// Reset says that the feed cannot tell what changed (it is starting,
	// the chain was reorganised): every cached answer is dropped. Block is
	// the head from which writes are reported.
	Reset bool
	// Err is a failed read of the chain; the feed retries, and reports
	// the writes it missed once it can.
	Err error
}

// ChangeFeed is a Registrar that reports the writes to its contract. The
// Service caches lookups only on such a registrar.
type ChangeFeed interface {
	// Watch calls fn, from a single goroutine and in chain order, with
	// every write to the contract mined after its start, which it reports
	// first as a Reset. It returns when ctx is done, or with an error when
	// it cannot start.
	Watch(ctx context.Context, fn func(Change)) error
}

// position orders writes on the chain.
type position struct {
	block uint64
	index uint
}

func (p position) less(q position) bool {
	return p.block < q.block || p.block == q.block && p.index < q.index
}

// cacheKey is a name (a name entry) or a Jami ID (a reverse entry).
type cacheKey struct {
	name string
	addr Address
}

// entry is one cached answer, with its HTTP body encoded once.
type entry struct {
	key   cacheKey
	found bool
	rec   Record   // name entries: the record
	name  string   // reverse entries: the name
	body  []byte   // the answer to GET /name or GET /addr (found entries)
	clen  []string // len(body): the Content-Length header's value
	// at is the position of the write the entry is known to reflect (a
	// confirmed registration); zero for an entry read from the chain,
	// which any event of its key evicts.
	at         position
	size       int
	prev, next *entry
}

// entryOverhead approximates what an entry costs besides its strings: the
// struct, its map slot, the slice and string headers.
const entryOverhead = 256

func nameEntry(r Record) *entry {
	e := &entry{key: cacheKey{name: r.Name}, rec: r, found: !r.Addr.IsZero()}
	if e.found {
		a := nameAnswer{Name: r.Name, Addr: r.Addr.Hex()}
		if r.Signed() {
			a.PublicKey, a.Signature = r.PublicKey, r.Signature
		}
		e.setBody(a)
	}
	e.size = entryOverhead + 2*len(r.Name) + len(r.PublicKey) + len(r.Signature) + len(e.body)
	return e
}

func addrEntry(a Address, name string) *entry {
	e := &entry{key: cacheKey{addr: a}, name: name, found: name != ""}
	if e.found {
		e.setBody(addrAnswer{name})
	}
	e.size = entryOverhead + len(name) + len(e.body)
	return e
}

func (e *entry) setBody(v any) {
	e.body = encodeAnswer(v)
	e.clen = []string{strconv.Itoa(len(e.body))}
}

// lru is a map with a recency list and a byte budget.
type lru struct {
	max   int
	bytes int
	m     map[cacheKey]*entry
	root  entry // root.next is the most recently used
}

func newLRU(max int) *lru {
	l := &lru{max: max, m: map[cacheKey]*entry{}}
	l.root.next, l.root.prev = &l.root, &l.root
	return l
}

func (l *lru) unlink(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (l *lru) pushFront(e *entry) {
	e.prev, e.next = &l.root, l.root.next
	l.root.next.prev = e
	l.root.next = e
}

func (l *lru) get(k cacheKey) *entry {
	e := l.m[k]
	if e != nil && l.root.next != e {
		l.unlink(e)
		l.pushFront(e)
	}
	return e
}

func (l *lru) remove(k cacheKey) *entry {
	e := l.m[k]
	if e != nil {
		l.unlink(e)
		delete(l.m, k)
		l.bytes -= e.size
	}
	return e
}

// put stores e in place of any entry of its key, then evicts the least
// recently used entries beyond the budget. An entry larger than the whole
// budget is not stored.
func (l *lru) put(e *entry) {
	l.remove(e.key)
	if e.size > l.max {
		return
	}
	l.m[e.key] = e
	l.pushFront(e)
	l.bytes += e.size
	for l.bytes > l.max {
		l.remove(l.root.prev.key)
	}
}

func (l *lru) clear() {
	clear(l.m)
	l.root.next, l.root.prev = &l.root, &l.root
	l.bytes = 0
}

func (l *lru) len() int { return len(l.m) }

// cache holds found and not-found answers in separate budgets, so that
// probes of random names cannot push records out.
type cache struct {
	mu    sync.Mutex
	ready bool     // the feed is running: before its Reset and after it stops, nothing is cached
	gen   uint64   // bumped by every invalidation
	mark  position // the last write reported (or the feed's start)
	found *lru
	miss  *lru // nil: not-found answers are not cached
}

func newCache(maxBytes int, notFound bool) *cache {
	c := &cache{found: newLRU(maxBytes)}
	if notFound {
		// An eighth of the budget for negatives: a not-found entry
		// costs a few hundred bytes, so that is still many thousands.
		c.found.max = maxBytes - maxBytes/8
		c.miss = newLRU(maxBytes / 8)
	}
	return c
}

// get returns the cached answer for k, or nil, and the generation to fill
// with on a miss (ok false: do not fill).
func (c *cache) get(k cacheKey) (e *entry, gen uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e = c.found.get(k); e != nil {
		return e, 0, false
	}
	if c.miss != nil {
		if e = c.miss.get(k); e != nil {
			return e, 0, false
		}
	}
	return nil, c.gen, c.ready
}

// fill stores an answer read from the chain, unless an invalidation ran
// since the read began (gen).
func (c *cache) fill(e *entry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready || c.gen != gen {
		return
	}
	if e.found {
		c.found.put(e)
	} else if c.miss != nil {
		c.miss.put(e)
	}
}

func (c *cache) drop(k cacheKey) {
	c.found.remove(k)
	if c.miss != nil {
		c.miss.remove(k)
	}
}

// dropBefore evicts the entry of k unless it reflects p or a later write.
func (c *cache) dropBefore(k cacheKey, p position) {
	if e := c.found.m[k]; e != nil && (e.at == position{} || e.at.less(p)) {
		c.found.remove(k)
	}
	if c.miss != nil {
		c.miss.remove(k)
	}
}

// change applies a write reported by the feed.
func (c *cache) change(ch Change) {
	if ch.Err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	p := position{ch.Block, ch.Index}
	if ch.Reset {
		c.found.clear()
		if c.miss != nil {
			c.miss.clear()
		}
		// Writes in the start block itself are not reported, so nothing
		// at that block may be stored as newer than them.
		c.mark = position{ch.Block, ^uint(0)}
		c.ready = true
		return
	}
	if c.mark.less(p) {
		c.mark = p
	}
	if ch.Name != "" {
		c.dropBefore(cacheKey{name: ch.Name}, p)
	}
	if !ch.Addr.IsZero() {
		c.dropBefore(cacheKey{addr: ch.Addr}, p)
	}
}

// stop empties the cache and keeps it empty: the feed has ended.
func (c *cache) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.ready = false
	c.found.clear()
	if c.miss != nil {
		c.miss.clear()
	}
}

// confirmed stores a registration the pipeline saw confirmed at rc. Reads in
// progress may have seen the chain before it: they are fenced off, and the
// not-found entries of the name and the Jami ID go.
func (c *cache) confirmed(r Record, rc Receipt) {
	ne, ae := nameEntry(r), addrEntry(r.Addr, r.Name)
	p := position{rc.Block, rc.Index}
	ne.at, ae.at = p, p
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.drop(ne.key)
	c.drop(ae.key)
	// A later write already reported may have changed the record again:
	// then the next read fills it from the chain.
	if !c.ready || p.less(c.mark) {
		return
	}
	c.found.put(ne)
	c.found.put(ae)
}
