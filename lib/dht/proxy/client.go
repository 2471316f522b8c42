package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// ClientOptions tune a Client.
type ClientOptions struct {
	Logger     *slog.Logger // nil: discard
	HTTPClient *http.Client // nil: a client without timeouts (streams are long-lived)
	// RetryDelay is the pause before a listen stream that ended is opened
	// again (0: 1 s, doubling up to 1 min while the server is away).
	RetryDelay time.Duration
}

// NodeInfo is what /node/info says about the proxy's node.
type NodeInfo struct {
	ID       wire.InfoHash // the node id ("node_id")
	PKID     *wire.InfoHash
	IPv4     NodeStats
	IPv6     NodeStats
	Ops      uint64
	PublicIP string // our address as the proxy sees it
}

// NodeStats is one family of NodeInfo.
type NodeStats struct {
	Good, Dubious, Incoming, TableDepth uint64
}

// Client is DhtProxyClient without push notifications: dht.Client over an
// OpenDHT REST proxy. Gets and listens read the chunked JSON-lines
// streams; permanent puts are posted with "permanent": true and posted
// again every OpTimeout−OpMargin, as the upstream client does.
type Client struct {
	base  *url.URL
	hc    *http.Client
	log   *slog.Logger
	retry time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	next    dht.ListenToken
	listens map[dht.ListenToken]context.CancelFunc
	puts    map[wire.InfoHash]map[uint64]context.CancelFunc
}

var _ dht.Client = (*Client)(nil)

// ErrStatus is wrapped by errors for answers other than 200.
var ErrStatus = errors.New("proxy: request failed")

// Dial checks that baseURL ("http://host:port", a missing scheme means
// http) is an OpenDHT proxy by fetching /node/info, and returns a client.
func Dial(ctx context.Context, baseURL string, opt ClientOptions) (*Client, NodeInfo, error) {
	c, err := NewClient(baseURL, opt)
	if err != nil {
		return nil, NodeInfo{}, err
	}
	info, err := c.NodeInfo(ctx)
	if err != nil {
		c.Close()
		return nil, NodeInfo{}, err
	}
	return c, info, nil
}

