package dht

import (
	"net/netip"
	"slices"
	"unsafe"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// Storage limits (opendht.md §4.8).
const (
	// DefaultMaxStoreSize is DEFAULT_STORAGE_LIMIT.
	DefaultMaxStoreSize = 64 << 20
	// MaxValuesPerKey is Storage::MAX_VALUES.
	MaxValuesPerKey = 64 * 1024
	// maxStoreKeys is MAX_HASHES.
	maxStoreKeys = 1 << 30
	// maxListenersPerIP bounds the remote listeners of one key from one
	// IPv4 address or IPv6 /64 (not an OpenDHT limit).
	maxListenersPerIP = 256
)

// stored is one value held for the network. Only the canonical packed
// form is kept, plus the few fields that filters and policies read
// without unpacking: 48 bytes of overhead per value. packed is a string
// (immutable, 8 bytes smaller than a slice header, allocated at its exact
// size by the conversion in storageStore); bytes() lends it to the wire
// encoder, which only reads.
type stored struct {
	id     uint64
	expire ticks // tMax: a permanent local value
	packed string
	quota  *quota // the source IP's bucket; nil for local values
	size   int32  // Value::size(): what limits and quotas count
	typ    uint16
	seq    uint16
}

// bytes returns the packed value without copying it; it must not be
// modified.
func (s *stored) bytes() []byte {
	return unsafe.Slice(unsafe.StringData(s.packed), len(s.packed))
}

func (s *stored) value() *value.Value {
	v, err := value.Unpack(s.bytes())
	if err != nil {
		// Cannot happen: packed was produced by value.AppendPack.
		return &value.Value{ID: s.id, Type: s.typ}
	}
	return v
}

// quota is OpenDHT's StorageBucket: what one source IP (or IPv6 /64)
// stores here.
type quota struct {
	addr netip.Addr
	size int64
}

// keyStore is everything stored under one key. Most keys hold one value:
// it lives in one, inside the keyStore's own allocation (values points
// there until a second value moves them to an array of their own). The
// fields are ordered so that the whole is 128 bytes, a size class.
type keyStore struct {
	key     wire.InfoHash
	heapIdx int32 // position in the expiry heap, -1 when absent
	values  []stored
	size    int64
	nextExp ticks // earliest expiration, tMax if none
	lst     *keyListeners
	idx     map[uint64]int32 // value positions, for keys with many values
	one     [1]stored
}

type keyListeners struct {
	remote []*remoteListener
	local  []*listenOp
}

// remoteListener is a node listening on a key here (OpenDHT's Listener).
type remoteListener struct {
	node    *node
	fam     *family
	sid     uint32
	time    ticks
	where   value.Where
	version int32
}

// indexFrom is the value count above which a key keeps an index: a key
// may hold 65536 values, and a linear scan per put would then cost more
// than the rest of the packet.
const indexFrom = 16

func (k *keyStore) find(id uint64) int {
	if len(k.values) > indexFrom {
		if k.idx == nil {
			k.idx = make(map[uint64]int32, len(k.values))
			for i := range k.values {
				k.idx[k.values[i].id] = int32(i)
			}
		}
		if i, ok := k.idx[id]; ok {
			return int(i)
		}
		return -1
	}
	for i := range k.values {
		if k.values[i].id == id {
			return i
		}
	}
	return -1
}

// appendValue adds a value, keeping the index current.
func (k *keyStore) appendValue(st stored) {
	inline := cap(k.values) > 0 && &k.values[:1][0] == &k.one[0]
	k.values = append(k.values, st)
	if inline && &k.values[0] != &k.one[0] {
		k.one[0] = stored{} // moved out: drop the references
	}
	if k.idx != nil {
		k.idx[st.id] = int32(len(k.values) - 1)
	}
}

func (k *keyStore) empty() bool {
	return len(k.values) == 0 && (k.lst == nil || (len(k.lst.remote) == 0 && len(k.lst.local) == 0))
}

// storage is the node's value store with its global limits.
type storage struct {
	keys    map[wire.InfoHash]*keyStore
	total   int64 // sum of Value::size()
	count   int
	max     int64 // < 0: unlimited
	maxKeys int
	quotas  map[netip.Addr]*quota
	heap    []*keyStore // by nextExp
	expJob  *job
}

func (s *storage) init(cfg *Config) {
	s.keys = map[wire.InfoHash]*keyStore{}
	s.quotas = map[netip.Addr]*quota{}
	s.max = cfg.maxStore
	s.maxKeys = maxStoreKeys
}

// ---- expiry heap: one entry per key, at its earliest expiration ----

func (s *storage) heapLess(i, j int) bool { return s.heap[i].nextExp < s.heap[j].nextExp }

func (s *storage) heapSwap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.heap[i].heapIdx = int32(i)
	s.heap[j].heapIdx = int32(j)
}

