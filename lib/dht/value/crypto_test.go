package value

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/netip"
	"testing"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

func dhtnodeKeyB(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	blk, _ := pem.Decode(readFixture(t, "dhtnode-idB.key"))
	if blk == nil {
		t.Fatal("no PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

const (
	pkidA = "5856e03027e5f8af7757130d35783f8bba2a3f30"
	pkidB = "357c25be971d3fd2cf272de53e88f57c9212db90"
)

// Values written by the real dhtnode: each must round-trip byte for byte.
func TestDhtnodeValues(t *testing.T) {
	for _, name := range []string{"dhtnode-signed.bin", "dhtnode-plain.bin", "dhtnode-certificate.bin", "dhtnode-encrypted.bin"} {
		raw := readFixture(t, name)
		v, err := Unpack(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(v.Pack(), raw) {
			t.Fatalf("%s: Pack differs", name)
		}
	}

	s, _ := Unpack(readFixture(t, "dhtnode-signed.bin"))
	if err := s.Verify(); err != nil {
		t.Fatal(err)
	}
	if s.OwnerID().String() != pkidA || string(s.Data) != "hello_signed" || s.UserType != "text/plain" || s.Seq != 0 || s.Recipient != nil {
		t.Fatalf("signed: %+v", s)
	}

	p, _ := Unpack(readFixture(t, "dhtnode-plain.bin"))
	if p.ID != 0x40eab2972ae70b01 || string(p.Data) != "hello_plain" || p.UserType != "text/plain" {
		t.Fatalf("plain: %+v", p)
	}

	c, _ := Unpack(readFixture(t, "dhtnode-certificate.bin"))
	if c.ID != 1 || c.Type != TypeCertificate || !bytes.HasPrefix(c.Data, unhex(t, `c5 08`)) {
		t.Fatalf("certificate: id %d type %d data % x", c.ID, c.Type, c.Data[:8])
	}
	b, _ := wire.ParseInfoHash(pkidB)
	if id, ok := CertificateKeyID(c.Data); !ok || id != b {
		t.Fatalf("certificate key id %v %v", id, ok)
	}
	if _, ok := Certificate.AllowStore(b, c, netip.MustParseAddrPort("127.0.0.1:1")); !ok {
		t.Fatal("store policy refuses the real certificate")
	}
}

// The encrypted value dhtnode A sent to B: decrypt with B's key, check the
// layout of §5.4 and that our canonical packing equals the sealed bytes.
func TestDecryptDhtnodeValue(t *testing.T) {
	e, err := Unpack(readFixture(t, "dhtnode-encrypted.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !e.IsEncrypted() || e.ID != 0x1c4dba969f85401c {
		t.Fatalf("%+v", e)
	}
	key := dhtnodeKeyB(t)
	pt, err := DecryptWith(key, e.Cypher)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Cypher) != 512+12+len(pt)+16 {
		t.Fatalf("cypher %d bytes for %d of plaintext", len(e.Cypher), len(pt))
	}
	v, err := e.Decrypt(key)
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != e.ID || string(v.Data) != "hello_encrypted" || v.OwnerID().String() != pkidA || v.Recipient == nil || v.Recipient.String() != pkidB {
		t.Fatalf("%+v", v)
	}
	if !bytes.Equal(v.PackToEncrypt(), pt) {
		t.Fatal("our {body, sig} packing differs from what OpenDHT sealed")
	}
	// The body key order with a recipient: seq, owner, to, type, data, utype.
	if !bytes.HasPrefix(pt, unhex(t, `82 a4 "body" 86 a3 "seq" 00 a5 "owner" c5 02 26`)) {
		t.Fatalf("plaintext starts % x", pt[:16])
	}
	// Someone else's key cannot open it.
	if _, err := e.Decrypt(fixtureKey(t)); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestEncryptRoundTrip(t *testing.T) {
	from, to := fixtureKey(t), dhtnodeKeyB(t)
	v := &Value{ID: 42, Type: TypeTrustRequest, Data: []byte("payload"), UserType: "u"}
	e, err := v.Encrypt(from, &to.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != 42 || !e.IsEncrypted() || e.Type != 0 || e.Owner != nil {
		t.Fatalf("%+v", e)
	}
	if v.Recipient == nil || v.Recipient.String() != pkidB || !v.IsSigned() {
		t.Fatal("Encrypt must leave v signed with the recipient set")
	}
	packed := e.Pack()
	if !bytes.HasPrefix(packed, unhex(t, `82 a2 "id" 2a a3 "dat" c5 06`)) {
		t.Fatalf("packed % x", packed[:12])
	}
	back, err := Unpack(packed)
	if err != nil {
		t.Fatal(err)
	}
	d, err := back.Decrypt(to)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.Data, v.Data) || d.Type != v.Type || d.UserType != "u" || !bytes.Equal(d.Signature, v.Signature) {
		t.Fatalf("%+v", d)
	}
	if _, err := e.Encrypt(from, &to.PublicKey); !errors.Is(err, ErrEncrypted) {
		t.Fatal("encrypting twice")
	}
}

func TestDecryptRejects(t *testing.T) {
	from, to := fixtureKey(t), dhtnodeKeyB(t)
	// Signed for another recipient, sealed for B.
	other := wire.InfoHashOf([]byte("other"))
	v := &Value{ID: 1, Data: []byte("x"), Recipient: &other}
	if err := v.Sign(from); err != nil {
		t.Fatal(err)
	}
	c, err := EncryptFor(&to.PublicKey, v.PackToEncrypt())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Value{ID: 1, Cypher: c}).Decrypt(to); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("recipient mismatch: %v", err)
	}
	// Right recipient, broken signature.
	self := wire.InfoHashOf(mustSPKI(t, &to.PublicKey))
	v.Recipient = &self
	v.Seq = 1 // after signing: the signature no longer matches
	c, _ = EncryptFor(&to.PublicKey, v.PackToEncrypt())
	if _, err := (&Value{ID: 1, Cypher: c}).Decrypt(to); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("bad signature: %v", err)
	}
	// Unsigned inner value.
	c, _ = EncryptFor(&to.PublicKey, (&Value{ID: 1, Data: make([]byte, 600)}).PackToEncrypt())
	if _, err := (&Value{ID: 1, Cypher: c}).Decrypt(to); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("unsigned inner: %v", err)
	}
	// Truncated and tampered cyphers.
	good, _ := EncryptFor(&to.PublicKey, make([]byte, 1000))
	for _, bad := range [][]byte{good[:100], good[:512+20], append(append([]byte{}, good[:len(good)-1]...), good[len(good)-1]^1)} {
		if _, err := DecryptWith(to, bad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("bad cypher of %d bytes: %v", len(bad), err)
		}
	}
}

func mustSPKI(t testing.TB, k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSmallPlaintextIsPlainRSA(t *testing.T) {
	to := dhtnodeKeyB(t)
	msg := make([]byte, 512-11)
	c, err := EncryptFor(&to.PublicKey, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 512 {
		t.Fatalf("%d bytes", len(c))
	}
	pt, err := DecryptWith(to, c)
	if err != nil || !bytes.Equal(pt, msg) {
		t.Fatal(err)
	}
	c, _ = EncryptFor(&to.PublicKey, make([]byte, 512-10))
	if len(c) != 512+12+502+16 {
		t.Fatalf("one byte over the block: %d", len(c))
	}
}

// The tag of OpenDHT's old encryptor also covered the plaintext as
// associated data; 2.4.12 still opens such cyphers, and so must we.
func TestLegacyTag(t *testing.T) {
	to := dhtnodeKeyB(t)
	aesKey := make([]byte, 32)
	iv := make([]byte, 12)
	rand.Read(aesKey)
	rand.Read(iv)
	pt := []byte("legacy plaintext, longer than one AES block")
	blk, _ := aes.NewCipher(aesKey)
	gcm, _ := cipher.NewGCM(blk)
	sealed := gcm.Seal(nil, iv, pt, pt) // ciphertext is the same, tag differs
	wrapped, err := rsa.EncryptPKCS1v15(rand.Reader, &to.PublicKey, aesKey)
	if err != nil {
		t.Fatal(err)
	}
	c := append(append(wrapped, iv...), sealed...)
	got, err := DecryptWith(to, c)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("%v %q", err, got)
	}
}

func TestValueString(t *testing.T) {
	s, _ := Unpack(readFixture(t, "dhtnode-signed.bin"))
	if got := s.String(); got != `Value[id:191226afa21a3a86 signed (v0) data(text/plain):"hello_signed"]` {
		t.Errorf("%s", got)
	}
	e, _ := Unpack(readFixture(t, "dhtnode-encrypted.bin"))
	if got := e.String(); got != `Value[id:1c4dba969f85401c encrypted ]` {
		t.Errorf("%s", got)
	}
	d, _ := e.Decrypt(dhtnodeKeyB(t))
	if got := d.String(); got != `Value[id:1c4dba969f85401c signed (v0) decrypted data(text/plain):"hello_encrypted"]` {
		t.Errorf("%s", got)
	}
	c, _ := Unpack(readFixture(t, "dhtnode-certificate.bin"))
	if got := c.String(); got != `Value[id:1 Certificate]` {
		t.Errorf("%s", got)
	}
	ip := &Value{ID: 2, Type: TypeIPService, Data: msgp.AppendBin(nil, sockaddrBytes(netip.MustParseAddrPort("10.0.0.1:80")))}
	if got := ip.String(); got != `Value[id:2 Peer: port 80 addr 10.0.0.1]` {
		t.Errorf("%s", got)
	}
	if got := (&Value{ID: 255, Data: []byte{1, 0xab}}).String(); got != `Value[id:ff data:01ab]` {
		t.Errorf("%s", got)
	}
}
