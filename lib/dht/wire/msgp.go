package wire

import (
	"encoding/binary"
	"math"
)

// This file is a minimal msgpack reader and writer working directly on byte
// slices. The codec is hand-written (dependencies.md §2.3 rule 1) and goes
// one step further than a reflection-free vmihailenco decoder: reading never
// copies (strings and blobs are sub-slices of the datagram) and writing
// appends to the caller's buffer, so a message costs no allocation either
// way. The typing rules are msgpack-c's, which is what OpenDHT 2.4.12 uses:
//
//   - any integer encoding whose value is >= 0 is a "positive integer"
//     (msgpack-c normalises int8..int64 on unpack), so a peer that writes
//     0xd0 0x05 for 5 is still understood;
//   - the writer always picks the smallest form, and non-negative signed
//     numbers use the unsigned forms, exactly like msgpack-c's packer;
//   - strings use fixstr, str8, str16, str32; blobs bin8, bin16, bin32.

// mkind is the msgpack family of an object, after msgpack-c's normalisation.
type mkind uint8

const (
	mNil mkind = iota
	mBool
	mUint  // non-negative integer, whatever its encoding
	mInt   // negative integer
	mFloat // float32 or float64
	mStr
	mBin
	mArray
	mMap
	mExt
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
)

// rd reads msgpack objects from b starting at off.
type rd struct {
	b   []byte
	off int
}

// need reports whether n more bytes are available.
func (r *rd) need(n uint64) bool { return n <= uint64(len(r.b)-r.off) }

// payload consumes n bytes and returns them as a sub-slice whose capacity
// ends at its length, so that a caller appending to it cannot overwrite the
// datagram that follows.
func (r *rd) payload(n uint64) ([]byte, error) {
	if !r.need(n) {
		return nil, errTruncated
	}
	s := r.off
	r.off += int(n)
	return r.b[s:r.off:r.off], nil
}

