package secure

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
	"github.com/jamikit/jamikit/lib/identity"
)

// CertificateData is the data of a certificate value: the PEM chain, leaf
// first, wrapped as msgpack bin (the value data is packMsg(certificate),
// opendht.md §5.6).
func CertificateData(chain []*x509.Certificate) []byte {
	pem := identity.EncodeCertsPEM(chain...)
	return msgp.AppendBin(make([]byte, 0, len(pem)+5), pem)
}

// ParseCertificateData reads a certificate value's data: msgpack bin or
// str around a PEM (or DER) chain, or the bare chain. Like gnutls's list
// import, it wants at least one certificate.
func ParseCertificateData(data []byte) ([]*x509.Certificate, error) {
	body := data
	r := msgp.NewReader(data)
	if p, err := r.Text(); err == nil {
		body = p
	}
	chain, err := identity.ParseCertificates(body)
	if err != nil {
		return nil, err
	}
	if len(chain) == 0 {
		return nil, errors.New("no certificate")
	}
	return chain, nil
}

// LongIDLocation is where OpenDHT ≥ 3.5 announces a certificate: SHA-1 of
// the 32-byte long id (SHA-256 of the SPKI).
func LongIDLocation(long identity.LongID) wire.InfoHash {
	return wire.InfoHashOf(long[:])
}

// AnnounceCertificate permanently puts our chain as {id 1, type 8} at our
// public key id, as a SecureDht with a certificate does on startup; with
// Options.CertAtLongID also at LongIDLocation.
func (s *DHT) AnnounceCertificate(ctx context.Context) error {
	if _, err := s.key(); err != nil {
		return err
	}
	if len(s.id.Chain) == 0 {
		return errors.New("secure: identity has no certificate")
	}
	if err := s.id.Validate(); err != nil {
		return err
	}
	data := CertificateData(s.id.Chain)
	keys := []wire.InfoHash{s.self}
	if s.opt.CertAtLongID {
		keys = append(keys, LongIDLocation(identity.CertLongID(s.id.Chain[0])))
	}
	for _, k := range keys {
		v := &value.Value{ID: CertificateValueID, Type: value.Certificate.ID, Data: data}
		if err := s.c.Put(ctx, k, v, dht.PutOptions{Permanent: true}); err != nil {
			return fmt.Errorf("announce certificate at %s: %w", k, err)
		}
	}
	return nil
}

// RegisterCertificate adds a chain to the cache, under its leaf's public
// key id.
func (s *DHT) RegisterCertificate(chain []*x509.Certificate) {
	if len(chain) == 0 {
		return
	}
	id := identity.CertShortID(chain[0])
	s.mu.Lock()
	s.certs[wire.InfoHash(id)] = chain
	s.mu.Unlock()
}

// CachedCertificate returns a chain from the cache only.
func (s *DHT) CachedCertificate(pkID wire.InfoHash) ([]*x509.Certificate, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.certs[pkID]
	return c, ok
}

// FindCertificate is SecureDht::findCertificate: the cache, then a get of
// type-8 values at pkID (the 2.4.12 location; the ≥ 3.5 location needs the
// long id, which a short id does not give: see FindCertificateByLongID).
// The first chain whose leaf has public key id pkID is cached and
// returned; ErrNotFound when there is none.
func (s *DHT) FindCertificate(ctx context.Context, pkID wire.InfoHash) ([]*x509.Certificate, error) {
	if c, ok := s.CachedCertificate(pkID); ok {
		return c, nil
	}
	return s.lookupCertificate(ctx, pkID, func(c *x509.Certificate) bool {
		return wire.InfoHash(identity.CertShortID(c)) == pkID
	})
}

// FindCertificateByLongID finds a certificate by long id (SHA-256 of the
// SPKI): the cache, then OpenDHT ≥ 3.5's location SHA-1(long id). The
// 2.4.12 location (SHA-1 of the SPKI) cannot be derived from a long id.
func (s *DHT) FindCertificateByLongID(ctx context.Context, long identity.LongID) ([]*x509.Certificate, error) {
	match := func(c *x509.Certificate) bool { return identity.CertLongID(c) == long }
	s.mu.Lock()
	for _, c := range s.certs {
		if match(c[0]) {
			s.mu.Unlock()
			return c, nil
		}
	}
	s.mu.Unlock()
	return s.lookupCertificate(ctx, LongIDLocation(long), match)
}

func (s *DHT) lookupCertificate(ctx context.Context, key wire.InfoHash, match func(*x509.Certificate) bool) ([]*x509.Certificate, error) {
	var found []*x509.Certificate
	var w value.Where
	w.ValueType(value.Certificate.ID)
	err := s.c.GetFunc(ctx, key, &value.Query{Where: w}, func(vals []*value.Value) bool {
		for _, v := range vals {
			if v.IsEncrypted() || v.Type != value.Certificate.ID {
				continue
			}
			chain, err := ParseCertificateData(v.Data)
			if err != nil || !match(chain[0]) {
				s.log.Warn("ignoring certificate value", "key", key, "err", err)
				continue
			}
			found = chain
			return false
		}
		return true
	})
	if found != nil {
		s.RegisterCertificate(found)
		return found, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err != nil && !errors.Is(err, dht.ErrFailed) {
		return nil, err
	}
	return nil, ErrNotFound
}
