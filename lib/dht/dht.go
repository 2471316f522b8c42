// Package dht is an OpenDHT 2.4.12-compatible DHT node and client: UDP on
// IPv4 and IPv6 (one routing table each), the network id, martian
// filtering, per-IP and global rate limits, every message of the protocol
// (ping, find, get with queries, put, refresh, listen, update, errors),
// write tokens, value parts for large values, Kademlia routing tables with
// OpenDHT's bucket rules, searches (14 nodes, 4 requests in flight), puts
// to the 8 closest nodes (permanent ones re-announced), listens on the 4
// closest with refresh, storage with per-type expiry, per-key, total and
// per-IP limits (opendht.md §1–§4, §10).
//
// The package knows nothing of Jami: values are opaque here, signatures
// are checked only where OpenDHT's storage policies check them.
//
// A Node runs three goroutines (one reader per address family and one
// engine that owns all state), so many nodes fit in one process:
//
//	n, err := dht.New(dht.Config{Bootstrap: []string{"bootstrap.jami.net:4222"}})
//	if err != nil { ... }
//	defer n.Close()
//	err = n.Put(ctx, key, &value.Value{Data: []byte("hello")}, dht.PutOptions{})
//	vals, err := n.Get(ctx, key, nil)
package dht

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// DefaultPort is OpenDHT's DHT_DEFAULT_PORT, used for bootstrap addresses
// without a port.
const DefaultPort = 4222

// Default rate limits (MAX_REQUESTS_PER_SEC; per IP, an eighth of it).
const (
	DefaultMaxRequestsPerSec = 8192
	DefaultRxQueueSize       = 64 * 1024 // RX_QUEUE_MAX_SIZE
)

// Config configures a Node. The zero value is a node on a random port of
// every IPv4 and IPv6 address, on the public network (id 0), with
// OpenDHT's default limits.
type Config struct {
	// ID is the node id; zero picks a random one.
	ID wire.InfoHash
	// Network is the OpenDHT network id ("n"); 0 is the public network.
	// Datagrams of other networks are dropped.
	Network uint32

	// Port is the UDP port of both families; 0 picks one (IPv6 then tries
	// the port IPv4 got first).
	Port uint16
	// BindIPv4 and BindIPv6 are the addresses to bind; the zero Addr means
	// all addresses of the family.
	BindIPv4, BindIPv6 netip.Addr
	// NoIPv4 and NoIPv6 disable a family.
	NoIPv4, NoIPv6 bool

	// Bootstrap lists "host[:port]" nodes pinged while disconnected, with
	// backoff (port 4222 when absent).
	Bootstrap []string
	// Nodes are known nodes to start from (ImportNodes at start), such as
	// those saved by ExportNodes: a restarted node rejoins without its
	// bootstrap.
	Nodes []wire.NodeInfo

	// NoRateLimit disables the request rate limits and the storage size
	// limit, as dhtnode -U does.
	NoRateLimit bool
	// MaxRequestsPerSec caps the requests handled per second (0: 8192;
	// negative: unlimited). Requests over it are dropped silently.
	MaxRequestsPerSec int
	// MaxPeerRequestsPerSec caps the requests per second from one IPv4
	// address or IPv6 /64 (0: MaxRequestsPerSec/8).
	MaxPeerRequestsPerSec int
	// MaxStoreSize caps the stored value sizes in bytes (0: 64 MiB;
	// negative: unlimited).
	MaxStoreSize int64
	// RxQueueSize caps the received datagrams waiting for processing (0:
	// 65536); the oldest are dropped first.
	RxQueueSize int

	// PublicStable makes listens last 5 minutes instead of 30 seconds and
	// stops re-bootstrapping after a failed search (dhtnode -P).
	PublicStable bool
	// Types is the value type registry (nil: value.NewRegistry(), the
	// types a 2.4.12 DhtRunner registers).
	Types *value.Registry
	// Logger receives debug and warning logs (nil: discarded).
	Logger *slog.Logger

	timing     timing
	maxReq     int
	maxPeerReq int
	maxStore   int64
}

