package value

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// This file holds a deliberately small msgpack writer and reader instead of
// going through a general library: signatures are checked by OpenDHT over its
// own re-packing, so the writer must follow msgpack-c's choices exactly
// (smallest integer form, fixstr/str8/str16/str32, bin8/16/32), and the reader
// must give byte offsets (to keep the raw signed body) and the exact
// conversion rules of msgpack-c's as<T>() that OpenDHT's parsers rely on.
// Reading never allocates more than the input holds: every length is checked
// against the bytes that remain before anything is copied.

// --- writer -----------------------------------------------------------------

func appendMapLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xde, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
	}
}

func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xdc, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
	}
}

// appendUint writes n in the smallest unsigned form, as msgpack-c does for
// every unsigned C++ type (and for non-negative signed ones).
func appendUint(b []byte, n uint64) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xcc, byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xcd, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), n)
	}
}

func appendStr(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func appendBin(b []byte, p []byte) []byte {
	n := len(p)
	switch {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xc5, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, p...)
}

// --- reader -----------------------------------------------------------------

// errType mirrors msgpack::type_error: the object is not of the kind the
// reader of that field accepts.
var errType = errors.New("msgpack type error")

// errShort is returned when the input ends inside an object.
var errShort = errors.New("msgpack: unexpected end of data")

// kind is msgpack-c's object type classification (msgpack::type::object_type).
type kind uint8

const (
	kNil kind = iota
	kBool
	kPosInt
	kNegInt
	kFloat
	kStr
	kBin
	kArray
	kMap
	kExt
)

// obj is one decoded msgpack header. For str/bin/ext, raw is the payload;
// for array/map, n is the element (pair) count; for integers u/i hold the
// value (u for kPosInt, i for kNegInt).
type obj struct {
	kind kind
	u    uint64
	i    int64
	n    int
	raw  []byte
}

// reader walks a msgpack buffer. pos is the offset of the next object.
type reader struct {
	b   []byte
	pos int
}

func (r *reader) need(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.pos {
		return nil, errShort
	}
	p := r.b[r.pos : r.pos+n]
	r.pos += n
	return p, nil
}

func (r *reader) byte1() (byte, error) {
	p, err := r.need(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func (r *reader) uintN(size int) (uint64, error) {
	p, err := r.need(size)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// next reads one object header (and the payload of scalars). Containers are
// not descended into: the caller reads or skips their elements.
func (r *reader) next() (obj, error) {
	c, err := r.byte1()
	if err != nil {
		return obj{}, err
	}
	switch {
	case c <= 0x7f:
		return obj{kind: kPosInt, u: uint64(c)}, nil
	case c >= 0xe0:
		return obj{kind: kNegInt, i: int64(int8(c))}, nil
	case c&0xf0 == 0x80:
		return r.container(kMap, uint64(c&0x0f))
	case c&0xf0 == 0x90:
		return r.container(kArray, uint64(c&0x0f))
	case c&0xe0 == 0xa0:
		return r.payload(kStr, int(c&0x1f))
	}
	switch c {
	case 0xc0:
		return obj{kind: kNil}, nil
	case 0xc2, 0xc3:
		return obj{kind: kBool, u: uint64(c & 1)}, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := r.uintN(1 << (c - 0xc4))
		if err != nil {
			return obj{}, err
		}
		return r.payloadLen(kBin, n)
	case 0xc7, 0xc8, 0xc9:
		n, err := r.uintN(1 << (c - 0xc7))
		if err != nil {
			return obj{}, err
		}
		if _, err := r.need(1); err != nil { // ext type byte
			return obj{}, err
		}
		return r.payloadLen(kExt, n)
	case 0xca:
		if _, err := r.need(4); err != nil {
			return obj{}, err
		}
		return obj{kind: kFloat}, nil
	case 0xcb:
		if _, err := r.need(8); err != nil {
			return obj{}, err
		}
		return obj{kind: kFloat}, nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := r.uintN(1 << (c - 0xcc))
		if err != nil {
			return obj{}, err
		}
		return obj{kind: kPosInt, u: v}, nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		v, err := r.uintN(size)
		if err != nil {
			return obj{}, err
		}
		// Sign-extend; msgpack-c classifies non-negative signed forms as
		// POSITIVE_INTEGER, so do we.
		shift := 64 - 8*size
		s := int64(v<<shift) >> shift
		if s >= 0 {
			return obj{kind: kPosInt, u: uint64(s)}, nil
		}
		return obj{kind: kNegInt, i: s}, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		if _, err := r.need(1); err != nil {
			return obj{}, err
		}
		return r.payload(kExt, 1<<(c-0xd4))
	case 0xd9, 0xda, 0xdb:
		n, err := r.uintN(1 << (c - 0xd9))
		if err != nil {
			return obj{}, err
		}
		return r.payloadLen(kStr, n)
	case 0xdc, 0xdd:
		n, err := r.uintN(2 << (c - 0xdc))
		if err != nil {
			return obj{}, err
		}
		return r.container(kArray, n)
	case 0xde, 0xdf:
		n, err := r.uintN(2 << (c - 0xde))
		if err != nil {
			return obj{}, err
		}
		return r.container(kMap, n)
	}
	return obj{}, fmt.Errorf("msgpack: reserved byte 0x%02x", c)
}

func (r *reader) payload(k kind, n int) (obj, error) {
	p, err := r.need(n)
	if err != nil {
		return obj{}, err
	}
	return obj{kind: k, raw: p, n: n}, nil
}

func (r *reader) payloadLen(k kind, n uint64) (obj, error) {
	if n > uint64(len(r.b)-r.pos) {
		return obj{}, errShort
	}
	return r.payload(k, int(n))
}

// container checks that the declared element count can possibly fit in
// what remains (each element takes at least one byte), so a hostile count
// never drives an allocation or a long loop.
func (r *reader) container(k kind, n uint64) (obj, error) {
	per := uint64(1)
	if k == kMap {
		per = 2
	}
	if n > uint64(len(r.b)-r.pos)/per {
		return obj{}, errShort
	}
	return obj{kind: k, n: int(n)}, nil
}

// skipRest skips the elements of a container header o just read.
func (r *reader) skipRest(o obj) error {
	pending := 0
	switch o.kind {
	case kArray:
		pending = o.n
	case kMap:
		pending = 2 * o.n
	}
	// Iterative, so nesting depth costs no stack.
	for pending > 0 {
		c, err := r.next()
		if err != nil {
			return err
		}
		pending--
		switch c.kind {
		case kArray:
			pending += c.n
		case kMap:
			pending += 2 * c.n
		}
		if pending > len(r.b)-r.pos {
			return errShort
		}
	}
	return nil
}

// skip skips one whole object.
func (r *reader) skip() error {
	o, err := r.next()
	if err != nil {
		return err
	}
	return r.skipRest(o)
}

// span reads one whole object and returns its bytes and header.
func (r *reader) span() ([]byte, obj, error) {
	start := r.pos
	o, err := r.next()
	if err != nil {
		return nil, obj{}, err
	}
	if err := r.skipRest(o); err != nil {
		return nil, obj{}, err
	}
	return r.b[start:r.pos], o, nil
}

// field is one entry of a map as seen by findMapValue: its key if the key is
// a str, and the whole encoded value.
type field struct {
	key   string
	isStr bool
	val   []byte
}

// readMap reads a map whose header o was just read and returns its entries
// in order (values undecoded).
func (r *reader) readMap(o obj) ([]field, error) {
	if o.kind != kMap {
		return nil, errType
	}
	fs := make([]field, 0, min(o.n, 64))
	for range o.n {
		k, err := r.next()
		if err != nil {
			return nil, err
		}
		f := field{}
		if k.kind == kStr {
			f.key, f.isStr = string(k.raw), true
		} else if err := r.skipRest(k); err != nil {
			return nil, err
		}
		v, _, err := r.span()
		if err != nil {
			return nil, err
		}
		f.val = v
		fs = append(fs, f)
	}
	return fs, nil
}

// decodeMap decodes b as one map. Trailing bytes after the map are ignored,
// like msgpack::unpack on a buffer holding one object.
func decodeMap(b []byte) ([]field, error) {
	r := reader{b: b}
	o, err := r.next()
	if err != nil {
		return nil, err
	}
	return r.readMap(o)
}

// find is OpenDHT's findMapValue: the first entry whose key is the str key.
func find(fs []field, key string) []byte {
	for _, f := range fs {
		if f.isStr && f.key == key {
			return f.val
		}
	}
	return nil
}

// one decodes the header of the single object in b.
func one(b []byte) (obj, *reader, error) {
	r := &reader{b: b}
	o, err := r.next()
	return o, r, err
}

// asUint is msgpack-c's as<T>() for an unsigned T with the given maximum.
func asUint(b []byte, max uint64) (uint64, error) {
	o, _, err := one(b)
	if err != nil {
		return 0, err
	}
	if o.kind != kPosInt || o.u > max {
		return 0, errType
	}
	return o.u, nil
}

// asInt is msgpack-c's as<int>() (used for enums such as Value::Field).
func asInt(b []byte) (int64, error) {
	o, _, err := one(b)
	if err != nil {
		return 0, err
	}
	switch {
	case o.kind == kPosInt && o.u <= math.MaxInt32:
		return int64(o.u), nil
	case o.kind == kNegInt && o.i >= math.MinInt32:
		return o.i, nil
	}
	return 0, errType
}

// asString is msgpack-c's as<std::string>(): str or bin.
func asString(b []byte) (string, error) {
	o, _, err := one(b)
	if err != nil {
		return "", err
	}
	if o.kind != kStr && o.kind != kBin {
		return "", errType
	}
	return string(o.raw), nil
}

// asBlob is OpenDHT's unpackBlob: bin, str, or an array of uint8.
func asBlob(b []byte) ([]byte, error) {
	o, r, err := one(b)
	if err != nil {
		return nil, err
	}
	switch o.kind {
	case kBin, kStr:
		return append([]byte{}, o.raw...), nil
	case kArray:
		out := make([]byte, 0, o.n) // n ≤ len(b): checked by container
		for range o.n {
			e, err := r.next()
			if err != nil {
				return nil, err
			}
			if e.kind != kPosInt || e.u > math.MaxUint8 {
				return nil, errType
			}
			out = append(out, byte(e.u))
		}
		return out, nil
	}
	return nil, errType
}

// asBin20 is InfoHash::msgpack_unpack: bin of exactly 20 bytes, nothing else.
func asBin20(b []byte) ([20]byte, error) {
	var h [20]byte
	o, _, err := one(b)
	if err != nil {
		return h, err
	}
	if o.kind != kBin || len(o.raw) != 20 {
		return h, errType
	}
	copy(h[:], o.raw)
	return h, nil
}

// asArray returns the encoded elements of an array.
func asArray(b []byte) ([][]byte, error) {
	o, r, err := one(b)
	if err != nil {
		return nil, err
	}
	if o.kind != kArray {
		return nil, errType
	}
	out := make([][]byte, 0, min(o.n, 1024))
	for range o.n {
		e, _, err := r.span()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
