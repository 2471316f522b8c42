package wire

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"math/bits"
)

// HashLen is the size of an InfoHash in bytes.
const HashLen = 20

// InfoHash is a 160-bit DHT key or node id. Ordering is big-endian byte
// order; distance is XOR (opendht.md §4.1).
type InfoHash [HashLen]byte

// ErrInfoHash is returned by ParseInfoHash for text that is not 40 hex digits.
var ErrInfoHash = errors.New("infohash: want 40 hexadecimal characters")

// InfoHashOf returns SHA-1(data), OpenDHT's InfoHash::get.
func InfoHashOf(data []byte) InfoHash { return InfoHash(sha1.Sum(data)) }

// ParseInfoHash parses 40 hex characters (either case). Unlike OpenDHT,
// which silently yields the zero hash on a bad character, it reports an
// error: a typo on a command line must not turn into a search for zero.
func ParseInfoHash(s string) (InfoHash, error) {
	var h InfoHash
	if len(s) != 2*HashLen {
		return h, ErrInfoHash
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return InfoHash{}, ErrInfoHash
	}
	return h, nil
}

// String returns the 40 lowercase hex characters OpenDHT prints.
func (h InfoHash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText and UnmarshalText make InfoHash a hex string in JSON.
func (h InfoHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText parses the hex form.
func (h *InfoHash) UnmarshalText(b []byte) error {
	v, err := ParseInfoHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// IsZero reports the zero hash, which OpenDHT treats as "no id".
func (h InfoHash) IsZero() bool { return h == InfoHash{} }

// Compare orders hashes as big-endian numbers (-1, 0, +1).
func (h InfoHash) Compare(o InfoHash) int { return bytes.Compare(h[:], o[:]) }

// Xor returns the XOR distance between h and o.
func (h InfoHash) Xor(o InfoHash) InfoHash {
	var d InfoHash
	for i := range d {
		d[i] = h[i] ^ o[i]
	}
	return d
}

// XorCmp compares the distances of a and b to h: -1 when a is closer,
// +1 when b is closer, 0 when equal (OpenDHT's InfoHash::xorCmp).
func (h InfoHash) XorCmp(a, b InfoHash) int {
	for i := range h {
		if a[i] == b[i] {
			continue
		}
		if a[i]^h[i] < b[i]^h[i] {
			return -1
		}
		return 1
	}
	return 0
}

// Bit returns bit i (0 = most significant bit of byte 0).
func (h InfoHash) Bit(i int) bool { return h[i/8]&(0x80>>(i%8)) != 0 }

// SetBit sets bit i (same numbering as Bit) to v.
func (h *InfoHash) SetBit(i int, v bool) {
	if v {
		h[i/8] |= 0x80 >> (i % 8)
	} else {
		h[i/8] &^= 0x80 >> (i % 8)
	}
}

// LowBit returns the index (Bit numbering) of the last set bit, or -1 for
// the zero hash. The routing table derives a bucket's depth from it.
func (h InfoHash) LowBit() int {
	for b := HashLen - 1; b >= 0; b-- {
		if h[b] != 0 {
			return 8*b + 7 - bits.TrailingZeros8(h[b])
		}
	}
	return -1
}

// CommonBits returns the length of the common prefix of a and b in bits
// (160 when equal).
func CommonBits(a, b InfoHash) int {
	for i := range a {
		if x := a[i] ^ b[i]; x != 0 {
			return 8*i + bits.LeadingZeros8(x)
		}
	}
	return 8 * HashLen
}
