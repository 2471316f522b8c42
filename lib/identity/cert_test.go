package identity

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Throwaway RSA-4096 keys generated once (testdata/*.key) so that tests
// exercise the certificate profile without generating keys every time.

func loadKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k
}

// jamidChain is the device chain written by the real jamid 13.7.0
// (device, account, CA).
func jamidChain(t testing.TB) []*x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "jamid-ring_device.crt"))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := ParseCertificates(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 3 {
		t.Fatalf("fixture chain has %d certificates", len(chain))
	}
	return chain
}

type vectors struct {
	Account struct {
		AccountID   string `json:"account_id"`
		CAID        string `json:"ca_id"`
		DevShortID  string `json:"device_short_id_sha1_spki"`
		DevLongID   string `json:"device_long_id_sha256_spki"`
		EthKeyHex   string `json:"eth_key_hex"`
		EthAddress  string `json:"eth_address"`
		SerialHex   string `json:"account_cert_serial_der_hex"`
		ReceiptSig  string `json:"receipt_signature_base64"`
		ReceiptJSON string `json:"receipt"`
	} `json:"account_in_archive_password"`
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "account-testvectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// testAccount issues an account and a device from the fixture keys.
func testAccount(t testing.TB, now time.Time) (*Account, *Device) {
	t.Helper()
	eth, _ := hex.DecodeString(loadVectors(t).Account.EthKeyHex)
	acc, err := NewAccountFromKeys(loadKey(t, "ca.key"), loadKey(t, "account.key"), eth, now)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := NewDeviceFromKey(loadKey(t, "device.key"), acc.AccountKey, acc.AccountCert, now)
	if err != nil {
		t.Fatal(err)
	}
	return acc, dev
}

// skeleton renders a DER structure as one line per element: depth, tag and
// length, and the content of every primitive except the values that are
// random or key-dependent (serial, times, key and signature bits, short ids).
// Two certificates with the same skeleton have the same byte layout.
func skeleton(t testing.TB, der []byte) string {
	t.Helper()
	var b strings.Builder
	var walk func(s cryptobyte.String, depth int, path string)
	walk = func(s cryptobyte.String, depth int, path string) {
		for i := 0; !s.Empty(); i++ {
			var content cryptobyte.String
			var tag cbasn1.Tag
			if !s.ReadAnyASN1(&content, &tag) {
				t.Fatalf("bad DER at %s", path)
			}
			p := fmt.Sprintf("%s.%d", path, i)
			fmt.Fprintf(&b, "%*s%#x", depth*2, "", uint8(tag))
			switch {
			case tag&0x20 != 0: // constructed
				// The certificate and TBS lengths follow the serial's (8 bytes but
				// 7 once in 256); every other length is fixed by the profile.
				if depth >= 2 {
					b.WriteString(fmt.Sprintf(" len=%d", len(content)))
				}
				b.WriteString("\n")
				walk(content, depth+1, p)
				continue
			case p == ".0.0.1": // serialNumber: random, 1..8 bytes
				b.WriteString(" serial")
			case tag == cbasn1.UTCTime || tag == cbasn1.GeneralizedTime:
				b.WriteString(fmt.Sprintf(" time len=%d", len(content)))
			case tag == cbasn1.BIT_STRING:
				b.WriteString(fmt.Sprintf(" bits len=%d", len(content)))
			case tag == cbasn1.PrintableString && len(content) == 40:
				b.WriteString(" hex40")
			case tag == cbasn1.OCTET_STRING && len(content) == 22 && content[0] == 0x04:
				b.WriteString(" ski")
			default:
				b.WriteString(" " + hex.EncodeToString(content))
			}
			b.WriteString("\n")
		}
	}
	walk(cryptobyte.String(der), 0, "")
	return b.String()
}

func TestProfileMatchesJamid(t *testing.T) {
	now := time.Now()
	acc, dev := testAccount(t, now)
	fix := jamidChain(t)
	for _, c := range []struct {
		name   string
		ours   *x509.Certificate
		jamid  *x509.Certificate
		role   Role
		issuer *x509.Certificate
	}{
		{"device", dev.Cert, fix[0], RoleDevice, acc.AccountCert},
		{"account", acc.AccountCert, fix[1], RoleAccount, acc.CACert},
		{"CA", acc.CACert, fix[2], RoleCA, acc.CACert},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, want := skeleton(t, c.ours.Raw), skeleton(t, c.jamid.Raw); got != want {
				t.Errorf("DER layout differs from jamid's\nours:\n%s\njamid:\n%s", got, want)
			}
			if issues := ProfileIssues(c.ours, c.role); len(issues) > 0 {
				t.Errorf("profile issues: %v", issues)
			}
			if issues := ProfileIssues(c.jamid, c.role); len(issues) > 0 {
				t.Errorf("jamid's own certificate fails the profile check: %v", issues)
			}
			if RoleOf(c.ours) != c.role || RoleOf(c.jamid) != c.role {
				t.Errorf("RoleOf: ours %v, jamid %v, want %v", RoleOf(c.ours), RoleOf(c.jamid), c.role)
			}
			// Subject UID = short id; issuer = the parent's subject, byte for byte.
			if NameUID(c.ours.RawSubject) != CertShortID(c.ours).String() {
				t.Errorf("UID %q is not the short id %s", NameUID(c.ours.RawSubject), CertShortID(c.ours))
			}
			if !bytes.Equal(c.ours.RawIssuer, c.issuer.RawSubject) {
				t.Errorf("issuer is not the parent's subject")
			}
			if len(c.ours.AuthorityKeyId) != 0 {
				t.Errorf("authority key identifier present")
			}
			if sid := CertShortID(c.ours); c.role != RoleDevice && !bytes.Equal(c.ours.SubjectKeyId, sid[:]) {
				t.Errorf("SKI %x is not the short id", c.ours.SubjectKeyId)
			}
			if c.ours.SerialNumber.Sign() <= 0 || c.ours.SerialNumber.BitLen() > 63 {
				t.Errorf("serial %v outside [1, 2^63-1]", c.ours.SerialNumber)
			}
			if !c.ours.NotBefore.Equal(now.UTC().Truncate(time.Second)) || c.ours.NotAfter.Sub(c.ours.NotBefore) != 315360000*time.Second {
				t.Errorf("validity %v .. %v", c.ours.NotBefore, c.ours.NotAfter)
			}
		})
	}
	if acc.JamiID() != CertShortID(acc.AccountCert) || NameUID(dev.Cert.RawIssuer) != acc.JamiID().String() {
		t.Error("Jami ID is not the account short id / device issuer UID")
	}
	if err := VerifyDeviceChain([]*x509.Certificate{dev.Cert, acc.AccountCert, acc.CACert}); err != nil {
		t.Errorf("VerifyDeviceChain: %v", err)
	}
	if err := VerifyChainAt([]*x509.Certificate{dev.Cert, acc.AccountCert, acc.CACert}, now); err != nil {
		t.Errorf("VerifyChainAt: %v", err)
	}
}

// TestNewAccountAndDevice really generates three RSA-4096 keys (a few
// seconds of CPU) and checks the whole profile.
func TestNewAccountAndDevice(t *testing.T) {
	if testing.Short() {
		t.Skip("generates RSA-4096 keys")
	}
	acc, dev, err := NewAccountAndDevice()
	if err != nil {
		t.Fatal(err)
	}
	fix := jamidChain(t)
	for i, c := range []*x509.Certificate{dev.Cert, acc.AccountCert, acc.CACert} {
		role := []Role{RoleDevice, RoleAccount, RoleCA}[i]
		if issues := ProfileIssues(c, role); len(issues) > 0 {
			t.Errorf("%v: %v", role, issues)
		}
		if skeleton(t, c.Raw) != skeleton(t, fix[i].Raw) {
			t.Errorf("%v: DER layout differs from jamid's", role)
		}
	}
	keys := map[string]bool{}
	for _, k := range []*rsa.PrivateKey{acc.CAKey, acc.AccountKey, dev.Key} {
		if k.N.BitLen() != 4096 || k.E != 65537 {
			t.Errorf("key %d bits e=%d", k.N.BitLen(), k.E)
		}
		keys[k.N.String()] = true
	}
	if len(keys) != 3 {
		t.Error("keys are not distinct")
	}
	if _, err := EthAddress(acc.EthKey); err != nil {
		t.Error(err)
	}
	if err := VerifyDeviceChain([]*x509.Certificate{dev.Cert, acc.AccountCert, acc.CACert}); err != nil {
		t.Error(err)
	}
}

func TestJamidFixtureIDs(t *testing.T) {
	v := loadVectors(t).Account
	chain := jamidChain(t)
	if got := CertShortID(chain[0]).String(); got != v.DevShortID {
		t.Errorf("device short id %s, want %s", got, v.DevShortID)
	}
	if got := CertLongID(chain[0]).String(); got != v.DevLongID {
		t.Errorf("device long id %s, want %s", got, v.DevLongID)
	}
	if got := CertShortID(chain[1]).String(); got != v.AccountID {
		t.Errorf("account id %s, want %s", got, v.AccountID)
	}
	if got := CertShortID(chain[2]).String(); got != v.CAID {
		t.Errorf("CA id %s, want %s", got, v.CAID)
	}
	// The 2023 account certificate has a negative serial (little-endian quirk).
	if chain[1].SerialNumber.Sign() >= 0 {
		t.Errorf("account serial %v, want negative", chain[1].SerialNumber)
	}
	want, _ := hex.DecodeString(v.SerialHex)
	if got := new(big.Int).SetBytes(want); got.Sub(got, new(big.Int).Lsh(big.NewInt(1), 64)).Cmp(chain[1].SerialNumber) != 0 {
		t.Errorf("serial %s, want DER %s", SerialString(chain[1].SerialNumber), v.SerialHex)
	}
	if err := VerifyDeviceChainAt(chain, chain[0].NotBefore.Add(time.Hour)); err != nil {
		t.Errorf("jamid chain does not verify: %v", err)
	}
	if err := VerifyChainAt(chain, chain[0].NotBefore.Add(time.Hour)); err != nil {
		t.Errorf("jamid chain does not verify to its CA: %v", err)
	}
}

func TestEthAddress(t *testing.T) {
	v := loadVectors(t).Account
	k, _ := hex.DecodeString(v.EthKeyHex)
	got, err := EthAddress(k)
	if err != nil || got != v.EthAddress {
		t.Fatalf("EthAddress = %q, %v; want %s", got, err, v.EthAddress)
	}
	n, _ := hex.DecodeString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141") // group order
	for name, bad := range map[string][]byte{
		"zero": make([]byte, 32), "order": n, "short": k[:31], "long": append(k, 0),
	} {
		if _, err := EthAddress(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	k2, err := NewEthKey()
	if err != nil || len(k2) != 32 {
		t.Fatalf("NewEthKey: %x %v", k2, err)
	}
	if _, err := EthAddress(k2); err != nil {
		t.Error(err)
	}
}

func TestRandomSerial(t *testing.T) {
	for range 1000 {
		s, err := RandomSerial()
		if err != nil {
			t.Fatal(err)
		}
		if s.Sign() <= 0 || s.BitLen() > 63 {
			t.Fatalf("serial %v outside [1, 2^63-1]", s)
		}
	}
}

func TestNewDeviceRejects(t *testing.T) {
	acc, dev := testAccount(t, time.Now())
	other := loadKey(t, "other.key")
	if _, err := NewDeviceFromKey(other, other, acc.AccountCert, time.Now()); err == nil {
		t.Error("signed with a key that is not the account's")
	}
	if _, err := NewDeviceFromKey(other, dev.Key, dev.Cert, time.Now()); err == nil {
		t.Error("device certificate accepted as issuer")
	}
}
