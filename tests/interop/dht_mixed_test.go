package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
	"github.com/jamikit/jamikit/tests/toolbin"
)

// Mixed networks (issue 3, interop points 3 to 5): N nodes of ours in one
// `dhtnode --nodes N` process, M Debian dhtnodes (one process each, as
// OpenDHT is deployed) and two python3-opendht runners. Our first node is
// the only bootstrap any real peer is given, so the real nodes find each
// other only through ours.
//
// One process for our nodes is as faithful as N processes on the wire:
// every node of `--nodes` has its own UDP sockets and node id and reaches
// the others only through loopback datagrams (cmd/dhtnode startNetwork);
// nothing is shared but the Go runtime (the one difference: at start the
// first node pings the others back, so it knows them as good at once,
// where separate processes are confirmed by the usual upkeep). It costs
// one process instead of N on a machine where CPU is scarce, so most
// networks here use it; the 5+15 one runs ours one process each, as
// OpenDHT's are deployed, to show both forms interoperate.

// mixedNet is one mixed network on 127.0.0.1.
type mixedNet struct {
	ours     []string          // our nodes' HOST:PORT, ours[0] the bootstrap
	oursIDs  map[string]string // node id -> HOST:PORT of ours
	theirs   []string          // the Debian dhtnodes' HOST:PORT; theirs[0] has a console
	theirIDs map[string]string
	console  *mxConsole
	py       *mxPython
}

