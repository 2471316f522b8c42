package identity

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// Revocation lists as jamid writes them when a device is revoked (account.md
// §5.5, OpenDHT RevocationList::sign): X.509 v2, issuer = account subject,
// thisUpdate = now, nextUpdate = account certificate expiry, a CRL Number
// extension (8 random bytes at first, then incremented) and nothing else — in
// particular no Authority Key Identifier, which crypto/x509's
// CreateRevocationList always adds; hence the hand-made encoding below.

var oidSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}

type tbsCRL struct {
	Version             int
	Signature           pkix.AlgorithmIdentifier
	Issuer              asn1.RawValue
	ThisUpdate          time.Time
	NextUpdate          time.Time
	RevokedCertificates []pkix.RevokedCertificate `asn1:"optional"`
	Extensions          []pkix.Extension          `asn1:"tag:0,optional,explicit"`
}

type certList struct {
	TBS                asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
}

// RevokeCRL returns the DER CRL that jamid would write after revoking certs:
// prev (nil for the account's first CRL) extended with one entry per
// certificate (its serial, revoked now), re-dated and re-numbered, signed by
// the account key with SHA-512.
func RevokeCRL(prev *x509.RevocationList, accountCert *x509.Certificate, accountKey *rsa.PrivateKey, certs []*x509.Certificate, now time.Time) ([]byte, error) {
	if !KeyMatches(accountKey, accountCert) {
		return nil, errors.New("account key does not match the account certificate")
	}
	var entries []pkix.RevokedCertificate
	var number *big.Int
	if prev != nil {
		if !CRLIssuedBy(prev, accountCert) {
			return nil, errors.New("existing CRL was not issued by this account")
		}
		for _, e := range prev.RevokedCertificateEntries {
			entries = append(entries, pkix.RevokedCertificate{
				SerialNumber:   e.SerialNumber,
				RevocationTime: e.RevocationTime.UTC(),
				Extensions:     e.Extensions,
			})
		}
		if prev.Number != nil && prev.Number.Sign() != 0 {
			number = nextCRLNumber(prev.Number)
		}
	}
	if number == nil {
		var err error
		if number, err = randomCRLNumber(rand.Reader); err != nil {
			return nil, err
		}
	}
	t := now.UTC().Truncate(time.Second)
	for _, c := range certs {
		entries = append(entries, pkix.RevokedCertificate{SerialNumber: c.SerialNumber, RevocationTime: t})
	}
	numDER, err := asn1.Marshal(number)
	if err != nil {
		return nil, err
	}
	alg := pkix.AlgorithmIdentifier{Algorithm: oidSHA512WithRSA, Parameters: asn1.NullRawValue}
	tbs, err := asn1.Marshal(tbsCRL{
		Version:             1, // v2
		Signature:           alg,
		Issuer:              asn1.RawValue{FullBytes: accountCert.RawSubject},
		ThisUpdate:          t,
		NextUpdate:          accountCert.NotAfter.UTC(),
		RevokedCertificates: entries,
		Extensions:          []pkix.Extension{{Id: oidCRLNumber, Value: numDER}},
	})
	if err != nil {
		return nil, err
	}
	h := sha512.Sum512(tbs)
	sig, err := rsa.SignPKCS1v15(rand.Reader, accountKey, crypto.SHA512, h[:])
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(certList{
		TBS:                asn1.RawValue{FullBytes: tbs},
		SignatureAlgorithm: alg,
		Signature:          asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
}

// randomCRLNumber is OpenDHT's first CRL number: 8 random bytes handed to
// GnuTLS, which stores them as a two's complement INTEGER (so it may be
// negative). Zero means "no number yet" to OpenDHT and is never drawn.
func randomCRLNumber(r io.Reader) (*big.Int, error) {
	var b [8]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, err
		}
		if v := int64(binary.BigEndian.Uint64(b[:])); v != 0 {
			return big.NewInt(v), nil
		}
	}
}

// nextCRLNumber adds one the way OpenDHT does: on the 64-bit big-endian
// value, wrapping around.
func nextCRLNumber(n *big.Int) *big.Int {
	if n.IsInt64() {
		return big.NewInt(int64(uint64(n.Int64()) + 1))
	}
	return new(big.Int).Add(n, big.NewInt(1))
}

// ParseCRL reads a CRL in DER or PEM ("X509 CRL"), as OpenDHT accepts both.
func ParseCRL(data []byte) (*x509.RevocationList, error) {
	der := data
	if blk, _ := pem.Decode(data); blk != nil {
		der = blk.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("not a CRL (DER or PEM): %w", err)
	}
	return crl, nil
}

// EncodeCRLPEM wraps a DER CRL in PEM.
func EncodeCRLPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// IsRevoked reports whether crl lists c's serial.
func IsRevoked(crl *x509.RevocationList, c *x509.Certificate) bool {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(c.SerialNumber) == 0 {
			return true
		}
	}
	return false
}
