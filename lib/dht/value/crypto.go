package value

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/dht/wire"
)

// ErrDecrypt reports a cypher that cannot be opened with the key, or whose
// content is not a value signed for that key's owner.
var ErrDecrypt = errors.New("cannot decrypt value")

const (
	gcmIVSize  = 12
	gcmTagSize = 16
)

// EncryptFor seals plaintext for an RSA public key the way OpenDHT 2.4.12
// does (PublicKey::encrypt): RSAES-PKCS1-v1_5 alone when the plaintext fits
// in one block (k−11 bytes), else RSAES-PKCS1-v1_5(random AES key) ‖ IV(12)
// ‖ AES-GCM ciphertext ‖ tag(16), with the largest AES key size (16, 24, 32)
// that fits in a block, no associated data.
func EncryptFor(to *rsa.PublicKey, plaintext []byte) ([]byte, error) {
	k := to.Size()
	maxBlock := k - 11
	if len(plaintext) <= maxBlock {
		return rsa.EncryptPKCS1v15(rand.Reader, to, plaintext)
	}
	keySize := 0
	for _, s := range []int{16, 24, 32} {
		if s <= maxBlock {
			keySize = s
		}
	}
	if keySize == 0 {
		return nil, errors.New("RSA key too short for AES-128")
	}
	aesKey := make([]byte, keySize)
	if _, err := rand.Read(aesKey); err != nil {
		return nil, err
	}
	wrapped, err := rsa.EncryptPKCS1v15(rand.Reader, to, aesKey)
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(aesKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(wrapped)+gcmIVSize+len(plaintext)+gcmTagSize)
	out = append(out, wrapped...)
	iv := make([]byte, gcmIVSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	out = append(out, iv...)
	return gcm.Seal(out, iv, plaintext, nil), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

// DecryptWith opens what EncryptFor made (PrivateKey::decrypt): a cypher of
// exactly one RSA block is plain RSA; a longer one is an RSA-wrapped AES key
// followed by IV ‖ ciphertext ‖ tag. Like 2.4.12, a tag made by OpenDHT's
// old buggy encryptor (plaintext fed as associated data) is accepted too.
func DecryptWith(key *rsa.PrivateKey, cypher []byte) ([]byte, error) {
	k := key.Size()
	switch {
	case len(cypher) < k:
		return nil, fmt.Errorf("%w: cypher shorter than an RSA block", ErrDecrypt)
	case len(cypher) == k:
		pt, err := rsa.DecryptPKCS1v15(nil, key, cypher)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
		}
		return pt, nil
	}
	aesKey, err := rsa.DecryptPKCS1v15(nil, key, cypher[:k])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return aesDecrypt(aesKey, cypher[k:])
}

func aesDecrypt(key, data []byte) ([]byte, error) {
	if len(key) != 16 && len(key) != 24 && len(key) != 32 {
		return nil, fmt.Errorf("%w: wrong key size", ErrDecrypt)
	}
	if len(data) <= gcmIVSize+gcmTagSize {
		return nil, fmt.Errorf("%w: wrong data size", ErrDecrypt)
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	iv, body := data[:gcmIVSize], data[gcmIVSize:]
	if pt, err := gcm.Open(nil, iv, body, nil); err == nil {
		return pt, nil
	}
	// Legacy form: same ciphertext, but the tag also covers the plaintext
	// as associated data. GCM encrypts in CTR mode from counter 2 (for a
	// 12-byte IV), so the plaintext is recoverable without the tag.
	ct, tag := body[:len(body)-gcmTagSize], body[len(body)-gcmTagSize:]
	blk, _ := aes.NewCipher(key)
	ctr := make([]byte, aes.BlockSize)
	copy(ctr, iv)
	ctr[15] = 2
	pt := make([]byte, len(ct))
	cipher.NewCTR(blk, ctr).XORKeyStream(pt, ct)
	legacy := gcm.Seal(nil, iv, pt, pt)
	if subtle.ConstantTimeCompare(legacy[len(legacy)-gcmTagSize:], tag) != 1 {
		return nil, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	return pt, nil
}

// Encrypt is Value::encrypt: it sets v's recipient to the public key id of
// to, signs v with from, and returns the encrypted value {ID, Cypher} whose
// cypher seals PackToEncrypt() ({"body", "sig"}). v itself is left signed.
func (v *Value) Encrypt(from *rsa.PrivateKey, to *rsa.PublicKey) (*Value, error) {
	if v.IsEncrypted() {
		return nil, ErrEncrypted
	}
	der, err := x509.MarshalPKIXPublicKey(to)
	if err != nil {
		return nil, err
	}
	r := wire.InfoHashOf(der)
	v.Recipient = &r
	if err := v.Sign(from); err != nil {
		return nil, err
	}
	c, err := EncryptFor(to, v.PackToEncrypt())
	if err != nil {
		return nil, err
	}
	return &Value{ID: v.ID, Cypher: c}, nil
}

// Decrypt is Value::decrypt: it opens the cypher with key, parses the inner
// {"body", "sig"}, and requires the recipient to be key's public key id and
// the inner signature to verify. The result carries v's id.
func (v *Value) Decrypt(key *rsa.PrivateKey) (*Value, error) {
	if !v.IsEncrypted() {
		return nil, fmt.Errorf("%w: value is not encrypted", ErrDecrypt)
	}
	pt, err := DecryptWith(key, v.Cypher)
	if err != nil {
		return nil, err
	}
	nv, err := UnpackDat(v.ID, pt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	self := wire.InfoHashOf(der)
	if nv.Recipient == nil || *nv.Recipient != self {
		// Also covers a zero recipient: 2.4.12 compares with its own id.
		return nil, fmt.Errorf("%w: recipient mismatch", ErrDecrypt)
	}
	if nv.Verify() != nil {
		return nil, fmt.Errorf("%w: signature mismatch", ErrDecrypt)
	}
	return nv, nil
}
