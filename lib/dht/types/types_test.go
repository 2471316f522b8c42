package types_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/types"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/identity"
)

// jamidFolder is an account folder written by the real jamid 13.7.0.
const jamidFolder = "../../../tests/testdata/fixtures/keygen/jamid-folder"

// jamidAnnouncement is the signed DeviceAnnouncement jamid made (the
// receipt's "announce").
func jamidAnnouncement(t *testing.T) (*account.Folder, *value.Value) {
	t.Helper()
	f, err := account.Open(jamidFolder)
	if err != nil {
		t.Fatal(err)
	}
	r, err := account.ParseReceipt(f.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	v, err := value.Unpack(r.Announce)
	if err != nil {
		t.Fatal(err)
	}
	return f, v
}

func TestDeviceAnnouncementJamidBytes(t *testing.T) {
	f, v := jamidAnnouncement(t)
	if err := v.Verify(); err != nil {
		t.Fatal(err)
	}
	a, err := types.UnmarshalDeviceAnnouncement(v.Data)
	if err != nil {
		t.Fatal(err)
	}
	if a.Dev != f.DeviceShortID() {
		t.Fatalf("dev %s, want %s", a.Dev, f.DeviceShortID())
	}
	if !bytes.Equal(a.PK, f.Device.Cert.RawSubjectPublicKeyInfo) {
		t.Fatal("pk is not the device key")
	}
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	if got := a.Marshal(); !bytes.Equal(got, v.Data) {
		t.Fatalf("re-marshalled announcement differs from jamid's:\n got %x\nwant %x", got, v.Data)
	}
	if got := types.NewDeviceAnnouncement(f.Device.Cert.RawSubjectPublicKeyInfo).Marshal(); !bytes.Equal(got, v.Data) {
		t.Fatal("NewDeviceAnnouncement differs from jamid's payload")
	}
	if got := account.AnnouncePayload(f.Device.Cert.RawSubjectPublicKeyInfo); !bytes.Equal(got, v.Data) {
		t.Fatal("account.AnnouncePayload differs from jamid's payload")
	}
	d, kind, err := types.Decode(v)
	if err != nil || kind != types.KindDeviceAnnouncement {
		t.Fatalf("Decode: %v %q %v", d, kind, err)
	}
	js, _ := json.Marshal(d)
	if !strings.Contains(string(js), f.DeviceID().String()) {
		t.Fatalf("JSON %s lacks the device id", js)
	}
}

func TestDeviceAnnouncementBad(t *testing.T) {
	_, v := jamidAnnouncement(t)
	a, _ := types.UnmarshalDeviceAnnouncement(v.Data)
	other := *a
	other.Dev[0] ^= 1
	if other.Check() == nil {
		t.Fatal("Check accepted a key of another device")
	}
	for name, b := range map[string][]byte{
		"not a map":   {0x90},
		"short dev":   append(msgp.AppendStr(msgp.AppendMapHeader(nil, 1), "dev"), 0xc4, 1, 0),
		"dev as str":  msgp.AppendStr(msgp.AppendStr(msgp.AppendMapHeader(nil, 1), "dev"), strings.Repeat("a", 20)),
		"pk garbage":  msgp.AppendBin(msgp.AppendStr(msgp.AppendMapHeader(nil, 1), "pk"), []byte("nope")),
		"truncated":   v.Data[:len(v.Data)-1],
		"empty input": nil,
	} {
		if _, err := types.UnmarshalDeviceAnnouncement(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A null key (a pre-2021 announcement) and unknown keys are fine.
	b := msgp.AppendMapHeader(nil, 3)
	b = msgp.AppendBin(msgp.AppendStr(b, "dev"), a.Dev[:])
	b = append(msgp.AppendStr(b, "pk"), 0xc0)
	b = msgp.AppendUint(msgp.AppendStr(b, "new"), 7)
	got, err := types.UnmarshalDeviceAnnouncement(b)
	if err != nil || got.PK != nil || got.Dev != a.Dev {
		t.Fatalf("%+v %v", got, err)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Exact bytes of msgpack-c's MSGPACK_DEFINE_MAP packing, written by hand
// from the msgpack spec (fixmap, fixstr keys, bin8, bools c2/c3).
func TestTrustRequestBytes(t *testing.T) {
	tr := &types.TrustRequest{Service: "cx.ring", ConversationID: "ab", Payload: []byte{1, 2}}
	want := unhex(t, "84 a7 73657276696365 a7 63782e72696e67"+
		" ae 636f6e766572736174696f6e4964 a2 6162"+
		" a7 7061796c6f6164 c4 02 0102"+
		" a7 636f6e6669726d c2")
	if got := tr.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("got  %x\nwant %x", got, want)
	}
	back, err := types.UnmarshalTrustRequest(want)
	if err != nil || back.Service != "cx.ring" || back.ConversationID != "ab" || !bytes.Equal(back.Payload, []byte{1, 2}) || back.Confirm || back.InvitedMs != nil {
		t.Fatalf("%+v %v", back, err)
	}
	// HEAD's TrustRequestMsg: a fifth key, invitedMs, read and written.
	ms := int64(1700000000123)
	tr.InvitedMs, tr.Confirm = &ms, true
	head := tr.Marshal()
	if head[0] != 0x85 || !bytes.HasSuffix(head, unhex(t, "a9 696e76697465644d73 cf 0000018bcfe5687b")) {
		t.Fatalf("HEAD form %x", head)
	}
	back, err = types.UnmarshalTrustRequest(head)
	if err != nil || back.InvitedMs == nil || *back.InvitedMs != ms || !back.Confirm {
		t.Fatalf("%+v %v", back, err)
	}
	// Order-free, payload as str, as msgpack-c's converters accept.
	b := msgp.AppendMapHeader(nil, 2)
	b = msgp.AppendBool(msgp.AppendStr(b, "confirm"), true)
	b = msgp.AppendStr(msgp.AppendStr(b, "payload"), "vcard")
	back, err = types.UnmarshalTrustRequest(b)
	if err != nil || !back.Confirm || string(back.Payload) != "vcard" {
		t.Fatalf("%+v %v", back, err)
	}
	for name, b := range map[string][]byte{
		"confirm as int": msgp.AppendUint(msgp.AppendStr(msgp.AppendMapHeader(nil, 1), "confirm"), 1),
		"service as int": msgp.AppendUint(msgp.AppendStr(msgp.AppendMapHeader(nil, 1), "service"), 1),
		"array":          {0x90},
	} {
		if _, err := types.UnmarshalTrustRequest(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestImMessageBytes(t *testing.T) {
	m := &types.ImMessage{ID: 5, Msg: "hi", Date: 1, Status: types.ImRead, Metadatas: map[string]string{"b": "2", "a": "1"}}
	want := unhex(t, "86 a2 6964 05 a3 6d7367 a2 6869 a4 64617465 01 a6 737461747573 03"+
		" a8 6461746174797065 a0 a9 6d65746164617461 73 82 a1 61 a1 31 a1 62 a1 32")
	if got := m.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("got  %x\nwant %x", got, want)
	}
	back, err := types.UnmarshalImMessage(want)
	if err != nil || back.ID != 5 || back.Msg != "hi" || back.Status != types.ImRead || back.Metadatas["a"] != "1" {
		t.Fatalf("%+v %v", back, err)
	}
	v := &value.Value{Type: value.ImMessage.ID, Data: want}
	if _, kind, err := types.Decode(v); kind != types.KindImMessage || err != nil {
		t.Fatal(kind, err)
	}
}

func TestIceAndPeerRequestBytes(t *testing.T) {
	c := &types.IceCandidates{ID: 0x1234, IceData: []byte("x")}
	want := unhex(t, "92 cd1234 c4 01 78")
	if got := c.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("got %x", got)
	}
	// Old peers (msgpack 1.0) sent the blob as an array of bytes.
	back, err := types.UnmarshalIceCandidates(unhex(t, "93 01 91 78 c0"))
	if err != nil || back.ID != 1 || string(back.IceData) != "x" {
		t.Fatalf("%+v %v", back, err)
	}
	if _, err := types.UnmarshalIceCandidates(unhex(t, "91 01")); err == nil {
		t.Fatal("array of 1 accepted")
	}

	p := &types.PeerConnectionRequest{ID: 7, IceMsg: "ufrag", IsAnswer: true}
	want = unhex(t, "84 a2 6964 07 a7 6963655f6d7367 a5 7566726167 a8 6973416e73776572 c3 a8 636f6e6e54797065 a0")
	if got := p.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("got %x", got)
	}
	v := &value.Value{Type: 0, UserType: types.UserTypePeerRequest, Data: want}
	d, kind, err := types.Decode(v)
	if err != nil || kind != types.KindPeerConnectionRequest || !d.(*types.PeerConnectionRequest).IsAnswer {
		t.Fatal(d, kind, err)
	}
}

func TestCertificateAndCRL(t *testing.T) {
	f, err := account.Open(jamidFolder)
	if err != nil {
		t.Fatal(err)
	}
	c := &types.Certificate{Chain: f.Chain}
	b := c.Marshal()
	// What OpenDHT writes: bin16 of the PEM text (opendht.md §5.6).
	if b[0] != 0xc5 || !bytes.HasPrefix(b[3:], []byte("-----BEGIN CERTIFICATE-----")) {
		t.Fatalf("certificate data starts %x", b[:12])
	}
	back, err := types.UnmarshalCertificate(b)
	if err != nil || len(back.Chain) != 3 || !back.Chain[0].Equal(f.Device.Cert) {
		t.Fatal(err)
	}
	if id, ok := value.CertificateKeyID(b); !ok || id != [20]byte(f.DeviceShortID()) {
		t.Fatal("value.CertificateKeyID disagrees")
	}
	if _, kind, err := types.Decode(&value.Value{Type: 8, Data: b}); kind != types.KindCertificate || err != nil {
		t.Fatal(kind, err)
	}
	if _, err := types.UnmarshalCertificate(msgp.AppendBin(nil, []byte("junk"))); err == nil {
		t.Fatal("junk accepted")
	}

	der, err := os.ReadFile("../../identity/testdata/revoked.crl")
	if err != nil {
		t.Fatal(err)
	}
	crl, err := identity.ParseCRL(der)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := types.NewCRL(crl.Raw)
	if err != nil {
		t.Fatal(err)
	}
	data := cv.Marshal()
	if !bytes.Equal(data, msgp.AppendBin(nil, crl.Raw)) {
		t.Fatal("CRL is not bin(DER)")
	}
	d, kind, err := types.Decode(&value.Value{Data: data})
	if err != nil || kind != types.KindCRL {
		t.Fatal(kind, err)
	}
	if js, err := json.Marshal(d); err != nil || !strings.Contains(string(js), "revoked_serials") {
		t.Fatal(string(js), err)
	}
	if _, err := types.UnmarshalCRL(crl.Raw); err == nil {
		t.Fatal("a CRL without its bin wrapper was accepted")
	}
}

func TestDeviceSyncRoundTrip(t *testing.T) {
	f, err := account.Open(jamidFolder)
	if err != nil {
		t.Fatal(err)
	}
	var peer, peer2 identity.ShortID
	peer[0], peer2[0] = 2, 1
	s := &types.DeviceSync{
		Date: 1675700000000000000, DeviceName: "laptop",
		DevicesKnown: map[identity.ShortID]string{f.DeviceShortID(): "laptop"},
		Devices:      map[identity.LongID]types.KnownDeviceSync{f.DeviceID(): {Name: "laptop", SHA1: f.DeviceShortID()}},
		Peers: map[identity.ShortID]types.Contact{
			peer:  {Added: 10, Confirmed: true, ConversationID: "c"},
			peer2: {Added: 1, Removed: 2, Banned: true},
		},
		TrustRequests: map[identity.ShortID]types.SyncTrustRequest{peer: {Device: f.Device.Cert.RawSubjectPublicKeyInfo, ConversationID: "c", Received: 3, Payload: []byte("v")}},
	}
	b := s.Marshal()
	// std::map order: peer2 (01...) before peer (02...).
	i1 := bytes.Index(b, append([]byte{0xc4, 20}, peer2[:]...))
	i2 := bytes.Index(b, append([]byte{0xc4, 20}, peer[:]...))
	if i1 < 0 || i2 < 0 || i1 > i2 {
		t.Fatalf("peers not in key order (%d, %d)", i1, i2)
	}
	back, err := types.UnmarshalDeviceSync(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Marshal(), b) {
		t.Fatal("round trip changed the bytes")
	}
	if back.Peers[peer2].Banned != true || back.TrustRequests[peer].Received != 3 || back.Devices[f.DeviceID()].SHA1 != f.DeviceShortID() {
		t.Fatalf("%+v", back)
	}
	if _, kind, err := types.Decode(&value.Value{Data: b}); kind != types.KindDeviceSync || err != nil {
		t.Fatal(kind, err)
	}
}

func TestDecodeUnknown(t *testing.T) {
	for _, v := range []*value.Value{
		{Data: []byte("hello")},
		{Data: msgp.AppendUint(msgp.AppendStr(msgp.AppendMapHeader(nil, 1), "x"), 1)},
	} {
		if _, _, err := types.Decode(v); err != types.ErrUnknown {
			t.Errorf("%q: %v", v.Data, err)
		}
	}
	if _, _, err := types.Decode(&value.Value{Cypher: []byte{1}}); err != types.ErrEncrypted {
		t.Fatal(err)
	}
	m := &types.DhtMessage{Service: "s", Data: []byte{1}}
	if d, kind, err := types.Decode(&value.Value{Type: 1, Data: m.Marshal()}); err != nil || kind != types.KindDhtMessage || d.(*types.DhtMessage).Service != "s" {
		t.Fatal(kind, err)
	}
}
