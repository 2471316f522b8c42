package jamidht

import (
	"context"
	"fmt"
	"time"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/secure"
	"github.com/jamikit/jamikit/lib/dht/value"
)

var timeNow = time.Now

// Announced says what Announce put.
type Announced struct {
	AnnouncementID uint64   // value id of the DeviceAnnouncement at the Jami ID
	CRLIDs         []uint64 // value ids of the CRLs re-put there
}

// Announce is what a Jami device does when its DHT node comes online
// (SecureDht's certificate announce, then AccountManager::startSync): its
// certificate chain at its public key id, the DeviceAnnouncement signed by
// the account at InfoHash(Jami ID), and every CRL it knows for the account
// at the same key, all permanent puts (the client keeps refreshing them
// until it is closed or the puts are cancelled).
func Announce(ctx context.Context, s *secure.DHT, d *Device) (*Announced, error) {
	if id := s.Identity(); id == nil || id.Key == nil {
		return nil, secure.ErrNoIdentity
	}
	if err := s.AnnounceCertificate(ctx); err != nil {
		return nil, fmt.Errorf("announcing the device certificate: %w", err)
	}
	key := AccountKey(d.JamiID())
	// A copy: the put assigns the id, and d.Announcement stays the receipt's.
	ann := *d.Announcement
	ann.ID = 0
	if err := s.Client().Put(ctx, key, &ann, dht.PutOptions{Permanent: true}); err != nil {
		return nil, fmt.Errorf("announcing the device at %s: %w", key, err)
	}
	res := &Announced{AnnouncementID: ann.ID}
	for _, c := range d.CRLs {
		v := &value.Value{Type: value.TypeUserData, Data: c.Marshal()}
		if err := s.Client().Put(ctx, key, v, dht.PutOptions{Permanent: true}); err != nil {
			return res, fmt.Errorf("putting the account CRL at %s: %w", key, err)
		}
		res.CRLIDs = append(res.CRLIDs, v.ID)
	}
	return res, nil
}
