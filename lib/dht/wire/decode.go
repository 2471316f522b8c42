package wire

import (
	"encoding/binary"
	"math"
	"net/netip"

	"github.com/jamikit/jamikit/lib/dht/msgp"
)

// decodeError is a static error value: returning one never allocates, which
// matters when hostile traffic makes every datagram fail.
type decodeError string

func (e decodeError) Error() string { return "wire: " + string(e) }

// Is makes every decode error match ErrMalformed.
func (e decodeError) Is(target error) bool { return target == ErrMalformed }

// ErrMalformed matches (errors.Is) every error returned for bytes that
// OpenDHT 2.4.12 would drop, or that this package refuses for safety.
var ErrMalformed error = decodeError("malformed datagram")

var (
	errTruncated = error(decodeError("truncated msgpack"))
	errReserved  = error(decodeError("reserved msgpack byte 0xc1"))
	errType      = error(decodeError("unexpected msgpack type"))
	errRange     = error(decodeError("integer out of range"))

	errNotMap       = error(decodeError("datagram is not a map"))
	errYNotQ        = error(decodeError(`"y" is neither a known body nor "q"`))
	errUnknownQuery = error(decodeError(`unknown request "q"`))
	errNoBody       = error(decodeError(`no "a", "r", "u" or "e"`))
	errArgsNotMap   = error(decodeError("arguments are not a map"))
	errErrorBody    = error(decodeError(`"e" is not [code, ...]`))
	errSANotBin     = error(decodeError(`"sa" is not a bin`))
	errFieldsNoF    = error(decodeError(`"fileds" without "f"`))
	errFieldsEmpty  = error(decodeError(`"fileds" with an empty "f"`))
	errQuery        = error(decodeError(`"q" is not a map with "s" and "w"`))
	errNodeInfoLen  = error(decodeError("compact node info of a wrong length"))
)

// Decode parses one datagram into m, following OpenDHT 2.4.12's
// ParsedMessage::msgpack_unpack: it accepts what that accepts (str or bin
// for text and blobs, any integer encoding, unknown and non-str keys,
// trailing bytes after the map) and refuses what makes 2.4.12 drop the
// datagram (a wrong type for a known key, an InfoHash that is not bin(20),
// a non-bin "sa", a query without "s" and "w", broken msgpack anywhere).
// Where 2.4.12 has undefined behaviour (a non-map "a", an empty "e", an
// empty "fileds" "f" with rows) Decode refuses, as newer OpenDHT does.
//
// It checks neither the sender id nor the network id: those are the
// engine's checks (§2.1 rules 2 and 3). Replies and legacy updates must
// carry compact node info of a whole number of records, because OpenDHT
// drops them otherwise.
//
// m's byte slices alias b. Every error matches ErrMalformed.
func (m *Message) Decode(b []byte) error {
	m.Reset()
	return malformed(m.decode(b))
}

// malformed turns an error of the msgp reader into this package's static
// equivalent, so that it matches ErrMalformed and still costs no
// allocation. Errors of this package pass through.
func malformed(err error) error {
	switch err {
	case msgp.ErrTruncated:
		return errTruncated
	case msgp.ErrReserved:
		return errReserved
	case msgp.ErrType:
		return errType
	case msgp.ErrRange:
		return errRange
	}
	if _, ok := err.(decodeError); ok || err == nil {
		return err
	}
	return ErrMalformed // keeps the contract should msgp grow an error
}

