package proxy

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// Error bodies of DhtProxyServer, byte for byte (no trailing newline; the
// colon inside the key of the JSON one is upstream's).
const (
	bodyIncorrectJSON = `{"err:":"Incorrect JSON"}`
	bodyUnavailable   = `{"err":"Incorrect DhtRunner"}`
	bodyInternal      = `{"err":"Internal server error"}`
	bodyMissingParams = `{"err":"Missing parameters"}`
	bodyPutFailed     = `{"err":"Put failed"}`
	bodyNoToken       = `{"err":"No token"}`
)

// Timings of proxy.h and dht_proxy_server.cpp.
const (
	// OpTimeout is how long a permanent put or a push subscription lives
	// on the server unless the client posts it again (proxy::OP_TIMEOUT).
	OpTimeout = 24 * time.Hour
	// OpMargin: clients refresh OpMargin before OpTimeout (proxy::OP_MARGIN).
	OpMargin = 2 * time.Hour
	// StatsPeriod is how often /node/info and /node/stats are refreshed
	// (PRINT_STATS_PERIOD); the first refresh is at start, the second 3 s
	// later.
	StatsPeriod  = 2 * time.Minute
	firstRefresh = 3 * time.Second
	putTimeout   = 2 * time.Minute // bounds one Node.Put behind a POST
)

// ServerOptions tune a Server.
type ServerOptions struct {
	Logger *slog.Logger // nil: discard
	// PublicKeyID is the node's public key id when it has an identity
	// (the "id" member of /node/info); nil: absent.
	PublicKeyID *wire.InfoHash
	// StatsPeriod replaces the 2-minute refresh of /node/info (tests).
	StatsPeriod time.Duration
}

// Server is DhtProxyServer without TLS and without a push server: an
// http.Handler over a node. Push subscriptions are accepted and listened
// for, as Debian's build does when no --pushserver is given, but no
// notification is ever sent.
type Server struct {
	n      *dht.Node
	opt    ServerOptions
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	requests atomic.Uint64 // since the last stats refresh (requestRate)

	mu        sync.Mutex
	info      *dht.Info // nil until the first refresh
	infoAt    time.Time
	stats     []byte // /node/stats body of the last refresh
	last      ServerStats
	lastReset time.Time
	listens   int                                        // open /listen streams
	puts      map[wire.InfoHash]map[uint64]*permanentPut // permanent puts by key and id
	subs      map[string]map[wire.InfoHash][]*subscriber // push listeners by token
}

type permanentPut struct {
	v     *value.Value
	timer *time.Timer
}

type subscriber struct {
	clientID string
	cancel   context.CancelFunc
	timer    *time.Timer
}

