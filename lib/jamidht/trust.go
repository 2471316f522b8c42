package jamidht

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/secure"
	"github.com/jamikit/jamikit/lib/dht/types"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/identity"
)

// Sent is one device a trust request went to.
type Sent struct {
	Device  *PeerDevice
	ValueID uint64 // id of the encrypted value in the device's inbox
	Err     error  // the put failed
}

// SendTrustRequest is AccountManager::sendTrustRequest: the request goes,
// as a type-4 value signed by our device and encrypted to each verified
// device of the account to, into that device's inbox. Devices that do not
// verify are skipped (jamid never gets their key); they are in the result
// with Device.Err set. ErrNoDevice when the account has no verified device.
//
// Our own certificate is announced first (a permanent put, as a jamid
// device's node always has it on the DHT while online): the recipient
// finds the sender's account from it (onPeerMessage), and drops the
// request when it cannot.
func SendTrustRequest(ctx context.Context, s *secure.DHT, to identity.ShortID, tr *types.TrustRequest) ([]Sent, error) {
	if id := s.Identity(); id == nil || id.Key == nil {
		return nil, secure.ErrNoIdentity
	}
	if err := s.AnnounceCertificate(ctx); err != nil {
		return nil, fmt.Errorf("announcing our certificate: %w", err)
	}
	devs, err := Presence(ctx, s, to)
	if err != nil {
		return nil, err
	}
	var out []Sent
	ok := 0
	for _, d := range devs {
		if !d.Verified() {
			out = append(out, Sent{Device: d})
			continue
		}
		v := &value.Value{Type: value.TypeTrustRequest, Data: tr.Marshal()}
		err := s.PutEncrypted(ctx, InboxKey(d.ShortID), d.Key, v, dht.PutOptions{})
		out = append(out, Sent{Device: d, ValueID: v.ID, Err: err})
		if err == nil {
			ok++
		}
	}
	if ok == 0 {
		for _, s := range out {
			if s.Err != nil {
				return out, s.Err
			}
		}
		return out, ErrNoDevice
	}
	return out, nil
}

// Message is one value found in our inbox, decrypted and checked.
type Message struct {
	Kind    string // types.Kind* (TrustRequest, ImMessage, DeviceSync, ...); "" when unknown
	Payload any    // *types.TrustRequest, *types.ImMessage, *types.DeviceSync, ...
	Value   *value.Value
	// The sender: the device that signed the value and, from its
	// certificate chain (jamid's onPeerCertificate), its account.
	FromDevice      identity.ShortID
	FromDeviceID    identity.LongID
	FromAccount     identity.ShortID
	FromDeviceChain []*x509.Certificate
	Err             error // the sender could not be verified; the payload is untrusted
}

// Verified reports whether the sender's account is known and its device chain verified.
func (m *Message) Verified() bool { return m.Err == nil }

// Inbox listens on the inbox of our device (InboxKey of the identity's
// public key id) and calls cb for each value sent to us: decrypted, its
// inner signature checked (lib/dht/secure drops anything else), decoded,
// and its sender identified as jamid's onPeerMessage does: the signing
// device's certificate (from the value's sender, found on the DHT), a chain
// that verifies with its account certificate as anchor, and the account =
// the issuer of the device certificate. A value is reported once. Inbox
// returns when ctx ends or cb returns false.
func Inbox(ctx context.Context, s *secure.DHT, cb func(*Message) bool) error {
	id := s.Identity()
	if id == nil || id.Key == nil {
		return secure.ErrNoIdentity
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The listen callback runs in the DHT client; certificate lookups are
	// network operations, so they happen here, off that callback.
	ch := make(chan secure.Result, 256)
	tok, err := s.Listen(ctx, InboxKey(identity.ShortID(id.PublicKeyID())), nil, func(res []secure.Result, expired bool) bool {
		if expired {
			return true
		}
		for _, r := range res {
			select {
			case ch <- r:
			case <-ctx.Done():
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	defer s.CancelListen(context.WithoutCancel(ctx), tok)
	seen := map[[2]uint64]bool{}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-ch:
			if !r.Encrypted || !r.Signed {
				continue // jamid's filters want encrypted, signed values
			}
			k := [2]uint64{r.Value.ID, uint64(r.Value.Seq)}
			if seen[k] {
				continue
			}
			seen[k] = true
			m := identify(ctx, s, r)
			if !cb(m) {
				return nil
			}
		}
	}
}

// identify decodes a decrypted inbox value and finds its sender.
func identify(ctx context.Context, s *secure.DHT, r secure.Result) *Message {
	m := &Message{Value: r.Value, FromDevice: identity.ShortID(r.OwnerID)}
	if p, kind, err := types.Decode(r.Value); err == nil {
		m.Kind, m.Payload = kind, p
	}
	chain, err := s.FindCertificate(ctx, r.OwnerID)
	if err != nil {
		m.Err = fmt.Errorf("sender device %s: %w", m.FromDevice, err)
		return m
	}
	m.FromDeviceChain = chain
	m.FromDeviceID = identity.CertLongID(chain[0])
	m.Err = checkPeer(chain)
	if len(chain) > 1 {
		m.FromAccount = identity.CertShortID(chain[1])
	}
	return m
}

// checkPeer is AccountManager::foundPeerDevice: the leaf must not be its own
// top issuer and the chain must verify (account certificate as anchor).
func checkPeer(chain []*x509.Certificate) error {
	if len(chain) < 2 {
		return errors.New("sender certificate has no account certificate")
	}
	return identity.VerifyDeviceChainAt(chain, timeNow())
}