func (c *Config) normalize() error {
	if c.ID.IsZero() {
		cryptoRand(c.ID[:])
	}
	if c.Types == nil {
		c.Types = value.NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.timing.maxResponse == 0 {
		c.timing = defaultTiming()
	}
	if c.RxQueueSize <= 0 {
		c.RxQueueSize = DefaultRxQueueSize
	}
	c.maxReq, c.maxPeerReq, c.maxStore = -1, -1, -1
	if !c.NoRateLimit {
		c.maxReq = c.MaxRequestsPerSec
		if c.maxReq == 0 {
			c.maxReq = DefaultMaxRequestsPerSec
		}
		c.maxPeerReq = c.MaxPeerRequestsPerSec
		if c.maxPeerReq == 0 {
			c.maxPeerReq = c.maxReq / 8
			if c.maxReq < 0 {
				c.maxPeerReq = -1
			}
		}
		c.maxStore = c.MaxStoreSize
		if c.maxStore == 0 {
			c.maxStore = DefaultMaxStoreSize
		}
	}
	if c.NoIPv4 && c.NoIPv6 {
		return errors.New("dht: both address families disabled")
	}
	return nil
}

func cryptoRand(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("dht: no randomness: " + err.Error())
	}
}

// Node is a running DHT node.
type Node struct {
	e       *engine
	id      wire.InfoHash
	conns   [2]*net.UDPConn
	bound   [2]netip.AddrPort
	rx      rxQueue
	calls   chan func(*engine)
	closing chan struct{}
	closed  chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// New binds the sockets and starts the node. Close stops it.
func New(cfg Config) (*Node, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	n := &Node{
		id:      cfg.ID,
		calls:   make(chan func(*engine)),
		closing: make(chan struct{}),
		closed:  make(chan struct{}),
	}
	n.rx.max = cfg.RxQueueSize
	n.rx.maxBytes = rxQueueBytes
	n.rx.signal = make(chan struct{}, 1)
	if err := n.bind(&cfg); err != nil {
		return nil, err
	}
	n.e = newEngine(n, &cfg)
	for i, c := range n.conns {
		n.e.fams[i].conn = c
		n.e.fams[i].bound = n.bound[i]
	}
	for _, ni := range cfg.Nodes {
		n.e.importNode(ni)
	}
	n.e.start()
	for _, c := range n.conns {
		if c != nil {
			// Room for bursts of value parts (a 64 KiB value is 52
			// datagrams, and replies from several nodes may overlap); the
			// kernel only uses it when the reader falls behind.
			_ = c.SetReadBuffer(1 << 20)
			n.wg.Add(1)
			go n.readLoop(c)
		}
	}
	n.wg.Add(1)
	go n.loop()
	return n, nil
}

func (n *Node) bind(cfg *Config) error {
	var errs []error
	if !cfg.NoIPv4 {
		ip := cfg.BindIPv4
		if !ip.IsValid() {
			ip = netip.IPv4Unspecified()
		}
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip.Unmap(), cfg.Port)))
		if err != nil {
			errs = append(errs, fmt.Errorf("dht: bind IPv4: %w", err))
		} else {
			n.conns[0] = c
			n.bound[0] = c.LocalAddr().(*net.UDPAddr).AddrPort()
		}
	}
	if !cfg.NoIPv6 {
		ip := cfg.BindIPv6
		explicit := ip.IsValid()
		if !explicit {
			ip = netip.IPv6Unspecified()
		}
		port := cfg.Port
		if port == 0 && n.conns[0] != nil {
			port = n.bound[0].Port()
		}
		c, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port)))
		if err != nil && cfg.Port == 0 && port != 0 {
			c, err = net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		}
		switch {
		case err == nil:
			n.conns[1] = c
			n.bound[1] = c.LocalAddr().(*net.UDPAddr).AddrPort()
		case explicit || n.conns[0] == nil:
			errs = append(errs, fmt.Errorf("dht: bind IPv6: %w", err))
		}
	}
	if len(errs) > 0 && (n.conns[0] == nil && n.conns[1] == nil || cfg.BindIPv6.IsValid() && n.conns[1] == nil || cfg.BindIPv4.IsValid() && n.conns[0] == nil) {
		for _, c := range n.conns {
			if c != nil {
				c.Close()
			}
		}
		return errors.Join(errs...)
	}
	return nil
}