func (m *Message) decode(b []byte) error {
	r := msgp.NewReader(b)
	n, err := r.Container(msgp.KindMap)
	if err != nil {
		if err == msgp.ErrType {
			return errNotMap
		}
		return err
	}
	var y, body, upd, errBody, parts, args []byte
	var q []byte
	var hasQ bool
	for i := 0; i < n; i++ {
		key, ok, err := r.Key()
		if err != nil {
			return err
		}
		if !ok || len(key) != 1 {
			if err := r.Skip(); err != nil {
				return err
			}
			continue
		}
		switch key[0] {
		case 'y':
			y, err = r.Raw()
		case 'r':
			body, err = r.Raw()
		case 'u':
			upd, err = r.Raw()
		case 'e':
			errBody, err = r.Raw()
		case 'p':
			parts, err = r.Raw()
		case 'a':
			args, err = r.Raw()
		case 't':
			m.TID, err = readTID(&r)
		case 'v':
			m.UA, err = r.Text()
		case 'n':
			var v uint64
			v, err = r.Uint(math.MaxUint32)
			m.Net = uint32(v)
		case 's':
			m.Client, err = r.Bool()
		case 'q':
			q, err = r.Text()
			hasQ = true
		default:
			err = r.Skip()
		}
		if err != nil {
			return err
		}
	}

	// Classification, in OpenDHT's order.
	switch {
	case errBody != nil:
		m.Kind = KindError
	case body != nil:
		m.Kind = KindReply
	case parts != nil:
		m.Kind = KindValueData
		return m.decodeParts(parts)
	case upd != nil:
		m.Kind = KindValueUpdate
	default:
		if y != nil {
			yr := msgp.NewReader(y)
			yv, err := yr.Text()
			if err != nil {
				return err
			}
			if string(yv) != "q" {
				return errYNotQ
			}
		}
		if !hasQ {
			return errUnknownQuery
		}
		switch string(q) {
		case "ping":
			m.Kind = KindPing
		case "find":
			m.Kind = KindFind
		case "get":
			m.Kind = KindGet
		case "listen":
			m.Kind = KindListen
		case "put":
			m.Kind = KindPut
		case "refresh":
			m.Kind = KindRefresh
		case "update":
			m.Kind = KindUpdate
		default:
			return errUnknownQuery
		}
	}

	// The argument map: "a", else "r", else "u". An error without "r"
	// has none (2.4.12 would read the "e" array as a map).
	switch {
	case args != nil:
	case body != nil:
		args = body
	case upd != nil:
		args = upd
	}
	if args == nil && errBody == nil {
		return errNoBody
	}

	if errBody != nil {
		er := msgp.NewReader(errBody)
		k, cnt, _, err := er.Head()
		if err != nil {
			return err
		}
		if k != msgp.KindArray || cnt == 0 {
			return errErrorBody
		}
		code, err := er.Uint(math.MaxUint16)
		if err != nil {
			return err
		}
		m.ErrCode = uint16(code)
		if cnt > 1 {
			// 2.4.12 ignores the text; keep it when it is text.
			if t, err := er.Text(); err == nil {
				m.ErrText = t
			}
		}
	}

	if args != nil {
		if err := m.decodeArgs(args); err != nil {
			return err
		}
	}
	if m.Kind == KindReply || m.Kind == KindValueUpdate {
		if len(m.Nodes4)%NodeInfo4Len != 0 || len(m.Nodes6)%NodeInfo6Len != 0 {
			return errNodeInfoLen
		}
	}
	return nil
}

