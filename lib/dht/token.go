package dht

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"net/netip"

	"github.com/jamikit/jamikit/lib/dht/wire"
)

// tokens makes and checks write tokens as Dht::makeToken/tokenMatch do
// (opendht.md §4.6): SHA-256(secret ‖ IP ‖ port), the secret a random
// 64-bit number in host byte order (little-endian on every platform we
// build for), the port big-endian. The current and the previous secret are
// accepted; the engine rotates them every 15–45 minutes.
type tokens struct {
	secret, old uint64
}

func (t *tokens) rotate(next uint64) {
	t.old, t.secret = t.secret, next
}

// make writes the token for addr into dst.
func (t *tokens) make(dst *[wire.TokenSize]byte, addr netip.AddrPort, old bool) {
	var buf [8 + 16 + 2]byte
	s := t.secret
	if old {
		s = t.old
	}
	binary.LittleEndian.PutUint64(buf[:8], s)
	n := 8
	ip := addr.Addr().Unmap()
	if ip.Is4() {
		a := ip.As4()
		n += copy(buf[n:], a[:])
	} else {
		a := ip.As16()
		n += copy(buf[n:], a[:])
	}
	binary.BigEndian.PutUint16(buf[n:], addr.Port())
	*dst = sha256.Sum256(buf[:n+2])
}

// match reports whether tok is a token made for addr with the current or
// the previous secret. Only 32-byte tokens are accepted.
func (t *tokens) match(tok []byte, addr netip.AddrPort) bool {
	if len(tok) != wire.TokenSize || !addr.IsValid() {
		return false
	}
	var want [wire.TokenSize]byte
	t.make(&want, addr, false)
	if subtle.ConstantTimeCompare(tok, want[:]) == 1 {
		return true
	}
	t.make(&want, addr, true)
	return subtle.ConstantTimeCompare(tok, want[:]) == 1
}