// startMixedNet starts nOurs nodes of ours and nTheirs Debian dhtnodes.
// Ours run in one `dhtnode --nodes` process, or with separate, one
// process each (the first the bootstrap of the others), as OpenDHT's.
func startMixedNet(ctx context.Context, t *testing.T, nOurs, nTheirs int, separate bool) *mixedNet {
	t.Helper()
	base := freePorts(t, nOurs+nTheirs)
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	ours, err := toolbin.Path("dhtnode")
	if err != nil {
		t.Fatal(err)
	}
	nw := &mixedNet{oursIDs: map[string]string{}, theirIDs: map[string]string{}}
	var outs []*lockedBuf
	if separate {
		outs = append(outs, mxStart(t, ours, "-s", "-p", strconv.Itoa(base)))
		for p := base + 1; p < base+nOurs; p++ {
			outs = append(outs, mxStart(t, ours, "-s", "-p", strconv.Itoa(p), "-b", addr(base)))
		}
	} else {
		outs = append(outs, mxStart(t, ours, "-s", "--nodes", strconv.Itoa(nOurs), "-p", strconv.Itoa(base)))
	}
	// Service mode prints one banner per node once all of them are up.
	banner := regexp.MustCompile(`(?m)^OpenDHT node ([0-9a-f]{40}) running on port (\d+)$`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var m [][]string
		for _, out := range outs {
			m = append(m, banner.FindAllStringSubmatch(out.String(), -1)...)
		}
		if len(m) == nOurs {
			for _, b := range m {
				p, _ := strconv.Atoi(b[2])
				nw.ours = append(nw.ours, addr(p))
				nw.oursIDs[b[1]] = addr(p)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("our dhtnode: %d of %d banners after 60 s", len(m), nOurs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	boot := nw.ours[0]
	first := base + nOurs
	// theirs[0] keeps a console (no -s): the tests drive it through stdin.
	nw.console = startConsole(t, "-p", strconv.Itoa(first), "-b", boot)
	nw.theirs = append(nw.theirs, addr(first))
	for p := first + 1; p < first+nTheirs; p++ {
		mxStart(t, realDhtnode, "-s", "-p", strconv.Itoa(p), "-b", boot)
		nw.theirs = append(nw.theirs, addr(p))
	}
	// Every real node answers before the tests start; their ids come with
	// the answers.
	probe, err := dht.New(dht.Config{BindIPv4: netip.MustParseAddr("127.0.0.1"), NoIPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	for _, a := range nw.theirs {
		id := mxPing(ctx, t, probe, a)
		nw.theirIDs[id.String()] = a
	}
	nw.py = startMxPython(t, boot, 2)
	nw.settle(t)
	return nw
}

// settle waits (40 s at most) until the real peers the tests talk to know
// enough good nodes: the console dhtnode and both python runners, whose
// only bootstrap is our first node, at least 8 each (a bucket's worth).
// Just after start they know only the bootstrap and what its first
// answers named: a fresh python runner was seen to miss a value stored
// seconds earlier, its searches not reaching the storing nodes yet.
func (nw *mixedNet) settle(t *testing.T) {
	t.Helper()
	want := min(8, len(nw.ours)+len(nw.theirs)-1)
	countGood := func(lines []string) int {
		n := 0
		for _, l := range lines {
			if strings.HasSuffix(l, " [good]") {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(40 * time.Second)
	for {
		counts := []int{countGood(nw.console.routingTables()), countGood(nw.py.routingTables(0)), countGood(nw.py.routingTables(1))}
		if slices.Min(counts) >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 40 s the real console and python runners know %v good nodes, want %d each", counts, want)
		}
		time.Sleep(time.Second)
	}
}

// mxPing pings addr until it answers (a process just started may not
// have bound its port yet), for at most 30 s.
func mxPing(ctx context.Context, t *testing.T, n *dht.Node, addr string) wire.InfoHash {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		id, err := n.Ping(pctx, ap)
		cancel()
		if err == nil {
			return id
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s does not answer pings: %v", addr, err)
		}
	}
}

// mxStart runs a node process until the test ends (SIGTERM by PID, then
// SIGKILL), showing its output when the test failed.
func mxStart(t *testing.T, name string, args ...string) *lockedBuf {
	t.Helper()
	cmd := exec.Command(name, args...)
	out := &lockedBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s %s output:\n%s", name, strings.Join(args, " "), out.String())
		}
	})
	return out
}

// mxConsole is a Debian dhtnode driven through its console.
type mxConsole struct {
	t      *testing.T
	id     string
	port   string
	stdin  io.WriteCloser
	cmd    chan string // output lines, prompts stripped, listen events apart
	listen chan string // the value lines of "Listen: found" events
	log    *lockedBuf
}

func startConsole(t *testing.T, args ...string) *mxConsole {
	t.Helper()
	return startConsoleOf(t, realDhtnode, args...)
}

// startConsoleOf runs a dhtnode (the real one or ours) with its console.
func startConsoleOf(t *testing.T, path string, args ...string) *mxConsole {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &mxConsole{t: t, stdin: stdin, cmd: make(chan string, 4096), listen: make(chan string, 4096), log: &lockedBuf{}}
	go func() {
		defer close(c.cmd)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		inListen := false
		for sc.Scan() {
			l := sc.Text()
			fmt.Fprintln(c.log, l)
			for strings.HasPrefix(l, ">> ") {
				l = l[3:]
			}
			// A listen event (its header, then one tab-indented line per
			// value) may come between the lines of a command's answer.
			switch {
			case strings.HasPrefix(l, "Listen: found"):
				inListen = true
				continue
			case inListen && strings.HasPrefix(l, "\t"):
				c.listen <- l[1:]
				continue
			}
			inListen = false
			c.cmd <- l
		}
	}()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		stdin.Close() // dhtnode without -s stops at the end of its input
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("real dhtnode console %s:\n%s", strings.Join(args, " "), c.log.String())
		}
	})
	l := c.waitLine("the banner", func(l string) bool { return strings.HasPrefix(l, "OpenDHT node ") })
	f := strings.Fields(l) // OpenDHT node ID running on port PORT
	c.id, c.port = f[2], f[len(f)-1]
	return c
}

// consoleEnd is a key no node stores: "ld" of it prints one known line
// ("Storage KEY empty"), which marks the end of the output before it.
const consoleEnd = "00000000000000000000000000000000000000e1"

// block sends a listing command (ls, ld, lr) and returns its lines.
func (c *mxConsole) block(command string) []string {
	c.t.Helper()
	c.send(command)
	c.send("ld " + consoleEnd)
	var lines []string
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-c.cmd:
			if !ok {
				c.t.Fatalf("dhtnode exited during %q", command)
			}
			if l == "Storage "+consoleEnd+" empty" {
				return lines
			}
			lines = append(lines, l)
		case <-timeout:
			c.t.Fatalf("dhtnode: %q did not end within 60 s", command)
		}
	}
}

func (c *mxConsole) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		c.t.Fatalf("dhtnode console: %v", err)
	}
}

// waitLine returns the first command output line satisfying f (60 s at most).
func (c *mxConsole) waitLine(what string, f func(string) bool) string {
	c.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-c.cmd:
			if !ok {
				c.t.Fatalf("the real dhtnode exited while waiting for %s", what)
			}
			if f(l) {
				return l
			}
		case <-timeout:
			c.t.Fatalf("the real dhtnode: no %s within 60 s", what)
		}
	}
}

// run sends a g or q command and returns the tab-indented result lines
// (values or field indexes) printed until the operation completed.
func (c *mxConsole) run(command, op string) []string {
	c.t.Helper()
	c.send(command)
	var rows []string
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-c.cmd:
			switch {
			case !ok:
				c.t.Fatalf("the real dhtnode exited during %q", command)
			case strings.HasPrefix(l, "\t"):
				rows = append(rows, l[1:])
			case strings.HasPrefix(l, op+": completed"):
				return rows
			case strings.HasPrefix(l, op+": failure"):
				c.t.Fatalf("the real dhtnode: %q: %s", command, l)
			}
		case <-timeout:
			c.t.Fatalf("the real dhtnode: %q did not complete within 60 s", command)
		}
	}
}

