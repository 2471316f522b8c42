package dht

import (
	"net/netip"
	"time"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// Protocol sizes (opendht.md §0, §10).
const (
	targetNodes      = 8       // TARGET_NODES: bucket size, put targets, sync set
	searchNodes      = 14      // SEARCH_NODES
	maxRequestedNode = 4       // MAX_REQUESTED_SEARCH_NODES
	listenNodes      = 4       // LISTEN_NODES
	searchMaxBad     = 25      // SEARCH_MAX_BAD_NODES
	maxSearches      = 1 << 20 // MAX_SEARCHES per family
)

// maxPutScratch is how many values of a put parse into reused memory.
const maxPutScratch = 4

// appendNodes adds the closest good nodes to target to a reply, for the
// families the requester wants (its own family when "w" is absent).
func (e *engine) appendNodes(m *wire.Message, target wire.InfoHash, want wire.Want, from netip.AddrPort) {
	v4, v6 := want.Families(!from.Addr().Unmap().Is4())
	if v4 && e.fams[0].conn != nil {
		e.nodes = e.fams[0].tab.closest(e.nodes, target, targetNodes, e.now, &e.t)
		e.n4 = e.n4[:0]
		for _, n := range e.nodes {
			e.n4 = wire.AppendNode(e.n4, n.info())
		}
		m.Nodes4 = e.n4
	}
	if v6 && e.fams[1].conn != nil {
		e.nodes = e.fams[1].tab.closest(e.nodes, target, targetNodes, e.now, &e.t)
		e.n6 = e.n6[:0]
		for _, n := range e.nodes {
			e.n6 = wire.AppendNode(e.n6, n.info())
		}
		m.Nodes6 = e.n6
	}
}

// onFind is Dht::onFindNode: the closest good nodes and a token.
func (e *engine) onFind(f *family, n *node, m *wire.Message, from netip.AddrPort) {
	r := e.replyHeader(m.TID, from)
	e.appendNodes(r, m.Target, m.Want, from)
	e.tok.make(&e.tokBuf, from, false)
	r.Token = e.tokBuf[:]
	e.reply(from)
}

// onGet is Dht::onGetValues: nodes, a token, and the stored values that
// match the query's WHERE, as values or, with a SELECT, as "fileds".
func (e *engine) onGet(f *family, n *node, m *wire.Message, q *value.Query, from netip.AddrPort) {
	if m.Hash.IsZero() {
		e.sendError(from, m.TID, wire.ErrCodeNonAuthoritative, wire.ErrTextGetNoInfoHash)
		return
	}
	key := m.Hash
	r := e.replyHeader(m.TID, from)
	e.appendNodes(r, key, m.Want, from)
	e.tok.make(&e.tokBuf, from, false)
	r.Token = e.tokBuf[:]
	vals := e.storageGet(e.matched, key, q.Where)
	e.matched = vals
	if len(vals) > 0 {
		if q.Select.Empty() {
			e.vals = e.vals[:0]
			for _, st := range vals {
				e.vals = append(e.vals, st.bytes())
			}
			r.Values = e.vals
		} else {
			r.Fields = e.packFields(q.Select, vals)
		}
	}
	e.reply(from)
	clear(e.matched)
}

// packFields writes the "fileds" map for stored values. Selections of id,
// type and seq only (what OpenDHT's pagination and permanent-put probes
// ask) are written from the stored fields; others unpack the values.
func (e *engine) packFields(sel value.Select, vals []*stored) []byte {
	fields := sel.Selection()
	simple := true
	for _, f := range fields {
		if f != value.FieldID && f != value.FieldValueType && f != value.FieldSeqNum {
			simple = false
		}
	}
	if !simple {
		vs := make([]*value.Value, len(vals))
		for i, st := range vals {
			vs[i] = st.value()
		}
		return value.PackFields(sel, vs)
	}
	b := msgp.AppendMapHeader(e.fieldBuf[:0], 2)
	b = msgp.AppendStr(b, "f")
	b = msgp.AppendArrayHeader(b, len(fields))
	for _, f := range fields {
		b = msgp.AppendUint(b, uint64(f))
	}
	b = msgp.AppendStr(b, "v")
	b = msgp.AppendArrayHeader(b, len(fields)*len(vals))
	for _, st := range vals {
		for _, f := range fields {
			switch f {
			case value.FieldID:
				b = msgp.AppendUint(b, st.id)
			case value.FieldValueType:
				b = msgp.AppendUint(b, uint64(st.typ))
			case value.FieldSeqNum:
				b = msgp.AppendUint(b, uint64(st.seq))
			}
		}
	}
	e.fieldBuf = b
	return b
}

// createdTicks converts a put's "c" (Unix seconds) to our clock, never
// later than now.
func (e *engine) createdTicks(m *wire.Message) ticks {
	if !m.HasCreated {
		return e.now
	}
	age := e.now.wall().Unix() - m.Created
	if age <= 0 {
		return e.now
	}
	if age > int64(365*24*time.Hour/time.Second) {
		age = int64(365 * 24 * time.Hour / time.Second)
	}
	return e.now - ticks(time.Duration(age)*time.Second)
}

// onPut is Dht::onAnnounce. Every parsed value gets a success reply, even
// when it was not stored (OpenDHT lies to keep senders from
// backtracking); a put whose values all fail to parse gets no reply.
func (e *engine) onPut(f *family, n *node, m *wire.Message, from netip.AddrPort) {
	vals := e.putVals[:0]
	defer func() { clear(vals); e.putVals = vals[:0] }()
	for i, raw := range m.Values {
		// The values are parsed into the engine's Unpackers: what is
		// stored is their packing, and listeners get copies, so nothing
		// keeps them past this put. Past maxPutScratch values, a put (a
		// rare one: Dht::put sends one value) gets values of its own, so
		// that the memory kept is bounded whatever the senders send.
		var v *value.Value
		var err error
		if i < maxPutScratch {
			if i == len(e.putUnp) {
				e.putUnp = append(e.putUnp, new(value.Unpacker))
			}
			v, err = e.putUnp[i].Unpack(raw)
		} else {
			v, err = value.Unpack(raw)
		}
		if err == nil {
			vals = append(vals, v)
		}
	}
	if m.Hash.IsZero() {
		e.sendError(from, m.TID, wire.ErrCodeNonAuthoritative, wire.ErrTextPutNoInfoHash)
		return
	}
	if !e.tok.match(m.Token, from) {
		e.sendError(from, m.TID, wire.ErrCodeUnauthorized, wire.ErrTextPutWrongToken)
		return
	}
	key, tid := m.Hash, m.TID
	// Store only if we are among the SEARCH_NODES closest we know of.
	closest := f.tab.closest(e.nodes, key, searchNodes, e.now, &e.t)
	e.nodes = closest
	tooFar := len(closest) >= targetNodes && key.XorCmp(closest[len(closest)-1].id, e.id) < 0
	if !tooFar {
		created := e.createdTicks(m)
		for _, v := range vals {
			if v.ID == 0 {
				e.sendError(from, tid, wire.ErrCodeNonAuthoritative, wire.ErrTextPutInvalidID)
				return
			}
			e.announced(key, v, created, from)
		}
	} else if e.debug() {
		e.log.Debug("dht: put too far from the target, dropping", "key", key, "from", from)
	}
	for _, v := range vals {
		r := e.replyHeader(tid, from)
		r.VID = v.ID
		e.reply(from)
	}
}

// announced applies one value of a put: refresh when identical, edit
// under the type's edit policy, store under its store policy. v is
// borrowed (an Unpacker's): neither the policies nor storageStore keep it.
func (e *engine) announced(key wire.InfoHash, v *value.Value, created ticks, from netip.AddrPort) {
	// Packed in a scratch buffer: storageStore keeps an exact-size copy,
	// and a refresh keeps nothing.
	packed := v.AppendPack(e.packBuf[:0])
	e.packBuf = packed
	if k := e.store.keys[key]; k != nil {
		if i := k.find(v.ID); i >= 0 {
			st := &k.values[i]
			if st.packed == string(packed) {
				e.storageRefresh(key, v.ID)
				return
			}
			old := st.value()
			if old.Equal(v) {
				e.storageRefresh(key, v.ID)
				return
			}
			if e.types.Get(old.Type).AllowEdit(key, old, v, from) {
				e.storageStore(key, v, packed, created, from, false)
			}
			return
		}
	}
	nv, ok := e.types.Get(v.Type).AllowStore(key, v, from)
	if !ok {
		return
	}
	if nv != v {
		packed = nv.AppendPack(nil)
	}
	e.storageStore(key, nv, packed, created, from, false)
}

// onRefresh is Dht::onRefresh.
func (e *engine) onRefresh(n *node, m *wire.Message, from netip.AddrPort) {
	if !e.tok.match(m.Token, from) {
		e.sendError(from, m.TID, wire.ErrCodeUnauthorized, wire.ErrTextPutWrongToken)
		return
	}
	tid, vid := m.TID, m.VID
	if !e.storageRefresh(m.Hash, vid) {
		e.sendError(from, tid, wire.ErrCodeNotFound, wire.ErrTextStorageNotFound)
		return
	}
	r := e.replyHeader(tid, from)
	r.VID = vid
	e.reply(from)
}

// onListen is Dht::onListen; the matching values go out before the
// confirmation, as in OpenDHT.
func (e *engine) onListen(f *family, n *node, m *wire.Message, q *value.Query, from netip.AddrPort) {
	if m.Hash.IsZero() {
		e.sendError(from, m.TID, wire.ErrCodeNonAuthoritative, wire.ErrTextListenNoInfoHash)
		return
	}
	if !e.tok.match(m.Token, from) {
		e.sendError(from, m.TID, wire.ErrCodeUnauthorized, wire.ErrTextListenWrongToken)
		return
	}
	tid := m.TID
	e.storageAddListener(f, m.Hash, n, m.SID, q.Where, m.Version)
	e.replyHeader(tid, from)
	e.reply(from)
}
