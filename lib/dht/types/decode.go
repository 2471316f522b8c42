package types

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/value"
)

// Kinds Decode names.
const (
	KindDeviceAnnouncement    = "DeviceAnnouncement"
	KindTrustRequest          = "TrustRequest"
	KindImMessage             = "ImMessage"
	KindIceCandidates         = "IceCandidates"
	KindPeerConnectionRequest = "PeerConnectionRequest"
	KindCertificate           = "Certificate"
	KindCRL                   = "CRL"
	KindDeviceSync            = "DeviceSync"
	KindDhtMessage            = "DhtMessage"
)

// ErrUnknown is returned by Decode for data that is none of the known types.
var ErrUnknown = errors.New("not a known Jami value type")

// ErrEncrypted is returned by Decode for a value still encrypted.
var ErrEncrypted = errors.New("value is encrypted (decrypt it first)")

// Decode recognises a value's payload from its type id, user type and
// content, best-effort, the way a person debugging would: type 8 is a
// certificate, 4 a trust request, 3 an IM, 5 ICE candidates, 1 a DHT
// message; a USER_DATA value is a peer connection request (user type
// "peer_request"), a device announcement (a signed map with "dev"), a CRL
// (bin of a DER CRL) or a device sync (a map with "device_name"). The
// result marshals to readable JSON.
func Decode(v *value.Value) (any, string, error) {
	if v.IsEncrypted() {
		return nil, "", ErrEncrypted
	}
	d := v.Data
	switch v.Type {
	case value.Certificate.ID:
		c, err := UnmarshalCertificate(d)
		return c, KindCertificate, err
	case value.TrustRequest.ID:
		t, err := UnmarshalTrustRequest(d)
		return t, KindTrustRequest, err
	case value.ImMessage.ID:
		m, err := UnmarshalImMessage(d)
		return m, KindImMessage, err
	case value.IceCandidates.ID:
		c, err := UnmarshalIceCandidates(d)
		return c, KindIceCandidates, err
	case value.DhtMessage.ID:
		m, err := UnmarshalDhtMessage(d)
		return m, KindDhtMessage, err
	}
	if v.UserType == UserTypePeerRequest {
		p, err := UnmarshalPeerConnectionRequest(d)
		return p, KindPeerConnectionRequest, err
	}
	if m, err := msgp.ReadMap(d); err == nil {
		switch {
		case m.Find("dev") != nil:
			a, err := UnmarshalDeviceAnnouncement(d)
			return a, KindDeviceAnnouncement, err
		case m.Find("device_name") != nil:
			s, err := UnmarshalDeviceSync(d)
			return s, KindDeviceSync, err
		case m.Find("service") != nil && m.Find("confirm") != nil:
			t, err := UnmarshalTrustRequest(d)
			return t, KindTrustRequest, err
		}
		return nil, "", ErrUnknown
	}
	if c, err := UnmarshalCRL(d); err == nil {
		return c, KindCRL, nil
	}
	return nil, "", ErrUnknown
}

// DhtMessage is dht::DhtMessage (value type 1): MSGPACK_DEFINE(service,
// data), an array(2).
type DhtMessage struct {
	Service string
	Data    []byte
}

// Marshal packs array(2) [str service, bin data].
func (m *DhtMessage) Marshal() []byte {
	b := msgp.AppendArrayHeader(nil, 2)
	b = msgp.AppendStr(b, m.Service)
	return msgp.AppendBin(b, m.Data)
}

// UnmarshalDhtMessage reads a DhtMessage.
func UnmarshalDhtMessage(b []byte) (*DhtMessage, error) {
	r := msgp.NewReader(b)
	n, err := r.Container(msgp.KindArray)
	if err != nil {
		return nil, invalid("DhtMessage", err)
	}
	if n != 2 {
		return nil, invalid("DhtMessage", fmt.Errorf("array of %d, want 2", n))
	}
	s, err := r.Text()
	if err != nil {
		return nil, invalid("DhtMessage.service", err)
	}
	d, err := r.Blob()
	if err != nil {
		return nil, invalid("DhtMessage.data", err)
	}
	return &DhtMessage{Service: string(s), Data: clone(d)}, nil
}

func (m *DhtMessage) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Service string `json:"service"`
		payloadJSON
	}{m.Service, blobJSON(m.Data)})
}
