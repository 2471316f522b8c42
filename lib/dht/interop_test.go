package dht

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// Interop tests against the real OpenDHT 2.4.12 (Debian's dhtnode and
// python3-opendht), on loopback. They are skipped when the tools are
// missing, unless $CI is set: then they fail.

const systemPython = "/usr/bin/python3"

func requireDhtnode(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("dhtnode")
	if err != nil {
		missingTool(t, "dhtnode")
	}
	return p
}

func requirePythonOpenDHT(t *testing.T) {
	t.Helper()
	if err := exec.Command(systemPython, "-c", "import opendht").Run(); err != nil {
		missingTool(t, "python3-opendht")
	}
}

func missingTool(t *testing.T, name string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI", name)
	}
	t.Skipf("%s not installed", name)
}

// freePort returns a UDP port free on 127.0.0.1 right now.
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// proc is a process we started, with its stdout as lines.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 4096)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill() // only the process we started, by its PID
			<-done
		}
		for range p.lines {
		}
	})
	return p
}

func (p *proc) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// waitFor returns the first line satisfying f.
func (p *proc) waitFor(what string, f func(string) bool) string {
	p.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("%s exited while waiting for %s", p.name, what)
			}
			if f(l) {
				return l
			}
		case <-timeout:
			p.t.Fatalf("%s: timeout waiting for %s", p.name, what)
		}
	}
}

// pyDriver runs testdata/opendht_driver.py.
type pyDriver struct {
	*proc
	id wire.InfoHash
}

type pyValue struct {
	Op      string `json:"op"`
	ID      uint64 `json:"id"`
	Data    string `json:"data"`
	UType   string `json:"utype"`
	Expired bool   `json:"expired"`
}

func startPython(t *testing.T, port int, bootstrap string) *pyDriver {
	t.Helper()
	requirePythonOpenDHT(t)
	p := &pyDriver{proc: startProc(t, systemPython, "testdata/opendht_driver.py", strconv.Itoa(port), bootstrap)}
	var ready struct{ ID string }
	p.waitJSON("ready", &ready)
	id, err := wire.ParseInfoHash(ready.ID)
	if err != nil {
		t.Fatal(err)
	}
	p.id = id
	return p
}

func (p *pyDriver) waitJSON(op string, v any) {
	p.t.Helper()
	l := p.waitFor(op, func(l string) bool { return strings.Contains(l, `"op": "`+op+`"`) })
	if err := json.Unmarshal([]byte(l), v); err != nil {
		p.t.Fatalf("python: %v in %q", err, l)
	}
}

func (p *pyDriver) put(key wire.InfoHash, data []byte) uint64 {
	p.t.Helper()
	p.send(fmt.Sprintf(`{"op":"put","key":"%s","data":"%s"}`, key, base64.StdEncoding.EncodeToString(data)))
	var r struct {
		OK bool
		ID uint64
	}
	p.waitJSON("put", &r)
	if !r.OK {
		p.t.Fatal("python put failed")
	}
	return r.ID
}

func (p *pyDriver) get(key wire.InfoHash) []pyValue {
	p.t.Helper()
	p.send(fmt.Sprintf(`{"op":"get","key":"%s"}`, key))
	var r struct{ Values []pyValue }
	p.waitJSON("get", &r)
	return r.Values
}

