package types

import (
	"bytes"
	"testing"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/identity"
)

// seeds are well-formed payloads of every type, so the fuzzer starts from
// valid structure and mutates into the edge cases.
func seeds(f *testing.F) {
	ms := int64(3)
	var dev identity.ShortID
	dev[0] = 9
	for _, b := range [][]byte{
		(&DeviceAnnouncement{Dev: dev, PK: nil}).Marshal(),
		(&TrustRequest{Service: ServiceJami, ConversationID: "c", Payload: []byte("v"), InvitedMs: &ms}).Marshal(),
		(&ImMessage{ID: 1, Msg: "m", Metadatas: map[string]string{"k": "v"}}).Marshal(),
		(&IceCandidates{ID: 2, IceData: []byte("i")}).Marshal(),
		(&PeerConnectionRequest{ID: 3, IceMsg: "x"}).Marshal(),
		(&DhtMessage{Service: "s", Data: []byte{1}}).Marshal(),
		(&DeviceSync{Date: 1, DeviceName: "d", DevicesKnown: map[identity.ShortID]string{dev: "n"}}).Marshal(),
		msgp.AppendBin(nil, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")),
		{0x92, 0x01, 0x91, 0x78},
		{0x81, 0xc4, 0x01, 0x00, 0x01},
		{0xdf, 0xff, 0xff, 0xff, 0xff},
	} {
		f.Add(b, uint16(0), "")
	}
	f.Add([]byte{0x84}, uint16(4), "")
	f.Add([]byte{0x84}, uint16(0), UserTypePeerRequest)
}

// FuzzDecode: no input makes a decoder panic, and whatever decodes packs
// back to something that decodes to the same packing (idempotent codecs).
func FuzzDecode(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte, typ uint16, utype string) {
		v := &value.Value{Type: typ % 9, Data: data, UserType: utype}
		d, _, err := Decode(v)
		if err != nil {
			return
		}
		type marshaler interface{ Marshal() []byte }
		m, ok := d.(marshaler)
		if !ok {
			t.Fatalf("%T has no Marshal", d)
		}
		once := m.Marshal()
		v2 := &value.Value{Type: v.Type, Data: once, UserType: utype}
		d2, _, err := Decode(v2)
		if err != nil {
			// Decoding is tolerant where packing is canonical (str for
			// bin, extra keys): the canonical form must still decode.
			t.Fatalf("re-packed %T does not decode: %v", d, err)
		}
		if twice := d2.(marshaler).Marshal(); !bytes.Equal(once, twice) {
			t.Fatalf("%T: packing not stable:\n%x\n%x", d, once, twice)
		}
	})
}

// FuzzUnmarshal runs every decoder on the same bytes (Decode picks one).
func FuzzUnmarshal(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte, _ uint16, _ string) {
		UnmarshalDeviceAnnouncement(data)
		UnmarshalTrustRequest(data)
		UnmarshalImMessage(data)
		UnmarshalIceCandidates(data)
		UnmarshalPeerConnectionRequest(data)
		UnmarshalCertificate(data)
		UnmarshalCRL(data)
		UnmarshalDeviceSync(data)
		UnmarshalDhtMessage(data)
	})
}
