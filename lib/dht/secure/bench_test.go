package secure

import (
	"testing"

	"github.com/jamikit/jamikit/lib/dht/value"
)

// Benchmarks of the RSA-4096 work on values (tests/bench/bench-secure.sh
// compares them with `openssl speed rsa4096`). The value is a typical
// small one: 64 bytes of text/plain data.

func benchValue(b *testing.B) (*value.Value, *Identity, *Identity) {
	b.Helper()
	alice, bob := &Identity{Key: testKey(b, "alice")}, &Identity{Key: testKey(b, "bob")}
	v := &value.Value{ID: 42, Data: make([]byte, 64), UserType: "text/plain"}
	if err := v.Sign(alice.Key); err != nil {
		b.Fatal(err)
	}
	return v, alice, bob
}

// BenchmarkSign: canonical packing, SHA-512 and one RSA private-key op.
func BenchmarkSign(b *testing.B) {
	v, alice, _ := benchValue(b)
	for b.Loop() {
		if err := v.Sign(alice.Key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify: what every node does on each signed value it stores,
// and a client on each it gets (one RSA public-key op).
func BenchmarkVerify(b *testing.B) {
	v, _, _ := benchValue(b)
	for b.Loop() {
		if err := v.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncrypt: sealing a signed value for a recipient (RSA
// public-key op wrapping an AES key, AES-GCM). putEncrypted costs this
// plus a Sign.
func BenchmarkEncrypt(b *testing.B) {
	v, _, bob := benchValue(b)
	pt := v.PackToEncrypt()
	for b.Loop() {
		if _, err := value.EncryptFor(&bob.Key.PublicKey, pt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecrypt: what a recipient does per encrypted value (RSA
// private-key op, AES-GCM, then the inner signature's public-key op).
func BenchmarkDecrypt(b *testing.B) {
	v, alice, bob := benchValue(b)
	enc, err := v.Encrypt(alice.Key, &bob.Key.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := enc.Decrypt(bob.Key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutEncryptedValue: Value.Encrypt, sign then seal (the CPU cost
// of one putEncrypted).
func BenchmarkPutEncryptedValue(b *testing.B) {
	v, alice, bob := benchValue(b)
	for b.Loop() {
		if _, err := v.Encrypt(alice.Key, &bob.Key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}
