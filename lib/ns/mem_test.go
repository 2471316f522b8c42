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
}

func newMem() *memRegistrar {
	return &memRegistrar{records: map[string]Record{}, names: map[Address]string{}}
}

func (m *memRegistrar) Get(_ context.Context, name string) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[name]
	if !ok {
		return Record{Name: name}, nil
	}
	return r, nil
}

func (m *memRegistrar) NameOf(_ context.Context, a Address) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.names[a], nil
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
