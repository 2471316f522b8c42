// Package secure is OpenDHT 2.4.12's SecureDht over any dht.Client (a UDP
// node or a REST proxy client): signed puts with seq bumps, encrypted puts,
// get/listen filters that drop forged values and decrypt the ones sent to
// us, and certificates announced on and found from the DHT
// (opendht.md §5.3–§5.6).
//
// The value format, signatures, encryption and the node-side store/edit
// policies live in lib/dht/value; this package is the client side.
package secure

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
	"github.com/jamikit/jamikit/lib/identity"
)

var (
	// ErrNotFound reports a certificate the cache and the DHT do not have.
	ErrNotFound = errors.New("secure: not found")
	// ErrNoIdentity reports an operation that needs a private key on a
	// verify-only DHT (dhtnode: "An identity is required ...").
	ErrNoIdentity = errors.New("secure: an identity is required")
	// ErrForged reports a signed value whose signature does not verify.
	ErrForged = errors.New("secure: signature verification failed")
	// ErrNotForUs reports an encrypted value we cannot open (no key, not
	// for us, or corrupted).
	ErrNotForUs = errors.New("secure: cannot decrypt value")
)

// CertificateValueID is the value id of a certificate announce.
const CertificateValueID = 1

// Identity is a private key and its certificate chain, leaf first (Jami:
// device, account, CA; dhtnode -i: node certificate, CA).
type Identity struct {
	Key   *rsa.PrivateKey
	Chain []*x509.Certificate
}

// Validate checks that the key is set and matches the leaf certificate
// (SecureDht's "provided certificate doesn't match private key").
func (id *Identity) Validate() error {
	if id == nil || id.Key == nil {
		return ErrNoIdentity
	}
	if len(id.Chain) > 0 && !identity.KeyMatches(id.Key, id.Chain[0]) {
		return errors.New("secure: certificate does not match private key")
	}
	return nil
}

// PublicKeyID is the public key id of the identity's key (SHA-1 of the
// SPKI DER), the location of its certificate announce.
func (id *Identity) PublicKeyID() wire.InfoHash {
	if id == nil || id.Key == nil {
		return wire.InfoHash{}
	}
	return pkID(&id.Key.PublicKey)
}

// Options tune a DHT.
type Options struct {
	Logger *slog.Logger // nil: discard
	// CertAtLongID also announces and looks up type-8 certificates at
	// SHA-1(long id), where OpenDHT ≥ 3.5 puts them.
	CertAtLongID bool
}

// DHT is a SecureDht: a dht.Client plus an optional identity.
type DHT struct {
	c    dht.Client
	id   *Identity
	opt  Options
	log  *slog.Logger
	self wire.InfoHash // public key id; zero without identity

	mu    sync.Mutex
	certs map[wire.InfoHash][]*x509.Certificate // by public key id
	seqs  map[putKey]uint16                     // last seq we signed, per key and id
}

type putKey struct {
	key wire.InfoHash
	id  uint64
}

// New wraps c. id may be nil for a verify-only client.
func New(c dht.Client, id *Identity, opt Options) *DHT {
	s := &DHT{c: c, id: id, opt: opt, log: opt.Logger,
		certs: map[wire.InfoHash][]*x509.Certificate{}, seqs: map[putKey]uint16{}}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if id != nil && id.Key != nil {
		s.self = pkID(&id.Key.PublicKey)
		if len(id.Chain) > 0 {
			s.certs[s.self] = id.Chain
		}
	}
	return s
}

// Client returns the underlying client.
func (s *DHT) Client() dht.Client { return s.c }

// Identity returns the identity given to New (may be nil).
func (s *DHT) Identity() *Identity { return s.id }

// ID returns the public key id of our identity (zero without one).
func (s *DHT) ID() wire.InfoHash { return s.self }

// Close closes the underlying client.
func (s *DHT) Close() error { return s.c.Close() }

func (s *DHT) key() (*rsa.PrivateKey, error) {
	if s.id == nil || s.id.Key == nil {
		return nil, ErrNoIdentity
	}
	return s.id.Key, nil
}

func pkID(pub *rsa.PublicKey) wire.InfoHash {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return wire.InfoHash{}
	}
	return wire.InfoHashOf(der)
}

