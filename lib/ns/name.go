// Package ns is JamiNS, the Jami name service (spec/nameservice.md): the
// record model and its checks (names, Jami IDs, the RSA signature over the
// name), the REST server the daemon talks to, its client, the registration
// pipeline with its journal, and the registrar contract on an Ethereum chain
// (an embedded dev chain, or a real node over JSON-RPC).
//
// The chain is the source of truth. The server adds what the reference
// server lacks: every registration is checked before it reaches the chain
// (the public key must hash to the Jami ID it claims), registrations are
// serialised, and a registration is answered 200 only once the contract's
// PrimaryChanged event confirms it. Lookups are answered from a bounded
// cache that the contract's events keep coherent with the chain (cache.go).
package ns

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Name rules (spec §1.3): what the reference server accepts on POST, and what
// every record registered through it therefore looks like.
const (
	MinNameLen = 3
	MaxNameLen = 32 // a name is stored as a bytes32
)

// ErrInvalidName is returned for a name outside ^[a-z0-9_-]{3,32}$.
var ErrInvalidName = errors.New("invalid name: 3 to 32 characters among a-z 0-9 - _")

// ValidName reports whether name is a registrable name: 3 to 32 characters,
// each a lowercase ASCII letter, a digit, '-' or '_'. Uppercase is invalid:
// names are lowercased by the client before they are signed and sent.
func ValidName(name string) bool {
	if len(name) < MinNameLen || len(name) > MaxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// CanonicalName lowercases ASCII letters only, byte by byte, as the daemon
// does with C tolower before it signs a name. Other bytes are kept, so a
// non-ASCII name stays invalid rather than being folded into a valid one.
func CanonicalName(name string) string {
	i := 0
	for i < len(name) && !(name[i] >= 'A' && name[i] <= 'Z') {
		i++
	}
	if i == len(name) {
		return name // already lowercase: every lookup of the daemons, no copy
	}
	b := []byte(name)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// NameBytes32 is the on-chain form of a name: its bytes, left-aligned,
// zero-padded to 32.
func NameBytes32(name string) ([32]byte, error) {
	var b [32]byte
	if len(name) == 0 || len(name) > len(b) {
		return b, fmt.Errorf("name %q: %w", name, ErrInvalidName)
	}
	copy(b[:], name)
	return b, nil
}

// NameFromBytes32 decodes a bytes32 name: the trailing zero bytes are padding.
func NameFromBytes32(b [32]byte) string {
	return strings.TrimRight(string(b[:]), "\x00")
}

// Address is a 20-byte value as the contract stores it: a Jami ID (the
// record's addr, SHA-1 of the account's public key) or an Ethereum owner.
type Address [20]byte

// Hex is how the server writes an address: 0x and lowercase hex. The daemon
// compares the addr it receives with its own lowercase rendering as strings,
// so mixed case (EIP-55) would break verification (spec §8.1).
func (a Address) Hex() string { return "0x" + hex.EncodeToString(a[:]) }

// String is the bare 40-hex form: how a Jami ID is shown and posted.
func (a Address) String() string { return hex.EncodeToString(a[:]) }

// IsZero reports the all-zero address.
func (a Address) IsZero() bool { return a == Address{} }

// Errors of ParseJamiID and ParseOwner.
var (
	ErrInvalidAddr  = errors.New("invalid address: want 40 hex digits, not all zero")
	ErrInvalidOwner = errors.New("invalid owner: want a non-zero Ethereum address (40 hex digits)")
)

// ParseJamiID reads a Jami ID as clients write it: optional "jami:" or
// "ring:" scheme, optional 0x, 40 hex digits in any case, not zero.
func ParseJamiID(s string) (Address, error) {
	s = strings.TrimSpace(s)
	for _, p := range []string{"jami:", "ring:"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			s = s[len(p):]
			break
		}
	}
	a, ok := parseHex20(s)
	if !ok {
		return a, ErrInvalidAddr
	}
	return a, nil
}

// ParseOwner reads an Ethereum address: optional 0x, 40 hex digits in any
// case (EIP-55 is accepted, not checked), not zero. A zero owner would leave
// the record free on-chain and overwritable by the next registration (§3.3).
func ParseOwner(s string) (Address, error) {
	a, ok := parseHex20(strings.TrimSpace(s))
	if !ok {
		return a, ErrInvalidOwner
	}
	return a, nil
}

func parseHex20(s string) (Address, bool) {
	var a Address
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s) != 40 {
		return a, false
	}
	if _, err := hex.Decode(a[:], []byte(s)); err != nil {
		return a, false
	}
	return a, !a.IsZero()
}
