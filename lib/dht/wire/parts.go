package wire

import (
	"errors"
	"net/netip"
	"sort"
	"time"
)

// Timeouts of a partial message in OpenDHT 2.4.12 (network_engine.h).
const (
	// PartsMaxAge is RX_MAX_PACKET_TIME: a partial message is dropped this
	// long after its header arrived.
	PartsMaxAge = 10 * time.Second
	// PartsTimeout is RX_TIMEOUT: a partial message is dropped when no
	// part arrived for this long.
	PartsTimeout = 3 * time.Second
)

// Reassembler errors. None of them calls for a reply: OpenDHT logs and
// drops in each case (and rate-limits the sender for ErrNoSession).
var (
	ErrNotHeader     = errors.New("wire: message carries no value sizes")
	ErrSessionExists = errors.New("wire: partial message with this tid already open")
	ErrNoSession     = errors.New("wire: value part without an open partial message")
	ErrPartsLimit    = errors.New("wire: partial message over the memory limits")
)

// ReassemblerConfig bounds the memory of a Reassembler. Zero fields take
// the defaults of NewReassembler.
type ReassemblerConfig struct {
	// MaxMessageBytes caps the declared value sizes of one message.
	MaxMessageBytes int
	// MaxPeerBytes caps the buffers held for one source IP address.
	MaxPeerBytes int
	// MaxTotalBytes caps all buffers.
	MaxTotalBytes int
	// MaxPeerSessions caps the open partial messages of one source IP.
	MaxPeerSessions int
	// MaxSessions caps all open partial messages.
	MaxSessions int
	// MaxAge and PartTimeout default to PartsMaxAge and PartsTimeout.
	MaxAge, PartTimeout time.Duration
}

// Reassembler rebuilds messages whose values arrive as value parts (§1.2).
// Sessions are keyed by (source address, tid): unlike 2.4.12, which keys
// them by tid alone, two peers that happen to pick the same tid do not
// collide. Parts must come from the header's IP:port. Parts may arrive in
// any order and overlap (newer OpenDHT accepts that too; 2.4.12 needs them
// in order, which is how everyone sends them); parts that arrive before
// their header are dropped, as in 2.4.12. Buffers are allocated when the
// first part of a value arrives, so memory follows received data, within
// the configured limits. A Reassembler is not safe for concurrent use.
type Reassembler struct {
	cfg      ReassemblerConfig
	sessions map[sessionKey]*session
	peers    map[netip.Addr]*peerUse
	total    int
}

type sessionKey struct {
	from netip.AddrPort
	tid  uint32
}

type peerUse struct {
	bytes, sessions int
}

type session struct {
	msg         *Message
	vals        []pendingValue // sorted by index
	start, last time.Time
	bytes       int // allocated buffer bytes
	missing     int // values not complete yet
}

type pendingValue struct {
	index  uint32
	size   int
	data   []byte
	spans  []span // received byte ranges, sorted, disjoint, not adjacent
	filled int
}

type span struct{ lo, hi int }

// NewReassembler returns a Reassembler with cfg's limits; zero fields get
// defaults: 8 MiB per message, 16 MiB per peer, 64 MiB in all, 64 open
// messages per peer, 8192 in all, and 2.4.12's timeouts.
func NewReassembler(cfg ReassemblerConfig) *Reassembler {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.MaxMessageBytes, 8<<20)
	def(&cfg.MaxPeerBytes, 16<<20)
	def(&cfg.MaxTotalBytes, 64<<20)
	def(&cfg.MaxPeerSessions, 64)
	def(&cfg.MaxSessions, 8192)
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = PartsMaxAge
	}
	if cfg.PartTimeout <= 0 {
		cfg.PartTimeout = PartsTimeout
	}
	return &Reassembler{
		cfg:      cfg,
		sessions: make(map[sessionKey]*session),
		peers:    make(map[netip.Addr]*peerUse),
	}
}

// Len returns the number of open partial messages.
func (r *Reassembler) Len() int { return len(r.sessions) }

// Bytes returns the bytes held in part buffers.
func (r *Reassembler) Bytes() int { return r.total }

// Start opens a partial message for a header hdr (a message with Sizes)
// received from from. It keeps a copy of hdr, so hdr and its datagram may
// be reused. Sizes above MaxPartValueSize are ignored, as in OpenDHT; when
// nothing is left to wait for, Start returns the message at once, as
// complete.
func (r *Reassembler) Start(from netip.AddrPort, hdr *Message, now time.Time) (*Message, error) {
	if len(hdr.Sizes) == 0 {
		return nil, ErrNotHeader
	}
	key := sessionKey{from, hdr.TID}
	if _, ok := r.sessions[key]; ok {
		return nil, ErrSessionExists
	}
	var vals []pendingValue
	declared := 0
	for _, s := range hdr.Sizes {
		if s.Size > MaxPartValueSize {
			continue
		}
		declared += int(s.Size)
		vals = append(vals, pendingValue{index: s.Index, size: int(s.Size)})
	}
	msg := hdr.Clone()
	msg.Sizes = nil
	msg.InlineValues = false
	if len(vals) == 0 {
		return msg, nil
	}
	if declared > r.cfg.MaxMessageBytes || len(r.sessions) >= r.cfg.MaxSessions {
		return nil, ErrPartsLimit
	}
	peer := r.peers[from.Addr()]
	if peer != nil && peer.sessions >= r.cfg.MaxPeerSessions {
		return nil, ErrPartsLimit
	}
	if peer == nil {
		peer = new(peerUse)
		r.peers[from.Addr()] = peer
	}
	peer.sessions++
	sort.Slice(vals, func(i, j int) bool { return vals[i].index < vals[j].index })
	s := &session{msg: msg, vals: vals, start: now, last: now, missing: len(vals)}
	for i := range vals {
		if vals[i].size == 0 {
			s.missing--
		}
	}
	r.sessions[key] = s
	if s.missing == 0 {
		// Only empty values: done (their empty blobs will not unpack, as
		// in OpenDHT).
		return r.finish(key, s), nil
	}
	return nil, nil
}