func (s *storage) heapUp(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !s.heapLess(i, p) {
			return
		}
		s.heapSwap(i, p)
		i = p
	}
}

func (s *storage) heapDown(i int) {
	n := len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && s.heapLess(r, l) {
			m = r
		}
		if !s.heapLess(m, i) {
			return
		}
		s.heapSwap(i, m)
		i = m
	}
}

// reschedule recomputes k's earliest expiration and its heap position.
func (s *storage) reschedule(k *keyStore) {
	next := tMax
	for i := range k.values {
		next = min(next, k.values[i].expire)
	}
	s.place(k, next)
}

// lowered is reschedule after adding a value expiring at exp: no scan.
func (s *storage) lowered(k *keyStore, exp ticks) {
	if exp < k.nextExp || k.heapIdx < 0 && exp < tMax {
		s.place(k, min(exp, k.nextExp))
	}
}

func (s *storage) place(k *keyStore, next ticks) {
	k.nextExp = next
	i := int(k.heapIdx)
	switch {
	case next >= tMax && i >= 0:
		last := len(s.heap) - 1
		if i != last {
			s.heapSwap(i, last)
		}
		s.heap[last] = nil
		s.heap = s.heap[:last]
		k.heapIdx = -1
		if i != last {
			s.heapDown(i)
			s.heapUp(i)
		}
	case next >= tMax:
	case i >= 0:
		s.heapDown(i)
		s.heapUp(i)
	default:
		k.heapIdx = int32(len(s.heap))
		s.heap = append(s.heap, k)
		s.heapUp(int(k.heapIdx))
	}
}

func (s *storage) nextExpiry() ticks {
	if len(s.heap) == 0 {
		return tMax
	}
	return s.heap[0].nextExp
}

// ---- engine operations (Dht::storage*) ----

func (e *engine) scheduleStorageExpiry() {
	at := e.store.nextExpiry()
	if e.store.expJob == nil {
		e.store.expJob = e.sched.add(at, e.expireDue)
	} else {
		e.sched.edit(e.store.expJob, at)
	}
}

// expireDue runs the expiry of every key whose earliest value is due
// (OpenDHT schedules one job per value; one heap entry per key does the
// same with less memory).
func (e *engine) expireDue() {
	for n := 0; n < 4096 && e.store.nextExpiry() <= e.now; n++ {
		k := e.store.heap[0]
		e.expireKey(k)
		if k.empty() {
			e.dropKey(k)
		}
	}
	e.scheduleStorageExpiry()
}

func (e *engine) dropKey(k *keyStore) {
	if len(k.values) == 0 && k.heapIdx >= 0 {
		e.store.reschedule(k)
	}
	if e.store.keys[k.key] == k {
		delete(e.store.keys, k.key)
	}
}

func (e *engine) keyStoreFor(key wire.InfoHash) *keyStore {
	k := e.store.keys[key]
	if k == nil {
		if len(e.store.keys) >= e.store.maxKeys {
			return nil
		}
		k = &keyStore{key: key, nextExp: tMax, heapIdx: -1}
		k.values = k.one[:0:1]
		e.store.keys[key] = k
	}
	return k
}

