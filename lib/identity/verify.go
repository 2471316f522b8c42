package identity

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Chain verification the way jamid 13.7.0 does it: GnuTLS trust-list
// verification with the account certificate as the only trust anchor and the
// MEDIUM profile (RSA >= 2048 bits, no SHA-1 or MD5 signatures, validity dates
// checked, CA constraints checked, CRLs of the anchor applied; account.md §5.4).

// MinKeyBits is the smallest RSA key GnuTLS's MEDIUM profile accepts.
const MinKeyBits = 2048

// ErrRevoked is returned (wrapped) for a certificate listed in a CRL of its issuer.
var ErrRevoked = errors.New("certificate is revoked")

// IsCA is OpenDHT's Certificate::isCA(): basicConstraints present with cA
// TRUE, and keyUsage absent, not critical, or including keyCertSign.
func IsCA(c *x509.Certificate) bool {
	if !c.BasicConstraintsValid || !c.IsCA {
		return false
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(oidKeyUsage) && e.Critical {
			return c.KeyUsage&x509.KeyUsageCertSign != 0
		}
	}
	return true
}

// IsSelfIssued reports a certificate whose issuer is its own subject.
func IsSelfIssued(c *x509.Certificate) bool { return bytes.Equal(c.RawIssuer, c.RawSubject) }

// VerifyDeviceChain checks a device chain (device, account[, CA]) now, with
// the account certificate as the only anchor, as jamid does in useIdentity and
// for peers' devices.
func VerifyDeviceChain(chain []*x509.Certificate, crls ...*x509.RevocationList) error {
	return VerifyDeviceChainAt(chain, time.Now(), crls...)
}

// VerifyDeviceChainAt is VerifyDeviceChain at a given time. Only CRLs issued
// and signed by the account certificate count; others are ignored, as GnuTLS
// drops CRLs it cannot verify against the trust list.
func VerifyDeviceChainAt(chain []*x509.Certificate, now time.Time, crls ...*x509.RevocationList) error {
	if len(chain) < 2 {
		return errors.New("chain has no issuer: need the device certificate followed by the account certificate")
	}
	dev, acc := chain[0], chain[1]
	if err := checkUsable(acc, now); err != nil {
		return fmt.Errorf("account certificate: %w", err)
	}
	if err := checkUsable(dev, now); err != nil {
		return fmt.Errorf("device certificate: %w", err)
	}
	if err := VerifyIssued(dev, acc); err != nil {
		return fmt.Errorf("device certificate: %w", err)
	}
	for _, crl := range crls {
		if crl == nil || !CRLIssuedBy(crl, acc) {
			continue
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(dev.SerialNumber) == 0 {
				return fmt.Errorf("device certificate (serial %s): %w", SerialString(dev.SerialNumber), ErrRevoked)
			}
		}
	}
	return nil
}

// VerifyIssued checks that parent issued child: names chain, parent is a CA
// (OpenDHT's rule), the signature algorithm is acceptable and the signature
// verifies with the parent key.
func VerifyIssued(child, parent *x509.Certificate) error {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return fmt.Errorf("issuer %q is not the subject %q of the next certificate", child.Issuer, parent.Subject)
	}
	if !IsCA(parent) {
		return fmt.Errorf("issuer %q is not a CA", parent.Subject)
	}
	if err := checkSigAlg(child.SignatureAlgorithm); err != nil {
		return err
	}
	if err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature); err != nil {
		return fmt.Errorf("signature does not verify with the key of %q: %w", parent.Subject, err)
	}
	return nil
}

// VerifyChainAt checks every link of a chain, leaf first, up to its last
// certificate, which must be self-signed; dates and key sizes of every
// certificate too. This is stricter than jamid (which stops at the account
// certificate) and is what "the whole chain verifies" means.
func VerifyChainAt(chain []*x509.Certificate, now time.Time) error {
	if len(chain) == 0 {
		return errors.New("empty chain")
	}
	for i, c := range chain {
		if err := checkUsable(c, now); err != nil {
			return fmt.Errorf("certificate %d (%s): %w", i+1, c.Subject, err)
		}
		parent := c
		if i+1 < len(chain) {
			parent = chain[i+1]
		} else if !IsSelfIssued(c) {
			return fmt.Errorf("certificate %d (%s): chain ends without its issuer %q", i+1, c.Subject, c.Issuer)
		}
		if err := VerifyIssued(c, parent); err != nil {
			return fmt.Errorf("certificate %d (%s): %w", i+1, c.Subject, err)
		}
	}
	return nil
}

// CRLIssuedBy reports whether crl names issuer's subject and is signed by its key.
func CRLIssuedBy(crl *x509.RevocationList, issuer *x509.Certificate) bool {
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return false
	}
	if checkSigAlg(crl.SignatureAlgorithm) != nil {
		return false
	}
	return issuer.CheckSignature(crl.SignatureAlgorithm, crl.RawTBSRevocationList, crl.Signature) == nil
}

func checkUsable(c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) {
		return fmt.Errorf("not valid before %s", c.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(c.NotAfter) {
		return fmt.Errorf("expired on %s", c.NotAfter.UTC().Format(time.RFC3339))
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%v key, Jami uses RSA", c.PublicKeyAlgorithm)
	}
	if pub.N.BitLen() < MinKeyBits {
		return fmt.Errorf("RSA key of %d bits is below the MEDIUM profile (%d)", pub.N.BitLen(), MinKeyBits)
	}
	return nil
}

func checkSigAlg(a x509.SignatureAlgorithm) error {
	switch a {
	case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		return nil
	}
	return fmt.Errorf("signature algorithm %v is not accepted (MEDIUM profile)", a)
}
