package types

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/jamikit/jamikit/lib/dht/msgp"
)

func hex64(id uint64) string { return strconv.FormatUint(id, 16) }

// IceCandidates is dht::IceCandidates (value type 5, encrypted): the
// pre-dhtnet ICE exchange, packed as array(2) [uint id, bin ice_data].
type IceCandidates struct {
	ID      uint64
	IceData []byte
}

// Marshal packs array(2) [id, bin(ice_data)] (IceCandidates::msgpack_pack).
func (c *IceCandidates) Marshal() []byte {
	b := msgp.AppendArrayHeader(make([]byte, 0, 16+len(c.IceData)), 2)
	b = msgp.AppendUint(b, c.ID)
	return msgp.AppendBin(b, c.IceData)
}

// UnmarshalIceCandidates reads an array of at least 2 elements (extra ones
// are ignored, as msgpack_unpack does); ice_data may be bin, str or an
// array of bytes (unpackBlob, for peers built with msgpack 1.0).
func UnmarshalIceCandidates(b []byte) (*IceCandidates, error) {
	r := msgp.NewReader(b)
	n, err := r.Container(msgp.KindArray)
	if err != nil {
		return nil, invalid("IceCandidates", err)
	}
	if n < 2 {
		return nil, invalid("IceCandidates", msgp.ErrType)
	}
	c := &IceCandidates{}
	if c.ID, err = r.Uint(math.MaxUint64); err != nil {
		return nil, invalid("IceCandidates.id", err)
	}
	d, err := r.Blob()
	if err != nil {
		return nil, invalid("IceCandidates.ice_data", err)
	}
	c.IceData = clone(d)
	return c, nil
}

func (c *IceCandidates) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID string `json:"id"`
		payloadJSON
	}{hex64(c.ID), blobJSON(c.IceData)})
}

// UserTypePeerRequest is the user type of connection requests (connection.md §2.2).
const UserTypePeerRequest = "peer_request"

// PeerConnectionRequest is dhtnet's PeerConnectionRequest (jamid 13.7.0's
// ConnectionManager): a USER_DATA value with user type "peer_request",
// encrypted to the peer device, at SHA-1("peer:" + device id).
type PeerConnectionRequest struct {
	ID       uint64
	IceMsg   string
	IsAnswer bool
	ConnType string
}

// Marshal packs MSGPACK_DEFINE_MAP(id, ice_msg, isAnswer, connType).
func (p *PeerConnectionRequest) Marshal() []byte {
	b := make([]byte, 0, 64+len(p.IceMsg))
	b = msgp.AppendMapHeader(b, 4)
	b = msgp.AppendUint(msgp.AppendStr(b, "id"), p.ID)
	b = msgp.AppendStr(msgp.AppendStr(b, "ice_msg"), p.IceMsg)
	b = msgp.AppendBool(msgp.AppendStr(b, "isAnswer"), p.IsAnswer)
	return msgp.AppendStr(msgp.AppendStr(b, "connType"), p.ConnType)
}

// UnmarshalPeerConnectionRequest reads a request or answer.
func UnmarshalPeerConnectionRequest(b []byte) (*PeerConnectionRequest, error) {
	p := &PeerConnectionRequest{}
	err := readMap(b, "PeerConnectionRequest", func(k string, r *msgp.Reader) (bool, error) {
		var err error
		var s []byte
		switch k {
		case "id":
			p.ID, err = r.Uint(math.MaxUint64)
		case "ice_msg":
			s, err = r.Text()
			p.IceMsg = string(s)
		case "isAnswer":
			p.IsAnswer, err = r.Bool()
		case "connType":
			s, err = r.Text()
			p.ConnType = string(s)
		default:
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PeerConnectionRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID       uint64 `json:"id"`
		IceMsg   string `json:"ice_msg"`
		IsAnswer bool   `json:"is_answer"`
		ConnType string `json:"conn_type,omitempty"`
	}{p.ID, p.IceMsg, p.IsAnswer, p.ConnType})
}
