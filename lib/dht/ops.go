package dht

import (
	"errors"
	"net/netip"
	"slices"
	"sync"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// Errors returned by Node operations.
var (
	// ErrClosed: the node was closed.
	ErrClosed = errors.New("dht: node closed")
	// ErrFailed: the operation reached no node in either family (no node
	// known, or all of them failed to answer).
	ErrFailed = errors.New("dht: operation failed: no node answered")
	// ErrBootstrap: no bootstrap node answered.
	ErrBootstrap = errors.New("dht: no bootstrap node answered")
)

// event is one batch of results for a client operation.
type event struct {
	vals    []*value.Value
	rows    []value.FieldIndex
	expired bool
}

// mailbox carries results from the engine goroutine to the goroutine that
// serves a client operation, so user callbacks never run on the engine.
type mailbox struct {
	mu     sync.Mutex
	q      []event
	closed bool
	err    error
	signal chan struct{}
}

func newMailbox() *mailbox { return &mailbox{signal: make(chan struct{}, 1)} }

func (m *mailbox) notify() {
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

func (m *mailbox) push(ev event) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.q = append(m.q, ev)
	m.mu.Unlock()
	m.notify()
}

func (m *mailbox) close(err error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed, m.err = true, err
	m.mu.Unlock()
	m.notify()
}

// take returns the queued events and whether the mailbox is closed.
func (m *mailbox) take() ([]event, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.q
	m.q = nil
	return q, m.closed, m.err
}

type opStatus struct{ done, ok bool }

// getOp is one Get or Query (Dht::get / Dht::query): it runs on the
// search of each family and completes when both are done.
type getOp struct {
	key         wire.InfoHash
	query       value.Query
	packedQuery []byte
	fields      bool // a field query (SELECT): results are rows
	seen        map[uint64]*value.Value
	rows        []value.FieldIndex
	mb          *mailbox
	st          [2]opStatus
	searches    [2]*search
	finished    bool
}

func newGetOp(key wire.InfoHash, q value.Query, fields bool) (*getOp, error) {
	op := &getOp{key: key, query: q, fields: fields, seen: map[uint64]*value.Value{}, mb: newMailbox()}
	if !q.Empty() {
		p, err := q.Pack()
		if err != nil {
			return nil, err
		}
		op.packedQuery = p
	}
	return op, nil
}

// addValues passes on the values not seen yet (or changed).
func (op *getOp) addValues(e *engine, vals []*value.Value) {
	if op.finished {
		return
	}
	var fresh []*value.Value
	for _, v := range vals {
		if old := op.seen[v.ID]; old == nil || !old.Equal(v) {
			op.seen[v.ID] = v
			fresh = append(fresh, v)
		}
	}
	if len(fresh) > 0 {
		op.mb.push(event{vals: fresh})
	}
}

// addRows passes on the field rows not seen yet. OpenDHT's Dht::query
// deduplicates with FieldValueIndex::containedIn, which compares only which
// fields are present, so every node's rows but the first answer's vanish;
// rows are compared by content here.
func (op *getOp) addRows(e *engine, rows []value.FieldIndex) {
	if op.finished {
		return
	}
	var fresh []value.FieldIndex
	for _, r := range rows {
		if slices.ContainsFunc(op.rows, func(o value.FieldIndex) bool { return sameRow(r, o) }) {
			continue
		}
		op.rows = append(op.rows, r)
		fresh = append(fresh, r)
	}
	if len(fresh) > 0 {
		op.mb.push(event{rows: fresh})
	}
}

// familyDone records one family's outcome; the operation ends when both
// are known, successful if either succeeded.
func (op *getOp) familyDone(e *engine, fam int, ok bool) {
	if op.finished {
		return
	}
	op.st[fam] = opStatus{true, ok}
	if op.st[0].done && op.st[1].done {
		e.finishGet(op, op.st[0].ok || op.st[1].ok)
	}
}

func (e *engine) finishGet(op *getOp, ok bool) {
	if op.finished {
		return
	}
	op.finished = true
	e.gets--
	for _, s := range op.searches {
		if s != nil {
			e.removeGet(s, op)
			e.scheduleStep(s, e.now)
		}
	}
	var err error
	if !ok {
		err = ErrFailed
	}
	op.mb.close(err)
}

// startGet answers from local storage first, then searches both families.
func (e *engine) startGet(op *getOp) {
	e.gets++
	e.whenReady(func() {
		if op.finished {
			return
		}
		var local []*value.Value
		for _, st := range e.storageGet(nil, op.key, op.query.Where) {
			local = append(local, st.value())
		}
		if op.fields {
			rows := make([]value.FieldIndex, len(local))
			for i, v := range local {
				rows[i] = value.IndexOf(v, op.query.Select)
			}
			op.addRows(e, rows)
		} else {
			op.addValues(e, local)
		}
		for _, f := range e.fams {
			if op.finished {
				return
			}
			e.search(f, op.key, op)
		}
	})
}

// putOp is one Put (Dht::put).
type putOp struct {
	key       wire.InfoHash
	v         *value.Value
	packed    []byte
	created   ticks
	permanent bool
	st        [2]opStatus
	result    chan error
	finished  bool
}

func (op *putOp) familyDone(e *engine, fam int, ok bool) {
	if op.finished {
		return
	}
	op.st[fam] = opStatus{true, ok}
	if op.st[0].done && op.st[1].done {
		op.finished = true
		e.puts--
		var err error
		if !op.st[0].ok && !op.st[1].ok {
			err = ErrFailed
		}
		op.result <- err
	}
}

// startPut stores the value locally, then announces it in both families.
func (e *engine) startPut(op *putOp) {
	e.puts++
	e.whenReady(func() {
		e.localStore(op)
		for _, f := range e.fams {
			if f.conn == nil {
				op.familyDone(e, f.idx, false)
				continue
			}
			s := f.searches[op.key]
			if s == nil {
				if s = e.search(f, op.key, nil); s == nil {
					op.familyDone(e, f.idx, false)
					continue
				}
			}
			e.searchPut(s, op)
			e.scheduleStep(s, e.now)
		}
	})
}

// localStore keeps our own value (no store policy, no quota); a permanent
// value never expires here.
func (e *engine) localStore(op *putOp) {
	if k := e.store.keys[op.key]; k != nil {
		if i := k.find(op.v.ID); i >= 0 {
			st := &k.values[i]
			if string(st.packed) == string(op.packed) {
				if op.permanent {
					st.expire = tMax
				} else {
					st.expire = max(st.expire, op.created.add(e.types.Get(st.typ).Expiration))
				}
				e.store.reschedule(k)
				e.scheduleStorageExpiry()
				return
			}
		}
	}
	e.storageStore(op.key, op.v, op.packed, op.created, netip.AddrPort{}, op.permanent)
}

// cancelPut stops announcing a value and removes the local copy
// (Dht::cancelPut); listeners here hear that it expired.
func (e *engine) cancelPut(key wire.InfoHash, id uint64) bool {
	cancelled := false
	for _, f := range e.fams {
		s := f.searches[key]
		if s == nil {
			continue
		}
		for _, a := range s.puts {
			if a.op.v.ID == id {
				cancelled = true
				if a.pending {
					a.pending = false
					a.op.familyDone(e, f.idx, false)
				}
			}
		}
		e.removeAnnounce(s, id)
	}
	if cancelled {
		if k := e.store.keys[key]; k != nil {
			e.removeValue(k, id)
		}
	}
	return cancelled
}

// listenOp is one Listen: values from local storage and from the nodes
// listened to in both families, merged with reference counts
// (OpValueCache): a value is new when the first source reports it and
// expired when the last one drops it.
type listenOp struct {
	token       uint64
	key         wire.InfoHash
	where       value.Where
	packedQuery []byte
	values      map[uint64]*opValue
	mb          *mailbox
	searches    [2]*search
	cancelled   bool
}

type opValue struct {
	v    *value.Value
	refs int32
}

func (op *listenOp) added(e *engine, _ int, vals []*value.Value) {
	if op.cancelled {
		return
	}
	var fresh []*value.Value
	for _, v := range vals {
		ov := op.values[v.ID]
		switch {
		case ov == nil:
			op.values[v.ID] = &opValue{v: v, refs: 1}
			fresh = append(fresh, v)
		case !ov.v.Equal(v):
			// An edit: only a newer sequence number replaces the value.
			if v.Seq > ov.v.Seq {
				ov.v = v
				fresh = append(fresh, v)
			}
		default:
			ov.refs++
		}
	}
	if len(fresh) > 0 {
		op.mb.push(event{vals: fresh})
	}
}

func (op *listenOp) expired(e *engine, _ int, vals []*value.Value) {
	if op.cancelled {
		return
	}
	var gone []*value.Value
	for _, v := range vals {
		ov := op.values[v.ID]
		if ov == nil {
			continue
		}
		if ov.refs--; ov.refs <= 0 {
			delete(op.values, v.ID)
			gone = append(gone, ov.v)
		}
	}
	if len(gone) > 0 {
		op.mb.push(event{vals: gone, expired: true})
	}
}

// startListen is Dht::listen: local storage first, then both families.
func (e *engine) startListen(op *listenOp) {
	e.nextToken++
	op.token = e.nextToken
	e.listens[op.token] = op
	e.whenReady(func() {
		if op.cancelled {
			return
		}
		if k := e.keyStoreFor(op.key); k != nil {
			if k.lst == nil {
				k.lst = &keyListeners{}
			}
			var vals []*value.Value
			for i := range k.values {
				if v := k.values[i].value(); op.where.Match(v) {
					vals = append(vals, v)
				}
			}
			op.added(e, 0, vals)
			k.lst.local = append(k.lst.local, op)
		}
		for _, f := range e.fams {
			e.addListen(f, op)
		}
	})
}

func (e *engine) cancelListen(token uint64) bool {
	op := e.listens[token]
	if op == nil {
		return false
	}
	delete(e.listens, token)
	op.cancelled = true
	if k := e.store.keys[op.key]; k != nil && k.lst != nil {
		k.lst.local = slices.DeleteFunc(k.lst.local, func(o *listenOp) bool { return o == op })
		if k.empty() {
			e.dropKey(k)
		}
	}
	e.removeListen(op)
	op.mb.close(nil)
	return true
}

// nodeListen is a listen we sent to one node (a "socket" in OpenDHT): the
// values that node reported, each kept until it expires, is refreshed
// ("re") or reported expired ("exp") (OpenDHT's ValueCache).
type nodeListen struct {
	s       *search
	op      *listenOp
	node    *node
	sid     uint32 // 0 once the socket is closed
	req     *request
	refresh *job
	cache   map[uint64]*cachedValue
	expJob  *job
}

type cachedValue struct {
	v      *value.Value
	expire ticks
}

// onReceive handles an "update" (or a legacy listen reply) for this socket.
func (nl *nodeListen) onReceive(e *engine, n *node, m *wire.Message) {
	s := nl.s
	if s.deleted || nl.sid == 0 {
		return
	}
	e.scheduleStep(s, e.now)
	e.insertNode(s, n, m.Token)
	var vals []*value.Value
	for _, raw := range m.Values {
		if v, err := value.Unpack(raw); err == nil && nl.op.where.Match(v) {
			vals = append(vals, v)
		}
	}
	nl.onValues(e, vals, m.Refreshed, m.Expired)
}

func (nl *nodeListen) onValues(e *engine, vals []*value.Value, refreshed, expired []uint64) {
	now := e.now
	if nl.cache == nil {
		nl.cache = map[uint64]*cachedValue{}
	}
	var added, gone []*value.Value
	for _, v := range vals {
		exp := now.add(e.types.Get(v.Type).Expiration)
		cv := nl.cache[v.ID]
		switch {
		case cv == nil:
			if len(nl.cache) >= maxListenCache {
				continue
			}
			nl.cache[v.ID] = &cachedValue{v: v, expire: exp}
			added = append(added, v)
		case !cv.v.Equal(v):
			cv.v, cv.expire = v, exp
			added = append(added, v)
		default:
			cv.expire = exp
		}
	}
	for _, id := range refreshed {
		if cv := nl.cache[id]; cv != nil {
			cv.expire = now.add(e.types.Get(cv.v.Type).Expiration)
		}
	}
	for _, id := range expired {
		if cv := nl.cache[id]; cv != nil {
			delete(nl.cache, id)
			gone = append(gone, cv.v)
		}
	}
	next := tMax
	for id, cv := range nl.cache {
		if cv.expire <= now {
			delete(nl.cache, id)
			gone = append(gone, cv.v)
		} else {
			next = min(next, cv.expire)
		}
	}
	if len(added) > 0 {
		nl.op.added(e, 1, added)
	}
	if len(gone) > 0 {
		nl.op.expired(e, 1, gone)
	}
	nl.expJob = e.addOrEdit(nl.expJob, next, func() { nl.onValues(e, nil, nil, nil) })
}

// maxListenCache is ValueCache::MAX_VALUES.
const maxListenCache = 4096

// closeNodeListen closes the socket; the values only this node reported
// expire for the operation.
func (e *engine) closeNodeListen(nl *nodeListen) {
	if nl.sid != 0 && nl.node.sockets[nl.sid] == nl {
		delete(nl.node.sockets, nl.sid)
		defer e.maybeForget(e.famOf(nl.node.addr), nl.node)
	}
	nl.sid = 0
	e.cancelRequest(nl.req)
	e.sched.cancel(nl.refresh)
	e.sched.cancel(nl.expJob)
	if len(nl.cache) > 0 {
		vals := make([]*value.Value, 0, len(nl.cache))
		for _, cv := range nl.cache {
			vals = append(vals, cv.v)
		}
		nl.cache = nil
		nl.op.expired(e, 1, vals)
	}
}

func sameRow(a, b value.FieldIndex) bool {
	if len(a) != len(b) {
		return false
	}
	for f, v := range a {
		if o, ok := b[f]; !ok || !o.Equal(v) {
			return false
		}
	}
	return true
}
