package secure

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"

	"github.com/jamikit/jamikit/lib/identity"
)

// ErrKeyPassword reports a wrong password for an encrypted key file (or a
// corrupted one: PKCS#8 cannot tell them apart).
var ErrKeyPassword = errors.New("wrong password or corrupted private key")

// maxPBKDF2Iterations bounds the work a hostile key file can ask for
// (OpenDHT/gnutls writes 600000).
const maxPBKDF2Iterations = 10_000_000

// KeyEncrypted reports a PEM "ENCRYPTED PRIVATE KEY" (PKCS#8 PBES2), the
// form OpenDHT writes a key file in when given a password.
func KeyEncrypted(data []byte) bool {
	blk, _ := pem.Decode(data)
	return blk != nil && blk.Type == "ENCRYPTED PRIVATE KEY"
}

// ParseKey reads an RSA private key file: PKCS#8 or PKCS#1, PEM or DER, or
// an encrypted PKCS#8 PEM (PBES2 with PBKDF2 and AES-CBC, what gnutls
// writes for OpenDHT) opened with password.
func ParseKey(data []byte, password *string) (*rsa.PrivateKey, error) {
	if !KeyEncrypted(data) {
		return identity.ParsePrivateKey(data)
	}
	if password == nil {
		return nil, errors.New("private key is encrypted")
	}
	blk, _ := pem.Decode(data)
	der, err := DecryptPKCS8(blk.Bytes, []byte(*password))
	if err != nil {
		return nil, err
	}
	return identity.ParsePrivateKey(der)
}

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

type encryptedPKCS8 struct {
	Algo          algorithmIdentifier
	EncryptedData []byte
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type pbes2Params struct {
	KDF    algorithmIdentifier
	Scheme algorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                 `asn1:"optional"`
	PRF        algorithmIdentifier `asn1:"optional"`
}

// DecryptPKCS8 opens an EncryptedPrivateKeyInfo (RFC 5958) protected with
// PBES2 (RFC 8018): PBKDF2 with HMAC-SHA1/256/384/512, AES-128/192/256-CBC.
// It returns the PKCS#8 PrivateKeyInfo DER.
func DecryptPKCS8(der, password []byte) ([]byte, error) {
	var epki encryptedPKCS8
	if rest, err := asn1.Unmarshal(der, &epki); err != nil || len(rest) != 0 {
		return nil, errors.New("not an encrypted PKCS#8 key")
	}
	if !epki.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("unsupported key encryption %v (want PBES2)", epki.Algo.Algorithm)
	}
	var p pbes2Params
	if _, err := asn1.Unmarshal(epki.Algo.Parameters.FullBytes, &p); err != nil {
		return nil, errors.New("bad PBES2 parameters")
	}
	if !p.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("unsupported key derivation %v (want PBKDF2)", p.KDF.Algorithm)
	}
	var kp pbkdf2Params
	if _, err := asn1.Unmarshal(p.KDF.Parameters.FullBytes, &kp); err != nil {
		return nil, errors.New("bad PBKDF2 parameters")
	}
	if kp.Iterations < 1 || kp.Iterations > maxPBKDF2Iterations {
		return nil, fmt.Errorf("PBKDF2 iteration count %d out of range", kp.Iterations)
	}
	var prf func() hash.Hash
	switch alg := kp.PRF.Algorithm; {
	case len(alg) == 0 || alg.Equal(oidHMACSHA1):
		prf = sha1.New
	case alg.Equal(oidHMACSHA256):
		prf = sha256.New
	case alg.Equal(oidHMACSHA384):
		prf = sha512.New384
	case alg.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, fmt.Errorf("unsupported PBKDF2 PRF %v", alg)
	}
	var keyLen int
	switch alg := p.Scheme.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen = 16
	case alg.Equal(oidAES192CBC):
		keyLen = 24
	case alg.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, fmt.Errorf("unsupported key cipher %v", alg)
	}
	if kp.KeyLength != 0 && kp.KeyLength != keyLen {
		return nil, errors.New("PBKDF2 key length does not match the cipher")
	}
	var iv []byte
	if _, err := asn1.Unmarshal(p.Scheme.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return nil, errors.New("bad AES-CBC IV")
	}
	ct := epki.EncryptedData
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, ErrKeyPassword
	}
	key, err := pbkdf2.Key(prf, string(password), kp.Salt, kp.Iterations, keyLen)
	if err != nil {
		return nil, err
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(blk, iv).CryptBlocks(pt, ct)
	// PKCS#7 padding; a wrong password shows up here (or in the parse).
	n := int(pt[len(pt)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, ErrKeyPassword
	}
	for _, b := range pt[len(pt)-n:] {
		if int(b) != n {
			return nil, ErrKeyPassword
		}
	}
	pt = pt[:len(pt)-n]
	if _, err := x509.ParsePKCS8PrivateKey(pt); err != nil {
		return nil, ErrKeyPassword
	}
	return pt, nil
}

// KeyFilePBKDF2Iterations is the PBKDF2 count gnutls writes for OpenDHT's
// key files (seen in `dhtnode -i --save-identity P --privkey-password W`).
const KeyFilePBKDF2Iterations = 600000

// EncodeKeyFile is a private key (RSA or EC) as OpenDHT saves it: PKCS#8
// PEM, or, with a password, an encrypted PKCS#8 PEM (PBES2, PBKDF2 with
// HMAC-SHA256, AES-256-CBC) that gnutls, and so OpenDHT, reads.
func EncodeKeyFile(key any, password *string) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if password == nil {
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	enc, err := EncryptPKCS8(der, []byte(*password), KeyFilePBKDF2Iterations)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc}), nil
}

// EncryptPKCS8 wraps a PKCS#8 PrivateKeyInfo DER into an
// EncryptedPrivateKeyInfo: PBES2 with PBKDF2-HMAC-SHA256 (random 16-byte
// salt) and AES-256-CBC (random IV), what DecryptPKCS8 opens.
func EncryptPKCS8(der, password []byte, iterations int) ([]byte, error) {
	salt := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	key, err := pbkdf2.Key(sha256.New, string(password), salt, iterations, 32)
	if err != nil {
		return nil, err
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	n := aes.BlockSize - len(der)%aes.BlockSize
	pt := append(append([]byte{}, der...), bytes.Repeat([]byte{byte(n)}, n)...)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(blk, iv).CryptBlocks(ct, pt)

	raw := func(v any) (asn1.RawValue, error) {
		b, err := asn1.Marshal(v)
		return asn1.RawValue{FullBytes: b}, err
	}
	kdfParams, err := raw(pbkdf2Params{Salt: salt, Iterations: iterations,
		PRF: algorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}})
	if err != nil {
		return nil, err
	}
	ivParam, err := raw(iv)
	if err != nil {
		return nil, err
	}
	params, err := raw(pbes2Params{
		KDF:    algorithmIdentifier{Algorithm: oidPBKDF2, Parameters: kdfParams},
		Scheme: algorithmIdentifier{Algorithm: oidAES256CBC, Parameters: ivParam},
	})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(encryptedPKCS8{Algo: algorithmIdentifier{Algorithm: oidPBES2, Parameters: params}, EncryptedData: ct})
}

// EncodeECKeyPEM is an EC private key as PKCS#8 PEM, the form OpenDHT
// saves its CA key in.
func EncodeECKeyPEM(k *ecdsa.PrivateKey) ([]byte, error) { return EncodeKeyFile(k, nil) }
