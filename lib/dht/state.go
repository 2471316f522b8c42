package dht

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/jamikit/jamikit/lib/dht/msgp"
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
	b := msgp.AppendMapHeader(nil, 4)
	b = msgp.AppendStr(b, "v")
	b = msgp.AppendUint(b, 1)
	b = msgp.AppendStr(b, "id")
	b = msgp.AppendBin(b, s.ID[:])
	b = msgp.AppendStr(b, "nodes")
	b = msgp.AppendArrayHeader(b, len(s.Nodes))
	for _, n := range s.Nodes {
		b = msgp.AppendMapHeader(b, 2)
		b = msgp.AppendStr(b, "id")
		b = msgp.AppendBin(b, n.ID[:])
		b = msgp.AppendStr(b, "addr")
		b = msgp.AppendBin(b, sockaddr(n.Addr))
	}
	b = msgp.AppendStr(b, "values")
	b = msgp.AppendArrayHeader(b, 0)
	return b, nil
}

// UnmarshalBinary reads a state file. Node entries whose address is not
// an IPv4 or IPv6 sockaddr are skipped, as OpenDHT does on import. On
// error s is left as it was.
//
// It accepts what the general msgpack decoder it replaced
// (vmihailenco/msgpack into a tagged struct) accepted, so that a file
// read before still reads the same: see readStruct. Unlike that decoder it
// sizes nothing by a declared count or length before checking it against
// the bytes left, so a short hostile file cannot make it allocate
// gigabytes.
func (s *State) UnmarshalBinary(b []byte) error {
	r := msgp.NewReader(b)
	var id []byte
	var nodes []nodeExport
	err := readStruct(&r, []string{"v", "id", "nodes", "values"}, func(r *msgp.Reader, field int) error {
		var err error
		switch field {
		case 0: // the format version: read, not checked
			err = readInt(r)
		case 1:
			id, err = readBytes(r)
		case 2:
			nodes, err = readNodes(r)
		default: // values: not carried over (see State)
			err = r.Skip()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	if len(id) != 0 && len(id) != wire.HashLen {
		return fmt.Errorf("%w: node id of %d bytes", ErrState, len(id))
	}
	st := State{}
	copy(st.ID[:], id)
	for _, n := range nodes {
		if len(n.id) != wire.HashLen {
			return fmt.Errorf("%w: node id of %d bytes", ErrState, len(n.id))
		}
		a, ok := parseSockaddr(n.addr)
		if !ok {
			continue
		}
		st.Nodes = append(st.Nodes, wire.NodeInfo{ID: wire.InfoHash(n.id), Addr: a})
	}
	*s = st
	return nil
}

// nodeExport is one entry of "nodes" as read, before it is checked.
type nodeExport struct{ id, addr []byte }

// readNodes reads "nodes": an array of node entries, or nil for none.
func readNodes(r *msgp.Reader) ([]nodeExport, error) {
	pos := r.Pos()
	if k, _, _, err := r.Head(); err != nil || k == msgp.KindNil {
		return nil, err
	}
	r.Seek(pos)
	n, err := r.Container(msgp.KindArray) // n is checked against the input
	if err != nil {
		return nil, err
	}
	nodes := make([]nodeExport, n)
	for i := range nodes {
		ne := &nodes[i]
		err := readStruct(r, []string{"id", "addr"}, func(r *msgp.Reader, field int) error {
			var err error
			if field == 0 {
				ne.id, err = readBytes(r)
			} else {
				ne.addr, err = readBytes(r)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// readStruct reads a record with the given field names the way
// vmihailenco/msgpack decodes a struct, calling field with the index of
// each field present (names, not positions, are what OpenDHT writes):
//   - a map, whose keys are str, bin, or nil (which names no field);
//     entries of unknown keys are skipped, and a repeated key is read
//     again, so its last value counts;
//   - nil or an empty array: no field present;
//   - an array of one element per field, in the order of names.
func readStruct(r *msgp.Reader, names []string, field func(r *msgp.Reader, field int) error) error {
	pos := r.Pos()
	k, u, _, err := r.Head()
	if err != nil {
		return err
	}
	switch k {
	case msgp.KindNil:
		return nil
	case msgp.KindArray:
		if u == 0 {
			return nil
		}
		if u != uint64(len(names)) {
			return msgp.ErrType
		}
		for i := range names {
			if err := field(r, i); err != nil {
				return err
			}
		}
		return nil
	case msgp.KindMap:
		r.Seek(pos)
		n, err := r.Container(msgp.KindMap)
		if err != nil {
			return err
		}
		for range n {
			key, err := readBytes(r)
			if err != nil {
				return err
			}
			i := len(names) - 1
			for i >= 0 && names[i] != string(key) {
				i--
			}
			if i < 0 {
				err = r.Skip()
			} else {
				err = field(r, i)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return msgp.ErrType
}

// readBytes reads a str or a bin; nil reads as no bytes.
func readBytes(r *msgp.Reader) ([]byte, error) {
	k, _, p, err := r.Head()
	switch {
	case err != nil:
		return nil, err
	case k == msgp.KindStr || k == msgp.KindBin:
		return p, nil
	case k == msgp.KindNil:
		return nil, nil
	}
	return nil, msgp.ErrType
}

// readInt reads an integer of any sign, or nil.
func readInt(r *msgp.Reader) error {
	k, _, _, err := r.Head()
	if err == nil && k != msgp.KindUint && k != msgp.KindInt && k != msgp.KindNil {
		err = msgp.ErrType
	}
	return err
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
