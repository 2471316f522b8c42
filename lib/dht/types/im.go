package types

import (
	"encoding/json"
	"math"
	"sort"

	"github.com/jamikit/jamikit/lib/dht/msgp"
)

// ImStatus is dht::ImStatus.
type ImStatus uint8

const (
	ImNone ImStatus = iota
	ImTyping
	ImReceived
	ImRead
)

func (s ImStatus) String() string {
	switch s {
	case ImNone:
		return "none"
	case ImTyping:
		return "typing"
	case ImReceived:
		return "received"
	case ImRead:
		return "read"
	}
	return "unknown"
}

// ImMessage is dht::ImMessage (value type 3, signed and usually encrypted):
// the pre-swarm text message and its delivery receipts.
type ImMessage struct {
	ID        uint64
	Msg       string
	Date      int64 // seconds since the epoch (C long)
	Status    ImStatus
	Datatype  string
	Metadatas map[string]string
}

// Marshal packs MSGPACK_DEFINE_MAP(id, msg, date, status, datatype,
// metadatas); the metadata map is in std::map (byte) order.
func (m *ImMessage) Marshal() []byte {
	b := make([]byte, 0, 64+len(m.Msg))
	b = msgp.AppendMapHeader(b, 6)
	b = msgp.AppendUint(msgp.AppendStr(b, "id"), m.ID)
	b = msgp.AppendStr(msgp.AppendStr(b, "msg"), m.Msg)
	b = msgp.AppendInt(msgp.AppendStr(b, "date"), m.Date)
	b = msgp.AppendUint(msgp.AppendStr(b, "status"), uint64(m.Status))
	b = msgp.AppendStr(msgp.AppendStr(b, "datatype"), m.Datatype)
	b = msgp.AppendStr(b, "metadatas")
	keys := make([]string, 0, len(m.Metadatas))
	for k := range m.Metadatas {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = msgp.AppendMapHeader(b, len(keys))
	for _, k := range keys {
		b = msgp.AppendStr(msgp.AppendStr(b, k), m.Metadatas[k])
	}
	return b
}

// UnmarshalImMessage reads an ImMessage.
func UnmarshalImMessage(b []byte) (*ImMessage, error) {
	m := &ImMessage{}
	err := readMap(b, "ImMessage", func(k string, r *msgp.Reader) (bool, error) {
		var err error
		switch k {
		case "id":
			m.ID, err = r.Uint(math.MaxUint64)
		case "msg":
			var s []byte
			s, err = r.Text()
			m.Msg = string(s)
		case "date":
			m.Date, err = r.Int(math.MinInt64, math.MaxInt64)
		case "status":
			var s uint64
			s, err = r.Uint(math.MaxUint8)
			m.Status = ImStatus(s)
		case "datatype":
			var s []byte
			s, err = r.Text()
			m.Datatype = string(s)
		case "metadatas":
			m.Metadatas, err = readStrMap(r)
		default:
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func readStrMap(r *msgp.Reader) (map[string]string, error) {
	n, err := r.Container(msgp.KindMap)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, n)
	for range n {
		k, err := r.Text()
		if err != nil {
			return nil, err
		}
		v, err := r.Text()
		if err != nil {
			return nil, err
		}
		out[string(k)] = string(v)
	}
	return out, nil
}

// MarshalJSON is the readable form.
func (m *ImMessage) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID        string            `json:"id"`
		Msg       string            `json:"msg"`
		Date      int64             `json:"date"`
		Status    string            `json:"status"`
		Datatype  string            `json:"datatype,omitempty"`
		Metadatas map[string]string `json:"metadatas,omitempty"`
	}{hex64(m.ID), m.Msg, m.Date, m.Status.String(), m.Datatype, m.Metadatas})
}