// NewClient makes a client without contacting the server.
func NewClient(baseURL string, opt ClientOptions) (*Client, error) {
	if !strings.Contains(baseURL, "://") {
		baseURL = "http://" + baseURL // jamid's proxyServer setting is host:port
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("proxy URL %q: want http://HOST:PORT", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &Client{
		base: u, hc: opt.HTTPClient, log: opt.Logger, retry: opt.RetryDelay,
		listens: map[dht.ListenToken]context.CancelFunc{},
		puts:    map[wire.InfoHash]map[uint64]context.CancelFunc{},
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.retry <= 0 {
		c.retry = time.Second
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

func (c *Client) url(path string) string { return c.base.String() + path }

// request sends one request with the headers DhtProxyClient sets.
func (c *Client) request(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "RESTinio client")
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the caller's to name
		}
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s %s: %s %s", ErrStatus, method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

// NodeInfo fetches /node/info.
func (c *Client) NodeInfo(ctx context.Context) (NodeInfo, error) {
	resp, err := c.request(ctx, http.MethodGet, "/node/info", nil)
	if err != nil {
		return NodeInfo{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return NodeInfo{}, err
	}
	x, err := parseJSON(b)
	m, _ := x.(map[string]any)
	if err != nil || m == nil || m["node_id"] == nil {
		return NodeInfo{}, errors.New("GET /node/info: not an OpenDHT proxy answer")
	}
	var info NodeInfo
	info.ID, _ = wire.ParseInfoHash(asString(m["node_id"]))
	if s := asString(m["id"]); s != "" {
		if h, err := wire.ParseInfoHash(s); err == nil {
			info.PKID = &h
		}
	}
	stats := func(x any) NodeStats {
		m, _ := x.(map[string]any)
		return NodeStats{Good: unpackID(m["good"]), Dubious: unpackID(m["dubious"]),
			Incoming: unpackID(m["incoming"]), TableDepth: unpackID(m["table_depth"])}
	}
	info.IPv4, info.IPv6 = stats(m["ipv4"]), stats(m["ipv6"])
	info.Ops = unpackID(m["ops"])
	info.PublicIP = asString(m["public_ip"])
	return info, nil
}

func keyPath(key wire.InfoHash) string { return "/key/" + key.String() }

// Put posts v. A zero v.ID is replaced by the one the server assigned.
// A permanent put is posted again every OpTimeout−OpMargin until
// CancelPut or Close.
func (c *Client) Put(ctx context.Context, key wire.InfoHash, v *value.Value, opt dht.PutOptions) error {
	if err := c.ctx.Err(); err != nil {
		return dht.ErrClosed
	}
	if err := c.post(ctx, key, v, opt.Permanent); err != nil {
		return err
	}
	if opt.Permanent {
		c.keepPut(key, v)
	}
	return nil
}

func (c *Client) post(ctx context.Context, key wire.InfoHash, v *value.Value, permanent bool) error {
	var extra map[string]any
	if permanent {
		extra = map[string]any{"permanent": true}
	}
	resp, err := c.request(ctx, http.MethodPost, keyPath(key), MarshalValueJSON(v, extra))
	if err != nil {
		if errors.Is(err, ErrStatus) {
			return fmt.Errorf("%w (%v)", dht.ErrFailed, err)
		}
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if v.ID == 0 {
		got, err := UnmarshalValueJSON(b)
		if err != nil || got.ID == 0 {
			return fmt.Errorf("POST %s: the answer has no value id", keyPath(key))
		}
		v.ID = got.ID
	}
	return nil
}

func (c *Client) keepPut(key wire.InfoHash, v *value.Value) {
	ctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	m := c.puts[key]
	if m == nil {
		m = map[uint64]context.CancelFunc{}
		c.puts[key] = m
	}
	if old := m[v.ID]; old != nil {
		old()
	}
	m[v.ID] = cancel
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			t := time.NewTimer(OpTimeout - OpMargin)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			rctx, rcancel := context.WithTimeout(ctx, putTimeout)
			if err := c.post(rctx, key, v, true); err != nil {
				c.log.Warn("proxy: refreshing a permanent put", "key", key, "err", err)
			}
			rcancel()
		}
	}()
}

// CancelPut stops refreshing a permanent put; the server drops it when
// its 24 h are over (the REST API has no cancel, upstream's client does
// the same).
func (c *Client) CancelPut(ctx context.Context, key wire.InfoHash, id uint64) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.puts[key]
	cancel := m[id]
	if cancel == nil {
		return false, nil
	}
	cancel()
	delete(m, id)
	if len(m) == 0 {
		delete(c.puts, key)
	}
	return true, nil
}

// Get collects what GetFunc delivers.
func (c *Client) Get(ctx context.Context, key wire.InfoHash, q *value.Query) ([]*value.Value, error) {
	var all []*value.Value
	err := c.GetFunc(ctx, key, q, func(vals []*value.Value) bool {
		all = append(all, vals...)
		return true
	})
	return all, err
}

// GetFunc reads GET /key/{hash}: one batch per chunk of lines, filtered
// by q's WHERE locally as the upstream client does (the route has no
// query). A non-200 answer is dht.ErrFailed.
func (c *Client) GetFunc(ctx context.Context, key wire.InfoHash, q *value.Query, cb func([]*value.Value) bool) error {
	if c.ctx.Err() != nil {
		return dht.ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()
	resp, err := c.request(ctx, http.MethodGet, keyPath(key), nil)
	if err != nil {
		if errors.Is(err, ErrStatus) {
			return fmt.Errorf("%w (%v)", dht.ErrFailed, err)
		}
		return err
	}
	defer resp.Body.Close()
	var where *value.Where
	if q != nil && !q.Where.Empty() {
		where = &q.Where
	}
	err = readLines(resp.Body, func(vals []*value.Value, _ bool) bool {
		if where != nil {
			vals = filter(vals, where)
		}
		return len(vals) == 0 || cb(vals)
	})
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func filter(vals []*value.Value, w *value.Where) []*value.Value {
	var out []*value.Value
	for _, v := range vals {
		if w.Match(v) {
			out = append(out, v)
		}
	}
	return out
}

// errStop ends readLines when the callback is done.
var errStop = errors.New("stop")

// readLines parses a JSON-lines stream: each read is split into lines,
// and the complete lines of one read are delivered together (one chunk
// is one batch), split by their "expired" flag. An empty object ends the
// stream, as in sendListen. A line that is not a value ends it with an
// error.
func readLines(r io.Reader, cb func(vals []*value.Value, expired bool) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var vals, exp []*value.Value
	for {
		line, err := br.ReadBytes('\n')
		// Like LineSplit, only complete lines count: a line cut by the end
		// of the stream is dropped.
		if err == nil && len(bytes.TrimSpace(line)) > 0 {
			x, perr := parseJSON(line)
			if perr != nil {
				return fmt.Errorf("proxy: bad value line: %w", perr)
			}
			m, _ := x.(map[string]any)
			if m != nil && len(m) == 0 {
				if derr := deliver(cb, vals, exp); derr != nil && derr != errStop {
					return derr
				}
				return nil
			}
			v, verr := valueFromJSON(x)
			if verr != nil {
				return verr
			}
			if e, _ := m["expired"].(bool); e {
				exp = append(exp, v)
			} else {
				vals = append(vals, v)
			}
		}
		if err != nil || br.Buffered() == 0 {
			if derr := deliver(cb, vals, exp); derr != nil {
				if derr == errStop {
					return nil
				}
				return derr
			}
			vals, exp = nil, nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func deliver(cb func([]*value.Value, bool) bool, vals, expired []*value.Value) error {
	if len(vals) > 0 && !cb(vals, false) {
		return errStop
	}
	if len(expired) > 0 && !cb(expired, true) {
		return errStop
	}
	return nil
}

// Listen opens GET /key/{hash}/listen and keeps it open: when the stream
// ends or fails it is opened again after a pause (doubling up to a
// minute), and values already reported are not reported again. where
// filters locally. The first connection is made before Listen returns.
func (c *Client) Listen(ctx context.Context, key wire.InfoHash, where *value.Where, cb func(vals []*value.Value, expired bool) bool) (dht.ListenToken, error) {
	if c.ctx.Err() != nil {
		return 0, dht.ErrClosed
	}
	lctx, cancel := context.WithCancel(c.ctx)
	stop := context.AfterFunc(ctx, cancel)
	resp, err := c.request(lctx, http.MethodGet, keyPath(key)+"/listen", nil)
	if err != nil {
		stop()
		cancel()
		if errors.Is(err, ErrStatus) {
			return 0, fmt.Errorf("%w (%v)", dht.ErrFailed, err)
		}
		return 0, err
	}
	c.mu.Lock()
	c.next++
	tok := c.next
	c.listens[tok] = cancel
	c.mu.Unlock()
	if where != nil && where.Empty() {
		where = nil
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer stop()
		defer c.forget(tok)
		seen := map[uint64]*value.Value{}
		deliverOne := func(vals []*value.Value, expired bool) bool {
			if where != nil {
				vals = filter(vals, where)
			}
			var out []*value.Value
			for _, v := range vals {
				old := seen[v.ID]
				switch {
				case expired && old != nil:
					delete(seen, v.ID)
					out = append(out, v)
				case !expired && (old == nil || !old.Equal(v) || old.Seq != v.Seq):
					seen[v.ID] = v
					out = append(out, v)
				}
			}
			if len(out) == 0 {
				return true
			}
			if !cb(out, expired) {
				cancel()
				return false
			}
			return true
		}
		delay := c.retry
		for {
			if resp != nil {
				start := time.Now()
				err := readLines(resp.Body, deliverOne)
				resp.Body.Close()
				if lctx.Err() != nil {
					return
				}
				c.log.Debug("proxy: listen stream ended", "key", key, "err", err)
				if time.Since(start) > time.Minute {
					delay = c.retry
				}
			}
			t := time.NewTimer(delay)
			select {
			case <-lctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			delay = min(2*delay, time.Minute)
			resp, err = c.request(lctx, http.MethodGet, keyPath(key)+"/listen", nil)
			if err != nil {
				resp = nil
				c.log.Debug("proxy: reopening a listen", "key", key, "err", err)
			}
		}
	}()
	return tok, nil
}

func (c *Client) forget(tok dht.ListenToken) {
	c.mu.Lock()
	delete(c.listens, tok)
	c.mu.Unlock()
}

// CancelListen closes the listen's stream.
func (c *Client) CancelListen(ctx context.Context, tok dht.ListenToken) (bool, error) {
	c.mu.Lock()
	cancel := c.listens[tok]
	delete(c.listens, tok)
	c.mu.Unlock()
	if cancel == nil {
		return false, nil
	}
	cancel()
	return true, nil
}

// Close ends every listen and permanent-put refresh and waits for them.
// Must not be called from a Listen callback.
func (c *Client) Close() error {
	c.cancel()
	c.wg.Wait()
	c.hc.CloseIdleConnections()
	return nil
}
