package archive

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/jamikit/jamikit/lib/identity"
)

// Problems checks that the archive is usable by jamid at time now: keys
// match their certificates, the chain account -> CA is in order and its
// signatures verify, certificates are valid, the account certificate can
// issue device certificates, the optional parts (CA key, eth key, CRL,
// exported device chain) are consistent, and no entry was skipped on read.
// It returns every problem found, most fundamental first.
func (a *Archive) Problems(now time.Time) []string {
	var ps []string
	add := func(format string, args ...any) { ps = append(ps, fmt.Sprintf(format, args...)) }

	ps = append(ps, a.Warnings...)
	if a.AccountKey == nil || len(a.AccountChain) == 0 {
		add("no account key or certificate")
		return ps
	}
	acct := a.AccountChain[0]
	if !identity.KeyMatches(a.AccountKey, acct) {
		if len(a.AccountChain) > 1 && identity.KeyMatches(a.AccountKey, a.AccountChain[1]) {
			add("ringAccountCert: the CA certificate comes before the account certificate (jamid 13.7 crashes on this order)")
		} else {
			add("the account key (ringAccountKey) does not match the account certificate (ringAccountCert)")
		}
		return ps
	}
	id := identity.CertShortID(acct).String()
	if uid := identity.NameUID(acct.RawSubject); uid != "" && uid != id {
		add("account certificate: subject UID %s is not the id of its key (%s)", uid, id)
	}
	if !identity.IsCA(acct) {
		add("account certificate is not a CA certificate: it cannot issue device certificates")
	}
	name := func(i int) string {
		switch i {
		case 0:
			return "account certificate"
		case 1:
			return "CA certificate"
		}
		return fmt.Sprintf("certificate %d of ringAccountCert", i+1)
	}
	for i, c := range a.AccountChain {
		if now.Before(c.NotBefore) {
			add("%s is not valid before %s", name(i), c.NotBefore.UTC().Format(time.RFC3339))
		}
		if now.After(c.NotAfter) {
			add("%s expired on %s", name(i), c.NotAfter.UTC().Format(time.RFC3339))
		}
		switch {
		case i+1 < len(a.AccountChain):
			if err := identity.VerifyIssued(c, a.AccountChain[i+1]); err != nil {
				add("%s is not signed by the %s: %v", name(i), name(i+1), err)
			}
		case identity.IsSelfIssued(c):
			if err := identity.VerifyIssued(c, c); err != nil {
				add("%s: self-signature: %v", name(i), err)
			}
		case i > 0:
			add("%s is not self-signed and its issuer is missing", name(i))
		}
	}
	if a.CAKey != nil {
		if ca := a.CACert(); ca != nil {
			if !identity.KeyMatches(a.CAKey, ca) {
				add("the CA key (ringCaKey) does not match the CA certificate")
			}
		} else if err := (&x509.Certificate{PublicKey: &a.CAKey.PublicKey}).CheckSignature(acct.SignatureAlgorithm, acct.RawTBSCertificate, acct.Signature); err != nil {
			add("the CA key (ringCaKey) did not sign the account certificate")
		}
	}
	if a.EthKey != nil {
		if _, err := identity.EthAddress(a.EthKey); err != nil {
			add("ethKey: %v", err)
		}
	}
	if a.CRL != nil {
		if crl, err := identity.ParseCRL(a.CRL); err != nil {
			add("ringAccountCRL: %v", err)
		} else if !identity.CRLIssuedBy(crl, acct) {
			add("ringAccountCRL is not issued and signed by the account certificate")
		}
	}
	if len(a.DeviceChain) > 0 {
		dev := a.DeviceChain[0]
		if err := identity.VerifyIssued(dev, acct); err != nil {
			add("exported device certificate (%s) is not issued by this account: %v", keyTLSCertFile, err)
		}
		if a.DeviceKey != nil && !identity.KeyMatches(a.DeviceKey, dev) {
			add("exported device key (%s) does not match the device certificate", keyTLSKeyFile)
		}
	}
	return ps
}

// Verify returns the first problem of Problems as an error, or nil.
func (a *Archive) Verify(now time.Time) error {
	if ps := a.Problems(now); len(ps) > 0 {
		return errors.New(ps[0])
	}
	return nil
}

// RevokedSerials lists the serial numbers revoked by the archive's CRL.
func (a *Archive) RevokedSerials() ([]*big.Int, error) {
	if a.CRL == nil {
		return nil, nil
	}
	crl, err := x509.ParseRevocationList(a.CRL)
	if err != nil {
		return nil, err
	}
	var out []*big.Int
	for _, e := range crl.RevokedCertificateEntries {
		out = append(out, e.SerialNumber)
	}
	return out, nil
}
