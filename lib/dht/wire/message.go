package wire

import (
	"fmt"
	"net/netip"
)

// Protocol constants of OpenDHT 2.4.12 (opendht.md §0, §1.2, §10).
const (
	// UserAgent is what 2.4.12 writes in "v". Peers never check it.
	UserAgent = "RNG1"
	// MTU is the largest chunk of a value carried by one value-part datagram.
	MTU = 1280
	// MaxInlineValuesSize: values go inline only while their packed sizes
	// add up to less than this (MAX_PACKET_VALUE_SIZE) ...
	MaxInlineValuesSize = 600
	// MaxInlineValues ... and there are fewer than this many of them.
	MaxInlineValues = 50
	// MaxValueSize is the largest value a node stores (data + cypher +
	// signature + user type).
	MaxValueSize = 65536
	// MaxPartValueSize is the largest packed value size a receiver accepts
	// in a value-part header; larger declared sizes are skipped.
	MaxPartValueSize = MaxValueSize + 32
	// TokenSize is the size of the write tokens OpenDHT issues and accepts.
	TokenSize = 32
	// FamilyIPv4 and FamilyIPv6 are the numbers carried in "w" (Linux
	// AF_INET and AF_INET6).
	FamilyIPv4 = 2
	FamilyIPv6 = 10
)

// Error codes sent in "e" (§2.4).
const (
	ErrCodeNonAuthoritative = 203 // missing info hash, invalid value id
	ErrCodeUnauthorized     = 401 // wrong or expired token
	ErrCodeNotFound         = 404 // refresh for a key with no storage
	// The following exist in OpenDHT for internal use and never travel.
	ErrCodeInvalidTIDSize   = 421
	ErrCodeUnknownTID       = 422
	ErrCodeWrongNodeInfoLen = 423
)

// Error texts exactly as 2.4.12 sends them.
const (
	ErrTextGetNoInfoHash    = "Get_values with no info_hash"
	ErrTextListenNoInfoHash = "Listen with no info_hash"
	ErrTextListenWrongToken = "Listen with wrong token"
	ErrTextPutNoInfoHash    = "Put with no info_hash"
	ErrTextPutWrongToken    = "Put with wrong token"
	ErrTextPutInvalidID     = "Put with invalid id"
	ErrTextStorageNotFound  = "Access operation for unknown storage"
)

// Kind classifies a message as OpenDHT's MessageType does; the order is the
// same, so every kind after KindReply is rate-limited as a request.
type Kind uint8

const (
	KindInvalid     Kind = iota
	KindError            // "e" present
	KindReply            // "r" present: any reply (pong, nodes/values, put ack, listen confirmation)
	KindPing             // request "ping"
	KindFind             // request "find"
	KindGet              // request "get"
	KindPut              // request "put"
	KindRefresh          // request "refresh"
	KindListen           // request "listen"
	KindValueData        // "p": one or more value parts
	KindValueUpdate      // "u": legacy (listen version 0) refreshed/expired notification
	KindUpdate           // request "update": listener notification (version 1)
)