// waitListen waits for a listen event line containing want.
func (c *mxConsole) waitListen(want string) {
	c.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l := <-c.listen:
			if strings.Contains(l, want) {
				return
			}
		case <-timeout:
			c.t.Fatalf("the real dhtnode's listen: no %s within 60 s", want)
		}
	}
}

// routingTables sends lr and returns its node lines.
func (c *mxConsole) routingTables() []string {
	c.t.Helper()
	var nodes []string
	for _, l := range c.block("lr") {
		if strings.HasPrefix(l, "    Node ") {
			nodes = append(nodes, l)
		}
	}
	return nodes
}

// mxPythonScript hosts several python3-opendht DhtRunners, one JSON
// command per stdin line, one JSON answer per stdout line (with the
// command's tag); listen events come as {"op": "event", "tag": ...}.
const mxPythonScript = `import sys, json, base64, threading, time, socket
import opendht as dht
boot, count = sys.argv[1], int(sys.argv[2])
host, port = boot.rsplit(":", 1)
rs = []
for i in range(count):
    r = dht.DhtRunner()
    # A fresh DhtConfig each time: the binding's default one is shared.
    r.run(ipv4="127.0.0.1", port=0, config=dht.DhtConfig())
    r.bootstrap(host, port)
    rs.append(r)
lock = threading.Lock()
def emit(o):
    with lock:
        sys.stdout.write(json.dumps(o) + "\n")
        sys.stdout.flush()
def vj(v):
    return {"id": v.id, "data": base64.b64encode(bytes(v.data)).decode(), "utype": v.user_type}
emit({"op": "ready", "ids": [r.getNodeId().decode() for r in rs]})
for line in sys.stdin:
    c = json.loads(line)
    op, tag, r = c["op"], c.get("tag", ""), rs[c.get("r", 0)]
    key = dht.InfoHash(c.get("key", "0" * 40).encode())
    if op == "put":
        v = dht.Value(base64.b64decode(c["data"]), c.get("type", 0))
        if c.get("id"):
            v.id = c["id"]
        if c.get("utype"):
            v.user_type = c["utype"]
        ok = r.put(key, v)
        emit({"op": "put", "tag": tag, "ok": ok, "id": v.id})
    elif op == "get":
        where = dht.Where(c["where"]) if c.get("where") else None
        # A runner's first searches may end before its routing table has
        # filled (an empty answer, the values found a moment later, seen
        # under load): a few retries, bounded, only while nothing came.
        for attempt in range(6):
            vals = r.get(key, where=where) if where else r.get(key)
            if vals:
                break
            time.sleep(1)
        emit({"op": "get", "tag": tag, "values": [vj(v) for v in vals]})
    elif op == "lr":
        emit({"op": "lr", "tag": tag, "text": r.getRoutingTablesLog(socket.AF_INET) + r.getRoutingTablesLog(socket.AF_INET6)})
        continue
    elif op == "listen":
        def cb(v, expired, tag=tag):
            e = vj(v); e["op"] = "event"; e["tag"] = tag; e["expired"] = expired
            emit(e)
            return True
        r.listen(key, cb)
        emit({"op": "listen", "tag": tag})
for r in rs:
    r.join()
`

type mxPyValue struct {
	Op      string `json:"op"`
	Tag     string `json:"tag"`
	ID      uint64 `json:"id"`
	Data    []byte `json:"data"`
	UType   string `json:"utype"`
	Expired bool   `json:"expired"`
}

type mxPyAnswer struct {
	Op     string      `json:"op"`
	Tag    string      `json:"tag"`
	OK     bool        `json:"ok"`
	ID     uint64      `json:"id"`
	Values []mxPyValue `json:"values"`
	IDs    []string    `json:"ids"`
	Text   string      `json:"text"`
}

// mxPython is the python3-opendht process.
type mxPython struct {
	t       *testing.T
	mu      sync.Mutex // one command at a time
	stdin   io.WriteCloser
	answers chan mxPyAnswer
	events  chan mxPyValue
	ids     []string
	seq     int
}

func startMxPython(t *testing.T, boot string, runners int) *mxPython {
	t.Helper()
	script := filepath.Join(t.TempDir(), "runners.py")
	if err := os.WriteFile(script, []byte(mxPythonScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(systemPython, script, boot, strconv.Itoa(runners))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuf{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &mxPython{t: t, stdin: stdin, answers: make(chan mxPyAnswer, 64), events: make(chan mxPyValue, 4096)}
	go func() {
		defer close(p.answers)
		dec := json.NewDecoder(stdout)
		for {
			var raw json.RawMessage
			if dec.Decode(&raw) != nil {
				return
			}
			var ev mxPyValue
			if json.Unmarshal(raw, &ev) == nil && ev.Op == "event" {
				p.events <- ev
				continue
			}
			var a mxPyAnswer
			if json.Unmarshal(raw, &a) == nil {
				p.answers <- a
			}
		}
	}()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		stdin.Close() // the script joins its runners at the end of its input
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("python3-opendht stderr:\n%s", stderr.String())
		}
	})
	ready := p.wait("ready", "")
	p.ids = ready.IDs
	return p
}

