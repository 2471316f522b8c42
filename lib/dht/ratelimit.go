package dht

import (
	"net/netip"
	"time"
)

// rateLimiter is OpenDHT's RateLimiter: a sliding one-second log of
// accepted requests, refusing a request while the log holds quota
// entries. The log is a ring that grows with use up to quota entries, so
// an idle limiter costs a few bytes and a saturated one quota×8 bytes.
type rateLimiter struct {
	quota      int // < 0: unlimited
	ring       []ticks
	head, n    int
	lastActive ticks
}

const rateWindow = ticks(time.Second)

// maintain drops records older than the window and returns how many are
// left.
func (r *rateLimiter) maintain(now ticks) int {
	limit := now - rateWindow
	for r.n > 0 && r.ring[r.head] < limit {
		r.head++
		if r.head == len(r.ring) {
			r.head = 0
		}
		r.n--
	}
	return r.n
}

// allow records a request at now and reports whether it is within quota.
func (r *rateLimiter) allow(now ticks) bool {
	if r.quota < 0 {
		return true
	}
	if r.maintain(now) >= r.quota {
		return false
	}
	if r.n == len(r.ring) {
		r.grow()
	}
	i := r.head + r.n
	if i >= len(r.ring) {
		i -= len(r.ring)
	}
	r.ring[i] = now
	r.n++
	r.lastActive = now
	return true
}

func (r *rateLimiter) grow() {
	size := 2 * len(r.ring)
	if size < 8 {
		size = 8
	}
	if size > r.quota {
		size = r.quota
	}
	ring := make([]ticks, size)
	for i := 0; i < r.n; i++ {
		ring[i] = r.ring[(r.head+i)%len(r.ring)]
	}
	r.ring, r.head = ring, 0
}

// ipKey groups addresses the way OpenDHT's SockAddr::ipCmp does for rate
// limits and storage quotas: a whole IPv4 address, or the first 64 bits of
// an IPv6 address; the port is ignored.
func ipKey(ap netip.AddrPort) netip.Addr {
	a := ap.Addr().Unmap()
	if a.Is6() {
		b := a.As16()
		clear(b[8:])
		return netip.AddrFrom16(b)
	}
	return a
}

// limiter combines the per-IP and global limits of
// NetworkEngine::rateLimit. The per-IP limiter runs first and consumes its
// quota even when the global one then refuses, as in OpenDHT.
type limiter struct {
	global      rateLimiter
	perIP       int // < 0: unlimited
	peers       map[netip.Addr]*rateLimiter
	maintenance int
}

func newLimiter(global, perIP int) *limiter {
	return &limiter{global: rateLimiter{quota: global}, perIP: perIP, peers: map[netip.Addr]*rateLimiter{}}
}

func (l *limiter) allow(from netip.AddrPort, now ticks) bool {
	if l.perIP >= 0 {
		// Occasional cleanup of idle peers, a few times a second at most
		// under load, as OpenDHT does every max_peer_req_per_sec calls.
		l.maintenance++
		if l.maintenance >= 1024 || (l.perIP > 0 && l.maintenance >= l.perIP) {
			l.maintenance = 0
			for k, p := range l.peers {
				if p.maintain(now) == 0 {
					delete(l.peers, k)
				}
			}
		}
		k := ipKey(from)
		p := l.peers[k]
		if p == nil {
			p = &rateLimiter{quota: l.perIP}
			l.peers[k] = p
		}
		if !p.allow(now) {
			return false
		}
	}
	return l.global.allow(now)
}