func randomID() uint64 {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		if id := binary.LittleEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

// PutSigned is SecureDht::putSigned: v gets a random id if it has none;
// its seq is raised above the seq of our previous put of that id and of any
// value with that id already on the DHT at key that we own; then it is
// signed with our key and put. v is modified in place (ID, Seq, Owner,
// Signature), as OpenDHT does.
func (s *DHT) PutSigned(ctx context.Context, key wire.InfoHash, v *value.Value, opt dht.PutOptions) error {
	priv, err := s.key()
	if err != nil {
		return err
	}
	if v.IsEncrypted() {
		return value.ErrEncrypted
	}
	if v.ID == 0 {
		v.ID = randomID()
	}
	pk := putKey{key, v.ID}
	s.mu.Lock()
	if last, ok := s.seqs[pk]; ok && v.Seq <= last {
		v.Seq = last + 1
	}
	s.mu.Unlock()

	// Like 2.4.12, the lookup's outcome does not matter (a failed get
	// still lets the put go ahead); only a cancelled context stops it.
	var w value.Where
	w.ID(v.ID)
	res, _ := s.Get(ctx, key, &value.Query{Where: w})
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range res {
		switch {
		case !r.Signed:
			s.log.Warn("existing non-signed value at this location", "key", key, "id", v.ID)
		case r.OwnerID != s.self:
			s.log.Warn("existing signed value belongs to someone else", "key", key, "id", v.ID, "owner", r.OwnerID)
		case v.Seq <= r.Value.Seq:
			v.Seq = r.Value.Seq + 1
		}
	}
	if err := v.Sign(priv); err != nil {
		return err
	}
	s.mu.Lock()
	s.seqs[pk] = v.Seq
	s.mu.Unlock()
	return s.c.Put(ctx, key, v, opt)
}

// PutEncrypted is SecureDht::putEncrypted with the recipient's key known:
// v gets a random id if it has none, is signed with our key (recipient
// set to to's public key id) and sealed for to; the cypher value is put.
func (s *DHT) PutEncrypted(ctx context.Context, key wire.InfoHash, to *rsa.PublicKey, v *value.Value, opt dht.PutOptions) error {
	priv, err := s.key()
	if err != nil {
		return err
	}
	if v.ID == 0 {
		v.ID = randomID()
	}
	enc, err := v.Encrypt(priv, to)
	if err != nil {
		return err
	}
	return s.c.Put(ctx, key, enc, opt)
}

// PutEncryptedTo is SecureDht::putEncrypted(hash, to, ...): the recipient's
// public key comes from its certificate, found by public key id (cache,
// then DHT).
func (s *DHT) PutEncryptedTo(ctx context.Context, key, to wire.InfoHash, v *value.Value, opt dht.PutOptions) error {
	if _, err := s.key(); err != nil {
		return err
	}
	chain, err := s.FindCertificate(ctx, to)
	if err != nil {
		return fmt.Errorf("certificate of %s: %w", to, err)
	}
	pub, ok := chain[0].PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("certificate of %s: not an RSA key", to)
	}
	return s.PutEncrypted(ctx, key, pub, v, opt)
}

// Result is one value as the secure layer sees it.
type Result struct {
	Value     *value.Value   // what the app sees: the decrypted inner value when Encrypted
	Raw       *value.Value   // as received from the network
	Signed    bool           // a signature was present and verified
	Encrypted bool           // was encrypted to us and decrypted
	Owner     *rsa.PublicKey // signer (nil when unsigned)
	OwnerID   wire.InfoHash  // SHA-1 of the owner's SPKI
	// Err is set only by the *All variants, for a value the filtered calls
	// drop: ErrForged or ErrNotForUs (wrapping the cause).
	Err error
}

// Check is SecureDht::checkValue: an encrypted value is opened with our
// key (recipient and inner signature checked), a signed value must verify,
// an unsigned value passes as is. A value that fails comes back with
// Err set.
func (s *DHT) Check(v *value.Value) Result {
	r := Result{Value: v, Raw: v}
	switch {
	case v.IsEncrypted():
		if s.id == nil || s.id.Key == nil {
			r.Err = fmt.Errorf("%w: no private key", ErrNotForUs)
			return r
		}
		dec, err := v.Decrypt(s.id.Key)
		if err != nil {
			r.Err = fmt.Errorf("%w: %v", ErrNotForUs, err)
			return r
		}
		r.Value, r.Encrypted = dec, true
		s.setOwner(&r, dec)
	case v.IsSigned():
		if err := v.Verify(); err != nil {
			r.Err = fmt.Errorf("%w: %v", ErrForged, err)
			return r
		}
		s.setOwner(&r, v)
	}
	return r
}

