package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht"
)

// buildDhtnode compiles this command, for the tests that need a process
// of their own (signals, -d).
func buildDhtnode(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "dhtnode")
	out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// pinger is a loopback client node.
func pinger(t *testing.T) *dht.Node {
	t.Helper()
	n, err := dht.New(dht.Config{BindIPv4: netip.MustParseAddr("127.0.0.1"), NoIPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func ping(t *testing.T, n *dht.Node, port int) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := n.Ping(ctx, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
	return err
}

// -s: no console, the nodes run until SIGTERM or SIGINT, then stop
// cleanly with status 0 (as OpenDHT's dhtnode in service mode).
func TestServiceSignals(t *testing.T) {
	exe := buildDhtnode(t)
	cl := pinger(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(exe, "-s", "-p", "0", "--nodes", "2")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		rx := regexp.MustCompile(`^OpenDHT node [0-9a-f]{40} running on port (\d+)$`)
		var ports []int
		for len(ports) < 2 && sc.Scan() {
			if m := rx.FindStringSubmatch(sc.Text()); m != nil {
				p, _ := strconv.Atoi(m[1])
				ports = append(ports, p)
			}
		}
		if len(ports) != 2 {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("dhtnode -s --nodes 2: ports %v; stderr %s", ports, stderr.String())
		}
		for _, p := range ports {
			if err := ping(t, cl, p); err != nil {
				t.Errorf("node on port %d: %v", p, err)
			}
		}
		cmd.Process.Signal(sig)
		if err := cmd.Wait(); err != nil {
			t.Errorf("dhtnode -s after %v: %v; stderr %s", sig, err, stderr.String())
		}
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// daemonPID finds the detached child of exe: the process running exe with
// the marker variable that -d gives it.
func daemonPID(exe string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !bytes.HasPrefix(cmdline, []byte(exe+"\x00")) {
			continue
		}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if bytes.Contains(env, []byte(envDaemon+"=1")) {
			return pid
		}
	}
	return 0
}

// -d: the command returns at once, the node keeps running detached in a
// session of its own, and stops on SIGTERM.
func TestDaemonize(t *testing.T) {
	exe := buildDhtnode(t)
	port := freeUDPPort(t)
	out, err := exec.Command(exe, "-d", "-p", strconv.Itoa(port)).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("dhtnode -d: %v, output %q", err, out)
	}
	pid := daemonPID(exe)
	if pid == 0 {
		t.Fatal("no detached dhtnode process found")
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	// /proc/PID/stat after the name: state ppid pgrp session tty_nr ...
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 5 {
		t.Fatalf("daemon %d: /proc stat %q", pid, stat)
	}
	if f[3] != strconv.Itoa(pid) || f[4] != "0" {
		t.Errorf("daemon %d: session %v, terminal %v; want its own session, no terminal", pid, f[3], f[4])
	}
	if err := ping(t, pinger(t), port); err != nil {
		t.Fatalf("daemon on port %d: %v", port, err)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			break
		}
		// A zombie (our grandchild is reparented, so init reaps it): gone too.
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); bytes.Contains(st, []byte(") Z ")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon %d still running after SIGTERM", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped = true
}

// runService starts exe -s with args, returns the node id of its first
// banner line, and a function that stops it with SIGINT.
func runService(t *testing.T, exe string, args ...string) (id string, port int, stop func()) {
	t.Helper()
	cmd := exec.Command(exe, append([]string{"-s"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	rx := regexp.MustCompile(`^OpenDHT node ([0-9a-f]{40}) running on port (\d+)$`)
	for sc.Scan() {
		if m := rx.FindStringSubmatch(sc.Text()); m != nil {
			id = m[1]
			port, _ = strconv.Atoi(m[2])
			break
		}
	}
	if id == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("dhtnode -s %v: no banner; stderr %s", args, stderr.String())
	}
	return id, port, func() {
		cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err != nil {
			t.Errorf("dhtnode -s %v: %v; stderr %s", args, err, stderr.String())
		}
	}
}

// -f: the node id and the port survive a restart; the file is private.
func TestPersist(t *testing.T) {
	exe := buildDhtnode(t)
	state := filepath.Join(t.TempDir(), "state")
	id1, port1, stop := runService(t, exe, "-f", state)
	stop()
	fi, err := os.Stat(state)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v", fi.Mode().Perm())
	}
	if p := savedPort(state + "_port.txt"); int(p) != port1 {
		t.Errorf("port file says %d, node ran on %d", p, port1)
	}
	id2, port2, stop := runService(t, exe, "-f", state)
	stop()
	if id2 != id1 || port2 != port1 {
		t.Errorf("restart with -f: node %s port %d, was %s port %d", id2, port2, id1, port1)
	}
	// An explicit port wins over the saved one.
	want := freeUDPPort(t)
	_, port3, stop := runService(t, exe, "-f", state, "-p", strconv.Itoa(want))
	stop()
	if port3 != want {
		t.Errorf("-f with -p %d: port %d", want, port3)
	}

	// A file that is not a state file: an error naming it, nothing started.
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("not msgpack"), 0o600)
	out, err := exec.Command(exe, "-s", "-f", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "dhtnode: "+bad+": ") {
		t.Errorf("dhtnode -f with a bad file: %v, %q", err, out)
	}
}
