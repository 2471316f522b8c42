package wire

import (
	"errors"

	"github.com/jamikit/jamikit/lib/dht/msgp"
)

// Encoding errors.
var (
	ErrKind          = errors.New("wire: message kind cannot be encoded")
	ErrRawValue      = errors.New("wire: raw msgpack is not exactly one object")
	ErrSizes         = errors.New("wire: Sizes indices do not fit the values array")
	ErrValueTooLarge = errors.New("wire: packed value larger than the value-part limit")
)

// Argument keys, in the order used for keys that are present but not part
// of a kind's usual layout (written after the usual ones, so that any
// decoded message re-encodes to bytes that decode to the same message).
type argKey uint8

const (
	kID argKey = iota
	kVE
	kH
	kTarget
	kSID
	kQ
	kW
	kVID
	kSA
	kN4
	kN6
	kC
	kValues
	kFileds
	kToken
	kRe
	kExp
	numArgKeys
)

// forced marks a key of a layout that OpenDHT writes even when empty.
const forced argKey = 0x80

// The argument layouts OpenDHT 2.4.12 writes (src/network_engine.cpp).
var (
	layoutPing         = []argKey{kID | forced}
	layoutFind         = []argKey{kID | forced, kTarget | forced, kW}
	layoutGet          = []argKey{kID | forced, kH | forced, kQ, kW}
	layoutListen       = []argKey{kID | forced, kVE, kH | forced, kToken | forced, kSID | forced, kQ}
	layoutPut          = []argKey{kID | forced, kH | forced, kValues, kC, kToken | forced}
	layoutRefresh      = []argKey{kID | forced, kH | forced, kVID | forced, kToken | forced}
	layoutUpdateValues = []argKey{kID | forced, kVE, kH | forced, kSID | forced, kValues, kC, kToken | forced}
	layoutUpdateNotify = []argKey{kID | forced, kSID | forced, kToken, kRe, kExp}
	layoutLegacyUpdate = []argKey{kID | forced, kSID, kToken, kRe, kExp}
	layoutReply        = []argKey{kID | forced, kVID, kSA, kN4, kN6, kToken, kValues, kFileds, kRe, kExp}
	layoutErrorArgs    = []argKey{kID | forced}
)

func (m *Message) has(k argKey) bool {
	switch k {
	case kID:
		return !m.ID.IsZero()
	case kVE:
		return m.Version != 0
	case kH:
		return !m.Hash.IsZero()
	case kTarget:
		return !m.Target.IsZero()
	case kSID:
		return m.SID != 0
	case kQ:
		return m.Query != nil
	case kW:
		return m.Want != 0
	case kVID:
		return m.VID != 0
	case kSA:
		return m.Addr.IsValid()
	case kN4:
		return len(m.Nodes4) > 0
	case kN6:
		return len(m.Nodes6) > 0
	case kC:
		return m.HasCreated
	case kValues:
		return len(m.Values)+len(m.Sizes) > 0
	case kFileds:
		return m.Fields != nil
	case kToken:
		return len(m.Token) > 0
	case kRe:
		return len(m.Refreshed) > 0
	case kExp:
		return len(m.Expired) > 0
	}
	return false
}

// isNotify tells which of the two update layouts applies: OpenDHT sends
// values in one (a, q, t, y, v, n) and refreshed/expired ids in the other
// (a, y, v, n, q, t).
func (m *Message) isNotify() bool { return len(m.Values)+len(m.Sizes) == 0 }

func (m *Message) layout() []argKey {
	switch m.Kind {
	case KindPing:
		return layoutPing
	case KindFind:
		return layoutFind
	case KindGet:
		return layoutGet
	case KindListen:
		return layoutListen
	case KindPut:
		return layoutPut
	case KindRefresh:
		return layoutRefresh
	case KindUpdate:
		if m.isNotify() {
			return layoutUpdateNotify
		}
		return layoutUpdateValues
	case KindValueUpdate:
		return layoutLegacyUpdate
	case KindReply:
		return layoutReply
	case KindError:
		return layoutErrorArgs
	}
	return nil
}

// hasArgs reports whether an error message carries an "r" map.
func (m *Message) hasArgs() bool {
	for k := kID; k < numArgKeys; k++ {
		if m.has(k) {
			return true
		}
	}
	return false
}

