package secure

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht/wire"
	"github.com/jamikit/jamikit/lib/identity"
)

// TestNodeID checks the node id derivation against Debian's dhtnode -i:
// it printed "OpenDHT node 4d15f34b…" and "Public key ID f8d6f8bc…".
func TestNodeID(t *testing.T) {
	pk, _ := wire.ParseInfoHash("f8d6f8bcce0adfa40103511c044301892453626a")
	want := "4d15f34b04d6e47cb7f3caef76b6d6d79d8dfec3"
	if got := wire.InfoHashOf([]byte("node:" + pk.String())).String(); got != want {
		t.Fatalf("node id %s, want %s", got, want)
	}
	id := &Identity{Key: testKey(t, "alice")}
	if id.NodeID() != wire.InfoHashOf([]byte("node:"+id.PublicKeyID().String())) {
		t.Fatal("NodeID does not follow the derivation")
	}
}

func TestNodeIdentityProfile(t *testing.T) {
	now := time.Now()
	ni, err := NodeIdentityFromKey("", testKey(t, "alice"), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := ni.Validate(); err != nil {
		t.Fatal(err)
	}
	node, ca := ni.Chain[0], ni.Chain[1]
	if err := node.CheckSignatureFrom(ca); err != nil {
		t.Fatalf("node certificate not signed by the CA: %v", err)
	}
	if node.SignatureAlgorithm != x509.ECDSAWithSHA384 || ca.SignatureAlgorithm != x509.ECDSAWithSHA384 {
		t.Errorf("signature algorithms %v %v", node.SignatureAlgorithm, ca.SignatureAlgorithm)
	}
	if pub, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P384() {
		t.Errorf("CA key %T, want EC P-384", ca.PublicKey)
	}
	if !ca.IsCA || ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign || node.IsCA {
		t.Errorf("CA flags: isCA %v usage %v, node isCA %v", ca.IsCA, ca.KeyUsage, node.IsCA)
	}
	if node.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageDataEncipherment {
		t.Errorf("node key usage %v", node.KeyUsage)
	}
	pk := ni.PublicKeyID()
	if node.Subject.CommonName != "DHT Node" || ca.Subject.CommonName != "DHT Node CA" {
		t.Errorf("names %q %q", node.Subject.CommonName, ca.Subject.CommonName)
	}
	if uid := identity.NameUID(node.RawSubject); uid != pk.String() {
		t.Errorf("node UID %q, want %s", uid, pk)
	}
	if !bytes.Equal(node.SubjectKeyId, pk[:]) {
		t.Errorf("node SKI %x", node.SubjectKeyId)
	}
	if d := node.NotAfter.Sub(node.NotBefore); d != NodeValidity {
		t.Errorf("validity %v", d)
	}
	if node.Version != 3 || node.SerialNumber.Sign() <= 0 {
		t.Errorf("version %d serial %v", node.Version, node.SerialNumber)
	}
}

// TestParseKeyEncrypted opens a key file Debian's dhtnode wrote with
// "-i --save-identity enc --privkey-password pw" (PBES2, PBKDF2-SHA256
// 600000 rounds, AES-256-CBC).
func TestParseKeyEncrypted(t *testing.T) {
	keyPEM, err := os.ReadFile(filepath.Join("testdata", "dhtnode-enc.pem"))
	if err != nil {
		t.Fatal(err)
	}
	crt, err := os.ReadFile(filepath.Join("testdata", "dhtnode-enc.crt"))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := identity.ParseCertificates(crt)
	if err != nil {
		t.Fatal(err)
	}
	if !KeyEncrypted(keyPEM) {
		t.Fatal("not seen as encrypted")
	}
	if _, err := ParseKey(keyPEM, nil); err == nil {
		t.Fatal("no password: no error")
	}
	wrong := "wrong"
	if _, err := ParseKey(keyPEM, &wrong); !errors.Is(err, ErrKeyPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	pw := "pw"
	k, err := ParseKey(keyPEM, &pw)
	if err != nil {
		t.Fatal(err)
	}
	if !identity.KeyMatches(k, chain[0]) {
		t.Fatal("decrypted key does not match the certificate")
	}
	// Plain keys go through as they are.
	plain := identity.EncodeKeyPEM(k)
	if KeyEncrypted(plain) {
		t.Fatal("plain key seen as encrypted")
	}
	if k2, err := ParseKey(plain, nil); err != nil || !k2.Equal(k) {
		t.Fatal(err)
	}
	_ = hex.EncodeToString
}

func TestEncodeKeyFile(t *testing.T) {
	k := testKey(t, "bob")
	plain, err := EncodeKeyFile(k, nil)
	if err != nil || KeyEncrypted(plain) {
		t.Fatalf("plain: %v", err)
	}
	// Few rounds for the round trip; EncodeKeyFile's own count once.
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := EncryptPKCS8(der, []byte("pässword"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecryptPKCS8(enc, []byte("pässword"))
	if err != nil || !bytes.Equal(got, der) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := DecryptPKCS8(enc, []byte("password")); !errors.Is(err, ErrKeyPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	pw := "pw"
	file, err := EncodeKeyFile(k, &pw)
	if err != nil || !KeyEncrypted(file) {
		t.Fatalf("encrypted: %v", err)
	}
	k2, err := ParseKey(file, &pw)
	if err != nil || !k2.Equal(k) {
		t.Fatalf("parse: %v", err)
	}
}
