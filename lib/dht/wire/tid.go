package wire

import (
	"crypto/rand"
	"encoding/binary"
)

// TIDs generates transaction and listen-socket ids the way OpenDHT 2.4.12
// does for one remote node (§2.3): a counter starting at a random value,
// advanced by 2 for each request and by 1 for each listen socket, never 0.
// In 2.4.12 a tid is a plain uint32 in its smallest msgpack encoding; the
// request type is not encoded in it (old OpenDHT 1.x tids carried it in a
// 4-byte string, which Decode still reads, big-endian). Replies are matched
// by (sender id, tid), so a per-node counter is enough; a random start also
// keeps 2.4.12's tid-only value-part sessions from colliding. The zero
// value starts at a random point on first use. Not safe for concurrent use.
type TIDs struct {
	n       uint32
	started bool
}

// NewTIDs returns a generator that starts after start (for tests and
// reproducible traces).
func NewTIDs(start uint32) *TIDs { return &TIDs{n: start, started: true} }

func (t *TIDs) init() {
	if !t.started {
		var b [4]byte
		_, _ = rand.Read(b[:])
		t.n = binary.LittleEndian.Uint32(b[:])
		t.started = true
	}
}

// Next returns the tid of a new request.
func (t *TIDs) Next() uint32 {
	t.init()
	// OpenDHT increments twice and can return 0 on wrap-around; 0 is
	// skipped here because it also means "no tid".
	t.n += 2
	if t.n == 0 {
		t.n = 2
	}
	return t.n
}

// NextSocket returns a new listen socket id ("sid").
func (t *TIDs) NextSocket() uint32 {
	t.init()
	t.n++
	if t.n == 0 {
		t.n = 1
	}
	return t.n
}
