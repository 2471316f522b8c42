package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/secure"
	ucli "github.com/urfave/cli/v2"
	"golang.org/x/term"
)

const description = "Runs an OpenDHT node (or, with --nodes N, N of them in one process) speaking the protocol of\n" +
	"OpenDHT 2.4.12, and reads console commands from stdin, as OpenDHT's dhtnode does, with the same\n" +
	"options where they make sense and the same command output. With -s (or -d) there is no console:\n" +
	"the node runs until SIGINT or SIGTERM. Without -s, the node stops when stdin ends (a background\n" +
	"dhtnode needs -s).\n\n" +
	"--nodes N starts N nodes on consecutive ports from -p (random ports with -p 0), each bootstrapped\n" +
	"to the first, which is the one -b bootstraps and the console drives: a private test network in\n" +
	"one command, e.g. for CI.\n\n" +
	"Console commands (a KEY that is not 40 hexadecimal characters is hashed: \"Using h(KEY) = ...\"):\n" +
	"  h, help                 this list\n" +
	"  x, exit, quit           stop the node\n" +
	"  log [HASH]              start/stop printing DHT logs (only those mentioning HASH)\n" +
	"  ll [--json]             node information and stats (--json: one JSON object)\n" +
	"  lr                      routing tables\n" +
	"  ld [HASH]               stored values (of one key)\n" +
	"  ls [HASH]               searches (of one key)\n" +
	"  la                      public addresses other nodes reported\n" +
	"  b HOST[:PORT]           ping a node to bootstrap from it\n" +
	"  cc                      connectivity changed: ping the bootstrap nodes again\n" +
	"  g KEY [WHERE ...]       get values\n" +
	"  q KEY [SELECT ...] [WHERE ...]  query fields of values\n" +
	"  l KEY [WHERE ...]       listen for values; prints a token\n" +
	"  cl KEY TOKEN            cancel a listen\n" +
	"  p KEY WORD              put a text/plain value (the first word)\n" +
	"  pp KEY WORD             the same, kept announced until cpp\n" +
	"  cpp KEY ID              cancel a permanent put (ID in hexadecimal)\n" +
	"  pst PORT, psp PORT      start, stop a REST proxy server (as --proxyserver) on PORT\n\n" +
	"Not available (yet): identities (-i, s, e), PHT indexation, LAN peer discovery (-D).\n\n" +
	"Examples:\n" +
	"  dhtnode -p 4222\n" +
	"  dhtnode -s -p 4222 -b bootstrap.jami.net:4222 -U\n" +
	"  dhtnode -s --nodes 5 -p 4300\n" +
	"  dhtnode -i --save-identity mynode -p 4222\n" +
	"  dhtnode --certificate mynode.crt --privkey mynode.pem -p 4222\n" +
	"  dhtnode -s -p 4222 --proxyserver 8080 -b bootstrap.jami.net\n" +
	"  printf 'p hello world\\ng hello\\n' | dhtnode -b 127.0.0.1:4300"

func newApp() *ucli.App {
	app := cli.Tool{
		Name:        "dhtnode",
		Usage:       "run OpenDHT nodes with an interactive console (OpenDHT's dhtnode, plus --nodes N)",
		Description: description,
		Flags: []ucli.Flag{
			&ucli.UintFlag{Name: "port", Aliases: []string{"p"}, Usage: "UDP `PORT` of both families (0: random); with --nodes, the first of consecutive ports"},
			&ucli.StringFlag{Name: "net", Aliases: []string{"n"}, Value: "0", Usage: "OpenDHT network `ID` (decimal, 0x hexadecimal or 0 octal)"},
			&ucli.StringSliceFlag{Name: "bootstrap", Aliases: []string{"b"}, Usage: "bootstrap from `HOST[:PORT]` (port 4222 when absent; repeatable)"},
			&ucli.BoolFlag{Name: "service", Aliases: []string{"s"}, Usage: "no console: run until SIGINT or SIGTERM"},
			&ucli.BoolFlag{Name: "daemonize", Aliases: []string{"d"}, Usage: "run in the background, detached (implies -s)"},
			&ucli.StringFlag{Name: "logfile", Aliases: []string{"l"}, TakesFile: true, Usage: "write the DHT logs to `FILE` (implies -v)"},
			&ucli.BoolFlag{Name: "syslog", Aliases: []string{"L"}, Usage: "send the DHT logs to syslog"},
			&ucli.BoolFlag{Name: "no-rate-limit", Aliases: []string{"U"}, Usage: "no request rate limits and no storage size limit"},
			&ucli.BoolFlag{Name: "public-stable", Aliases: []string{"P"}, Usage: "listens last 5 minutes; no re-bootstrap after a failed search"},
			&ucli.StringFlag{Name: "persist", Aliases: []string{"f"}, TakesFile: true, Usage: "keep the node id and known nodes in `FILE` (OpenDHT's state file) across restarts"},
			&ucli.UintFlag{Name: "nodes", Value: 1, Usage: "run `N` nodes in this process, bootstrapped to each other"},
			&ucli.BoolFlag{Name: "json", Usage: "console: ll prints JSON"},
		},
	}.App()
	app.Flags = append(app.Flags, proxyFlags()...)
	app.Flags = append(app.Flags, identityFlags()...)
	app.Flags = append(app.Flags, unsupportedFlags()...)
	app.Action = run
	app.ArgsUsage = " "
	return app
}