func TestInteropPython(t *testing.T) {
	requirePythonOpenDHT(t)
	nodes := cluster(t, 4, nil)
	ctx := ctxT(t)
	// python3-opendht bootstraps from our node.
	py := startPython(t, freePort(t), nodes[0].Addr4().String())

	// Put from python, get from Go: byte-identical, same id.
	keyPy := wire.InfoHashOf([]byte("from python"))
	dataPy := []byte("python says hi")
	id := py.put(keyPy, dataPy)
	vals, err := nodes[2].Get(ctx, keyPy, nil)
	if err != nil || len(vals) != 1 || !bytes.Equal(vals[0].Data, dataPy) || vals[0].ID != id {
		t.Fatalf("go get of the python value: %v %d", err, len(vals))
	}

	// Put from Go in every size class (inline, parts), get from python.
	for _, size := range []int{10, 599, 600, 3000, 60 * 1024} {
		key := wire.InfoHashOf([]byte(fmt.Sprint("from go ", size)))
		data := bytes.Repeat([]byte{byte(size), 1, 2}, size/3+1)[:size]
		v := &value.Value{Data: data}
		if err := nodes[1].Put(ctx, key, v, PutOptions{}); err != nil {
			t.Fatalf("go put %d: %v", size, err)
		}
		got := py.get(key)
		if len(got) != 1 || got[0].ID != v.ID {
			t.Fatalf("python get of %d bytes: %+v", size, got)
		}
		if d, _ := base64.StdEncoding.DecodeString(got[0].Data); !bytes.Equal(d, data) {
			t.Fatalf("python got different bytes for %d", size)
		}
	}

	// Listen both ways.
	keyL := wire.InfoHashOf([]byte("listen both ways"))
	py.send(fmt.Sprintf(`{"op":"listen","key":"%s"}`, keyL))
	py.waitJSON("listen", &struct{}{})
	ch, _ := listenChan(t, nodes[3], keyL, nil)
	fromGo := &value.Value{Data: bytes.Repeat([]byte("L"), 2000)}
	if err := nodes[2].Put(ctx, keyL, fromGo, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var ev pyValue
	py.waitJSON("event", &ev)
	if ev.ID != fromGo.ID || ev.Expired {
		t.Fatalf("python listen event %+v", ev)
	}
	pid := py.put(keyL, []byte("from python to a go listener"))
	waitEvent(t, ch, "python value", func(ev listenEvent) bool { return ev.id == pid && !ev.expired })
}

func TestInteropDhtnode(t *testing.T) {
	requireDhtnode(t)
	ctx := ctxT(t)
	// Our node bootstraps from a real dhtnode...
	p1 := freePort(t)
	d1 := startProc(t, "dhtnode", "-s", "-p", strconv.Itoa(p1))
	_ = d1
	g := oneNode(t, nil)
	// dhtnode -s prints nothing: wait until it answers pings.
	waitUp(t, g, netip.AddrPortFrom(loopback4, uint16(p1)))
	if err := g.Bootstrap(ctx, fmt.Sprintf("127.0.0.1:%d", p1)); err != nil {
		t.Fatalf("bootstrap from dhtnode: %v", err)
	}
	// Our listen on a dhtnode storer: a raw put to dhtnode alone reaches
	// us only through dhtnode's "update".
	ukey := wire.InfoHashOf([]byte("update from dhtnode"))
	uch, _ := listenChan(t, g, ukey, nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		in, _ := g.Searches(ctx)
		listening := false
		for _, s := range in {
			for _, sn := range s.Nodes {
				listening = listening || (s.Key == ukey && sn.Listening)
			}
		}
		if listening {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no listen confirmed by dhtnode")
		}
		time.Sleep(50 * time.Millisecond)
	}
	pr := newProbe(t, netip.AddrPortFrom(loopback4, uint16(p1)))
	uv := &value.Value{ID: 4242, Data: []byte("told by dhtnode")}
	pr.expect(pr.send(&wire.Message{Kind: wire.KindPut, Hash: ukey, Token: pr.token(ukey), Values: [][]byte{uv.Pack()}}))
	waitEvent(t, uch, "dhtnode's update", func(ev listenEvent) bool { return ev.id == 4242 && !ev.expired })

	g2 := oneNode(t, nil)
	if err := g2.Bootstrap(ctx, g.Addr4().String()); err != nil {
		t.Fatal(err)
	}
	// ... and a dhtnode with an identity bootstraps from ours.
	p2 := freePort(t)
	d2 := startProc(t, "dhtnode", "-i", "-p", strconv.Itoa(p2), "-b", g.Addr4().String())
	d2.waitFor("banner", func(l string) bool { return strings.Contains(l, "running on port") })

	// dhtnode's put, our get.
	d2.send("p dhtnode_key hello_from_dhtnode")
	d2.waitFor("put", func(l string) bool { return strings.Contains(l, "Put: success") })
	vals, err := g2.Get(ctx, wire.InfoHashOf([]byte("dhtnode_key")), nil)
	if err != nil || len(vals) != 1 || string(vals[0].Data) != "hello_from_dhtnode" || vals[0].UserType != "text/plain" {
		t.Fatalf("get of dhtnode's value: %v %d", err, len(vals))
	}

	// A signed put from dhtnode is stored by our nodes (the secured type's
	// store policy checks the signature) and verifies here.
	d2.send("s signed_key hello_signed")
	d2.waitFor("signed put", func(l string) bool { return strings.Contains(l, "Put signed: success") })
	vals, err = g.Get(ctx, wire.InfoHashOf([]byte("signed_key")), nil)
	if err != nil || len(vals) != 1 || !vals[0].IsSigned() || vals[0].Verify() != nil || string(vals[0].Data) != "hello_signed" {
		t.Fatalf("signed value: %v %d", err, len(vals))
	}

	// Our put, dhtnode's get; a 3000-byte value travels as value parts.
	key := wire.InfoHashOf([]byte("go_key"))
	v := &value.Value{Data: []byte("hello_from_go"), UserType: "text/plain"}
	if err := g2.Put(ctx, key, v, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	big := &value.Value{Data: bytes.Repeat([]byte{0xab}, 3000)}
	if err := g2.Put(ctx, key, big, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	d2.send("g " + key.String())
	want := fmt.Sprintf(`Value[id:%x data(text/plain):"hello_from_go"]`, v.ID)
	d2.waitFor(want, func(l string) bool { return strings.Contains(l, want) })
	d2.waitFor("big value", func(l string) bool { return strings.Contains(l, fmt.Sprintf("Value[id:%x data:3000 bytes]", big.ID)) })

	// dhtnode listens, we put: it is told.
	lkey := wire.InfoHashOf([]byte("listen_key"))
	d2.send("l " + lkey.String())
	d2.waitFor("listen", func(l string) bool { return strings.Contains(l, "Listening") })
	lv := &value.Value{Data: []byte("tell_dhtnode"), UserType: "text/plain"}
	if err := g.Put(ctx, lkey, lv, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	d2.waitFor("listen event", func(l string) bool { return strings.Contains(l, `"tell_dhtnode"`) })

	// We listen, dhtnode puts permanently.
	ch, _ := listenChan(t, g2, wire.InfoHashOf([]byte("go_listens")), nil)
	d2.send("pp go_listens permanent_word")
	ev := waitEvent(t, ch, "dhtnode's permanent value", func(ev listenEvent) bool { return !ev.expired })
	if ev.utype != "text/plain" {
		t.Fatalf("event %+v", ev)
	}

	// The routing tables agree: dhtnode knows our node as good.
	d2.send("ll")
	d2.waitFor("good nodes", func(l string) bool {
		var good int
		_, err := fmt.Sscanf(strings.TrimPrefix(strings.TrimSpace(l), ">> "), "Known nodes: %d good", &good)
		return err == nil && good > 0
	})
}

// waitUp pings addr from n until it answers.
func waitUp(t *testing.T, n *Node, addr netip.AddrPort) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := n.Ping(ctx, addr)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer: %v", addr, err)
		}
	}
}
