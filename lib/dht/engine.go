package dht

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

var userAgent = []byte(wire.UserAgent)

// Status is a family's connectivity, as OpenDHT's NodeStatus.
type Status uint8

const (
	// Disconnected: no node known, no ping pending.
	Disconnected Status = iota
	// Connecting: only dubious nodes known, or a bootstrap ping pending.
	Connecting
	// Connected: at least one good node (it answered us recently).
	Connected
)

func (s Status) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	}
	return "disconnected"
}

// family is one address family's DHT: its own socket, routing table,
// node cache and searches (the two families never mix, as in OpenDHT).
type family struct {
	idx          int // 0 IPv4, 1 IPv6
	conn         *net.UDPConn
	bound        netip.AddrPort
	tab          table
	nodes        map[wire.InfoHash]*node
	searches     map[wire.InfoHash]*search
	pendingPings int
	status       Status
}

func (f *family) v6() bool { return f.idx == 1 }

type reportedAddr struct {
	count int
	addr  netip.Addr
}

type engineStats struct {
	recv, sent [wire.KindUpdate + 1]uint64
	dropped    struct{ malformed, network, self, rate, blacklist, late uint64 }
}

// engine owns all the node's state. It runs on one goroutine (Node.loop);
// socket readers and API calls reach it through the receive queue and the
// calls channel, so no state here needs a lock.
type engine struct {
	n     *Node
	id    wire.InfoHash
	netID uint32
	log   *slog.Logger
	t     timing
	types *value.Registry
	rng   *rand.Rand
	now   ticks

	sched     scheduler
	fams      [2]*family
	store     storage
	tok       tokens
	lim       *limiter
	reasm     *wire.Reassembler
	reasmJob  *job
	anon      map[uint32]*request // requests to nodes of unknown id (bootstrap pings)
	anonTIDs  wire.TIDs
	blacklist map[netip.AddrPort]struct{}
	reported  []reportedAddr
	stats     engineStats

	publicStable bool
	bootstrap    []string
	bootJob      *job
	bootPeriod   time.Duration
	confirmJob   *job

	holding   *node // the sender of the message being processed: kept until done
	listens   map[uint64]*listenOp
	nextToken uint64
	waiting   []func() // user operations held while connecting
	puts      int      // ongoing put operations (for Info)
	gets      int

	// Scratch space reused by every packet.
	msg      wire.Message
	out      wire.Message
	buf      []byte
	partBuf  []byte
	nodes    []*node
	learned  []*node
	n4, n6   []byte
	tokBuf   [wire.TokenSize]byte
	vals     [][]byte
	matched  []*stored
	fieldBuf []byte
	tx       outbox // replies waiting for the end of the batch
	packBuf  []byte
	putVals  []*value.Value
	putUnp   []*value.Unpacker // the first values of a put parse into these
}

func newEngine(n *Node, cfg *Config) *engine {
	var seed [32]byte
	cryptoRand(seed[:])
	e := &engine{
		n:            n,
		id:           cfg.ID,
		netID:        cfg.Network,
		log:          cfg.Logger,
		t:            cfg.timing,
		types:        cfg.Types,
		rng:          rand.New(rand.NewChaCha8(seed)),
		now:          monoNow(),
		anon:         map[uint32]*request{},
		blacklist:    map[netip.AddrPort]struct{}{},
		publicStable: cfg.PublicStable,
		bootstrap:    cfg.Bootstrap,
		bootPeriod:   cfg.timing.bootstrapPeriod,
		listens:      map[uint64]*listenOp{},
		partBuf:      make([]byte, 0, wire.MTU+64),
	}
	if cfg.PublicStable {
		e.t.listenExpire = 5 * time.Minute
	}
	for i := range e.fams {
		e.fams[i] = &family{idx: i, tab: newTable(), nodes: map[wire.InfoHash]*node{}, searches: map[wire.InfoHash]*search{}}
	}
	e.store.init(cfg)
	e.lim = newLimiter(cfg.maxReq, cfg.maxPeerReq)
	e.reasm = wire.NewReassembler(wire.ReassemblerConfig{MaxAge: e.t.partsMaxAge, PartTimeout: e.t.partsTimeout})
	e.tok.rotate(e.rng.Uint64())
	e.tok.rotate(e.rng.Uint64())
	return e
}

