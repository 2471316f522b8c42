package types

import (
	"crypto/x509"
	"encoding/json"
	"errors"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/identity"
)

// Certificate is the data of a type-8 value (opendht.md §5.6): msgpack
// bin(PEM chain, leaf first), what packMsg(Certificate) writes.
type Certificate struct {
	Chain []*x509.Certificate
}

// Marshal packs bin(PEM of the chain).
func (c *Certificate) Marshal() []byte {
	p := identity.EncodeCertsPEM(c.Chain...)
	return msgp.AppendBin(make([]byte, 0, len(p)+5), p)
}

// UnmarshalCertificate reads a certificate value's data. As gnutls's list
// import finds PEM wherever it is, a reader unwraps the msgpack bin (or str)
// if there is one, then parses PEM or DER.
func UnmarshalCertificate(b []byte) (*Certificate, error) {
	body := unwrapBlob(b)
	certs, err := identity.ParseCertificates(body)
	if err != nil {
		return nil, invalid("Certificate", err)
	}
	if len(certs) == 0 {
		return nil, invalid("Certificate", errors.New("no certificate"))
	}
	return &Certificate{Chain: certs}, nil
}

// unwrapBlob returns the payload of a msgpack str/bin spanning all of b, or
// b itself.
func unwrapBlob(b []byte) []byte {
	r := msgp.NewReader(b)
	if p, err := r.Text(); err == nil && r.Pos() == len(b) {
		return p
	}
	return b
}

// MarshalJSON lists each certificate of the chain with its ids.
func (c *Certificate) MarshalJSON() ([]byte, error) {
	type certJSON struct {
		Subject  string `json:"subject"`
		Issuer   string `json:"issuer"`
		ShortID  string `json:"short_id"`
		LongID   string `json:"long_id"`
		NotAfter string `json:"not_after"`
	}
	out := struct {
		Chain []certJSON `json:"chain"`
	}{}
	for _, x := range c.Chain {
		out.Chain = append(out.Chain, certJSON{
			Subject: x.Subject.String(), Issuer: x.Issuer.String(),
			ShortID: identity.CertShortID(x).String(), LongID: identity.CertLongID(x).String(),
			NotAfter: x.NotAfter.UTC().Format("2006-01-02T15:04:05Z"),
		})
	}
	return json.Marshal(out)
}

// CRL is a revocation list as jamid puts it at InfoHash(Jami ID) (account.md
// §5.5): an unsigned USER_DATA value whose data is msgpack bin(DER CRL).
type CRL struct {
	DER  []byte
	List *x509.RevocationList
}

// NewCRL wraps a DER CRL.
func NewCRL(der []byte) (*CRL, error) {
	l, err := identity.ParseCRL(der)
	if err != nil {
		return nil, invalid("CRL", err)
	}
	return &CRL{DER: clone(der), List: l}, nil
}

// Marshal packs bin(DER).
func (c *CRL) Marshal() []byte { return msgp.AppendBin(make([]byte, 0, len(c.DER)+5), c.DER) }

// UnmarshalCRL reads a CRL value's data: bin (or str) of DER or PEM.
func UnmarshalCRL(b []byte) (*CRL, error) {
	body := unwrapBlob(b)
	if len(body) == len(b) {
		return nil, invalid("CRL", errors.New("not a msgpack bin"))
	}
	l, err := identity.ParseCRL(body)
	if err != nil {
		return nil, invalid("CRL", err)
	}
	return &CRL{DER: clone(l.Raw), List: l}, nil
}

// MarshalJSON shows the issuer, number and revoked serials.
func (c *CRL) MarshalJSON() ([]byte, error) {
	j := struct {
		Issuer     string   `json:"issuer"`
		IssuerID   string   `json:"issuer_uid,omitempty"`
		Number     string   `json:"number,omitempty"`
		ThisUpdate string   `json:"this_update"`
		NextUpdate string   `json:"next_update,omitempty"`
		Revoked    []string `json:"revoked_serials"`
	}{Issuer: c.List.Issuer.String(), ThisUpdate: c.List.ThisUpdate.UTC().Format("2006-01-02T15:04:05Z"), Revoked: []string{}}
	j.IssuerID = identity.NameUID(c.List.RawIssuer)
	if c.List.Number != nil {
		j.Number = c.List.Number.Text(16)
	}
	if !c.List.NextUpdate.IsZero() {
		j.NextUpdate = c.List.NextUpdate.UTC().Format("2006-01-02T15:04:05Z")
	}
	for _, e := range c.List.RevokedCertificateEntries {
		j.Revoked = append(j.Revoked, identity.SerialString(e.SerialNumber))
	}
	return json.Marshal(j)
}
