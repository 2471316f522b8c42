// Command dhtload is the load generator and latency probe of
// tests/bench/bench-dht.sh. It talks to one OpenDHT node (ours or Debian's
// dhtnode) over loopback with well-formed 2.4.12 requests built with
// lib/dht/wire, and reads the node's CPU time and memory from /proc, so that
// both nodes are measured by the same client in the same way. Every mode is
// bounded in count and time and stops by itself.
//
//	dhtload load    -addr 127.0.0.1:P -kind ping|get|put -rate N|0 -duration 5s -pid PID
//	dhtload store   -addr 127.0.0.1:P -n 10000 -first 0 -pid PID
//	dhtload latency -bootstrap 127.0.0.1:P -n 30
//	dhtload serve   -port P -cpuprofile FILE -memprofile FILE  (our engine, as dhtnode -s -U, profiled)
//
// Results are printed as one line of key=value pairs for the shell script.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dhtload load|store|latency|serve [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "load":
		err = cmdLoad(os.Args[2:])
	case "store":
		err = cmdStore(os.Args[2:])
	case "latency":
		err = cmdLatency(os.Args[2:])
	case "serve":
		err = cmdServe(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dhtload:", err)
		os.Exit(1)
	}
}

// ---- the client socket ------------------------------------------------

// batch is how many datagrams one sendmmsg/recvmmsg moves: the generator
// must cost far less per packet than the node it measures.
const batch = 64

// client is one connected UDP socket to the node under test, with a reader
// goroutine that classifies every datagram it receives.
type client struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn
	id   wire.InfoHash
	node wire.InfoHash // the node's id, learnt from its first pong

	out  []ipv4.Message
	bufs [][]byte

	replies atomic.Int64 // "r" datagrams
	// lastTID is the highest tid answered, among those the closed loop
	// sent (tids are sequence numbers there).
	lastTID atomic.Uint32
	errs    atomic.Int64 // "e" datagrams
	other   atomic.Int64 // requests from the node (its table upkeep), parts, junk
	notify  chan struct{}

	// onReply, when set before start, sees every reply (setup and checks
	// only: it runs on the reader goroutine).
	mu      sync.Mutex
	onReply func(m *wire.Message)
}

func dialNode(addr string) (*client, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-addr %q: %w", addr, err)
	}
	if !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("-addr %s: loopback only", addr)
	}
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	// Room for a whole window of replies while the reader is descheduled.
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)
	c := &client{conn: conn, pc: ipv4.NewPacketConn(conn), notify: make(chan struct{}, 1)}
	randomHash(&c.id)
	c.out = make([]ipv4.Message, batch)
	c.bufs = make([][]byte, batch)
	for i := range c.out {
		c.bufs[i] = make([]byte, 0, 512)
		c.out[i].Buffers = [][]byte{nil}
	}
	go c.read()
	return c, nil
}

func randomHash(h *wire.InfoHash) {
	for i := range h {
		h[i] = byte(rand.Uint32())
	}
}