// NewServer starts serving n: it takes the first node snapshot for
// /node/info now and refreshes it every StatsPeriod until Close.
func NewServer(n *dht.Node, opt ServerOptions) *Server {
	if opt.StatsPeriod <= 0 {
		opt.StatsPeriod = StatsPeriod
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		n: n, opt: opt, log: log, lastReset: time.Now(),
		puts: map[wire.InfoHash]map[uint64]*permanentPut{},
		subs: map[string]map[wire.InfoHash][]*subscriber{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.refresh()
	s.wg.Add(1)
	go s.refreshLoop()
	return s
}

// Close stops the refreshes, cancels the permanent puts and push
// listeners the server holds, and ends open get/listen streams (their
// requests' contexts are separate: http.Server.Shutdown ends those).
func (s *Server) Close() error {
	s.cancel()
	s.mu.Lock()
	for key, m := range s.puts {
		for id, p := range m {
			p.timer.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			s.n.CancelPut(ctx, key, id)
			cancel()
		}
	}
	s.puts = map[wire.InfoHash]map[uint64]*permanentPut{}
	for _, byKey := range s.subs {
		for _, l := range byKey {
			for _, sub := range l {
				sub.timer.Stop()
				sub.cancel()
			}
		}
	}
	s.subs = map[string]map[wire.InfoHash][]*subscriber{}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Done is closed when the server is closed.
func (s *Server) Done() <-chan struct{} { return s.ctx.Done() }

func (s *Server) refreshLoop() {
	defer s.wg.Done()
	next := firstRefresh
	for {
		t := time.NewTimer(next)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.refresh()
		next = s.opt.StatsPeriod
		s.mu.Lock()
		if s.info == nil || s.info.IPv4.Good+s.info.IPv6.Good == 0 {
			next = firstRefresh // not connected yet: see getNodeInfo
		}
		s.mu.Unlock()
	}
}

// refresh is updateStats: a node snapshot plus the request rate since the
// previous refresh.
func (s *Server) refresh() {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	info, err := s.n.Info(ctx)
	cancel()
	if err != nil {
		return
	}
	now := time.Now()
	count := s.requests.Swap(0)
	s.mu.Lock()
	defer s.mu.Unlock()
	dt := now.Sub(s.lastReset).Seconds()
	s.lastReset = now
	rate := 0.0
	if dt > 0 {
		rate = float64(count) / dt
	}
	total := 0
	for _, m := range s.puts {
		total += len(m)
	}
	s.info, s.infoAt = &info, now
	s.last = ServerStats{ListenCount: s.listens, PutCount: len(s.puts), TotalPermanentPuts: total,
		PushListenersCount: len(s.subs), RequestRate: rate, NodeInfo: info}
	s.stats = []byte(marshalAny(map[string]any{
		"listenCount":        s.listens,
		"putCount":           len(s.puts),
		"totalPermanentPuts": total,
		"pushListenersCount": len(s.subs),
		"requestRate":        rate,
		"nodeInfo":           s.nodeInfoJSON(info),
	}) + "\n")
	s.log.Debug("proxy stats", "stats", string(s.stats))
}

// ServerStats is DhtProxyServer::ServerStats, as of the last refresh.
type ServerStats struct {
	ListenCount        int     // open listen streams
	PutCount           int     // keys with permanent puts
	TotalPermanentPuts int     // permanent puts
	PushListenersCount int     // push tokens with subscriptions
	RequestRate        float64 // requests per second since the refresh before
	NodeInfo           dht.Info
}

// Stats returns the statistics of the last refresh; false before the
// first one.
func (s *Server) Stats() (ServerStats, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.info != nil
}

// String is ServerStats::toString.
func (st ServerStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Listens: %d Puts: %d PushListeners: %d\n", st.ListenCount, st.PutCount, st.PushListenersCount)
	fmt.Fprintf(&b, "Requests: %s per second.\n", strconv.FormatFloat(st.RequestRate, 'g', 6, 64))
	if d := st.NodeInfo.IPv4.TableDepth; d > 1 {
		fmt.Fprintf(&b, "IPv4 Network estimation: %d\n", 8<<d)
	}
	if d := st.NodeInfo.IPv6.TableDepth; d > 1 {
		fmt.Fprintf(&b, "IPv6 Network estimation: %d\n", 8<<d)
	}
	return b.String()
}

// nodeInfoJSON is NodeInfo::toJson.
func (s *Server) nodeInfoJSON(info dht.Info) map[string]any {
	fam := func(f dht.FamilyInfo) map[string]any {
		m := map[string]any{"good": f.Good, "dubious": f.Dubious, "incoming": f.Incoming}
		if f.TableDepth > 1 {
			m["table_depth"] = f.TableDepth
			m["network_size_estimation"] = 8 << f.TableDepth
		}
		return m
	}
	m := map[string]any{
		"node_id": info.ID.String(),
		"ipv4":    fam(info.IPv4),
		"ipv6":    fam(info.IPv6),
		"ops":     info.Ops,
	}
	if s.opt.PublicKeyID != nil && !s.opt.PublicKeyID.IsZero() {
		m["id"] = s.opt.PublicKeyID.String()
	}
	return m
}

// header sets what initHttpResponse sets on every answer.
func header(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Server", "RESTinio")
	h.Set("Content-Type", "application/json")
	h.Set("Access-Control-Allow-Origin", "*")
}

func reply(w http.ResponseWriter, status int, body string) {
	header(w)
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// keyOf is InfoHash(param), then InfoHash::get(param) when that is zero:
// 40 hex digits are the key, anything else (and the zero key) is hashed.
func keyOf(param string) wire.InfoHash {
	if len(param) == 2*wire.HashLen {
		if h, err := wire.ParseInfoHash(param); err == nil && !h.IsZero() {
			return h
		}
	}
	return wire.InfoHashOf([]byte(param))
}

// ServeHTTP routes as createRestRouter does: the legacy routes on /:hash,
// the new ones under /node and /key. A :hash is one non-empty segment.
// Anything else is 501 with an empty body, RESTinio's answer to a request
// no route matched.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	m := r.Method
	s.log.Debug("proxy request", "method", m, "path", path, "remote", r.RemoteAddr, "agent", r.UserAgent())
	switch {
	case path == "/" && m == http.MethodGet:
		s.getNodeInfo(w, r)
		return
	case len(seg) == 1 && seg[0] != "":
		switch m {
		case http.MethodOptions:
			s.options(w)
			return
		case http.MethodGet:
			s.get(w, r, keyOf(seg[0]))
			return
		case http.MethodPost:
			s.put(w, r, keyOf(seg[0]))
			return
		case "SUBSCRIBE":
			s.subscribe(w, r, keyOf(seg[0]))
			return
		case "UNSUBSCRIBE":
			s.unsubscribe(w, r, keyOf(seg[0]))
			return
		}
	case len(seg) == 2 && seg[0] == "node" && m == http.MethodGet && seg[1] == "info":
		s.getNodeInfo(w, r)
		return
	case len(seg) == 2 && seg[0] == "node" && m == http.MethodGet && seg[1] == "stats":
		s.getStats(w)
		return
	case len(seg) == 2 && seg[0] == "key" && seg[1] != "":
		key := keyOf(seg[1])
		switch m {
		case http.MethodGet:
			s.get(w, r, key)
			return
		case http.MethodPost:
			s.put(w, r, key)
			return
		case "SUBSCRIBE":
			s.subscribe(w, r, key)
			return
		case "UNSUBSCRIBE":
			s.unsubscribe(w, r, key)
			return
		}
	case len(seg) == 3 && seg[0] == "key" && seg[1] != "" && m == http.MethodGet:
		switch seg[2] {
		case "options":
			s.options(w)
			return
		case "listen":
			s.listen(w, r, keyOf(seg[1]))
			return
		}
	}
	notImplemented(w)
}

func notImplemented(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusNotImplemented)
}

// getNodeInfo: the last snapshot plus the caller's address as asio
// prints it from the dual-stack IPv6 socket (::ffff:a.b.c.d for IPv4).
func (s *Server) getNodeInfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	info, at := s.info, s.infoAt
	s.mu.Unlock()
	if info != nil && info.IPv4.Good+info.IPv6.Good == 0 && time.Since(at) > time.Second {
		// Unlike upstream, a snapshot without a good node is not kept for
		// 2 minutes: OpenDHT's client reads "no good node" as disconnected
		// and asks again only a minute later, so a proxy started a moment
		// before its node connected would keep its clients waiting.
		s.refresh()
		s.mu.Lock()
		info = s.info
		s.mu.Unlock()
	}
	if info == nil {
		reply(w, http.StatusServiceUnavailable, bodyUnavailable)
		return
	}
	m := s.nodeInfoJSON(*info)
	m["public_ip"] = remoteIP(r)
	reply(w, http.StatusOK, marshalAny(m)+"\n")
}

func remoteIP(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		return host
	}
	a := ap.Addr().WithZone("")
	if a.Is4() {
		return netip.AddrFrom16(a.As16()).String()
	}
	return a.String()
}

