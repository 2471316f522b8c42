package account

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/dht/types"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/identity"
)

// The device receipt (account.md §5.2): proof, signed by the account key,
// that a device belongs to the account. jamid keeps it in config.yml and
// checks it at every load (useIdentity); it embeds the signed
// DeviceAnnouncement the device publishes on the DHT.

// Receipt is the decoded receipt JSON.
type Receipt struct {
	ID       string // Jami ID (40 hex)
	Dev      string // device short id (40 hex)
	Eth      string // eth address (40 hex, may be empty)
	Announce []byte // packed signed DeviceAnnouncement value
}

// AnnouncePayload is the DeviceAnnouncement data (lib/dht/types):
// msgpack map(2) "dev" -> bin8(20) device short id, "pk" -> bin16(device
// SPKI DER), as msgpack-c packs it.
func AnnouncePayload(deviceSPKI []byte) []byte {
	return types.NewDeviceAnnouncement(deviceSPKI).Marshal()
}

// Announcement returns the DeviceAnnouncement value for a device, signed by
// the account key: type 0 (USER_DATA), seq 0, id 0 (the DHT assigns one when
// it is put).
func Announcement(accountKey *rsa.PrivateKey, deviceCert *x509.Certificate) (*value.Value, error) {
	v := &value.Value{Type: value.TypeUserData, Data: AnnouncePayload(deviceCert.RawSubjectPublicKeyInfo)}
	if err := v.Sign(accountKey); err != nil {
		return nil, fmt.Errorf("signing the device announcement: %w", err)
	}
	return v, nil
}

// MakeReceipt builds the receipt of a device and its signature, byte for byte
// as jamid does (string concatenation, no spaces, standard base64; RSA
// PKCS#1 v1.5 SHA-512 over the receipt bytes). eth is the account's eth
// address ("" if the archive has no eth key).
func MakeReceipt(accountKey *rsa.PrivateKey, deviceCert *x509.Certificate, eth string) (receipt string, sig []byte, err error) {
	ann, err := Announcement(accountKey, deviceCert)
	if err != nil {
		return "", nil, err
	}
	id, err := identity.ShortIDOf(&accountKey.PublicKey)
	if err != nil {
		return "", nil, err
	}
	receipt = `{"id":"` + id.String() +
		`","dev":"` + identity.CertShortID(deviceCert).String() +
		`","eth":"` + eth +
		`","announce":"` + base64.StdEncoding.EncodeToString(ann.Pack()) + `"}`
	h := sha512.Sum512([]byte(receipt))
	sig, err = rsa.SignPKCS1v15(rand.Reader, accountKey, crypto.SHA512, h[:])
	if err != nil {
		return "", nil, fmt.Errorf("signing the receipt: %w", err)
	}
	return receipt, sig, nil
}

// ParseReceipt decodes the receipt JSON. Like jamid's reader it looks at the
// four fields only.
func ParseReceipt(s string) (*Receipt, error) {
	var r struct {
		ID       string `json:"id"`
		Dev      string `json:"dev"`
		Eth      string `json:"eth"`
		Announce string `json:"announce"`
	}
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, fmt.Errorf("receipt is not JSON: %w", err)
	}
	ann, err := base64.StdEncoding.DecodeString(r.Announce)
	if err != nil {
		return nil, fmt.Errorf("receipt announce is not base64: %w", err)
	}
	return &Receipt{ID: r.ID, Dev: r.Dev, Eth: r.Eth, Announce: ann}, nil
}

// VerifyReceipt makes jamid's receipt checks of useIdentity (account.md §5.4
// steps 3-5, with HEAD's extra "pk" check): the signature verifies with the
// account key, "id" and "dev" name the account and the device, the announce
// is signed by the account and announces this device.
func VerifyReceipt(receipt string, sig []byte, accountCert, deviceCert *x509.Certificate) error {
	pub, ok := accountCert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("account key is not RSA")
	}
	h := sha512.Sum512([]byte(receipt))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA512, h[:], sig); err != nil {
		return errors.New("receipt signature does not verify with the account key")
	}
	r, err := ParseReceipt(receipt)
	if err != nil {
		return err
	}
	accID := identity.CertShortID(accountCert).String()
	devID := identity.CertShortID(deviceCert).String()
	if r.ID != accID {
		return fmt.Errorf("receipt is for account %s, not %s", r.ID, accID)
	}
	if r.Dev != devID {
		return fmt.Errorf("receipt is for device %s, not %s", r.Dev, devID)
	}
	v, err := value.Unpack(r.Announce)
	if err != nil {
		return fmt.Errorf("receipt announce: %w", err)
	}
	if err := v.Verify(); err != nil {
		return fmt.Errorf("receipt announce: %w", err)
	}
	if owner := identity.ShortIDOfSPKI(v.Owner).String(); owner != accID {
		return fmt.Errorf("receipt announce is signed by %s, not the account", owner)
	}
	payload, err := types.UnmarshalDeviceAnnouncement(v.Data)
	if err != nil {
		return fmt.Errorf("receipt announce payload: %w", err)
	}
	if payload.Dev != identity.CertShortID(deviceCert) {
		return fmt.Errorf("receipt announce is for device %x, not %s", payload.Dev, devID)
	}
	if !bytes.Equal(payload.PK, deviceCert.RawSubjectPublicKeyInfo) {
		return errors.New("receipt announce carries another device key")
	}
	return nil
}