// start schedules the periodic work (Dht::Dht).
func (e *engine) start() {
	e.scheduleSecretRotation()
	e.sched.add(e.now.add(e.uniform(e.t.expireMin, e.t.expireMax)), e.expirePass)
	e.confirmJob = e.sched.add(e.now.add(e.uniform(3*time.Second, 5*time.Second)), e.confirmNodes)
	if len(e.bootstrap) > 0 {
		e.startBootstrap()
	}
}

func (e *engine) uniform(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(e.rng.Int64N(int64(hi-lo)))
}

func (e *engine) scheduleSecretRotation() {
	e.sched.add(e.now.add(e.uniform(e.t.secretMin, e.t.secretMax)), func() {
		e.tok.rotate(e.rng.Uint64())
		e.scheduleSecretRotation()
	})
}

func (e *engine) debug() bool { return e.log.Enabled(context.Background(), slog.LevelDebug) }

// runJobs runs the jobs that are due.
func (e *engine) runJobs() {
	for i := 0; i < 4096; i++ {
		j := e.sched.pop(e.now)
		if j == nil {
			return
		}
		j.fn()
	}
}

// ---------------------------------------------------------------------
// Sending

func (e *engine) famOf(a netip.AddrPort) *family {
	if a.Addr().Unmap().Is4() {
		return e.fams[0]
	}
	return e.fams[1]
}

func (e *engine) sendTo(to netip.AddrPort, b []byte) error {
	f := e.famOf(to)
	if f.conn == nil {
		return errFamily
	}
	e.tx.flush() // what was queued before leaves first
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	_, err := f.conn.WriteToUDPAddrPort(b, to)
	return err
}

// queue sends b to "to" with the next batch (see outbox): for datagrams
// whose send errors are ignored (replies, value parts).
func (e *engine) queue(to netip.AddrPort, b []byte) {
	f := e.famOf(to)
	if f.conn == nil {
		return
	}
	e.tx.add(f, netip.AddrPortFrom(to.Addr().Unmap(), to.Port()), b)
}

var errFamily = errors.New("dht: address family not running")

// reply encodes e.out and sends it, followed by its value parts.
func (e *engine) reply(to netip.AddrPort) {
	m := &e.out
	b, err := m.AppendBinary(e.buf[:0])
	if err != nil {
		e.log.Error("dht: cannot encode reply", "err", err)
		return
	}
	e.buf = b
	e.queue(to, b)
	if m.NeedsParts() {
		e.sendParts(to, m.TID, m.Values)
	}
}

func (e *engine) sendParts(to netip.AddrPort, tid uint32, values [][]byte) {
	_ = wire.ValueParts(e.netID, tid, values, e.partBuf[:0], func(d []byte) error {
		e.queue(to, d)
		return nil
	})
}

// replyHeader starts e.out as a reply to tid from "to".
func (e *engine) replyHeader(tid uint32, to netip.AddrPort) *wire.Message {
	m := &e.out
	m.Reset()
	m.Kind = wire.KindReply
	m.TID = tid
	m.UA = userAgent
	m.Net = e.netID
	m.ID = e.id
	m.Addr = to.Addr().Unmap()
	return m
}

func (e *engine) sendError(to netip.AddrPort, tid uint32, code uint16, text string) {
	m := &e.out
	m.Reset()
	m.Kind = wire.KindError
	m.TID = tid
	m.UA = userAgent
	m.Net = e.netID
	m.ID = e.id
	m.ErrCode = code
	m.ErrText = []byte(text)
	e.reply(to)
}

// ---------------------------------------------------------------------
// Receiving

