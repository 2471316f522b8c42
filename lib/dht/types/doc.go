// Package types is the Jami layer's value payloads on the DHT: the msgpack
// objects jami-daemon 13.7.0 and OpenDHT 2.4.12 put in a value's data
// (account.md §5–6, opendht.md §7, connection.md §2.2). Each codec writes
// exactly what msgpack-c writes for the C++ struct (MSGPACK_DEFINE_MAP key
// order, smallest integer forms, str for strings, bin for blobs), because
// signatures cover the packed bytes, and reads the way msgpack-c's
// define-map adaptor does: by key, order-free, missing keys keep their
// defaults, unknown keys are ignored, a wrong type is an error.
//
// The package knows the payloads only; signing, encryption and where a value
// lives on the DHT are lib/dht/value, lib/dht/secure and lib/jamidht.
package types

import (
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/dht/msgp"
)

// ErrInvalid wraps every decoding error of this package.
var ErrInvalid = errors.New("invalid payload")

func invalid(what string, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrInvalid, what, err)
}

// readMap walks the map encoded at the start of b, calling field for each
// str key; field must consume the entry's value (or return skip=true to
// have it skipped). Non-str keys are skipped as OpenDHT's readers do.
func readMap(b []byte, what string, field func(key string, r *msgp.Reader) (skip bool, err error)) error {
	r := msgp.NewReader(b)
	n, err := r.Container(msgp.KindMap)
	if err != nil {
		return invalid(what, err)
	}
	for range n {
		k, ok, err := r.Key()
		if err != nil {
			return invalid(what, err)
		}
		skip := true
		if ok {
			if skip, err = field(string(k), &r); err != nil {
				return invalid(what+"."+string(k), err)
			}
		}
		if skip {
			if err := r.Skip(); err != nil {
				return invalid(what, err)
			}
		}
	}
	return nil
}

// readHash reads an InfoHash as OpenDHT's msgpack_unpack does: a bin of
// exactly 20 bytes.
func readHash(r *msgp.Reader, n int) ([]byte, error) {
	b, err := r.Bin()
	if err != nil {
		return nil, err
	}
	if len(b) != n {
		return nil, fmt.Errorf("%d bytes, want %d", len(b), n)
	}
	return b, nil
}

// readNilOr reads a nil (a null shared_ptr) and reports true, or leaves the
// reader where it was.
func readNil(r *msgp.Reader) bool {
	pos := r.Pos()
	k, _, _, err := r.Head()
	if err == nil && k == msgp.KindNil {
		return true
	}
	r.Seek(pos)
	return false
}

// clone copies a decoded slice out of the input (the reader's slices alias it).
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
