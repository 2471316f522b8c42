package sandbox

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Timeouts bounding every harness step.
var (
	StartTimeout    = 30 * time.Second // dbus-daemon, dhtnode or jamid to come up
	StopGrace       = 15 * time.Second // SIGTERM → SIGKILL (dhtnode, dbus-daemon, ...)
	JamidStopGrace  = 10 * time.Second // jamid: Unregister, then SIGTERM (3 s), then SIGKILL
	CallTimeout     = 60 * time.Second // one D-Bus call when the caller's ctx has no deadline
	RegisterTimeout = 90 * time.Second // AddAccount/WaitAccount when ctx has no deadline
)

// Options configures a sandbox network.
type Options struct {
	// DHTPort is the UDP port of the namespace's dhtnode (default 4222).
	DHTPort int
	// NoDHT leaves the namespace without a dhtnode.
	NoDHT bool
	// DHTArgs are appended to `dhtnode -s -v -p PORT`.
	DHTArgs []string
}

// Net is one isolated network namespace with its processes.
type Net struct {
	Name    string // namespace name (/run/netns/Name)
	Addr    string // the non-loopback IPv4 address inside it (10.77.x.1)
	Dir     string // folder holding the logs of the namespace's processes
	DHT     *Proc  // the dhtnode (nil with NoDHT)
	DHTPort int

	tb    testing.TB
	inode uint64

	mu     sync.Mutex
	procs  []*Proc
	closed bool
}

func ipPath() string {
	if p, err := exec.LookPath("ip"); err == nil {
		return p
	}
	return "/usr/sbin/ip"
}