// appendArgs writes the argument map: the kind's layout, then any other
// present key in argKey order.
func (m *Message) appendArgs(b []byte) ([]byte, error) {
	lay := m.layout()
	var done [numArgKeys]bool
	n := 0
	for _, k := range lay {
		if k&forced != 0 || m.has(k) {
			done[k&^forced] = true
			n++
		}
	}
	for k := kID; k < numArgKeys; k++ {
		if !done[k] && m.has(k) {
			n++
		}
	}
	b = msgp.AppendMapHeader(b, n)
	var err error
	for _, k := range lay {
		if done[k&^forced] {
			if b, err = m.appendArg(b, k&^forced); err != nil {
				return b, err
			}
		}
	}
	for k := kID; k < numArgKeys; k++ {
		if !done[k] && m.has(k) {
			if b, err = m.appendArg(b, k); err != nil {
				return b, err
			}
		}
	}
	return b, nil
}

func (m *Message) appendArg(b []byte, k argKey) ([]byte, error) {
	switch k {
	case kID:
		b = msgp.AppendBin(append(b, 0xa2, 'i', 'd'), m.ID[:])
	case kVE:
		b = msgp.AppendInt(append(b, 0xa2, 'v', 'e'), int64(m.Version))
	case kH:
		b = msgp.AppendBin(append(b, 0xa1, 'h'), m.Hash[:])
	case kTarget:
		b = msgp.AppendBin(msgp.AppendStr(b, "target"), m.Target[:])
	case kSID:
		b = msgp.AppendUint(append(b, 0xa3, 's', 'i', 'd'), uint64(m.SID))
	case kQ:
		if !isOneObject(m.Query) {
			return b, ErrRawValue
		}
		b = append(append(b, 0xa1, 'q'), m.Query...)
	case kW:
		b = append(b, 0xa1, 'w')
		n := 0
		if m.Want&Want4 != 0 {
			n++
		}
		if m.Want&Want6 != 0 {
			n++
		}
		b = msgp.AppendArrayHeader(b, n)
		if m.Want&Want4 != 0 {
			b = append(b, FamilyIPv4)
		}
		if m.Want&Want6 != 0 {
			b = append(b, FamilyIPv6)
		}
	case kVID:
		b = msgp.AppendUint(append(b, 0xa3, 'v', 'i', 'd'), m.VID)
	case kSA:
		b = append(b, 0xa2, 's', 'a')
		if m.Addr.Is4() {
			a := m.Addr.As4()
			b = msgp.AppendBin(b, a[:])
		} else {
			a := m.Addr.As16()
			b = msgp.AppendBin(b, a[:])
		}
	case kN4:
		b = msgp.AppendBin(append(b, 0xa2, 'n', '4'), m.Nodes4)
	case kN6:
		b = msgp.AppendBin(append(b, 0xa2, 'n', '6'), m.Nodes6)
	case kC:
		b = msgp.AppendInt(append(b, 0xa1, 'c'), m.Created)
	case kValues:
		return m.appendValues(msgp.AppendStr(b, "values"))
	case kFileds:
		if !isOneObject(m.Fields) {
			return b, ErrRawValue
		}
		b = append(msgp.AppendStr(b, "fileds"), m.Fields...)
	case kToken:
		b = msgp.AppendBin(msgp.AppendStr(b, "token"), m.Token)
	case kRe:
		b = appendUints(append(b, 0xa2, 'r', 'e'), m.Refreshed)
	case kExp:
		b = appendUints(append(b, 0xa3, 'e', 'x', 'p'), m.Expired)
	}
	return b, nil
}

func appendUints(b []byte, v []uint64) []byte {
	b = msgp.AppendArrayHeader(b, len(v))
	for _, x := range v {
		b = msgp.AppendUint(b, x)
	}
	return b
}

