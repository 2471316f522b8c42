package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// D-Bus names of the 2023 daemon (same in HEAD).
const (
	BusName   = "cx.ring.Ring"
	ObjPrefix = "/cx/ring/Ring"
)

// ErrDaemonDied is returned (wrapped) when jamid is no longer running.
var ErrDaemonDied = errors.New("jamid is not running")

// ErrDaemonHung is returned (wrapped) when a D-Bus call got no answer within
// CallTimeout while the caller could still wait: jamid 13.7.0 deadlocks now
// and then under load (seen in setAccountDetails right after an import).
var ErrDaemonHung = errors.New("jamid did not answer (hung)")

// JamidOptions configures one daemon instance.
type JamidOptions struct {
	// NameServer is RingNS.uri for accounts created by AddAccount (default
	// http://127.0.0.1:9, a closed port inside the namespace, so that no lookup
	// ever leaves it).
	NameServer string
	// NoDebug starts jamid without -d (smaller logs).
	NoDebug bool
	// AutoAnswer starts jamid with --auto-answer.
	AutoAnswer bool
	// Env adds KEY=VALUE entries to jamid's otherwise empty environment.
	Env []string
}

// Jamid is one jamid with its private bus and scratch home.
type Jamid struct {
	Name      string
	Dir       string // scratch dir: bus socket, bus.conf, home/, run/
	Home      string // $HOME
	DataDir   string // $XDG_DATA_HOME/jami: one folder per account
	ConfigDir string // $XDG_CONFIG_HOME/jami (dring.yml)
	CacheDir  string // $XDG_CACHE_HOME
	BusAddr   string // unix:path=Dir/bus
	LogDir    string // jamid.log, bus.log, signals.log (the test's temp dir)
	Log       string // jamid's log

	Net *Net
	opt JamidOptions

	mu      sync.Mutex
	bus     *Proc
	proc    *Proc
	last    *Proc // the previous run, after Stop
	conn    *dbus.Conn
	signals []Signal
	notify  chan struct{} // closed and replaced on every new signal
	sigFile *os.File
}