func (p *mxPython) wait(op, tag string) mxPyAnswer {
	p.t.Helper()
	timeout := time.After(90 * time.Second)
	for {
		select {
		case a, ok := <-p.answers:
			if !ok {
				p.t.Fatalf("python3-opendht exited while waiting for %s", op)
			}
			if a.Op == op && a.Tag == tag {
				return a
			}
		case <-timeout:
			p.t.Fatalf("python3-opendht: no %s answer within 90 s", op)
		}
	}
}

// do sends one command and waits for its answer.
func (p *mxPython) do(c map[string]any) mxPyAnswer {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	tag := strconv.Itoa(p.seq)
	if c["tag"] != nil {
		tag = c["tag"].(string)
	}
	c["tag"] = tag
	b, _ := json.Marshal(c)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("python3-opendht: %v", err)
	}
	return p.wait(c["op"].(string), tag)
}

func (p *mxPython) put(runner int, key wire.InfoHash, data []byte, typ uint16, id uint64, utype string) uint64 {
	p.t.Helper()
	a := p.do(map[string]any{"op": "put", "r": runner, "key": key.String(),
		"data": base64.StdEncoding.EncodeToString(data), "type": typ, "id": id, "utype": utype})
	if !a.OK {
		p.t.Fatalf("python3-opendht runner %d: put at %s failed", runner, key)
	}
	return a.ID
}

func (p *mxPython) get(runner int, key wire.InfoHash, where string) []mxPyValue {
	p.t.Helper()
	return p.do(map[string]any{"op": "get", "r": runner, "key": key.String(), "where": where}).Values
}

func (p *mxPython) listen(runner int, key wire.InfoHash, tag string) {
	p.t.Helper()
	p.do(map[string]any{"op": "listen", "r": runner, "key": key.String(), "tag": tag})
}

// routingTables returns the node lines of a runner's routing tables
// (Dht::getRoutingTablesLog, the text of dhtnode's lr).
func (p *mxPython) routingTables(runner int) []string {
	p.t.Helper()
	var nodes []string
	for _, l := range strings.Split(p.do(map[string]any{"op": "lr", "r": runner}).Text, "\n") {
		if strings.HasPrefix(l, "    Node ") {
			nodes = append(nodes, l)
		}
	}
	return nodes
}

// waitEvent waits for a listen event of tag for value id.
func (p *mxPython) waitEvent(tag string, id uint64) mxPyValue {
	p.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev := <-p.events:
			if ev.Tag == tag && ev.ID == id && !ev.Expired {
				return ev
			}
		case <-timeout:
			p.t.Fatalf("python3-opendht listen %s: value %x not told within 60 s", tag, id)
		}
	}
}

// mxKey is a fresh key: the real nodes of an earlier run may still hold
// values at fixed ones.
func mxKey(name string) wire.InfoHash {
	return wire.InfoHashOf([]byte(uniqueKey(name)))
}

// valueLineID is the id of a "Value[id:HEX ..." line.
var valueLineID = regexp.MustCompile(`^Value\[id:([0-9a-f]+) `)

