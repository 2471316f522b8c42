//go:build capture

package wire

// This harness recorded testdata/captures.json: real OpenDHT 2.4.12
// traffic (dhtnode and python3-opendht from Debian bookworm) exchanged with
// a probe built on this package. It is not part of the normal test run; to
// record again, as root, inside a private network namespace:
//
//	unshare -n sh -c 'ip link set lo up && go test -tags capture -run TestCapture -count=1 ./lib/dht/wire'
//
// The probe plays a client against dhtnode (phase A) and a fake node that
// python3-opendht bootstraps from (phase B). Every datagram either side
// sends is recorded; the datagrams the real peers sent are the test
// vectors of captures_test.go.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht/msgp"
)

type capture struct {
	Name string `json:"name"`
	From string `json:"from"` // "dhtnode", "python" or "probe"
	Hex  string `json:"hex"`
}

type rx struct {
	m    *Message
	raw  []byte
	from netip.AddrPort
}

type probe struct {
	t     *testing.T
	peer  string // who is on the other side
	conn  *net.UDPConn
	id    InfoHash
	tids  *TIDs
	re    *Reassembler
	in    chan rx
	mu    sync.Mutex
	caps  *[]capture
	label map[uint32]string
	store map[InfoHash][][]byte
	token []byte
}

func newProbe(t *testing.T, peer string, port int, caps *[]capture) *probe {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	p := &probe{t: t, peer: peer, conn: conn, id: InfoHashOf([]byte("probe-" + peer)),
		tids: NewTIDs(1000), re: NewReassembler(ReassemblerConfig{}), in: make(chan rx, 256),
		caps: caps, label: map[uint32]string{}, store: map[InfoHash][][]byte{},
		token: bytes.Repeat([]byte{0x7a}, 32)}
	go p.loop()
	return p
}

func (p *probe) record(name, from string, b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*p.caps = append(*p.caps, capture{Name: name, From: from, Hex: hex.EncodeToString(b)})
}

func (p *probe) send(to netip.AddrPort, name string, b []byte) {
	p.record(name, "probe", b)
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Errorf("send %s: %v", name, err)
	}
}

func (p *probe) nameOf(m *Message) string {
	p.mu.Lock()
	l := p.label[m.TID]
	p.mu.Unlock()
	if m.Kind.IsRequest() || l == "" {
		return m.Kind.String()
	}
	return l + "/" + m.Kind.String()
}

func (p *probe) loop() {
	buf := make([]byte, 65536)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			close(p.in)
			return
		}
		raw := append([]byte(nil), buf[:n]...)
		m, err := Decode(raw)
		if err != nil {
			p.record("undecodable", p.peer, raw)
			p.t.Errorf("undecodable datagram from %s: %v: %x", p.peer, err, raw)
			continue
		}
		p.record(p.nameOf(m), p.peer, raw)
		if m.Kind.IsRequest() {
			p.answer(from, m)
		}
		p.in <- rx{m: m, raw: raw, from: from}
	}
}