// fixed consumes n bytes (n <= 8) and returns them big-endian as a uint64.
func (r *rd) fixed(n int) (uint64, error) {
	if len(r.b)-r.off < n {
		return 0, errTruncated
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

// head reads one object header. For str, bin and ext the payload is
// consumed and returned in p (ext: the type byte is not included). For
// array and map, u is the number of elements (pairs for a map) that follow.
// For mUint, u is the value; for mInt, u holds the int64 bits; for mBool,
// u is 0 or 1.
func (r *rd) head() (k mkind, u uint64, p []byte, err error) {
	if r.off >= len(r.b) {
		return 0, 0, nil, errTruncated
	}
	c := r.b[r.off]
	r.off++
	switch {
	case c <= 0x7f:
		return mUint, uint64(c), nil, nil
	case c >= 0xe0:
		return mInt, uint64(int64(int8(c))), nil, nil
	case c <= 0x8f:
		return mMap, uint64(c & 0x0f), nil, nil
	case c <= 0x9f:
		return mArray, uint64(c & 0x0f), nil, nil
	case c <= 0xbf:
		p, err = r.payload(uint64(c & 0x1f))
		return mStr, 0, p, err
	}
	switch c {
	case 0xc0:
		return mNil, 0, nil, nil
	case 0xc1:
		return 0, 0, nil, errReserved
	case 0xc2:
		return mBool, 0, nil, nil
	case 0xc3:
		return mBool, 1, nil, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := r.fixed(1 << (c - 0xc4))
		if err != nil {
			return 0, 0, nil, err
		}
		p, err = r.payload(n)
		return mBin, 0, p, err
	case 0xc7, 0xc8, 0xc9:
		n, err := r.fixed(1 << (c - 0xc7))
		if err != nil {
			return 0, 0, nil, err
		}
		p, err = r.payload(n + 1)
		if err != nil {
			return 0, 0, nil, err
		}
		return mExt, 0, p[1:], nil
	case 0xca:
		u, err = r.fixed(4)
		return mFloat, u, nil, err
	case 0xcb:
		u, err = r.fixed(8)
		return mFloat, u, nil, err
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err = r.fixed(1 << (c - 0xcc))
		return mUint, u, nil, err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (c - 0xd0)
		u, err = r.fixed(n)
		if err != nil {
			return 0, 0, nil, err
		}
		// Sign-extend, then classify by sign as msgpack-c does.
		var v int64
		switch n {
		case 1:
			v = int64(int8(u))
		case 2:
			v = int64(int16(u))
		case 4:
			v = int64(int32(u))
		default:
			v = int64(u)
		}
		if v >= 0 {
			return mUint, uint64(v), nil, nil
		}
		return mInt, uint64(v), nil, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		p, err = r.payload(1 + 1<<(c-0xd4))
		if err != nil {
			return 0, 0, nil, err
		}
		return mExt, 0, p[1:], nil
	case 0xd9, 0xda, 0xdb:
		n, err := r.fixed(1 << (c - 0xd9))
		if err != nil {
			return 0, 0, nil, err
		}
		p, err = r.payload(n)
		return mStr, 0, p, err
	case 0xdc, 0xdd:
		u, err = r.fixed(2 << (c - 0xdc))
		return mArray, u, nil, err
	default: // 0xde, 0xdf
		u, err = r.fixed(2 << (c - 0xde))
		return mMap, u, nil, err
	}
}

// skip consumes one complete object of any depth. It is iterative, so a
// hostile nesting depth cannot exhaust the stack, and it fails as soon as
// the declared element count exceeds the bytes left (every object takes at
// least one byte), so hostile lengths cost nothing.
func (r *rd) skip() error {
	pending := uint64(1)
	for pending > 0 {
		k, u, _, err := r.head()
		if err != nil {
			return err
		}
		pending--
		switch k {
		case mArray:
			pending += u
		case mMap:
			pending += 2 * u
		}
		if !r.need(pending) {
			return errTruncated
		}
	}
	return nil
}

// raw consumes one object and returns its encoding.
func (r *rd) raw() ([]byte, error) {
	s := r.off
	if err := r.skip(); err != nil {
		return nil, err
	}
	return r.b[s:r.off:r.off], nil
}

// container reads an array or map header of the given kind and checks that
// the declared elements can fit in the remaining bytes.
func (r *rd) container(want mkind) (int, error) {
	k, u, _, err := r.head()
	if err != nil {
		return 0, err
	}
	if k != want {
		return 0, errType
	}
	min := u
	if want == mMap {
		min = 2 * u
	}
	if !r.need(min) {
		return 0, errTruncated
	}
	return int(u), nil
}

// uint reads a non-negative integer no larger than max (msgpack-c's
// as<unsigned T>: negative numbers and other types are type errors).
func (r *rd) uint(max uint64) (uint64, error) {
	k, u, _, err := r.head()
	if err != nil {
		return 0, err
	}
	if k != mUint {
		return 0, errType
	}
	if u > max {
		return 0, errRange
	}
	return u, nil
}

// int reads a signed integer within [min, max] (msgpack-c's as<signed T>).
func (r *rd) int(min, max int64) (int64, error) {
	k, u, _, err := r.head()
	if err != nil {
		return 0, err
	}
	switch k {
	case mUint:
		if u > uint64(max) {
			return 0, errRange
		}
		return int64(u), nil
	case mInt:
		if v := int64(u); v >= min {
			return v, nil
		}
		return 0, errRange
	}
	return 0, errType
}

// text reads a str or a bin (msgpack-c converts either to std::string and
// std::string_view).
func (r *rd) text() ([]byte, error) {
	k, _, p, err := r.head()
	if err != nil {
		return nil, err
	}
	if k != mStr && k != mBin {
		return nil, errType
	}
	return p, nil
}

// blob reads what OpenDHT's unpackBlob accepts: bin, str, or an array of
// small unsigned integers. Only the array form copies.
func (r *rd) blob() ([]byte, error) {
	k, u, p, err := r.head()
	if err != nil {
		return nil, err
	}
	switch k {
	case mStr, mBin:
		return p, nil
	case mArray:
		if !r.need(u) {
			return nil, errTruncated
		}
		out := make([]byte, u)
		for i := range out {
			v, err := r.uint(math.MaxUint8)
			if err != nil {
				return nil, err
			}
			out[i] = byte(v)
		}
		return out, nil
	}
	return nil, errType
}

// hash reads an InfoHash: a bin of exactly 20 bytes and nothing else.
func (r *rd) hash() (InfoHash, error) {
	var h InfoHash
	k, _, p, err := r.head()
	if err != nil {
		return h, err
	}
	if k != mBin || len(p) != HashLen {
		return h, errType
	}
	copy(h[:], p)
	return h, nil
}

// boolean reads a msgpack bool (msgpack-c's as<bool> accepts nothing else).
func (r *rd) boolean() (bool, error) {
	k, u, _, err := r.head()
	if err != nil {
		return false, err
	}
	if k != mBool {
		return false, errType
	}
	return u == 1, nil
}

// tid reads a transaction or socket id as OpenDHT's unpackTid does: a
// positive integer that fits in 32 bits, or the legacy form, a 4-byte str
// or bin read big-endian. msgpack-c copies shorter legacy strings into an
// uninitialised array; those are refused here rather than guessed.
func (r *rd) tid() (uint32, error) {
	k, u, p, err := r.head()
	if err != nil {
		return 0, err
	}
	switch k {
	case mUint:
		if u > math.MaxUint32 {
			return 0, errRange
		}
		return uint32(u), nil
	case mStr, mBin:
		if len(p) != 4 {
			return 0, errType
		}
		return binary.BigEndian.Uint32(p), nil
	}
	return 0, errType
}

// key reads a map key. OpenDHT only looks at str keys and skips the others
// (whatever their type, containers included); ok is false for those.
func (r *rd) key() (p []byte, ok bool, err error) {
	s := r.off
	k, _, p, err := r.head()
	if err != nil {
		return nil, false, err
	}
	switch k {
	case mStr:
		return p, true, nil
	case mArray, mMap:
		r.off = s
		return nil, false, r.skip()
	}
	return nil, false, nil
}

// lookup returns the value of the first str key equal to key in the map
// encoded by m (OpenDHT's findMapValue), or nil when there is none. A
// non-map is a type error, as in OpenDHT.
func lookup(m []byte, key string) ([]byte, error) {
	r := rd{b: m}
	n, err := r.container(mMap)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		p, ok, err := r.key()
		if err != nil {
			return nil, err
		}
		if ok && string(p) == key {
			return r.raw()
		}
		if err := r.skip(); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// Appenders. All produce msgpack-c's byte-exact smallest encodings.

func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xde, byte(n>>8), byte(n))
	default:
		return append(b, 0xdf, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xdc, byte(n>>8), byte(n))
	default:
		return append(b, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xda, byte(n>>8), byte(n))
	default:
		return append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendStr(b []byte, s string) []byte {
	return append(appendStrHeader(b, len(s)), s...)
}

func appendStrBytes(b []byte, s []byte) []byte {
	return append(appendStrHeader(b, len(s)), s...)
}

func appendBin(b []byte, p []byte) []byte {
	n := len(p)
	switch {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xc5, byte(n>>8), byte(n))
	default:
		b = append(b, 0xc6, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, p...)
}

func appendUint(b []byte, u uint64) []byte {
	switch {
	case u < 0x80:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return append(b, 0xcd, byte(u>>8), byte(u))
	case u <= math.MaxUint32:
		return append(b, 0xce, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
	default:
		return append(b, 0xcf, byte(u>>56), byte(u>>48), byte(u>>40), byte(u>>32),
			byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
	}
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return append(b, 0xd1, byte(v>>8), byte(v))
	case v >= math.MinInt32:
		return append(b, 0xd2, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(b, 0xd3, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}
