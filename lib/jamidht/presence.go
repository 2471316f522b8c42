package jamidht

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/dht/secure"
	"github.com/jamikit/jamikit/lib/dht/types"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
	"github.com/jamikit/jamikit/lib/identity"
)

// PeerDevice is a device of an account found on the DHT.
type PeerDevice struct {
	ShortID  identity.ShortID    // from the announcement
	ID       identity.LongID     // long id of the certificate (zero when none was found)
	Chain    []*x509.Certificate // device, account, CA (nil when not found)
	Key      *rsa.PublicKey      // the device key, to encrypt to
	ValueID  uint64              // the announcement's value id
	Revoked  bool                // the account's CRL lists the device
	Err      error               // why the device does not verify; nil: verified
	Announce *types.DeviceAnnouncement
}

// Verified reports whether the device can be trusted as the account's.
func (p *PeerDevice) Verified() bool { return p.Err == nil }

// ErrNoDevice reports an account without any announced device.
var ErrNoDevice = errors.New("no device announced")

// Presence lists the devices of an account as jamid's forEachDevice finds
// them: the DeviceAnnouncements at InfoHash(Jami ID) signed by that account
// (values signed by anyone else, or forged, are skipped), each device's
// certificate from the DHT (at its short id), checked like jamid checks a
// peer device (the chain verifies with the account certificate as anchor,
// the account certificate is the Jami ID's, the announced key is the
// certificate's) and against the CRLs found at the same key. Devices that
// fail are returned with Err set. The error is non-nil only when the lookup
// itself failed and found nothing.
func Presence(ctx context.Context, s *secure.DHT, jamiID identity.ShortID) ([]*PeerDevice, error) {
	res, err := s.Get(ctx, AccountKey(jamiID), nil)
	if len(res) == 0 && err != nil {
		return nil, err
	}
	var (
		devs []*PeerDevice
		seen = map[identity.ShortID]bool{}
		crls []*types.CRL
	)
	for _, r := range res {
		v := r.Value
		if !r.Signed {
			if c, err := types.UnmarshalCRL(v.Data); err == nil {
				crls = append(crls, c)
			}
			continue
		}
		// forEachDevice: `if (dev.from != to) return true;`
		if r.OwnerID != wire.InfoHash(jamiID) || v.Type != value.TypeUserData {
			continue
		}
		a, err := types.UnmarshalDeviceAnnouncement(v.Data)
		if err != nil || seen[a.Dev] {
			continue
		}
		seen[a.Dev] = true
		devs = append(devs, &PeerDevice{ShortID: a.Dev, ValueID: v.ID, Announce: a})
	}
	for _, d := range devs {
		d.Err = checkDevice(ctx, s, jamiID, d, crls)
	}
	return devs, nil
}

// checkDevice fetches and verifies one announced device.
func checkDevice(ctx context.Context, s *secure.DHT, jamiID identity.ShortID, d *PeerDevice, crls []*types.CRL) error {
	if err := d.Announce.Check(); err != nil {
		return err
	}
	chain, err := s.FindCertificate(ctx, wire.InfoHash(d.ShortID))
	if err != nil {
		if errors.Is(err, secure.ErrNotFound) {
			return fmt.Errorf("device %s: no certificate on the DHT", d.ShortID)
		}
		return fmt.Errorf("device %s: certificate lookup: %w", d.ShortID, err)
	}
	d.Chain = chain
	d.ID = identity.CertLongID(chain[0])
	if pub, ok := chain[0].PublicKey.(*rsa.PublicKey); ok {
		d.Key = pub
	}
	if identity.CertShortID(chain[0]) != d.ShortID {
		return fmt.Errorf("device %s: certificate is for %s", d.ShortID, identity.CertShortID(chain[0]))
	}
	if len(chain) < 2 {
		return fmt.Errorf("device %s: certificate has no issuer (account)", d.ShortID)
	}
	if got := identity.CertShortID(chain[1]); got != jamiID {
		return fmt.Errorf("device %s: certified by account %s, not %s", d.ShortID, got, jamiID)
	}
	if d.Announce.PK != nil && !equalBytes(d.Announce.PK, chain[0].RawSubjectPublicKeyInfo) {
		return fmt.Errorf("device %s: announced key is not the certificate's", d.ShortID)
	}
	lists := crlsFor(crls, chain[1])
	for _, l := range lists {
		if identity.IsRevoked(l, chain[0]) {
			d.Revoked = true
			return fmt.Errorf("device %s: revoked by the account", d.ShortID)
		}
	}
	if err := identity.VerifyDeviceChainAt(chain, timeNow(), lists...); err != nil {
		return fmt.Errorf("device %s: %w", d.ShortID, err)
	}
	if d.Key == nil {
		return fmt.Errorf("device %s: key is not RSA", d.ShortID)
	}
	return nil
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }
