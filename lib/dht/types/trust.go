package types

import (
	"encoding/json"
	"math"

	"github.com/jamikit/jamikit/lib/dht/msgp"
)

// ServiceJami is the service of Jami's trust requests (DHT_TYPE_NS): jamid
// ignores requests for any other service.
const ServiceJami = "cx.ring"

// TrustRequest is dht::TrustRequest (value type 4, encrypted to a device's
// inbox, account.md §6.1): a contact request (Confirm false, Payload the
// sender's vCard) or its acceptance (Confirm true). HEAD's TrustRequestMsg
// adds invitedMs; InvitedMs is nil when the field is absent (2023).
type TrustRequest struct {
	Service        string
	ConversationID string
	Payload        []byte
	Confirm        bool
	InvitedMs      *int64
}

// Marshal packs MSGPACK_DEFINE_MAP(service, conversationId, payload,
// confirm[, invitedMs]).
func (t *TrustRequest) Marshal() []byte {
	n := 4
	if t.InvitedMs != nil {
		n = 5
	}
	b := make([]byte, 0, 64+len(t.Payload)+len(t.ConversationID))
	b = msgp.AppendMapHeader(b, n)
	b = msgp.AppendStr(msgp.AppendStr(b, "service"), t.Service)
	b = msgp.AppendStr(msgp.AppendStr(b, "conversationId"), t.ConversationID)
	b = msgp.AppendBin(msgp.AppendStr(b, "payload"), t.Payload)
	b = msgp.AppendBool(msgp.AppendStr(b, "confirm"), t.Confirm)
	if t.InvitedMs != nil {
		b = msgp.AppendInt(msgp.AppendStr(b, "invitedMs"), *t.InvitedMs)
	}
	return b
}

// UnmarshalTrustRequest reads a 2023 or HEAD trust request.
func UnmarshalTrustRequest(b []byte) (*TrustRequest, error) {
	t := &TrustRequest{}
	err := readMap(b, "TrustRequest", func(k string, r *msgp.Reader) (bool, error) {
		switch k {
		case "service":
			s, err := r.Text()
			t.Service = string(s)
			return false, err
		case "conversationId":
			s, err := r.Text()
			t.ConversationID = string(s)
			return false, err
		case "payload":
			p, err := r.Blob()
			t.Payload = clone(p)
			return false, err
		case "confirm":
			v, err := r.Bool()
			t.Confirm = v
			return false, err
		case "invitedMs":
			v, err := r.Int(math.MinInt64, math.MaxInt64)
			t.InvitedMs = &v
			return false, err
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// MarshalJSON shows the payload as text (it is a vCard) when it is UTF-8.
func (t *TrustRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Service        string `json:"service"`
		ConversationID string `json:"conversation_id"`
		Confirm        bool   `json:"confirm"`
		InvitedMs      *int64 `json:"invited_ms,omitempty"`
		payloadJSON
	}{t.Service, t.ConversationID, t.Confirm, t.InvitedMs, blobJSON(t.Payload)})
}
