package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/proxy"
	"github.com/jamikit/jamikit/lib/dht/secure"
	"github.com/jamikit/jamikit/lib/dht/wire"
	ucli "github.com/urfave/cli/v2"
)

// proxyFlags are OpenDHT's REST proxy options this dhtnode has (plain
// HTTP; --proxyserverssl stays unsupported).
func proxyFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.UintFlag{Name: "proxyserver", Usage: "serve OpenDHT's REST proxy API over HTTP on TCP `PORT` (0: random), from the first node"},
		&ucli.StringFlag{Name: "proxy-addr", Usage: "with --proxyserver, listen on `ADDR` only (default: every address, IPv6 and IPv4)"},
	}
}

// proxyServers are the running proxies by port, as dhtnode's "proxies"
// map: --proxyserver starts one, the console's pst/psp start and stop more.
type proxyServers struct {
	n       *dht.Node      // set by serve
	pkID    *wire.InfoHash // the node's public key id with -i: "id" in /node/info
	log     *slog.Logger
	mu      sync.Mutex
	byPt    map[int]*runningProxy
	pending net.Listener // --proxyserver's port, bound before the nodes start
}

type runningProxy struct {
	api  *proxy.Server
	http *http.Server
	done chan struct{}
}

// listenProxyFlag binds the port of --proxyserver, if given, before the
// nodes start: a client that sees the node answer finds the port open
// (connections wait in the backlog until serve).
func listenProxyFlag(c *ucli.Context, log *slog.Logger) (*proxyServers, error) {
	p := &proxyServers{log: log, byPt: map[int]*runningProxy{}}
	if !c.IsSet("proxyserver") {
		if c.IsSet("proxy-addr") {
			return nil, cli.UsageErrorf("--proxy-addr needs --proxyserver")
		}
		return p, nil
	}
	l, err := listenProxy(c.String("proxy-addr"), c.Uint("proxyserver"))
	if err != nil {
		return nil, err
	}
	p.pending = l
	cli.Infof(c, "DHT proxy server on port %d", l.Addr().(*net.TCPAddr).Port)
	return p, nil
}

// listenProxy binds the TCP port of a proxy (0: any); an empty addr is
// every address of both families, as upstream's IPv6 socket.
func listenProxy(addr string, port uint) (net.Listener, error) {
	if port > 65535 {
		return nil, cli.UsageErrorf("proxy port %d: not a TCP port", port)
	}
	network := "tcp"
	if ip, err := netip.ParseAddr(addr); err == nil && ip.Is4() {
		// Go would open a dual-stack IPv6 socket for 0.0.0.0 with "tcp".
		network = "tcp4"
	}
	l, err := net.Listen(network, net.JoinHostPort(addr, strconv.Itoa(int(port))))
	if err != nil {
		return nil, fmt.Errorf("proxy server: %w", err)
	}
	return l, nil
}

// serve starts serving from n (whose identity is id, nil without -i), on
// the port bound by listenProxyFlag.
func (p *proxyServers) serve(n *dht.Node, id *secure.Identity) error {
	p.mu.Lock()
	p.n = n
	if id != nil {
		h := id.PublicKeyID()
		p.pkID = &h
	}
	l := p.pending
	p.pending = nil
	p.mu.Unlock()
	if l == nil {
		return nil
	}
	_, err := p.startOn(l)
	return err
}

// start listens on addr:port and serves the proxy API there; it returns
// the port bound (port 0 picks one).
func (p *proxyServers) start(addr string, port uint) (int, error) {
	l, err := listenProxy(addr, port)
	if err != nil {
		return 0, err
	}
	return p.startOn(l)
}

func (p *proxyServers) startOn(l net.Listener) (int, error) {
	bound := l.Addr().(*net.TCPAddr).Port
	api := proxy.NewServer(p.n, proxy.ServerOptions{Logger: p.log, PublicKeyID: p.pkID})
	rp := &runningProxy{api: api, http: &http.Server{Handler: api, ErrorLog: nil}, done: make(chan struct{})}
	p.mu.Lock()
	if old := p.byPt[bound]; old != nil {
		p.mu.Unlock()
		l.Close()
		api.Close()
		return 0, fmt.Errorf("proxy server: port %d is already served", bound)
	}
	p.byPt[bound] = rp
	p.mu.Unlock()
	go func() {
		defer close(rp.done)
		if err := rp.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Warn("proxy server stopped", "port", bound, "err", err)
		}
	}()
	return bound, nil
}

// stop ends the proxy on port: its listens and permanent puts are
// cancelled, its connections closed. False if none runs there.
func (p *proxyServers) stop(port int) bool {
	p.mu.Lock()
	rp := p.byPt[port]
	delete(p.byPt, port)
	p.mu.Unlock()
	if rp == nil {
		return false
	}
	rp.api.Close()
	rp.http.Close()
	<-rp.done
	return true
}

func (p *proxyServers) close() {
	p.mu.Lock()
	if p.pending != nil {
		p.pending.Close()
		p.pending = nil
	}
	var ports []int
	for pt := range p.byPt {
		ports = append(ports, pt)
	}
	p.mu.Unlock()
	for _, pt := range ports {
		p.stop(pt)
	}
}

// proxyCommand runs the console's pst PORT (start) and psp PORT (stop).
// As in dhtnode, a bad or missing port does nothing; a push server
// argument of pst is not supported and says so.
func (con *console) proxyCommand(op, rest string) {
	arg, more := next(rest)
	port, err := strconv.Atoi(arg)
	if err != nil || port < 0 || port > 65535 {
		return
	}
	switch op {
	case "pst":
		if push, _ := next(more); push != "" {
			fmt.Fprintln(con.errOut, "Push notifications are not supported: proxy not started")
			return
		}
		if _, err := con.net.proxies.start("", uint(port)); err != nil {
			fmt.Fprintln(con.errOut, err)
		}
	case "psp":
		con.net.proxies.stop(port)
	}
}

// statsText is what "ll" prints per running proxy, as dhtnode does.
func (p *proxyServers) statsText() string {
	if p == nil {
		return ""
	}
	p.mu.Lock()
	ports := make([]int, 0, len(p.byPt))
	for pt := range p.byPt {
		ports = append(ports, pt)
	}
	p.mu.Unlock()
	sort.Ints(ports)
	var b strings.Builder
	for _, pt := range ports {
		p.mu.Lock()
		rp := p.byPt[pt]
		p.mu.Unlock()
		if rp == nil {
			continue
		}
		fmt.Fprintf(&b, "Stats for proxy server on port %d\n", pt)
		if st, ok := rp.api.Stats(); ok {
			b.WriteString("  " + st.String() + "\n")
		} else {
			b.WriteString("  (stats not available yet)\n")
		}
	}
	return b.String()
}
