package value

import (
	"math"

	"github.com/jamikit/jamikit/lib/dht/msgp"
)

// The msgpack codec is lib/dht/msgp (msgpack-c's rules, raw spans, bounded
// lengths). These adapters read the one object held in b, typically a
// value found with msgp.Map.Find, with the as<T>() conversions OpenDHT's
// parsers use, and copy what a Value keeps: its fields must not alias the
// caller's buffer.

// asUint is msgpack-c's as<T>() for an unsigned T with the given maximum.
func asUint(b []byte, max uint64) (uint64, error) {
	r := msgp.NewReader(b)
	return r.Uint(max)
}

// asInt is msgpack-c's as<int>() (used for enums such as Value::Field).
func asInt(b []byte) (int64, error) {
	r := msgp.NewReader(b)
	return r.Int(math.MinInt32, math.MaxInt32)
}

// asString is msgpack-c's as<std::string>(): str or bin.
func asString(b []byte) (string, error) {
	r := msgp.NewReader(b)
	p, err := r.Text()
	return string(p), err
}

// asBlob is OpenDHT's unpackBlob: bin, str, or an array of uint8; the
// result is a copy, never nil.
func asBlob(b []byte) ([]byte, error) {
	r := msgp.NewReader(b)
	p, err := r.Blob()
	if err != nil {
		return nil, err
	}
	return append([]byte{}, p...), nil
}

// rawBlob is asBlob without the copy: for bin and str, the result aliases b.
func rawBlob(b []byte) ([]byte, error) {
	r := msgp.NewReader(b)
	return r.Blob()
}

// asBin20 is InfoHash::msgpack_unpack: bin of exactly 20 bytes, nothing else.
func asBin20(b []byte) ([20]byte, error) {
	var h [20]byte
	r := msgp.NewReader(b)
	p, err := r.Bin()
	if err != nil {
		return h, err
	}
	if len(p) != len(h) {
		return h, msgp.ErrType
	}
	copy(h[:], p)
	return h, nil
}

// asArray returns the encoded elements of an array.
func asArray(b []byte) ([][]byte, error) {
	r := msgp.NewReader(b)
	n, err := r.Container(msgp.KindArray)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, min(n, 1024))
	for range n {
		e, err := r.Raw()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