// handle processes one datagram (NetworkEngine::processMessage).
func (e *engine) handle(data []byte, from netip.AddrPort) {
	if _, bad := e.blacklist[from]; bad {
		e.stats.dropped.blacklist++
		return
	}
	m := &e.msg
	if err := m.Decode(data); err != nil {
		e.stats.dropped.malformed++
		return
	}
	if m.Net != e.netID {
		e.stats.dropped.network++
		return
	}
	if m.Kind == wire.KindValueData {
		full, err := e.reasm.Add(from, m, e.now.wall())
		if errors.Is(err, wire.ErrNoSession) {
			// Unexpected parts count against the sender's rate.
			e.lim.allow(from, e.now)
			return
		}
		if full != nil {
			e.process(full, from)
		}
		return
	}
	if m.ID.IsZero() || m.ID == e.id {
		e.stats.dropped.self++
		return
	}
	if m.Kind.IsRequest() && !e.lim.allow(from, e.now) {
		e.stats.dropped.rate++
		return
	}
	if len(m.Sizes) > 0 {
		full, err := e.reasm.Start(from, m, e.now.wall())
		if full != nil {
			e.process(full, from)
		} else if err == nil {
			e.scheduleReasm()
		}
		return
	}
	e.process(m, from)
}

func (e *engine) scheduleReasm() {
	at := e.now.add(time.Second)
	if e.reasmJob == nil {
		e.reasmJob = e.sched.add(at, e.expireReasm)
	} else if e.reasmJob.idx < 0 {
		e.sched.edit(e.reasmJob, at)
	}
}

func (e *engine) expireReasm() {
	e.reasm.Expire(e.now.wall())
	if e.reasm.Len() > 0 {
		e.sched.edit(e.reasmJob, e.now.add(time.Second))
	}
}

// process handles a complete message (NetworkEngine::process).
func (e *engine) process(m *wire.Message, from netip.AddrPort) {
	var q value.Query
	if (m.Kind == wire.KindGet || m.Kind == wire.KindListen) && m.Query != nil {
		// OpenDHT parses the query with the message: a query it cannot
		// read (a WHERE on seq, an unknown field) drops the datagram.
		var err error
		if q, err = value.UnpackQuery(m.Query); err != nil {
			e.stats.dropped.malformed++
			return
		}
	}
	e.stats.recv[m.Kind]++
	f := e.famOf(from)
	n := e.getNode(f, m.ID, from, true, m.Client)
	e.holding = n
	defer e.forget(f, n)

	switch m.Kind {
	case wire.KindValueUpdate: // legacy "u": refreshed/expired ids for a v0 listen
		nl := n.sockets[m.TID]
		if nl == nil {
			return
		}
		e.received(n, nil)
		e.onNewNode(f, n, 2)
		e.deserializeNodes(f, m, from)
		nl.onReceive(e, n, m)
	case wire.KindError, wire.KindReply:
		req := n.pending[m.TID]
		nl := n.sockets[m.TID]
		if req == nil && nl == nil {
			if r := e.anon[m.TID]; r != nil && r.pending() {
				// A bootstrap ping: whoever answers becomes its node.
				delete(e.anon, m.TID)
				r.node = n
				req = r
			} else {
				e.received(n, nil)
				if !n.client {
					e.onNewNode(f, n, 1)
				}
				return
			}
		}
		e.received(n, req)
		if !n.client {
			e.onNewNode(f, n, 2)
		}
		e.reportedAddr(m.Addr)
		if req != nil && !req.pending() {
			return
		}
		if m.Kind == wire.KindError {
			if req != nil && ((m.ErrCode == wire.ErrCodeNotFound && req.kind == wire.KindRefresh) ||
				(m.ErrCode == wire.ErrCodeUnauthorized && (req.kind == wire.KindPut || req.kind == wire.KindListen))) {
				if !e.failRequest(req, m.ErrCode) {
					e.onError(req, m.ErrCode)
				}
			}
			return
		}
		e.deserializeNodes(f, m, from)
		if req != nil {
			if req.kind == wire.KindPut || req.kind == wire.KindListen || req.kind == wire.KindRefresh {
				n.authErrors = 0
			}
			e.completeRequest(req, m)
		} else {
			nl.onReceive(e, n, m)
		}
	default:
		e.received(n, nil)
		if !n.client {
			e.onNewNode(f, n, 1)
		}
		switch m.Kind {
		case wire.KindPing:
			e.replyHeader(m.TID, from)
			e.reply(from)
		case wire.KindFind:
			e.onFind(f, n, m, from)
		case wire.KindGet:
			e.onGet(f, n, m, &q, from)
		case wire.KindPut:
			e.onPut(f, n, m, from)
		case wire.KindRefresh:
			e.onRefresh(n, m, from)
		case wire.KindListen:
			e.onListen(f, n, m, &q, from)
		case wire.KindUpdate:
			if nl := n.sockets[m.SID]; nl != nil {
				nl.onReceive(e, n, m)
			}
			e.replyHeader(m.TID, from)
			e.reply(from)
		}
	}
}

