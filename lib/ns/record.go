package ns

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/identity"
)

// Record is one registration: what reserveFor stores and GET /name returns.
type Record struct {
	Name      string  // lowercase, ValidName
	Addr      Address // the Jami ID
	Owner     Address // the account's Ethereum address
	PublicKey string  // base64 of the PEM public key, verbatim as posted (may end in NUL)
	Signature string  // base64 of the RSA signature over Name
}

// Signed reports whether the record carries key material. Unsigned records are
// legacy registrations (before 2019); the daemon always signs.
func (r Record) Signed() bool { return r.PublicKey != "" && r.Signature != "" }

// Free reports an empty on-chain record. A record with a zero owner but an
// address (only a foreign writer can make one) is not free: the contract would
// let the next reserveFor overwrite it, and the server must not do that.
func (r Record) Free() bool { return r.Owner.IsZero() && r.Addr.IsZero() }

// Errors of the record checks. The server maps them to 401 (§2.5).
var (
	ErrKeyInvalid   = errors.New("publickey is not a valid RSA public key")
	ErrKeyMismatch  = errors.New("publickey does not match addr")
	ErrBadSignature = errors.New("signature verification failed")
)

// MinKeyBits is the smallest RSA key accepted in a record: GnuTLS (and so the
// daemon) refuses smaller ones; Jami accounts use 4096 bits.
const MinKeyBits = identity.MinKeyBits

// maxKeyBits bounds the cost of a verification done for an anonymous client.
const maxKeyBits = 8192

// ParsePublicKey decodes a record's publickey field: base64 of a PEM public
// key (SubjectPublicKeyInfo). OpenDHT before 4.3 put a NUL after the PEM text,
// so every daemon of the Debian generation and every record on the public
// chain ends in "\n\0"; trailing NULs and whitespace are ignored. DER is
// accepted too, as the daemon accepts it. It returns the key and the Jami ID,
// SHA-1 over the DER bytes as received.
func ParsePublicKey(b64 string) (*rsa.PublicKey, Address, error) {
	var id Address
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, id, fmt.Errorf("%w: not base64", ErrKeyInvalid)
	}
	raw = bytes.TrimRight(raw, "\x00 \t\r\n")
	der := raw
	if block, _ := pem.Decode(raw); block != nil {
		if block.Type != "PUBLIC KEY" {
			return nil, id, fmt.Errorf("%w: PEM block %q, want PUBLIC KEY", ErrKeyInvalid, block.Type)
		}
		der = block.Bytes
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, id, fmt.Errorf("%w: %v", ErrKeyInvalid, err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, id, fmt.Errorf("%w: %T, want RSA", ErrKeyInvalid, k)
	}
	if n := pub.N.BitLen(); n < MinKeyBits || n > maxKeyBits {
		return nil, id, fmt.Errorf("%w: %d-bit key", ErrKeyInvalid, n)
	}
	return pub, Address(identity.ShortIDOfSPKI(der)), nil
}

// VerifyName checks a base64 RSASSA-PKCS1-v1_5 SHA-512 signature over the
// bytes of name (spec §1.4). Only the name is signed.
func VerifyName(pub *rsa.PublicKey, name, sigB64 string) error {
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrBadSignature)
	}
	digest := sha512.Sum512([]byte(name))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA512, digest[:], sig); err != nil {
		return ErrBadSignature
	}
	return nil
}

// Verify checks a signed record as a verifier must (spec §1.5): the key
// parses, its Jami ID is Addr, and the signature over Name verifies.
func (r Record) Verify() error {
	pub, id, err := ParsePublicKey(r.PublicKey)
	if err != nil {
		return err
	}
	if id != r.Addr {
		return fmt.Errorf("%w: the key's Jami ID is %s, addr is %s", ErrKeyMismatch, id, r.Addr)
	}
	return VerifyName(pub, r.Name, r.Signature)
}

// EncodePublicKey is the publickey field for key: base64 of its PEM text. With
// nul, a NUL byte follows the PEM, byte for byte what the Debian jamid 13.7.0
// (OpenDHT 2.4.12) posts; daemons built on OpenDHT 4.3 or later omit it.
func EncodePublicKey(pub *rsa.PublicKey, nul bool) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	p := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	if nul {
		p = append(p, 0)
	}
	return base64.StdEncoding.EncodeToString(p), nil
}

// SignName signs name with the account key as the daemon does: PKCS#1 v1.5,
// SHA-512, base64 with padding. PKCS#1 v1.5 is deterministic, so the
// signature equals the daemon's for the same key and name.
func SignName(priv *rsa.PrivateKey, name string) (string, error) {
	digest := sha512.Sum512([]byte(name))
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA512, digest[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// NewRecord builds the signed record an account registers: the name
// lowercased, the account key's Jami ID, the owner, the key and the signature.
func NewRecord(priv *rsa.PrivateKey, owner Address, name string) (Record, error) {
	name = CanonicalName(name)
	if !ValidName(name) {
		return Record{}, fmt.Errorf("%q: %w", name, ErrInvalidName)
	}
	id, err := identity.ShortIDOf(&priv.PublicKey)
	if err != nil {
		return Record{}, err
	}
	pk, err := EncodePublicKey(&priv.PublicKey, true)
	if err != nil {
		return Record{}, err
	}
	sig, err := SignName(priv, name)
	if err != nil {
		return Record{}, err
	}
	return Record{Name: name, Addr: Address(id), Owner: owner, PublicKey: pk, Signature: sig}, nil
}
