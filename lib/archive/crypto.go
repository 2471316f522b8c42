package archive

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Password encryption, account.md §2.4 (OpenDHT stretchKey + aesEncrypt):
//
//	file = salt(16) || nonce(12) || AES-256-GCM(key, zlib(JSON)) || tag(16)
//	key  = SHA-256(Argon2i(password, salt, t=16, m=64 MiB, p=1, 32 bytes))
const (
	SaltSize  = 16
	NonceSize = 12
	TagSize   = 16

	argonTime    = 16
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 1
	argonOutLen  = 32
)

// Key is the 32-byte AES key an archive is encrypted with. It is what HEAD
// jamid calls the "key" scheme (base64 of these bytes), and what a password
// turns into after the (slow, ~1 s, 64 MiB) Argon2 derivation: derive once
// with DeriveKey, then DecodeWithKey/EncodeWithKey as often as needed.
type Key [32]byte

// DeriveKey stretches a password with the archive's salt.
func DeriveKey(password string, salt []byte) Key {
	return Key(sha256.Sum256(argon2Raw(password, salt)))
}

// argon2Raw is the Argon2i output before the final hash; the test vectors of
// account.md give it separately.
func argon2Raw(password string, salt []byte) []byte {
	// golang.org/x/crypto/argon2.Key is Argon2i, version 0x13, as OpenDHT uses.
	return argon2.Key([]byte(password), salt, argonTime, argonMemory, argonThreads, argonOutLen)
}

// ParseKey reads a key as HEAD jamid's "key" scheme passes it: standard
// base64 of the 32 bytes. 64 hex digits are accepted too.
func ParseKey(s string) (Key, error) {
	var k Key
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == len(k) {
		copy(k[:], b)
		return k, nil
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == len(k) {
		copy(k[:], b)
		return k, nil
	}
	return k, fmt.Errorf("not an archive key (base64 or hex of 32 bytes)")
}

// String is the "key" scheme form: standard base64.
func (k Key) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// NewSalt returns 16 fresh random bytes (2023 jamid draws a new salt at every save).
func NewSalt() []byte {
	s := make([]byte, SaltSize)
	if _, err := rand.Read(s); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return s
}

// minEncrypted is the smallest possible encrypted archive: salt, nonce, tag
// and at least one byte of ciphertext (OpenDHT calls anything shorter "Wrong
// data size").
const minEncrypted = SaltSize + NonceSize + TagSize + 1

// seal encrypts the (compressed) plaintext into the file layout.
func seal(key Key, salt, plain []byte) ([]byte, error) {
	if len(salt) != SaltSize {
		return nil, fmt.Errorf("salt must be %d bytes, got %d", SaltSize, len(salt))
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, SaltSize+NonceSize+len(plain)+TagSize)
	out = append(out, salt...)
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return gcm.Seal(out, nonce, plain, nil), nil
}

// open decrypts the file layout; ok is false when the tag does not verify
// (wrong key, or tampered/truncated data: AES-GCM cannot tell them apart).
// legacy reports that the tag only verified the way OpenDHT before 2.x
// computed it (see openLegacy).
func open(key Key, data []byte) (plain []byte, legacy, ok bool) {
	if len(data) < minEncrypted {
		return nil, false, false
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, false, false
	}
	nonce := data[SaltSize : SaltSize+NonceSize]
	body := data[SaltSize+NonceSize:]
	if pt, err := gcm.Open(nil, nonce, body, nil); err == nil {
		return pt, false, true
	}
	if pt, ok := openLegacy(key, gcm, nonce, body); ok {
		return pt, true, true
	}
	return nil, false, false
}

// openLegacy implements OpenDHT 2.4.12's fallback for archives written by an
// old OpenDHT that passed the plaintext as GCM additional data: decrypt with
// the GCM keystream (AES-CTR from counter 2 for a 12-byte nonce), then accept
// the result only if sealing it with itself as AAD reproduces the stored tag.
func openLegacy(key Key, gcm cipher.AEAD, nonce, body []byte) ([]byte, bool) {
	ct, tag := body[:len(body)-TagSize], body[len(body)-TagSize:]
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, false
	}
	iv := make([]byte, aes.BlockSize)
	copy(iv, nonce)
	iv[15] = 2
	pt := make([]byte, len(ct))
	cipher.NewCTR(block, iv).XORKeyStream(pt, ct)
	want := gcm.Seal(nil, nonce, pt, pt)
	if subtle.ConstantTimeCompare(want[len(pt):], tag) != 1 {
		return nil, false
	}
	return pt, true
}

func newGCM(key Key) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