// readLoop is a family's socket goroutine: datagrams go to the receive
// queue, martian sources are dropped here already. It drains the socket
// in batches (recvmmsg) and queues each batch under one lock with one
// wake-up of the engine.
func (n *Node) readLoop(c *net.UDPConn) {
	defer n.wg.Done()
	r, err := newBatchReader(c)
	if err != nil {
		n.readLoopSingle(c)
		return
	}
	defer r.close()
	batch := make([]packet, 0, rxBatch)
	add := func(data []byte, from netip.AddrPort) {
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if wire.IsMartian(from) {
			return
		}
		batch = append(batch, newPacket(data, from))
	}
	for {
		if err := r.read(add); err != nil {
			if n.readFailed(err) {
				return
			}
			continue
		}
		n.rx.pushBatch(batch)
		clear(batch)
		batch = batch[:0]
		// Let the engine handle this batch before reading again: what
		// arrives meanwhile is then read in one call, instead of this
		// goroutine finding the socket empty and parking first.
		runtime.Gosched()
	}
}

// readFailed reports whether a read error ends the reader: ICMP errors
// surface as read errors on Linux and are skipped.
func (n *Node) readFailed(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	select {
	case <-n.closing:
		return true
	default:
		return false
	}
}

// readLoopSingle reads one datagram per call (no batch reader).
func (n *Node) readLoopSingle(c *net.UDPConn) {
	buf := make([]byte, 64*1024)
	for {
		sz, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if n.readFailed(err) {
				return
			}
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if wire.IsMartian(from) {
			continue
		}
		n.rx.push(buf[:sz], from)
	}
}

// loop is the engine goroutine.
func (n *Node) loop() {
	defer n.wg.Done()
	e := n.e
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var batch []packet
	for {
		e.now = monoNow()
		e.runJobs()
		e.updateStatus()
		if next := e.sched.next(); next < tMax {
			timer.Reset(time.Duration(next - monoNow()))
		} else {
			timer.Stop()
		}
		e.tx.flush()
		select {
		case <-n.closing:
			e.shutdown()
			return
		case <-n.rx.signal:
			batch = n.rx.take(batch)
			for i := range batch {
				p := &batch[i]
				e.now = monoNow()
				if e.now-p.at > ticks(e.t.rxMaxDelay) {
					e.stats.dropped.late++
				} else {
					e.handle(p.data, p.from)
				}
				p.release()
			}
			clear(batch)
		case f := <-n.calls:
			e.now = monoNow()
			f(e)
		case <-timer.C:
		}
	}
}

// shutdown ends every client operation.
func (e *engine) shutdown() {
	for _, op := range e.listens {
		op.cancelled = true
		op.mb.close(ErrClosed)
	}
	for _, f := range e.fams {
		for _, s := range f.searches {
			for _, op := range s.gets {
				op.finished = true
				op.mb.close(ErrClosed)
			}
			for _, a := range s.puts {
				if a.pending && !a.op.finished {
					a.op.finished = true
					a.op.result <- ErrClosed
				}
			}
		}
	}
	e.waiting = nil
}

// Close stops the node and waits for its goroutines, including the
// goroutines of Listen callbacks (so Close must not be called from one).
func (n *Node) Close() error {
	n.once.Do(func() {
		close(n.closing)
		for _, c := range n.conns {
			if c != nil {
				c.Close()
			}
		}
		n.wg.Wait()
		close(n.closed)
	})
	return nil
}

// Run blocks until ctx is done, then closes the node.
func (n *Node) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-n.closing:
	}
	return n.Close()
}

// Done is closed once the node has stopped.
func (n *Node) Done() <-chan struct{} { return n.closed }

// ID returns the node id.
func (n *Node) ID() wire.InfoHash { return n.id }

// Addr4 and Addr6 return the bound addresses (invalid when the family is
// not running).
func (n *Node) Addr4() netip.AddrPort { return n.bound[0] }
func (n *Node) Addr6() netip.AddrPort { return n.bound[1] }

