package identity

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseCertificates feeds arbitrary bytes to the certificate, name and
// CRL readers and to the checks run on what they return: none may panic.
func FuzzParseCertificates(f *testing.F) {
	pemChain, err := os.ReadFile(filepath.Join("testdata", "jamid-ring_device.crt"))
	if err != nil {
		f.Fatal(err)
	}
	chain, err := ParseCertificates(pemChain)
	if err != nil {
		f.Fatal(err)
	}
	// A CRL written by RevokeCRL once (no key operations here: under the
	// fuzzer's instrumentation RSA-4096 signing takes seconds).
	crl, err := os.ReadFile(filepath.Join("testdata", "revoked.crl"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pemChain)
	f.Add(chain[0].Raw)
	f.Add(append(append([]byte{}, chain[0].Raw...), chain[1].Raw...))
	f.Add(chain[1].RawSubject)
	f.Add(crl)
	f.Add(EncodeCRLPEM(crl))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		if certs, err := ParseCertificates(data); err == nil {
			now := time.Now()
			_ = VerifyDeviceChainAt(certs, now)
			_ = VerifyChainAt(certs, now)
			for _, c := range certs {
				_ = ProfileIssues(c, RoleOf(c))
				_ = NameUID(c.RawIssuer)
				_ = SerialString(c.SerialNumber)
			}
		}
		if c, err := ParseCRL(data); err == nil {
			_ = CRLIssuedBy(c, chain[1])
			_ = IsRevoked(c, chain[0])
		}
		_, _ = ParseName(data)
		_ = NameUID(data)
		if len(data) == EthKeySize {
			_, _ = EthAddress(data)
		}
	})
}

// FuzzParsePrivateKey: the key reader never panics, and what it accepts is
// a usable RSA key.
func FuzzParsePrivateKey(f *testing.F) {
	key, err := os.ReadFile(filepath.Join("testdata", "device.key"))
	if err != nil {
		f.Fatal(err)
	}
	k, err := ParsePrivateKey(key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(key)
	f.Add(EncodeKeyPEM(k)[:200])
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"))
	f.Add([]byte{0x30, 0x82, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePrivateKey(data)
		if err != nil {
			return
		}
		if _, err := ShortIDOf(&k.PublicKey); err != nil {
			t.Fatalf("accepted key has no SPKI: %v", err)
		}
	})
}
