package wire

import (
	"math"
	"net/netip"
)

var (
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
	r := rd{b: b}
	n, err := r.container(mMap)
	if err != nil {
		if err == errType {
			return errNotMap
		}
		return err
	}
	var y, body, upd, errBody, parts, args []byte
	var q []byte
	var hasQ bool
	for i := 0; i < n; i++ {
		key, ok, err := r.key()
		if err != nil {
			return err
		}
		if !ok || len(key) != 1 {
			if err := r.skip(); err != nil {
				return err
			}
			continue
		}
		switch key[0] {
		case 'y':
			y, err = r.raw()
		case 'r':
			body, err = r.raw()
		case 'u':
			upd, err = r.raw()
		case 'e':
			errBody, err = r.raw()
		case 'p':
			parts, err = r.raw()
		case 'a':
			args, err = r.raw()
		case 't':
			m.TID, err = r.tid()
		case 'v':
			m.UA, err = r.text()
		case 'n':
			var v uint64
			v, err = r.uint(math.MaxUint32)
			m.Net = uint32(v)
		case 's':
			m.Client, err = r.boolean()
		case 'q':
			q, err = r.text()
			hasQ = true
		default:
			err = r.skip()
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
			yr := rd{b: y}
			yv, err := yr.text()
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
		er := rd{b: errBody}
		k, cnt, _, err := er.head()
		if err != nil {
			return err
		}
		if k != mArray || cnt == 0 {
			return errErrorBody
		}
		code, err := er.uint(math.MaxUint16)
		if err != nil {
			return err
		}
		m.ErrCode = uint16(code)
		if cnt > 1 {
			// 2.4.12 ignores the text; keep it when it is text.
			if t, err := er.text(); err == nil {
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
	r := rd{b: args}
	n, err := r.container(mMap)
	if err != nil {
		if err == errType {
			return errArgsNotMap
		}
		return err
	}
	var sa, values, fields, want []byte
	for i := 0; i < n; i++ {
		key, ok, err := r.key()
		if err != nil {
			return err
		}
		if !ok {
			if err := r.skip(); err != nil {
				return err
			}
			continue
		}
		switch string(key) {
		case "sid":
			m.SID, err = r.tid()
		case "id":
			m.ID, err = r.hash()
		case "h":
			m.Hash, err = r.hash()
		case "target":
			m.Target, err = r.hash()
		case "q":
			m.Query, err = r.raw()
			if err == nil {
				err = checkQuery(m.Query)
			}
		case "token":
			m.Token, err = r.blob()
		case "vid":
			m.VID, err = r.uint(math.MaxUint64)
		case "n4":
			m.Nodes4, err = r.blob()
		case "n6":
			m.Nodes6, err = r.blob()
		case "sa":
			sa, err = r.raw()
		case "c":
			m.Created, err = r.int(math.MinInt64, math.MaxInt64)
			m.HasCreated = err == nil
		case "values":
			values, err = r.raw()
		case "exp":
			m.Expired, err = r.uints(m.Expired[:0])
		case "re":
			m.Refreshed, err = r.uints(m.Refreshed[:0])
		case "fileds":
			fields, err = r.raw()
		case "w":
			want, err = r.raw()
		case "ve":
			var v int64
			v, err = r.int(math.MinInt32, math.MaxInt32)
			m.Version = int32(v)
		default:
			err = r.skip()
		}
		if err != nil {
			return err
		}
	}

	if sa != nil {
		sr := rd{b: sa}
		k, _, p, _ := sr.head()
		if k != mBin {
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
		vr := rd{b: values}
		cnt, err := vr.container(mArray)
		if err != nil {
			return err
		}
		m.InlineValues = true
		for i := 0; i < cnt; i++ {
			s := vr.off
			k, u, _, err := vr.head()
			if err != nil {
				return err
			}
			if k == mUint {
				// A size: the value follows in value parts. Sizes above
				// MaxPartValueSize are kept here (so that re-encoding is
				// faithful) and ignored by the Reassembler, as OpenDHT
				// ignores them.
				m.Sizes = append(m.Sizes, ValueSize{Index: uint32(i), Size: u})
				continue
			}
			vr.off = s
			v, err := vr.raw()
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
		wr := rd{b: want}
		cnt, err := wr.container(mArray)
		if err != nil {
			return err
		}
		m.Want = WantEmpty
		for i := 0; i < cnt; i++ {
			// OpenDHT converts each element to sa_family_t inside a try:
			// elements that are not small unsigned integers are ignored.
			s := wr.off
			v, err := wr.uint(math.MaxUint16)
			if err != nil {
				wr.off = s
				if err := wr.skip(); err != nil {
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

// uints reads an array of uint64 (msgpack-c's as<std::vector<uint64_t>>),
// appending to dst.
func (r *rd) uints(dst []uint64) ([]uint64, error) {
	cnt, err := r.container(mArray)
	if err != nil {
		return dst, err
	}
	for i := 0; i < cnt; i++ {
		v, err := r.uint(math.MaxUint64)
		if err != nil {
			return dst, err
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// checkFields checks the shape of "fileds" = {"f": [field...], "v": [...]}
// as 2.4.12's parser does before reading rows (a row that does not parse
// is skipped there, so rows are left to lib/dht/value).
func checkFields(raw []byte) error {
	f, err := lookup(raw, "f")
	if err != nil {
		return err
	}
	if f == nil {
		return errFieldsNoF
	}
	fr := rd{b: f}
	cnt, err := fr.container(mArray)
	if err != nil {
		return err
	}
	for i := 0; i < cnt; i++ {
		if _, err := fr.int(math.MinInt32, math.MaxInt32); err != nil {
			return err
		}
	}
	v, err := lookup(raw, "v")
	if err != nil || v == nil {
		return err
	}
	vr := rd{b: v}
	if _, err := vr.container(mArray); err != nil {
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
	w, err := lookup(q, "w")
	if err != nil {
		return errQuery
	}
	s, err := lookup(q, "s")
	if err != nil || w == nil || s == nil {
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
	r := rd{b: raw}
	n, err := r.container(mMap)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		ks := r.off
		if err := r.skip(); err != nil {
			return err
		}
		val, err := r.raw()
		if err != nil {
			return err
		}
		o, err := lookup(val, "o")
		if err != nil {
			return err
		}
		d, err := lookup(val, "d")
		if err != nil {
			return err
		}
		if o == nil || d == nil {
			continue
		}
		kr := rd{b: raw[ks:]}
		idx, err := kr.uint(math.MaxUint32)
		if err != nil {
			return err
		}
		or := rd{b: o}
		off, err := or.uint(math.MaxUint64)
		if err != nil {
			return err
		}
		dr := rd{b: d}
		data, err := dr.blob()
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