func (s *Server) getStats(w http.ResponseWriter) {
	s.requests.Add(1)
	s.mu.Lock()
	stats := s.stats
	s.mu.Unlock()
	if stats == nil {
		reply(w, http.StatusServiceUnavailable, bodyUnavailable)
		return
	}
	reply(w, http.StatusOK, string(stats))
}

func (s *Server) options(w http.ResponseWriter) {
	s.requests.Add(1)
	header(w)
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "OPTIONS, GET, POST, LISTEN")
	h.Set("Access-Control-Allow-Headers", "content-type")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusOK)
}

// startStream sends the headers of a chunked response at once, as
// ResponseByParts::flush does before the first value.
func startStream(w http.ResponseWriter) http.Flusher {
	header(w)
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	if f != nil {
		f.Flush()
	}
	return f
}

// writeValues writes one batch: one JSON line per value, then a flush.
func writeValues(w io.Writer, f http.Flusher, vals []*value.Value, extra map[string]any) error {
	var b []byte
	for _, v := range vals {
		b = append(b, MarshalValueJSON(v, extra)...)
		b = append(b, '\n')
	}
	if len(b) == 0 {
		return nil
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	if f != nil {
		f.Flush()
	}
	return nil
}

// get streams the values as the get finds them and ends with the get.
func (s *Server) get(w http.ResponseWriter, r *http.Request, key wire.InfoHash) {
	s.requests.Add(1)
	f := startStream(w)
	err := s.n.GetFunc(r.Context(), key, nil, func(vals []*value.Value) bool {
		return writeValues(w, f, vals, nil) == nil
	})
	if err != nil && !errors.Is(err, dht.ErrFailed) && r.Context().Err() == nil {
		s.log.Debug("proxy get", "key", key, "err", err)
	}
}

// listen streams the values at key until the client goes away: those
// stored now, then new ones, and expired ones with "expired": true.
func (s *Server) listen(w http.ResponseWriter, r *http.Request, key wire.InfoHash) {
	s.requests.Add(1)
	f := startStream(w)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	type batch struct {
		vals    []*value.Value
		expired bool
	}
	ch := make(chan batch)
	_, err := s.n.Listen(ctx, key, nil, func(vals []*value.Value, expired bool) bool {
		select {
		case ch <- batch{vals, expired}:
			return true
		case <-ctx.Done():
			return false
		}
	})
	if err != nil {
		return
	}
	s.mu.Lock()
	s.listens++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.listens--
		s.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ctx.Done():
			return
		case b := <-ch:
			var extra map[string]any
			if b.expired {
				extra = map[string]any{"expired": true}
			}
			if writeValues(w, f, b.vals, extra) != nil {
				return
			}
		}
	}
}