// forget drops the sender and the nodes learned from its message from the
// node cache if nothing took them.
func (e *engine) forget(f *family, n *node) {
	e.holding = nil
	e.maybeForget(f, n)
	for i, ln := range e.learned {
		e.maybeForget(e.famOf(ln.addr), ln)
		e.learned[i] = nil
	}
	e.learned = e.learned[:0]
}

// received is Node::received.
func (e *engine) received(n *node, req *request) {
	n.time = e.now
	n.expired = false
	if req != nil {
		n.reply = e.now
	}
}

func (e *engine) reportedAddr(a netip.Addr) {
	if !a.IsValid() {
		return
	}
	a = a.Unmap()
	for i := range e.reported {
		if e.reported[i].addr == a {
			e.reported[i].count++
			return
		}
	}
	if len(e.reported) < 32 {
		e.reported = append(e.reported, reportedAddr{1, a})
	}
}

// onError is Dht::onError for a 401: flush the node's tokens and re-sync.
func (e *engine) onError(req *request, code uint16) {
	n := req.node
	if code != wire.ErrCodeUnauthorized {
		return
	}
	n.authErrors++
	if n.authErrors > maxAuthErrors {
		e.setExpired(n)
	}
	f := e.famOf(n.addr)
	for _, s := range f.searches {
		if sn := s.getNode(n); sn != nil {
			sn.token = nil
			sn.lastGetReply = tMin
			e.searchSendGetValues(s)
			e.scheduleStep(s, e.now)
		}
	}
}

// getNode is NodeCache::getNode: the node object for id in family f,
// created if needed. Its address follows a confirmed source (a message
// from the node itself) or replaces the address of a node not heard from
// for a while.
func (e *engine) getNode(f *family, id wire.InfoHash, addr netip.AddrPort, confirm, client bool) *node {
	n := f.nodes[id]
	if n == nil {
		n = &node{id: id, addr: addr, time: tMin, reply: tMin, client: client}
		f.nodes[id] = n
		return n
	}
	if confirm || n.isOld(e.now, &e.t) {
		n.addr = addr
	}
	return n
}

// adopt returns the cache's object for n's id, putting n back in the
// cache if it was dropped meanwhile (a node learned from a message can be
// forgotten and then used by the same message's handlers).
func (e *engine) adopt(f *family, n *node) *node {
	if c := f.nodes[n.id]; c != nil {
		return c
	}
	f.nodes[n.id] = n
	return n
}

// maybeForget drops n from the node cache when nothing refers to it.
func (e *engine) maybeForget(f *family, n *node) {
	if n == nil || n == e.holding || n.referenced() {
		return
	}
	if f.nodes[n.id] == n {
		delete(f.nodes, n.id)
	}
}

// deserializeNodes reads "n4"/"n6" (NetworkEngine::deserializeNodes):
// our own id, martians and blacklisted addresses are skipped, loopback
// entries take the packet's source address, and every node goes to the
// routing table as unconfirmed and is offered to the searches.
func (e *engine) deserializeNodes(f *family, m *wire.Message, from netip.AddrPort) {
	for fi, raw := range [2][]byte{m.Nodes4, m.Nodes6} {
		if len(raw) == 0 {
			continue
		}
		size := wire.NodeInfo4Len
		if fi == 1 {
			size = wire.NodeInfo6Len
		}
		if len(raw)%size != 0 {
			continue
		}
		fam := e.fams[fi]
		for ; len(raw) > 0; raw = raw[size:] {
			var id wire.InfoHash
			copy(id[:], raw)
			if id == e.id || id.IsZero() {
				continue
			}
			var ip netip.Addr
			if fi == 0 {
				ip = netip.AddrFrom4([4]byte(raw[wire.HashLen : wire.HashLen+4]))
			} else {
				ip = netip.AddrFrom16([16]byte(raw[wire.HashLen : wire.HashLen+16]))
			}
			port := uint16(raw[size-2])<<8 | uint16(raw[size-1])
			if ip.IsLoopback() && (from.Addr().Is4() == (fi == 0)) {
				ip = from.Addr()
			}
			addr := netip.AddrPortFrom(ip, port)
			if wire.IsMartian(addr) {
				continue
			}
			if _, bad := e.blacklist[addr]; bad {
				continue
			}
			n := e.getNode(fam, id, addr, false, false)
			e.onNewNode(fam, n, 0)
			e.learned = append(e.learned, n)
		}
	}
}