// decodeArgs parses the "a"/"r"/"u" map. Like OpenDHT, it reads every known
// key whatever the message kind, so a wrongly typed key drops any message.
func (m *Message) decodeArgs(args []byte) error {
	r := msgp.NewReader(args)
	n, err := r.Container(msgp.KindMap)
	if err != nil {
		if err == msgp.ErrType {
			return errArgsNotMap
		}
		return err
	}
	var sa, values, fields, want []byte
	for i := 0; i < n; i++ {
		key, ok, err := r.Key()
		if err != nil {
			return err
		}
		if !ok {
			if err := r.Skip(); err != nil {
				return err
			}
			continue
		}
		switch string(key) {
		case "sid":
			m.SID, err = readTID(&r)
		case "id":
			m.ID, err = readHash(&r)
		case "h":
			m.Hash, err = readHash(&r)
		case "target":
			m.Target, err = readHash(&r)
		case "q":
			m.Query, err = r.Raw()
			if err == nil {
				err = checkQuery(m.Query)
			}
		case "token":
			m.Token, err = r.Blob()
		case "vid":
			m.VID, err = r.Uint(math.MaxUint64)
		case "n4":
			m.Nodes4, err = r.Blob()
		case "n6":
			m.Nodes6, err = r.Blob()
		case "sa":
			sa, err = r.Raw()
		case "c":
			m.Created, err = r.Int(math.MinInt64, math.MaxInt64)
			m.HasCreated = err == nil
		case "values":
			values, err = r.Raw()
		case "exp":
			m.Expired, err = readUints(&r, m.Expired[:0])
		case "re":
			m.Refreshed, err = readUints(&r, m.Refreshed[:0])
		case "fileds":
			fields, err = r.Raw()
		case "w":
			want, err = r.Raw()
		case "ve":
			var v int64
			v, err = r.Int(math.MinInt32, math.MaxInt32)
			m.Version = int32(v)
		default:
			err = r.Skip()
		}
		if err != nil {
			return err
		}
	}

	if sa != nil {
		sr := msgp.NewReader(sa)
		k, _, p, _ := sr.Head()
		if k != msgp.KindBin {
			return errSANotBin
		}
		// Other lengths leave the address unset, as in OpenDHT.
		switch len(p) {
		case 4:
			m.Addr = netip.AddrFrom4([4]byte(p))
		case 16:
			m.Addr = netip.AddrFrom16([16]byte(p))
		}
	}

	if values != nil {
		vr := msgp.NewReader(values)
		cnt, err := vr.Container(msgp.KindArray)
		if err != nil {
			return err
		}
		// An empty array carries nothing inline, and the encoder writes no
		// empty "values" (nor does OpenDHT): flagging it would make a
		// decoded message differ from its own re-encoding.
		m.InlineValues = cnt > 0
		for i := 0; i < cnt; i++ {
			s := vr.Pos()
			k, u, _, err := vr.Head()
			if err != nil {
				return err
			}
			if k == msgp.KindUint {
				// A size: the value follows in value parts. Sizes above
				// MaxPartValueSize are kept here (so that re-encoding is
				// faithful) and ignored by the Reassembler, as OpenDHT
				// ignores them.
				m.Sizes = append(m.Sizes, ValueSize{Index: uint32(i), Size: u})
				continue
			}
			vr.Seek(s)
			v, err := vr.Raw()
			if err != nil {
				return err
			}
			m.Values = append(m.Values, v)
		}
	} else if fields != nil {
		if err := checkFields(fields); err != nil {
			return err
		}
		m.Fields = fields
	}

	if want != nil {
		wr := msgp.NewReader(want)
		cnt, err := wr.Container(msgp.KindArray)
		if err != nil {
			return err
		}
		m.Want = WantEmpty
		for i := 0; i < cnt; i++ {
			// OpenDHT converts each element to sa_family_t inside a try:
			// elements that are not small unsigned integers are ignored.
			s := wr.Pos()
			v, err := wr.Uint(math.MaxUint16)
			if err != nil {
				wr.Seek(s)
				if err := wr.Skip(); err != nil {
					return err
				}
				continue
			}
			switch v {
			case FamilyIPv4:
				m.Want |= Want4
			case FamilyIPv6:
				m.Want |= Want6
			}
		}
		if m.Want != WantEmpty {
			m.Want &^= WantEmpty
		}
	}
	return nil
}

