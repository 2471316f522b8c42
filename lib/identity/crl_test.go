package identity

import (
	"bytes"
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func TestRevokeCRL(t *testing.T) {
	now := time.Now()
	acc, dev := testAccount(t, now)
	chain := []*x509.Certificate{dev.Cert, acc.AccountCert, acc.CACert}

	der, err := RevokeCRL(nil, acc.AccountCert, acc.AccountKey, []*x509.Certificate{dev.Cert}, now)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := ParseCRL(der)
	if err != nil {
		t.Fatal(err)
	}
	checkCRLProfile(t, der, crl, acc.AccountCert, now)
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(dev.Cert.SerialNumber) != 0 {
		t.Fatalf("entries %+v", crl.RevokedCertificateEntries)
	}
	if crl.Number == nil || crl.Number.Sign() == 0 || len(crl.Number.Bytes()) > 8 {
		t.Errorf("CRL number %v", crl.Number)
	}
	if !IsRevoked(crl, dev.Cert) || !CRLIssuedBy(crl, acc.AccountCert) {
		t.Error("IsRevoked/CRLIssuedBy")
	}
	if err := VerifyDeviceChain(chain, crl); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked device verifies: %v", err)
	}
	// The fuzz seed testdata/revoked.crl was written by RevokeCRL for these keys.
	seed, err := os.ReadFile(filepath.Join("testdata", "revoked.crl"))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := ParseCRL(seed); err != nil || !CRLIssuedBy(c, acc.AccountCert) || len(c.RevokedCertificateEntries) != 1 {
		t.Errorf("testdata/revoked.crl: %v", err)
	}
	// PEM is accepted too.
	if _, err := ParseCRL(EncodeCRLPEM(der)); err != nil {
		t.Error(err)
	}

	// Extending: previous entries kept, number incremented, new entry last.
	dev2, err := NewDeviceFromKey(loadKey(t, "other.key"), acc.AccountKey, acc.AccountCert, now)
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Minute)
	der2, err := RevokeCRL(crl, acc.AccountCert, acc.AccountKey, []*x509.Certificate{dev2.Cert}, later)
	if err != nil {
		t.Fatal(err)
	}
	crl2, err := ParseCRL(der2)
	if err != nil {
		t.Fatal(err)
	}
	checkCRLProfile(t, der2, crl2, acc.AccountCert, later)
	if want := nextCRLNumber(crl.Number); crl2.Number.Cmp(want) != 0 {
		t.Errorf("number %v after %v, want %v", crl2.Number, crl.Number, want)
	}
	e := crl2.RevokedCertificateEntries
	if len(e) != 2 || e[0].SerialNumber.Cmp(dev.Cert.SerialNumber) != 0 || !e[0].RevocationTime.Equal(crl.RevokedCertificateEntries[0].RevocationTime) ||
		e[1].SerialNumber.Cmp(dev2.Cert.SerialNumber) != 0 || !e[1].RevocationTime.Equal(later.UTC().Truncate(time.Second)) {
		t.Errorf("entries %+v", e)
	}

	// A CRL from another issuer is neither extended nor applied.
	other, err := NewAccountFromKeys(loadKey(t, "ca.key"), loadKey(t, "other.key"), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RevokeCRL(crl, other.AccountCert, other.AccountKey, nil, now); err == nil {
		t.Error("extended a CRL of another account")
	}
	if err := VerifyDeviceChain(chain, mustCRL(t, other, dev.Cert, now)); err != nil {
		t.Errorf("foreign CRL applied: %v", err)
	}
	if _, err := RevokeCRL(nil, acc.AccountCert, other.AccountKey, nil, now); err == nil {
		t.Error("signed with a key that is not the account's")
	}
}

