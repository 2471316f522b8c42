package dht

import (
	"slices"
	"time"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// search is one lookup target in one family (OpenDHT's Dht::Search): the
// up-to-14 closest usable nodes we know, and the gets, puts and listens
// running on them.
type search struct {
	f          *family
	id         wire.InfoHash
	nodes      []*searchNode // closest first
	refillTime ticks
	stepTime   ticks
	expired    bool // no node, or all nodes expired
	done       bool // nothing left to do; kept for reuse
	deleted    bool
	gets       []*getOp
	puts       []*announce
	listens    []*listenOp
	stepJob    *job
	// getStart is when each get joined the search: dhtnode's "ls" marks
	// the nodes that answered since the newest one started.
	getStart map[*getOp]ticks
}

// searchNode is a node of a search and what we did with it.
type searchNode struct {
	node         *node
	token        []byte
	lastGetReply ticks // last reply that carried a token
	candidate    bool  // slow to answer: not counted until it does
	gets         []getStatus
	probe        *request // permanent-put probe (SELECT id, seq)
	acked        map[uint64]*ackStatus
	listens      map[*listenOp]*nodeListen
	syncJob      *job
}

// getStatus is one get (or, with op nil, the sync "find") sent to a node.
type getStatus struct {
	op   *getOp
	req  *request
	done bool // answered (or answered by a get that satisfies it)
}

// ackStatus is the state of one value's announce on one node.
type ackStatus struct {
	req     *request
	done    bool  // the node has the value (acknowledged, or found by the probe)
	next    ticks // when the value must be re-announced
	refresh *job
}

// announce is a put running on a search.
type announce struct {
	op      *putOp
	pending bool // its callback has not fired yet
}

func (sn *searchNode) isSynced(now ticks, t *timing) bool {
	return !sn.node.expired && len(sn.token) > 0 && sn.lastGetReply >= now.sub(t.nodeExpire)
}

func (sn *searchNode) syncTime(now ticks, t *timing) ticks {
	if sn.node.expired || len(sn.token) == 0 {
		return now
	}
	return sn.lastGetReply.add(t.nodeExpire)
}

func (sn *searchNode) isBad() bool { return sn.node.expired || sn.candidate }

func (sn *searchNode) pendingGet() bool {
	for i := range sn.gets {
		if sn.gets[i].req != nil && sn.gets[i].req.pending() {
			return true
		}
	}
	return sn.probe != nil && sn.probe.pending()
}

func (sn *searchNode) status(op *getOp) *getStatus {
	for i := range sn.gets {
		if sn.gets[i].op == op {
			return &sn.gets[i]
		}
	}
	return nil
}

func (sn *searchNode) isDone(op *getOp) bool {
	st := sn.status(op)
	return st != nil && st.done
}

func (sn *searchNode) isAnnounced(vid uint64) bool {
	a := sn.acked[vid]
	return a != nil && a.done
}

// announceTime is SearchNode::getAnnounceTime: when a put of vid is due.
func (sn *searchNode) announceTime(vid uint64, margin time.Duration) ticks {
	a := sn.acked[vid]
	switch {
	case a == nil:
		return tMin
	case a.done:
		return a.next.sub(margin)
	case a.req != nil && a.req.pending():
		return tMax
	}
	return tMin
}

// listenTime is SearchNode::getListenTime: when the listen must be re-sent.
func (sn *searchNode) listenTime(nl *nodeListen, t *timing) ticks {
	if nl == nil || nl.req == nil {
		return tMin
	}
	if nl.req.pending() {
		return tMax
	}
	return nl.req.replyTime.add(t.listenExpire).sub(t.reannounceMargin)
}

func (s *search) getNode(n *node) *searchNode {
	for _, sn := range s.nodes {
		if sn.node == n {
			return sn
		}
	}
	return nil
}

func (s *search) badCount() int {
	c := 0
	for _, sn := range s.nodes {
		if sn.isBad() {
			c++
		}
	}
	return c
}

// consecutiveBad counts the leading expired nodes.
func (s *search) consecutiveBad() int {
	c := 0
	for _, sn := range s.nodes {
		if !sn.node.expired {
			break
		}
		c++
	}
	return c
}

// isSynced: the first TARGET_NODES usable nodes gave us a fresh token.
func (s *search) isSynced(now ticks, t *timing) bool {
	i := 0
	for _, sn := range s.nodes {
		if sn.isBad() {
			continue
		}
		if !sn.isSynced(now, t) {
			return false
		}
		if i++; i == targetNodes {
			break
		}
	}
	return i > 0
}

func (s *search) isDone(op *getOp) bool {
	i := 0
	for _, sn := range s.nodes {
		if sn.isBad() {
			continue
		}
		if !sn.isDone(op) {
			return false
		}
		if i++; i == targetNodes {
			break
		}
	}
	return true
}

func (s *search) isAnnounced(vid uint64) bool {
	if len(s.nodes) == 0 {
		return false
	}
	i := 0
	for _, sn := range s.nodes {
		if sn.isBad() {
			continue
		}
		if !sn.isAnnounced(vid) {
			return false
		}
		if i++; i == targetNodes {
			return true
		}
	}
	return i > 0
}

// lastGetStart is Search::getLastGetTime: when the newest running get
// started; tMin when none runs.
func (s *search) lastGetStart() ticks {
	last := tMin
	for _, op := range s.gets {
		if t, ok := s.getStart[op]; ok && t > last {
			last = t
		}
	}
	return last
}

func (s *search) idle() bool { return len(s.gets) == 0 && len(s.puts) == 0 && len(s.listens) == 0 }

// ---------------------------------------------------------------------

func (e *engine) scheduleStep(s *search, at ticks) {
	if s.deleted {
		return
	}
	if s.stepJob == nil {
		s.stepJob = e.sched.add(at, func() { e.searchStep(s) })
	} else if s.stepJob.idx < 0 || at < s.stepJob.at {
		e.sched.edit(s.stepJob, at)
	}
}

// search is Dht::search: find or start the search for id in family f,
// with a get operation (op may be nil).
func (e *engine) search(f *family, id wire.InfoHash, op *getOp) *search {
	if f.conn == nil {
		if op != nil {
			op.familyDone(e, f.idx, false)
		}
		return nil
	}
	s := f.searches[id]
	if s != nil {
		s.done = false
		s.expired = false
	} else {
		if len(f.searches) >= maxSearches {
			e.log.Warn("dht: maximum number of searches reached", "key", id)
			if op != nil {
				op.familyDone(e, f.idx, false)
			}
			return nil
		}
		s = &search{f: f, id: id, refillTime: tMin, stepTime: tMin}
		f.searches[id] = s
		if e.debug() {
			e.log.Debug("dht: new search", "key", id, "v6", f.v6())
		}
	}
	if op != nil {
		s.gets = append(s.gets, op)
		if s.getStart == nil {
			s.getStart = map[*getOp]ticks{}
		}
		s.getStart[op] = e.now
		op.searches[f.idx] = s
	}
	e.refill(s)
	e.scheduleStep(s, e.now)
	return s
}

// refill is Dht::refill: the SEARCH_NODES nearest usable nodes we know.
func (e *engine) refill(s *search) int {
	s.refillTime = e.now
	cands := make([]*node, 0, len(s.f.nodes))
	for _, n := range s.f.nodes {
		if !n.expired && !n.client {
			cands = append(cands, n)
		}
	}
	slices.SortFunc(cands, func(a, b *node) int { return s.id.XorCmp(a.id, b.id) })
	if len(cands) > searchNodes {
		cands = cands[:searchNodes]
	}
	inserted := 0
	for _, n := range cands {
		if e.insertNode(s, n, nil) {
			inserted++
		}
	}
	return inserted
}

// trySearchInsert offers a node to the searches of its family. Searches
// that are done are skipped (they refill when used again), so that a node
// keeping many finished searches does not pay for each of them per packet.
func (e *engine) trySearchInsert(f *family, n *node) {
	for _, s := range f.searches {
		if s.done {
			continue
		}
		if e.insertNode(s, n, nil) {
			e.scheduleStep(s, e.now)
		}
	}
}

func (e *engine) newSearchNode(n *node) *searchNode {
	n.searchRefs++
	return &searchNode{node: n, lastGetReply: tMin}
}

// dropSearchNode releases everything a search node holds.
func (e *engine) dropSearchNode(s *search, sn *searchNode) {
	for i := range sn.gets {
		e.cancelRequest(sn.gets[i].req)
	}
	sn.gets = nil
	e.cancelRequest(sn.probe)
	for _, a := range sn.acked {
		e.cancelRequest(a.req)
		e.sched.cancel(a.refresh)
	}
	sn.acked = nil
	for _, nl := range sn.listens {
		e.closeNodeListen(nl)
	}
	sn.listens = nil
	e.sched.cancel(sn.syncJob)
	sn.node.searchRefs--
	e.maybeForget(s.f, sn.node)
}

// insertNode is Search::insertNode: put n at its place by distance, or
// discard it when the search already has SEARCH_NODES closer usable
// nodes. A token marks the node synced. It reports whether n is new.
func (e *engine) insertNode(s *search, n *node, token []byte) bool {
	if n.client || e.famOf(n.addr) != s.f || s.deleted {
		return false
	}
	n = e.adopt(s.f, n)
	now := e.now
	// Find n, or the position after the last node closer than n.
	pos := len(s.nodes)
	found := false
	for pos > 0 {
		sn := s.nodes[pos-1]
		if sn.node == n {
			found = true
			pos--
			break
		}
		if s.id.XorCmp(n.id, sn.node.id) > 0 {
			break
		}
		pos--
	}
	isNew := false
	if !found {
		bad := 0
		full := false
		trim := len(s.nodes)
		if s.expired {
			if len(s.nodes) >= searchNodes {
				full = true
				trim = searchNodes
			}
		} else {
			bad = s.badCount()
			full = len(s.nodes)-bad >= searchNodes
			for trim-bad > searchNodes {
				trim--
				if s.nodes[trim].isBad() {
					bad--
				}
			}
		}
		if full {
			for _, sn := range s.nodes[trim:] {
				e.dropSearchNode(s, sn)
			}
			clear(s.nodes[trim:])
			s.nodes = s.nodes[:trim]
			if pos >= trim {
				return false
			}
		}
		if len(s.nodes) == 0 {
			s.stepTime = tMin
		}
		s.nodes = slices.Insert(s.nodes, pos, e.newSearchNode(n))
		isNew = true
		if n.expired {
			if !s.expired {
				bad++
			}
		} else if s.expired {
			bad = len(s.nodes) - 1
			s.expired = false
		}
		for len(s.nodes)-bad > searchNodes {
			last := s.nodes[len(s.nodes)-1]
			if !s.expired && last.isBad() {
				bad--
			}
			e.dropSearchNode(s, last)
			s.nodes[len(s.nodes)-1] = nil
			s.nodes = s.nodes[:len(s.nodes)-1]
		}
		if pos >= len(s.nodes) {
			return isNew
		}
	}
	if len(token) > 0 {
		sn := s.nodes[pos]
		sn.candidate = false
		sn.lastGetReply = now
		if len(token) <= 64 {
			sn.token = append(sn.token[:0], token...)
		}
		s.expired = false
	}
	if isNew {
		e.removeExpiredNode(s)
	}
	return isNew
}

// removeExpiredNode drops the farthest node expired for long.
func (e *engine) removeExpiredNode(s *search) {
	for i := len(s.nodes) - 1; i >= 0; i-- {
		if sn := s.nodes[i]; sn.node.isRemovable(e.now, &e.t) {
			e.dropSearchNode(s, sn)
			s.nodes = slices.Delete(s.nodes, i, i+1)
			return
		}
	}
}

// searchStep is Dht::searchStep, run whenever something happened on the
// search: refill, complete gets, listen and announce once synced, send
// more gets, and expire the search when its nodes are all gone.
func (e *engine) searchStep(s *search) {
	if s.deleted || s.expired || s.done {
		return
	}
	now := e.now
	s.stepTime = now
	if s.refillTime.add(e.t.nodeExpire) < now && len(s.nodes)-s.badCount() < searchNodes {
		e.refill(s)
	}
	if s.isSynced(now, &e.t) {
		if len(s.gets) > 0 || len(s.puts) > 0 {
			for _, op := range slices.Clone(s.gets) {
				if s.isDone(op) {
					e.removeGet(s, op)
					op.familyDone(e, s.f.idx, true)
				}
			}
			e.checkAnnounced(s, 0, false)
			if s.idle() {
				e.setSearchDone(s)
			}
		}
		if len(s.listens) > 0 {
			i := 0
			for _, sn := range s.nodes {
				if !sn.isSynced(now, &e.t) {
					continue
				}
				e.searchSynchedNodeListen(s, sn)
				if !sn.candidate {
					if i++; i == listenNodes {
						break
					}
				}
			}
		}
		e.searchSendAnnounceValue(s)
		if s.idle() {
			e.setSearchDone(s)
		}
	}
	for s.solicited() < maxRequestedNode && e.searchSendGetValues(s) {
	}
	if len(s.nodes) == 0 || s.consecutiveBad() >= min(len(s.nodes), searchMaxBad) {
		if e.debug() {
			e.log.Debug("dht: search expired", "key", s.id, "v6", s.f.v6())
		}
		e.expireSearch(s)
		if !e.publicStable {
			e.connectivityChanged(s.f)
		}
	}
}

// solicited is the number of usable nodes with a get in flight.
func (s *search) solicited() int {
	c := 0
	for _, sn := range s.nodes {
		if !sn.isBad() && sn.pendingGet() {
			c++
		}
	}
	return c
}

func (e *engine) setSearchDone(s *search) {
	for _, sn := range s.nodes {
		sn.gets = nil
		for _, nl := range sn.listens {
			e.closeNodeListen(nl)
		}
		sn.listens = nil
		for _, a := range sn.acked {
			e.sched.cancel(a.refresh)
		}
		sn.acked = nil
	}
	s.done = true
}

func (e *engine) removeGet(s *search, op *getOp) {
	s.gets = slices.DeleteFunc(s.gets, func(o *getOp) bool { return o == op })
	delete(s.getStart, op)
	for _, sn := range s.nodes {
		sn.gets = slices.DeleteFunc(sn.gets, func(g getStatus) bool { return g.op == op })
	}
	if op.searches[s.f.idx] == s {
		op.searches[s.f.idx] = nil
	}
}

// expireSearch is Search::expire: the search lost all its nodes. Gets and
// non-permanent puts fail; permanent puts and listens stay for later.
func (e *engine) expireSearch(s *search) {
	s.expired = true
	for _, sn := range s.nodes {
		e.dropSearchNode(s, sn)
	}
	s.nodes = nil
	if len(s.puts) == 0 && len(s.listens) == 0 {
		e.setSearchDone(s)
	}
	gets := s.gets
	s.gets = nil
	clear(s.getStart)
	for _, op := range gets {
		op.searches[s.f.idx] = nil
		op.familyDone(e, s.f.idx, false)
	}
	var keep []*announce
	var failed []*putOp
	for _, a := range s.puts {
		if a.pending {
			a.pending = false
			failed = append(failed, a.op)
		}
		if a.op.permanent {
			keep = append(keep, a)
		}
	}
	s.puts = keep
	for _, op := range failed {
		op.familyDone(e, s.f.idx, false)
	}
}

// expireSearches drops searches idle for SEARCH_EXPIRE_TIME.
func (e *engine) expireSearches() {
	limit := e.now.sub(e.t.searchExpire)
	for _, f := range e.fams {
		for id, s := range f.searches {
			if s.idle() && s.stepTime < limit {
				e.deleteSearch(s)
				delete(f.searches, id)
			}
		}
	}
}

func (e *engine) deleteSearch(s *search) {
	for _, sn := range s.nodes {
		e.dropSearchNode(s, sn)
	}
	s.nodes = nil
	s.deleted = true
	e.sched.cancel(s.stepJob)
}

// ---------------------------------------------------------------------
// Gets

// canGet is SearchNode::canGet for our per-operation statuses: a get is
// sent once to each node; the sync "find" (op nil, when the search has no
// get) when the node is not synced and nothing is in flight.
func (e *engine) canGet(sn *searchNode, op *getOp) bool {
	if sn.node.expired {
		return false
	}
	if op == nil {
		return !sn.pendingGet() && !sn.isSynced(e.now, &e.t)
	}
	return sn.status(op) == nil
}

// searchSendGetValues is Dht::searchSendGetValues: send one get (or find)
// to the first node that needs it. It reports whether it sent one.
func (e *engine) searchSendGetValues(s *search) bool {
	if s.done || s.deleted || s.solicited() >= maxRequestedNode {
		return false
	}
	if len(s.gets) == 0 {
		for _, sn := range s.nodes {
			if e.canGet(sn, nil) {
				e.sendSearchGet(s, sn, nil)
				return true
			}
		}
		return false
	}
	for _, op := range s.gets {
		for _, sn := range s.nodes {
			if e.canGet(sn, op) {
				e.sendSearchGet(s, sn, op)
				return true
			}
		}
	}
	return false
}

func (e *engine) sendSearchGet(s *search, sn *searchNode, op *getOp) {
	n := sn.node
	done := func(r *request, m *wire.Message) { e.searchNodeGetDone(s, r, m, op) }
	expired := func(r *request, over bool) { e.searchNodeGetExpired(s, r, over, op) }
	var r *request
	if op == nil {
		r = e.sendFind(n, s.id, 0, done, expired)
	} else {
		var m wire.Message
		m.Hash = s.id
		m.Query = op.packedQuery
		r = e.newRequest(wire.KindGet, n, &m)
		r.onDone, r.onExpired = done, expired
		e.sendRequest(r)
	}
	if st := sn.status(op); st != nil {
		st.req, st.done = r, false
	} else {
		sn.gets = append(sn.gets, getStatus{op: op, req: r})
	}
}

// searchNodeGetDone is Dht::searchNodeGetDone + onGetValuesDone.
func (e *engine) searchNodeGetDone(s *search, r *request, m *wire.Message, op *getOp) {
	if s.deleted {
		return
	}
	n := r.node
	e.insertNode(s, n, m.Token)
	if sn := s.getNode(n); sn != nil {
		if st := sn.status(op); st != nil && st.req == r {
			st.done = true
		}
		// Other gets this answer satisfies are not sent to this node.
		if op != nil {
			for _, g := range s.gets {
				if g != op && sn.status(g) == nil && g.query.IsSatisfiedBy(op.query) {
					sn.gets = append(sn.gets, getStatus{op: g, done: true})
				}
			}
		}
		at := sn.syncTime(e.now, &e.t)
		if sn.syncJob == nil {
			sn.syncJob = e.sched.add(at, func() { e.searchStep(s) })
		} else {
			e.sched.edit(sn.syncJob, at)
		}
	}
	for _, ln := range e.learned {
		if e.insertNode(s, ln, nil) {
			e.scheduleStep(s, e.now)
		}
	}
	if len(m.Token) == 0 {
		// OpenDHT blacklists a node that answers a search without a token.
		e.log.Warn("dht: no token provided, ignoring response content", "node", n.id, "addr", n.addr)
		e.setExpired(n)
		if len(e.blacklist) < 1<<16 {
			e.blacklist[n.addr] = struct{}{}
		}
	} else if op != nil && (len(m.Values) > 0 || m.Fields != nil) {
		e.deliverGet(s, op, m)
	}
	if !s.done {
		e.searchSendGetValues(s)
		e.scheduleStep(s, e.now)
	}
}

// deliverGet hands a get reply's values (or field rows) to every get of
// the search that the answered query satisfies.
func (e *engine) deliverGet(s *search, answered *getOp, m *wire.Message) {
	var vals []*value.Value
	for _, raw := range m.Values {
		if v, err := value.Unpack(raw); err == nil {
			vals = append(vals, v)
		}
	}
	var rows []value.FieldIndex
	if m.Fields != nil {
		if _, r, err := value.UnpackFields(m.Fields); err == nil {
			rows = r
		}
	}
	for _, op := range slices.Clone(s.gets) {
		if op != answered && !op.query.IsSatisfiedBy(answered.query) {
			continue
		}
		if op.fields {
			if len(rows) > 0 {
				op.addRows(e, rows)
			} else if len(vals) > 0 {
				conv := make([]value.FieldIndex, 0, len(vals))
				for _, v := range vals {
					if op.query.Where.Match(v) {
						conv = append(conv, value.IndexOf(v, answered.query.Select))
					}
				}
				op.addRows(e, conv)
			}
			continue
		}
		var mine []*value.Value
		for _, v := range vals {
			if op.query.Where.Match(v) {
				mine = append(mine, v)
			}
		}
		if len(mine) > 0 {
			op.addValues(e, mine)
		}
	}
}

// searchNodeGetExpired is Dht::searchNodeGetExpired: a slow node becomes a
// candidate; a failed one loses its status.
func (e *engine) searchNodeGetExpired(s *search, r *request, over bool, op *getOp) {
	if s.deleted {
		return
	}
	if sn := s.getNode(r.node); sn != nil {
		sn.candidate = !over
		if over {
			sn.gets = slices.DeleteFunc(sn.gets, func(g getStatus) bool { return g.req == r })
		}
	}
	e.scheduleStep(s, e.now)
}

// ---------------------------------------------------------------------
// Puts

// searchPut is Search::put.
func (e *engine) searchPut(s *search, op *putOp) {
	s.done = false
	s.expired = false
	vid := op.v.ID
	for _, a := range s.puts {
		if a.op.v.ID != vid {
			continue
		}
		old := a.op
		a.op = op
		if old.v != op.v && !old.v.Equal(op.v) {
			for _, sn := range s.nodes {
				e.resetAck(sn, vid)
			}
		}
		if s.isAnnounced(vid) {
			if a.pending {
				old.familyDone(e, s.f.idx, true)
			}
			a.pending = false
			op.familyDone(e, s.f.idx, true)
			if !op.permanent {
				e.removeAnnounce(s, vid)
			}
			return
		}
		if a.pending && old != op {
			old.familyDone(e, s.f.idx, false)
		}
		a.pending = true
		return
	}
	s.puts = append(s.puts, &announce{op: op, pending: true})
	for _, sn := range s.nodes {
		sn.probe = nil
		e.resetAck(sn, vid)
	}
}

func (e *engine) resetAck(sn *searchNode, vid uint64) {
	if a := sn.acked[vid]; a != nil {
		e.cancelRequest(a.req)
		e.sched.cancel(a.refresh)
		delete(sn.acked, vid)
	}
}

func (e *engine) removeAnnounce(s *search, vid uint64) {
	s.puts = slices.DeleteFunc(s.puts, func(a *announce) bool { return a.op.v.ID == vid })
	for _, sn := range s.nodes {
		e.resetAck(sn, vid)
	}
}

// checkAnnounced is Search::checkAnnounced: fire the callbacks of values
// announced to the target set and drop the non-permanent ones.
func (e *engine) checkAnnounced(s *search, vid uint64, onlyVid bool) {
	var done []*putOp
	var drop []uint64
	for _, a := range s.puts {
		if onlyVid && a.op.v.ID != vid {
			continue
		}
		if !s.isAnnounced(a.op.v.ID) {
			continue
		}
		if a.pending {
			a.pending = false
			done = append(done, a.op)
		}
		if !a.op.permanent {
			drop = append(drop, a.op.v.ID)
		}
	}
	for _, id := range drop {
		e.removeAnnounce(s, id)
	}
	for _, op := range done {
		op.familyDone(e, s.f.idx, true)
	}
}

func (e *engine) setAck(sn *searchNode, vid uint64, a *ackStatus) {
	if sn.acked == nil {
		sn.acked = map[uint64]*ackStatus{}
	}
	if old := sn.acked[vid]; old != nil {
		e.sched.cancel(old.refresh)
		if old.req != a.req {
			e.cancelRequest(old.req)
		}
	}
	sn.acked[vid] = a
}

// searchSendAnnounceValue is Dht::searchSendAnnounceValue: put each value
// to the first 8 synced nodes that need it; permanent values are probed
// first (SELECT id, seq) to choose between put and refresh.
func (e *engine) searchSendAnnounceValue(s *search) {
	if len(s.puts) == 0 {
		return
	}
	now := e.now
	i := 0
	for _, sn := range slices.Clone(s.nodes) {
		if !sn.isSynced(now, &e.t) {
			continue
		}
		if sn.probe != nil && sn.probe.pending() {
			continue
		}
		sendQuery := false
		for _, a := range s.puts {
			vid := a.op.v.ID
			if sn.announceTime(vid, e.t.reannounceMargin) > now {
				continue
			}
			if a.op.permanent {
				sendQuery = true
				continue
			}
			req := e.sendPut(s, sn, a.op, a.op.created)
			e.setAck(sn, vid, &ackStatus{req: req, next: now.add(e.types.Get(a.op.v.Type).Expiration)})
		}
		if sendQuery {
			e.sendProbe(s, sn)
		}
		if !sn.candidate {
			if i++; i == targetNodes {
				break
			}
		}
	}
}

var probeQuery = value.Query{Select: value.Select{Fields: []value.Field{value.FieldID, value.FieldSeqNum}}}
var probeQueryPacked, _ = probeQuery.Pack()

func (e *engine) sendPut(s *search, sn *searchNode, op *putOp, created ticks) *request {
	var m wire.Message
	m.Hash = s.id
	m.Values = [][]byte{op.packed}
	if !op.permanent && created < e.now {
		m.HasCreated = true
		m.Created = created.wall().Unix()
	}
	m.Token = sn.token
	r := e.newRequest(wire.KindPut, sn.node, &m)
	r.onDone = func(r *request, m *wire.Message) {
		if s.deleted || m.VID == 0 {
			return
		}
		if sn := s.getNode(r.node); sn != nil {
			if a := sn.acked[m.VID]; a != nil && a.req == r {
				a.done = true
			}
		}
		e.searchSendGetValues(s)
		e.checkAnnounced(s, m.VID, true)
		e.scheduleStep(s, e.now)
	}
	r.onExpired = func(_ *request, over bool) {
		if over {
			e.scheduleStep(s, e.now)
		}
	}
	return e.sendRequest(r)
}

func (e *engine) sendProbe(s *search, sn *searchNode) {
	var m wire.Message
	m.Hash = s.id
	m.Query = probeQueryPacked
	r := e.newRequest(wire.KindGet, sn.node, &m)
	r.onDone = func(r *request, m *wire.Message) { e.onProbeDone(s, r, m) }
	r.onExpired = func(r *request, over bool) { e.searchNodeGetExpired(s, r, over, nil) }
	sn.probe = e.sendRequest(r)
}

// onProbeDone decides, per permanent value, between put (missing or older
// seq), refresh (present) and nothing.
func (e *engine) onProbeDone(s *search, r *request, m *wire.Message) {
	if s.deleted {
		return
	}
	now := e.now
	e.insertNode(s, r.node, m.Token)
	sn := s.getNode(r.node)
	if sn == nil {
		return
	}
	if !sn.isSynced(now, &e.t) {
		e.scheduleStep(s, now)
		return
	}
	var rows []value.FieldIndex
	if m.Fields != nil {
		_, rows, _ = value.UnpackFields(m.Fields)
	}
	for _, a := range slices.Clone(s.puts) {
		vid := a.op.v.ID
		if sn.announceTime(vid, e.t.reannounceMargin) > now {
			continue
		}
		has, seq := false, uint16(0)
		for _, row := range rows {
			if id, ok := row[value.FieldID]; ok && id.Int == vid {
				has = true
				seq = uint16(row[value.FieldSeqNum].Int)
				break
			}
		}
		next := now.add(e.types.Get(a.op.v.Type).Expiration)
		ack := &ackStatus{next: next}
		switch {
		case !has || seq < a.op.v.Seq:
			ack.req = e.sendPut(s, sn, a.op, tMax)
		case a.op.permanent:
			ack.req = e.sendRefresh(s, sn, a.op, next)
		default:
			ack.done = true
			e.scheduleStep(s, now)
		}
		if a.op.permanent {
			ack.refresh = e.sched.add(next.sub(e.t.reannounceMargin), func() { e.searchStep(s) })
		}
		e.setAck(sn, vid, ack)
	}
}

func (e *engine) sendRefresh(s *search, sn *searchNode, op *putOp, next ticks) *request {
	var m wire.Message
	m.Hash = s.id
	m.VID = op.v.ID
	m.Token = sn.token
	r := e.newRequest(wire.KindRefresh, sn.node, &m)
	put := e.sendPut // for the 404 fallback
	r.onDone = func(r *request, m *wire.Message) {
		if s.deleted || m.VID == 0 {
			return
		}
		if sn := s.getNode(r.node); sn != nil {
			if a := sn.acked[m.VID]; a != nil && a.req == r {
				a.done = true
			}
		}
		e.searchSendGetValues(s)
		e.checkAnnounced(s, m.VID, true)
		e.scheduleStep(s, e.now)
	}
	r.onExpired = func(_ *request, over bool) {
		if over {
			e.scheduleStep(s, e.now)
		}
	}
	r.onError = func(r *request, code uint16) bool {
		if code != wire.ErrCodeNotFound || s.deleted {
			return false
		}
		sn := s.getNode(r.node)
		if sn == nil {
			return false
		}
		if a := sn.acked[op.v.ID]; a != nil && a.req == r {
			a.req = put(s, sn, op, tMax)
		}
		e.scheduleStep(s, e.now)
		return true
	}
	return e.sendRequest(r)
}

// ---------------------------------------------------------------------
// Listens

// searchSynchedNodeListen is Dht::searchSynchedNodeListen: (re)send each
// listen to a synced node when due.
func (e *engine) searchSynchedNodeListen(s *search, sn *searchNode) {
	for _, op := range s.listens {
		nl := sn.listens[op]
		if sn.listenTime(nl, &e.t) > e.now {
			continue
		}
		if nl == nil || nl.sid == 0 {
			if nl != nil {
				e.closeNodeListen(nl)
			}
			nl = &nodeListen{s: s, op: op, node: sn.node, sid: sn.node.tids.NextSocket()}
			if sn.node.sockets == nil {
				sn.node.sockets = map[uint32]*nodeListen{}
			}
			sn.node.sockets[nl.sid] = nl
			if sn.listens == nil {
				sn.listens = map[*listenOp]*nodeListen{}
			}
			sn.listens[op] = nl
		}
		var m wire.Message
		m.Version = 1
		m.Hash = s.id
		m.Token = sn.token
		m.SID = nl.sid
		m.Query = op.packedQuery
		r := e.newRequest(wire.KindListen, sn.node, &m)
		r.onDone = func(r *request, _ *wire.Message) {
			if s.deleted {
				return
			}
			e.scheduleStep(s, e.now)
			if sn := s.getNode(r.node); sn != nil {
				if nl := sn.listens[op]; nl != nil && nl.req == r {
					nl.refresh = e.addOrEdit(nl.refresh, sn.listenTime(nl, &e.t), func() { e.searchStep(s) })
				}
			}
			if !s.done {
				e.searchSendGetValues(s)
			}
		}
		r.onExpired = func(r *request, over bool) {
			if s.deleted {
				return
			}
			e.scheduleStep(s, e.now)
			if over {
				if sn := s.getNode(r.node); sn != nil {
					if nl := sn.listens[op]; nl != nil && nl.req == r {
						e.closeNodeListen(nl)
						delete(sn.listens, op)
					}
				}
			}
		}
		nl.req = r
		e.sendRequest(r)
	}
}

func (e *engine) addOrEdit(j *job, at ticks, fn func()) *job {
	if j == nil {
		return e.sched.add(at, fn)
	}
	e.sched.edit(j, at)
	return j
}

// addListen starts a listen operation's remote part in family f.
func (e *engine) addListen(f *family, op *listenOp) {
	if f.conn == nil {
		return
	}
	s := f.searches[op.key]
	if s == nil {
		s = e.search(f, op.key, nil)
	}
	if s == nil {
		return
	}
	s.done = false
	s.listens = append(s.listens, op)
	op.searches[f.idx] = s
	e.scheduleStep(s, e.now)
}

// removeListen stops a listen operation in its searches; the storing
// nodes forget it when it is no longer refreshed.
func (e *engine) removeListen(op *listenOp) {
	for i, s := range op.searches {
		if s == nil {
			continue
		}
		op.searches[i] = nil
		s.listens = slices.DeleteFunc(s.listens, func(o *listenOp) bool { return o == op })
		for _, sn := range s.nodes {
			if nl := sn.listens[op]; nl != nil {
				e.closeNodeListen(nl)
				delete(sn.listens, op)
			}
		}
		if s.idle() && !s.expired {
			e.setSearchDone(s)
		}
	}
}