// Add feeds a value-part datagram p (KindValueData) received from from.
// It returns the complete message once every value is whole: the header's
// inline values followed by the reassembled ones in index order, Sizes
// cleared. The returned message owns its memory.
func (r *Reassembler) Add(from netip.AddrPort, p *Message, now time.Time) (*Message, error) {
	key := sessionKey{from, p.TID}
	s, ok := r.sessions[key]
	if !ok {
		return nil, ErrNoSession
	}
	if r.expired(s, now) {
		r.drop(key, s)
		return nil, ErrNoSession
	}
	peer := r.peers[from.Addr()]
	progress := false
	for _, part := range p.Parts {
		i := sort.Search(len(s.vals), func(i int) bool { return s.vals[i].index >= part.Index })
		if i == len(s.vals) || s.vals[i].index != part.Index {
			continue
		}
		v := &s.vals[i]
		if v.filled == v.size || part.Offset > uint64(v.size) ||
			uint64(len(part.Data)) > uint64(v.size)-part.Offset {
			continue
		}
		lo := int(part.Offset)
		hi := lo + len(part.Data)
		if lo == hi || v.covers(lo, hi) {
			continue
		}
		if v.data == nil {
			if s.bytes+v.size > r.cfg.MaxMessageBytes || peer.bytes+v.size > r.cfg.MaxPeerBytes ||
				r.total+v.size > r.cfg.MaxTotalBytes {
				r.drop(key, s)
				return nil, ErrPartsLimit
			}
			v.data = make([]byte, v.size)
			s.bytes += v.size
			peer.bytes += v.size
			r.total += v.size
		}
		copy(v.data[lo:hi], part.Data)
		v.add(lo, hi)
		progress = true
		if v.filled == v.size {
			s.missing--
		}
	}
	if !progress {
		return nil, nil
	}
	s.last = now
	if s.missing > 0 {
		return nil, nil
	}
	return r.finish(key, s), nil
}

// Expire drops the partial messages that have timed out and returns how
// many it dropped. Call it every second or so; Add also checks the session
// it touches.
func (r *Reassembler) Expire(now time.Time) int {
	n := 0
	for key, s := range r.sessions {
		if r.expired(s, now) {
			r.drop(key, s)
			n++
		}
	}
	return n
}

func (r *Reassembler) expired(s *session, now time.Time) bool {
	return now.Sub(s.start) > r.cfg.MaxAge || now.Sub(s.last) > r.cfg.PartTimeout
}

func (r *Reassembler) release(key sessionKey, s *session) {
	delete(r.sessions, key)
	r.total -= s.bytes
	if peer := r.peers[key.from.Addr()]; peer != nil {
		peer.bytes -= s.bytes
		peer.sessions--
		if peer.sessions <= 0 {
			delete(r.peers, key.from.Addr())
		}
	}
}

func (r *Reassembler) drop(key sessionKey, s *session) { r.release(key, s) }

func (r *Reassembler) finish(key sessionKey, s *session) *Message {
	r.release(key, s)
	m := s.msg
	for i := range s.vals {
		d := s.vals[i].data
		if d == nil {
			d = []byte{}
		}
		m.Values = append(m.Values, d)
	}
	return m
}

// covers reports whether [lo, hi) was already received entirely.
func (v *pendingValue) covers(lo, hi int) bool {
	for _, s := range v.spans {
		if s.lo <= lo && hi <= s.hi {
			return true
		}
	}
	return false
}

// add merges [lo, hi) into the received spans and updates filled.
func (v *pendingValue) add(lo, hi int) {
	// Fast path: parts arriving in order extend the last span.
	if n := len(v.spans); n > 0 && v.spans[n-1].lo <= lo && lo <= v.spans[n-1].hi {
		last := &v.spans[n-1]
		if hi > last.hi {
			v.filled += hi - last.hi
			last.hi = hi
		}
		return
	}
	out := make([]span, 0, len(v.spans)+1)
	placed := false
	for _, s := range v.spans {
		switch {
		case s.hi < lo:
			out = append(out, s)
		case hi < s.lo:
			if !placed {
				out = append(out, span{lo, hi})
				placed = true
			}
			out = append(out, s)
		default: // overlapping or adjacent: merge
			lo, hi = min(lo, s.lo), max(hi, s.hi)
		}
	}
	if !placed {
		out = append(out, span{lo, hi})
	}
	v.spans = out
	v.filled = 0
	for _, s := range out {
		v.filled += s.hi - s.lo
	}
}
