package chain

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"go.uber.org/goleak"

	"github.com/jamikit/jamikit/lib/identity"
	"github.com/jamikit/jamikit/lib/ns"
)

func TestMain(m *testing.M) {
	// Process-wide workers of go-ethereum that outlive a closed node.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/ethereum/go-ethereum/core.(*txSenderCacher).cache"),
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
		goleak.IgnoreAnyFunction("github.com/ethereum/go-ethereum/metrics.(*meterTicker).loop"),
		goleak.IgnoreAnyFunction("github.com/cockroachdb/pebble.(*tableCacheShard).releaseLoop"),
	)
}

var ctx = context.Background()

func record(t *testing.T, key, name string, owner byte) ns.Record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", key+".key"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := identity.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	var o ns.Address
	o[19] = owner
	r, err := ns.NewRecord(k, o, name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// vectorRecord is the captured daemon registration (RSA-4096 key with the
// trailing NUL): the gas a real registration costs.
func vectorRecord(t *testing.T) ns.Record {
	b, err := os.ReadFile("../testdata/nameservice-testvector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Body ns.RegisterRequest `json:"body"`
	}
	json.Unmarshal(b, &v)
	r, err := v.Body.Check("alice_test", false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func reserve(t *testing.T, c *Contract, r ns.Record) ns.Receipt {
	t.Helper()
	tx, err := c.Reserve(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := tx.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// The contract on the embedded chain: reserveFor writes the record, the
// reverse map and both events; a taken name or address is a silent no-op
// (status 1, no event), which Wait reports as not applied.
func TestEmbeddedContract(t *testing.T) {
	e, err := OpenEmbedded(ctx, EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.ChainID().Uint64() != DevChainID || e.Address() != crypto.CreateAddress(e.Account(), 0) {
		t.Errorf("chain %v, contract %s", e.ChainID(), e.Address())
	}
	v := vectorRecord(t)
	if got, err := e.Get(ctx, v.Name); err != nil || !got.Free() {
		t.Fatalf("before: %+v %v", got, err)
	}
	if rc := reserve(t, e.Contract, v); !rc.Applied || rc.Block == 0 || !strings.HasPrefix(rc.Tx, "0x") {
		t.Fatalf("vector registration: %+v", rc)
	}
	got, err := e.Get(ctx, "alice_test")
	if err != nil || got != v {
		t.Fatalf("Get = %+v, %v\nwant %+v", got, err, v)
	}
	if n, err := e.NameOf(ctx, v.Addr); err != nil || n != "alice_test" {
		t.Errorf("NameOf = %q %v", n, err)
	}
	// Another owner for the same name, the same address for another name:
	// mined, no effect.
	other := record(t, "bob", "alice_test", 9)
	if rc := reserve(t, e.Contract, other); rc.Applied {
		t.Error("taken name overwritten")
	}
	sameAddr := v
	sameAddr.Name = "alice_test2"
	if rc := reserve(t, e.Contract, sameAddr); rc.Applied {
		t.Error("second name for one address")
	}
	if got, _ := e.Get(ctx, "alice_test"); got != v {
		t.Errorf("record changed: %+v", got)
	}
	if got, _ := e.Get(ctx, "alice_test2"); !got.Free() {
		t.Errorf("alice_test2: %+v", got)
	}
	bob := record(t, "bob", "bob", 2)
	reserve(t, e.Contract, bob)
	var all []ns.Record
	if err := e.Records(ctx, func(r ns.Record) error { all = append(all, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0] != v || all[1] != bob {
		t.Errorf("Records = %+v", all)
	}
	// Names that cannot be a bytes32 are simply absent.
	if got, err := e.Get(ctx, strings.Repeat("x", 33)); err != nil || !got.Free() {
		t.Errorf("33-byte name: %+v %v", got, err)
	}
}

// Persistence: a registration survives a restart; the data directory is
// locked while in use; the same contract is used again.
func TestEmbeddedPersistent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	e, err := OpenEmbedded(ctx, EmbeddedConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	contract := e.Address()
	svc := ns.NewService(e, ns.Options{Journal: e.Journal()})
	alice := record(t, "alice", "alice", 1)
	if err := svc.Register(ctx, alice); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	if _, err := OpenEmbedded(ctx, EmbeddedConfig{DataDir: dir}); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "pid") {
		t.Errorf("second open: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{keyFile, stateFile, journalFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v", fi.Mode())
	}

	e, err = OpenEmbedded(ctx, EmbeddedConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Address() != contract {
		t.Errorf("contract moved: %s -> %s", contract, e.Address())
	}
	if got, err := e.Get(ctx, "alice"); err != nil || got != alice {
		t.Errorf("after restart: %+v %v", got, err)
	}
	if j := e.Journaled(); len(j) != 1 || j[0] != alice {
		t.Errorf("journal: %+v", j)
	}
	svc = ns.NewService(e, ns.Options{Journal: e.Journal()})
	defer svc.Close()
	var taken *ns.TakenError
	if err := svc.Register(ctx, record(t, "bob", "alice", 2)); !errors.As(err, &taken) {
		t.Errorf("after restart, alice taken: %v", err)
	}
}

// The journal brings back registrations a crashed chain lost: here the
// chain database is removed entirely (the worst case); the contract is
// deployed again at the same address and the record re-applied.
func TestEmbeddedRecovery(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	e, err := OpenEmbedded(ctx, EmbeddedConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	svc := ns.NewService(e, ns.Options{Journal: e.Journal()})
	alice, bob := record(t, "alice", "alice", 1), record(t, "bob", "bob", 2)
	for _, r := range []ns.Record{alice, bob} {
		if err := svc.Register(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	svc.Close()
	contract := e.Address()
	e.Close()
	if err := os.RemoveAll(filepath.Join(dir, nodeName)); err != nil {
		t.Fatal(err)
	}

	e, err = OpenEmbedded(ctx, EmbeddedConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Address() != contract {
		t.Fatalf("contract %s, was %s", e.Address(), contract)
	}
	if got, _ := e.Get(ctx, "alice"); !got.Free() {
		t.Fatalf("chain not lost: %+v", got)
	}
	svc = ns.NewService(e, ns.Options{Journal: e.Journal()})
	defer svc.Close()
	n, err := svc.Recover(ctx, e.Journaled())
	if err != nil || n != 2 {
		t.Fatalf("Recover = %d, %v", n, err)
	}
	for _, r := range []ns.Record{alice, bob} {
		if got, err := e.Get(ctx, r.Name); err != nil || got != r {
			t.Errorf("%s after recovery: %+v %v", r.Name, got, err)
		}
	}
	if n, err := svc.Recover(ctx, e.Journaled()); err != nil || n != 0 {
		t.Errorf("second Recover = %d, %v", n, err)
	}
}

// RPC mode against the embedded chain's JSON-RPC: same contract, same key;
// a key without funds and an address without code are refused at once.
func TestRPC(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	e, err := OpenEmbedded(ctx, EmbeddedConfig{DataDir: dir, RPCListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	url := e.RPCURL()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("RPC URL %q", url)
	}
	key, err := LoadKey(e.KeyFile())
	if err != nil {
		t.Fatal(err)
	}
	c, err := DialRPC(ctx, RPCConfig{URL: url, Contract: e.Address(), Key: key, Poll: 10e6})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cr := &counting{Registrar: c, ChangeFeed: c}
	svc := ns.NewService(cr, ns.Options{})
	defer svc.Close()

	// Concurrent registrations of one name over RPC: one wins.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, k := range []string{"alice", "bob", "carol"} {
		r := record(t, k, "shared", byte(i+1))
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = svc.Register(ctx, r) }()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		var taken *ns.TakenError
		switch {
		case err == nil:
			wins++
		case !errors.As(err, &taken):
			t.Errorf("unexpected: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d winners: %v", wins, errs)
	}
	if got, err := e.Get(ctx, "shared"); err != nil || got.Free() {
		t.Errorf("embedded side: %+v %v", got, err)
	}

	// The cache over HTTP: the feed polls the node's logs, and the
	// owner's transfer made on the embedded side reaches it.
	mine := record(t, "dave", "mine", 0)
	mine.Owner = ns.Address(e.Account())
	if err := svc.Register(ctx, mine); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.Lookup(ctx, "mine"); err != nil || got != mine {
		t.Fatalf("mine: %+v %v", got, err)
	}
	eventually(t, "mine is cached", func() bool {
		svc.Lookup(ctx, "mine")
		n := cr.count()
		svc.Lookup(ctx, "mine")
		return cr.count() == n
	})
	n, _ := ns.NameBytes32("mine")
	var to common.Address
	to[19] = 7
	ownerCall(t, e.Contract, e.abi.PackTransfer(n, to))
	eventually(t, "transfer seen over HTTP", func() bool { got, _ := svc.Lookup(ctx, "mine"); return got.Owner == ns.Address(to) })

	poor, _ := crypto.GenerateKey()
	if _, err := DialRPC(ctx, RPCConfig{URL: url, Contract: e.Address(), Key: poor}); !errors.Is(err, ErrCannotPay) {
		t.Errorf("unfunded key: %v", err)
	}
	if _, err := DialRPC(ctx, RPCConfig{URL: url, Contract: common.HexToAddress("0x1234"), Key: key}); err == nil || !strings.Contains(err.Error(), "no contract") {
		t.Errorf("no contract: %v", err)
	}
	if _, err := DialRPC(ctx, RPCConfig{URL: "http://127.0.0.1:1", Contract: e.Address(), Key: key}); err == nil {
		t.Error("dead node accepted")
	}
}

// counting counts the contract reads a service makes; Watch and the rest
// are the backend's.
type counting struct {
	ns.Registrar
	ns.ChangeFeed
	mu    sync.Mutex
	reads int
}

func (c *counting) Get(ctx context.Context, name string) (ns.Record, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Registrar.Get(ctx, name)
}

func (c *counting) NameOf(ctx context.Context, a ns.Address) (string, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Registrar.NameOf(ctx, a)
}

func (c *counting) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// eventually retries cond until it holds: the feed reports writes
// asynchronously. The limit only stops a broken feed from hanging the test.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 3000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("never: %s", what)
}

// ownerCall sends an owner-only call from the server account and waits
// for it: the writes the server never makes, but an owner can.
func ownerCall(t *testing.T, c *Contract, data []byte) {
	t.Helper()
	tx, err := c.send(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.waitReceipt(ctx, tx.Hash()); err != nil {
		t.Fatal(err)
	}
}

// The lookup cache on the embedded chain: hits need no contract call, and
// writes made behind the service's back (reserveFor, transfer, disown by
// the owner, here the server account) reach it through the events.
func TestEmbeddedCache(t *testing.T) {
	e, err := OpenEmbedded(ctx, EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cr := &counting{Registrar: e, ChangeFeed: e}
	svc := ns.NewService(cr, ns.Options{CacheNotFound: true})
	defer svc.Close()
	cached := func(name string) func() bool {
		return func() bool {
			svc.Lookup(ctx, name)
			n := cr.count()
			svc.Lookup(ctx, name)
			return cr.count() == n
		}
	}
	eventually(t, "a miss is cached", cached("alice"))

	alice := record(t, "alice", "alice", 0)
	alice.Owner = ns.Address(e.Account())
	if err := svc.Register(ctx, alice); err != nil {
		t.Fatal(err)
	}
	n := cr.count()
	if got, err := svc.Lookup(ctx, "alice"); err != nil || got != alice {
		t.Fatalf("after registration: %+v %v", got, err)
	}
	if name, err := svc.Reverse(ctx, alice.Addr); err != nil || name != "alice" {
		t.Errorf("Reverse = %q %v", name, err)
	}
	if cr.count() != n {
		t.Errorf("%d contract reads after the registration", cr.count()-n)
	}

	// Someone else's reserveFor on the same chain.
	bob := record(t, "bob", "bob", 2)
	eventually(t, "bob's miss is cached", cached("bob"))
	reserve(t, e.Contract, bob)
	eventually(t, "bob registered elsewhere", func() bool { got, _ := svc.Lookup(ctx, "bob"); return got == bob })

	// The owner's transfer of carol, then disown of alice, which frees
	// the name for another account.
	carol := record(t, "carol", "carol", 0)
	carol.Owner = ns.Address(e.Account())
	if err := svc.Register(ctx, carol); err != nil {
		t.Fatal(err)
	}
	carolName, _ := ns.NameBytes32("carol")
	var to common.Address
	to[19] = 7
	ownerCall(t, e.Contract, e.abi.PackTransfer(carolName, to))
	eventually(t, "transfer seen", func() bool { got, _ := svc.Lookup(ctx, "carol"); return got.Owner == ns.Address(to) })

	aliceName, _ := ns.NameBytes32("alice")
	ownerCall(t, e.Contract, e.abi.PackDisown(aliceName))
	eventually(t, "disown seen", func() bool {
		_, err1 := svc.Lookup(ctx, "alice")
		_, err2 := svc.Reverse(ctx, alice.Addr)
		return errors.Is(err1, ns.ErrNotFound) && errors.Is(err2, ns.ErrNotFound)
	})
	dave := record(t, "dave", "alice", 4)
	if err := svc.Register(ctx, dave); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.Lookup(ctx, "alice"); err != nil || got != dave {
		t.Errorf("alice re-registered: %+v %v", got, err)
	}
}
