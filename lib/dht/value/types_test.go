package value

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	cases := []struct {
		id      uint16
		name    string
		exp     time.Duration
		secured bool
	}{
		{0, "User Data", 10 * time.Minute, true},
		{1, "DHT message", 5 * time.Minute, true},
		{2, "Internet Service Announcement", 15 * time.Minute, false},
		{3, "IM message", 5 * time.Minute, true},
		{4, "Certificate trust request", 7 * 24 * time.Hour, true},
		{5, "ICE candidates", time.Minute, true},
		{8, "Certificate", 7 * 24 * time.Hour, false},
		{6, "User Data", 10 * time.Minute, false}, // unregistered
		{9999, "User Data", 10 * time.Minute, false},
	}
	for _, c := range cases {
		ty := r.Get(c.id)
		if ty.Name != c.name || ty.Expiration != c.exp || ty.Secured != c.secured {
			t.Errorf("type %d: %+v", c.id, ty)
		}
	}
}

func TestStorePolicies(t *testing.T) {
	key := fixtureKey(t)
	addr := netip.MustParseAddrPort("192.0.2.7:5555")
	var k wire.InfoHash

	big := &Value{ID: 1, Data: make([]byte, MaxValueSize+1)}
	if _, ok := UserData.AllowStore(k, big, addr); ok {
		t.Fatal("oversized unsigned value stored")
	}
	// A signed value of a secured type needs only a valid signature.
	sbig := &Value{ID: 1, Data: make([]byte, MaxValueSize+1)}
	if err := sbig.Sign(key); err != nil {
		t.Fatal(err)
	}
	if _, ok := UserData.AllowStore(k, sbig, addr); !ok {
		t.Fatal("signed value refused")
	}
	if _, ok := Unregistered.AllowStore(k, sbig, addr); ok {
		t.Fatal("unregistered type must apply the size check to signed values")
	}
	forged := *sbig
	forged.Seq = 9
	if _, ok := UserData.AllowStore(k, &forged, addr); ok {
		t.Fatal("bad signature stored")
	}

	// DhtMessage: [service, data]; an empty service is refused.
	msg := func(svc string) *Value {
		d := msgp.AppendArrayHeader(nil, 2)
		d = msgp.AppendStr(d, svc)
		d = msgp.AppendBin(d, []byte{1})
		return &Value{ID: 1, Type: 1, Data: d}
	}
	if _, ok := DhtMessage.AllowStore(k, msg(""), addr); ok {
		t.Fatal("empty service stored")
	}
	if _, ok := DhtMessage.AllowStore(k, msg("svc"), addr); !ok {
		t.Fatal("service refused")
	}
	if _, ok := DhtMessage.AllowStore(k, &Value{ID: 1, Type: 1, Data: []byte{0xc1}}, addr); !ok {
		t.Fatal("unparsable DhtMessage must fall back to the size check")
	}

	// IP service: the storer rewrites the address with the sender's.
	ann := msgp.AppendBin(nil, sockaddrBytes(netip.MustParseAddrPort("10.1.2.3:4000")))
	nv, ok := IPService.AllowStore(k, &Value{ID: 3, Type: 2, Data: ann}, addr)
	if !ok {
		t.Fatal("service announcement refused")
	}
	want := unhex(t, `c4 10 0200 0fa0 c0000207 0000000000000000`)
	if !bytes.Equal(nv.Data, want) || nv.ID != 3 || nv.Type != 2 {
		t.Fatalf("rewritten data % x", nv.Data)
	}
	nv6, ok := IPService.AllowStore(k, &Value{ID: 3, Type: 2, Data: ann}, netip.MustParseAddrPort("[2001:db8::1]:9"))
	if !ok || len(nv6.Data) != 2+28 || nv6.Data[2] != 10 || nv6.Data[4] != 0x0f || nv6.Data[5] != 0xa0 {
		t.Fatalf("v6 rewrite % x", nv6.Data)
	}
	zero := msgp.AppendBin(nil, nil) // dhtnode's broken "a" command: 0-byte sockaddr
	if _, ok := IPService.AllowStore(k, &Value{ID: 3, Type: 2, Data: zero}, addr); ok {
		t.Fatal("port 0 announcement stored")
	}

	// Certificate: stored only at its public key id.
	crt := msgp.AppendBin(nil, readFixture(t, "ring_device.crt"))
	dev, _ := wire.ParseInfoHash("c05576addc332921dfd4739e74becc109ad993cc")
	cv := &Value{ID: 1, Type: 8, Data: crt}
	if _, ok := Certificate.AllowStore(dev, cv, addr); !ok {
		t.Fatal("certificate refused at its key id")
	}
	if _, ok := Certificate.AllowStore(k, cv, addr); ok {
		t.Fatal("certificate stored at another key")
	}
}

func TestEditPolicies(t *testing.T) {
	key := fixtureKey(t)
	var k wire.InfoHash
	addr := netip.MustParseAddrPort("127.0.0.1:1")
	mk := func(seq uint16, data string) *Value {
		v := &Value{ID: 5, Seq: seq, Data: []byte(data)}
		if err := v.Sign(key); err != nil {
			t.Fatal(err)
		}
		return v
	}
	old := mk(3, "a")
	if !UserData.AllowEdit(k, old, mk(4, "b"), addr) {
		t.Fatal("higher seq refused")
	}
	if UserData.AllowEdit(k, old, mk(2, "b"), addr) {
		t.Fatal("lower seq accepted")
	}
	if UserData.AllowEdit(k, old, mk(3, "b"), addr) {
		t.Fatal("same seq, other data accepted")
	}
	if !UserData.AllowEdit(k, old, mk(3, "a"), addr) {
		t.Fatal("same signed bytes refused")
	}
	if UserData.AllowEdit(k, old, &Value{ID: 5, Data: []byte("x")}, addr) {
		t.Fatal("unsigned replacement accepted")
	}
	if UserData.AllowEdit(k, &Value{ID: 5, Data: []byte("x")}, mk(9, "y"), addr) {
		t.Fatal("unsigned values are never edited")
	}
	crt := readFixture(t, "ring_device.crt")
	a := &Value{ID: 1, Type: 8, Data: msgp.AppendBin(nil, crt)}
	// Only the device certificate (first in the chain) counts.
	second := crt[strings.Index(string(crt), "-----END CERTIFICATE-----")+26:]
	b := &Value{ID: 1, Type: 8, Data: msgp.AppendBin(nil, second)}
	if !Certificate.AllowEdit(k, a, a, addr) || Certificate.AllowEdit(k, a, b, addr) {
		t.Fatal("certificate edit policy")
	}
}
