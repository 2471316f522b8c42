package dht

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/jamikit/jamikit/lib/dht/wire"
)

// State is what a node persists to rejoin after a restart: its id and the
// nodes it knew (dhtnode -f). The encoding is OpenDHT's state file,
// {"v": 1, "id": bin(20), "nodes": [{"id", "addr": raw sockaddr}],
// "values": [...]}, so dhtnode can read ours and we can read its (values
// are not carried over: OpenDHT stamps them with a boot-relative clock).
type State struct {
	ID    wire.InfoHash
	Nodes []wire.NodeInfo
}

// ErrState reports a state file that cannot be read.
var ErrState = errors.New("dht: invalid state file")

// MarshalBinary encodes the state as OpenDHT's saveState does.
func (s State) MarshalBinary() ([]byte, error) {
	b := mpMap(nil, 4)
	b = mpStr(b, "v")
	b = mpUint(b, 1)
	b = mpStr(b, "id")
	b = mpBin(b, s.ID[:])
	b = mpStr(b, "nodes")
	b = mpArray(b, len(s.Nodes))
	for _, n := range s.Nodes {
		b = mpMap(b, 2)
		b = mpStr(b, "id")
		b = mpBin(b, n.ID[:])
		b = mpStr(b, "addr")
		b = mpBin(b, sockaddr(n.Addr))
	}
	b = mpStr(b, "values")
	b = mpArray(b, 0)
	return b, nil
}

// UnmarshalBinary reads a state file. Node entries whose address is not
// an IPv4 or IPv6 sockaddr are skipped, as OpenDHT does on import.
func (s *State) UnmarshalBinary(b []byte) error {
	var raw struct {
		V     uint64 `msgpack:"v"`
		ID    []byte `msgpack:"id"`
		Nodes []struct {
			ID   []byte `msgpack:"id"`
			Addr []byte `msgpack:"addr"`
		} `msgpack:"nodes"`
		Values msgpack.RawMessage `msgpack:"values"`
	}
	if err := msgpack.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	if len(raw.ID) != 0 && len(raw.ID) != wire.HashLen {
		return fmt.Errorf("%w: node id of %d bytes", ErrState, len(raw.ID))
	}
	*s = State{}
	copy(s.ID[:], raw.ID)
	for _, n := range raw.Nodes {
		if len(n.ID) != wire.HashLen {
			return fmt.Errorf("%w: node id of %d bytes", ErrState, len(n.ID))
		}
		a, ok := parseSockaddr(n.Addr)
		if !ok {
			continue
		}
		var ni wire.NodeInfo
		copy(ni.ID[:], n.ID)
		ni.Addr = a
		s.Nodes = append(s.Nodes, ni)
	}
	return nil
}

// Linux address families as stored, in host byte order, in a sockaddr.
const (
	afInet  = 2
	afInet6 = 10
)

// sockaddr returns the raw Linux sockaddr_in / sockaddr_in6 bytes of a,
// the family in little-endian host order as on the machines OpenDHT runs.
func sockaddr(a netip.AddrPort) []byte {
	ip := a.Addr().Unmap()
	if ip.Is4() {
		b := make([]byte, 16)
		binary.LittleEndian.PutUint16(b, afInet)
		binary.BigEndian.PutUint16(b[2:], a.Port())
		v := ip.As4()
		copy(b[4:], v[:])
		return b
	}
	b := make([]byte, 28)
	binary.LittleEndian.PutUint16(b, afInet6)
	binary.BigEndian.PutUint16(b[2:], a.Port())
	v := ip.As16()
	copy(b[8:], v[:])
	return b
}

func parseSockaddr(b []byte) (netip.AddrPort, bool) {
	if len(b) < 2 {
		return netip.AddrPort{}, false
	}
	switch binary.LittleEndian.Uint16(b) {
	case afInet:
		if len(b) < 8 {
			return netip.AddrPort{}, false
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:])), true
	case afInet6:
		if len(b) < 24 {
			return netip.AddrPort{}, false
		}
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])).Unmap(), binary.BigEndian.Uint16(b[2:])), true
	}
	return netip.AddrPort{}, false
}
