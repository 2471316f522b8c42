package main

// Reliability tests of the server as a process: concurrent registrations of
// one name, kill -9 in the middle of a burst, RPC mode against another
// server's chain. The binary is built once (the e2e harness builds every
// tool; these tests need only this one).

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jamikit/jamikit/lib/identity"
	"github.com/jamikit/jamikit/lib/ns"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jami-ns-test-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "jami-ns")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building jami-ns: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `jami-ns serve`.
type server struct {
	cmd     *exec.Cmd
	url     string
	errFile string // its stderr: a file, written without delay
	done    chan error
}

func (s *server) stderr() string {
	b, _ := os.ReadFile(s.errFile)
	return string(b)
}

// startServer runs serve with args and waits for the URL it prints.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	s := &server{done: make(chan error, 1)}
	s.cmd = exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	errFile, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	s.errFile = errFile.Name()
	s.cmd.Stderr = errFile
	s.cmd.Env = append(os.Environ(), "JAMI_NS_URL=", "JAMI_NS_DATA=", "JAMI_NS_RPC_URL=")
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		s.cmd.Wait()
		t.Fatalf("server did not start: %v\n%s", err, s.stderr())
	}
	s.url = strings.TrimSpace(line)
	go func() { io.Copy(io.Discard, stdout); s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { s.cmd.Process.Kill(); <-s.done })
	return s
}

// stop ends the server with SIGINT and waits for its clean exit (130).
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(os.Interrupt)
	err := <-s.done
	s.done <- err // for the cleanup
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("server exit: %v\n%s", err, s.stderr())
	}
}

func (s *server) client() *ns.Client { return &ns.Client{Server: s.url, HTTP: &http.Client{}} }

func testRecord(t *testing.T, key, name string, owner byte) ns.Record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "lib", "ns", "testdata", key+".key"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := identity.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	var o ns.Address
	o[0] = owner
	r, err := ns.NewRecord(k, o, name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func export(t *testing.T, dir string) map[string]ns.Record {
	t.Helper()
	out, err := exec.Command(binary, "export", "--data", dir).Output()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	recs, err := ns.ReadDump(out)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]ns.Record{}
	for _, r := range recs {
		m[r.Name] = r
	}
	return m
}

func journal(t *testing.T, dir string) []ns.Record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// A line cut by kill -9 was never answered; the journal drops it when
	// it is opened, and so does this reader.
	if i := strings.LastIndexByte(string(b), '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	recs, err := ns.ReadDump(b)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// Concurrent registrations of one name from different accounts: exactly one
// wins, the others get 403, and the chain and the journal agree.
func TestConcurrentSameName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, "--data", dir)
	keys := []string{"alice", "bob", "carol", "dave"}
	errs := make([]error, len(keys))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, k := range keys {
		r := testRecord(t, k, "contested", byte(i+1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.client().Register(context.Background(), r)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		var re *ns.RegisterError
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("two winners: %v", errs)
			}
			winner = i
		case errors.As(err, &re) && re.Status == http.StatusForbidden:
		default:
			t.Errorf("%s: %v", keys[i], err)
		}
	}
	if winner < 0 {
		t.Fatalf("no winner: %v", errs)
	}
	s.stop(t)
	want := testRecord(t, keys[winner], "contested", byte(winner+1))
	if got := export(t, dir); len(got) != 1 || got["contested"] != want {
		t.Errorf("chain: %+v, want %s's record", got, keys[winner])
	}
	if j := journal(t, dir); len(j) != 1 || j[0] != want {
		t.Errorf("journal: %+v, want %s's record", j, keys[winner])
	}
}

