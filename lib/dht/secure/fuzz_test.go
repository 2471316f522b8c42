package secure

import (
	"testing"

	"github.com/jamikit/jamikit/lib/dht/value"
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