// onNewNode is Dht::onNewNode: a node was heard from (confirm 1), replied
// (2) or was listed by someone (0).
func (e *engine) onNewNode(f *family, n *node, confirm int) {
	if n.client {
		return
	}
	n = e.adopt(f, n)
	wasEmpty := confirm < 2 && f.tab.growTime < e.now.sub(5*time.Minute)
	if e.tableInsert(f, n, confirm) || confirm > 0 {
		e.trySearchInsert(f, n)
		if wasEmpty && e.confirmJob != nil {
			e.sched.edit(e.confirmJob, e.now.add(time.Second))
		}
	}
}

// tableInsert is RoutingTable::onNewNode. It reports whether the table
// changed (the node was added or cached).
func (e *engine) tableInsert(f *family, n *node, confirm int) bool {
	t := &f.tab
	for {
		i := t.find(n.id)
		b := t.b[i]
		if confirm == 2 {
			b.time = e.now
		}
		if b.has(n) {
			return false
		}
		mine := t.contains(i, e.id)
		if mine {
			t.growTime = e.now
		}
		if len(b.nodes) < targetNodes {
			b.nodes = append(b.nodes, nil)
			copy(b.nodes[1:], b.nodes)
			b.nodes[0] = n
			n.inTable = true
			return true
		}
		// Full: replace an expired node.
		for k, o := range b.nodes {
			if o.expired {
				o.inTable = false
				b.nodes[k] = n
				n.inTable = true
				e.maybeForget(f, o)
				return true
			}
		}
		// Ping the first dubious node without a pending request.
		dubious := false
		for _, o := range b.nodes {
			if !o.isGood(e.now, &e.t) {
				dubious = true
				if !o.isPendingMessage() {
					e.sendPing(o, nil)
					break
				}
			}
		}
		if mine && (!dubious || len(t.b) == 1) {
			e.sendCachedPing(f, b)
			if t.split(i) {
				continue
			}
		}
		if confirm > 0 || b.cached == nil {
			if old := b.cached; old != nil && old != n {
				old.asCached = false
				e.maybeForget(f, old)
			}
			b.cached = n
			n.asCached = true
		}
		return true
	}
}

func (e *engine) sendCachedPing(f *family, b *bucket) {
	if c := b.cached; c != nil {
		b.cached = nil
		c.asCached = false
		e.sendPing(c, nil)
	}
}

// sendPing pings a node; done gets the outcome (may be nil).
func (e *engine) sendPing(n *node, done func(ok bool)) *request {
	var m wire.Message
	r := e.newRequest(wire.KindPing, n, &m)
	if done != nil {
		r.onDone = func(*request, *wire.Message) { done(true) }
		r.onExpired = func(_ *request, over bool) {
			if over {
				done(false)
			}
		}
	}
	return e.sendRequest(r)
}

// updateStatus recomputes both families' status and reacts to changes
// (Dht::updateStatus): connected stops bootstrapping and releases held
// operations; both disconnected starts bootstrapping.
func (e *engine) updateStatus() {
	changed := false
	for _, f := range e.fams {
		s := e.familyStatus(f)
		if s != f.status {
			f.status = s
			changed = true
		}
	}
	if !changed {
		return
	}
	s4, s6 := e.fams[0].status, e.fams[1].status
	switch {
	case s4 == Disconnected && s6 == Disconnected:
		if e.bootJob == nil || e.bootJob.idx < 0 {
			e.doBootstrap()
		}
	case s4 == Connected || s6 == Connected:
		e.stopBootstrap()
	}
	if e.status() != Connecting && len(e.waiting) > 0 {
		w := e.waiting
		e.waiting = nil
		for _, f := range w {
			f()
		}
	}
}

