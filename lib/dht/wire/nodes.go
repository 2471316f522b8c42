package wire

import (
	"encoding/binary"
	"net/netip"
)

// Compact node info (§3.10): fixed-size records, node id then address and
// port in network byte order.
const (
	NodeInfo4Len = HashLen + 4 + 2  // 26: "n4" record
	NodeInfo6Len = HashLen + 16 + 2 // 38: "n6" record
	// SendNodes is how many nodes per family OpenDHT puts in a reply.
	SendNodes = 8
)

var errNodeFamily = error(decodeError("node address of the wrong family"))

// NodeInfo is a node as carried in "n4"/"n6".
type NodeInfo struct {
	ID   InfoHash
	Addr netip.AddrPort
}

// ParseNodes appends the records of a compact node list to dst. v6 selects
// the "n6" record format. A length that is not a whole number of records is
// an error (OpenDHT drops the message). Nothing is filtered here: skipping
// our own id, martian and blacklisted addresses, and the loopback rewrite
// of §1.4 are the engine's business (see IsMartian).
func ParseNodes(dst []NodeInfo, b []byte, v6 bool) ([]NodeInfo, error) {
	size := NodeInfo4Len
	if v6 {
		size = NodeInfo6Len
	}
	if len(b)%size != 0 {
		return dst, errNodeInfoLen
	}
	for ; len(b) > 0; b = b[size:] {
		var n NodeInfo
		copy(n.ID[:], b)
		var ip netip.Addr
		if v6 {
			ip = netip.AddrFrom16([16]byte(b[HashLen : HashLen+16]))
		} else {
			ip = netip.AddrFrom4([4]byte(b[HashLen : HashLen+4]))
		}
		n.Addr = netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[size-2:size]))
		dst = append(dst, n)
	}
	return dst, nil
}

// AppendNode appends the compact record of n: 26 bytes for an IPv4 address
// (IPv4-mapped IPv6 addresses count as IPv4), 38 for IPv6.
func AppendNode(b []byte, n NodeInfo) []byte {
	b = append(b, n.ID[:]...)
	ip := n.Addr.Addr().Unmap()
	if ip.Is4() {
		a := ip.As4()
		b = append(b, a[:]...)
	} else {
		a := ip.As16()
		b = append(b, a[:]...)
	}
	return binary.BigEndian.AppendUint16(b, n.Addr.Port())
}

// AppendNodes appends the compact list of nodes for one family (v6 selects
// "n6"), refusing nodes of the other family. Callers pass at most
// SendNodes nodes, closest first, as OpenDHT does.
func AppendNodes(b []byte, nodes []NodeInfo, v6 bool) ([]byte, error) {
	for _, n := range nodes {
		if n.Addr.Addr().Unmap().Is4() == v6 {
			return b, errNodeFamily
		}
		b = AppendNode(b, n)
	}
	return b, nil
}

// IsMartian reports the addresses OpenDHT 2.4.12 drops, as packet sources
// and as entries of node lists (§1.4): port 0; IPv4 0.0.0.0/8 and
// 224.0.0.0/3; IPv6 ff00::/8, fe80::/10, :: and ::ffff:0:0/96 (callers
// unmap IPv4-mapped sources first, as OpenDHT does). Loopback and private
// ranges are not martian.
func IsMartian(ap netip.AddrPort) bool {
	if ap.Port() == 0 {
		return true
	}
	ip := ap.Addr()
	switch {
	case ip.Is4():
		a := ip.As4()
		return a[0] == 0 || a[0]&0xe0 == 0xe0
	case ip.Is6():
		a := ip.As16()
		return a[0] == 0xff ||
			(a[0] == 0xfe && a[1]&0xc0 == 0x80) ||
			ip.IsUnspecified() ||
			ip.Is4In6()
	}
	return true
}