func randomID() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if id := binary.LittleEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

// readBody reads a request body; the proxy's values are at most 64 KiB,
// bodies beyond 1 MiB are refused as upstream refuses oversized requests.
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 1<<20))
}

// put is DhtProxyServer::put: one value JSON, optionally "permanent".
func (s *Server) put(w http.ResponseWriter, r *http.Request, key wire.InfoHash) {
	s.requests.Add(1)
	body, err := readBody(r)
	if err != nil {
		return
	}
	if len(body) == 0 {
		reply(w, http.StatusBadRequest, bodyMissingParams)
		return
	}
	root, err := parseJSON(body)
	if err != nil {
		reply(w, http.StatusBadRequest, bodyIncorrectJSON)
		return
	}
	v, err := valueFromJSON(root)
	if err != nil {
		reply(w, http.StatusInternalServerError, bodyInternal)
		return
	}
	obj, _ := root.(map[string]any)
	_, permanent := obj["permanent"]
	s.log.Debug("proxy put", "key", key, "value", v.String(), "permanent", permanent)
	if permanent {
		if old := s.keepPermanent(key, v); old != nil {
			// The same content re-posted without an id: a refresh of the
			// put the server already holds.
			reply(w, http.StatusOK, string(MarshalValueJSON(old, nil))+"\n")
			return
		}
	}
	ctx, cancel := context.WithTimeout(s.ctx, putTimeout)
	defer cancel()
	if err := s.n.Put(ctx, key, v, dht.PutOptions{Permanent: permanent}); err != nil {
		reply(w, http.StatusBadGateway, bodyPutFailed)
		return
	}
	reply(w, http.StatusOK, string(MarshalValueJSON(v, nil))+"\n")
}

// keepPermanent records a permanent put for OpTimeout (restarting the
// timer of one already held). A value without an id whose content equals
// a held one returns that one, refreshed; otherwise v gets an id and nil
// is returned.
func (s *Server) keepPermanent(key wire.InfoHash, v *value.Value) *value.Value {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.puts[key]
	if m == nil {
		m = map[uint64]*permanentPut{}
		s.puts[key] = m
	}
	if v.ID == 0 {
		for _, p := range m {
			if p.v.ContentEquals(v) {
				p.timer.Reset(OpTimeout)
				return p.v
			}
		}
		v.ID = randomID()
	}
	if p := m[v.ID]; p != nil {
		p.v = v
		p.timer.Reset(OpTimeout)
		return nil
	}
	id := v.ID
	m[id] = &permanentPut{v: v, timer: time.AfterFunc(OpTimeout, func() { s.expirePut(key, id) })}
	return nil
}

