// Package sandbox runs the real Jami daemon (jamid 13.7.0) and OpenDHT's dhtnode
// (2.4.12) fully isolated, so that interop tests can drive them over D-Bus:
//
//   - every test gets its own network namespace (lo plus a veth pair whose two ends
//     both live inside it, carrying 10.77.x.1/24, because pjnath never gathers
//     loopback candidates), with IPv6 disabled (jamid 13.7.0 deadlocks in ICE
//     candidate gathering when any IPv6 address exists on recent kernels) and no
//     link to any other namespace;
//   - a dhtnode bootstrap inside it;
//   - per jamid: a scratch HOME/XDG_* tree, a private dbus-daemon on a filesystem
//     socket (no service directories, so a dead jamid is never re-activated with the
//     wrong environment), jamid started with an empty environment plus exactly those
//     variables, inside the namespace;
//   - the test process talks D-Bus over that socket (which works across namespaces)
//     with github.com/godbus/dbus/v5, records every signal and waits with timeouts.
//
// Every process is started by this package and stopped by PID (SIGTERM, then
// SIGKILL). jamid runs without -p, with the test process registered as its client
// (Instance.Register): Stop first unregisters, which makes jamid leave its main
// loop and quit cleanly — its SIGTERM handler can deadlock in libdbus. Everything
// is removed with tb.Cleanup, also when the test fails, and the process logs are
// printed when it does.
//
// Typical use:
//
//	net := sandbox.Start(t, sandbox.Options{})
//	j := net.Jamid(t, "alice")
//	acc, err := j.AddAccount(ctx, sandbox.AccountOptions{Password: sandbox.Ptr("pw")})
package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// JamidPath is the Debian jami-daemon binary (not on PATH).
var JamidPath = "/usr/libexec/jamid"

// Missing reports why the interop tests cannot run on this machine ("" when they can):
// they need root (network namespaces) and the real binaries.
func Missing() string {
	if os.Geteuid() != 0 {
		return "interop tests need root (network namespaces)"
	}
	if fi, err := os.Stat(JamidPath); err != nil || fi.Mode()&0o111 == 0 {
		return fmt.Sprintf("%s not found (Debian package jami-daemon)", JamidPath)
	}
	for _, p := range []struct{ bin, pkg string }{
		{"dhtnode", "dhtnode"}, {"dbus-daemon", "dbus"}, {"ip", "iproute2"},
	} {
		if _, err := exec.LookPath(p.bin); err != nil {
			return fmt.Sprintf("%s not found (Debian package %s)", p.bin, p.pkg)
		}
	}
	if _, err := os.Stat("/run"); err != nil {
		return "/run missing (ip netns needs /run/netns)"
	}
	return ""
}

// Require skips the test when the interop prerequisites are missing, except in
// CI (env CI non-empty), where interop tests must fail rather than silently skip.
func Require(tb testing.TB) {
	tb.Helper()
	why := Missing()
	if why == "" {
		return
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("interop prerequisites missing in CI: %s", why)
	}
	tb.Skipf("skipping interop test: %s", why)
}

// Ptr returns a pointer to s (for optional passwords).
func Ptr(s string) *string { return &s }
