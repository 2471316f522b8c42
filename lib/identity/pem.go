package identity

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// Keys and certificates are written as GnuTLS writes them: unencrypted PKCS#8
// "PRIVATE KEY" and "CERTIFICATE" PEM blocks with 64-column lines and a trailing
// newline. Readers accept PEM or DER, as jamid does (account.md §2.2.1).

// EncodeKeyPEM returns the PKCS#8 PEM of an RSA private key.
func EncodeKeyPEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err) // cannot fail for a valid RSA key
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// EncodeCertsPEM concatenates certificates as PEM, in the given order.
func EncodeCertsPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// ParsePrivateKey reads an RSA private key from PEM (PKCS#8 or PKCS#1) or DER.
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	der := data
	if blk, _ := pem.Decode(data); blk != nil {
		if blk.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("private key is encrypted")
		}
		der = blk.Bytes
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private key is %T, not RSA", k)
		}
		return rk, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not an RSA private key (PEM or DER)")
}

// ParseCertificates reads one or more certificates: concatenated PEM blocks,
// or DER (one certificate, or several back to back). Order is kept.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	sawPEM := false
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		sawPEM = true
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if !sawPEM {
		cs, err := x509.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("not a certificate (PEM or DER): %w", err)
		}
		certs = cs
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate found")
	}
	return certs, nil
}
