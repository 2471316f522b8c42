package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/jamikit/jamikit/tests/interop/sandbox"
)

// TestSelf exercises the harness against the real jamid and dhtnode: isolation,
// account creation to REGISTERED, export with and without the right password, an
// import whose archive overrides a network detail (re-applied), a failed import
// (account removed), a killed daemon that is not re-activated, and a cleanup that
// leaves no process and no namespace behind.
func TestSelf(t *testing.T) {
	sandbox.Require(t)
	var nsName string
	var pids []int
	t.Run("run", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		net := sandbox.Start(t, sandbox.Options{})
		nsName = net.Name
		pids = append(pids, net.DHT.Pid())
		if err := net.Check(); err != nil {
			t.Fatal(err)
		}
		if !net.InNamespace(net.DHT.Pid()) {
			t.Fatalf("dhtnode pid %d outside %s", net.DHT.Pid(), net.Name)
		}

		const pw = "secret123"
		alice, acc := net.JamidWithAccount(ctx, t, "alice", sandbox.JamidOptions{}, sandbox.AccountOptions{Password: sandbox.Ptr(pw)})
		pids = append(pids, alice.Pid())
		checkEnviron(t, alice)
		if acc.State != "REGISTERED" || len(acc.JamiID) != 40 {
			t.Fatalf("account %+v", acc)
		}
		if _, err := os.Stat(filepath.Join(alice.AccountDir(acc.ID), "config.yml")); err != nil {
			t.Fatalf("account folder not in the scratch data dir: %v", err)
		}
		det, err := alice.Details(ctx, acc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := sandbox.DiffDetails(det, alice.NetworkDetails()); len(d) != 0 {
			t.Fatalf("network details not applied, jamid has:\n%s", sandbox.FormatDetails(d))
		}

		out := filepath.Join(t.TempDir(), "alice.gz")
		if err := alice.ExportToFile(ctx, acc.ID, out, "wrong"); err == nil {
			t.Fatal("export with a wrong password succeeded")
		}
		if err := alice.ExportToFile(ctx, acc.ID, out, pw); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			t.Fatal("password-protected export is plain gzip")
		}

		// Import into a second daemon whose name server differs: the archive's
		// RingNS.uri overrides it and must be set back.
		bob, imp := net.JamidWithAccount(ctx, t, "bob", sandbox.JamidOptions{NameServer: "http://127.0.0.1:10"},
			sandbox.AccountOptions{ArchivePath: out, Password: sandbox.Ptr(pw)})
		pids = append(pids, bob.Pid())
		const mark = 0 // every signal of this (possibly retried) instance
		if imp.JamiID != acc.JamiID || imp.State != "REGISTERED" {
			t.Fatalf("import: %+v, want Jami ID %s REGISTERED", imp, acc.JamiID)
		}
		if imp.Reapplied["RingNS.uri"] != "http://127.0.0.1:9" {
			t.Errorf("archive's RingNS.uri not detected and re-applied: %v", imp.Reapplied)
		}
		if uri, err := bob.Detail(ctx, imp.ID, "RingNS.uri"); err != nil || uri != "http://127.0.0.1:10" {
			t.Errorf("RingNS.uri after import = %q, %v", uri, err)
		}
		if _, err := bob.WaitSignal(ctx, mark, sandbox.IsSignal("registrationStateChanged", imp.ID, "REGISTERED")); err != nil {
			t.Error(err)
		}

		// A wrong password: jamid removes the account.
		_, err = bob.AddAccount(ctx, sandbox.AccountOptions{ArchivePath: out, Password: sandbox.Ptr("nope")})
		if !sandbox.IsRemoved(err) {
			t.Fatalf("import with a wrong password: %v, want a removed account", err)
		}

		if err := bob.RemoveAccount(ctx, imp.ID); err != nil {
			t.Fatal(err)
		}

		// A killed daemon is not D-Bus-activated again: the private bus has no
		// service directory.
		if err := bob.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := bob.Call(ctx, "getAccountList").Err; !errors.Is(err, sandbox.ErrDaemonDied) {
			t.Fatalf("call after kill: %v", err)
		}
		err = bob.Conn().Object(sandbox.BusName, sandbox.ObjPrefix+"/ConfigurationManager").
			CallWithContext(ctx, "cx.ring.Ring.ConfigurationManager.getAccountList", 0).Err
		var derr dbus.Error
		if !errors.As(err, &derr) || derr.Name != "org.freedesktop.DBus.Error.ServiceUnknown" {
			t.Fatalf("raw call to a dead jamid: %v, want ServiceUnknown", err)
		}

		// Restart alice on the same home: the account is still there.
		if err := alice.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := alice.Start(ctx); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, alice.Pid())
		again, err := alice.WaitAccount(ctx, acc.ID, sandbox.WaitRegistered)
		if err != nil || again.JamiID != acc.JamiID {
			t.Fatalf("after restart: %+v, %v", again, err)
		}
	})
	if _, err := os.Stat(filepath.Join("/run/netns", nsName)); nsName == "" || !os.IsNotExist(err) {
		t.Errorf("namespace %q not removed (%v)", nsName, err)
	}
	for _, pid := range pids {
		// The harness reaped its children: a PID that exists now is someone else's
		// or a leftover of ours; only the latter would still be in our namespace.
		if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); err == nil &&
			(bytes.Contains(b, []byte("jamid")) || bytes.Contains(b, []byte("dhtnode"))) {
			t.Errorf("process %d (%s) still runs", pid, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
}

// checkEnviron: jamid got exactly the scratch environment, nothing of ours.
func checkEnviron(t *testing.T, j *sandbox.Jamid) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(j.Pid()), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(strings.TrimRight(string(b), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["HOME"] != j.Home || env["DBUS_SESSION_BUS_ADDRESS"] != j.BusAddr ||
		!strings.HasPrefix(env["XDG_DATA_HOME"], j.Home) {
		t.Fatalf("jamid environment: %v", env)
	}
	for k := range env {
		switch {
		case k == "PATH", k == "LANG", k == "HOME", k == "PULSE_SERVER", strings.HasPrefix(k, "XDG_"), strings.HasPrefix(k, "DBUS_"):
		default:
			t.Errorf("unexpected variable in jamid's environment: %s", k)
		}
	}
}
