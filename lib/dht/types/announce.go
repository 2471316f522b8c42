package types

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/identity"
)

// DeviceAnnouncement is jami::DeviceAnnouncement (jami_contact.h, 2023):
// the payload of the USER_DATA value an account key signs for each of its
// devices and that the device puts at InfoHash(Jami ID) (account.md §5.2).
// The same packed value is the receipt's "announce".
type DeviceAnnouncement struct {
	Dev identity.ShortID // device short id (SHA-1 of the device SPKI)
	PK  []byte           // device public key, SPKI DER; nil when absent (pre-2021 announcements)
}

// NewDeviceAnnouncement announces the device whose key is spki (DER).
func NewDeviceAnnouncement(spki []byte) *DeviceAnnouncement {
	return &DeviceAnnouncement{Dev: identity.ShortIDOfSPKI(spki), PK: spki}
}

// Marshal packs MSGPACK_DEFINE_MAP(dev, pk): map(2) "dev" -> bin8(20),
// "pk" -> bin(SPKI DER), nil for a null key as msgpack-c packs an empty
// shared_ptr.
func (a *DeviceAnnouncement) Marshal() []byte {
	b := make([]byte, 0, 40+len(a.PK))
	b = msgp.AppendMapHeader(b, 2)
	b = msgp.AppendStr(b, "dev")
	b = msgp.AppendBin(b, a.Dev[:])
	b = msgp.AppendStr(b, "pk")
	if a.PK == nil {
		return append(b, 0xc0)
	}
	return msgp.AppendBin(b, a.PK)
}

// UnmarshalDeviceAnnouncement reads a DeviceAnnouncement. The key may be
// DER or PEM (PublicKey::msgpack_unpack accepts both); PK is DER.
func UnmarshalDeviceAnnouncement(b []byte) (*DeviceAnnouncement, error) {
	a := &DeviceAnnouncement{}
	err := readMap(b, "DeviceAnnouncement", func(k string, r *msgp.Reader) (bool, error) {
		switch k {
		case "dev":
			h, err := readHash(r, 20)
			if err != nil {
				return false, err
			}
			copy(a.Dev[:], h)
		case "pk":
			if readNil(r) {
				return false, nil
			}
			blob, err := r.Text()
			if err != nil {
				return false, err
			}
			der, err := publicKeyDER(blob)
			if err != nil {
				return false, err
			}
			a.PK = der
		default:
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// publicKeyDER accepts what gnutls_pubkey_import accepts for OpenDHT: SPKI
// in DER, or in PEM.
func publicKeyDER(blob []byte) ([]byte, error) {
	der := blob
	if p, _ := pem.Decode(blob); p != nil {
		der = p.Bytes
	}
	if _, err := x509.ParsePKIXPublicKey(der); err != nil {
		return nil, errors.New("not a public key")
	}
	return clone(der), nil
}

// Check reports an announcement whose key does not hash to its device id
// (HEAD's parseAnnounce check; 2023 only compares dev).
func (a *DeviceAnnouncement) Check() error {
	if a.PK != nil && identity.ShortIDOfSPKI(a.PK) != a.Dev {
		return fmt.Errorf("announcement for device %s carries the key of %s", a.Dev, identity.ShortIDOfSPKI(a.PK))
	}
	return nil
}

// MarshalJSON shows the device ids (short and, when the key is known, long).
func (a *DeviceAnnouncement) MarshalJSON() ([]byte, error) {
	j := struct {
		Dev      string `json:"device_short_id"`
		DeviceID string `json:"device_id,omitempty"`
		KeySize  int    `json:"pk_size,omitempty"`
	}{Dev: a.Dev.String(), KeySize: len(a.PK)}
	if a.PK != nil {
		j.DeviceID = identity.LongIDOfSPKI(a.PK).String()
	}
	return json.Marshal(j)
}