// answer plays a minimal storing node, replying the way 2.4.12 does.
func (p *probe) answer(from netip.AddrPort, m *Message) {
	r := &Message{Kind: KindReply, TID: m.TID, UA: []byte(UserAgent), ID: p.id, Addr: from.Addr()}
	switch m.Kind {
	case KindFind:
		r.Token = p.token
	case KindGet:
		r.Token = p.token
		r.Values = p.store[m.Hash]
	case KindPut:
		full := m
		if len(m.Sizes) > 0 {
			return // answered when the parts are complete (see waitParts)
		}
		for _, v := range full.Values {
			p.store[m.Hash] = append(p.store[m.Hash], append([]byte(nil), v...))
		}
		for _, v := range full.Values {
			r2 := *r
			r2.VID = valueID(v)
			b, _ := r2.AppendBinary(nil)
			p.send(from, "reply-put", b)
		}
		return
	case KindRefresh:
		r.VID = m.VID
	}
	b, err := r.AppendBinary(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	p.send(from, "reply-"+m.Kind.String(), b)
	if r.NeedsParts() {
		_ = ValueParts(0, r.TID, r.Values, nil, func(d []byte) error {
			p.send(from, "reply-"+m.Kind.String()+"/part", append([]byte(nil), d...))
			return nil
		})
	}
}

// valueID reads "id" of a packed value.
func valueID(v []byte) uint64 {
	m, err := msgp.ReadMap(v)
	if err != nil {
		return 0
	}
	r := msgp.NewReader(m.Find("id"))
	id, _ := r.Uint(^uint64(0))
	return id
}

func packValue(id uint64, data []byte) []byte {
	b := append([]byte{0x82, 0xa2, 'i', 'd'}, nil...)
	b = msgp.AppendUint(b, id)
	b = append(b, 0xa3, 'd', 'a', 't', 0x81, 0xa4, 'b', 'o', 'd', 'y', 0x82, 0xa4, 't', 'y', 'p', 'e', 0x00, 0xa4, 'd', 'a', 't', 'a')
	return msgp.AppendBin(b, data)
}

// request sends m and waits for the reply or error with its tid,
// reassembling value parts; requests the peer sends meanwhile are answered.
func (p *probe) request(to netip.AddrPort, name string, m *Message) *Message {
	m.ID = p.id
	m.UA = []byte(UserAgent)
	m.TID = p.tids.Next()
	p.mu.Lock()
	p.label[m.TID] = name
	p.mu.Unlock()
	b, err := m.AppendBinary(nil)
	if err != nil {
		p.t.Fatalf("%s: %v", name, err)
	}
	p.send(to, name, b)
	if m.NeedsParts() {
		_ = ValueParts(m.Net, m.TID, m.Values, nil, func(d []byte) error {
			p.send(to, name+"/part", append([]byte(nil), d...))
			return nil
		})
	}
	return p.wait(m.TID, name)
}

func (p *probe) wait(tid uint32, name string) *Message {
	deadline := time.After(3 * time.Second)
	for {
		select {
		case x := <-p.in:
			switch {
			case x.m.Kind == KindValueData:
				done, err := p.re.Add(x.from, x.m, time.Now())
				if err != nil {
					p.t.Errorf("%s: part: %v", name, err)
				}
				if done != nil && done.TID == tid {
					return done
				}
			case (x.m.Kind == KindReply || x.m.Kind == KindError) && x.m.TID == tid:
				if len(x.m.Sizes) > 0 {
					if _, err := p.re.Start(x.from, x.m, time.Now()); err != nil {
						p.t.Errorf("%s: header: %v", name, err)
					}
					continue
				}
				return x.m
			}
		case <-deadline:
			p.t.Logf("%s: no reply", name)
			return nil
		}
	}
}

// drain collects what arrives for d, answering requests.
func (p *probe) drain(d time.Duration) []rx {
	var out []rx
	deadline := time.After(d)
	for {
		select {
		case x := <-p.in:
			out = append(out, x)
		case <-deadline:
			return out
		}
	}
}

func TestCapture(t *testing.T) {
	var caps []capture
	phaseA(t, &caps)
	phaseB(t, &caps)
	out, _ := json.MarshalIndent(caps, "", " ")
	if err := os.WriteFile("testdata/captures.json", append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func phaseA(t *testing.T, caps *[]capture) {
	node := exec.Command("dhtnode", "-s", "-p", "4222")
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { node.Process.Kill(); node.Wait() }()
	time.Sleep(time.Second)
	to := netip.MustParseAddrPort("127.0.0.1:4222")
	p := newProbe(t, "dhtnode", 5001, caps)
	defer p.conn.Close()

	pong := p.request(to, "ping", &Message{Kind: KindPing})
	if pong == nil {
		t.Fatal("dhtnode does not answer")
	}
	k1 := InfoHashOf([]byte("capture-k1"))
	k2 := InfoHashOf([]byte("capture-big"))
	p.request(to, "find", &Message{Kind: KindFind, Target: k1, Want: Want4 | Want6})
	r := p.request(to, "get-empty", &Message{Kind: KindGet, Hash: k1})
	tok := append([]byte(nil), r.Token...)
	p.request(to, "put", &Message{Kind: KindPut, Hash: k1, Token: tok, Values: [][]byte{packValue(12345, []byte("hello wire"))}})
	p.request(to, "put-bad-token", &Message{Kind: KindPut, Hash: k1, Token: bytes.Repeat([]byte{1}, 32), Values: [][]byte{packValue(7, []byte("x"))}})
	p.request(to, "put-id-0", &Message{Kind: KindPut, Hash: k1, Token: tok, Values: [][]byte{packValue(0, []byte("x"))}})
	p.request(to, "get-no-h", &Message{Kind: KindGet})
	p.request(to, "refresh-unknown-key", &Message{Kind: KindRefresh, Hash: InfoHashOf([]byte("nothing")), VID: 1, Token: tok})
	p.request(to, "refresh", &Message{Kind: KindRefresh, Hash: k1, VID: 12345, Token: tok})
	p.request(to, "get-values", &Message{Kind: KindGet, Hash: k1})
	p.request(to, "get-select-id", &Message{Kind: KindGet, Hash: k1, Query: []byte{0x82, 0xa1, 's', 0x91, 0x01, 0xa1, 'w', 0x90}})
	p.request(to, "get-select-id-seq", &Message{Kind: KindGet, Hash: k1, Query: []byte{0x82, 0xa1, 's', 0x92, 0x01, 0x04, 0xa1, 'w', 0x90}})
	p.request(to, "get-where-id", &Message{Kind: KindGet, Hash: k1, Query: []byte{0x82, 0xa1, 's', 0x90, 0xa1, 'w', 0x91, 0x82, 0xa1, 'f', 0x01, 0xa1, 'v', 0xcd, 0x30, 0x39}})
	big := bytes.Repeat([]byte("0123456789abcdef"), 190) // 3040 bytes of data
	r = p.request(to, "get-big-empty", &Message{Kind: KindGet, Hash: k2})
	tok2 := append([]byte(nil), r.Token...)
	p.request(to, "put-big", &Message{Kind: KindPut, Hash: k2, Token: tok2, Values: [][]byte{packValue(99, big)}})
	got := p.request(to, "get-big", &Message{Kind: KindGet, Hash: k2})
	if got == nil || len(got.Values) != 1 || !bytes.Contains(got.Values[0], big) {
		t.Errorf("big value did not come back: %+v", got)
	}
	// Listen (version 1): dhtnode sends the stored values as an update.
	p.request(to, "listen", &Message{Kind: KindListen, Hash: k1, Token: tok, SID: 77, Version: 1})
	p.drain(500 * time.Millisecond)
	p.request(to, "put-while-listening", &Message{Kind: KindPut, Hash: k1, Token: tok, Values: [][]byte{packValue(23456, []byte("second value"))}})
	p.drain(500 * time.Millisecond)
	p.request(to, "put-same-again", &Message{Kind: KindPut, Hash: k1, Token: tok, Values: [][]byte{packValue(12345, []byte("hello wire"))}})
	p.drain(500 * time.Millisecond)
	// Legacy listen (no "ve"): values come as a reply whose tid is the sid.
	p.request(to, "listen-legacy", &Message{Kind: KindListen, Hash: k1, Token: tok, SID: 88})
	p.drain(500 * time.Millisecond)
	p.request(to, "put-while-legacy", &Message{Kind: KindPut, Hash: k1, Token: tok, Values: [][]byte{packValue(34567, []byte("third value"))}})
	p.drain(500 * time.Millisecond)
	// Network id mismatch: no answer expected.
	if r := p.request(to, "ping-net-5", &Message{Kind: KindPing, Net: 5}); r != nil {
		t.Errorf("dhtnode answered a ping of network 5")
	}
}

const pyClient = `
import opendht as dht, sys, time
port = sys.argv[1]
r = dht.DhtRunner()
r.run(port=4300, config=dht.DhtConfig())
r.bootstrap("127.0.0.1", port)
time.sleep(1.5)
k = dht.InfoHash.get("pykey")
print("put", r.put(k, dht.Value(b"python says hi")), flush=True)
print("get", [bytes(v.data) for v in r.get(k)], flush=True)
print("put big", r.put(dht.InfoHash.get("pybig"), dht.Value(b"y" * 3000)), flush=True)
tok = r.listen(k, lambda v, expired: True)
time.sleep(2)
r.cancelListen(tok)
r.shutdown()
r.join()
`

func phaseB(t *testing.T, caps *[]capture) {
	p := newProbe(t, "python", 5002, caps)
	defer p.conn.Close()
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		cmd := exec.Command("/usr/bin/python3", "-c", pyClient, "5002")
		cmd.Stdout = &out
		cmd.Stderr = &out
		done <- cmd.Run()
	}()
	timeout := time.After(40 * time.Second)
	var listener *Message
	var listenerFrom netip.AddrPort
	for {
		select {
		case err := <-done:
			t.Logf("python: %v\n%s", err, out.String())
			if listener == nil {
				t.Errorf("python never listened")
			}
			return
		case x := <-p.in:
			switch {
			case x.m.Kind == KindListen && listener == nil:
				listener, listenerFrom = x.m, x.from
				// Notify the listener: a new value, then a refresh.
				u := &Message{Kind: KindUpdate, TID: p.tids.Next(), UA: []byte(UserAgent), ID: p.id,
					Hash: x.m.Hash, SID: x.m.SID, Version: 1, Token: p.token,
					Values: [][]byte{packValue(4242, []byte("from the fake node"))}}
				b, _ := u.AppendBinary(nil)
				p.send(listenerFrom, "update-values", b)
				u2 := &Message{Kind: KindUpdate, TID: p.tids.Next(), UA: []byte(UserAgent), ID: p.id,
					SID: x.m.SID, Token: p.token, Refreshed: []uint64{4242}}
				b, _ = u2.AppendBinary(nil)
				p.send(listenerFrom, "update-refreshed", b)
			case x.m.Kind == KindPut && len(x.m.Sizes) > 0:
				if _, err := p.re.Start(x.from, x.m, time.Now()); err != nil && err != ErrSessionExists {
					t.Errorf("put header: %v", err)
				}
			case x.m.Kind == KindValueData:
				full, err := p.re.Add(x.from, x.m, time.Now())
				if err != nil {
					t.Errorf("part: %v", err)
				}
				if full != nil {
					p.answer(x.from, full)
				}
			}
		case <-timeout:
			t.Fatalf("python client stuck:\n%s", out.String())
		}
	}
}