// readUints reads an array of uint64 (msgpack-c's
// as<std::vector<uint64_t>>), appending to dst.
func readUints(r *msgp.Reader, dst []uint64) ([]uint64, error) {
	cnt, err := r.Container(msgp.KindArray)
	if err != nil {
		return dst, err
	}
	for i := 0; i < cnt; i++ {
		v, err := r.Uint(math.MaxUint64)
		if err != nil {
			return dst, err
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// readHash reads an InfoHash: a bin of exactly 20 bytes and nothing else.
func readHash(r *msgp.Reader) (InfoHash, error) {
	var h InfoHash
	p, err := r.Bin()
	if err != nil {
		return h, err
	}
	if len(p) != HashLen {
		return h, msgp.ErrType
	}
	copy(h[:], p)
	return h, nil
}

// readTID reads a transaction or socket id as OpenDHT's unpackTid does: a
// positive integer that fits in 32 bits, or the legacy form, a 4-byte str
// or bin read big-endian. msgpack-c copies shorter legacy strings into an
// uninitialised array; those are refused here rather than guessed.
func readTID(r *msgp.Reader) (uint32, error) {
	k, u, p, err := r.Head()
	if err != nil {
		return 0, err
	}
	switch k {
	case msgp.KindUint:
		if u > math.MaxUint32 {
			return 0, msgp.ErrRange
		}
		return uint32(u), nil
	case msgp.KindStr, msgp.KindBin:
		if len(p) != 4 {
			return 0, msgp.ErrType
		}
		return binary.BigEndian.Uint32(p), nil
	}
	return 0, msgp.ErrType
}

// checkFields checks the shape of "fileds" = {"f": [field...], "v": [...]}
// as 2.4.12's parser does before reading rows (a row that does not parse
// is skipped there, so rows are left to lib/dht/value).
func checkFields(raw []byte) error {
	fm, err := msgp.ReadMap(raw)
	if err != nil {
		return err
	}
	f := fm.Find("f")
	if f == nil {
		return errFieldsNoF
	}
	fr := msgp.NewReader(f)
	cnt, err := fr.Container(msgp.KindArray)
	if err != nil {
		return err
	}
	for i := 0; i < cnt; i++ {
		if _, err := fr.Int(math.MinInt32, math.MaxInt32); err != nil {
			return err
		}
	}
	v := fm.Find("v")
	if v == nil {
		return nil
	}
	vr := msgp.NewReader(v)
	if _, err := vr.Container(msgp.KindArray); err != nil {
		return err
	}
	if cnt == 0 {
		// 2.4.12 divides the row count by the number of fields.
		return errFieldsEmpty
	}
	return nil
}

// checkQuery applies the part of Query::msgpack_unpack that is about shape:
// a map holding both "w" and "s". Their contents belong to lib/dht/value,
// whose parser the engine must run (a query it cannot parse drops the
// datagram in OpenDHT too).
func checkQuery(q []byte) error {
	qm, err := msgp.ReadMap(q)
	if err != nil || qm.Find("w") == nil || qm.Find("s") == nil {
		return errQuery
	}
	return nil
}

// decodeParts parses the "p" map of a value-part datagram:
// {index: {"o": offset, "d": blob}, ...}. Entries without "o" or "d" are
// skipped, as in OpenDHT. Repeated indices are all kept, in order: 2.4.12
// keeps the first (std::map::emplace), and the Reassembler ignores a chunk
// whose bytes it already holds, which amounts to the same for honest
// senders.
func (m *Message) decodeParts(raw []byte) error {
	r := msgp.NewReader(raw)
	n, err := r.Container(msgp.KindMap)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		ks := r.Pos()
		if err := r.Skip(); err != nil {
			return err
		}
		val, err := r.Raw()
		if err != nil {
			return err
		}
		vm, err := msgp.ReadMap(val)
		if err != nil {
			return err
		}
		o, d := vm.Find("o"), vm.Find("d")
		if o == nil || d == nil {
			continue
		}
		kr := msgp.NewReader(raw[ks:])
		idx, err := kr.Uint(math.MaxUint32)
		if err != nil {
			return err
		}
		or := msgp.NewReader(o)
		off, err := or.Uint(math.MaxUint64)
		if err != nil {
			return err
		}
		dr := msgp.NewReader(d)
		data, err := dr.Blob()
		if err != nil {
			return err
		}
		m.Parts = append(m.Parts, Part{Index: uint32(idx), Offset: off, Data: data})
	}
	return nil
}

// Decode parses a datagram into a new Message (see Message.Decode).
func Decode(b []byte) (*Message, error) {
	m := new(Message)
	if err := m.Decode(b); err != nil {
		return nil, err
	}
	return m, nil
}