// storageStore is Dht::storageStore: store or replace v (packed is its
// canonical packing) under key. from is the sender (invalid for local
// puts, which have no quota). It returns whether something changed.
func (e *engine) storageStore(key wire.InfoHash, v *value.Value, packed []byte, created ticks, from netip.AddrPort, permanent bool) bool {
	created = min(created, e.now)
	expire := tMax
	if !permanent {
		expire = created.add(e.types.Get(v.Type).Expiration)
		if expire < e.now {
			return false
		}
	}
	k := e.keyStoreFor(key)
	if k == nil {
		return false
	}
	var q *quota
	if from.IsValid() {
		a := ipKey(from)
		if q = e.store.quotas[a]; q == nil {
			q = &quota{addr: a}
			e.store.quotas[a] = q
		}
	}
	size := int32(v.Size())
	if i := k.find(v.ID); i >= 0 {
		st := &k.values[i]
		if st.quota != nil {
			st.quota.size -= int64(st.size)
		}
		diff := int64(size) - int64(st.size)
		*st = stored{id: v.ID, packed: string(packed), expire: expire, typ: v.Type, seq: v.Seq, size: size, quota: q}
		k.size += diff
		e.store.total += diff
		e.store.reschedule(k)
	} else {
		if len(k.values) >= MaxValuesPerKey {
			if k.empty() {
				e.dropKey(k)
			}
			return false
		}
		k.appendValue(stored{id: v.ID, packed: string(packed), expire: expire, typ: v.Type, seq: v.Seq, size: size, quota: q})
		k.size += int64(size)
		e.store.total += int64(size)
		e.store.count++
		e.store.lowered(k, expire)
	}
	if q != nil {
		q.size += int64(size)
	}
	e.scheduleStorageExpiry()
	if e.store.max >= 0 && e.store.total > e.store.max {
		e.expireStore()
	}
	// New and edited values alike are news for listeners.
	if st := e.store.keys[key]; st == k {
		if i := k.find(v.ID); i >= 0 {
			e.storageChanged(k, &k.values[i], v)
		}
	}
	return true
}

// storageChanged tells local and remote listeners about a new or edited
// value; v is not kept.
func (e *engine) storageChanged(k *keyStore, st *stored, v *value.Value) {
	if k.lst == nil {
		return
	}
	var own *value.Value
	for _, op := range slices.Clone(k.lst.local) {
		if op.where.Match(v) {
			// Listeners keep what they get, and v may be borrowed (a put's
			// value lives in an Unpacker): they share one copy.
			if own == nil {
				own = v.Clone()
			}
			op.added(e, 0, []*value.Value{own})
		}
	}
	if len(k.lst.remote) == 0 {
		return
	}
	packed := [][]byte{st.bytes()}
	for _, l := range k.lst.remote {
		if !l.where.Match(v) {
			continue
		}
		e.tellListener(l, k.key, packed)
	}
}

// tellListener sends values to a remote listener: an "update" request for
// version 1, a reply carrying the listener's sid as tid for version 0.
func (e *engine) tellListener(l *remoteListener, key wire.InfoHash, packed [][]byte) {
	n := l.node
	e.tok.make(&e.tokBuf, n.addr, false)
	if l.version >= 1 {
		var m wire.Message
		m.Version = 1
		m.Hash = key
		m.SID = l.sid
		m.Values = packed
		m.Token = append([]byte(nil), e.tokBuf[:]...)
		e.sendRequest(e.newRequest(wire.KindUpdate, n, &m))
		return
	}
	m := e.replyHeader(l.sid, n.addr)
	m.Addr = n.addr.Addr()
	e.appendNodes(m, key, wire.Want4|wire.Want6, n.addr)
	m.Token = e.tokBuf[:]
	m.Values = packed
	e.reply(n.addr)
}

// tellListenerIDs sends refreshed ("re") or expired ("exp") ids.
func (e *engine) tellListenerIDs(l *remoteListener, ids []uint64, expired bool) {
	n := l.node
	e.tok.make(&e.tokBuf, n.addr, false)
	if l.version >= 1 {
		var m wire.Message
		m.SID = l.sid
		m.Token = append([]byte(nil), e.tokBuf[:]...)
		if expired {
			m.Expired = ids
		} else {
			m.Refreshed = ids
		}
		e.sendRequest(e.newRequest(wire.KindUpdate, n, &m))
		return
	}
	m := &e.out
	m.Reset()
	m.Kind = wire.KindValueUpdate
	m.TID = l.sid
	m.UA = userAgent
	m.Net = e.netID
	m.ID = e.id
	m.Token = e.tokBuf[:]
	if expired {
		m.Expired = ids
	} else {
		m.Refreshed = ids
	}
	e.reply(n.addr)
}