// envDaemon marks the detached child of -d.
const envDaemon = "DHTNODE_DAEMONIZED"

type options struct {
	cfg       dht.Config
	persist   string
	count     int
	service   bool
	bootstrap []string
	jsonLL    bool
}

// unsupportedFlags are OpenDHT dhtnode options this one does not have
// (yet): hidden, they give a clear error instead of "flag provided but not
// defined". -O does nothing in OpenDHT either and is accepted.
func unsupportedFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.BoolFlag{Name: "peer-discovery", Aliases: []string{"D"}, Hidden: true},
		&ucli.StringFlag{Name: "proxyserverssl", Hidden: true},
		&ucli.StringFlag{Name: "proxyclient", Hidden: true},
		&ucli.StringFlag{Name: "pushserver", Hidden: true},
		&ucli.BoolFlag{Name: "O", Hidden: true},
	}
}

var unsupported = map[string]string{
	"peer-discovery": "-D: LAN peer discovery is not supported",
	"proxyserverssl": "--proxyserverssl: the HTTPS proxy is not supported (use --proxyserver behind a TLS proxy)",
	"proxyclient":    "--proxyclient: not supported (jami-dht --proxy URL is the proxy client)",
	"pushserver":     "--pushserver: push notifications are not supported",
}

func parseOptions(c *ucli.Context) (options, error) {
	var o options
	if err := cli.NArgs(c, 0, 0); err != nil {
		return o, err
	}
	for name, msg := range unsupported {
		if c.IsSet(name) {
			return o, cli.UsageErrorf("%s", msg)
		}
	}
	port := c.Uint("port")
	if port > 65535 {
		return o, cli.UsageErrorf("--port %d: not a UDP port", port)
	}
	netID, err := strconv.ParseUint(strings.TrimSpace(c.String("net")), 0, 32)
	if err != nil {
		return o, cli.UsageErrorf("--net %q: not a 32-bit network id", c.String("net"))
	}
	o.count = int(c.Uint("nodes"))
	if o.count < 1 || o.count > 1024 {
		return o, cli.UsageErrorf("--nodes %d: want 1 to 1024", c.Uint("nodes"))
	}
	if port != 0 && int(port)+o.count-1 > 65535 {
		return o, cli.UsageErrorf("--nodes %d from port %d: past port 65535", o.count, port)
	}
	for _, b := range c.StringSlice("bootstrap") {
		// getopt leaves the "=" of "-b=host" in the value; dhtnode drops it.
		b = strings.TrimPrefix(b, "=")
		if b == "" {
			return o, cli.UsageErrorf("--bootstrap: empty address")
		}
		o.bootstrap = append(o.bootstrap, b)
	}
	o.cfg = dht.Config{
		Port:         uint16(port),
		Network:      uint32(netID),
		NoRateLimit:  c.Bool("no-rate-limit"),
		PublicStable: c.Bool("public-stable"),
	}
	o.service = c.Bool("service") || c.Bool("daemonize")
	o.persist = c.String("persist")
	o.jsonLL = c.Bool("json")
	return o, nil
}