// status combines both families as DhtRunner does: the better of the two.
func (e *engine) status() Status { return max(e.fams[0].status, e.fams[1].status) }

// familyStatus is Kad::getStatus.
func (e *engine) familyStatus(f *family) Status {
	if f.conn == nil {
		return Disconnected
	}
	dubious := 0
	for _, b := range f.tab.b {
		for _, n := range b.nodes {
			if n.isGood(e.now, &e.t) {
				return Connected
			}
			if !n.expired {
				dubious++
			}
		}
	}
	if dubious > 0 || f.pendingPings > 0 {
		return Connecting
	}
	return Disconnected
}

// whenReady runs an operation now, or once the node is no longer
// connecting (DhtRunner holds user operations while Connecting).
func (e *engine) whenReady(f func()) {
	if e.status() == Connecting {
		e.waiting = append(e.waiting, f)
		return
	}
	f()
}

// ---------------------------------------------------------------------
// Bootstrap and maintenance

func (e *engine) startBootstrap() {
	e.stopBootstrap()
	if e.bootJob == nil {
		e.bootJob = e.sched.add(e.now, e.doBootstrap)
	} else {
		e.sched.edit(e.bootJob, e.now)
	}
}

func (e *engine) stopBootstrap() {
	e.sched.cancel(e.bootJob)
	e.bootPeriod = e.t.bootstrapPeriod
}

// doBootstrap is Dht::bootstrap: while both families are disconnected,
// ping every address of every bootstrap host, with backoff.
func (e *engine) doBootstrap() {
	if e.fams[0].status != Disconnected || e.fams[1].status != Disconnected || len(e.bootstrap) == 0 {
		return
	}
	for _, hp := range e.bootstrap {
		if addrs, ok := literalAddr(hp); ok {
			for _, a := range addrs {
				e.pingAddr(a, nil)
			}
			continue
		}
		// Names are resolved off the engine goroutine.
		e.n.wg.Add(1)
		go func() {
			defer e.n.wg.Done()
			addrs, err := resolve(hp)
			if err != nil {
				e.log.Warn("dht: cannot resolve bootstrap node", "host", hp, "err", err)
				return
			}
			e.n.post(func(e *engine) {
				for _, a := range addrs {
					e.pingAddr(a, nil)
				}
			})
		}()
	}
	if e.bootJob == nil {
		e.bootJob = e.sched.add(e.now.add(e.bootPeriod), e.doBootstrap)
	} else {
		e.sched.edit(e.bootJob, e.now.add(e.bootPeriod))
	}
	e.bootPeriod = min(2*e.bootPeriod, e.t.bootstrapMax)
}

// pingAddr is Dht::pingNode: a ping to an address whose node id is not
// known; the pong tells us the id.
func (e *engine) pingAddr(a netip.AddrPort, done func(id wire.InfoHash, ok bool)) {
	f := e.famOf(a)
	if f.conn == nil {
		if done != nil {
			done(wire.InfoHash{}, false)
		}
		return
	}
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	n := &node{addr: a, time: tMin, reply: tMin}
	f.pendingPings++
	var m wire.Message
	r := e.newRequest(wire.KindPing, n, &m)
	r.onDone = func(r *request, _ *wire.Message) {
		f.pendingPings--
		if done != nil {
			done(r.node.id, true)
		}
	}
	r.onExpired = func(_ *request, over bool) {
		if over {
			f.pendingPings--
			if done != nil {
				done(wire.InfoHash{}, false)
			}
		}
	}
	e.sendRequest(r)
	if f.status == Disconnected {
		f.status = Connecting
	}
}

// confirmNodes is Dht::confirmNodes: the periodic routing table upkeep.
func (e *engine) confirmNodes() {
	soon := false
	for _, f := range e.fams {
		if len(f.searches) == 0 && f.status == Connected {
			e.search(f, e.id, nil)
		}
	}
	for _, f := range e.fams {
		if e.bucketMaintenance(f) {
			soon = true
		}
	}
	if !soon {
		for _, f := range e.fams {
			if f.tab.growTime >= e.now.sub(150*time.Second) && e.neighbourhoodMaintenance(f) {
				soon = true
			}
		}
	}
	d := e.uniform(60*time.Second, 180*time.Second)
	if soon {
		d = e.uniform(5*time.Second, 25*time.Second)
	}
	e.sched.edit(e.confirmJob, e.now.add(d))
}

