package ns

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// newCachedService is a service on a fresh memRegistrar whose feed has
// started, so that lookups are cached from the first one on.
func newCachedService(t *testing.T, opt Options) (*Service, *memRegistrar) {
	t.Helper()
	mem := newMem()
	svc := NewService(mem, opt)
	t.Cleanup(svc.Close)
	<-mem.feedReady
	return svc, mem
}

// reads runs fn and returns how many chain reads it made.
func reads(m *memRegistrar, fn func()) int {
	before := m.readCount()
	fn()
	return m.readCount() - before
}

func mustLookup(t *testing.T, svc *Service, name string) Record {
	t.Helper()
	r, err := svc.Lookup(ctx, name)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", name, err)
	}
	return r
}

func mustMiss(t *testing.T, svc *Service, name string) {
	t.Helper()
	if r, err := svc.Lookup(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup(%q) = %+v, %v; want not found", name, r, err)
	}
}

var ctx = context.Background()

// A record read once is answered from the cache afterwards, under any case
// of the name, and the reverse map likewise.
func TestCacheHit(t *testing.T) {
	svc, mem := newCachedService(t, Options{})
	alice := signed(t, "alice", "alice", owner(1))
	mem.foreignRegister(alice)
	mem.sync()
	if n := reads(mem, func() { mustLookup(t, svc, "alice") }); n != 1 {
		t.Errorf("first lookup: %d chain reads, want 1", n)
	}
	if n := reads(mem, func() {
		for _, name := range []string{"alice", "ALICE", "Alice"} {
			if got := mustLookup(t, svc, name); got != alice {
				t.Errorf("Lookup(%q) = %+v", name, got)
			}
		}
	}); n != 0 {
		t.Errorf("cached lookups: %d chain reads", n)
	}
	for i := range 2 {
		n := reads(mem, func() {
			if name, err := svc.Reverse(ctx, alice.Addr); err != nil || name != "alice" {
				t.Errorf("Reverse = %q, %v", name, err)
			}
		})
		if n != 1-i {
			t.Errorf("reverse lookup %d: %d chain reads", i+1, n)
		}
	}
	// The cached body is the answer writeJSON would have made.
	e, err := svc.lookupName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := encodeAnswer(nameAnswer{"alice", alice.Addr.Hex(), alice.PublicKey, alice.Signature})
	if string(e.body) != string(want) || len(e.clen) != 1 || e.clen[0] != fmt.Sprint(len(want)) {
		t.Errorf("body %s (%s)\nwant %s", e.body, e.clen, want)
	}
}

// The pipeline fills the cache with what it confirmed: the first lookups
// after a registration need no chain read, and the registration's own
// events, delivered afterwards, do not evict it.
func TestCacheFilledByPipeline(t *testing.T) {
	svc, mem := newCachedService(t, Options{})
	alice := signed(t, "alice", "alice", owner(1))
	if err := svc.Register(ctx, alice); err != nil {
		t.Fatal(err)
	}
	mem.sync()
	if n := reads(mem, func() {
		if got := mustLookup(t, svc, "alice"); got != alice {
			t.Errorf("Lookup = %+v", got)
		}
		if name, err := svc.Reverse(ctx, alice.Addr); err != nil || name != "alice" {
			t.Errorf("Reverse = %q, %v", name, err)
		}
	}); n != 0 {
		t.Errorf("%d chain reads after the registration", n)
	}
}

