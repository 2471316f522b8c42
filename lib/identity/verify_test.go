package identity

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
	"time"
)

func TestVerifyDeviceChainFailures(t *testing.T) {
	now := time.Now()
	acc, dev := testAccount(t, now)
	good := []*x509.Certificate{dev.Cert, acc.AccountCert, acc.CACert}
	tampered := *dev.Cert
	tampered.Signature = append([]byte{}, dev.Cert.Signature...)
	tampered.Signature[10] ^= 1

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallCert := issueRaw(t, &x509.Certificate{SerialNumber: dev.Cert.SerialNumber, RawSubject: dev.Cert.RawSubject,
		NotBefore: dev.Cert.NotBefore, NotAfter: dev.Cert.NotAfter, SignatureAlgorithm: x509.SHA384WithRSA},
		withoutSKI(acc.AccountCert), &small.PublicKey, acc.AccountKey)
	sha256Cert := issueRaw(t, &x509.Certificate{SerialNumber: dev.Cert.SerialNumber, RawSubject: dev.Cert.RawSubject,
		NotBefore: dev.Cert.NotBefore, NotAfter: dev.Cert.NotAfter, SignatureAlgorithm: x509.SHA256WithRSA},
		withoutSKI(acc.AccountCert), &dev.Key.PublicKey, acc.AccountKey)

	for _, c := range []struct {
		name  string
		chain []*x509.Certificate
		at    time.Time
		want  string
	}{
		{"no issuer", good[:1], now, "no issuer"},
		{"expired", good, now.Add(Validity + time.Hour), "expired"},
		{"not yet valid", good, now.Add(-time.Hour), "not valid before"},
		{"bad signature", []*x509.Certificate{&tampered, acc.AccountCert}, now, "signature does not verify"},
		{"wrong order", []*x509.Certificate{dev.Cert, acc.CACert, acc.AccountCert}, now, "is not the subject"},
		{"device as issuer", []*x509.Certificate{dev.Cert, dev.Cert}, now, "is not the subject"},
		{"small key", []*x509.Certificate{smallCert, acc.AccountCert}, now, "1024 bits"},
	} {
		err := VerifyDeviceChainAt(c.chain, c.at)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	// SHA-256 is acceptable to GnuTLS (only the profile prefers SHA-384).
	if err := VerifyDeviceChainAt([]*x509.Certificate{sha256Cert, acc.AccountCert}, now); err != nil {
		t.Errorf("SHA-256 device certificate: %v", err)
	}
	if issues := ProfileIssues(sha256Cert, RoleDevice); len(issues) != 1 {
		t.Errorf("profile of a SHA-256 certificate: %v", issues)
	}
	// The full-chain check also wants the CA link and a self-signed end.
	if err := VerifyChainAt(good[:2], now); err == nil || !strings.Contains(err.Error(), "without its issuer") {
		t.Errorf("chain without CA: %v", err)
	}
}

func issueRaw(t *testing.T, tmpl, parent *x509.Certificate, pub *rsa.PublicKey, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	c, err := sign(tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// IsCA follows OpenDHT: a critical keyUsage must include keyCertSign, a
// non-critical one does not matter.
func TestIsCA(t *testing.T) {
	acc, dev := testAccount(t, time.Now())
	if !IsCA(acc.AccountCert) || !IsCA(acc.CACert) || IsCA(dev.Cert) {
		t.Fatal("IsCA on the generated chain")
	}
	key := acc.CAKey
	bc, _ := asn1.Marshal(struct{ CA bool }{true})
	ku, _ := asn1.Marshal(asn1.BitString{Bytes: []byte{0x80}, BitLength: 1}) // digitalSignature only
	for _, c := range []struct {
		critical bool
		want     bool
	}{{true, false}, {false, true}} {
		cert := issueRaw(t, &x509.Certificate{
			SerialNumber: acc.CACert.SerialNumber, RawSubject: acc.CACert.RawSubject,
			NotBefore: acc.CACert.NotBefore, NotAfter: acc.CACert.NotAfter,
			ExtraExtensions: []pkix.Extension{
				{Id: oidBasicConstraints, Critical: true, Value: bc},
				{Id: oidKeyUsage, Critical: c.critical, Value: ku},
			},
		}, withoutSKI(acc.CACert), &key.PublicKey, key)
		if IsCA(cert) != c.want {
			t.Errorf("keyUsage critical=%v without keyCertSign: IsCA %v, want %v", c.critical, IsCA(cert), c.want)
		}
	}
}