// expirePut is handleCancelPermamentPut: the client stopped refreshing.
func (s *Server) expirePut(key wire.InfoHash, id uint64) {
	s.mu.Lock()
	m := s.puts[key]
	if m == nil || m[id] == nil {
		s.mu.Unlock()
		return
	}
	delete(m, id)
	if len(m) == 0 {
		delete(s.puts, key)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	s.n.CancelPut(ctx, key, id)
}

// subscribe is the push-notification listen. Without a push server
// nothing is ever sent, but the bookkeeping and the answers are
// upstream's: {} for a new subscription; for a known one, {} when
// "refresh" is true, the current values otherwise.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request, key wire.InfoHash) {
	s.requests.Add(1)
	body, err := readBody(r)
	if err != nil {
		return
	}
	root, err := parseJSON(body)
	if err != nil {
		reply(w, http.StatusBadRequest, bodyIncorrectJSON)
		return
	}
	obj, _ := root.(map[string]any)
	token := asString(obj["key"])
	if token == "" {
		reply(w, http.StatusBadRequest, bodyNoToken)
		return
	}
	clientID := asString(obj["client_id"])
	s.mu.Lock()
	byKey := s.subs[token]
	if byKey == nil {
		byKey = map[wire.InfoHash][]*subscriber{}
		s.subs[token] = byKey
	}
	var sub *subscriber
	for _, l := range byKey[key] {
		if l.clientID == clientID {
			sub = l
		}
	}
	if sub != nil {
		sub.timer.Reset(OpTimeout)
		s.mu.Unlock()
		f := startStream(w)
		if b, _ := obj["refresh"].(bool); b {
			io.WriteString(w, "{}\n")
			return
		}
		s.n.GetFunc(r.Context(), key, nil, func(vals []*value.Value) bool {
			return writeValues(w, f, vals, nil) == nil
		})
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	sub = &subscriber{clientID: clientID, cancel: cancel}
	sub.timer = time.AfterFunc(OpTimeout, func() { s.cancelSub(token, key, clientID) })
	byKey[key] = append(byKey[key], sub)
	s.mu.Unlock()
	// The listen keeps the values flowing to this node, which is what a
	// push would be built from.
	s.n.Listen(ctx, key, nil, func([]*value.Value, bool) bool { return true })
	reply(w, http.StatusOK, "{}\n")
}

// unsubscribe cancels a push listen. An empty token is "rejected" by the
// handler, which RESTinio answers like an unknown route.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request, key wire.InfoHash) {
	s.requests.Add(1)
	body, err := readBody(r)
	if err != nil {
		return
	}
	root, err := parseJSON(body)
	if err != nil {
		reply(w, http.StatusBadRequest, bodyIncorrectJSON)
		return
	}
	obj, _ := root.(map[string]any)
	token := asString(obj["key"])
	if token == "" {
		notImplemented(w)
		return
	}
	s.cancelSub(token, key, asString(obj["client_id"]))
	header(w)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) cancelSub(token string, key wire.InfoHash, clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byKey := s.subs[token]
	if byKey == nil {
		return
	}
	l := byKey[key]
	for i := 0; i < len(l); {
		if l[i].clientID == clientID {
			l[i].timer.Stop()
			l[i].cancel()
			l = append(l[:i], l[i+1:]...)
			continue
		}
		i++
	}
	if len(l) == 0 {
		delete(byKey, key)
	} else {
		byKey[key] = l
	}
	if len(byKey) == 0 {
		delete(s.subs, token)
	}
}

// asString is jsoncpp's asString for the members read here: strings as
// they are, null as "", numbers and booleans in their JSON spelling.
func asString(x any) string {
	switch t := x.(type) {
	case string:
		return t
	case nil:
		return ""
	case bool:
		if t {
			return "true"
		}
		return "false"
	case interface{ String() string }:
		return t.String()
	}
	return ""
}
