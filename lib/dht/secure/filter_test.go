package secure

import (
	"context"
	"errors"
	"testing"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// fakeClient hands out canned batches, as a node would from several peers.
type fakeClient struct {
	batches [][]*value.Value
	puts    []*value.Value
}

func (f *fakeClient) Put(_ context.Context, _ wire.InfoHash, v *value.Value, _ dht.PutOptions) error {
	f.puts = append(f.puts, v)
	return nil
}
func (f *fakeClient) CancelPut(context.Context, wire.InfoHash, uint64) (bool, error) {
	return false, nil
}
func (f *fakeClient) Get(ctx context.Context, key wire.InfoHash, q *value.Query) ([]*value.Value, error) {
	var all []*value.Value
	err := f.GetFunc(ctx, key, q, func(v []*value.Value) bool { all = append(all, v...); return true })
	return all, err
}
func (f *fakeClient) GetFunc(_ context.Context, _ wire.InfoHash, q *value.Query, cb func([]*value.Value) bool) error {
	for _, b := range f.batches {
		var keep []*value.Value
		for _, v := range b {
			if q == nil || q.Where.Match(v) {
				keep = append(keep, v)
			}
		}
		if len(keep) > 0 && !cb(keep) {
			break
		}
	}
	return nil
}
func (f *fakeClient) Listen(_ context.Context, _ wire.InfoHash, _ *value.Where, cb func([]*value.Value, bool) bool) (dht.ListenToken, error) {
	for _, b := range f.batches {
		cb(b, false)
	}
	return 1, nil
}
func (f *fakeClient) CancelListen(context.Context, dht.ListenToken) (bool, error) { return true, nil }
func (f *fakeClient) Close() error                                                { return nil }

func TestFilters(t *testing.T) {
	alice := testIdentity(t, "alice")
	bob := testIdentity(t, "bob")
	sign := func(seq uint16, data string) *value.Value {
		v := &value.Value{ID: 7, Seq: seq, Data: []byte(data)}
		if err := v.Sign(alice.Key); err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0, v1 := sign(0, "v0"), sign(1, "v1")
	forged, _ := value.Unpack(v1.Pack())
	forged.Data[0] = 'x'
	plain := &value.Value{ID: 8, Data: []byte("plain")}
	toBob, err := (&value.Value{ID: 9, Data: []byte("secret")}).Encrypt(alice.Key, &bob.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeClient{batches: [][]*value.Value{{v1, forged}, {v0, plain, toBob}}}

	check := func(name string, got []Result, want ...string) {
		t.Helper()
		var s []string
		for _, r := range got {
			s = append(s, string(r.Value.Data))
		}
		if len(s) != len(want) {
			t.Fatalf("%s: got %q, want %q", name, s, want)
		}
		for i := range s {
			if s[i] != want[i] {
				t.Fatalf("%s: got %q, want %q", name, s, want)
			}
		}
	}
	ctx := context.Background()
	asBob := New(fc, bob, Options{})
	res, _ := asBob.Get(ctx, wire.InfoHash{}, nil)
	check("bob get", res, "v1", "plain", "secret")
	if !res[2].Encrypted || res[2].OwnerID != alice.PublicKeyID() || res[2].Raw != toBob {
		t.Fatalf("decrypted result %+v", res[2])
	}
	var streamed []Result
	_ = asBob.GetFunc(ctx, wire.InfoHash{}, nil, func(r []Result) bool { streamed = append(streamed, r...); return true })
	check("bob getfunc", streamed, "v1", "plain", "secret")

	verifyOnly := New(fc, nil, Options{})
	res, _ = verifyOnly.Get(ctx, wire.InfoHash{}, nil)
	check("verify-only get", res, "v1", "plain")
	all, _ := verifyOnly.GetAll(ctx, wire.InfoHash{}, nil)
	var forgedErr, cipherErr bool
	for _, r := range all {
		forgedErr = forgedErr || errors.Is(r.Err, ErrForged)
		cipherErr = cipherErr || errors.Is(r.Err, ErrNotForUs)
	}
	if len(all) != 4 || !forgedErr || !cipherErr {
		t.Fatalf("GetAll: %+v", all)
	}

	var heard []Result
	_, _ = asBob.Listen(ctx, wire.InfoHash{}, nil, func(r []Result, _ bool) bool { heard = append(heard, r...); return true })
	check("bob listen", heard, "v1", "v0", "plain", "secret")

	// putSigned's seq comes from our own value on the DHT; others' values
	// with the same id (and unsigned ones) do not count.
	other := &value.Value{ID: 7, Seq: 40, Data: []byte("bob's")}
	if err := other.Sign(bob.Key); err != nil {
		t.Fatal(err)
	}
	fc2 := &fakeClient{batches: [][]*value.Value{{v0, other}, {v1, forged}}}
	nv := &value.Value{ID: 7, Data: []byte("v2")}
	if err := New(fc2, alice, Options{}).PutSigned(ctx, wire.InfoHash{}, nv, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if nv.Seq != 2 || len(fc2.puts) != 1 || nv.Verify() != nil {
		t.Fatalf("seq %d, %d puts", nv.Seq, len(fc2.puts))
	}
}
