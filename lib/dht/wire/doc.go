// Package wire is the OpenDHT 2.4.12 datagram codec, byte for byte: the
// msgpack envelope of every message (ping, find, get, put, refresh,
// listen, update, the legacy "u" update, errors), the value-part datagrams
// that carry values of 600 bytes and more, compact node info ("n4"/"n6"),
// transaction ids and the 160-bit InfoHash used as key and node id
// (opendht.md §1–3, §4.1).
//
// Values, queries and "fileds" travel through this package as raw msgpack
// (sub-slices of the datagram); lib/dht/value gives them meaning. Nothing
// here knows about Jami, sockets or timers other than those the value-part
// reassembly needs.
//
// Receiving:
//
//	var m wire.Message            // reuse it: decoding allocates nothing
//	if err := m.Decode(pkt); err != nil { /* drop silently, as OpenDHT */ }
//	switch {
//	case m.Kind == wire.KindValueData:
//	    full, err := reasm.Add(from, &m, now)     // full != nil once complete
//	case len(m.Sizes) > 0:                        // values follow as parts
//	    full, err := reasm.Start(from, &m, now)
//	default: // process m; its slices alias pkt
//	}
//
// Sending:
//
//	m := wire.Message{Kind: wire.KindReply, TID: req.TID, UA: []byte(wire.UserAgent),
//	    ID: self, Addr: from.Addr(), Token: tok, Values: packed}
//	buf, _ = m.AppendBinary(buf[:0])
//	send(buf)
//	if m.NeedsParts() {
//	    wire.ValueParts(m.Net, m.TID, m.Values, partBuf, send)
//	}
//
// The bytes are those 2.4.12 writes (key order, smallest integer forms,
// bin for blobs, str for text), checked against captures of the real
// dhtnode and python3-opendht in testdata/captures.json. Decoding accepts
// what 2.4.12 accepts and refuses what makes it drop a datagram. The
// msgpack itself is read and written by lib/dht/msgp, shared with
// lib/dht/value; its errors are turned into this package's at Decode.
package wire
