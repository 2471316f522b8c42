package identity

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// The certificate profile of the Jami CA, account and device certificates as
// OpenDHT 2.4.12 + GnuTLS 3.7.9 write them (account.md §1.2, §1.7).

// KeyBits is the size of every RSA key of a Jami identity.
const KeyBits = 4096

// Validity is OpenDHT's certificate lifetime: 10 × 365 days, in seconds.
const Validity = 10 * 365 * 24 * time.Hour

// Common names of the three certificates.
const (
	CNCA      = "Jami CA"
	CNAccount = "Jami"
	CNDevice  = "Jami device"
)

var (
	oidCommonName       = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidUserID           = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidSubjectKeyID     = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidAuthorityKeyID   = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLNumber        = asn1.ObjectIdentifier{2, 5, 29, 20}
)

// DER values of the two constant CA extensions: basicConstraints cA=TRUE
// without pathLen, keyUsage keyCertSign|cRLSign (GnuTLS writes exactly these).
var (
	basicConstraintsCA = []byte{0x30, 0x03, 0x01, 0x01, 0xff}
	keyUsageCA         = []byte{0x03, 0x02, 0x01, 0x06}
)

// Account is a Jami account identity: the self-signed "Jami CA" and the
// "Jami" account certificate it signs, their keys, and the secp256k1 key whose
// address goes into device receipts.
type Account struct {
	CAKey       *rsa.PrivateKey
	AccountKey  *rsa.PrivateKey
	CACert      *x509.Certificate
	AccountCert *x509.Certificate
	EthKey      []byte // 32-byte secp256k1 secret
}

// JamiID is the short id of the account key.
func (a *Account) JamiID() ShortID { return CertShortID(a.AccountCert) }

// Chain is the account certificate then the CA certificate, the order of the
// archive's ringAccountCert.
func (a *Account) Chain() []*x509.Certificate {
	return []*x509.Certificate{a.AccountCert, a.CACert}
}

// Device is a device key and its certificate, signed by the account key.
type Device struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// ID is the device ID jamid shows: the long id of the device key.
func (d *Device) ID() LongID { return CertLongID(d.Cert) }

// ShortID is the device short id: the UID of its certificate, "dev" in receipts.
func (d *Device) ShortID() ShortID { return CertShortID(d.Cert) }

// GenerateKeys generates n RSA-4096 keys in parallel, one goroutine each, as
// jamid generates the CA, account and device keys of a new account at once.
func GenerateKeys(n int) ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = rsa.GenerateKey(rand.Reader, KeyBits)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("generating RSA keys: %w", err)
	}
	return keys, nil
}

// NewAccount generates a complete account identity: CA and account keys (in
// parallel), their certificates and an Ethereum key.
func NewAccount() (*Account, error) {
	keys, err := GenerateKeys(2)
	if err != nil {
		return nil, err
	}
	eth, err := NewEthKey()
	if err != nil {
		return nil, err
	}
	return NewAccountFromKeys(keys[0], keys[1], eth, time.Now())
}

// NewAccountAndDevice generates an account and its first device, the three RSA
// keys in parallel.
func NewAccountAndDevice() (*Account, *Device, error) {
	keys, err := GenerateKeys(3)
	if err != nil {
		return nil, nil, err
	}
	eth, err := NewEthKey()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	acc, err := NewAccountFromKeys(keys[0], keys[1], eth, now)
	if err != nil {
		return nil, nil, err
	}
	dev, err := NewDeviceFromKey(keys[2], acc.AccountKey, acc.AccountCert, now)
	if err != nil {
		return nil, nil, err
	}
	return acc, dev, nil
}

// NewAccountFromKeys issues the CA and account certificates for existing keys,
// valid from now (truncated to seconds) for ten years.
func NewAccountFromKeys(caKey, accountKey *rsa.PrivateKey, ethKey []byte, now time.Time) (*Account, error) {
	if err := checkKey(caKey); err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if err := checkKey(accountKey); err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	ca, err := issueCA(caKey, CNCA, nil, caKey, now)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	acc, err := issueCA(accountKey, CNAccount, ca, caKey, now)
	if err != nil {
		return nil, fmt.Errorf("account certificate: %w", err)
	}
	return &Account{CAKey: caKey, AccountKey: accountKey, CACert: ca, AccountCert: acc, EthKey: ethKey}, nil
}

// NewDevice generates a device key and certifies it with the account key.
func NewDevice(accountKey *rsa.PrivateKey, accountCert *x509.Certificate) (*Device, error) {
	keys, err := GenerateKeys(1)
	if err != nil {
		return nil, err
	}
	return NewDeviceFromKey(keys[0], accountKey, accountCert, time.Now())
}

