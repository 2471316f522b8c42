package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/secure"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

const prompt = ">> "

const helpText = `OpenDHT command line interface (CLI)
Possible commands:
  h, help    Print this help message.
  x, quit    Quit the program.
  log        Start/stop printing DHT logs.

Node information:
  ll         Print basic information and stats about the current node.
  ls [key]   Print basic information about current search(es).
  ld [key]   Print basic information about currenty stored values on this node (or key).
  lr         Print the full current routing table of this node.

Operations with the proxy:
  pst [port]              Start the proxy interface on port.
  psp [port]              Stop the proxy interface on port.

Operations on the DHT:
  b <ip:port>           Ping potential node at given IP address/port.
  g <key>               Get values at <key>.
  l <key>               Listen for value changes at <key>.
  cl <key> <token>      Cancel listen for <token> and <key>.
  p <key> <str>         Put string value at <key>.
  pp <key> <str>        Put string value at <key> (persistent version).
  cpp <key> <id>        Cancel persistent put operation for <key> and value <id>.
  s <key> <str>         Put string value at <key>, signed with our generated private key.
  e <key> <dest> <str>  Put string value at <key>, encrypted for <dest> with its public key (if found).
  cc                    Trigger connectivity changed signal.
`

// console is dhtnode's command loop (cmd_loop in tools/dhtnode.cpp),
// driving the first node of the network.
type console struct {
	net    *network
	n      *dht.Node
	sec    *secure.DHT // the secure layer over n: filters g/l, does s/e
	out    *lockedWriter
	errOut io.Writer
	logs   *logControl
	// async: stdin is a terminal, so operations run in the background and
	// print when they end, letting the user type on (as dhtnode does).
	// Otherwise (a script, a pipe) each operation completes before the next
	// line is read, which makes the output follow the input.
	async bool
	// echo: stdin is not a terminal; readline then prints the line it
	// read after the prompt, and so does this console.
	echo   bool
	jsonLL bool

	ctx     context.Context // the nodes' lifetime: ends at "x" or EOF
	stop    context.CancelFunc
	ops     sync.WaitGroup
	mu      sync.Mutex
	listens map[dht.ListenToken]listenRec
	puts    map[wire.InfoHash]map[uint64]*value.Value
}

type listenRec struct {
	key   wire.InfoHash
	query value.Query
}

// lockedWriter keeps the output of concurrent operations whole, one
// block at a time, and silent once the console stopped.
type lockedWriter struct {
	mu      sync.Mutex
	w       io.Writer
	stopped bool
}

func (l *lockedWriter) print(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		io.WriteString(l.w, s)
	}
}

func (l *lockedWriter) printf(format string, a ...any) { l.print(fmt.Sprintf(format, a...)) }

func newConsole(nw *network, out, errOut io.Writer, logs *logControl, tty, jsonLL bool) *console {
	return &console{
		net: nw, n: nw.nodes[0], sec: secure.New(nw.nodes[0], nil, secure.Options{Logger: logs.logger()}), out: &lockedWriter{w: out}, errOut: errOut, logs: logs,
		async: tty, echo: !tty, jsonLL: jsonLL,
		listens: map[dht.ListenToken]listenRec{},
		puts:    map[wire.InfoHash]map[uint64]*value.Value{},
	}
}

// run prints the banner and executes lines from in until "x", the end of
// in, or ctx (a signal).
func (con *console) run(ctx context.Context, in io.Reader) {
	con.ctx, con.stop = context.WithCancel(ctx)
	defer con.stop()
	for _, n := range con.net.nodes {
		con.out.print(nodeInfoLine(n.ID(), n.Addr4(), n.Addr6()) + "\n")
	}
	con.out.print(publicKeyLine(con.sec))
	con.out.print(" (type 'h' or 'help' for a list of possible commands)\n\n")

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-con.ctx.Done():
				return
			}
		}
	}()
	for {
		con.out.print(prompt)
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-con.ctx.Done():
		}
		if !ok {
			break
		}
		if con.echo {
			con.out.print(line + "\n")
		}
		if !con.exec(line) {
			break
		}
	}
	con.out.print("\nStopping node...\n")
	con.stop()
	con.ops.Wait()
	con.out.mu.Lock()
	con.out.stopped = true
	con.out.mu.Unlock()
}

