package types

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/identity"
)

// DeviceSync is jami::DeviceSync (2023, account.md §5.6): what a device
// putEncrypted's to the inbox of each sibling device (USER_DATA) when its
// contacts, requests or known devices change.
type DeviceSync struct {
	Date          uint64 // system clock ticks (ns)
	DeviceName    string
	DevicesKnown  map[identity.ShortID]string // legacy: short id -> name
	Devices       map[identity.LongID]KnownDeviceSync
	Peers         map[identity.ShortID]Contact
	TrustRequests map[identity.ShortID]SyncTrustRequest
}

// KnownDeviceSync is MSGPACK_DEFINE_MAP(name, sha1).
type KnownDeviceSync struct {
	Name string           `json:"name"`
	SHA1 identity.ShortID `json:"-"`
}

// Contact is jami::Contact as synced: MSGPACK_DEFINE_MAP(added, removed,
// confirmed, banned, conversationId).
type Contact struct {
	Added          int64  `json:"added"`
	Removed        int64  `json:"removed,omitempty"`
	Confirmed      bool   `json:"confirmed"`
	Banned         bool   `json:"banned,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
}

// SyncTrustRequest is jami::TrustRequest as synced: MSGPACK_DEFINE_MAP(device,
// conversationId, received, payload); Device is the requesting device's SPKI
// DER (nil: null key).
type SyncTrustRequest struct {
	Device         []byte
	ConversationID string
	Received       int64
	Payload        []byte
}

// Marshal packs the map(6) with every std::map in key (byte) order.
func (s *DeviceSync) Marshal() []byte {
	b := msgp.AppendMapHeader(nil, 6)
	b = msgp.AppendUint(msgp.AppendStr(b, "date"), s.Date)
	b = msgp.AppendStr(msgp.AppendStr(b, "device_name"), s.DeviceName)

	b = msgp.AppendStr(b, "devices_known")
	b = msgp.AppendMapHeader(b, len(s.DevicesKnown))
	for _, k := range sortedKeys(s.DevicesKnown) {
		b = msgp.AppendStr(msgp.AppendBin(b, k[:]), s.DevicesKnown[k])
	}

	b = msgp.AppendStr(b, "devices")
	b = msgp.AppendMapHeader(b, len(s.Devices))
	for _, k := range sortedKeys(s.Devices) {
		d := s.Devices[k]
		b = msgp.AppendMapHeader(msgp.AppendBin(b, k[:]), 2)
		b = msgp.AppendStr(msgp.AppendStr(b, "name"), d.Name)
		b = msgp.AppendBin(msgp.AppendStr(b, "sha1"), d.SHA1[:])
	}

	b = msgp.AppendStr(b, "peers")
	b = msgp.AppendMapHeader(b, len(s.Peers))
	for _, k := range sortedKeys(s.Peers) {
		c := s.Peers[k]
		b = msgp.AppendMapHeader(msgp.AppendBin(b, k[:]), 5)
		b = msgp.AppendInt(msgp.AppendStr(b, "added"), c.Added)
		b = msgp.AppendInt(msgp.AppendStr(b, "removed"), c.Removed)
		b = msgp.AppendBool(msgp.AppendStr(b, "confirmed"), c.Confirmed)
		b = msgp.AppendBool(msgp.AppendStr(b, "banned"), c.Banned)
		b = msgp.AppendStr(msgp.AppendStr(b, "conversationId"), c.ConversationID)
	}

	b = msgp.AppendStr(b, "trust_requests")
	b = msgp.AppendMapHeader(b, len(s.TrustRequests))
	for _, k := range sortedKeys(s.TrustRequests) {
		t := s.TrustRequests[k]
		b = msgp.AppendMapHeader(msgp.AppendBin(b, k[:]), 4)
		b = msgp.AppendStr(b, "device")
		if t.Device == nil {
			b = append(b, 0xc0)
		} else {
			b = msgp.AppendBin(b, t.Device)
		}
		b = msgp.AppendStr(msgp.AppendStr(b, "conversationId"), t.ConversationID)
		b = msgp.AppendInt(msgp.AppendStr(b, "received"), t.Received)
		b = msgp.AppendBin(msgp.AppendStr(b, "payload"), t.Payload)
	}
	return b
}

func sortedKeys[K identity.ShortID | identity.LongID, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return bytes.Compare(keyBytes(a), keyBytes(b)) < 0
	})
	return keys
}

func keyBytes[K identity.ShortID | identity.LongID](k K) []byte {
	switch v := any(k).(type) {
	case identity.ShortID:
		return v[:]
	case identity.LongID:
		return v[:]
	}
	return nil
}

// UnmarshalDeviceSync reads a DeviceSync (2023; HEAD-era fields it does not
// know are ignored).
func UnmarshalDeviceSync(b []byte) (*DeviceSync, error) {
	s := &DeviceSync{}
	err := readMap(b, "DeviceSync", func(k string, r *msgp.Reader) (bool, error) {
		var err error
		switch k {
		case "date":
			s.Date, err = r.Uint(math.MaxUint64)
		case "device_name":
			var t []byte
			t, err = r.Text()
			s.DeviceName = string(t)
		case "devices_known":
			s.DevicesKnown = map[identity.ShortID]string{}
			err = readHashMap(r, 20, func(h []byte, r *msgp.Reader) error {
				t, err := r.Text()
				s.DevicesKnown[identity.ShortID(h)] = string(t)
				return err
			})
		case "devices":
			s.Devices = map[identity.LongID]KnownDeviceSync{}
			err = readHashMap(r, 32, func(h []byte, r *msgp.Reader) error {
				var d KnownDeviceSync
				err := readMap(mustRaw(r), "KnownDeviceSync", func(k string, r *msgp.Reader) (bool, error) {
					switch k {
					case "name":
						t, err := r.Text()
						d.Name = string(t)
						return false, err
					case "sha1":
						h, err := readHash(r, 20)
						copy(d.SHA1[:], h)
						return false, err
					}
					return true, nil
				})
				s.Devices[identity.LongID(h)] = d
				return err
			})
		case "peers":
			s.Peers = map[identity.ShortID]Contact{}
			err = readHashMap(r, 20, func(h []byte, r *msgp.Reader) error {
				var c Contact
				err := readMap(mustRaw(r), "Contact", func(k string, r *msgp.Reader) (bool, error) {
					var err error
					switch k {
					case "added":
						c.Added, err = r.Int(math.MinInt64, math.MaxInt64)
					case "removed":
						c.Removed, err = r.Int(math.MinInt64, math.MaxInt64)
					case "confirmed":
						c.Confirmed, err = r.Bool()
					case "banned":
						c.Banned, err = r.Bool()
					case "conversationId":
						var t []byte
						t, err = r.Text()
						c.ConversationID = string(t)
					default:
						return true, nil
					}
					return false, err
				})
				s.Peers[identity.ShortID(h)] = c
				return err
			})
		case "trust_requests":
			s.TrustRequests = map[identity.ShortID]SyncTrustRequest{}
			err = readHashMap(r, 20, func(h []byte, r *msgp.Reader) error {
				var t SyncTrustRequest
				err := readMap(mustRaw(r), "TrustRequest", func(k string, r *msgp.Reader) (bool, error) {
					var err error
					switch k {
					case "device":
						if readNil(r) {
							return false, nil
						}
						var p []byte
						if p, err = r.Text(); err == nil {
							t.Device, err = publicKeyDER(p)
						}
					case "conversationId":
						var p []byte
						p, err = r.Text()
						t.ConversationID = string(p)
					case "received":
						t.Received, err = r.Int(math.MinInt64, math.MaxInt64)
					case "payload":
						var p []byte
						p, err = r.Blob()
						t.Payload = clone(p)
					default:
						return true, nil
					}
					return false, err
				})
				s.TrustRequests[identity.ShortID(h)] = t
				return err
			})
		default:
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// mustRaw consumes one object and returns its bytes; on error it returns
// nil, which readMap then reports as truncated.
func mustRaw(r *msgp.Reader) []byte {
	b, _ := r.Raw()
	return b
}

// readHashMap reads a std::map keyed by an InfoHash/PkId (bin of n bytes).
func readHashMap(r *msgp.Reader, n int, val func(h []byte, r *msgp.Reader) error) error {
	cnt, err := r.Container(msgp.KindMap)
	if err != nil {
		return err
	}
	for range cnt {
		h, err := readHash(r, n)
		if err != nil {
			return err
		}
		if err := val(h, r); err != nil {
			return err
		}
	}
	return nil
}

// MarshalJSON is the readable form (ids in hex).
func (s *DeviceSync) MarshalJSON() ([]byte, error) {
	type devJSON struct {
		Name    string `json:"name"`
		ShortID string `json:"short_id"`
	}
	type reqJSON struct {
		DeviceID       string `json:"device_id,omitempty"`
		ConversationID string `json:"conversation_id,omitempty"`
		Received       int64  `json:"received"`
		payloadJSON
	}
	j := struct {
		Date          uint64             `json:"date"`
		DeviceName    string             `json:"device_name"`
		DevicesKnown  map[string]string  `json:"devices_known"`
		Devices       map[string]devJSON `json:"devices"`
		Peers         map[string]Contact `json:"peers"`
		TrustRequests map[string]reqJSON `json:"trust_requests"`
	}{Date: s.Date, DeviceName: s.DeviceName, DevicesKnown: map[string]string{}, Devices: map[string]devJSON{},
		Peers: map[string]Contact{}, TrustRequests: map[string]reqJSON{}}
	for k, v := range s.DevicesKnown {
		j.DevicesKnown[k.String()] = v
	}
	for k, v := range s.Devices {
		j.Devices[k.String()] = devJSON{v.Name, v.SHA1.String()}
	}
	for k, v := range s.Peers {
		j.Peers[k.String()] = v
	}
	for k, v := range s.TrustRequests {
		rj := reqJSON{ConversationID: v.ConversationID, Received: v.Received, payloadJSON: blobJSON(v.Payload)}
		if v.Device != nil {
			rj.DeviceID = identity.LongIDOfSPKI(v.Device).String()
		}
		j.TrustRequests[k.String()] = rj
	}
	return json.Marshal(j)
}