func (c *client) read() {
	ms := make([]ipv4.Message, batch)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	var m wire.Message
	for {
		n, err := c.pc.ReadBatch(ms, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		var r, e, o int64
		for i := 0; i < n; i++ {
			if m.Decode(ms[i].Buffers[0][:ms[i].N]) != nil {
				o++
				continue
			}
			switch m.Kind {
			case wire.KindReply:
				r++
				// Newer than the last answered (serial-number order: the
				// setup requests' random tids are far off and ignored).
				if d := m.TID - c.lastTID.Load(); d > 0 && d < 1<<20 {
					c.lastTID.Store(m.TID)
				}
				c.mu.Lock()
				if f := c.onReply; f != nil {
					f(&m)
				}
				c.mu.Unlock()
			case wire.KindError:
				e++
			default:
				o++
			}
		}
		c.replies.Add(r)
		c.errs.Add(e)
		c.other.Add(o)
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

func (c *client) setOnReply(f func(m *wire.Message)) {
	c.mu.Lock()
	c.onReply = f
	c.mu.Unlock()
}

// send encodes n requests with fill (which sets up message i of the
// batch) and writes them with one sendmmsg where the kernel allows.
func (c *client) send(n int, fill func(i int, m *wire.Message)) error {
	var m wire.Message
	for i := 0; i < n; i++ {
		m.Reset()
		m.UA = []byte(wire.UserAgent)
		m.ID = c.id
		fill(i, &m)
		b, err := m.AppendBinary(c.bufs[i][:0])
		if err != nil {
			return err
		}
		c.bufs[i] = b
		c.out[i].Buffers[0] = b
	}
	for off := 0; off < n; {
		k, err := c.pc.WriteBatch(c.out[off:n], 0)
		if err != nil {
			// A full socket buffer: the datagrams are lost, as they would
			// be on the wire; the counters show it.
			if errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.EAGAIN) {
				return nil
			}
			return err
		}
		off += k
	}
	return nil
}

// request waits for the reply to one request (setup steps).
func (c *client) request(fill func(m *wire.Message), check func(m *wire.Message) bool, timeout time.Duration) error {
	tid := rand.Uint32()
	done := make(chan struct{})
	var once sync.Once
	c.setOnReply(func(m *wire.Message) {
		if m.TID == tid && check(m) {
			once.Do(func() { close(done) })
		}
	})
	defer c.setOnReply(nil)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := c.send(1, func(_ int, m *wire.Message) { fill(m); m.TID = tid }); err != nil {
			return err
		}
		select {
		case <-done:
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
	return errors.New("no reply from the node")
}

// hello pings the node until it answers (it may still be starting).
func (c *client) hello() error {
	err := c.request(func(m *wire.Message) { m.Kind = wire.KindPing },
		func(m *wire.Message) bool { c.node = m.ID; return true }, 10*time.Second)
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// token does a get from this socket: put tokens are bound to IP and port.
func (c *client) token(key wire.InfoHash) ([]byte, error) {
	var tok []byte
	err := c.request(func(m *wire.Message) { m.Kind = wire.KindGet; m.Hash = key },
		func(m *wire.Message) bool { tok = slices.Clone(m.Token); return len(tok) > 0 }, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("get for a token: %w", err)
	}
	return tok, nil
}

// getValues returns the packed values the node holds at key (inline only:
// the benchmark's values are small).
func (c *client) getValues(key wire.InfoHash) ([][]byte, error) {
	var vals [][]byte
	err := c.request(func(m *wire.Message) { m.Kind = wire.KindGet; m.Hash = key },
		func(m *wire.Message) bool {
			vals = vals[:0]
			for _, v := range m.Values {
				vals = append(vals, slices.Clone(v))
			}
			return true
		}, 5*time.Second)
	return vals, err
}

// putOne stores v at key and waits for the acknowledgement.
func (c *client) putOne(key wire.InfoHash, tok []byte, v *value.Value) error {
	packed := v.Pack()
	return c.request(func(m *wire.Message) {
		m.Kind = wire.KindPut
		m.Hash = key
		m.Token = tok
		m.Values = [][]byte{packed}
	}, func(m *wire.Message) bool { return m.VID == v.ID }, 5*time.Second)
}

// payload is a 64-byte value body, different for every value.
func payload(b []byte, n uint64) []byte {
	b = b[:0]
	for i := 0; i < 8; i++ {
		b = binary.BigEndian.AppendUint64(b, n*0x9e3779b97f4a7c15+uint64(i))
	}
	return b
}

// ---- /proc -----------------------------------------------------------

// clkTck is USER_HZ, the unit of utime/stime in /proc/PID/stat: 100 on
// every Linux architecture Go runs on.
const clkTck = 100

// cpuTime returns utime+stime of every thread of pid.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	// comm may hold spaces: the fields after it start after the last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	// f[0] is field 3 (state): utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// rssKiB returns VmRSS of pid.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// runDelay returns the time the threads of pid spent runnable but waiting
// for a CPU (the second field of /proc/PID/task/TID/schedstat): on a shared
// machine it tells a node starved of its core from an idle one.
func runDelay(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			sum += v
		}
	}
	return time.Duration(sum)
}

// selfCPU is the generator's own CPU time, to show whether it, and not
// the node, was the bottleneck.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ---- load: replies per second and CPU per reply -----------------------

// putKeys is how many keys the put load spreads its values over: far below
// OpenDHT's 65,536 values per key, so that every put stores a new value.
const putKeys = 4096

func cmdLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	addr := fs.String("addr", "", "node address (127.0.0.1:PORT)")
	kind := fs.String("kind", "ping", "request: ping, get or put")
	rate := fs.Int("rate", 20000, "requests per second; 0: as fast as the node answers (closed loop)")
	dur := fs.Duration("duration", 5*time.Second, "measurement window")
	warm := fs.Duration("warmup", time.Second, "load before the window")
	window := fs.Int("window", 256, "requests in flight with -rate 0")
	pid := fs.Int("pid", 0, "node process, for CPU time")
	_ = fs.Parse(args)
	if *dur <= 0 || *dur > 2*time.Minute || *warm < 0 || *warm > time.Minute {
		return errors.New("-duration up to 2m, -warmup up to 1m")
	}
	if *rate < 0 || *rate > 2_000_000 || *window < 1 || *window > 65536 {
		return errors.New("-rate 0 to 2000000, -window 1 to 65536")
	}
	c, err := dialNode(*addr)
	if err != nil {
		return err
	}
	defer c.conn.Close()
	if err := c.hello(); err != nil {
		return err
	}

	// The request of sequence number seq; tids are the sequence numbers.
	nonce := uint64(rand.Uint32()) << 32 // fresh value ids on every run
	var fill func(seq uint64, m *wire.Message)
	switch *kind {
	case "ping":
		fill = func(seq uint64, m *wire.Message) { m.Kind = wire.KindPing; m.TID = uint32(seq) }
	case "get":
		// One 64-byte value at the key, so that each reply carries it.
		key := wire.InfoHashOf([]byte("dhtload-get"))
		tok, err := c.token(key)
		if err != nil {
			return err
		}
		v := &value.Value{ID: nonce | 1, Data: payload(nil, 1)}
		if err := c.putOne(key, tok, v); err != nil {
			return fmt.Errorf("put of the get target: %w", err)
		}
		vals, err := c.getValues(key)
		if err != nil || len(vals) == 0 {
			return fmt.Errorf("get target not stored (%v)", err)
		}
		fill = func(seq uint64, m *wire.Message) { m.Kind = wire.KindGet; m.TID = uint32(seq); m.Hash = key }
	case "put":
		tok, err := c.token(wire.InfoHashOf([]byte("dhtload-token")))
		if err != nil {
			return err
		}
		keys := make([]wire.InfoHash, putKeys)
		for i := range keys {
			keys[i] = wire.InfoHashOf([]byte("dhtload-put-" + strconv.Itoa(i)))
		}
		// send encodes each request right after fill: one buffer will do.
		var v value.Value
		var data [64]byte
		packed := [][]byte{nil}
		fill = func(seq uint64, m *wire.Message) {
			v = value.Value{ID: nonce | seq, Data: payload(data[:0], seq)}
			packed[0] = v.AppendPack(packed[0][:0])
			m.Kind = wire.KindPut
			m.TID = uint32(seq)
			m.Hash = keys[seq%putKeys]
			m.Token = tok
			m.Values = packed
		}
	default:
		return fmt.Errorf("-kind %q: want ping, get or put", *kind)
	}

	var seq uint64
	sendN := func(n int) error {
		return c.send(n, func(_ int, m *wire.Message) { seq++; fill(seq, m) })
	}
	var run func(d time.Duration) (sent int64, err error)
	if *rate > 0 {
		// Open loop at a fixed rate: what is due by now, in batches.
		run = func(d time.Duration) (int64, error) {
			start := time.Now()
			var sent int64
			for {
				el := time.Since(start)
				if el >= d {
					return sent, nil
				}
				due := int64(el.Seconds() * float64(*rate))
				for sent < due {
					n := int(min(due-sent, batch))
					if err := sendN(n); err != nil {
						return sent, err
					}
					sent += int64(n)
				}
				time.Sleep(200 * time.Microsecond)
			}
		}
	} else {
		// Closed loop: keep -window requests in flight. Both nodes answer
		// in order (one engine thread reads one socket), so the requests in
		// flight are those after the last one answered: a lost request or
		// reply does not shrink the window. When nothing at all comes back
		// for 50 ms, everything in flight is written off.
		run = func(d time.Duration) (int64, error) {
			end := time.Now().Add(d)
			var sent int64
			c.lastTID.Store(uint32(seq))
			t := time.NewTimer(time.Hour)
			for time.Now().Before(end) {
				inflight := int64(uint32(seq) - c.lastTID.Load())
				if inflight < int64(*window) {
					n := int(min(int64(*window)-inflight, batch))
					if err := sendN(n); err != nil {
						return sent, err
					}
					sent += int64(n)
					continue
				}
				t.Reset(50 * time.Millisecond)
				select {
				case <-c.notify:
				case <-t.C:
					c.lastTID.Store(uint32(seq))
				}
			}
			return sent, nil
		}
	}

	if _, err := run(*warm); err != nil {
		return err
	}
	r0, e0, o0 := c.replies.Load(), c.errs.Load(), c.other.Load()
	cpu0, err := cpuProc(*pid)
	if err != nil {
		return err
	}
	wait0, self0, t0 := runDelay(*pid), selfCPU(), time.Now()
	sent, err := run(*dur)
	if err != nil {
		return err
	}
	el := time.Since(t0)
	cpu1, err := cpuProc(*pid)
	if err != nil {
		return err
	}
	self1, wait1 := selfCPU(), runDelay(*pid)
	replies := c.replies.Load() - r0
	rss, _ := rssProc(*pid)
	perReply := 0.0
	if replies > 0 {
		perReply = float64((cpu1 - cpu0).Microseconds()) / float64(replies)
	}
	// replies_per_cpu_s is what one core would sustain if the node had it
	// all: on a shared machine the node may get less than a core, so
	// under a saturating load this, not replies_per_s, is its capacity.
	perCPU := 0.0
	if cpu1 > cpu0 {
		perCPU = float64(replies) / (cpu1 - cpu0).Seconds()
	}
	fmt.Printf("kind=%s rate=%d secs=%.3f sent=%d replies=%d errors=%d other=%d replies_per_s=%.0f replies_per_cpu_s=%.0f node_cpu_s=%.2f node_cpu_us_per_reply=%.2f node_cpu_pct=%.0f node_wait_pct=%.0f gen_cpu_pct=%.0f rss_kib=%d\n",
		*kind, *rate, el.Seconds(), sent, replies, c.errs.Load()-e0, c.other.Load()-o0,
		float64(replies)/el.Seconds(), perCPU, (cpu1 - cpu0).Seconds(), perReply,
		100*(cpu1-cpu0).Seconds()/el.Seconds(), 100*(wait1-wait0).Seconds()/el.Seconds(),
		100*(self1-self0).Seconds()/el.Seconds(), rss)
	return nil
}

func cpuProc(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	return cpuTime(pid)
}

func rssProc(pid int) (int64, error) {
	if pid == 0 {
		return 0, nil
	}
	return rssKiB(pid)
}

// ---- store: memory per stored value ---------------------------------

func cmdStore(args []string) error {
	fs := flag.NewFlagSet("store", flag.ExitOnError)
	addr := fs.String("addr", "", "node address (127.0.0.1:PORT)")
	n := fs.Int("n", 10000, "values to store, one per key")
	first := fs.Int("first", 0, "number of the first value (keys dhtload-store-FIRST...)")
	pid := fs.Int("pid", 0, "node process, for RSS")
	settle := fs.Duration("settle", 3*time.Second, "wait before reading RSS")
	window := fs.Int("window", 64, "puts in flight")
	_ = fs.Parse(args)
	if *n < 1 || *n > 1_000_000 || *first < 0 || *window < 1 || *window > 4096 || *settle > time.Minute {
		return errors.New("-n 1 to 1000000, -window 1 to 4096, -settle up to 1m")
	}
	c, err := dialNode(*addr)
	if err != nil {
		return err
	}
	defer c.conn.Close()
	if err := c.hello(); err != nil {
		return err
	}
	tok, err := c.token(wire.InfoHashOf([]byte("dhtload-token")))
	if err != nil {
		return err
	}
	key := func(i int) wire.InfoHash { return wire.InfoHashOf([]byte("dhtload-store-" + strconv.Itoa(*first+i))) }
	val := func(i int) *value.Value {
		return &value.Value{ID: uint64(*first+i) + 1, Data: payload(nil, uint64(*first+i))}
	}

	// Acknowledgements by tid (= index); the value id must match.
	acked := make([]atomic.Bool, *n)
	var ackN atomic.Int64
	c.setOnReply(func(m *wire.Message) {
		i := int(m.TID)
		if i < *n && m.VID == uint64(*first+i)+1 && !acked[i].Swap(true) {
			ackN.Add(1)
		}
	})
	// Closed loop with -window puts in flight; puts that got no answer
	// within 100 ms are written off and sent again in the next round.
	t := time.NewTimer(time.Hour)
	for round := 0; round < 5 && ackN.Load() < int64(*n); round++ {
		var todo []int
		for i := range acked {
			if !acked[i].Load() {
				todo = append(todo, i)
			}
		}
		base := ackN.Load()
		var sent, writtenOff int64
		for len(todo) > 0 {
			inflight := sent - (ackN.Load() - base) - writtenOff
			if inflight < int64(*window) {
				k := min(len(todo), batch, *window-int(inflight))
				part := todo[:k]
				todo = todo[k:]
				if err := c.send(k, func(j int, m *wire.Message) {
					i := part[j]
					m.Kind = wire.KindPut
					m.TID = uint32(i)
					m.Hash = key(i)
					m.Token = tok
					m.Values = [][]byte{val(i).Pack()}
				}); err != nil {
					return err
				}
				sent += int64(k)
				continue
			}
			t.Reset(100 * time.Millisecond)
			select {
			case <-c.notify:
			case <-t.C:
				writtenOff += inflight
			}
		}
		// Let the last acknowledgements of the round arrive.
		for w := 0; w < 20 && ackN.Load() < int64(*n); w++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
	c.setOnReply(nil)
	if ackN.Load() < int64(*n) {
		return fmt.Errorf("only %d of %d puts acknowledged", ackN.Load(), *n)
	}
	// Put replies claim success even when nothing was stored: check a
	// sample with gets.
	const sample = 100
	found := 0
	for s := 0; s < sample; s++ {
		i := rand.IntN(*n)
		vals, err := c.getValues(key(i))
		if err != nil {
			return err
		}
		want := val(i).Pack()
		for _, v := range vals {
			if string(v) == string(want) {
				found++
				break
			}
		}
	}
	time.Sleep(*settle)
	rss, err := rssProc(*pid)
	if err != nil {
		return err
	}
	fmt.Printf("stored=%d acked=%d verified=%d/%d rss_kib=%d\n", *n, ackN.Load(), found, sample, rss)
	if found < sample {
		return fmt.Errorf("%d of %d sampled values not stored", sample-found, sample)
	}
	return nil
}

// ---- latency on a loopback network -----------------------------------

func cmdLatency(args []string) error {
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	boot := fs.String("bootstrap", "", "a node of the network (127.0.0.1:PORT)")
	n := fs.Int("n", 30, "rounds (one put, one listen notification, one get each)")
	warm := fs.Duration("warmup", 3*time.Second, "time for the clients' routing tables to fill")
	listenWait := fs.Duration("listen-wait", 500*time.Millisecond, "between listen and put")
	_ = fs.Parse(args)
	if *n < 1 || *n > 1000 || *warm > time.Minute || *listenWait > 10*time.Second {
		return errors.New("-n 1 to 1000, -warmup up to 1m, -listen-wait up to 10s")
	}
	ap, err := netip.ParseAddrPort(*boot)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("-bootstrap %q: want a loopback address and port", *boot)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// Three client nodes, as a Jami device would be: A puts, B listens, C
	// gets a key it never saw (so nothing comes from a local cache).
	var cl [3]*dht.Node
	for i := range cl {
		nd, err := dht.New(dht.Config{BindIPv4: netip.AddrFrom4([4]byte{127, 0, 0, 1}), NoIPv6: true, NoRateLimit: true})
		if err != nil {
			return err
		}
		defer nd.Close()
		bctx, bcancel := context.WithTimeout(ctx, 15*time.Second)
		err = nd.Bootstrap(bctx, *boot)
		bcancel()
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		cl[i] = nd
	}
	time.Sleep(*warm)

	var put, get, lis []time.Duration
	nonce := rand.Uint64()
	missedListen, missedGet := 0, 0
	for i := 0; i < *n; i++ {
		key := wire.InfoHashOf([]byte(fmt.Sprintf("dhtload-lat-%x-%d", nonce, i)))
		v := &value.Value{ID: nonce&^0xffff_ffff | uint64(i+1), Data: payload(nil, uint64(i))}
		got := make(chan time.Time, 1)
		octx, ocancel := context.WithTimeout(ctx, 10*time.Second)
		tok, err := cl[1].Listen(octx, key, nil, func(vals []*value.Value, expired bool) bool {
			if !expired {
				for _, x := range vals {
					if x.ID == v.ID {
						select {
						case got <- time.Now():
						default:
						}
					}
				}
			}
			return true
		})
		if err != nil {
			ocancel()
			return fmt.Errorf("listen: %w", err)
		}
		time.Sleep(*listenWait)
		t0 := time.Now()
		if err := cl[0].Put(octx, key, v, dht.PutOptions{}); err != nil {
			ocancel()
			return fmt.Errorf("put %d: %w", i, err)
		}
		put = append(put, time.Since(t0))
		select {
		case t := <-got:
			lis = append(lis, t.Sub(t0))
		case <-time.After(5 * time.Second):
			missedListen++
		}
		t1 := time.Now()
		vals, err := cl[2].Get(octx, key, nil)
		d := time.Since(t1)
		if err != nil {
			ocancel()
			return fmt.Errorf("get %d: %w", i, err)
		}
		if slices.ContainsFunc(vals, func(x *value.Value) bool { return x.ID == v.ID }) {
			get = append(get, d)
		} else {
			missedGet++
		}
		_, _ = cl[1].CancelListen(octx, tok)
		ocancel()
	}
	fmt.Printf("rounds=%d put_p50_ms=%.2f put_p90_ms=%.2f get_p50_ms=%.2f get_p90_ms=%.2f listen_p50_ms=%.2f listen_p90_ms=%.2f missed_get=%d missed_listen=%d\n",
		*n, pct(put, 50), pct(put, 90), pct(get, 50), pct(get, 90), pct(lis, 50), pct(lis, 90), missedGet, missedListen)
	return nil
}

// pct is the nearest-rank percentile, in milliseconds (NaN when empty).
func pct(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return float64(0) / float64(len(d))
	}
	s := slices.Clone(d)
	slices.Sort(s)
	r := (p*len(s) + 99) / 100
	r = max(r, 1)
	return float64(s[r-1].Microseconds()) / 1000
}

// ---- serve: our engine under a CPU profile ---------------------------

// cmdServe runs one node as `dhtnode -s -U -p PORT` configures it, and
// writes a CPU profile when it stops (SIGTERM, SIGINT or -max): the
// dhtnode binary has no profiling switch, and the node is the same
// lib/dht engine.
func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	port := fs.Uint("port", 0, "UDP port")
	prof := fs.String("cpuprofile", "", "write a CPU profile here")
	memProf := fs.String("memprofile", "", "write a heap profile here when stopping")
	maxRun := fs.Duration("max", 5*time.Minute, "stop after this long")
	_ = fs.Parse(args)
	if *port > 65535 || *maxRun > time.Hour {
		return errors.New("-port up to 65535, -max up to 1h")
	}
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	nd, err := dht.New(dht.Config{Port: uint16(*port), NoRateLimit: true})
	if err != nil {
		return err
	}
	defer nd.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *maxRun)
	defer cancel()
	<-ctx.Done()
	if *memProf != "" {
		// Live heap (after a collection) next to what the OS sees: the gap
		// is the garbage collector's headroom.
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss, _ := rssKiB(os.Getpid())
		fmt.Printf("heap_inuse_kib=%d heap_sys_kib=%d sys_kib=%d rss_kib=%d\n",
			ms.HeapInuse>>10, ms.HeapSys>>10, ms.Sys>>10, rss)
		f, err := os.Create(*memProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			return err
		}
	}
	return nil
}