// next is "istringstream >> string": the next word and what follows it.
func next(s string) (word, rest string) {
	s = strings.TrimLeft(s, " \t\r\n\v\f")
	i := strings.IndexAny(s, " \t\r\n\v\f")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// do runs an operation: in the background on a terminal, else at once.
func (con *console) do(f func()) {
	if !con.async {
		f()
		return
	}
	con.ops.Add(1)
	go func() {
		defer con.ops.Done()
		f()
	}()
}

// done reports an operation cut short by the end of the console: its
// result is not printed.
func (con *console) done() bool { return con.ctx.Err() != nil }

// exec runs one line; false stops the console.
func (con *console) exec(line string) bool {
	op, rest := next(line)
	switch op {
	case "x", "exit", "quit":
		return false
	case "h", "help":
		con.out.print(helpText)
		return true
	case "ll":
		arg, _ := next(rest)
		con.info(con.jsonLL || arg == "--json" || arg == "json")
		return true
	case "lr":
		con.routingTables()
		return true
	case "ld":
		arg, _ := next(rest)
		con.storage(looseHash(arg))
		return true
	case "ls":
		arg, _ := next(rest)
		con.searches(looseHash(arg))
		return true
	case "la":
		in, err := con.n.Info(con.ctx)
		if err != nil {
			return true
		}
		var b strings.Builder
		b.WriteString("Reported public addresses:\n")
		for _, a := range in.PublicAddrs {
			b.WriteString(a.String() + "\n")
		}
		con.out.print(b.String())
		return true
	case "b":
		arg, _ := next(rest)
		if arg == "" {
			fmt.Fprintln(con.errOut, "No service provided. Syntax: b hostname:port")
			return true
		}
		con.bootstrap(arg)
		return true
	case "log":
		arg, _ := next(rest)
		filter := ""
		if h := looseHash(arg); !h.IsZero() {
			filter = h.String()
		}
		con.logs.toggle(filter)
		return true
	case "cc":
		// OpenDHT re-pings its bootstrap nodes and refreshes its searches
		// on a connectivity change; the engine has no such call, so the
		// bootstrap nodes are pinged again.
		con.bootstrap(con.net.bootstrap...)
		return true
	case "pst", "psp":
		con.proxyCommand(op, rest)
		return true
	case "":
		return true
	}
	switch op {
	case "g", "q", "l", "cl", "p", "pp", "cpp", "s", "e":
	default:
		con.out.printf("Unknown command: %s\n (type 'h' or 'help' for a list of possible commands)\n", op)
		return true
	}
	arg, rest := next(rest)
	if arg == "" {
		fmt.Fprintln(con.errOut, "Syntax error: invalid InfoHash.")
		return true
	}
	key := looseHash(arg)
	if key.IsZero() {
		key = wire.InfoHashOf([]byte(arg))
		con.out.printf("Using h(%s) = %s\n", arg, key)
	}
	switch op {
	case "g":
		con.get(key, rest)
	case "q":
		con.query(key, rest)
	case "l":
		con.listen(key, rest)
	case "cl":
		tok, _ := next(rest)
		t, err := strconv.ParseUint(tok, 10, 64)
		if err != nil {
			fmt.Fprintln(con.errOut, "Syntax: cl [key] [token]")
			return true
		}
		con.n.CancelListen(con.ctx, dht.ListenToken(t))
		con.mu.Lock()
		delete(con.listens, dht.ListenToken(t))
		con.mu.Unlock()
	case "p", "pp":
		word, _ := next(rest)
		con.put(key, word, op == "pp")
	case "cpp":
		tok, _ := next(rest)
		id, err := strconv.ParseUint(tok, 16, 64)
		if err != nil {
			fmt.Fprintln(con.errOut, "Syntax: cpp [key] [value id in hexadecimal]")
			return true
		}
		con.n.CancelPut(con.ctx, key, id)
	case "s":
		word, _ := next(rest)
		con.putSigned(key, word)
	case "e":
		con.putEncrypted(key, rest)
	}
	return true
}

func (con *console) bootstrap(hosts ...string) {
	if len(hosts) == 0 {
		return
	}
	// Nothing is printed, as in dhtnode: "ll" and "lr" show the outcome.
	con.ops.Add(1)
	go func() {
		defer con.ops.Done()
		ctx, cancel := context.WithTimeout(con.ctx, 30*time.Second)
		defer cancel()
		if err := con.n.Bootstrap(ctx, hosts...); err != nil && !con.done() {
			con.logs.logger().Warn("bootstrap failed", "hosts", hosts, "err", err)
		}
	}()
}

func (con *console) get(key wire.InfoHash, rest string) {
	where, err := value.ParseWhere(rest)
	if err != nil {
		fmt.Fprintln(con.errOut, err)
		return
	}
	con.do(func() {
		start, total := time.Now(), 0
		err := con.sec.GetFunc(con.ctx, key, &value.Query{Where: where}, func(vals []secure.Result) bool {
			total += len(vals)
			var b strings.Builder
			fmt.Fprintf(&b, "Get: found %d value(s) after %s (total %d)\n", len(vals), printDuration(time.Since(start)), total)
			for _, r := range vals {
				b.WriteString("\t" + r.Value.String() + "\n")
			}
			con.out.print(b.String())
			return true
		})
		if con.done() {
			return
		}
		con.out.printf("Get: %s, took %s (total %d)\n", outcome(err, "completed"), printDuration(time.Since(start)), total)
	})
}

func outcome(err error, ok string) string {
	if err != nil {
		return "failure"
	}
	return ok
}

func (con *console) query(key wire.InfoHash, rest string) {
	q, err := value.ParseQuery(rest)
	if err != nil {
		fmt.Fprintln(con.errOut, err)
		return
	}
	con.do(func() {
		start := time.Now()
		err := con.n.Query(con.ctx, key, q, func(rows []value.FieldIndex) bool {
			var b strings.Builder
			for _, r := range rows {
				fmt.Fprintf(&b, "Query: found field value index after %s\n\t%s\n", printDuration(time.Since(start)), r)
			}
			con.out.print(b.String())
			return true
		})
		if con.done() {
			return
		}
		con.out.printf("Query: %s, took %s\n", outcome(err, "completed"), printDuration(time.Since(start)))
	})
}

func (con *console) listen(key wire.InfoHash, rest string) {
	where, err := value.ParseWhere(rest)
	if err != nil {
		fmt.Fprintln(con.errOut, err)
		return
	}
	total := 0
	tok, err := con.sec.Listen(con.ctx, key, &where, func(vals []secure.Result, expired bool) bool {
		var b strings.Builder
		if expired {
			total -= len(vals)
			fmt.Fprintf(&b, "Listen: found %d values expired (total %d)\n", len(vals), total)
		} else {
			total += len(vals)
			fmt.Fprintf(&b, "Listen: found %d values (total %d)\n", len(vals), total)
		}
		for _, r := range vals {
			b.WriteString("\t" + r.Value.String() + "\n")
		}
		con.out.print(b.String())
		return true
	})
	if err != nil {
		if !con.done() {
			fmt.Fprintln(con.errOut, "listen:", err)
		}
		return
	}
	con.mu.Lock()
	con.listens[tok] = listenRec{key: key, query: value.Query{Where: where}}
	con.mu.Unlock()
	con.out.printf("Listening, token: %d\n", tok)
}

func (con *console) put(key wire.InfoHash, word string, permanent bool) {
	v := &value.Value{Type: value.TypeUserData, Data: []byte(word), UserType: "text/plain"}
	con.do(func() {
		start := time.Now()
		err := con.n.Put(con.ctx, key, v, dht.PutOptions{Permanent: permanent})
		con.mu.Lock()
		if con.puts[key] == nil {
			con.puts[key] = map[uint64]*value.Value{}
		}
		con.puts[key][v.ID] = v
		con.mu.Unlock()
		if con.done() {
			return
		}
		con.out.printf("Put: %s, took %s. Value ID: %x\n", outcome(err, "success"), printDuration(time.Since(start)), v.ID)
	})
}

func (con *console) info(asJSON bool) {
	in, err := con.n.Info(con.ctx)
	if err != nil {
		return
	}
	if asJSON {
		b, _ := json.Marshal(statusOf(in, con.net))
		con.out.print(string(b) + "\n")
		return
	}
	s := withPublicKeyLine(infoText(in, con.n.Addr4(), con.n.Addr6()), con.sec)
	if len(con.net.nodes) > 1 {
		ports := make([]string, len(con.net.nodes))
		for i, n := range con.net.nodes {
			ports[i] = strconv.Itoa(int(n.Addr4().Port()))
		}
		s += fmt.Sprintf("Local network: %d nodes, ports %s\n", len(con.net.nodes), strings.Join(ports, " "))
	}
	s += con.net.proxies.statsText()
	con.out.print(s)
}

func (con *console) routingTables() {
	var b strings.Builder
	for _, v6 := range []bool{false, true} {
		buckets, err := con.n.RoutingTable(con.ctx, v6)
		if err != nil {
			return
		}
		if v6 {
			b.WriteString("IPv6 routing table:\n")
		} else {
			b.WriteString("IPv4 routing table:\n")
		}
		b.WriteString(bucketsText(time.Now(), buckets) + "\n")
	}
	con.out.print(b.String())
}

func (con *console) storage(key wire.InfoHash) {
	st, err := con.n.Storage(con.ctx)
	if err != nil {
		return
	}
	if key.IsZero() {
		con.out.print(storageText(st) + "\n")
		return
	}
	for _, k := range st.Keys {
		if k.Key == key {
			con.out.print(storageKeyText(k) + "\n")
			return
		}
	}
	con.out.printf("Storage %s empty\n\n", key)
}

func (con *console) searches(key wire.InfoHash) {
	srs, err := con.n.Searches(con.ctx)
	if err != nil {
		return
	}
	known := map[bool]map[wire.InfoHash]bool{}
	for _, v6 := range []bool{false, true} {
		known[v6] = map[wire.InfoHash]bool{}
		buckets, err := con.n.RoutingTable(con.ctx, v6)
		if err != nil {
			return
		}
		for _, b := range buckets {
			for _, n := range b.Nodes {
				known[v6][n.ID] = true
			}
		}
	}
	if key.IsZero() {
		con.out.print(searchesText(srs, known, con.extra) + "\n")
		return
	}
	var b strings.Builder
	for _, v6 := range []bool{false, true} {
		for _, s := range srs {
			if s.Key == key && s.IPv6 == v6 {
				b.WriteString(searchText(s, known[v6], con.extra(s)))
			}
		}
	}
	con.out.print(b.String() + "\n")
}

// extra is what the console knows of a search: its own puts and listens.
func (con *console) extra(s dht.SearchInfo) searchExtra {
	con.mu.Lock()
	defer con.mu.Unlock()
	x := searchExtra{values: con.puts[s.Key]}
	if s.Listens > 0 {
		for _, l := range con.listens {
			if l.key == s.Key {
				x.queries = append(x.queries, l.query)
			}
		}
	}
	return x
}

// statusJSON is "ll --json".
type statusJSON struct {
	NodeID          string            `json:"node_id"`
	IPv4Port        uint16            `json:"ipv4_port"`
	IPv6Port        uint16            `json:"ipv6_port"`
	OngoingOps      int               `json:"ongoing_ops"`
	StorageKeys     int               `json:"storage_keys"`
	StorageValues   int               `json:"storage_values"`
	StorageBytes    int64             `json:"storage_bytes"`
	IPv4            familyJSON        `json:"ipv4"`
	IPv6            familyJSON        `json:"ipv6"`
	PublicAddresses []string          `json:"public_addresses"`
	LocalNodes      []localJSON       `json:"local_nodes"`
	Dropped         droppedJSON       `json:"dropped"`
	Received        map[string]uint64 `json:"received"`
	Sent            map[string]uint64 `json:"sent"`
}

type familyJSON struct {
	Status                string `json:"status"`
	Good                  int    `json:"good"`
	Dubious               int    `json:"dubious"`
	Incoming              int    `json:"incoming"`
	Searches              int    `json:"searches"`
	CachedNodes           int    `json:"cached_nodes"`
	TableDepth            int    `json:"table_depth"`
	NetworkSizeEstimation int    `json:"network_size_estimation"`
}

type localJSON struct {
	NodeID   string `json:"node_id"`
	IPv4Port uint16 `json:"ipv4_port"`
	IPv6Port uint16 `json:"ipv6_port"`
}

type droppedJSON struct {
	Late        uint64 `json:"late"`
	RateLimited uint64 `json:"rate_limited"`
	Blacklisted int    `json:"blacklisted_addresses"`
}

func familyOf(f dht.FamilyInfo) familyJSON {
	return familyJSON{Status: strings.ToLower(f.Status.String()), Good: f.Good, Dubious: f.Dubious, Incoming: f.Incoming,
		Searches: f.Searches, CachedNodes: f.NodeCache, TableDepth: f.TableDepth, NetworkSizeEstimation: f.NetworkSize}
}

func statusOf(in dht.Info, nw *network) statusJSON {
	s := statusJSON{
		NodeID: in.ID.String(), IPv4Port: nw.nodes[0].Addr4().Port(), IPv6Port: nw.nodes[0].Addr6().Port(),
		OngoingOps: in.Ops, StorageKeys: in.StoredKeys, StorageValues: in.StoredValues, StorageBytes: in.StoredBytes,
		IPv4: familyOf(in.IPv4), IPv6: familyOf(in.IPv6), PublicAddresses: []string{},
		Dropped:  droppedJSON{Late: in.RxDropped, RateLimited: in.RateDropped, Blacklisted: in.Blacklisted},
		Received: in.Received, Sent: in.Sent,
	}
	for _, a := range in.PublicAddrs {
		s.PublicAddresses = append(s.PublicAddresses, a.String())
	}
	for _, n := range nw.nodes {
		s.LocalNodes = append(s.LocalNodes, localJSON{NodeID: n.ID().String(), IPv4Port: n.Addr4().Port(), IPv6Port: n.Addr6().Port()})
	}
	return s
}