func (e *engine) other(f *family) *family { return e.fams[1-f.idx] }

// want returns the families to ask for in maintenance finds: both when
// both sockets run.
func (e *engine) wantBoth() bool { return e.fams[0].conn != nil && e.fams[1].conn != nil }

func (e *engine) bucketMaintenance(f *family) bool {
	if f.conn == nil {
		return false
	}
	t := &f.tab
	sent := false
	for i := 0; i < len(t.b); i++ {
		b := t.b[i]
		if !(b.time < e.now.sub(10*time.Minute) || len(b.nodes) == 0) {
			continue
		}
		id := t.randomID(i, e.rng)
		q := i
		if i+1 < len(t.b) && (len(t.b[q].nodes) == 0 || e.rng.IntN(8) == 0) {
			q = i + 1
		}
		if i > 0 && (len(t.b[q].nodes) == 0 || e.rng.IntN(8) == 0) && len(t.b[i-1].nodes) > 0 {
			q = i - 1
		}
		n := t.b[q].randomNode(e.rng)
		if n == nil || n.isPendingMessage() {
			continue
		}
		var want wire.Want
		if e.wantBoth() {
			ot := &e.other(f).tab
			if len(ot.b[ot.find(id)].nodes) < targetNodes || e.rng.IntN(38) == 0 {
				want = wire.Want4 | wire.Want6
			}
		}
		e.sendFind(n, id, want, nil, func(_ *request, over bool) {
			if over {
				e.sched.edit(e.confirmJob, e.now.add(e.t.maxResponse))
			}
		})
		sent = true
	}
	return sent
}

func (e *engine) neighbourhoodMaintenance(f *family) bool {
	if f.conn == nil {
		return false
	}
	t := &f.tab
	i := t.find(e.id)
	id := e.id
	id[wire.HashLen-1] = byte(e.rng.Uint32())
	q := i
	if i+1 < len(t.b) && (len(t.b[q].nodes) == 0 || e.rng.IntN(8) == 0) {
		q = i + 1
	}
	if i > 0 && (len(t.b[q].nodes) == 0 || e.rng.IntN(8) == 0) && len(t.b[i-1].nodes) > 0 {
		q = i - 1
	}
	n := t.b[q].randomNode(e.rng)
	if n == nil {
		return true
	}
	var want wire.Want
	if e.wantBoth() {
		want = wire.Want4 | wire.Want6
	}
	e.sendFind(n, id, want, nil, nil)
	return true
}

func (e *engine) sendFind(n *node, target wire.InfoHash, want wire.Want, done func(*request, *wire.Message), expired func(*request, bool)) *request {
	var m wire.Message
	m.Target = target
	m.Want = want
	r := e.newRequest(wire.KindFind, n, &m)
	r.onDone, r.onExpired = done, expired
	return e.sendRequest(r)
}

// expirePass is Dht::expire, every 2–6 minutes: drop expired nodes from
// the tables, expired values and listeners from storage, idle searches.
func (e *engine) expirePass() {
	for _, f := range e.fams {
		for _, b := range f.tab.b {
			changed := false
			for k := 0; k < len(b.nodes); {
				if n := b.nodes[k]; n.expired {
					b.nodes = append(b.nodes[:k], b.nodes[k+1:]...)
					n.inTable = false
					e.maybeForget(f, n)
					changed = true
					continue
				}
				k++
			}
			if changed {
				e.sendCachedPing(f, b)
			}
		}
	}
	e.expireStore()
	e.expireSearches()
	e.sched.add(e.now.add(e.uniform(e.t.expireMin, e.t.expireMax)), e.expirePass)
}

