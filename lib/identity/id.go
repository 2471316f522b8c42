// Package identity is the Jami identity model: RSA keys, the certificate
// profile of the Jami CA, account and device certificates, the IDs derived from
// public keys, certificate chains, device receipts and revocation lists
// (spec/account.md §1, §5).
package identity

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
)

// ShortID is OpenDHT's InfoHash of a public key: SHA-1 over the SPKI DER.
// The Jami ID is the short id of the account key; a device's short id is the
// UID of its certificate.
type ShortID [20]byte

// LongID is OpenDHT's PkId: SHA-256 over the SPKI DER. The device ID that
// jamid shows (Account.deviceID) is the long id of the device key.
type LongID [32]byte

func (id ShortID) String() string { return hex.EncodeToString(id[:]) }
func (id LongID) String() string  { return hex.EncodeToString(id[:]) }

// Bytes returns a copy of the id as a slice.
func (id ShortID) Bytes() []byte { return append([]byte(nil), id[:]...) }
func (id LongID) Bytes() []byte  { return append([]byte(nil), id[:]...) }

// IsZero reports the all-zero id.
func (id ShortID) IsZero() bool { return id == ShortID{} }

// ParseShortID reads 40 hex characters.
func ParseShortID(s string) (ShortID, error) {
	var id ShortID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("not a 40-hex id: %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// ParseLongID reads 64 hex characters.
func ParseLongID(s string) (LongID, error) {
	var id LongID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("not a 64-hex id: %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// SPKI returns the DER SubjectPublicKeyInfo of a public key. For RSA keys Go
// and GnuTLS produce identical bytes (explicit NULL parameters).
func SPKI(pub crypto.PublicKey) ([]byte, error) {
	return x509.MarshalPKIXPublicKey(pub)
}

// ShortIDOfSPKI hashes SPKI DER bytes.
func ShortIDOfSPKI(spki []byte) ShortID { return sha1.Sum(spki) }

// LongIDOfSPKI hashes SPKI DER bytes.
func LongIDOfSPKI(spki []byte) LongID { return sha256.Sum256(spki) }

// ShortIDOf returns the short id of a public key.
func ShortIDOf(pub crypto.PublicKey) (ShortID, error) {
	spki, err := SPKI(pub)
	if err != nil {
		return ShortID{}, err
	}
	return ShortIDOfSPKI(spki), nil
}

// LongIDOf returns the long id of a public key.
func LongIDOf(pub crypto.PublicKey) (LongID, error) {
	spki, err := SPKI(pub)
	if err != nil {
		return LongID{}, err
	}
	return LongIDOfSPKI(spki), nil
}

// CertShortID is the short id of a certificate's key.
func CertShortID(c *x509.Certificate) ShortID { return ShortIDOfSPKI(c.RawSubjectPublicKeyInfo) }

// CertLongID is the long id of a certificate's key.
func CertLongID(c *x509.Certificate) LongID { return LongIDOfSPKI(c.RawSubjectPublicKeyInfo) }

// KeyMatches reports whether priv is the private half of cert's public key.
func KeyMatches(priv *rsa.PrivateKey, cert *x509.Certificate) bool {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	return ok && pub.Equal(&priv.PublicKey)
}
