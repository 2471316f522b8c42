package main

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/identity"
	ucli "github.com/urfave/cli/v2"
)

// Kinds of input id and show recognize.
const (
	kindFolder      = "account_folder"
	kindArchive     = "archive"
	kindCertificate = "certificate"
	kindChain       = "chain"
	kindPrivateKey  = "private_key"
	kindPublicKey   = "public_key"
	kindCRL         = "crl"
)

// input is what a FILE argument turned out to be.
type input struct {
	name      string
	kind      string
	folder    *account.Folder
	arch      *archive.Archive
	encrypted bool
	certs     []*x509.Certificate
	pub       crypto.PublicKey
	crl       *x509.RevocationList
}

// inputArg is the positional FILE, else --account, else stdin.
func inputArg(c *ucli.Context) (string, error) {
	if err := cli.NArgs(c, 0, 1); err != nil {
		return "", err
	}
	if c.NArg() == 1 {
		return c.Args().First(), nil
	}
	if p := c.String("account"); p != "" {
		return p, nil
	}
	return "-", nil
}

// inspect reads FILE ("-" for stdin; a folder is an account folder) and
// recognizes it: PEM (certificates, keys, CRL), DER (certificate chain, key,
// public key, CRL), or an account archive (asking for the password if it is
// encrypted).
func inspect(c *ucli.Context, path string) (*input, error) {
	if path != "-" {
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			f, err := account.Open(path)
			if err != nil {
				return nil, err
			}
			return &input{name: path, kind: kindFolder, folder: f, certs: f.Chain, pub: f.Device.Cert.PublicKey}, nil
		}
	}
	name, data, err := cli.ReadInput(c, path, maxInput)
	if err != nil {
		return nil, err
	}
	in := &input{name: name}
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		if err := in.fromPEM(data); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return in, nil
	}
	if certs, err := x509.ParseCertificates(data); err == nil && len(certs) > 0 {
		in.setCerts(certs)
		return in, nil
	}
	if k, err := identity.ParsePrivateKey(data); err == nil {
		in.kind, in.pub = kindPrivateKey, &k.PublicKey
		return in, nil
	}
	if pub, err := x509.ParsePKIXPublicKey(data); err == nil {
		in.kind, in.pub = kindPublicKey, pub
		return in, nil
	}
	if crl, err := x509.ParseRevocationList(data); err == nil {
		in.kind, in.crl = kindCRL, crl
		return in, nil
	}
	looksPlain := len(data) > 2 && (data[0] == 0x1f && data[1] == 0x8b || bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")))
	if !looksPlain && archive.IsEncrypted(data) && !cli.ArchivePassword(false).Given(c) && !cli.StderrIsTerminal() {
		return nil, fmt.Errorf("%s: not a certificate, key, CRL or unencrypted archive (if it is an encrypted archive, give its password with --password-file or $%s)", name, cli.EnvPassword)
	}
	s := account.NewSource(name, data)
	if err := s.Unlock(unlocking(c)); err != nil {
		if errors.Is(err, archive.ErrNotArchive) {
			return nil, fmt.Errorf("%s: not a certificate, key, CRL or account archive", name)
		}
		return nil, err
	}
	a := s.Archive
	in.kind, in.arch, in.encrypted = kindArchive, a, s.Encrypted()
	in.certs = a.AccountChain
	if a.AccountKey != nil {
		in.pub = &a.AccountKey.PublicKey
	}
	return in, nil
}

func (in *input) setCerts(certs []*x509.Certificate) {
	in.certs, in.pub = certs, certs[0].PublicKey
	in.kind = kindChain
	if len(certs) == 1 {
		in.kind = kindCertificate
	}
}

// fromPEM takes the certificates of a PEM file if it has any, else its key
// or CRL.
func (in *input) fromPEM(data []byte) error {
	var certs []*x509.Certificate
	var key crypto.PublicKey
	var crl *x509.RevocationList
	kind := ""
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return fmt.Errorf("certificate %d: %w", len(certs)+1, err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			if key == nil {
				k, err := identity.ParsePrivateKey(pem.EncodeToMemory(blk))
				if err != nil {
					return err
				}
				key, kind = &k.PublicKey, kindPrivateKey
			}
		case "PUBLIC KEY":
			if key == nil {
				p, err := x509.ParsePKIXPublicKey(blk.Bytes)
				if err != nil {
					return fmt.Errorf("public key: %w", err)
				}
				key, kind = p, kindPublicKey
			}
		case "X509 CRL":
			if crl == nil {
				c, err := x509.ParseRevocationList(blk.Bytes)
				if err != nil {
					return fmt.Errorf("CRL: %w", err)
				}
				crl = c
			}
		}
	}
	switch {
	case len(certs) > 0:
		in.setCerts(certs)
		in.crl = crl
	case key != nil:
		in.kind, in.pub = kind, key
	case crl != nil:
		in.kind, in.crl = kindCRL, crl
	default:
		return errors.New("no certificate, key or CRL in this PEM file")
	}
	return nil
}

// ids are the Jami identifiers found in an input.
type ids struct {
	JamiID        string
	DeviceID      string
	DeviceShortID string
	CAID          string
}

// idsOf reads the identities of a certificate list by role: the account
// certificate's key is the Jami ID, a device certificate's key the device,
// and a lone device certificate names its account in its issuer UID.
func idsOf(certs []*x509.Certificate) ids {
	var r ids
	var issuerUID, caFromIssuer string
	for _, c := range certs {
		switch identity.RoleOf(c) {
		case identity.RoleAccount:
			if r.JamiID == "" {
				r.JamiID = identity.CertShortID(c).String()
				caFromIssuer = hexUID(identity.NameUID(c.RawIssuer))
			}
		case identity.RoleCA:
			if r.CAID == "" {
				r.CAID = identity.CertShortID(c).String()
			}
		case identity.RoleDevice:
			if r.DeviceID == "" {
				r.DeviceID = identity.CertLongID(c).String()
				r.DeviceShortID = identity.CertShortID(c).String()
				issuerUID = hexUID(identity.NameUID(c.RawIssuer))
			}
		}
	}
	if r.JamiID == "" {
		r.JamiID = issuerUID
	}
	if r.CAID == "" {
		r.CAID = caFromIssuer
	}
	return r
}

// hexUID keeps a UID only if it is a 40-hex id.
func hexUID(s string) string {
	if _, err := identity.ParseShortID(s); err != nil || strings.ToLower(s) != s {
		return ""
	}
	return s
}

// keyIDs returns the short and long id of a public key ("" for none).
func keyIDs(pub crypto.PublicKey) (string, string) {
	if pub == nil {
		return "", ""
	}
	spki, err := identity.SPKI(pub)
	if err != nil {
		return "", ""
	}
	return identity.ShortIDOfSPKI(spki).String(), identity.LongIDOfSPKI(spki).String()
}

// keyString describes a public key, e.g. "RSA 4096".
func keyString(pub crypto.PublicKey) string {
	if k, ok := pub.(*rsa.PublicKey); ok {
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	}
	return fmt.Sprintf("%T", pub)
}