func valueIDs(t *testing.T, lines []string) []string {
	t.Helper()
	var ids []string
	for _, l := range lines {
		m := valueLineID.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			t.Fatalf("not a value line: %q", l)
		}
		ids = append(ids, m[1])
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Point 3: put, get and listen across mixed networks where our dhtnode is
// the only bootstrap of the real peers, with either side in the majority.
// Each operation is started from one side and checked from the other: our
// jami-dht (bootstrapped from a real node or one of ours) and
// python3-opendht runners; the real console node's get sees our value.
func TestDHTMixed(t *testing.T) {
	requireOpenDHT(t)
	for _, c := range []struct {
		ours, theirs int
		separate     bool // ours in one process each, not one --nodes process
	}{{10, 10, false}, {15, 5, false}, {5, 15, true}} {
		name := fmt.Sprintf("%d ours + %d theirs", c.ours, c.theirs)
		if c.separate {
			name += ", ours one process each"
		}
		t.Run(name, func(t *testing.T) {
			ctx := testContext(t)
			nw := startMixedNet(ctx, t, c.ours, c.theirs, c.separate)
			jd := newTool(t, "jami-dht")
			lastOurs, lastTheirs := nw.ours[len(nw.ours)-1], nw.theirs[len(nw.theirs)-1]

			// jami-dht put through a real node; python and the real
			// console get it. 3000 bytes travel as value parts.
			file, data := randomFile(t, 3000)
			k1 := mxKey("put")
			id := strings.TrimSpace(jd.run(ctx, nil, "put", "-q", "-b", lastTheirs, k1.String(), "@"+file))
			vals := nw.py.get(0, k1, "")
			if len(vals) != 1 || strconv.FormatUint(vals[0].ID, 16) != id || !bytes.Equal(vals[0].Data, data) {
				t.Fatalf("python get of jami-dht's value %s: %d values %+v", id, len(vals), vals)
			}
			if got := valueIDs(t, nw.console.run("g "+k1.String(), "Get")); !slices.Equal(got, []string{id}) {
				t.Errorf("the real dhtnode's g: values %v, want [%s]", got, id)
			}

			// python put; jami-dht get through one of ours.
			data2 := []byte("from python3-opendht through a mixed network")
			k2 := mxKey("pyput")
			pid := nw.py.put(1, k2, data2, 0, 0, "")
			raw := jd.run(ctx, nil, "get", "-q", "--raw", "-b", lastOurs, k2.String())
			if raw != string(data2) {
				t.Errorf("jami-dht get --raw of python's value %x: %q", pid, raw)
			}

			// jami-dht listen (through a real node), python put.
			k3 := mxKey("listen")
			type result struct {
				out, errOut string
				err         error
			}
			listened := make(chan result, 1)
			go func() {
				o, e, err := jd.exec(ctx, nil, "listen", "-q", "-b", nw.theirs[0], "--json", "--count", "1", "--timeout", "90s", k3.String())
				listened <- result{o, e, err}
			}()
			lid := nw.py.put(0, k3, []byte("to jami-dht's listener"), 0, 0, "")
			r := <-listened
			var ev struct {
				ID   string `json:"id"`
				Data []byte `json:"data"`
			}
			if r.err != nil || json.Unmarshal([]byte(r.out), &ev) != nil {
				t.Fatalf("jami-dht listen: %v %q\n%s", r.err, r.out, r.errOut)
			}
			if ev.ID != strconv.FormatUint(lid, 16) || string(ev.Data) != "to jami-dht's listener" {
				t.Errorf("jami-dht listen: %+v, python put %x", ev, lid)
			}

			// python listens, jami-dht puts through one of ours; the real
			// console listens too.
			k4 := mxKey("pylisten")
			nw.py.listen(1, k4, "k4")
			nw.console.send("l " + k4.String())
			nw.console.waitLine("Listening", func(l string) bool { return strings.HasPrefix(l, "Listening, token: ") })
			id4 := strings.TrimSpace(jd.run(ctx, nil, "put", "-q", "--utype", "text/plain", "-b", nw.ours[0], k4.String(), "told_everyone"))
			n4, err := strconv.ParseUint(id4, 16, 64)
			if err != nil {
				t.Fatalf("jami-dht put printed %q", id4)
			}
			if ev := nw.py.waitEvent("k4", n4); string(ev.Data) != "told_everyone" || ev.UType != "text/plain" {
				t.Errorf("python listen event %+v", ev)
			}
			nw.console.waitListen(fmt.Sprintf(`Value[id:%s data(text/plain):"told_everyone"]`, id4))

			// The real console's put; our get through one of ours.
			k5 := mxKey("console")
			nw.console.send("p " + k5.String() + " from_the_console")
			nw.console.waitLine("the put", func(l string) bool { return strings.HasPrefix(l, "Put: success") })
			got := nonEmptyLines(jd.run(ctx, nil, "get", "-q", "-b", nw.ours[len(nw.ours)/2], k5.String()))
			if len(got) != 1 || !strings.HasSuffix(got[0], ` data(text/plain):"from_the_console"]`) {
				t.Errorf("jami-dht get of the console's value: %q", got)
			}
			t.Logf("%d of ours, %d real dhtnodes, 2 python runners: values %s, %x, %x, %s and the console's crossed sides",
				len(nw.ours), len(nw.theirs), id, pid, lid, id4)
		})
	}
}

// mxValue is one value of the query test.
type mxValue struct {
	id    uint64
	typ   uint16
	utype string
	data  string
}

func (v mxValue) value() *value.Value {
	return &value.Value{ID: v.id, Type: v.typ, UserType: v.utype, Data: []byte(v.data)}
}

// index is how dhtnode's q and jami-dht --select print the fields of v.
func (v mxValue) index(sel value.Select) string {
	var parts []string
	for _, f := range sel.Selection() {
		switch f {
		case value.FieldID:
			parts = append(parts, fmt.Sprintf("Id:%x", v.id))
		case value.FieldValueType:
			parts = append(parts, fmt.Sprintf("ValueType:%d", v.typ))
		case value.FieldOwnerPk:
			parts = append(parts, "Owner:"+strings.Repeat("0", 40))
		case value.FieldSeqNum:
			parts = append(parts, "Seq:0")
		case value.FieldUserType:
			parts = append(parts, "UserType:"+v.utype)
		}
	}
	return "Index[" + strings.Join(parts, ",") + "]"
}

// Points 4 and 5 on one network of 10 of ours and 10 real ones (one
// network for both keeps the CPU spent low):
//
//   - Three minutes of periodic put/get/listen traffic through the mixed
//     network (a put every 10 s, alternately from jami-dht and python;
//     standing listens from python, the real console and our console; a
//     get from the other side), during which the real dhtnode's routing
//     tables (lr) never show one of our nodes [expired] (blacklisting also
//     marks a node expired), and after which the real dhtnode and both
//     python runners list as [good] every one of our nodes they ever asked
//     (a node a peer has only heard from stays dubious until its table
//     upkeep asks it, ours or not). Then ls of the standing listen's
//     search: our console prints what the real one prints.
//   - Then, on the settled network, WHERE filters from python3-opendht
//     (DhtRunner.get with a Where), the real console (g KEY WHERE ...) and
//     jami-dht get --where, and field queries from the console (q KEY
//     SELECT ... WHERE ...) and jami-dht get --select, at a key one of our
//     nodes is the closest to and at the real console's id: every side
//     returns exactly the values (or the rows) the filter selects from
//     what was put, half of it by jami-dht and half by python.
//     (python3-opendht 2.4.12 has Query and Select objects but no
//     DhtRunner.query: SELECT comes from the console only.) On a network
//     a few seconds old a fresh python runner's put was seen to miss the
//     closest node, a real one (finds return good nodes only, and a new
//     node is good only once asked): the traffic first lets it settle.
func TestDHTMixedTraffic(t *testing.T) {
	requireOpenDHT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	nw := startMixedNet(ctx, t, 10, 10, false)
	jd := newTool(t, "jami-dht")

	t.Run("real peers count ours good through 3 minutes of traffic", func(t *testing.T) {
		// One more node of ours with its console, for the ls comparison
		// at the end.
		oursPath, err := toolbin.Path("dhtnode")
		if err != nil {
			t.Fatal(err)
		}
		oc := startConsoleOf(t, oursPath, "-p", strconv.Itoa(freePorts(t, 1)), "-b", nw.ours[0])
		nw.oursIDs[oc.id] = "127.0.0.1:" + oc.port

		// Standing listens: python, the real console and our console, at
		// one key; every round puts there, alternately from jami-dht and
		// python, and all three listeners must be told.
		lkey := mxKey("standing")
		nw.py.listen(1, lkey, "standing")
		for _, c := range []*mxConsole{nw.console, oc} {
			c.send("l " + lkey.String())
			c.waitLine("Listening", func(l string) bool { return strings.HasPrefix(l, "Listening, token: ") })
		}
		end := time.Now().Add(3 * time.Minute)
		rounds := 0
		for ; time.Now().Before(end); rounds++ {
			if ctx.Err() != nil {
				t.Fatal(ctx.Err())
			}
			data := fmt.Sprintf("round_%d", rounds)
			var id uint64
			if rounds%2 == 0 {
				via := nw.ours[rounds%len(nw.ours)]
				out := strings.TrimSpace(jd.run(ctx, nil, "put", "-q", "--utype", "text/plain", "-b", via, lkey.String(), data))
				var err error
				if id, err = strconv.ParseUint(out, 16, 64); err != nil {
					t.Fatalf("jami-dht put printed %q", out)
				}
			} else {
				id = nw.py.put(0, lkey, []byte(data), 0, 0, "text/plain")
			}
			nw.py.waitEvent("standing", id)
			for _, c := range []*mxConsole{nw.console, oc} {
				c.waitListen(fmt.Sprintf(`Value[id:%x data(text/plain):"%s"]`, id, data))
			}
			// A get from the other side than the put's.
			if rounds%2 == 0 {
				if got := nw.py.get(1, lkey, fmt.Sprintf("WHERE id=%d", id)); len(got) != 1 || string(got[0].Data) != data {
					t.Fatalf("round %d: python get of jami-dht's value: %+v", rounds, got)
				}
			} else {
				out := jd.run(ctx, nil, "get", "-q", "--raw", "-b", nw.theirs[rounds%len(nw.theirs)], "--where", fmt.Sprintf("id=%d", id), lkey.String())
				if out != data {
					t.Fatalf("round %d: jami-dht get of python's value: %q", rounds, out)
				}
			}
			// Never expired along the way (a node not confirmed yet may
			// be dubious; expired is what must never show).
			nw.checkOurs(t, "the real dhtnode's lr", nw.console.routingTables(), false)
			// A slow pace: the point is time with traffic, not load.
			select {
			case <-time.After(10 * time.Second):
			case <-ctx.Done():
			}
		}

		// At the end every one of ours a real peer knows is good: the
		// console dhtnode and both python runners.
		known := nw.checkOurs(t, "the real dhtnode's lr", nw.console.routingTables(), true)
		for r := range 2 {
			known += nw.checkOurs(t, fmt.Sprintf("python runner %d's routing tables", r), nw.py.routingTables(r), true)
		}
		t.Logf("%d rounds of put/get/listen; the real peers list our nodes as good %d times", rounds, known)

		// ls of the standing listen's search: ours prints what the real
		// one prints (last step, queries, the u/l flags of each node).
		header := regexp.MustCompile(`^Search IPv4 ` + lkey.String() + ` gets: 0, last step: (now|\S+ \S+ ago) \[synced\] \[listening\]$`)
		nodeLine := regexp.MustCompile(`^\s*\d+ [0-9a-f]{40} [* ] \[[ \d]+[ x]\] \[[su-][ fc]\] (\[[lf ]\] |    )127\.0\.0\.1:\d+$`)
		for who, c := range map[string]*mxConsole{"the real dhtnode": nw.console, "our dhtnode": oc} {
			lines := c.block("ls " + lkey.String())
			i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "Search IPv4 ") })
			if i < 0 || !header.MatchString(lines[i]) || len(lines) < i+4 ||
				lines[i+1] != "Queries:" || lines[i+2] != "Query[SELECT * ]" ||
				lines[i+3] != " Common bits    InfoHash                       Conn. Get   Ops  IP" {
				t.Errorf("%s: ls %s:\n%s", who, lkey, strings.Join(lines, "\n"))
				continue
			}
			listening := 0
			for _, l := range lines[i+4:] {
				if l == "" || strings.HasPrefix(l, "Search IPv6 ") {
					break
				}
				if !nodeLine.MatchString(l) {
					t.Errorf("%s: ls node line %q", who, l)
				}
				if strings.Contains(l, "[u ] [l] ") {
					listening++
				}
			}
			if listening == 0 {
				t.Errorf("%s: ls shows no node updated and listening:\n%s", who, strings.Join(lines, "\n"))
			}
		}
	})

	t.Run("queries", func(t *testing.T) {
		vals := []mxValue{
			{0x101, 0, "a", "one"}, {0x102, 3, "b", "two"}, // put by jami-dht
			{0x103, 3, "a", "three"}, {0x104, 0, "b", "four"}, // put by python
		}
		ourKey, _ := wire.ParseInfoHash(mxAnyKey(nw.oursIDs))
		// The real key is the console node's own id: it is a storer of
		// every value there, which its q needs (below).
		theirKey, _ := wire.ParseInfoHash(nw.console.id)
		for _, key := range []wire.InfoHash{ourKey, theirKey} {
			for i, v := range vals {
				if i < 2 {
					jd.run(ctx, nil, "put", "-q", "-b", nw.theirs[i+1], "--id", fmt.Sprintf("0x%x", v.id),
						"--type", strconv.Itoa(int(v.typ)), "--utype", v.utype, key.String(), v.data)
				} else {
					nw.py.put(i%2, key, []byte(v.data), v.typ, v.id, v.utype)
				}
			}
		}
		wheres := []string{"value_type=3", "user_type=a", "id=260", "user_type=b,value_type=3", "value_type=0,user_type=a"}
		for _, key := range []wire.InfoHash{ourKey, theirKey} {
			for _, w := range wheres {
				where, err := value.ParseWhere("WHERE " + w)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, v := range vals {
					if where.Match(v.value()) {
						want = append(want, fmt.Sprintf("%x", v.id))
					}
				}
				slices.Sort(want)
				var py []string
				for _, v := range nw.py.get(0, key, "WHERE "+w) {
					py = append(py, strconv.FormatUint(v.ID, 16))
				}
				slices.Sort(py)
				con := valueIDs(t, nw.console.run("g "+key.String()+" WHERE "+w, "Get"))
				ours := valueIDs(t, nonEmptyLines(jd.run(ctx, nil, "get", "-q", "-b", nw.ours[3], "--where", w, key.String())))
				for who, got := range map[string][]string{"python3-opendht get(where)": py, "dhtnode g WHERE": con, "jami-dht get --where": ours} {
					if !slices.Equal(got, want) {
						t.Errorf("%s at %s, WHERE %s: %v, want %v", who, key, w, got, want)
					}
				}
			}
			// Field queries. 2.4.12's requester (Dht::query) drops a row
			// when an earlier row has the same field names, whatever their
			// values (FieldValueIndex::containedIn compares names only):
			// rows come in from its own storage first, then from the first
			// node that answers, and later nodes add nothing. So its q is
			// complete only where it stores every value itself (the
			// console's own id); elsewhere its rows must be some of the
			// right ones. Without SELECT (all fields) it shows one row only,
			// on a network of real nodes alone too: the fields are named.
			// Our jami-dht merges rows per value and must find them all.
			if key == theirKey {
				st := nw.console.block("ld " + key.String())
				i := slices.IndexFunc(st, func(l string) bool { return strings.HasPrefix(l, "Storage "+key.String()+" ") })
				if i < 0 || !strings.Contains(st[i], fmt.Sprintf(" %d values (", len(vals))) {
					t.Fatalf("the real console does not store the %d values at its own id: %q", len(vals), st)
				}
			}
			for _, q := range []string{"SELECT id", "SELECT id,value_type WHERE user_type=b", "SELECT user_type,seq,id WHERE value_type=0", "SELECT id,value_type,seq,user_type WHERE id=259"} {
				query, err := value.ParseQuery(q)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, v := range vals {
					if query.Where.Match(v.value()) {
						want = append(want, v.index(query.Select))
					}
				}
				slices.Sort(want)
				con := nw.console.run("q "+key.String()+" "+q, "Query")
				slices.Sort(con)
				sel, where, _ := strings.Cut(strings.TrimPrefix(q, "SELECT "), " WHERE ")
				args := []string{"get", "-q", "-b", nw.ours[7], "--select", sel}
				if where != "" {
					args = append(args, "--where", where)
				}
				ours := nonEmptyLines(jd.run(ctx, nil, append(args, key.String())...))
				slices.Sort(ours)
				switch {
				case key == theirKey && !slices.Equal(con, want):
					t.Errorf("dhtnode q at its own id %s, %s: %q, want %q", key, q, con, want)
				case len(con) == 0 || !isSubset(con, want):
					t.Errorf("dhtnode q at %s, %s: %q, want some of %q", key, q, con, want)
				case len(con) < len(want):
					t.Logf("dhtnode q at %s, %s: %d of the %d rows (its storage there: %q)", key, q, len(con), len(want),
						nw.console.block("ld "+key.String()))
				}
				if !slices.Equal(ours, want) {
					t.Errorf("jami-dht get --select at %s, %s: %q, want %q", key, q, ours, want)
				}
			}
		}
	})
}