// Embedded rule: a not-found answer is cached, and a registration through
// the pipeline replaces it before it is answered, even when the feed lags.
// A write from elsewhere shows only when its event arrives: why the cached
// 404 is for a chain with no other writer.
func TestCacheNotFoundEmbedded(t *testing.T) {
	svc, mem := newCachedService(t, Options{CacheNotFound: true})
	alice := signed(t, "alice", "alice", owner(1))
	if n := reads(mem, func() { mustMiss(t, svc, "alice"); mustMiss(t, svc, "alice") }); n != 1 {
		t.Errorf("two misses: %d chain reads, want 1", n)
	}
	if n := reads(mem, func() {
		for range 2 {
			if _, err := svc.Reverse(ctx, alice.Addr); !errors.Is(err, ErrNotFound) {
				t.Errorf("Reverse: %v", err)
			}
		}
	}); n != 1 {
		t.Errorf("two reverse misses: %d chain reads, want 1", n)
	}

	mem.pause() // the feed lags: only the pipeline keeps the cache right
	if err := svc.Register(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if got := mustLookup(t, svc, "alice"); got != alice {
		t.Errorf("after registration: %+v", got)
	}
	if name, err := svc.Reverse(ctx, alice.Addr); err != nil || name != "alice" {
		t.Errorf("Reverse after registration = %q, %v", name, err)
	}

	// Bob registers behind the service's back: the cached 404 stands
	// until the event comes.
	bob := signed(t, "bob", "bob", owner(2))
	mustMiss(t, svc, "bob")
	mem.foreignRegister(bob)
	mustMiss(t, svc, "bob")
	mem.resume()
	if got := mustLookup(t, svc, "bob"); got != bob {
		t.Errorf("after the event: %+v", got)
	}
	if got := mustLookup(t, svc, "alice"); got != alice {
		t.Errorf("alice after the events: %+v", got)
	}
}

// RPC rule: not-found answers are not cached, so a name registered on the
// shared chain by another server resolves here at once, whatever the feed's
// delay. Found records still are.
func TestCacheNotFoundRPC(t *testing.T) {
	svc, mem := newCachedService(t, Options{CacheNotFound: false})
	bob := signed(t, "bob", "bob", owner(2))
	if n := reads(mem, func() { mustMiss(t, svc, "bob"); mustMiss(t, svc, "bob") }); n != 2 {
		t.Errorf("two misses: %d chain reads, want 2", n)
	}
	if n := reads(mem, func() {
		for range 2 {
			if _, err := svc.Reverse(ctx, bob.Addr); !errors.Is(err, ErrNotFound) {
				t.Errorf("Reverse: %v", err)
			}
		}
	}); n != 2 {
		t.Errorf("two reverse misses: %d chain reads, want 2", n)
	}
	mem.pause()
	mem.foreignRegister(bob)
	if got := mustLookup(t, svc, "bob"); got != bob {
		t.Errorf("registered elsewhere: %+v", got)
	}
	if name, err := svc.Reverse(ctx, bob.Addr); err != nil || name != "bob" {
		t.Errorf("Reverse = %q, %v", name, err)
	}
	mem.resume()
	if n := reads(mem, func() { mustLookup(t, svc, "bob") }); n != 1 {
		t.Errorf("%d chain reads after the event evicted bob, want 1", n)
	}
	if n := reads(mem, func() { mustLookup(t, svc, "bob") }); n != 0 {
		t.Errorf("found record not cached: %d chain reads", n)
	}
}

// The owner-only calls change a record: transfer and disown reach the
// cache through their events; a disowned name is free, and its
// re-registration by someone else is what lookups answer.
func TestCacheOwnerCalls(t *testing.T) {
	svc, mem := newCachedService(t, Options{CacheNotFound: true})
	alice := signed(t, "alice", "alice", owner(1))
	if err := svc.Register(ctx, alice); err != nil {
		t.Fatal(err)
	}
	mem.sync()
	mustLookup(t, svc, "alice")

	mem.transfer("alice", owner(7))
	mem.sync()
	if got := mustLookup(t, svc, "alice"); got.Owner != owner(7) {
		t.Errorf("owner after transfer: %s", got.Owner.Hex())
	}

	mem.disown("alice")
	mem.sync()
	mustMiss(t, svc, "alice")
	if _, err := svc.Reverse(ctx, alice.Addr); !errors.Is(err, ErrNotFound) {
		t.Errorf("Reverse after disown: %v", err)
	}

	bob := signed(t, "bob", "alice", owner(2))
	if err := svc.Register(ctx, bob); err != nil {
		t.Fatal(err)
	}
	mem.sync()
	if got := mustLookup(t, svc, "alice"); got != bob {
		t.Errorf("re-registered: %+v", got)
	}
}

// A read that saw the chain before a write whose event was handled while
// the read was in progress must not be cached: it would outlive the
// eviction.
func TestCacheFillRace(t *testing.T) {
	svc, mem := newCachedService(t, Options{})
	alice := signed(t, "alice", "alice", owner(1))
	mem.foreignRegister(alice)
	mem.sync()
	once := true
	mem.mu.Lock()
	mem.afterRead = func() {
		if once {
			once = false
			mem.transfer("alice", owner(7))
			mem.sync()
		}
	}
	mem.mu.Unlock()
	if got := mustLookup(t, svc, "alice"); got.Owner != owner(1) {
		t.Fatalf("the racing read: %+v", got) // it read before the transfer
	}
	if got := mustLookup(t, svc, "alice"); got.Owner != owner(7) {
		t.Errorf("stale record cached: owner %s", got.Owner.Hex())
	}
}

// The cache keeps to its budget, evicting the least recently used.
func TestCacheBound(t *testing.T) {
	rec := func(i int) Record {
		var a Address
		a[0], a[1] = 0xaa, byte(i)
		return Record{Name: fmt.Sprintf("name%03d", i), Addr: a, Owner: owner(1)}
	}
	size := nameEntry(rec(0)).size
	svc, mem := newCachedService(t, Options{CacheBytes: 3 * size, AllowUnsigned: true})
	for i := range 10 {
		mem.foreignRegister(rec(i))
	}
	mem.sync()
	for i := range 10 {
		mustLookup(t, svc, rec(i).Name)
		mustLookup(t, svc, rec(9).Name) // kept recent
	}
	svc.cache.mu.Lock()
	n, bytes := svc.cache.found.len(), svc.cache.found.bytes
	svc.cache.mu.Unlock()
	if n != 3 || bytes > 3*size {
		t.Errorf("%d entries, %d bytes; budget %d bytes (%d each)", n, bytes, 3*size, size)
	}
	if r := reads(mem, func() {
		for _, i := range []int{9, 8, 7} {
			mustLookup(t, svc, rec(i).Name)
		}
	}); r != 0 {
		t.Errorf("recent records evicted: %d chain reads", r)
	}
	if r := reads(mem, func() { mustLookup(t, svc, rec(0).Name) }); r != 1 {
		t.Errorf("oldest record: %d chain reads, want 1", r)
	}

	// Negatives have their own eighth, and cannot push records out.
	svc2, mem2 := newCachedService(t, Options{CacheBytes: 8 * size, CacheNotFound: true})
	mem2.foreignRegister(rec(0))
	mem2.sync()
	mustLookup(t, svc2, rec(0).Name)
	for i := range 200 {
		mustMiss(t, svc2, fmt.Sprintf("free%03d", i))
	}
	if r := reads(mem2, func() { mustLookup(t, svc2, rec(0).Name) }); r != 0 {
		t.Errorf("misses evicted a record")
	}
	svc2.cache.mu.Lock()
	if b := svc2.cache.miss.bytes; b > size {
		t.Errorf("negatives hold %d bytes, budget %d", b, size)
	}
	svc2.cache.mu.Unlock()
}

// Without a change feed, or once the feed has ended, nothing is cached.
func TestCacheNeedsFeed(t *testing.T) {
	mem := newMem()
	svc := NewService(struct{ Registrar }{mem}, Options{CacheNotFound: true})
	defer svc.Close()
	alice := signed(t, "alice", "alice", owner(1))
	mem.foreignRegister(alice)
	if n := reads(mem, func() { mustLookup(t, svc, "alice"); mustLookup(t, svc, "alice") }); n != 2 {
		t.Errorf("no feed: %d chain reads, want 2", n)
	}

	svc2, mem2 := newCachedService(t, Options{})
	mem2.foreignRegister(alice)
	mem2.sync()
	mustLookup(t, svc2, "alice")
	close(mem2.endFeed)
	svc2.feed.Wait()
	if n := reads(mem2, func() { mustLookup(t, svc2, "alice"); mustLookup(t, svc2, "alice") }); n != 2 {
		t.Errorf("feed ended: %d chain reads, want 2", n)
	}
	if err := svc2.Register(ctx, signed(t, "bob", "bob", owner(2))); err != nil {
		t.Fatal(err)
	}
	if n := reads(mem2, func() { mustLookup(t, svc2, "bob") }); n != 1 {
		t.Errorf("feed ended, registration cached: %d chain reads, want 1", n)
	}
}

// The ordering rules of the pipeline's entries against the feed's events.
func TestCacheConfirmedOrder(t *testing.T) {
	alice := Record{Name: "alice", Addr: owner(1), Owner: owner(2)}
	at := func(b uint64, i uint) Receipt { return Receipt{Block: b, Index: i, Applied: true} }
	has := func(c *cache) bool {
		e, _, _ := c.get(cacheKey{name: "alice"})
		return e != nil
	}
	start := func() *cache {
		c := newCache(1<<20, true)
		c.change(Change{Reset: true, Block: 10})
		return c
	}

	// Its own events, before or after: kept.
	c := start()
	c.change(Change{Block: 11, Index: 2, Name: "alice", Addr: owner(1)})
	c.confirmed(alice, at(11, 2))
	c.change(Change{Block: 11, Index: 2, Name: "alice"})
	if !has(c) {
		t.Error("evicted by its own events")
	}
	// A later write, reported after: evicted.
	c.change(Change{Block: 11, Index: 3, Name: "alice"})
	if has(c) {
		t.Error("kept after a later write to the name")
	}
	// A later write already reported: not stored.
	c = start()
	c.change(Change{Block: 12, Name: "other"})
	c.confirmed(alice, at(11, 0))
	if has(c) {
		t.Error("stored behind a later write")
	}
	// An earlier write reported late: kept.
	c = start()
	c.confirmed(alice, at(12, 0))
	c.change(Change{Block: 11, Name: "alice", Addr: owner(1)})
	if !has(c) {
		t.Error("evicted by an older write")
	}
	// Mined in the feed's start block, whose writes are never reported.
	c = start()
	c.confirmed(alice, at(10, 0))
	if has(c) {
		t.Error("stored from the start block")
	}
	// A Reset drops everything, and a stale fill is refused.
	c = start()
	c.confirmed(alice, at(11, 0))
	_, gen, ok := c.get(cacheKey{name: "bob"})
	c.change(Change{Reset: true, Block: 20})
	if has(c) {
		t.Error("kept across a Reset")
	}
	c.fill(nameEntry(Record{Name: "bob"}), gen)
	if e, _, _ := c.get(cacheKey{name: "bob"}); !ok || e != nil {
		t.Errorf("stale fill stored (ok %v)", ok)
	}
	// Errors of the feed change nothing.
	c.confirmed(alice, at(21, 0))
	c.change(Change{Block: 30, Name: "alice", Err: errInjected})
	if !has(c) {
		t.Error("evicted by a feed error")
	}
}