var kindNames = [...]string{"invalid", "error", "reply", "ping", "find", "get", "put", "refresh",
	"listen", "value-part", "legacy-update", "update"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// IsRequest reports the kinds OpenDHT counts against its rate limiter
// (everything above Reply; value parts are accounted separately).
func (k Kind) IsRequest() bool { return k > KindReply && k != KindValueData && k <= KindUpdate }

// queryName is the "q" string of a request kind.
func (k Kind) queryName() string {
	switch k {
	case KindPing:
		return "ping"
	case KindFind:
		return "find"
	case KindGet:
		return "get"
	case KindPut:
		return "put"
	case KindRefresh:
		return "refresh"
	case KindListen:
		return "listen"
	case KindUpdate:
		return "update"
	}
	return ""
}

// Want is the "w" argument of find and get: the address families whose
// nodes the requester wants. The zero value means "w" is absent, in which
// case a replier sends nodes of the requester's own family only.
type Want uint8

const (
	Want4 Want = 1 << iota // 2 (AF_INET) listed
	Want6                  // 10 (AF_INET6) listed
	// WantEmpty marks a "w" that is present but lists no known family:
	// OpenDHT then sends no nodes at all, unlike an absent "w".
	WantEmpty Want = 1 << 7
)

// Families tells which node lists a reply must carry, given the family the
// request arrived on.
func (w Want) Families(requesterIPv6 bool) (v4, v6 bool) {
	if w == 0 {
		return !requesterIPv6, requesterIPv6
	}
	return w&Want4 != 0, w&Want6 != 0
}

// ValueSize is an integer element of "values": the packed size of a value
// that follows in value-part datagrams, at position Index of the array.
type ValueSize struct {
	Index uint32
	Size  uint64
}

// Part is one entry of a value-part datagram: bytes [Offset, Offset+len(Data))
// of the value at position Index of the header's "values" array.
type Part struct {
	Index  uint32
	Offset uint64
	Data   []byte
}

// Message is one OpenDHT datagram, decoded or to be encoded. A single
// struct covers every kind, as OpenDHT's ParsedMessage does; each kind uses
// the fields listed in §3. Decode fills it without copying: byte slices
// point into the datagram, which must outlive the Message (see Clone).
// Reusing one Message for many Decode calls reuses its slices' storage.
type Message struct {
	Kind Kind
	TID  uint32 // "t"; replies echo the request's, value parts reuse the header's
	Net  uint32 // "n": network id; written only when non-zero
	UA   []byte // "v": user agent; written only when non-empty (2.4.12 writes "RNG1")
	// Client is "s": the sender is a client-only node. 2.4.12 reads it but
	// never writes it; newer nodes write it after "n".
	Client bool

	// Arguments: the "a" map of requests, the "r" map of replies and
	// errors, the "u" map of legacy updates.
	ID         InfoHash   // "id": the sender's node id
	Hash       InfoHash   // "h": the key (get, put, listen, refresh, update)
	Target     InfoHash   // "target" (find)
	Want       Want       // "w" (find, get)
	Query      []byte     // "q": the raw query map {"s":[..],"w":[..]} (get, listen); nil when absent
	Token      []byte     // "token"
	VID        uint64     // "vid": value id (put reply, refresh and its reply)
	Addr       netip.Addr // "sa": the requester's address as the replier saw it
	Nodes4     []byte     // "n4": compact IPv4 node info (see ParseNodes)
	Nodes6     []byte     // "n6": compact IPv6 node info
	Created    int64      // "c": creation time, Unix seconds, when HasCreated
	HasCreated bool
	SID        uint32 // "sid": listen socket id
	Version    int32  // "ve": listen protocol version (OpenDHT sends 1)
	// Values holds the inline elements of "values", each a packed value,
	// never parsed here. When encoding, the values are written inline or
	// as sizes followed by value parts, by OpenDHT's rule (NeedsParts).
	Values [][]byte
	// Sizes holds the integer elements of "values" (a header: the values
	// follow as value parts). When encoding, a non-nil Sizes writes
	// exactly this header and Values fill the other positions.
	Sizes []ValueSize
	// InlineValues makes the encoder write Values inline whatever their
	// number and size. Decode sets it when "values" came inline, so that a
	// received message re-encodes as it was received; leave it false when
	// building a message to send.
	InlineValues bool
	// Fields is the raw "fileds" map {"f":[field...],"v":[...]}, the
	// reply to a query with a SELECT (the key really is misspelled);
	// lib/dht/value packs and unpacks it. nil when absent. Decode checks
	// its shape only: "f" an array of integers, "v" an array, and a
	// non-empty "f" when "v" is present.
	Fields    []byte
	Refreshed []uint64 // "re"
	Expired   []uint64 // "exp"

	// "e": error code and text.
	ErrCode uint16
	ErrText []byte

	// "p": the entries of a value-part datagram.
	Parts []Part
}

// Reset clears m for reuse, keeping the storage of its slices.
func (m *Message) Reset() {
	*m = Message{
		Values:    m.Values[:0],
		Sizes:     m.Sizes[:0],
		Refreshed: m.Refreshed[:0],
		Expired:   m.Expired[:0],
		Parts:     m.Parts[:0],
	}
}

// ProtocolError is an "e" message seen as a Go error.
type ProtocolError struct {
	Code uint16
	Text string
}

func (e *ProtocolError) Error() string { return fmt.Sprintf("dht error %d: %s", e.Code, e.Text) }

// Err returns the error carried by a KindError message, or nil.
func (m *Message) Err() error {
	if m.Kind != KindError {
		return nil
	}
	return &ProtocolError{Code: m.ErrCode, Text: string(m.ErrText)}
}