func ip(args ...string) (string, error) {
	out, err := exec.Command(ipPath(), args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Start creates the test's namespace and its dhtnode (skipping or failing the test
// per Require when the machine cannot run them). Everything is removed by tb.Cleanup.
func Start(tb testing.TB, opt Options) *Net {
	tb.Helper()
	Require(tb)
	n, err := NewNet(tb.TempDir(), opt, tb.Logf)
	if n != nil {
		n.tb = tb
		tb.Cleanup(func() {
			if tb.Failed() && n.DHT != nil {
				tb.Logf("--- dhtnode log (%s):\n%s", n.DHT.Log, Tail(n.DHT.Log, 40))
			}
			if err := n.Close(); err != nil {
				tb.Errorf("sandbox cleanup: %v", err)
			}
		})
	}
	if err != nil {
		tb.Fatalf("sandbox: %v", err)
	}
	return n
}

// NewNet creates a namespace (and its dhtnode unless opt.NoDHT) with logs under dir.
// On error the returned *Net, if non-nil, must still be closed. logf may be nil.
func NewNet(dir string, opt Options, logf func(string, ...any)) (*Net, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if opt.DHTPort == 0 {
		opt.DHTPort = 4222
	}
	t0 := time.Now()
	b := make([]byte, 1)
	_, _ = rand.Read(b)
	n := &Net{
		Name: fmt.Sprintf("jamikit-%d-%s", os.Getpid(), randHex(3)),
		// a /24 per run keeps logs of parallel runs distinguishable; the namespaces
		// are separate anyway
		Addr:    fmt.Sprintf("10.77.%d.1", b[0]),
		Dir:     dir,
		DHTPort: opt.DHTPort,
	}
	if _, err := ip("netns", "add", n.Name); err != nil {
		return nil, err
	}
	if err := n.setup(); err != nil {
		return n, err
	}
	if err := n.Check(); err != nil {
		return n, err
	}
	logf("sandbox: namespace %s (lo, jk0 %s/24, no IPv6) ready in %v", n.Name, n.Addr, time.Since(t0).Round(time.Millisecond))
	if opt.NoDHT {
		return n, nil
	}
	t1 := time.Now()
	// -s: service mode; without it dhtnode exits as soon as its stdin is at EOF.
	argv := append([]string{"dhtnode", "-s", "-v", "-p", strconv.Itoa(opt.DHTPort)}, opt.DHTArgs...)
	p, err := n.Spawn("dhtnode", nil, argv...)
	if err != nil {
		return n, err
	}
	n.DHT = p
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if err := n.WaitPort(ctx, "udp", opt.DHTPort, p); err != nil {
		return n, fmt.Errorf("dhtnode: %w\n%s", err, Tail(p.Log, 20))
	}
	logf("sandbox: dhtnode pid %d on udp/%d in %v", p.Pid(), opt.DHTPort, time.Since(t1).Round(time.Millisecond))
	return n, nil
}

func (n *Net) setup() error {
	// IPv6 off before any link exists, so the veth pair inherits "default" = disabled.
	// jamid 13.7.0's bundled pjproject loops forever reading the IPv6 address dump
	// (it expects NLMSG_DONE at the start of a datagram; this kernel appends it to
	// the last address), which deadlocks the daemon as soon as ICE gathers candidates.
	sysctl := "for k in all default lo; do echo 1 > /proc/sys/net/ipv6/conf/$k/disable_ipv6 || exit 1; done"
	if out, err := exec.Command(ipPath(), "netns", "exec", n.Name, "sh", "-c", sysctl).CombinedOutput(); err != nil {
		return fmt.Errorf("disabling IPv6 in %s: %v: %s", n.Name, err, out)
	}
	steps := [][]string{
		{"-n", n.Name, "link", "set", "lo", "up"},
		// pjnath never gathers loopback addresses, and this kernel has no dummy link
		// type: a veth pair with both ends in the namespace carries the address.
		{"-n", n.Name, "link", "add", "jk0", "type", "veth", "peer", "name", "jk0p"},
		{"-n", n.Name, "addr", "add", n.Addr + "/24", "dev", "jk0"},
		{"-n", n.Name, "link", "set", "jk0p", "up"},
		{"-n", n.Name, "link", "set", "jk0", "up"},
	}
	for _, s := range steps {
		if _, err := ip(s...); err != nil {
			return err
		}
	}
	ino, err := netnsInode(filepath.Join("/run/netns", n.Name))
	if err != nil {
		return err
	}
	n.inode = ino
	return nil
}

// Check refuses a namespace that could reach anything outside itself (a link into
// another namespace, an unexpected link type, a default route) or that has IPv6.
func (n *Net) Check() error {
	host, err := netnsInode("/proc/1/ns/net")
	if err == nil && host == n.inode {
		return fmt.Errorf("namespace %s is the host namespace", n.Name)
	}
	out, err := ip("-n", n.Name, "-j", "-d", "link", "show")
	if err != nil {
		return err
	}
	var links []struct {
		Name     string  `json:"ifname"`
		Type     string  `json:"link_type"`
		NetnsID  *int    `json:"link_netnsid"`
		Link     *string `json:"link"`
		LinkInfo *struct {
			Kind string `json:"info_kind"`
		} `json:"linkinfo"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		return fmt.Errorf("parsing ip link output: %v", err)
	}
	names := map[string]bool{}
	for _, l := range links {
		names[l.Name] = true
	}
	for _, l := range links {
		if l.NetnsID != nil {
			return fmt.Errorf("namespace %s: link %s leads to another namespace (netnsid %d); refusing", n.Name, l.Name, *l.NetnsID)
		}
		switch {
		case l.Type == "loopback":
		case l.LinkInfo != nil && l.LinkInfo.Kind == "veth":
			if l.Link == nil || !names[*l.Link] {
				return fmt.Errorf("namespace %s: veth %s has its peer outside; refusing", n.Name, l.Name)
			}
		default:
			return fmt.Errorf("namespace %s: unexpected link %s (%s); refusing", n.Name, l.Name, l.Type)
		}
	}
	for _, fam := range []string{"-4", "-6"} {
		out, err := ip("-n", n.Name, fam, "route", "show", "default")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("namespace %s has a default route: %s", n.Name, out)
		}
	}
	out, err = ip("-n", n.Name, "-6", "-o", "addr", "show")
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) != "" {
		return fmt.Errorf("namespace %s has IPv6 addresses (jamid would deadlock): %s", n.Name, out)
	}
	return nil
}

// Bootstrap is the dhtnode address for Account.hostname.
func (n *Net) Bootstrap() string { return fmt.Sprintf("127.0.0.1:%d", n.DHTPort) }

// Command prepares a foreground program running inside the namespace (with the test
// process' environment unless cmd.Env is set).
func (n *Net) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, ipPath(), append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Spawn starts a background program inside the namespace with exactly env (nil:
// PATH and HOME=n.Dir only), logging to Dir/tag.log; it is stopped by Close.
func (n *Net) Spawn(tag string, env []string, argv ...string) (*Proc, error) {
	if env == nil {
		env = []string{"PATH=" + minimalPath, "HOME=" + n.Dir, "LANG=C.UTF-8"}
	}
	return n.spawnAt(tag, n.Dir, filepath.Join(n.Dir, tag+".log"), env, argv...)
}

const minimalPath = "/usr/sbin:/usr/bin:/sbin:/bin"

func (n *Net) spawnAt(tag, dir, logPath string, env []string, argv ...string) (*Proc, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, errStopped
	}
	p, err := spawn(n.Name, tag, dir, logPath, env, argv...)
	if err != nil {
		return nil, err
	}
	n.procs = append(n.procs, p)
	return p, nil
}

// InNamespace reports whether pid runs inside this namespace.
func (n *Net) InNamespace(pid int) bool {
	ino, err := netnsInode(fmt.Sprintf("/proc/%d/ns/net", pid))
	return err == nil && ino == n.inode
}

// WaitPort waits until something in the namespace listens on proto ("udp" or "tcp")
// port. If p is non-nil, it fails early when p exits.
func (n *Net) WaitPort(ctx context.Context, proto string, port int, p *Proc) error {
	for {
		ok, err := n.listening(ctx, proto, port)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		var done <-chan struct{}
		if p != nil {
			done = p.Done()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listens on %s/%d in %s: %w", proto, port, n.Name, ctx.Err())
		case <-done:
			return fmt.Errorf("%s exited (%v) before listening on %s/%d", p.Name, p.ExitError(), proto, port)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// listening reads /proc/net/{udp,tcp} as seen from inside the namespace.
func (n *Net) listening(ctx context.Context, proto string, port int) (bool, error) {
	var want string // socket state: 07 = unconnected UDP, 0A = TCP LISTEN
	switch proto {
	case "udp":
		want = "07"
	case "tcp":
		want = "0A"
	default:
		return false, fmt.Errorf("WaitPort: proto %q", proto)
	}
	out, err := n.Command(ctx, "cat", "/proc/net/"+proto).Output()
	if err != nil {
		return false, fmt.Errorf("reading /proc/net/%s in %s: %v", proto, n.Name, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[0] == "sl" {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		p, err := strconv.ParseUint(f[1][i+1:], 16, 16)
		if err == nil && int(p) == port && f[3] == want {
			return true, nil
		}
	}
	return false, nil
}

// Close stops every process started in the namespace (newest first), stops any
// leftover process found inside it, and deletes the namespace. Idempotent.
func (n *Net) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	procs := n.procs
	n.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		// A process its owner already had to SIGKILL (jamid's shutdown hang) is gone
		// and was reported there.
		if err := procs[i].Stop(StopGrace); err != nil && !errors.Is(err, ErrKilled) {
			errs = append(errs, err)
		}
	}
	// Anything still inside a namespace this run created was started by this test
	// (e.g. a Command left running): stop it by PID and report it.
	if out, err := ip("netns", "pids", n.Name); err == nil {
		for _, f := range strings.Fields(out) {
			pid, err := strconv.Atoi(f)
			if err != nil || pid == os.Getpid() {
				continue
			}
			if pr, err := os.FindProcess(pid); err == nil {
				errs = append(errs, fmt.Errorf("leftover process %d in %s; killed", pid, n.Name))
				_ = pr.Kill()
			}
		}
	}
	if _, err := ip("netns", "del", n.Name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
