// Package msgp is the low-level msgpack codec shared by lib/dht/wire and
// lib/dht/value: a streaming reader over a byte slice and append-style
// encoders, with exactly the rules of msgpack-c, the library OpenDHT 2.4.12
// is built on.
//
// It exists instead of a general codec (dependencies.md §2.3 recommends
// vmihailenco/msgpack) because the DHT needs things such a codec does not
// give, or not all at once:
//
//   - msgpack-c's typing: an integer written in a signed form but >= 0 is a
//     positive integer (as msgpack-c normalises it on unpack), and the
//     encoders always pick the smallest form, non-negative signed numbers
//     included, because OpenDHT checks signatures over its own re-packing;
//   - OpenDHT's tolerance: text and blobs may come as str or bin, and blobs
//     also as arrays of small integers (unpackBlob);
//   - raw spans: Raw returns the exact bytes of an object, which is what a
//     signature is checked over and what wire hands to value undecoded;
//   - zero allocation: reading never copies (strings and blobs are
//     sub-slices of the input) and errors are static values, so hostile
//     traffic where every datagram fails costs nothing; writing appends to
//     the caller's buffer;
//   - hostile lengths: every declared length or element count is checked
//     against the bytes that remain before it is used, and skipping is
//     iterative, so neither a huge count nor a deep nesting costs memory or
//     stack.
//
// The package knows nothing of OpenDHT's messages or values; callers wrap
// its errors into their own (wire.ErrMalformed, value.ErrInvalid).
package msgp
