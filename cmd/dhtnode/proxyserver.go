package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/proxy"
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
	n    *dht.Node
	log  *slog.Logger
	mu   sync.Mutex
	byPt map[int]*runningProxy
}

type runningProxy struct {
	api  *proxy.Server
	http *http.Server
	done chan struct{}
}

func newProxyServers(n *dht.Node, log *slog.Logger) *proxyServers {
	return &proxyServers{n: n, log: log, byPt: map[int]*runningProxy{}}
}

// start listens on addr:port and serves the proxy API there; it returns
// the port bound (port 0 picks one).
func (p *proxyServers) start(addr string, port uint) (int, error) {
	if port > 65535 {
		return 0, fmt.Errorf("proxy port %d: not a TCP port", port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(int(port))))
	if err != nil {
		return 0, fmt.Errorf("proxy server: %w", err)
	}
	bound := l.Addr().(*net.TCPAddr).Port
	api := proxy.NewServer(p.n, proxy.ServerOptions{Logger: p.log})
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
	var ports []int
	for pt := range p.byPt {
		ports = append(ports, pt)
	}
	p.mu.Unlock()
	for _, pt := range ports {
		p.stop(pt)
	}
}

// ports lists the running proxies in order.
func (p *proxyServers) ports() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ports []int
	for pt := range p.byPt {
		ports = append(ports, pt)
	}
	sort.Ints(ports)
	return ports
}

// startProxyFlag starts the --proxyserver proxy, if asked, and tells
// where it listens (stderr: stdout belongs to the console).
func startProxyFlag(c *ucli.Context, p *proxyServers) error {
	if !c.IsSet("proxyserver") {
		if c.IsSet("proxy-addr") {
			return fmt.Errorf("--proxy-addr needs --proxyserver")
		}
		return nil
	}
	port, err := p.start(c.String("proxy-addr"), c.Uint("proxyserver"))
	if err != nil {
		return err
	}
	cli.Infof(c, "DHT proxy server on port %d", port)
	return nil
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
	if con.net.proxies == nil {
		con.net.proxies = newProxyServers(con.n, con.logs.logger())
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