func mustCRL(t *testing.T, a *Account, c *x509.Certificate, now time.Time) *x509.RevocationList {
	der, err := RevokeCRL(nil, a.AccountCert, a.AccountKey, []*x509.Certificate{c}, now)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := ParseCRL(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

// checkCRLProfile: the fields OpenDHT's RevocationList::sign writes, and
// nothing else (no authority key identifier).
func checkCRLProfile(t *testing.T, der []byte, crl *x509.RevocationList, acc *x509.Certificate, now time.Time) {
	t.Helper()
	if crl.SignatureAlgorithm != x509.SHA512WithRSA {
		t.Errorf("signature algorithm %v", crl.SignatureAlgorithm)
	}
	if !bytes.Equal(crl.RawIssuer, acc.RawSubject) {
		t.Errorf("issuer %v", crl.Issuer)
	}
	if !crl.ThisUpdate.Equal(now.UTC().Truncate(time.Second)) || !crl.NextUpdate.Equal(acc.NotAfter) {
		t.Errorf("thisUpdate %v nextUpdate %v", crl.ThisUpdate, crl.NextUpdate)
	}
	if len(crl.Extensions) != 1 || !crl.Extensions[0].Id.Equal(oidCRLNumber) || crl.Extensions[0].Critical {
		t.Errorf("extensions %+v, want only a non-critical CRL number", crl.Extensions)
	}
	if err := crl.CheckSignatureFrom(acc); err != nil {
		t.Errorf("signature: %v", err)
	}
	// version INTEGER 1 (v2) comes first in the TBS.
	in := cryptobyte.String(der)
	var outer, tbs cryptobyte.String
	var version int
	if !in.ReadASN1(&outer, cbasn1.SEQUENCE) || !outer.ReadASN1(&tbs, cbasn1.SEQUENCE) || !tbs.ReadASN1Integer(&version) || version != 1 {
		t.Errorf("version field: %d", version)
	}
}

func TestNextCRLNumber(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{{1, 2}, {-2, -1}, {-1, 0}, {1<<63 - 1, -1 << 63}} {
		if got := nextCRLNumber(big.NewInt(c.in)); got.Cmp(big.NewInt(c.want)) != 0 {
			t.Errorf("next(%d) = %v, want %d", c.in, got, c.want)
		}
	}
}

// TestGnuTLSAccepts asks GnuTLS's certtool (the library jamid uses) to
// verify our chain, then our CRL, when it is installed.
func TestGnuTLSAccepts(t *testing.T) {
	certtool, err := exec.LookPath("certtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("certtool (gnutls-bin) is required in CI")
		}
		t.Skip("certtool not installed")
	}
	now := time.Now().Add(-time.Minute)
	acc, dev := testAccount(t, now)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	chain := write("chain.pem", EncodeCertsPEM(dev.Cert, acc.AccountCert, acc.CACert))
	anchor := write("account.pem", EncodeCertsPEM(acc.AccountCert))
	out, err := exec.Command(certtool, "--verify", "--verify-profile=medium", "--load-ca-certificate", anchor, "--infile", chain).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Chain verification output: Verified") {
		t.Fatalf("certtool rejects our chain: %v\n%s", err, out)
	}
	der, err := RevokeCRL(nil, acc.AccountCert, acc.AccountKey, []*x509.Certificate{dev.Cert}, now)
	if err != nil {
		t.Fatal(err)
	}
	crl := write("crl.pem", EncodeCRLPEM(der))
	out, err = exec.Command(certtool, "--verify-crl", "--load-ca-certificate", anchor, "--infile", crl).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification output: Verified.") {
		t.Fatalf("certtool rejects our CRL: %v\n%s", err, out)
	}
	// And applies it: the device chain is now revoked.
	out, _ = exec.Command(certtool, "--verify", "--verify-profile=medium", "--load-ca-certificate", anchor, "--load-crl", crl, "--infile", chain).CombinedOutput()
	if !strings.Contains(string(out), "Chain verification output: Not verified. The certificate is NOT trusted. The certificate chain is revoked.") {
		t.Fatalf("certtool does not apply our CRL:\n%s", out)
	}
}

// The first CRL number is 8 random bytes as a signed INTEGER, never zero.
func TestRandomCRLNumber(t *testing.T) {
	src := append(make([]byte, 8), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe)
	n, err := randomCRLNumber(bytes.NewReader(src))
	if err != nil || n.Cmp(big.NewInt(-2)) != 0 {
		t.Fatalf("randomCRLNumber = %v, %v; want -2 (zero skipped)", n, err)
	}
	if _, err := randomCRLNumber(bytes.NewReader(make([]byte, 8))); err == nil {
		t.Fatal("no error when randomness runs out")
	}
}