func run(c *ucli.Context) error {
	o, err := parseOptions(c)
	if err != nil {
		return err
	}
	if c.Bool("daemonize") && os.Getenv(envDaemon) == "" {
		return daemonize()
	}
	logs, closeLog, err := newLogControl(c)
	if err != nil {
		return err
	}
	defer closeLog()
	o.cfg.Logger = logs.logger()
	if o.persist != "" {
		if err := loadState(o.persist, &o.cfg); err != nil {
			return err
		}
	}
	id, err := loadIdentity(c)
	if err != nil {
		return err
	}
	if id != nil && o.cfg.ID.IsZero() {
		// SecureDht::getConfig: an identity names the node, unless an id
		// is configured (here: restored by -f).
		o.cfg.ID = id.NodeID()
	}

	proxies, err := listenProxyFlag(c, logs.logger())
	if err != nil {
		return err
	}
	defer proxies.close()
	net, err := startNetwork(c.Context, o.cfg, o.count, o.bootstrap, logs.logger())
	if err != nil && o.persist != "" && c.Uint("port") == 0 && o.cfg.Port != 0 {
		// The port saved last time is taken: any port will do.
		o.cfg.Port = 0
		net, err = startNetwork(c.Context, o.cfg, o.count, o.bootstrap, logs.logger())
	}
	if err != nil {
		return err
	}
	defer net.close()
	sec := secure.New(net.nodes[0], id, secure.Options{Logger: logs.logger()})
	announce(c.Context, sec, logs.logger())
	net.proxies = proxies
	if err := proxies.serve(net.nodes[0], id); err != nil {
		return err
	}
	if o.persist != "" {
		defer func() {
			if err := saveState(o.persist, net.nodes[0]); err != nil {
				fmt.Fprintf(cli.Stderr(c), "dhtnode: saving the state: %v\n", err)
			}
		}()
	}
	out := cli.Stdout(c)
	for _, b := range o.bootstrap {
		fmt.Fprintf(out, "Bootstrap: %s\n", b)
	}
	if o.service {
		// OpenDHT's service mode prints nothing more; the ports are worth
		// knowing when they were picked at random.
		for _, n := range net.nodes {
			fmt.Fprintln(out, nodeInfoLine(n.ID(), n.Addr4(), n.Addr6()))
		}
		fmt.Fprint(out, publicKeyLine(sec))
		<-c.Context.Done()
		return nil
	}
	stdin := cli.Stdin(c)
	tty := false
	if f, ok := stdin.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	con := newConsole(net, out, cli.Stderr(c), logs, tty, o.jsonLL)
	con.sec = sec
	con.run(c.Context, stdin)
	return nil
}

// daemonize is -d: Go cannot fork, so the program starts itself again
// in a new session, detached from the terminal, and returns at once.
func daemonize() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("daemonize: %w", err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("daemonize: %w", err)
	}
	defer null.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), envDaemon+"=1")
	// The working folder stays: relative -f and -l paths keep their meaning.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("daemonize: %w", err)
	}
	return cmd.Process.Release()
}

// network is the nodes of this process; nodes[0] is the one the console
// drives and -b bootstraps.
type network struct {
	nodes     []*dht.Node
	bootstrap []string
	proxies   *proxyServers // REST proxies on nodes[0] (proxyserver.go)
}

func (nw *network) close() {
	if nw.proxies != nil {
		nw.proxies.close() // before the node they serve
	}
	var wg sync.WaitGroup
	for _, n := range nw.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.Close() }()
	}
	wg.Wait()
}

// loopback returns the address a local node is reached at: the loopback
// address of the family, with the port it bound.
func loopback(a netip.AddrPort, v6 bool) netip.AddrPort {
	if v6 {
		return netip.AddrPortFrom(netip.IPv6Loopback(), a.Port())
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), a.Port())
}