// exec runs f on the engine goroutine and waits for it.
func (n *Node) exec(ctx context.Context, f func(e *engine)) error {
	done := make(chan struct{})
	select {
	case n.calls <- func(e *engine) { f(e); close(done) }:
	case <-n.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

// post runs f on the engine goroutine without waiting.
func (n *Node) post(f func(e *engine)) {
	select {
	case n.calls <- f:
	case <-n.closing:
	}
}

// Bootstrap adds bootstrap nodes ("host[:port]", port 4222 by default),
// pings them and waits until one answers (nil), all fail (ErrBootstrap),
// or ctx ends. They are pinged again with backoff whenever the node is
// disconnected.
func (n *Node) Bootstrap(ctx context.Context, hosts ...string) error {
	var addrs []netip.AddrPort
	var errs []error
	for _, h := range hosts {
		a, err := resolve(h)
		if err != nil {
			errs = append(errs, fmt.Errorf("dht: bootstrap %s: %w", h, err))
			continue
		}
		addrs = append(addrs, a...)
	}
	if len(addrs) == 0 {
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		return ErrBootstrap
	}
	res := make(chan bool, len(addrs))
	err := n.exec(ctx, func(e *engine) {
		for _, h := range hosts {
			known := false
			for _, b := range e.bootstrap {
				known = known || b == h
			}
			if !known {
				e.bootstrap = append(e.bootstrap, h)
			}
		}
		for _, a := range addrs {
			e.pingAddr(a, func(_ wire.InfoHash, ok bool) { res <- ok })
		}
	})
	if err != nil {
		return err
	}
	for range addrs {
		select {
		case ok := <-res:
			if ok {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-n.closing:
			return ErrClosed
		}
	}
	return ErrBootstrap
}

// Ping sends a ping to addr and returns the id of the node that answered.
func (n *Node) Ping(ctx context.Context, addr netip.AddrPort) (wire.InfoHash, error) {
	type result struct {
		id wire.InfoHash
		ok bool
	}
	res := make(chan result, 1)
	if err := n.exec(ctx, func(e *engine) {
		e.pingAddr(addr, func(id wire.InfoHash, ok bool) { res <- result{id, ok} })
	}); err != nil {
		return wire.InfoHash{}, err
	}
	select {
	case r := <-res:
		if !r.ok {
			return wire.InfoHash{}, fmt.Errorf("dht: ping %s: no answer", addr)
		}
		return r.id, nil
	case <-ctx.Done():
		return wire.InfoHash{}, ctx.Err()
	case <-n.closing:
		return wire.InfoHash{}, ErrClosed
	}
}

// PutOptions tune a Put.
type PutOptions struct {
	// Permanent keeps announcing the value (refreshing it on the storing
	// nodes before it expires) until CancelPut.
	Permanent bool
	// Created is the value's creation time (zero: now); a value created
	// in the past expires earlier.
	Created time.Time
}

// Put stores v at key on the 8 closest nodes of each family and returns
// once either family acknowledged it (nil) or both failed (ErrFailed). A
// zero v.ID is replaced by a random one. The value is also kept locally.
// If ctx ends first, Put returns ctx.Err() but the announce goes on.
// Storing nodes acknowledge even values their policies reject (as in
// OpenDHT): check with Get when it matters.
func (n *Node) Put(ctx context.Context, key wire.InfoHash, v *value.Value, opt PutOptions) error {
	if v == nil || key.IsZero() {
		return errors.New("dht: put: invalid key or value")
	}
	for v.ID == 0 {
		var b [8]byte
		cryptoRand(b[:])
		v.ID = binary.LittleEndian.Uint64(b[:])
	}
	packed := v.Pack()
	// The engine keeps its own copy: the caller may reuse v.
	own, err := value.Unpack(packed)
	if err != nil {
		return fmt.Errorf("dht: put: %w", err)
	}
	op := &putOp{key: key, v: own, packed: packed, permanent: opt.Permanent, result: make(chan error, 1)}
	if err := n.exec(ctx, func(e *engine) {
		op.created = e.now
		if !opt.Created.IsZero() {
			if age := time.Since(opt.Created); age > 0 {
				op.created = e.now - ticks(age)
			}
		}
		e.startPut(op)
	}); err != nil {
		return err
	}
	select {
	case err := <-op.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-n.closing:
		return ErrClosed
	}
}

// CancelPut stops announcing the value id at key and removes the local
// copy. It reports whether such a put was running.
func (n *Node) CancelPut(ctx context.Context, key wire.InfoHash, id uint64) (bool, error) {
	var ok bool
	err := n.exec(ctx, func(e *engine) { ok = e.cancelPut(key, id) })
	return ok, err
}

// Get returns the values stored at key that match q's WHERE (q may be
// nil; a SELECT is ignored here, see Query). It returns when the search
// completed: nil even when nothing was found, ErrFailed when no node
// could be reached in either family.
func (n *Node) Get(ctx context.Context, key wire.InfoHash, q *value.Query) ([]*value.Value, error) {
	var out []*value.Value
	err := n.GetFunc(ctx, key, q, func(vals []*value.Value) bool {
		out = append(out, vals...)
		return true
	})
	return out, err
}

// GetFunc is Get with results delivered as they arrive: local values
// first, then each node's answer. cb runs on the caller's goroutine;
// returning false ends the get (with a nil error). Values handed to
// callbacks may be shared with other operations: do not modify them.
func (n *Node) GetFunc(ctx context.Context, key wire.InfoHash, q *value.Query, cb func([]*value.Value) bool) error {
	var query value.Query
	if q != nil {
		query.Where = q.Where
	}
	op, err := newGetOp(key, query, false)
	if err != nil {
		return err
	}
	return n.runGet(ctx, op, func(ev event) bool { return cb(ev.vals) })
}

// Query runs a field query (a SELECT, OpenDHT's Dht::query): cb gets rows
// of the selected fields of the values matching the WHERE. It returns like
// Get.
func (n *Node) Query(ctx context.Context, key wire.InfoHash, q value.Query, cb func([]value.FieldIndex) bool) error {
	op, err := newGetOp(key, q, true)
	if err != nil {
		return err
	}
	return n.runGet(ctx, op, func(ev event) bool { return cb(ev.rows) })
}

func (n *Node) runGet(ctx context.Context, op *getOp, cb func(event) bool) error {
	if op.key.IsZero() {
		return errors.New("dht: get: invalid key")
	}
	if err := n.exec(ctx, func(e *engine) { e.startGet(op) }); err != nil {
		return err
	}
	stop := func() { n.post(func(e *engine) { e.finishGet(op, true) }) }
	for {
		evs, closed, err := op.mb.take()
		for _, ev := range evs {
			if !cb(ev) {
				stop()
				return nil
			}
		}
		if closed {
			return err
		}
		select {
		case <-op.mb.signal:
		case <-ctx.Done():
			stop()
			return ctx.Err()
		case <-n.closing:
			return ErrClosed
		}
	}
}

// ListenToken identifies a Listen for CancelListen.
type ListenToken uint64

// Listen calls cb with the values stored at key that match where (nil:
// all), first those known now, then each new or changed one, and with
// expired=true when values expire or are removed. cb runs on a goroutine
// of its own, one call at a time; returning false cancels the listen, as
// do CancelListen and the end of ctx. The remote listens are refreshed
// every 20 s on the 4 closest nodes of each family.
func (n *Node) Listen(ctx context.Context, key wire.InfoHash, where *value.Where, cb func(vals []*value.Value, expired bool) bool) (ListenToken, error) {
	if key.IsZero() {
		return 0, errors.New("dht: listen: invalid key")
	}
	op := &listenOp{key: key, values: map[uint64]*opValue{}, mb: newMailbox()}
	if where != nil {
		op.where = *where
		p, err := value.Query{Where: *where}.Pack()
		if err != nil {
			return 0, err
		}
		if !where.Empty() {
			op.packedQuery = p
		}
	}
	if err := n.exec(ctx, func(e *engine) { e.startListen(op) }); err != nil {
		return 0, err
	}
	tok := ListenToken(op.token)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		cancel := func() { n.post(func(e *engine) { e.cancelListen(op.token) }) }
		for {
			evs, closed, _ := op.mb.take()
			for _, ev := range evs {
				select {
				case <-n.closing:
					return
				default:
				}
				if !cb(ev.vals, ev.expired) {
					cancel()
					return
				}
			}
			if closed {
				return
			}
			select {
			case <-op.mb.signal:
			case <-ctx.Done():
				cancel()
				return
			case <-n.closing:
				return
			}
		}
	}()
	return tok, nil
}

// CancelListen stops a listen. It reports whether the token was active.
func (n *Node) CancelListen(ctx context.Context, tok ListenToken) (bool, error) {
	var ok bool
	err := n.exec(ctx, func(e *engine) { ok = e.cancelListen(uint64(tok)) })
	return ok, err
}