// appendValues writes the "values" array: inline values, or the sizes of
// values that follow as value parts (OpenDHT's packValueHeader), or, when
// Sizes is set, exactly the header it describes.
func (m *Message) appendValues(b []byte) ([]byte, error) {
	for _, v := range m.Values {
		if !isOneObject(v) {
			return b, ErrRawValue
		}
	}
	total := len(m.Values) + len(m.Sizes)
	b = msgp.AppendArrayHeader(b, total)
	switch {
	case len(m.Sizes) > 0:
		j, k := 0, 0
		for p := 0; p < total; p++ {
			if j < len(m.Sizes) && m.Sizes[j].Index == uint32(p) {
				b = msgp.AppendUint(b, m.Sizes[j].Size)
				j++
			} else if k < len(m.Values) {
				b = append(b, m.Values[k]...)
				k++
			} else {
				return b, ErrSizes
			}
		}
		if j != len(m.Sizes) {
			return b, ErrSizes
		}
	case !m.InlineValues && NeedsParts(m.Values):
		for _, v := range m.Values {
			if len(v) > MaxPartValueSize {
				return b, ErrValueTooLarge
			}
			b = msgp.AppendUint(b, uint64(len(v)))
		}
	default:
		for _, v := range m.Values {
			b = append(b, v...)
		}
	}
	return b, nil
}

// isOneObject reports whether raw is exactly one well-formed msgpack object.
func isOneObject(raw []byte) bool {
	r := msgp.NewReader(raw)
	return r.Skip() == nil && r.Pos() == len(raw)
}

func (m *Message) appendTail(b []byte) []byte {
	if len(m.UA) > 0 {
		b = msgp.AppendStr(append(b, 0xa1, 'v'), m.UA)
	}
	if m.Net != 0 {
		b = msgp.AppendUint(append(b, 0xa1, 'n'), uint64(m.Net))
	}
	return b
}

// AppendBinary appends the datagram of m to b, with the keys in the order
// and the msgpack types OpenDHT 2.4.12 writes them, so that a message built
// as 2.4.12 builds it encodes to the same bytes. Keys a kind does not
// normally carry are written after the usual ones when set, which makes
// decode → encode → decode stable for any datagram.
//
// Values are written inline, or as sizes when NeedsParts says they must
// travel as value parts; the caller then sends ValueParts after the
// datagram (and again with every retransmission).
func (m *Message) AppendBinary(b []byte) ([]byte, error) {
	top := 4 // body, "t", "y", and "q" or one of the others below
	if len(m.UA) > 0 {
		top++
	}
	if m.Net != 0 {
		top++
	}
	if m.Client {
		top++
	}
	var err error
	switch m.Kind {
	case KindPing, KindFind, KindGet, KindPut, KindRefresh, KindListen, KindUpdate:
		top++ // "q"
		b = msgp.AppendMapHeader(b, top-1)
		b = append(b, 0xa1, 'a')
		if b, err = m.appendArgs(b); err != nil {
			return b, err
		}
		if m.Kind == KindUpdate && m.isNotify() {
			// tellListenerRefreshed / tellListenerExpired order.
			b = append(b, 0xa1, 'y', 0xa1, 'q')
			b = m.appendTail(b)
			b = append(b, 0xa1, 'q', 0xa6, 'u', 'p', 'd', 'a', 't', 'e')
			b = msgp.AppendUint(append(b, 0xa1, 't'), uint64(m.TID))
		} else {
			b = msgp.AppendStr(append(b, 0xa1, 'q'), m.Kind.queryName())
			b = msgp.AppendUint(append(b, 0xa1, 't'), uint64(m.TID))
			b = append(b, 0xa1, 'y', 0xa1, 'q')
			b = m.appendTail(b)
		}
	case KindValueUpdate:
		b = msgp.AppendMapHeader(b, top-1)
		b = append(b, 0xa1, 'u')
		if b, err = m.appendArgs(b); err != nil {
			return b, err
		}
		b = append(b, 0xa1, 'y', 0xa1, 'r')
		b = m.appendTail(b)
		b = msgp.AppendUint(append(b, 0xa1, 't'), uint64(m.TID))
	case KindReply:
		b = msgp.AppendMapHeader(b, top-1)
		b = append(b, 0xa1, 'r')
		if b, err = m.appendArgs(b); err != nil {
			return b, err
		}
		b = msgp.AppendUint(append(b, 0xa1, 't'), uint64(m.TID))
		b = append(b, 0xa1, 'y', 0xa1, 'r')
		b = m.appendTail(b)
	case KindError:
		withArgs := m.hasArgs()
		if withArgs {
			top++
		}
		b = msgp.AppendMapHeader(b, top-1)
		b = append(b, 0xa1, 'e', 0x92)
		b = msgp.AppendUint(b, uint64(m.ErrCode))
		b = msgp.AppendStr(b, m.ErrText)
		if withArgs {
			b = append(b, 0xa1, 'r')
			if b, err = m.appendArgs(b); err != nil {
				return b, err
			}
		}
		b = msgp.AppendUint(append(b, 0xa1, 't'), uint64(m.TID))
		b = append(b, 0xa1, 'y', 0xa1, 'e')
		b = m.appendTail(b)
	case KindValueData:
		b = msgp.AppendMapHeader(b, top-1)
		if m.Net != 0 {
			b = msgp.AppendUint(append(b, 0xa1, 'n'), uint64(m.Net))
		}
		b = append(b, 0xa1, 'y', 0xa1, 'p')
		b = msgp.AppendUint(append(b, 0xa1, 't'), uint64(m.TID))
		b = msgp.AppendMapHeader(append(b, 0xa1, 'p'), len(m.Parts))
		for _, p := range m.Parts {
			b = appendPartEntry(b, p.Index, p.Offset, p.Data)
		}
		if len(m.UA) > 0 {
			// OpenDHT writes no "v" in value parts; kept for fidelity.
			b = msgp.AppendStr(append(b, 0xa1, 'v'), m.UA)
		}
	default:
		return b, ErrKind
	}
	if m.Client {
		b = msgp.AppendBool(append(b, 0xa1, 's'), true)
	}
	return b, nil
}

