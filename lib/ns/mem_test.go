package ns

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/jamikit/jamikit/lib/identity"
)

// memRegistrar is a test double of the registrar contract: the same guard
// (silent no-op when the name has an owner or the address a name), the
// same reverse map. Shipped modes are chain-backed; this only lets the
// server and pipeline tests run without a chain.
type memRegistrar struct {
	mu      sync.Mutex
	records map[string]Record
	names   map[Address]string
	order   []string
	block   uint64
	// hold, when set, makes Wait block until it is closed (a slow chain).
	hold chan struct{}
	// failReserve makes Reserve fail (a node that refuses the transaction).
	failReserve error
	reserves    int

	// The change feed: the events of every write, delivered in order by
	// Watch unless paused (a feed that lags behind the chain).
	reads     int           // Get and NameOf calls: what the cache saves
	afterRead func()        // runs when a Get has read, before it returns
	events    []Change      // emitted, not delivered yet
	emitted   int           // events emitted since Watch started
	delivered int           // of which delivered
	paused    bool          // hold the events back
	wake      chan struct{} // an event or a resume
	feedReady chan struct{} // closed once the feed's Reset is delivered
	endFeed   chan struct{} // closed: Watch returns (a feed that gives up)
	cond      *sync.Cond    // on mu: signalled as events are delivered
}

func newMem() *memRegistrar {
	m := &memRegistrar{records: map[string]Record{}, names: map[Address]string{},
		wake: make(chan struct{}, 1), feedReady: make(chan struct{}), endFeed: make(chan struct{})}
	m.cond = sync.NewCond(&m.mu)
	return m
}

func (m *memRegistrar) Get(_ context.Context, name string) (Record, error) {
	m.mu.Lock()
	m.reads++
	r, ok := m.records[name]
	hook := m.afterRead
	m.mu.Unlock()
	if hook != nil {
		hook()
	}
	if !ok {
		return Record{Name: name}, nil
	}
	return r, nil
}

func (m *memRegistrar) NameOf(_ context.Context, a Address) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	return m.names[a], nil
}

// readCount is how many chain reads were made so far.
func (m *memRegistrar) readCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

// emit queues the events of a write at the current block (m.mu held):
// Changed(name), then PrimaryChanged(name, addr) when addr is set.
func (m *memRegistrar) emit(name string, addr Address) {
	m.events = append(m.events, Change{Block: m.block, Name: name})
	m.emitted++
	if !addr.IsZero() {
		m.events = append(m.events, Change{Block: m.block, Name: name, Addr: addr})
		m.emitted++
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Watch implements ChangeFeed: a Reset at the current block, then the
// events of every later write.
func (m *memRegistrar) Watch(ctx context.Context, fn func(Change)) error {
	m.mu.Lock()
	start := m.block
	m.events, m.emitted, m.delivered = nil, 0, 0
	m.mu.Unlock()
	fn(Change{Reset: true, Block: start})
	close(m.feedReady)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.endFeed:
			return nil
		case <-m.wake:
		}
		for {
			m.mu.Lock()
			if m.paused || len(m.events) == 0 {
				m.mu.Unlock()
				break
			}
			ch := m.events[0]
			m.events = m.events[1:]
			m.mu.Unlock()
			fn(ch)
			m.mu.Lock()
			m.delivered++
			m.cond.Broadcast()
			m.mu.Unlock()
		}
	}
}

// pause holds the feed's events back; resume delivers them and waits
// until the cache has them all.
func (m *memRegistrar) pause() {
	m.mu.Lock()
	m.paused = true
	m.mu.Unlock()
}

func (m *memRegistrar) resume() {
	m.mu.Lock()
	m.paused = false
	m.mu.Unlock()
	m.wake <- struct{}{}
	m.sync()
}

// sync waits until every event emitted so far has been delivered.
func (m *memRegistrar) sync() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.delivered < m.emitted {
		m.cond.Wait()
	}
}

// The writes of other parties on the same contract, each in a block of its
// own: someone else's reserveFor, and the owner's transfer and disown.
func (m *memRegistrar) foreignRegister(r Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.block++
	m.records[r.Name] = r
	m.names[r.Addr] = r.Name
	m.order = append(m.order, r.Name)
	m.emit(r.Name, r.Addr)
}

func (m *memRegistrar) transfer(name string, to Address) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.block++
	r := m.records[name]
	r.Owner = to
	m.records[name] = r
	m.emit(name, Address{})
}

func (m *memRegistrar) disown(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.block++
	r := m.records[name]
	delete(m.records, name)
	if m.names[r.Addr] == name {
		delete(m.names, r.Addr)
		m.emit(name, r.Addr) // PrimaryChanged first in the contract; same block
	} else {
		m.emit(name, Address{})
	}
}

type memTx struct {
	m    *memRegistrar
	r    Record
	hash string
}

func (t *memTx) Hash() string { return t.hash }

// Wait mines the transaction: the contract's guard decides.
func (t *memTx) Wait(ctx context.Context) (Receipt, error) {
	if t.m.hold != nil {
		select {
		case <-t.m.hold:
		case <-ctx.Done():
			return Receipt{}, ctx.Err()
		}
	}
	m := t.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.block++
	rc := Receipt{Tx: t.hash, Block: m.block}
	if cur := m.records[t.r.Name]; !cur.Owner.IsZero() || m.names[t.r.Addr] != "" {
		return rc, nil
	}
	m.records[t.r.Name] = t.r
	m.names[t.r.Addr] = t.r.Name
	m.order = append(m.order, t.r.Name)
	m.emit(t.r.Name, t.r.Addr)
	rc.Applied = true
	return rc, nil
}

func (m *memRegistrar) Reserve(_ context.Context, r Record) (Tx, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failReserve != nil {
		return nil, m.failReserve
	}
	m.reserves++
	return &memTx{m: m, r: r, hash: fmt.Sprintf("0x%064x", m.reserves)}, nil
}

func (m *memRegistrar) Records(ctx context.Context, fn func(Record) error) error {
	m.mu.Lock()
	recs := make([]Record, 0, len(m.order))
	for _, n := range m.order {
		recs = append(recs, m.records[n])
	}
	m.mu.Unlock()
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (m *memRegistrar) Close() error { return nil }

// Test keys: throwaway RSA-2048 keys in testdata (MinKeyBits).
var (
	keyOnce sync.Once
	keys    map[string]*rsa.PrivateKey
)

func testKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		keys = map[string]*rsa.PrivateKey{}
		for _, n := range []string{"alice", "bob", "carol", "dave"} {
			b, err := os.ReadFile("testdata/" + n + ".key")
			if err != nil {
				panic(err)
			}
			k, err := identity.ParsePrivateKey(b)
			if err != nil {
				panic(err)
			}
			keys[n] = k
		}
	})
	k := keys[name]
	if k == nil {
		t.Fatalf("no test key %q", name)
	}
	return k
}

func owner(b byte) Address {
	var a Address
	for i := range a {
		a[i] = b
	}
	return a
}

// signed is the record the daemon of account key would post for name.
func signed(t testing.TB, key, name string, own Address) Record {
	t.Helper()
	r, err := NewRecord(testKey(t, key), own, name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var errInjected = errors.New("injected failure")