// startNetwork starts count nodes. The first bootstraps from hosts;
// the others from the first, which then pings each of them back, so
// that it knows them as good nodes and hands them out in its replies:
// searches from any node then converge at once.
func startNetwork(ctx context.Context, base dht.Config, count int, hosts []string, log *slog.Logger) (*network, error) {
	nw := &network{bootstrap: hosts}
	for i := 0; i < count; i++ {
		cfg := base
		if base.Port != 0 {
			cfg.Port = base.Port + uint16(i)
		}
		if i == 0 {
			cfg.Bootstrap = hosts
		} else {
			first := nw.nodes[0]
			// The node id (from -f or an identity) is the first node's;
			// the others get random ones.
			cfg.ID = [20]byte{}
			cfg.Bootstrap = nil
			if first.Addr4().IsValid() {
				cfg.Bootstrap = append(cfg.Bootstrap, loopback(first.Addr4(), false).String())
			}
			if first.Addr6().IsValid() {
				cfg.Bootstrap = append(cfg.Bootstrap, loopback(first.Addr6(), true).String())
			}
		}
		n, err := dht.New(cfg)
		if err != nil {
			nw.close()
			if count > 1 {
				return nil, fmt.Errorf("node %d of %d (port %d): %w", i+1, count, cfg.Port, err)
			}
			return nil, err
		}
		nw.nodes = append(nw.nodes, n)
	}
	if count == 1 {
		return nw, nil
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	first := nw.nodes[0]
	for _, n := range nw.nodes[1:] {
		for _, v6 := range []bool{false, true} {
			a, mine := n.Addr4(), first.Addr4()
			if v6 {
				a, mine = n.Addr6(), first.Addr6()
			}
			if !a.IsValid() || !mine.IsValid() {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := first.Ping(pctx, loopback(a, v6)); err != nil && !errors.Is(err, context.Canceled) {
					log.Debug("local node did not answer", "addr", loopback(a, v6), "err", err)
				}
			}()
		}
	}
	wg.Wait()
	return nw, nil
}

// logControl is the DHT log switch: on with -v (or -l/-L), toggled by the
// console's "log", optionally narrowed to records that mention one hash.
type logControl struct {
	level  slog.LevelVar
	on     bool
	mu     sync.Mutex
	filter string
	h      slog.Handler
}

// logOff is above every level the engine uses.
const logOff = slog.Level(100)

func newLogControl(c *ucli.Context) (*logControl, func(), error) {
	lc := &logControl{}
	var w io.Writer = cli.Stderr(c)
	closer := func() {}
	switch {
	case c.Bool("syslog"):
		sw, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "dhtnode")
		if err != nil {
			return nil, nil, fmt.Errorf("syslog: %w", err)
		}
		w, closer = sw, func() { sw.Close() }
	case c.String("logfile") != "":
		f, err := os.OpenFile(c.String("logfile"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, err
		}
		w, closer = f, func() { f.Close() }
	}
	lc.h = slog.NewTextHandler(w, &slog.HandlerOptions{Level: &lc.level})
	lc.set(cli.Verbose(c) || c.Bool("syslog") || c.String("logfile") != "", "")
	return lc, closer, nil
}

func (lc *logControl) set(on bool, filter string) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.on, lc.filter = on, filter
	if on {
		lc.level.Set(slog.LevelDebug)
	} else {
		lc.level.Set(logOff)
	}
}

func (lc *logControl) toggle(filter string) {
	lc.mu.Lock()
	on := lc.on
	lc.mu.Unlock()
	if filter != "" {
		// "log HASH" turns logging on, narrowed to HASH.
		lc.set(true, filter)
		return
	}
	lc.set(!on, "")
}

func (lc *logControl) logger() *slog.Logger { return slog.New(&filterHandler{lc: lc, h: lc.h}) }

// filterHandler passes the records that mention the filter hash.
type filterHandler struct {
	lc    *logControl
	h     slog.Handler
	attrs string // text of the attributes added by WithAttrs
}

func (f *filterHandler) Enabled(ctx context.Context, l slog.Level) bool { return f.h.Enabled(ctx, l) }

func (f *filterHandler) Handle(ctx context.Context, r slog.Record) error {
	f.lc.mu.Lock()
	filter := f.lc.filter
	f.lc.mu.Unlock()
	if filter != "" {
		var sb strings.Builder
		sb.WriteString(r.Message + f.attrs)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&sb, " %v", a.Value.Any())
			return true
		})
		if !strings.Contains(sb.String(), filter) {
			return nil
		}
	}
	return f.h.Handle(ctx, r)
}

func (f *filterHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var sb strings.Builder
	for _, a := range as {
		fmt.Fprintf(&sb, " %v", a.Value.Any())
	}
	return &filterHandler{lc: f.lc, h: f.h.WithAttrs(as), attrs: f.attrs + sb.String()}
}

func (f *filterHandler) WithGroup(name string) slog.Handler {
	return &filterHandler{lc: f.lc, h: f.h.WithGroup(name), attrs: f.attrs}
}