// Jamid creates and starts a daemon instance named name (letters, digits, -_.),
// failing the test if it does not come up. It is stopped by tb.Cleanup.
func (n *Net) Jamid(tb testing.TB, name string) *Jamid {
	tb.Helper()
	j := n.NewJamid(tb, name, JamidOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if err := j.Start(ctx); err != nil {
		tb.Fatalf("starting jamid %s: %v", name, err)
	}
	return j
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)

// NewJamid prepares an instance without starting it: its folders exist, so a test
// may put account folders into DataDir before Start. tb.Cleanup stops it and, if the
// test failed, prints the tails of its logs and all its signals.
func (n *Net) NewJamid(tb testing.TB, name string, opt JamidOptions) *Jamid {
	tb.Helper()
	if !validName.MatchString(name) {
		tb.Fatalf("invalid jamid instance name %q", name)
	}
	logDir := tb.TempDir()
	dir := logDir
	// A unix socket path is limited to 107 bytes; long test names make long temp dirs.
	if len(dir)+len("/bus") > 100 {
		d, err := os.MkdirTemp("", "jamid-")
		if err != nil {
			tb.Fatal(err)
		}
		dir = d
		tb.Cleanup(func() { os.RemoveAll(d) })
	}
	home := filepath.Join(dir, "home")
	j := &Jamid{
		Name:      name,
		Dir:       dir,
		Home:      home,
		DataDir:   filepath.Join(home, ".local", "share", "jami"),
		ConfigDir: filepath.Join(home, ".config", "jami"),
		CacheDir:  filepath.Join(home, ".cache"),
		BusAddr:   "unix:path=" + filepath.Join(dir, "bus"),
		LogDir:    logDir,
		Log:       filepath.Join(logDir, "jamid.log"),
		Net:       n,
		opt:       opt,
		notify:    make(chan struct{}),
	}
	for _, d := range []string{j.DataDir, j.ConfigDir, j.CacheDir, filepath.Join(home, ".local", "state"), filepath.Join(dir, "run")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() {
		if err := j.Stop(); err != nil {
			tb.Errorf("stopping jamid %s: %v", name, err)
		}
		if tb.Failed() {
			j.dumpLogs(tb)
		}
		j.mu.Lock()
		if j.sigFile != nil {
			j.sigFile.Close()
			j.sigFile = nil
		}
		j.mu.Unlock()
	})
	return j
}

func (j *Jamid) dumpLogs(tb testing.TB) {
	tb.Logf("--- jamid %s log (%s):\n%s", j.Name, j.Log, Tail(j.Log, 120))
	if s := Tail(filepath.Join(j.LogDir, "bus.log"), 20); s != "" {
		tb.Logf("--- dbus-daemon %s log:\n%s", j.Name, s)
	}
	var b strings.Builder
	for _, s := range j.Signals(0) {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	tb.Logf("--- jamid %s signals:\n%s", j.Name, b.String())
}

// env is jamid's whole environment: nothing of the test process leaks in, HOME and
// XDG_* point into the scratch dir, the system bus and PulseAudio do not exist.
func (j *Jamid) env() []string {
	run := filepath.Join(j.Dir, "run")
	e := []string{
		"PATH=" + minimalPath,
		"LANG=C.UTF-8",
		"HOME=" + j.Home,
		"XDG_CONFIG_HOME=" + filepath.Join(j.Home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(j.Home, ".local", "share"),
		"XDG_CACHE_HOME=" + j.CacheDir,
		"XDG_STATE_HOME=" + filepath.Join(j.Home, ".local", "state"),
		"XDG_RUNTIME_DIR=" + run,
		"DBUS_SESSION_BUS_ADDRESS=" + j.BusAddr,
		"DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + filepath.Join(run, "no-system-bus"),
		"PULSE_SERVER=unix:" + filepath.Join(run, "no-pulse"),
	}
	return append(e, j.opt.Env...)
}

// busConfig: a session bus on a filesystem socket (abstract sockets are per network
// namespace, a path works across them), EXTERNAL auth, permissive policy and, above
// all, no <servicedir>: a call to a dead jamid fails with ServiceUnknown instead of
// D-Bus-activating a fresh daemon with the bus' environment (the real home).
func (j *Jamid) busConfig() string {
	return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=` + filepath.Join(j.Dir, "bus") + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
}

// Start launches the private bus and jamid (again, after Stop: the home is kept, so
// this is a daemon restart) and waits until jamid answers on D-Bus.
func (j *Jamid) Start(ctx context.Context) error {
	if j.Running() {
		return fmt.Errorf("jamid %s already runs", j.Name)
	}
	t0 := time.Now()
	ctx, cancel := withDefaultTimeout(ctx, StartTimeout)
	defer cancel()
	// The namespace is checked again right before any daemon starts in it.
	if err := j.Net.Check(); err != nil {
		return err
	}
	conf := filepath.Join(j.Dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(j.busConfig()), 0o600); err != nil {
		return err
	}
	sock := filepath.Join(j.Dir, "bus")
	os.Remove(sock)
	bus, err := j.Net.spawnAt("dbus-daemon "+j.Name, j.Dir, filepath.Join(j.LogDir, "bus.log"),
		[]string{"PATH=" + minimalPath, "HOME=" + j.Home, "XDG_RUNTIME_DIR=" + filepath.Join(j.Dir, "run")},
		"dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile")
	if err != nil {
		return err
	}
	j.mu.Lock()
	j.bus = bus
	j.mu.Unlock()
	conn, err := j.connect(ctx, bus)
	if err != nil {
		j.Stop()
		return err
	}
	// Subscribe before jamid starts, so that no signal is missed.
	if err := j.watchSignals(conn); err != nil {
		conn.Close()
		j.Stop()
		return err
	}
	j.mu.Lock()
	j.conn = conn
	j.mu.Unlock()

	// No -p: jamid then quits through its main loop when its last registered
	// client unregisters, which is how Stop ends it (see there).
	args := []string{JamidPath, "-c"}
	if !j.opt.NoDebug {
		args = append(args, "-d")
	}
	if j.opt.AutoAnswer {
		args = append(args, "--auto-answer")
	}
	p, err := j.Net.spawnAt("jamid "+j.Name, j.Dir, j.Log, j.env(), args...)
	if err != nil {
		j.Stop()
		return err
	}
	j.mu.Lock()
	j.proc = p
	j.mu.Unlock()
	if err := j.waitReady(ctx); err != nil {
		j.Stop()
		return err
	}
	// Register as jamid's client, so that Stop can end it with Unregister.
	if err := j.Call(ctx, "Instance.Register", int32(os.Getpid()), "jamikit-interop").Err; err != nil {
		j.Stop()
		return err
	}
	// Prove where it runs before anything else talks to it.
	if !j.Net.InNamespace(p.Pid()) {
		j.Stop()
		return fmt.Errorf("jamid %s (pid %d) is not in namespace %s", j.Name, p.Pid(), j.Net.Name)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.Pid())); exe != JamidPath {
		j.Stop()
		return fmt.Errorf("pid %d is %q, not %s", p.Pid(), exe, JamidPath)
	}
	if tb := j.Net.tb; tb != nil {
		tb.Logf("sandbox: jamid %s pid %d up in %v (bus %s)", j.Name, p.Pid(), time.Since(t0).Round(time.Millisecond), j.BusAddr)
	}
	return nil
}

func (j *Jamid) connect(ctx context.Context, bus *Proc) (*dbus.Conn, error) {
	var last error
	for {
		if _, err := os.Stat(filepath.Join(j.Dir, "bus")); err == nil {
			conn, err := dbus.Connect(j.BusAddr, dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
			if err == nil {
				return conn, nil
			}
			last = err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("private dbus-daemon of %s not reachable (%v): %w\n%s", j.Name, last, ctx.Err(), Tail(bus.Log, 10))
		case <-bus.Done():
			return nil, fmt.Errorf("private dbus-daemon of %s exited: %v\n%s", j.Name, bus.ExitError(), Tail(bus.Log, 10))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (j *Jamid) waitReady(ctx context.Context) error {
	for {
		j.mu.Lock()
		conn, p := j.conn, j.proc
		j.mu.Unlock()
		var has bool
		if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, BusName).Store(&has); err == nil && has {
			var list []string
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := j.obj("ConfigurationManager").CallWithContext(cctx, "cx.ring.Ring.ConfigurationManager.getAccountList", 0).Store(&list)
			cancel()
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jamid %s did not own %s: %w\n%s", j.Name, BusName, ctx.Err(), Tail(j.Log, 20))
		case <-p.Done():
			return fmt.Errorf("jamid %s exited during start-up (%v):\n%s", j.Name, p.ExitError(), Tail(j.Log, 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop ends jamid — Instance.Unregister (a clean exit from its main loop), else by
// PID SIGTERM then SIGKILL — and then its bus. The scratch home is kept, so Start
// restarts the same daemon state.
func (j *Jamid) Stop() error {
	j.mu.Lock()
	p, bus, conn := j.proc, j.bus, j.conn
	j.proc, j.bus, j.conn = nil, nil, nil
	if p != nil {
		j.last = p
	}
	j.mu.Unlock()
	var errs []error
	if p != nil && p.Alive() && conn != nil {
		// jamid 13.7.0 runs its whole shutdown inside its SIGTERM handler. When the
		// signal lands while the main thread is in libdbus (e.g. still returning from
		// sending the reply to our last call), the handler blocks on the connection
		// lock that very thread holds: a self-deadlock, seen in about half the stops
		// made right after a D-Bus call (gdb: signal handler frame on top of
		// dbus_connection_send in the main thread). Unregistering its last client
		// instead makes jamid shut down from its main loop.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = conn.Object(BusName, ObjPrefix+"/Instance").CallWithContext(ctx, BusName+".Instance.Unregister", 0, int32(os.Getpid())).Err
		cancel()
		select {
		case <-p.Done():
		case <-time.After(JamidStopGrace):
		}
	}
	if p != nil {
		// By PID: SIGTERM, then SIGKILL. Needed when jamid hangs in its second known
		// shutdown deadlock (both paths): dht::ThreadPool::stop() holds the pool's
		// mutex while dropping pending tasks, and a destructor run by that posts a new
		// task to the same pool (gdb: ThreadPool::run under ThreadPool::stop under
		// ThreadPool::join, main thread). Its state is on disk long before, so the
		// kill is noted, not a failure of the test that used it.
		err := p.Stop(3 * time.Second)
		tb := j.Net.tb
		switch {
		case errors.Is(err, ErrKilled) && tb != nil:
			tb.Logf("sandbox: jamid %s hung in its shutdown (known jamid 13.7.0 deadlock): %v", j.Name, err)
		case err != nil:
			errs = append(errs, err)
		case p.ExitError() != nil && tb != nil:
			tb.Logf("sandbox: jamid %s exited with %v", j.Name, p.ExitError())
		}
	}
	if conn != nil {
		conn.Close()
	}
	if bus != nil {
		if err := bus.Stop(5 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ExitError is how the last stopped jamid run ended: nil for a clean exit (status 0),
// "signal: killed" when Stop had to kill it (see there).
func (j *Jamid) ExitError() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.last == nil {
		return errors.New("jamid was not stopped")
	}
	return j.last.ExitError()
}

// Kill SIGKILLs jamid (crash simulation); the bus stays up.
func (j *Jamid) Kill() error {
	j.mu.Lock()
	p := j.proc
	j.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.Kill()
}

// deadErr wraps ErrDaemonDied with how jamid ended (e.g. a segmentation fault).
func (j *Jamid) deadErr() error {
	j.mu.Lock()
	p := j.proc
	j.mu.Unlock()
	switch {
	case p == nil:
		return fmt.Errorf("%w (stopped)", ErrDaemonDied)
	case p.Alive():
		return nil
	case p.ExitError() != nil:
		return fmt.Errorf("%w (%v; log %s)", ErrDaemonDied, p.ExitError(), j.Log)
	default:
		return fmt.Errorf("%w (exited with status 0)", ErrDaemonDied)
	}
}

// Running reports whether jamid runs.
func (j *Jamid) Running() bool {
	j.mu.Lock()
	p := j.proc
	j.mu.Unlock()
	return p != nil && p.Alive()
}

// Pid is jamid's PID (0 when not started).
func (j *Jamid) Pid() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.proc == nil {
		return 0
	}
	return j.proc.Pid()
}

// Conn is the test process' connection to the private bus (nil when stopped).
func (j *Jamid) Conn() *dbus.Conn {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.conn
}

func (j *Jamid) obj(manager string) dbus.BusObject {
	return j.Conn().Object(BusName, dbus.ObjectPath(ObjPrefix+"/"+manager))
}

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Call invokes a daemon method. method is "name" (ConfigurationManager),
// "Manager.name" (CallManager, PresenceManager, VideoManager, Instance, ...) or a
// full "cx.ring.Ring.X.name". Without a deadline on ctx, CallTimeout applies.
// Store the results with .Store(&a, &b).
func (j *Jamid) Call(ctx context.Context, method string, args ...any) *dbus.Call {
	iface, member := "ConfigurationManager", method
	switch parts := strings.Split(method, "."); {
	case len(parts) == 2:
		iface, member = parts[0], parts[1]
	case len(parts) > 2 && strings.HasPrefix(method, BusName+"."):
		rest := strings.TrimPrefix(method, BusName+".")
		i := strings.LastIndexByte(rest, '.')
		iface, member = rest[:i], rest[i+1:]
	}
	if !j.Running() {
		return &dbus.Call{Err: fmt.Errorf("%s on %s: %w", method, j.Name, j.deadErr())}
	}
	// Every call is bounded by CallTimeout, even under a longer caller
	// deadline: jamid answers each method at once (the work is async), so
	// a call that takes longer means a hung daemon, to be told apart early.
	callCtx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	c := j.obj(iface).CallWithContext(callCtx, BusName+"."+iface+"."+member, 0, args...)
	if c.Err != nil {
		err := c.Err
		switch {
		case !j.Running():
			err = fmt.Errorf("%w (%v)", j.deadErr(), err)
		case callCtx.Err() != nil && ctx.Err() == nil:
			err = fmt.Errorf("%w after %v (%v)", ErrDaemonHung, CallTimeout, err)
		}
		c.Err = fmt.Errorf("%s.%s on %s: %w", iface, member, j.Name, err)
	}
	return c
}
