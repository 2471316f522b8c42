package secure

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/identity"
)

// FuzzParseCertificateData feeds certificate value data (the only new
// decoding here; values, signatures and cyphers are fuzzed in
// lib/dht/value) and checks it never panics and agrees with the store
// policy's key id on what it accepts.
func FuzzParseCertificateData(f *testing.F) {
	f.Add(CertificateData(testIdentity(f, "alice").Chain))
	f.Add([]byte{0xc4, 0x03, '-', '-', '-'})
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		chain, err := ParseCertificateData(data)
		if err != nil {
			return
		}
		if len(chain) == 0 {
			t.Fatal("no error and no certificate")
		}
		if _, ok := value.CertificateKeyID(data); !ok {
			t.Fatal("parsed a certificate whose key id the store policy cannot read")
		}
	})
}

// FuzzDecryptPKCS8 feeds encrypted key files (what --privkey reads);
// seeds are small-iteration PBES2 structures so that mutations stay fast.
func FuzzDecryptPKCS8(f *testing.F) {
	keyPEM, err := os.ReadFile(filepath.Join("testdata", "dhtnode-enc.pem"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(keyPEM, "pw")
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n"), "")
	f.Add(identity.EncodeKeyPEM(testKey(f, "bob")), "")
	f.Fuzz(func(t *testing.T, data []byte, pw string) {
		if blk, _ := pem.Decode(data); blk != nil && bytes.Contains(blk.Bytes, []byte{0x02, 0x03, 0x09, 0x27, 0xc0}) {
			// The fixture's 600000 PBKDF2 rounds: valid but slow; its
			// decoding is covered by TestParseKeyEncrypted.
			return
		}
		k, err := ParseKey(data, &pw)
		if err == nil && k == nil {
			t.Fatal("no key and no error")
		}
	})
}