// MarshalBinary returns the datagram of m (see AppendBinary).
func (m *Message) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, 256))
}

func appendPartEntry(b []byte, index uint32, offset uint64, chunk []byte) []byte {
	b = msgp.AppendUint(b, uint64(index))
	b = append(b, 0x82, 0xa1, 'o')
	b = msgp.AppendUint(b, offset)
	b = append(b, 0xa1, 'd')
	return msgp.AppendBin(b, chunk)
}

// NeedsParts applies OpenDHT's rule (packValueHeader): values travel inline
// only when there are fewer than 50 of them and their packed sizes add up
// to less than 600 bytes; otherwise the message carries their sizes and the
// values follow as value-part datagrams.
func NeedsParts(values [][]byte) bool {
	if len(values) >= MaxInlineValues {
		return true
	}
	total := 0
	for _, v := range values {
		total += len(v)
	}
	return total >= MaxInlineValuesSize
}

// NeedsParts reports whether encoding m writes a size header whose values
// must follow as value parts.
func (m *Message) NeedsParts() bool {
	return len(m.Sizes) == 0 && !m.InlineValues && NeedsParts(m.Values) &&
		m.Kind != KindValueData && m.Kind != KindError
}

// AppendValuePart appends one value-part datagram exactly as OpenDHT's
// sendValueParts writes it: {"n"?, "y":"p", "t", "p":{index:{"o","d"}}}.
func AppendValuePart(b []byte, netID, tid, index uint32, offset uint64, chunk []byte) []byte {
	if netID != 0 {
		b = append(b, 0x84, 0xa1, 'n')
		b = msgp.AppendUint(b, uint64(netID))
	} else {
		b = append(b, 0x83)
	}
	b = append(b, 0xa1, 'y', 0xa1, 'p')
	b = msgp.AppendUint(append(b, 0xa1, 't'), uint64(tid))
	b = append(b, 0xa1, 'p', 0x81)
	return appendPartEntry(b, index, offset, chunk)
}

// ValueParts produces the value-part datagrams that follow a header
// carrying the sizes of values, in OpenDHT's order: every chunk (at most
// MTU bytes) of value 0, then of value 1, and so on, one chunk per
// datagram. Each datagram is built in buf (reused; emit must not keep it)
// and passed to emit; an error from emit stops the sequence.
func ValueParts(netID, tid uint32, values [][]byte, buf []byte, emit func(datagram []byte) error) error {
	for i, v := range values {
		if len(v) > MaxPartValueSize {
			return ErrValueTooLarge
		}
		start := 0
		for {
			end := min(start+MTU, len(v))
			buf = AppendValuePart(buf[:0], netID, tid, uint32(i), uint64(start), v[start:end])
			if err := emit(buf); err != nil {
				return err
			}
			start = end
			if start == len(v) {
				break
			}
		}
	}
	return nil
}
