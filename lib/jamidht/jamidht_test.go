package jamidht

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/secure"
	"github.com/jamikit/jamikit/lib/dht/types"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/identity"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const fixtures = "../../tests/testdata/fixtures/"

func TestInboxKey(t *testing.T) {
	// The inbox jamid 13.7.0 listened on for this device (account.md §6.1).
	dev, _ := identity.ParseShortID("c05576addc332921dfd4739e74becc109ad993cc")
	if got := InboxKey(dev).String(); got != "1bc5eb95fe1a939fdfe1bc81c99528c7a165453a" {
		t.Fatal(got)
	}
}

func device(t *testing.T, dir string) *Device {
	t.Helper()
	f, err := account.Open(fixtures + dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := FromFolder(f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// network starts a few loopback nodes and returns a bootstrapped secure
// client for each identity.
func network(t *testing.T, ids ...*secure.Identity) []*secure.DHT {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var nodes []*dht.Node
	t.Cleanup(func() {
		for _, n := range nodes {
			n.Close()
		}
	})
	start := func() *dht.Node {
		n, err := dht.New(dht.Config{BindIPv4: netip.MustParseAddr("127.0.0.1"), NoIPv6: true})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
		if len(nodes) > 1 {
			if err := n.Bootstrap(ctx, nodes[0].Addr4().String()); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	for range 3 {
		start()
	}
	var out []*secure.DHT
	for _, id := range ids {
		out = append(out, secure.New(start(), id, secure.Options{}))
	}
	return out
}

func TestAnnouncePresenceTrustRequestInbox(t *testing.T) {
	bob := device(t, "keygen/jamid-folder") // made by jamid 13.7.0
	carol1 := device(t, "swarm/carol1")
	carol2 := device(t, "swarm/carol2")
	// carol's account revokes carol2: its CRL goes on the DHT with carol1's announce.
	arch, err := account.Open(fixtures + "swarm/carol1")
	if err != nil {
		t.Fatal(err)
	}
	a, err := arch.Archive(nil)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := identity.RevokeCRL(nil, a.AccountChain[0], a.AccountKey, carol2.Identity.Chain[:1], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := carol1.AddCRL(crl); err != nil {
		t.Fatal(err)
	}
	if err := bob.AddCRL(crl); err == nil {
		t.Fatal("bob's device took carol's CRL")
	}

	s := network(t, bob.Identity, carol1.Identity, carol2.Identity, nil)
	sBob, sCarol1, sCarol2, sObserver := s[0], s[1], s[2], s[3]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if _, err := Announce(ctx, sObserver, bob); err != secure.ErrNoIdentity {
		t.Fatalf("announce without identity: %v", err)
	}
	for _, x := range []struct {
		s *secure.DHT
		d *Device
	}{{sBob, bob}, {sCarol1, carol1}, {sCarol2, carol2}} {
		res, err := Announce(ctx, x.s, x.d)
		if err != nil {
			t.Fatal(err)
		}
		if res.AnnouncementID == 0 || len(res.CRLIDs) != len(x.d.CRLs) {
			t.Fatalf("%+v", res)
		}
	}

	// Presence from a client without identity.
	devs, err := Presence(ctx, sObserver, bob.JamiID())
	if err != nil || len(devs) != 1 {
		t.Fatalf("bob's devices: %v %v", devs, err)
	}
	if d := devs[0]; !d.Verified() || d.ShortID != bob.ShortID() || d.ID != bob.ID() {
		t.Fatalf("bob's device: %+v", d)
	}
	devs, err = Presence(ctx, sObserver, carol1.JamiID())
	if err != nil || len(devs) != 2 {
		t.Fatalf("carol's devices: %v %v", devs, err)
	}
	for _, d := range devs {
		switch d.ShortID {
		case carol1.ShortID():
			if !d.Verified() {
				t.Fatalf("carol1: %v", d.Err)
			}
		case carol2.ShortID():
			if d.Verified() || !d.Revoked {
				t.Fatalf("carol2 is revoked, got %+v", d)
			}
		default:
			t.Fatalf("unexpected device %s", d.ShortID)
		}
	}
	var nobody identity.ShortID
	nobody[0] = 1
	if devs, err := Presence(ctx, sObserver, nobody); err != nil || len(devs) != 0 {
		t.Fatalf("nobody: %v %v", devs, err)
	}

	// carol1 -> bob; bob's inbox gets it, from carol's account.
	got := make(chan *Message, 1)
	ictx, icancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Inbox(ictx, sBob, func(m *Message) bool { got <- m; return false })
	}()
	tr := &types.TrustRequest{Service: types.ServiceJami, ConversationID: "conv1", Payload: []byte("BEGIN:VCARD")}
	sent, err := SendTrustRequest(ctx, sCarol1, bob.JamiID(), tr)
	if err != nil || len(sent) != 1 || sent[0].Err != nil || sent[0].ValueID == 0 {
		t.Fatalf("%+v %v", sent, err)
	}
	select {
	case m := <-got:
		if !m.Verified() || m.Kind != types.KindTrustRequest || m.FromAccount != carol1.JamiID() || m.FromDevice != carol1.ShortID() {
			t.Fatalf("%+v", m)
		}
		if p := m.Payload.(*types.TrustRequest); p.ConversationID != "conv1" || string(p.Payload) != "BEGIN:VCARD" {
			t.Fatalf("%+v", p)
		}
	case <-ctx.Done():
		t.Fatal("no trust request in bob's inbox")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	icancel()

	// To carol: only carol1 (carol2 is revoked) gets it.
	sent, err = SendTrustRequest(ctx, sBob, carol1.JamiID(), &types.TrustRequest{Service: types.ServiceJami, Confirm: true})
	if err != nil || len(sent) != 2 {
		t.Fatalf("%+v %v", sent, err)
	}
	for _, x := range sent {
		if (x.ValueID != 0) != (x.Device.ShortID == carol1.ShortID()) {
			t.Fatalf("sent to %s: %+v", x.Device.ShortID, x)
		}
	}
	if _, err := SendTrustRequest(ctx, sBob, nobody, tr); err != ErrNoDevice {
		t.Fatalf("to nobody: %v", err)
	}
}

// Announcements that do not belong: signed by someone else than the
// account (skipped, as forEachDevice's `dev.from != to`), or signed by the
// account for a device another account certified (listed, not verified).
func TestPresenceRejects(t *testing.T) {
	bob := device(t, "keygen/jamid-folder")
	carol1 := device(t, "swarm/carol1")
	f, err := account.Open(fixtures + "swarm/carol1")
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.Archive(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := network(t, bob.Identity, carol1.Identity, nil)
	sBob, sCarol, sObs := s[0], s[1], s[2]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := sBob.AnnounceCertificate(ctx); err != nil {
		t.Fatal(err)
	}

	// carol1's device key signs an announcement of itself at bob's Jami ID.
	forged := &value.Value{Data: types.NewDeviceAnnouncement(carol1.Identity.Chain[0].RawSubjectPublicKeyInfo).Marshal()}
	if err := sCarol.PutSigned(ctx, AccountKey(bob.JamiID()), forged, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if devs, err := Presence(ctx, sObs, bob.JamiID()); err != nil || len(devs) != 0 {
		t.Fatalf("an announcement not signed by bob's account counted: %+v %v", devs, err)
	}

	// carol's account key announces bob's device at carol's Jami ID.
	wrong, err := account.Announcement(a.AccountKey, bob.Identity.Chain[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := sObs.Client().Put(ctx, AccountKey(carol1.JamiID()), wrong, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	devs, err := Presence(ctx, sObs, carol1.JamiID())
	if err != nil || len(devs) != 1 {
		t.Fatalf("%+v %v", devs, err)
	}
	if devs[0].Verified() || !strings.Contains(devs[0].Err.Error(), "certified by account "+bob.JamiID().String()) {
		t.Fatalf("bob's device under carol's account: %v", devs[0].Err)
	}
	// No certificate on the DHT: not verified either.
	noCert, err := account.Announcement(a.AccountKey, carol1.Identity.Chain[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := sObs.Client().Put(ctx, AccountKey(carol1.JamiID()), noCert, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	devs, _ = Presence(ctx, sObs, carol1.JamiID())
	for _, d := range devs {
		if d.ShortID == carol1.ShortID() && (d.Verified() || !strings.Contains(d.Err.Error(), "no certificate on the DHT")) {
			t.Fatalf("carol1 without its certificate on the DHT: %v", d.Err)
		}
	}
}
