// Package jamidht is a Jami account on the DHT, what jami-daemon 13.7.0's
// AccountManager does there (account.md §5–6): a device announces itself
// (its certificate chain at its public key id, the DeviceAnnouncement its
// account signed at InfoHash(Jami ID), the account's CRLs), finds the
// devices of other accounts (Presence, forEachDevice), sends them trust
// requests encrypted per device to their inbox, and reads its own inbox.
//
// It works over any dht.Client through lib/dht/secure, whose identity is
// the device (key and device/account/CA chain), as jamid's DHT node is.
package jamidht

import (
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/dht/secure"
	"github.com/jamikit/jamikit/lib/dht/types"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
	"github.com/jamikit/jamikit/lib/identity"
)

// AccountKey is where an account's devices announce themselves and its CRLs
// live: the Jami ID itself, not hashed again (account.md §5.2).
func AccountKey(jamiID identity.ShortID) wire.InfoHash { return wire.InfoHash(jamiID) }

// InboxKey is a device's inbox: SHA-1("inbox:" + device short id in hex)
// (account.md §6.1). Trust requests, messages and device syncs go there.
func InboxKey(dev identity.ShortID) wire.InfoHash {
	return wire.InfoHash(sha1.Sum([]byte("inbox:" + dev.String())))
}

// Device is one of our devices, ready for the DHT.
type Device struct {
	Identity *secure.Identity // device key and chain (device, account, CA)
	// Announcement is the DeviceAnnouncement value signed by the account
	// key (the receipt's "announce"); it is put as is, with a fresh id.
	Announcement *value.Value
	CRLs         []*types.CRL // the account's revocation lists, re-put by Announce
}

// JamiID is the account's id (short id of the account certificate).
func (d *Device) JamiID() identity.ShortID { return identity.CertShortID(d.Identity.Chain[1]) }

// ShortID is the device's public key id.
func (d *Device) ShortID() identity.ShortID { return identity.CertShortID(d.Identity.Chain[0]) }

// ID is the device id (long id) jamid shows.
func (d *Device) ID() identity.LongID { return identity.CertLongID(d.Identity.Chain[0]) }

// FromFolder makes the Device of a jamid account folder. The folder must be
// what jamid would load (useIdentity, account.md §5.4): a device chain the
// account certifies and a valid receipt, whose announce is published.
func FromFolder(f *account.Folder) (*Device, error) {
	if len(f.Chain) < 2 {
		return nil, fmt.Errorf("%s: device certificate has no account certificate", f.Dir)
	}
	if err := f.Verify(timeNow()); err != nil {
		return nil, err
	}
	r, err := account.ParseReceipt(f.Receipt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Dir, err)
	}
	ann, err := value.Unpack(r.Announce)
	if err != nil {
		return nil, fmt.Errorf("%s: receipt announce: %w", f.Dir, err)
	}
	id := &secure.Identity{Key: f.Device.Key, Chain: f.Chain}
	if err := id.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Dir, err)
	}
	return &Device{Identity: id, Announcement: ann}, nil
}

// AddCRL adds a revocation list of the account (DER), checking it is the
// account's (issued and signed by the account certificate).
func (d *Device) AddCRL(der []byte) error {
	c, err := types.NewCRL(der)
	if err != nil {
		return err
	}
	if !identity.CRLIssuedBy(c.List, d.Identity.Chain[1]) {
		return errors.New("CRL is not signed by this account")
	}
	d.CRLs = append(d.CRLs, c)
	return nil
}

// crlsFor keeps the CRLs signed by the account certificate acct.
func crlsFor(crls []*types.CRL, acct *x509.Certificate) []*x509.RevocationList {
	var out []*x509.RevocationList
	for _, c := range crls {
		if identity.CRLIssuedBy(c.List, acct) {
			out = append(out, c.List)
		}
	}
	return out
}