// storageRefresh is Dht::storageRefresh: a put of identical content or a
// refresh request. Listeners hear "re" even for an unknown id; it reports
// whether the key has storage at all.
func (e *engine) storageRefresh(key wire.InfoHash, vid uint64) bool {
	k := e.store.keys[key]
	if k == nil {
		return false
	}
	if k.lst != nil {
		for _, l := range k.lst.remote {
			e.tellListenerIDs(l, []uint64{vid}, false)
		}
	}
	if i := k.find(vid); i >= 0 {
		st := &k.values[i]
		if old := st.expire; old < tMax {
			st.expire = max(old, e.now.add(e.types.Get(st.typ).Expiration))
			if old == k.nextExp {
				e.store.reschedule(k)
				e.scheduleStorageExpiry()
			}
		}
	}
	return true
}

// storageRemoved accounts for removed values and tells listeners.
func (e *engine) storageRemoved(k *keyStore, removed []stored) {
	if len(removed) == 0 {
		return
	}
	for i := range removed {
		e.store.total -= int64(removed[i].size)
		e.store.count--
		k.size -= int64(removed[i].size)
		if q := removed[i].quota; q != nil {
			q.size -= int64(removed[i].size)
			if q.size <= 0 {
				delete(e.store.quotas, q.addr)
			}
		}
	}
	if k.lst == nil {
		return
	}
	if len(k.lst.remote) > 0 {
		ids := make([]uint64, len(removed))
		for i := range removed {
			ids[i] = removed[i].id
		}
		for _, l := range k.lst.remote {
			e.tellListenerIDs(l, ids, true)
		}
	}
	if len(k.lst.local) > 0 {
		vals := make([]*value.Value, len(removed))
		for i := range removed {
			vals[i] = removed[i].value()
		}
		for _, op := range slices.Clone(k.lst.local) {
			var mine []*value.Value
			for _, v := range vals {
				if op.where.Match(v) {
					mine = append(mine, v)
				}
			}
			if len(mine) > 0 {
				op.expired(e, 0, mine)
			}
		}
	}
}

// expireKey is Storage::expire: drops listeners not refreshed for
// NODE_EXPIRE_TIME and values past their expiration.
func (e *engine) expireKey(k *keyStore) {
	if k.lst != nil && len(k.lst.remote) > 0 {
		keep := k.lst.remote[:0]
		for _, l := range k.lst.remote {
			if l.time.add(e.t.listenerExpire) < e.now {
				l.node.listenRefs--
				e.maybeForget(l.fam, l.node)
				continue
			}
			keep = append(keep, l)
		}
		clear(k.lst.remote[len(keep):])
		k.lst.remote = keep
	}
	var removed []stored
	keep := k.values[:0]
	for _, st := range k.values {
		if st.expire <= e.now {
			removed = append(removed, st)
			continue
		}
		keep = append(keep, st)
	}
	clear(k.values[len(keep):])
	k.values = keep
	if len(removed) > 0 {
		k.idx = nil
	}
	if len(k.values) == 0 {
		clear(k.one[:])
		k.values = k.one[:0:1] // give back an array grown for many values
	}
	e.store.reschedule(k)
	e.storageRemoved(k, removed)
}

// removeValue takes one value out (cancelPut, quota eviction).
func (e *engine) removeValue(k *keyStore, id uint64) bool {
	i := k.find(id)
	if i < 0 {
		return false
	}
	st := k.values[i]
	k.values = slices.Delete(k.values, i, i+1)
	k.idx = nil
	e.store.reschedule(k)
	e.storageRemoved(k, []stored{st})
	if k.empty() {
		e.dropKey(k)
	}
	return true
}

