package dht

import (
	"errors"
	"syscall"
	"time"

	"github.com/jamikit/jamikit/lib/dht/wire"
)

type reqState uint8

const (
	reqPending reqState = iota
	reqCompleted
	reqExpired
	reqCancelled
)

// maxAttempts is Request::MAX_ATTEMPT_COUNT.
const maxAttempts = 3

// request is one outgoing request (OpenDHT's net::Request): the encoded
// datagram, re-sent with backoff until a reply, an error or expiry.
type request struct {
	kind      wire.Kind
	tid       uint32
	node      *node
	pkt       []byte
	parts     [][]byte // values that follow as value parts, re-sent with pkt
	state     reqState
	attempts  uint8
	wait      time.Duration
	lastTry   ticks
	replyTime ticks
	step      *job

	// onDone gets the reply; m and its slices live only during the call.
	onDone func(r *request, m *wire.Message)
	// onExpired is called with over=false at the second attempt (the node
	// is slow: searches make it a candidate) and with over=true when the
	// request failed for good.
	onExpired func(r *request, over bool)
	// onError gets 401 (put, listen) and 404 (refresh) errors; it returns
	// whether it handled the error.
	onError func(r *request, code uint16) bool
}

func (r *request) pending() bool   { return r.state == reqPending }
func (r *request) completed() bool { return r.state == reqCompleted }

func (e *engine) newRequest(kind wire.Kind, n *node, m *wire.Message) *request {
	m.Kind = kind
	m.UA = userAgent
	m.Net = e.netID
	m.ID = e.id
	var tid uint32
	if n.id.IsZero() {
		tid = e.anonTIDs.Next()
	} else {
		tid = n.tids.Next()
	}
	m.TID = tid
	pkt, err := m.AppendBinary(make([]byte, 0, 160+16*len(m.Values)))
	if err != nil {
		// Only raw values that are not msgpack can fail; callers pack them.
		e.log.Error("dht: cannot encode request", "kind", kind, "err", err)
		pkt = nil
	}
	r := &request{kind: kind, tid: tid, node: n, pkt: pkt, wait: e.t.maxResponse / 2, replyTime: tMin, lastTry: tMin}
	if m.NeedsParts() {
		r.parts = m.Values
	}
	return r
}

// sendRequest registers r with its node and sends it.
func (e *engine) sendRequest(r *request) *request {
	if r.pkt == nil {
		r.state = reqExpired
		return r
	}
	n := r.node
	if n.id.IsZero() {
		e.anon[r.tid] = r
	} else {
		if n.pending == nil {
			n.pending = make(map[uint32]*request, 2)
		}
		if old := n.pending[r.tid]; old != nil && old != r {
			e.expireRequest(old)
		}
		n.pending[r.tid] = r
	}
	e.stats.sent[r.kind]++
	e.requestStep(r)
	return r
}

// requestStep is NetworkEngine::requestStep: send, then wait 0.5 s, ~1 s,
// ~2 s... and expire the node after the third attempt went unanswered.
func (e *engine) requestStep(r *request) {
	if !r.pending() {
		return
	}
	n := r.node
	now := e.now
	if r.attempts >= maxAttempts && now > r.lastTry.add(r.wait) {
		e.setExpired(n)
		if n.id.IsZero() {
			e.expireRequest(r)
		}
		return
	}
	if r.attempts == 1 && r.onExpired != nil {
		r.onExpired(r, false)
		if !r.pending() {
			return
		}
	}
	if err := e.sendTo(n.addr, r.pkt); err != nil && fatalSendError(err) {
		e.setExpired(n)
		if n.id.IsZero() {
			e.expireRequest(r)
		}
		return
	}
	r.lastTry = now
	r.attempts++
	r.wait += r.wait + time.Duration(e.rng.Int64N(int64(e.t.maxResponse/4)+1))
	if len(r.parts) > 0 {
		e.sendParts(n.addr, r.tid, r.parts)
	}
	if r.step == nil {
		r.step = e.sched.add(r.lastTry.add(r.wait), func() { e.requestStep(r) })
	} else {
		e.sched.edit(r.step, r.lastTry.add(r.wait))
	}
}

// fatalSendError lists the errors after which OpenDHT gives up on a node
// at once.
func fatalSendError(err error) bool {
	return errors.Is(err, errFamily) || errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.EPERM)
}

func (e *engine) unregister(r *request) {
	e.sched.cancel(r.step)
	if r.node.id.IsZero() {
		if e.anon[r.tid] == r {
			delete(e.anon, r.tid)
		}
	} else if r.node.pending[r.tid] == r {
		delete(r.node.pending, r.tid)
		// The request may have been all that kept the node known.
		e.maybeForget(e.famOf(r.node.addr), r.node)
	}
}

// expireRequest fails r for good.
func (e *engine) expireRequest(r *request) {
	if !r.pending() {
		return
	}
	r.state = reqExpired
	e.unregister(r)
	r.pkt, r.parts = nil, nil
	if r.onExpired != nil {
		r.onExpired(r, true)
	}
}

// cancelRequest stops r without calling anything.
func (e *engine) cancelRequest(r *request) {
	if r == nil || !r.pending() {
		return
	}
	r.state = reqCancelled
	e.unregister(r)
	r.pkt, r.parts = nil, nil
}

// completeRequest delivers a reply.
func (e *engine) completeRequest(r *request, m *wire.Message) {
	if !r.pending() {
		return
	}
	r.state = reqCompleted
	r.replyTime = e.now
	e.unregister(r)
	r.pkt, r.parts = nil, nil
	if r.onDone != nil {
		r.onDone(r, m)
	}
}

// failRequest delivers a 401/404 error; unhandled errors go to onError
// in the engine (token flush).
func (e *engine) failRequest(r *request, code uint16) bool {
	if !r.pending() {
		return true
	}
	r.state = reqExpired
	r.lastTry, r.replyTime = tMin, tMin
	e.unregister(r)
	r.pkt, r.parts = nil, nil
	return r.onError != nil && r.onError(r, code)
}

// setExpired is Node::setExpired: the node failed; all its requests fail
// and the listen sockets we opened on it close.
func (e *engine) setExpired(n *node) {
	n.expired = true
	if len(n.pending) > 0 {
		reqs := make([]*request, 0, len(n.pending))
		for _, r := range n.pending {
			reqs = append(reqs, r)
		}
		for _, r := range reqs {
			e.expireRequest(r)
		}
	}
	if len(n.sockets) > 0 {
		for sid, nl := range n.sockets {
			delete(n.sockets, sid)
			nl.sid = 0
		}
	}
}
