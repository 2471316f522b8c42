package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func TestCompactNodes(t *testing.T) {
	n4 := []NodeInfo{
		{InfoHashOf([]byte("a")), netip.MustParseAddrPort("127.0.0.1:4222")},
		{InfoHashOf([]byte("b")), netip.MustParseAddrPort("[::ffff:10.1.2.3]:65535")},
	}
	b, err := AppendNodes(nil, n4, false)
	if err != nil || len(b) != 2*NodeInfo4Len {
		t.Fatalf("n4: %d bytes, %v", len(b), err)
	}
	want := append(InfoHashOf([]byte("a")).bytes(), 127, 0, 0, 1, 0x10, 0x7e)
	want = append(want, InfoHashOf([]byte("b")).bytes()...)
	want = append(want, 10, 1, 2, 3, 0xff, 0xff)
	if !bytes.Equal(b, want) {
		t.Errorf("n4\n got %x\nwant %x", b, want)
	}
	got, err := ParseNodes(nil, b, false)
	if err != nil || len(got) != 2 || got[0] != n4[0] || got[1].Addr != netip.MustParseAddrPort("10.1.2.3:65535") {
		t.Errorf("parse n4: %v %v", got, err)
	}
	n6 := []NodeInfo{{InfoHashOf([]byte("c")), netip.MustParseAddrPort("[2001:db8::1]:1")}}
	b, err = AppendNodes(nil, n6, true)
	if err != nil || len(b) != NodeInfo6Len {
		t.Fatal(err)
	}
	if got, err := ParseNodes(nil, b, true); err != nil || got[0] != n6[0] {
		t.Errorf("parse n6: %v %v", got, err)
	}
	if _, err := AppendNodes(nil, n6, false); err == nil {
		t.Errorf("IPv6 node in n4 accepted")
	}
	if _, err := AppendNodes(nil, n4, true); err == nil {
		t.Errorf("IPv4 node in n6 accepted")
	}
	for _, n := range []int{1, 25, 27, 37, 39} {
		if _, err := ParseNodes(nil, make([]byte, n), n > 30); !errors.Is(err, ErrMalformed) {
			t.Errorf("length %d: %v", n, err)
		}
	}
	if got, err := ParseNodes(nil, nil, true); err != nil || len(got) != 0 {
		t.Errorf("empty: %v %v", got, err)
	}
}

func (h InfoHash) bytes() []byte { return h[:] }

func TestIsMartian(t *testing.T) {
	for s, want := range map[string]bool{
		"127.0.0.1:4222":        false,
		"10.0.0.1:1":            false,
		"192.168.1.1:80":        false,
		"[::1]:4222":            false,
		"[fc00::1]:4222":        false,
		"[2001:db8::1]:4222":    false,
		"127.0.0.1:0":           true,
		"0.1.2.3:4222":          true,
		"224.0.0.1:4222":        true,
		"255.255.255.255:4222":  true,
		"223.255.255.255:4222":  false,
		"[ff02::1]:4222":        true,
		"[fe80::1]:4222":        true,
		"[febf::1]:4222":        true,
		"[fec0::1]:4222":        false,
		"[::]:4222":             true,
		"[::ffff:1.2.3.4]:4222": true,
	} {
		if got := IsMartian(netip.MustParseAddrPort(s)); got != want {
			t.Errorf("IsMartian(%s) = %v", s, got)
		}
	}
	if !IsMartian(netip.AddrPort{}) {
		t.Errorf("zero AddrPort is not martian")
	}
}