func (s *DHT) setOwner(r *Result, v *value.Value) {
	r.Signed = true
	r.OwnerID = v.OwnerID()
	r.Owner, _ = v.OwnerKey().(*rsa.PublicKey)
}

// filter keeps the values Check accepts (all when keepAll, with Err set).
// With seen non-nil (one get), a signed value older than one already
// delivered with the same id and owner is dropped too: a node replaying a
// superseded version cannot make the caller see it after the newer one.
func (s *DHT) filter(vals []*value.Value, keepAll bool, seen map[ownedID]uint16) []Result {
	out := make([]Result, 0, len(vals))
	for _, v := range vals {
		r := s.Check(v)
		if r.Err != nil && !keepAll {
			s.log.Warn("dropping value", "id", fmt.Sprintf("%016x", v.ID), "err", r.Err)
			continue
		}
		if seen != nil && r.Err == nil && r.Signed {
			k := ownedID{r.Value.ID, r.OwnerID}
			if last, ok := seen[k]; ok && r.Value.Seq <= last {
				continue
			}
			seen[k] = r.Value.Seq
		}
		out = append(out, r)
	}
	return out
}

type ownedID struct {
	id    uint64
	owner wire.InfoHash
}

// latest keeps, per id and owner, only the highest seq of a Get's results.
func latest(res []Result) []Result {
	best := map[ownedID]int{}
	out := res[:0]
	for _, r := range res {
		if r.Err != nil || !r.Signed {
			out = append(out, r)
			continue
		}
		k := ownedID{r.Value.ID, r.OwnerID}
		if i, ok := best[k]; ok {
			if r.Value.Seq > out[i].Value.Seq {
				out[i] = r
			}
			continue
		}
		best[k] = len(out)
		out = append(out, r)
	}
	return out
}

// Get is SecureDht::get: forged values and encrypted values we cannot
// open are dropped, and of signed values with the same id and owner only
// the highest seq is kept (different nodes may hold different versions).
// As with dht.Client.Get, values may come with an error (the search did
// not fully succeed).
func (s *DHT) Get(ctx context.Context, key wire.InfoHash, q *value.Query) ([]Result, error) {
	vals, err := s.c.Get(ctx, key, q)
	return latest(s.filter(vals, false, nil)), err
}

// GetAll is Get without dropping: failing values come with Result.Err.
func (s *DHT) GetAll(ctx context.Context, key wire.InfoHash, q *value.Query) ([]Result, error) {
	vals, err := s.c.Get(ctx, key, q)
	return latest(s.filter(vals, true, nil)), err
}

// GetFunc streams Get's results; cb returns false to stop. A signed value
// is not reported again with a seq not above one already reported for its
// id and owner; batches left empty by the filter are not reported.
func (s *DHT) GetFunc(ctx context.Context, key wire.InfoHash, q *value.Query, cb func([]Result) bool) error {
	seen := map[ownedID]uint16{}
	return s.c.GetFunc(ctx, key, q, func(vals []*value.Value) bool {
		res := s.filter(vals, false, seen)
		if len(res) == 0 {
			return true
		}
		return cb(res)
	})
}

// Listen is SecureDht::listen: like GetFunc, for values as they come and
// go. Expiry notices go through the same filter.
func (s *DHT) Listen(ctx context.Context, key wire.InfoHash, where *value.Where, cb func(res []Result, expired bool) bool) (dht.ListenToken, error) {
	return s.listen(ctx, key, where, false, cb)
}

// ListenAll is Listen without dropping: failing values come with
// Result.Err.
func (s *DHT) ListenAll(ctx context.Context, key wire.InfoHash, where *value.Where, cb func(res []Result, expired bool) bool) (dht.ListenToken, error) {
	return s.listen(ctx, key, where, true, cb)
}

func (s *DHT) listen(ctx context.Context, key wire.InfoHash, where *value.Where, all bool, cb func([]Result, bool) bool) (dht.ListenToken, error) {
	return s.c.Listen(ctx, key, where, func(vals []*value.Value, expired bool) bool {
		res := s.filter(vals, all, nil)
		if len(res) == 0 {
			return true
		}
		return cb(res, expired)
	})
}

// CancelListen cancels a Listen.
func (s *DHT) CancelListen(ctx context.Context, tok dht.ListenToken) (bool, error) {
	return s.c.CancelListen(ctx, tok)
}