// expireStore is Dht::expireStore: purge everything expired, then, while
// over the size limit, evict the earliest-expiring values of the source IP
// that uses the most. Local values are never evicted.
func (e *engine) expireStore() {
	for _, k := range e.store.keys {
		e.expireKey(k)
		if k.empty() {
			e.dropKey(k)
		}
	}
	for e.store.max >= 0 && e.store.total > e.store.max {
		var largest *quota
		for _, q := range e.store.quotas {
			if largest == nil || q.size > largest.size {
				largest = q
			}
		}
		if largest == nil {
			e.log.Warn("dht: no space left: local data consumes all the quota")
			break
		}
		// One scan collects the largest user's values by expiration, then
		// evicts them in order. OpenDHT keeps a per-IP index for this; a
		// scan costs no memory per value, and evicting a little below the
		// limit (1/256 of it) keeps scans rare when the store stays full.
		type cand struct {
			k      *keyStore
			id     uint64
			expire ticks
		}
		var cands []cand
		for _, k := range e.store.keys {
			for i := range k.values {
				if k.values[i].quota == largest {
					cands = append(cands, cand{k, k.values[i].id, k.values[i].expire})
				}
			}
		}
		if len(cands) == 0 {
			largest.size = 0
			delete(e.store.quotas, largest.addr)
			continue
		}
		slices.SortFunc(cands, func(a, b cand) int {
			switch {
			case a.expire < b.expire:
				return -1
			case a.expire > b.expire:
				return 1
			}
			return 0
		})
		target := e.store.max - e.store.max/256
		for _, c := range cands {
			if e.store.total <= target {
				break
			}
			e.log.Debug("dht: storage full, evicting", "from", largest.addr, "key", c.k.key, "id", c.id)
			e.removeValue(c.k, c.id)
		}
	}
	e.scheduleStorageExpiry()
}

// matchStored applies a WHERE to a stored value, unpacking it only for
// the fields not kept alongside (owner, user type).
func matchStored(w value.Where, st *stored, cache **value.Value) bool {
	for _, f := range w.Filters {
		switch f.Field {
		case value.FieldID:
			if st.id != f.Int {
				return false
			}
		case value.FieldValueType:
			if st.typ != uint16(f.Int) {
				return false
			}
		case value.FieldSeqNum:
			if st.seq != uint16(f.Int) {
				return false
			}
		case value.FieldOwnerPk, value.FieldUserType:
			if *cache == nil {
				*cache = st.value()
			}
			if !f.Match(*cache) {
				return false
			}
		}
	}
	return true
}

// storageGet returns the stored values of key matching w (reusing dst).
func (e *engine) storageGet(dst []*stored, key wire.InfoHash, w value.Where) []*stored {
	dst = dst[:0]
	k := e.store.keys[key]
	if k == nil {
		return dst
	}
	for i := range k.values {
		var v *value.Value
		if matchStored(w, &k.values[i], &v) {
			dst = append(dst, &k.values[i])
		}
	}
	return dst
}

// storageAddListener is Dht::storageAddListener: a new listener gets the
// matching values at once; a known one is refreshed.
func (e *engine) storageAddListener(f *family, key wire.InfoHash, n *node, sid uint32, w value.Where, version int32) {
	k := e.keyStoreFor(key)
	if k == nil {
		return
	}
	if k.lst == nil {
		k.lst = &keyListeners{}
	}
	ip, fromIP := ipKey(n.addr), 0
	for _, l := range k.lst.remote {
		if l.node == n && l.sid == sid {
			l.time = e.now
			l.where = w
			return
		}
		if ipKey(l.node.addr) == ip {
			fromIP++
		}
	}
	if fromIP >= maxListenersPerIP {
		// OpenDHT has no such bound; without one, a single address could
		// register hundreds of thousands of listeners on a key within the
		// rate limit and turn every put there into as many updates.
		return
	}
	if vals := e.storageGet(e.matched, key, w); len(vals) > 0 {
		e.matched = vals
		packed := make([][]byte, len(vals))
		for i, st := range vals {
			packed[i] = st.bytes()
		}
		l := &remoteListener{node: n, fam: f, sid: sid, where: w, version: version}
		e.tellListener(l, key, packed)
	}
	k.lst.remote = append(k.lst.remote, &remoteListener{node: n, fam: f, sid: sid, time: e.now, where: w, version: version})
	n.listenRefs++
}
