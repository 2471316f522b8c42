package secure

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
	"github.com/jamikit/jamikit/lib/identity"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testKey loads a committed throwaway RSA-4096 key (testdata/NAME.key).
func testKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := identity.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testIdentity is a key with a self-signed certificate.
func testIdentity(t testing.TB, name string) *Identity {
	t.Helper()
	k := testKey(t, name)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Identity{Key: k, Chain: []*x509.Certificate{c}}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// cluster starts n loopback nodes bootstrapped from the first one, each
// pinging a few others so that lookups have to iterate.
func cluster(t *testing.T, n int) []*dht.Node {
	t.Helper()
	var nodes []*dht.Node
	t.Cleanup(func() {
		for _, nd := range nodes {
			nd.Close()
		}
	})
	for i := 0; i < n; i++ {
		nd, err := dht.New(dht.Config{BindIPv4: netip.MustParseAddr("127.0.0.1"), NoIPv6: true})
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
	ctx := ctxT(t)
	for i := range nodes {
		for _, k := range []int{1, 2, 5} {
			j := (i + k) % n
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

// stored returns, per node index, the bytes stored at key (absent: no value).
func stored(t *testing.T, nodes []*dht.Node, key wire.InfoHash) map[int]int64 {
	t.Helper()
	out := map[int]int64{}
	for i, n := range nodes {
		st, err := n.Storage(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range st.Keys {
			if k.Key == key && k.Values > 0 {
				if k.Values != 1 {
					t.Fatalf("node %d stores %d values at %s", i, k.Values, key)
				}
				out[i] = k.Bytes
			}
		}
	}
	return out
}

// attack puts v at key from a throwaway node that joins the cluster and
// leaves right after, so that afterwards only the storing nodes' policies
// decide what the network returns (a putter keeps its own copy without any
// policy, as OpenDHT does).
func attack(t *testing.T, nodes []*dht.Node, key wire.InfoHash, v *value.Value) {
	t.Helper()
	ctx := ctxT(t)
	a, err := dht.New(dht.Config{BindIPv4: netip.MustParseAddr("127.0.0.1"), NoIPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Bootstrap(ctx, nodes[0].Addr4().String()); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, key, v, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// Sanity: the attacker itself holds the value, so it did go out.
	if raw, _ := a.Get(ctx, key, &value.Query{}); len(raw) == 0 {
		t.Fatal("attacker lost its own value")
	}
}

// noPutter drops the putter's local copy (kept without any policy, as
// OpenDHT does) from a stored() map.
func noPutter(m map[int]int64, putter int) map[int]int64 {
	delete(m, putter)
	return m
}

func TestSignedPutGetAndSeqBump(t *testing.T) {
	nodes := cluster(t, 12)
	ctx := ctxT(t)
	alice := New(nodes[1], testIdentity(t, "alice"), Options{})
	reader := New(nodes[7], nil, Options{})
	key := wire.InfoHashOf([]byte("signed key"))

	v1 := &value.Value{Data: []byte("first"), UserType: "text/plain"}
	if err := alice.PutSigned(ctx, key, v1, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if v1.ID == 0 || v1.Seq != 0 || !v1.IsSigned() {
		t.Fatalf("after first put: id %x seq %d signed %v", v1.ID, v1.Seq, v1.IsSigned())
	}
	res, err := reader.Get(ctx, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || !res[0].Signed || res[0].Encrypted || res[0].OwnerID != alice.ID() ||
		string(res[0].Value.Data) != "first" || res[0].Owner == nil || !res[0].Owner.Equal(&alice.Identity().Key.PublicKey) {
		t.Fatalf("reader got %+v", res)
	}
	before := noPutter(stored(t, nodes, key), 1)
	if len(before) == 0 {
		t.Fatal("no node stores the signed value")
	}

	// A second putSigned of the same id, from a fresh SecureDht over
	// another node (no local memory of the first put): the seq comes
	// from the value found on the DHT.
	alice2 := New(nodes[4], alice.Identity(), Options{})
	v2 := &value.Value{ID: v1.ID, Data: bytes.Repeat([]byte("second "), 50), UserType: "text/plain"}
	if err := alice2.PutSigned(ctx, key, v2, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if v2.Seq != 1 {
		t.Fatalf("second put seq %d, want 1", v2.Seq)
	}
	// Put returns once one storing node acknowledged: the others may get
	// the edit a little later, so wait (bounded) for them to converge. The
	// second put goes to the 8 closest nodes as node 4 sees them: node 1
	// (the first putter, which kept its own copy) may be among them and
	// push one earlier storing node out, which then keeps the old value,
	// as in OpenDHT. Every other storing node must take the edit.
	stale := func(after map[int]int64) []int {
		var out []int
		for i, b := range before {
			if nb, ok := after[i]; i != 4 && (!ok || nb == b) {
				out = append(out, i)
			}
		}
		return out
	}
	after := noPutter(stored(t, nodes, key), 4)
	for deadline := time.Now().Add(15 * time.Second); len(stale(after)) > 1 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		after = noPutter(stored(t, nodes, key), 4)
	}
	if st := stale(after); len(st) > 1 {
		t.Errorf("storing nodes %v kept the old value (before %v, after %v)", st, before, after)
	}
	res, err = reader.Get(ctx, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Value.Seq != 1 || !bytes.Equal(res[0].Value.Data, v2.Data) {
		t.Fatalf("reader got %d values, first seq %d", len(res), res[0].Value.Seq)
	}

	// The same SecureDht putting again bumps from its own memory too.
	v3 := &value.Value{ID: v1.ID, Data: []byte("third"), UserType: "text/plain"}
	if err := alice2.PutSigned(ctx, key, v3, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if v3.Seq != 2 {
		t.Fatalf("third put seq %d, want 2", v3.Seq)
	}
}

func TestPutSignedNeedsIdentity(t *testing.T) {
	s := New(nil, nil, Options{})
	err := s.PutSigned(context.Background(), wire.InfoHash{}, &value.Value{}, dht.PutOptions{})
	if !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("err = %v", err)
	}
	if err := s.AnnounceCertificate(context.Background()); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("announce err = %v", err)
	}
}

// TestTampered puts forged values straight through a raw node (as an
// attacker would) and checks that the storing nodes refuse them and that
// the secure client drops what it is handed anyway.
func TestTampered(t *testing.T) {
	nodes := cluster(t, 12)
	ctx := ctxT(t)
	aliceID := testIdentity(t, "alice")
	mallory := testKey(t, "mallory")
	alice := New(nodes[2], aliceID, Options{})

	signed := func(seq uint16, data string) *value.Value {
		v := &value.Value{ID: 0x1234, Seq: seq, Data: []byte(data), UserType: "text/plain"}
		if err := v.Sign(aliceID.Key); err != nil {
			t.Fatal(err)
		}
		return v
	}
	clone := func(v *value.Value) *value.Value {
		c, err := value.Unpack(v.Pack())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("one byte changed", func(t *testing.T) {
		key := wire.InfoHashOf([]byte("tampered byte"))
		v := clone(signed(0, "genuine data"))
		v.Data[0] ^= 1
		if err := nodes[9].Put(ctx, key, v, dht.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if st := noPutter(stored(t, nodes, key), 9); len(st) != 0 {
			t.Fatalf("forged value stored by nodes %v", st)
		}
		// The putter hands its local copy to its own client: proof the
		// value reached the client, which must drop it.
		raw, _ := nodes[9].Get(ctx, key, nil)
		if len(raw) != 1 {
			t.Fatalf("putter's raw get: %d values", len(raw))
		}
		sec := New(nodes[9], nil, Options{})
		if res, _ := sec.Get(ctx, key, nil); len(res) != 0 {
			t.Fatalf("secure get kept a forged value: %+v", res)
		}
		all, _ := sec.GetAll(ctx, key, nil)
		if len(all) != 1 || !errors.Is(all[0].Err, ErrForged) {
			t.Fatalf("GetAll: %+v", all)
		}
	})

	t.Run("owner swapped", func(t *testing.T) {
		key := wire.InfoHashOf([]byte("tampered owner"))
		v := clone(signed(0, "genuine data"))
		der, _ := x509.MarshalPKIXPublicKey(&mallory.PublicKey)
		v.Owner = der
		if err := nodes[9].Put(ctx, key, v, dht.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if st := noPutter(stored(t, nodes, key), 9); len(st) != 0 {
			t.Fatalf("forged value stored by nodes %v", st)
		}
		if r := New(nil, nil, Options{}).Check(v); !errors.Is(r.Err, ErrForged) {
			t.Fatalf("Check: %v", r.Err)
		}
	})

	t.Run("other owner edits", func(t *testing.T) {
		key := wire.InfoHashOf([]byte("edit by other owner"))
		if err := alice.PutSigned(ctx, key, signed(0, "alice's"), dht.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		before := noPutter(stored(t, nodes, key), 2)
		m := &value.Value{ID: 0x1234, Seq: 9, Data: bytes.Repeat([]byte("m"), 400), UserType: "text/plain"}
		if err := m.Sign(mallory); err != nil {
			t.Fatal(err)
		}
		attack(t, nodes, key, m)
		checkUnchanged(t, nodes, key, before, 2)
		res, _ := New(nodes[6], nil, Options{}).Get(ctx, key, nil)
		if len(res) != 1 || res[0].OwnerID != alice.ID() {
			t.Fatalf("reader got %+v", res)
		}
	})

	t.Run("replayed lower seq", func(t *testing.T) {
		key := wire.InfoHashOf([]byte("replay"))
		old := signed(0, "old")
		if err := alice.PutSigned(ctx, key, clone(old), dht.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		nv := &value.Value{ID: old.ID, Data: bytes.Repeat([]byte("n"), 300), UserType: "text/plain"}
		if err := alice.PutSigned(ctx, key, nv, dht.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if nv.Seq != 1 {
			t.Fatalf("seq %d", nv.Seq)
		}
		before := noPutter(stored(t, nodes, key), 2)
		attack(t, nodes, key, old)
		checkUnchanged(t, nodes, key, before, 2)
		res, _ := New(nodes[6], nil, Options{}).Get(ctx, key, nil)
		if len(res) != 1 || res[0].Value.Seq != 1 {
			t.Fatalf("reader got %+v", res)
		}
	})
}

// checkUnchanged requires every node that stored the value before to
// store the same number of bytes now (the putter's local copy aside).
func checkUnchanged(t *testing.T, nodes []*dht.Node, key wire.InfoHash, before map[int]int64, putter int) {
	t.Helper()
	if len(before) == 0 {
		t.Fatal("nothing stored before")
	}
	after := stored(t, nodes, key)
	for i, b := range before {
		if i == putter {
			continue
		}
		if after[i] != b {
			t.Errorf("node %d: %d bytes before, %d after: edit accepted", i, b, after[i])
		}
	}
}

func TestEncryptedAndCertificates(t *testing.T) {
	nodes := cluster(t, 10)
	ctx := ctxT(t)
	alice := New(nodes[1], testIdentity(t, "alice"), Options{})
	bob := New(nodes[5], testIdentity(t, "bob"), Options{CertAtLongID: true})
	mallory := New(nodes[8], testIdentity(t, "mallory"), Options{})

	if err := bob.AnnounceCertificate(ctx); err != nil {
		t.Fatal(err)
	}
	// Certificates: found at the public key id, and at the long-id location.
	chain, err := alice.FindCertificate(ctx, bob.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !chain[0].Equal(bob.Identity().Chain[0]) {
		t.Fatal("wrong certificate")
	}
	if _, ok := alice.CachedCertificate(bob.ID()); !ok {
		t.Fatal("certificate not cached")
	}
	long := identity.CertLongID(bob.Identity().Chain[0])
	if c, err := mallory.FindCertificateByLongID(ctx, long); err != nil || !c[0].Equal(chain[0]) {
		t.Fatalf("by long id: %v", err)
	}
	if _, err := alice.FindCertificate(ctx, wire.InfoHashOf([]byte("nobody"))); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing certificate: %v", err)
	}
	// A certificate value at the wrong key (not its public key id) is
	// refused by the storing nodes and ignored by the lookup.
	wrong := wire.InfoHashOf([]byte("not bob"))
	_ = nodes[3].Put(ctx, wrong, &value.Value{ID: 1, Type: value.Certificate.ID, Data: CertificateData(chain)}, dht.PutOptions{})
	if _, err := New(nodes[3], nil, Options{}).FindCertificate(ctx, wrong); !errors.Is(err, ErrNotFound) {
		t.Fatalf("certificate at the wrong key: %v", err)
	}

	key := wire.InfoHashOf([]byte("bob's inbox"))
	v := &value.Value{Data: []byte("for bob only"), UserType: "text/plain"}
	if err := alice.PutEncryptedTo(ctx, key, bob.ID(), v, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := bob.Get(ctx, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || !res[0].Encrypted || !res[0].Signed || res[0].OwnerID != alice.ID() ||
		string(res[0].Value.Data) != "for bob only" || !res[0].Raw.IsEncrypted() || res[0].Value.ID != v.ID {
		t.Fatalf("bob got %+v", res)
	}
	if res, _ := mallory.Get(ctx, key, nil); len(res) != 0 {
		t.Fatalf("mallory got %+v", res)
	}
	all, _ := mallory.GetAll(ctx, key, nil)
	if len(all) != 1 || !errors.Is(all[0].Err, ErrNotForUs) {
		t.Fatalf("mallory GetAll: %+v", all)
	}

	// Listen delivers decrypted values to the recipient.
	got := make(chan Result, 4)
	tok, err := bob.Listen(ctx, key, nil, func(rs []Result, expired bool) bool {
		for _, r := range rs {
			if !expired {
				got <- r
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.CancelListen(context.Background(), tok)
	v2 := &value.Value{Data: []byte("second message")}
	if err := alice.PutEncrypted(ctx, key, &bob.Identity().Key.PublicKey, v2, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case r := <-got:
			if r.Value.ID == v2.ID {
				if !r.Encrypted || string(r.Value.Data) != "second message" {
					t.Fatalf("listen: %+v", r)
				}
				return
			}
		case <-deadline:
			t.Fatal("listen: encrypted value never arrived")
		}
	}
}

func TestCertificateData(t *testing.T) {
	id := testIdentity(t, "bob")
	data := CertificateData(id.Chain)
	if !bytes.HasPrefix(data[3:], []byte("-----BEGIN CERTIFICATE-----")) || data[0] != 0xc5 {
		t.Fatalf("data starts %x", data[:8])
	}
	c, err := ParseCertificateData(data)
	if err != nil || !c[0].Equal(id.Chain[0]) {
		t.Fatal(err)
	}
	if k, ok := value.CertificateKeyID(data); !ok || k != id.PublicKeyID() {
		t.Fatal("CertificateKeyID disagrees with PublicKeyID")
	}
	for _, bad := range [][]byte{nil, {0xc4, 0}, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")} {
		if _, err := ParseCertificateData(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	_ = strings.TrimSpace
}
