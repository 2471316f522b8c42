package msgp

import (
	"encoding/binary"
	"errors"
	"math"
)

// Kind is the msgpack family of an object after msgpack-c's normalisation
// (msgpack::type::object_type).
type Kind uint8

const (
	KindNil Kind = iota
	KindBool
	KindUint  // non-negative integer, whatever its encoding
	KindInt   // negative integer
	KindFloat // float32 or float64
	KindStr
	KindBin
	KindArray
	KindMap
	KindExt
)

// The reader's errors. They are static values, so failing never allocates;
// callers compare them with == or errors.Is and wrap them at their package
// boundary.
var (
	ErrTruncated = errors.New("msgpack: unexpected end of data")
	ErrReserved  = errors.New("msgpack: reserved byte 0xc1")
	ErrType      = errors.New("msgpack type error") // msgpack::type_error
	ErrRange     = errors.New("msgpack: integer out of range")
)

// Reader reads msgpack objects one after the other from a byte slice. The
// zero value reads nothing; a Reader is small enough to live on the stack.
type Reader struct {
	b   []byte
	off int
}

// NewReader returns a Reader at the start of b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Pos is the offset in the input of the next object.
func (r *Reader) Pos() int { return r.off }

// Seek moves to pos, an offset Pos returned earlier: it lets a caller look
// at a header and then read the whole object again.
func (r *Reader) Seek(pos int) { r.off = pos }

// need reports whether n more bytes are available.
func (r *Reader) need(n uint64) bool { return n <= uint64(len(r.b)-r.off) }

// payload consumes n bytes and returns them as a sub-slice whose capacity
// ends at its length, so that a caller appending to it cannot overwrite the
// input that follows.
func (r *Reader) payload(n uint64) ([]byte, error) {
	if !r.need(n) {
		return nil, ErrTruncated
	}
	s := r.off
	r.off += int(n)
	return r.b[s:r.off:r.off], nil
}

