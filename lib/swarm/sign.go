package swarm

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/jamikit/jamikit/lib/identity"
)

// SignPayload signs commit payload bytes as OpenDHT's PrivateKey::sign does
// for jamid: RSA PKCS#1 v1.5 over SHA-512. The result is deterministic.
func SignPayload(key *rsa.PrivateKey, payload []byte) ([]byte, error) {
	d := sha512.Sum512(payload)
	return rsa.SignPKCS1v15(nil, key, crypto.SHA512, d[:])
}

// VerifyPayload checks an RSA PKCS#1 v1.5 SHA-512 signature.
func VerifyPayload(pub crypto.PublicKey, payload, sig []byte) error {
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("device key is %T, not RSA", pub)
	}
	d := sha512.Sum512(payload)
	return rsa.VerifyPKCS1v15(rk, crypto.SHA512, d[:], sig)
}

// Sign builds the payload of c (§3.4 step 1), signs it with the device key,
// inserts the `signature` header and sets c.Raw, c.Headers and c.ID. The
// result is byte-identical to what jamid writes for the same fields.
func (c *Commit) Sign(key *rsa.PrivateKey) error {
	payload, err := c.Payload()
	if err != nil {
		return err
	}
	sig, err := SignPayload(key, payload)
	if err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString(sig)
	raw, err := InsertSignatureHeader(payload, SignatureHeader, b64)
	if err != nil {
		return err
	}
	c.Raw = raw
	c.Headers = []Header{{Name: SignatureHeader, Value: b64}}
	c.ID = HashObject(plumbing.CommitObject, raw)
	return nil
}

// Signature returns the decoded `signature` header and the signed payload of
// a raw commit, as libgit2 extracts them for jamid.
func Signature(raw []byte) (sig, payload []byte, err error) {
	b64, payload, err := ExtractSignature(raw, SignatureHeader)
	if err != nil {
		return nil, nil, err
	}
	sig, err = base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		return nil, nil, fmt.Errorf("signature header is not base64: %w", err)
	}
	return sig, payload, nil
}

// VerifyCommit checks the signature of a raw commit against a device
// certificate.
func VerifyCommit(raw []byte, device *x509.Certificate) error {
	sig, payload, err := Signature(raw)
	if err != nil {
		return err
	}
	if err := VerifyPayload(device.PublicKey, payload, sig); err != nil {
		return errors.New("commit signature does not verify with the device certificate")
	}
	return nil
}

// oidUID is the LDAP UID attribute (0.9.2342.19200300.100.1.1) Jami puts
// in subject and issuer DNs.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// IssuerUID is GnuTLS getIssuerUID: the first UID attribute of the issuer
// DN. For a device certificate it is the account URI.
func IssuerUID(c *x509.Certificate) string {
	for _, a := range c.Issuer.Names {
		if a.Type.Equal(oidUID) {
			if s, ok := a.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// SubjectUID is the first UID attribute of the subject DN.
func SubjectUID(c *x509.Certificate) string {
	for _, a := range c.Subject.Names {
		if a.Type.Equal(oidUID) {
			if s, ok := a.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// DeviceID is the 64-hex device ID of a device certificate (SHA-256 of its
// SPKI), used as git e-mail and in devices/<id>.crt.
func DeviceID(c *x509.Certificate) string { return identity.CertLongID(c).String() }

// AccountURI is the 40-hex key id (SHA-1 of the SPKI) of a certificate; for
// an account certificate it is the Jami ID.
func AccountURI(c *x509.Certificate) string { return identity.CertShortID(c).String() }

// IsDeviceCert is jamid's verifyCertificate test: a certificate whose key id
// differs from the account URI it is filed under is a device certificate.
func IsDeviceCert(c *x509.Certificate, uri string) bool { return AccountURI(c) != uri }

// CheckDeviceChain is the strict check jamid never does during repository
// validation (§3.4, §4.2): the device certificate was issued by the account
// (issuer UID = account URI, signature by the account key), the account
// certificate's key id is the URI, neither had expired at time t, and, if
// the account chain carries its CA, the account certificate is signed by it.
// accountChain is the content of admins/ or members/<uri>.crt (account
// certificate first).
func CheckDeviceChain(device *x509.Certificate, accountChain []*x509.Certificate, t time.Time) error {
	if err := checkChainSignatures(device, accountChain); err != nil {
		return err
	}
	return checkChainTimes(device, accountChain[0], t)
}

// checkChainSignatures is the time-independent part of CheckDeviceChain
// (issuer UID and the RSA signatures), so that a Validator can memoize it.
func checkChainSignatures(device *x509.Certificate, accountChain []*x509.Certificate) error {
	if len(accountChain) == 0 {
		return errors.New("no account certificate")
	}
	acct := accountChain[0]
	uri := AccountURI(acct)
	if iss := IssuerUID(device); iss != uri {
		return fmt.Errorf("device certificate issuer UID %q is not the account %s", iss, uri)
	}
	// CheckSignature rather than CheckSignatureFrom: JAMS-era account
	// certificates need not carry CA basic constraints.
	if err := acct.CheckSignature(device.SignatureAlgorithm, device.RawTBSCertificate, device.Signature); err != nil {
		return fmt.Errorf("device certificate is not signed by account %s: %w", uri, err)
	}
	if len(accountChain) > 1 {
		ca := accountChain[1]
		if err := ca.CheckSignature(acct.SignatureAlgorithm, acct.RawTBSCertificate, acct.Signature); err != nil {
			return fmt.Errorf("account certificate %s is not signed by its CA: %w", uri, err)
		}
	}
	return nil
}

// checkChainTimes is the part of CheckDeviceChain that depends on t.
func checkChainTimes(device, acct *x509.Certificate, t time.Time) error {
	for _, c := range []*x509.Certificate{device, acct} {
		if t.After(c.NotAfter) {
			return fmt.Errorf("certificate %s expired %s", AccountURI(c), c.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	return nil
}