// NewDeviceFromKey issues a device certificate for key, signed by the account:
// subject CN "Jami device" + UID, no extensions at all (GnuTLS copies only the
// subject and key from the device's CSR), SHA-384, ten years from now.
func NewDeviceFromKey(key, accountKey *rsa.PrivateKey, accountCert *x509.Certificate, now time.Time) (*Device, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	if !KeyMatches(accountKey, accountCert) {
		return nil, errors.New("account key does not match the account certificate")
	}
	if !IsCA(accountCert) {
		// GnuTLS would refuse the device certificate at the next load.
		return nil, errors.New("account certificate is not a CA: it cannot sign device certificates")
	}
	sid, err := ShortIDOf(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	subject, err := jamiSubject(CNDevice, sid)
	if err != nil {
		return nil, err
	}
	serial, err := RandomSerial()
	if err != nil {
		return nil, err
	}
	notBefore := now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		RawSubject:         subject,
		NotBefore:          notBefore,
		NotAfter:           notBefore.Add(Validity),
		SignatureAlgorithm: x509.SHA384WithRSA,
	}
	cert, err := sign(tmpl, withoutSKI(accountCert), &key.PublicKey, accountKey)
	if err != nil {
		return nil, fmt.Errorf("device certificate: %w", err)
	}
	return &Device{Key: key, Cert: cert}, nil
}

// issueCA makes a CA-profile certificate (the Jami CA when parent is nil, else
// the account certificate signed by parentKey).
func issueCA(key *rsa.PrivateKey, cn string, parent *x509.Certificate, parentKey *rsa.PrivateKey, now time.Time) (*x509.Certificate, error) {
	sid, err := ShortIDOf(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	subject, err := jamiSubject(cn, sid)
	if err != nil {
		return nil, err
	}
	ski, err := asn1.Marshal(sid[:])
	if err != nil {
		return nil, err
	}
	serial, err := RandomSerial()
	if err != nil {
		return nil, err
	}
	notBefore := now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		RawSubject:   subject,
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(Validity),
		// GnuTLS takes the digest from the subject key's size: SHA-384 for 4096 bits.
		SignatureAlgorithm: x509.SHA384WithRSA,
		// Written by hand, in GnuTLS's order, rather than through IsCA/KeyUsage/
		// SubjectKeyId: Go would order them differently and derive its own SKI.
		ExtraExtensions: []pkix.Extension{
			{Id: oidSubjectKeyID, Value: ski},
			{Id: oidBasicConstraints, Critical: true, Value: basicConstraintsCA},
			{Id: oidKeyUsage, Critical: true, Value: keyUsageCA},
		},
	}
	if parent == nil {
		// Self-signed: the template is its own parent and has no SubjectKeyId,
		// so Go adds no Authority Key Identifier.
		parent = tmpl
	} else {
		parent = withoutSKI(parent)
	}
	return sign(tmpl, parent, &key.PublicKey, parentKey)
}

func sign(tmpl, parent *x509.Certificate, pub *rsa.PublicKey, signer *rsa.PrivateKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// withoutSKI returns a shallow copy of c without SubjectKeyId: given as a
// parent, Go then writes no Authority Key Identifier, which GnuTLS never does.
func withoutSKI(c *x509.Certificate) *x509.Certificate {
	cp := *c
	cp.SubjectKeyId = nil
	return &cp
}

// jamiSubject is the DER Name GnuTLS writes: two single-attribute RDNs, CN then
// UID, both PrintableString. pkix.Name cannot be used: Go orders attributes its
// own way and may pick UTF8String.
func jamiSubject(cn string, id ShortID) ([]byte, error) {
	return asn1.Marshal(pkix.RDNSequence{
		{{Type: oidCommonName, Value: printable(cn)}},
		{{Type: oidUserID, Value: printable(id.String())}},
	})
}

func printable(s string) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagPrintableString, Bytes: []byte(s)}
}

var maxSerial = new(big.Int).SetUint64(1<<63 - 1)

// RandomSerial draws a serial uniformly in [1, 2^63-1], as OpenDHT >= 4.3 does
// (a positive int64, big-endian). Like libtasn1, DER keeps the shortest
// encoding: 8 content bytes except when the top byte is zero (1 in 256).
// OpenDHT 2.4.12 wrote the int64 little-endian, which made half of its serials
// negative; Go refuses to write those, and jamid accepts positive ones.
func RandomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, maxSerial) // [0, 2^63-2]
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

func checkKey(k *rsa.PrivateKey) error {
	if k == nil {
		return errors.New("missing key")
	}
	if k.N.BitLen() < 2048 {
		return fmt.Errorf("RSA key of %d bits is too small (GnuTLS MEDIUM profile needs 2048)", k.N.BitLen())
	}
	return nil
}