// connectivityChanged is Dht::connectivityChanged, after a search
// expired: forget which nodes failed, re-check the table at once, drop
// the public addresses reported on that family and bootstrap again if
// disconnected.
func (e *engine) connectivityChanged(f *family) {
	e.sched.edit(e.confirmJob, e.now)
	f.tab.growTime = e.now
	for _, b := range f.tab.b {
		b.time = tMin
		for _, n := range b.nodes {
			n.time = tMin
		}
	}
	for _, n := range f.nodes {
		n.expired = false
		n.reply = tMin
	}
	r := e.reported[:0]
	for _, a := range e.reported {
		if a.addr.Is4() != (f.idx == 0) {
			r = append(r, a)
		}
	}
	e.reported = r
	e.startBootstrap()
}

func splitHostPort(hostport string) (host, port string) {
	// dhtnode strips a leading "=" (from "-b=host").
	hostport = strings.TrimPrefix(hostport, "=")
	host, port = hostport, "4222"
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	} else if len(hostport) > 1 && hostport[0] == '[' && hostport[len(hostport)-1] == ']' {
		host = hostport[1 : len(hostport)-1]
	}
	return host, port
}

// literalAddr parses "ip[:port]" without any lookup.
func literalAddr(hostport string) ([]netip.AddrPort, bool) {
	host, port := splitHostPort(hostport)
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, false
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, false
	}
	return []netip.AddrPort{netip.AddrPortFrom(ip.Unmap(), uint16(pn))}, true
}

// resolve turns "host[:port]" into addresses, 4222 when no port is given.
func resolve(hostport string) ([]netip.AddrPort, error) {
	if a, ok := literalAddr(hostport); ok {
		return a, nil
	}
	host, port := splitHostPort(hostport)
	pn, err := net.LookupPort("udp", port)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	out := make([]netip.AddrPort, 0, len(ips))
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(pn)))
	}
	return out, nil
}

// ---------------------------------------------------------------------
// The receive queue

// packet is one received datagram waiting for the engine.
type packet struct {
	buf  *[]byte // pooled storage, nil for large datagrams
	data []byte
	from netip.AddrPort
	at   ticks
}

const smallPacket = 2048

var packetPool = sync.Pool{New: func() any { b := make([]byte, smallPacket); return &b }}

func (p *packet) release() {
	if p.buf != nil {
		packetPool.Put(p.buf)
	}
	p.buf, p.data = nil, nil
}

// rxQueue is the receive queue between the socket readers and the engine
// (OpenDHT's rcv list): at most max packets, the oldest dropped first.
// Unlike OpenDHT it is also bounded in bytes, so that a flood of large
// datagrams cannot queue 65536 of them.
type rxQueue struct {
	mu       sync.Mutex
	q        []packet
	max      int
	bytes    int
	maxBytes int
	drops    uint64
	signal   chan struct{}
}

// rxQueueBytes bounds the memory held by queued datagrams.
const rxQueueBytes = 16 << 20

// newPacket copies a received datagram for the queue.
func newPacket(data []byte, from netip.AddrPort) packet {
	var p packet
	if len(data) <= smallPacket {
		p.buf = packetPool.Get().(*[]byte)
		p.data = (*p.buf)[:copy(*p.buf, data)]
	} else {
		p.data = append([]byte(nil), data...)
	}
	p.from = from
	p.at = monoNow()
	return p
}

func (r *rxQueue) push(data []byte, from netip.AddrPort) {
	r.pushBatch([]packet{newPacket(data, from)})
}

// pushBatch queues packets (the queue owns them now) and wakes the engine
// once.
func (r *rxQueue) pushBatch(ps []packet) {
	if len(ps) == 0 {
		return
	}
	r.mu.Lock()
	for _, p := range ps {
		size := cap(p.data)
		for len(r.q) > 0 && (len(r.q) >= r.max || r.bytes+size > r.maxBytes) {
			r.bytes -= cap(r.q[0].data)
			r.q[0].release()
			r.q = r.q[1:]
			r.drops++
		}
		r.q = append(r.q, p)
		r.bytes += size
	}
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// take swaps the queue with dst (emptied) and returns the queued packets.
func (r *rxQueue) take(dst []packet) []packet {
	if cap(dst) > 4096 {
		dst = nil // give back memory after a burst
	}
	r.mu.Lock()
	q := r.q
	r.q = dst[:0]
	r.bytes = 0
	r.mu.Unlock()
	return q
}