// fixed consumes n bytes (1, 2, 4 or 8) and returns them big-endian.
func (r *Reader) fixed(n int) (uint64, error) {
	if len(r.b)-r.off < n {
		return 0, ErrTruncated
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	switch n {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	default:
		return binary.BigEndian.Uint64(p), nil
	}
}

// Head reads one object header. For str, bin and ext the payload is
// consumed and returned in p (ext: without its type byte). For array and
// map, u is the declared number of elements (pairs for a map) that follow;
// it is not checked against the input yet (so that a caller testing the
// kind first reports a wrong type as ErrType whatever the count): size
// nothing by it, use Container, Skip or Raw, which check it. For KindUint
// u is the value, for KindInt the int64 bits, for KindFloat the IEEE bits,
// for KindBool 0 or 1.
func (r *Reader) Head() (k Kind, u uint64, p []byte, err error) {
	if r.off >= len(r.b) {
		return 0, 0, nil, ErrTruncated
	}
	c := r.b[r.off]
	r.off++
	switch {
	case c <= 0x7f:
		return KindUint, uint64(c), nil, nil
	case c >= 0xe0:
		return KindInt, uint64(int64(int8(c))), nil, nil
	case c <= 0x8f:
		return KindMap, uint64(c & 0x0f), nil, nil
	case c <= 0x9f:
		return KindArray, uint64(c & 0x0f), nil, nil
	case c <= 0xbf:
		p, err = r.payload(uint64(c & 0x1f))
		return KindStr, 0, p, err
	}
	switch c {
	case 0xc0:
		return KindNil, 0, nil, nil
	case 0xc1:
		return 0, 0, nil, ErrReserved
	case 0xc2:
		return KindBool, 0, nil, nil
	case 0xc3:
		return KindBool, 1, nil, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := r.fixed(1 << (c - 0xc4))
		if err != nil {
			return 0, 0, nil, err
		}
		p, err = r.payload(n)
		return KindBin, 0, p, err
	case 0xc7, 0xc8, 0xc9:
		n, err := r.fixed(1 << (c - 0xc7))
		if err != nil {
			return 0, 0, nil, err
		}
		p, err = r.payload(n + 1)
		if err != nil {
			return 0, 0, nil, err
		}
		return KindExt, 0, p[1:], nil
	case 0xca:
		u, err = r.fixed(4)
		return KindFloat, u, nil, err
	case 0xcb:
		u, err = r.fixed(8)
		return KindFloat, u, nil, err
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err = r.fixed(1 << (c - 0xcc))
		return KindUint, u, nil, err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (c - 0xd0)
		u, err = r.fixed(n)
		if err != nil {
			return 0, 0, nil, err
		}
		// Sign-extend, then classify by sign as msgpack-c does.
		shift := 64 - 8*n
		v := int64(u<<shift) >> shift
		if v >= 0 {
			return KindUint, uint64(v), nil, nil
		}
		return KindInt, uint64(v), nil, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		p, err = r.payload(1 + 1<<(c-0xd4))
		if err != nil {
			return 0, 0, nil, err
		}
		return KindExt, 0, p[1:], nil
	case 0xd9, 0xda, 0xdb:
		n, err := r.fixed(1 << (c - 0xd9))
		if err != nil {
			return 0, 0, nil, err
		}
		p, err = r.payload(n)
		return KindStr, 0, p, err
	case 0xdc, 0xdd:
		u, err = r.fixed(2 << (c - 0xdc))
		return KindArray, u, nil, err
	default: // 0xde, 0xdf
		u, err = r.fixed(2 << (c - 0xde))
		return KindMap, u, nil, err
	}
}

// Skip consumes one complete object of any depth. It is iterative, so a
// hostile nesting depth cannot exhaust the stack, and it fails as soon as
// the elements still due exceed the bytes left, so hostile counts cost
// nothing.
func (r *Reader) Skip() error {
	pending := uint64(1)
	for pending > 0 {
		k, u, _, err := r.Head()
		if err != nil {
			return err
		}
		pending--
		switch k {
		case KindArray:
			pending += u
		case KindMap:
			pending += 2 * u
		}
		// u < 2^32, so pending cannot wrap before this check stops it.
		if !r.need(pending) {
			return ErrTruncated
		}
	}
	return nil
}

// Raw consumes one object and returns its encoding: the exact bytes a
// signature covers, capacity-limited like every slice the Reader returns.
func (r *Reader) Raw() ([]byte, error) {
	s := r.off
	if err := r.Skip(); err != nil {
		return nil, err
	}
	return r.b[s:r.off:r.off], nil
}

// fits reports whether the elements of a container header can fit in the
// bytes left (every element takes at least one byte).
func (r *Reader) fits(k Kind, u uint64) bool {
	if k == KindMap {
		return r.need(2 * u) // u < 2^32: no overflow
	}
	return r.need(u)
}

// Container reads an array or map header of the wanted kind (KindArray or
// KindMap) and returns its element (pair) count, checked to fit in the
// bytes left, so that a caller may size an allocation by it.
func (r *Reader) Container(want Kind) (int, error) {
	k, u, _, err := r.Head()
	if err != nil {
		return 0, err
	}
	if k != want {
		return 0, ErrType
	}
	if !r.fits(k, u) {
		return 0, ErrTruncated
	}
	return int(u), nil
}

// Uint reads a non-negative integer no larger than max (msgpack-c's
// as<unsigned T>: negative numbers and other types are type errors).
func (r *Reader) Uint(max uint64) (uint64, error) {
	k, u, _, err := r.Head()
	if err != nil {
		return 0, err
	}
	if k != KindUint {
		return 0, ErrType
	}
	if u > max {
		return 0, ErrRange
	}
	return u, nil
}

// Int reads a signed integer within [min, max] (msgpack-c's as<signed T>).
func (r *Reader) Int(min, max int64) (int64, error) {
	k, u, _, err := r.Head()
	if err != nil {
		return 0, err
	}
	switch k {
	case KindUint:
		if max < 0 || u > uint64(max) {
			return 0, ErrRange
		}
		return int64(u), nil
	case KindInt:
		if v := int64(u); v >= min && v <= max {
			return v, nil
		}
		return 0, ErrRange
	}
	return 0, ErrType
}

// Text reads a str or a bin: msgpack-c converts either to std::string.
func (r *Reader) Text() ([]byte, error) {
	k, _, p, err := r.Head()
	if err != nil {
		return nil, err
	}
	if k != KindStr && k != KindBin {
		return nil, ErrType
	}
	return p, nil
}

// Bin reads a bin and nothing else (OpenDHT's InfoHash and sockaddr
// readers refuse str).
func (r *Reader) Bin() ([]byte, error) {
	k, _, p, err := r.Head()
	if err != nil {
		return nil, err
	}
	if k != KindBin {
		return nil, ErrType
	}
	return p, nil
}

// Blob reads what OpenDHT's unpackBlob accepts: bin, str, or an array of
// integers 0..255. Only the array form allocates (a fresh slice).
func (r *Reader) Blob() ([]byte, error) {
	k, u, p, err := r.Head()
	if err != nil {
		return nil, err
	}
	switch k {
	case KindStr, KindBin:
		return p, nil
	case KindArray:
		if !r.need(u) {
			return nil, ErrTruncated
		}
		out := make([]byte, u)
		for i := range out {
			v, err := r.Uint(math.MaxUint8)
			if err != nil {
				return nil, err
			}
			out[i] = byte(v)
		}
		return out, nil
	}
	return nil, ErrType
}

// Bool reads a msgpack bool (msgpack-c's as<bool> accepts nothing else).
func (r *Reader) Bool() (bool, error) {
	k, u, _, err := r.Head()
	if err != nil {
		return false, err
	}
	if k != KindBool {
		return false, ErrType
	}
	return u == 1, nil
}

// Key reads a map key. OpenDHT only looks at str keys and skips the others
// (whatever their type, containers included): ok is false for those, and
// they are consumed whole.
func (r *Reader) Key() (p []byte, ok bool, err error) {
	s := r.off
	k, _, p, err := r.Head()
	if err != nil {
		return nil, false, err
	}
	switch k {
	case KindStr:
		return p, true, nil
	case KindArray, KindMap:
		r.off = s
		return nil, false, r.Skip()
	}
	return nil, false, nil
}

// Map is the encoding of one whole, well-formed map, as ReadMap returns it.
type Map []byte

// ReadMap reads the map at the start of b and checks every entry, as
// msgpack-c unpacks a whole object before OpenDHT looks anything up in it.
// Bytes after the map are ignored, like msgpack::unpack on a buffer holding
// one object. Anything but a map is ErrType.
func ReadMap(b []byte) (Map, error) {
	r := NewReader(b)
	if _, err := r.Container(KindMap); err != nil {
		return nil, err
	}
	r.Seek(0)
	m, err := r.Raw()
	return Map(m), err
}

// Find returns the encoded value of the first entry whose key is the str
// key (OpenDHT's findMapValue), or nil when there is none.
func (m Map) Find(key string) []byte {
	r := NewReader(m)
	n, err := r.Container(KindMap)
	if err != nil {
		return nil // not from ReadMap
	}
	for range n {
		k, ok, err := r.Key()
		if err != nil {
			return nil
		}
		if ok && string(k) == key {
			v, _ := r.Raw()
			return v
		}
		if r.Skip() != nil {
			return nil
		}
	}
	return nil
}