// checkOurs checks the lr node lines of a real peer: every one of our
// nodes it lists is at its address and never [expired]; with good, each
// one that ever answered it is [good]. It returns how many of ours it
// lists as good.
func (nw *mixedNet) checkOurs(t *testing.T, who string, lines []string, good bool) int {
	t.Helper()
	known := 0
	for _, l := range lines {
		f := strings.Fields(l) // Node ID ADDR updated: ...
		if len(f) < 3 {
			t.Fatalf("%s: %q", who, l)
		}
		ap, err := netip.ParseAddrPort(f[2])
		if err != nil {
			t.Fatalf("%s: address in %q: %v", who, l, err)
		}
		ours, isOurs := nw.oursIDs[f[1]]
		if !isOurs {
			continue
		}
		if p, _ := netip.ParseAddrPort(ours); p.Port() != ap.Port() {
			t.Errorf("%s: our node %s at %s, it runs on %s", who, f[1], ap, ours)
		}
		known++
		switch {
		case strings.HasSuffix(l, " [expired]"):
			t.Errorf("%s: our node expired: %q", who, l)
		case !good || strings.HasSuffix(l, " [good]"):
		case strings.Contains(l, ", replied: never"), strings.HasSuffix(l, " updated: never"):
			// Only heard of (it sent this peer a request: "replied:
			// never"; or another node named it in a reply: OpenDHT prints
			// a lone "updated: never" when it never heard from it at
			// all), never asked yet: dubious, as any node this peer has
			// not asked. OpenDHT asks such nodes only when its table
			// upkeep picks them.
			t.Logf("%s: our node not asked yet: %q", who, l)
			known--
		default:
			t.Errorf("%s: our node answered but is not good: %q", who, l)
		}
	}
	if good && known == 0 {
		t.Errorf("%s list none of our %d nodes as good:\n%s", who, len(nw.oursIDs), strings.Join(lines, "\n"))
	}
	return known
}

// isSubset tells whether every element of sub is in set.
func isSubset(sub, set []string) bool {
	for _, x := range sub {
		if !slices.Contains(set, x) {
			return false
		}
	}
	return true
}

// mxAnyKey returns the smallest id of a node set (a deterministic pick).
func mxAnyKey(ids map[string]string) string {
	var all []string
	for id := range ids {
		all = append(all, id)
	}
	slices.Sort(all)
	return all[0]
}