// kill -9 of the server during a burst of registrations, then a restart:
// every registration answered 200 is there; none is half-applied (a name
// without its reverse entry, or the other way round).
func TestKillDuringBurst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, "--data", dir, "--allow-unsigned", "-q")
	const total, killAfter, workers = 48, 12, 6
	recs := make([]ns.Record, total)
	for i := range recs {
		recs[i].Name = fmt.Sprintf("burst-%02d", i)
		rand.Read(recs[i].Addr[:])
		rand.Read(recs[i].Owner[:])
	}
	var (
		mu       sync.Mutex
		answered = map[string]bool{}
		killed   bool
		jobs     = make(chan ns.Record)
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				if err := s.client().Register(context.Background(), r); err != nil {
					continue // cut by the kill
				}
				mu.Lock()
				answered[r.Name] = true
				if len(answered) == killAfter && !killed {
					killed = true
					s.cmd.Process.Signal(syscall.SIGKILL)
				}
				mu.Unlock()
			}
		}()
	}
	for _, r := range recs {
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	if !killed {
		t.Fatalf("only %d registrations answered before the burst ended", len(answered))
	}
	<-s.done
	s.done <- nil

	s = startServer(t, "--data", dir, "-q")
	c := s.client()
	ctx := context.Background()
	present := 0
	for _, r := range recs {
		info, err := c.LookupName(ctx, r.Name)
		found := err == nil
		if err != nil && !errors.Is(err, ns.ErrNotFound) {
			t.Fatal(err)
		}
		if answered[r.Name] && !found {
			t.Errorf("%s was answered 200 and is gone after kill -9", r.Name)
		}
		name, rerr := c.LookupAddr(ctx, r.Addr)
		if rerr != nil && !errors.Is(rerr, ns.ErrNotFound) {
			t.Fatal(rerr)
		}
		if found {
			present++
			if info.Addr != r.Addr.Hex() || name != r.Name {
				t.Errorf("%s half-applied: addr %s, reverse %q", r.Name, info.Addr, name)
			}
		} else if rerr == nil {
			t.Errorf("%s: reverse entry %q without the record", r.Name, name)
		}
	}
	s.stop(t)
	chain := export(t, dir)
	for _, j := range journal(t, dir) {
		if chain[j.Name] != j {
			t.Errorf("journal has %s, the chain %+v", j.Name, chain[j.Name])
		}
	}
	t.Logf("%d answered 200 before kill -9, %d of %d on the chain after restart", killAfter, present, total)
}

// RPC mode: a second server drives the first one's chain over JSON-RPC with
// the same server key; an account that cannot pay is refused at start.
func TestRPCMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s1 := startServer(t, "--data", dir, "--rpc-listen", "127.0.0.1:0")
	// The server writes its details on stderr before its URL on stdout.
	m := regexp.MustCompile(`registrar (0x[0-9a-f]{40}).*\n.*chain JSON-RPC on (http://\S+)`).FindStringSubmatch(s1.stderr())
	if m == nil {
		t.Fatalf("no JSON-RPC endpoint announced:\n%s", s1.stderr())
	}
	contract, rpcURL := m[1], m[2]
	s2 := startServer(t, "--rpc-url", rpcURL, "--contract", contract, "--key-file", filepath.Join(dir, "server.key"))
	ctx := context.Background()
	// A 404 from the first server must not outlive the registration made
	// through the second: its chain has another writer.
	if _, err := s1.client().LookupName(ctx, "alice"); !errors.Is(err, ns.ErrNotFound) {
		t.Fatalf("before: %v", err)
	}
	r := testRecord(t, "alice", "alice", 1)
	if err := s2.client().Register(ctx, r); err != nil {
		t.Fatal(err)
	}
	info, err := s1.client().LookupName(ctx, "alice")
	if err != nil || info.Addr != r.Addr.Hex() {
		t.Fatalf("first server sees %+v, %v", info, err)
	}
	var re *ns.RegisterError
	if err := s2.client().Register(ctx, testRecord(t, "bob", "alice", 2)); !errors.As(err, &re) || re.Status != 403 {
		t.Errorf("taken over RPC: %v", err)
	}

	poor := filepath.Join(t.TempDir(), "poor.key")
	os.WriteFile(poor, []byte("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318\n"), 0o600)
	out, err := exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--rpc-url", rpcURL, "--contract", contract, "--key-file", poor).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cannot pay for registrations") || !strings.Contains(string(out), "holds 0 wei") {
		t.Errorf("unfunded key: %v\n%s", err, out)
	}
	s2.stop(t)
	s1.stop(t)
}
