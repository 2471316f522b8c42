package dht

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

func listenLoopback(t *testing.T, network string, ip netip.Addr) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestBatchIO sends queued datagrams through the outbox (sendmmsg, with
// runs of equal sizes as GSO messages) and reads them with the batch
// reader (recvmmsg): every datagram arrives alone, intact, in order, with
// the sender's address, whatever the grouping.
func TestBatchIO(t *testing.T) {
	for _, fam := range []struct {
		network string
		ip      netip.Addr
	}{{"udp4", netip.MustParseAddr("127.0.0.1")}, {"udp6", netip.IPv6Loopback()}} {
		t.Run(fam.network, func(t *testing.T) {
			src := listenLoopback(t, fam.network, fam.ip)
			dst := listenLoopback(t, fam.network, fam.ip)
			other := listenLoopback(t, fam.network, fam.ip)
			f := &family{conn: src}
			if fam.network == "udp6" {
				f.idx = 1
			}
			var o outbox
			// Sizes: runs of equal sizes (GSO), a shorter last one, a
			// large datagram, and a destination change in the middle.
			sizes := []int{100, 100, 100, 60, 100, 100, 1300, 1300, 1300, 1300, 40000, 7, 7}
			var sent [][]byte
			for i, n := range sizes {
				b := bytes.Repeat([]byte{byte(i)}, n)
				sent = append(sent, b)
				to := dst.LocalAddr().(*net.UDPAddr).AddrPort()
				if i == 5 {
					to = other.LocalAddr().(*net.UDPAddr).AddrPort()
				}
				o.add(f, to, b)
			}
			// More than a batch to one place: the outbox flushes by itself.
			for i := 0; i < txBatch+5; i++ {
				b := []byte(fmt.Sprintf("%04d", i))
				sent = append(sent, b)
				o.add(f, dst.LocalAddr().(*net.UDPAddr).AddrPort(), b)
			}
			o.flush()
			if o.pending() {
				t.Fatal("outbox not empty after flush")
			}

			r, err := newBatchReader(dst)
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			var got [][]byte
			from := src.LocalAddr().(*net.UDPAddr).AddrPort()
			dst.SetReadDeadline(time.Now().Add(5 * time.Second))
			for len(got) < len(sent)-1 {
				err := r.read(func(data []byte, a netip.AddrPort) {
					if a != from {
						t.Errorf("datagram from %v, want %v", a, from)
					}
					got = append(got, bytes.Clone(data))
				})
				if err != nil {
					t.Fatalf("after %d datagrams: %v", len(got), err)
				}
			}
			want := append(sent[:5:5], sent[6:]...)
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("datagram %d: got %d bytes (first %x), want %d (first %x)", i, len(got[i]), got[i][:1], len(want[i]), want[i][:1])
				}
			}
			buf := make([]byte, 2000)
			other.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := other.ReadFromUDPAddrPort(buf)
			if err != nil || !bytes.Equal(buf[:n], sent[5]) {
				t.Fatalf("datagram to the other socket: %d bytes, %v", n, err)
			}
		})
	}
}
