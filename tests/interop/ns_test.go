package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jamikit/jamikit/tests/interop/sandbox"
)

// The real jamid 13.7.0 against `jami-ns serve`: jamid registers names on our
// server, and resolves names registered with `jami-ns register`. Everything runs
// inside the test's network namespace: the server listens on the namespace's
// loopback, so the jami-ns client commands run there too (sandbox.Net.Command).

// nameRegistrationEnded states as jamid 13.7.0 puts them on the bus — those of the
// D-Bus interface XML it ships (SUCCESS 0, WRONG_PASSWORD 1, INVALID_NAME 2,
// ALREADY_TAKEN 3, NETWORK_ERROR 4). Spec §2.6 lists invalidName as 1; the binary
// sends 2 for a name it refuses itself.
const (
	regSuccess      = 0
	regInvalidName  = 2
	regAlreadyTaken = 3
)

// registeredNameFound statuses (spec §5.3).
const (
	lookupFound    = 0
	lookupNotFound = 2
)

// nsStepTimeout bounds one exchange with jamid or the server (a registration is
// mined at once on the embedded chain; the rest is loopback HTTP).
const nsStepTimeout = 30 * time.Second

// nsServer is `jami-ns serve --ephemeral` running inside the namespace.
type nsServer struct {
	URL  string
	proc *sandbox.Proc
}

// startNameServer starts jami-ns serve on the namespace's loopback (any free port)
// and waits for the URL it writes to --addr-file.
func startNameServer(ctx context.Context, t *testing.T, net *sandbox.Net, jamiNS string) *nsServer {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "ns.url")
	p, err := net.Spawn("jami-ns-serve", nil, jamiNS, "serve", "--ephemeral", "--listen", "127.0.0.1:0", "--addr-file", addrFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("jami-ns serve log (%s):\n%s", p.Log, sandbox.Tail(p.Log, 60))
		}
	})
	ctx, cancel := context.WithTimeout(ctx, sandbox.StartTimeout)
	defer cancel()
	for {
		if b, err := os.ReadFile(addrFile); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			url := strings.TrimSpace(string(b))
			if !strings.HasPrefix(url, "http://127.0.0.1:") {
				t.Fatalf("jami-ns serve wrote URL %q", url)
			}
			return &nsServer{URL: url, proc: p}
		}
		select {
		case <-p.Done():
			t.Fatalf("jami-ns serve exited before listening (%v):\n%s", p.ExitError(), sandbox.Tail(p.Log, 30))
		case <-ctx.Done():
			t.Fatalf("jami-ns serve did not write %s within %v:\n%s", addrFile, sandbox.StartTimeout, sandbox.Tail(p.Log, 30))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitAccess waits until the server's access log has a line for method and path
// with the given status, and fails the test otherwise. The line is written once the
// handler has answered, so it may trail the daemon's signal by a moment.
func (s *nsServer) waitAccess(ctx context.Context, t *testing.T, method, path string, status int) {
	t.Helper()
	re := regexp.MustCompile(fmt.Sprintf(`"%s %s HTTP/1\.1" %d `, method, regexp.QuoteMeta(path), status))
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		if b, _ := os.ReadFile(s.proc.Log); re.Match(b) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("jami-ns serve never answered %s %s with %d; its log:\n%s", method, path, status, sandbox.Tail(s.proc.Log, 30))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// requested reports whether the server's access log has any request for path.
func (s *nsServer) requested(t *testing.T, method, path string) bool {
	t.Helper()
	b, err := os.ReadFile(s.proc.Log)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(fmt.Sprintf(`"%s %s HTTP/1.1"`, method, path)))
}

// inNS runs a built tool inside the namespace with a clean environment (as
// tool.exec does) and returns its stdout, stderr and exit code.
func inNS(ctx context.Context, t *testing.T, net *sandbox.Net, tl *tool, extraEnv []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, nsStepTimeout)
	defer cancel()
	cmd := net.Command(ctx, tl.path, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JAMI_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(append(env, "HOME="+t.TempDir()), extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		code = ee.ExitCode()
	default:
		t.Fatalf("%s %s: %v\nstderr: %s", tl.name, strings.Join(args, " "), err, e.String())
	}
	return o.String(), e.String(), code
}

// inNSJSON runs a tool inside the namespace, requires exit 0 and decodes its stdout.
func inNSJSON(ctx context.Context, t *testing.T, net *sandbox.Net, tl *tool, v any, env []string, args ...string) {
	t.Helper()
	out, errOut, code := inNS(ctx, t, net, tl, env, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", tl.name, strings.Join(args, " "), code, out, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%s %s: output is not the expected JSON (%v):\n%s", tl.name, strings.Join(args, " "), err, out)
	}
}

// nsLookup is `jami-ns lookup --json`.
type nsLookup struct {
	Name      string `json:"name"`
	JamiID    string `json:"jami_id"`
	Signed    bool   `json:"signed"`
	Verified  bool   `json:"verified"`
	PublicKey string `json:"publickey"`
	Signature string `json:"signature"`
}

// nsRegistration is `jami-ns register --json`.
type nsRegistration struct {
	Name   string `json:"name"`
	JamiID string `json:"jami_id"`
	Owner  string `json:"owner"`
}

// Accounts that need no key generation (tests/testdata/fixtures, made by jamid
// 13.7.0; their Jami IDs are in the fixtures' README).
var (
	fixtureArchive = filepath.Join("..", "testdata", "fixtures", "account-jami20230206", "archive-nopassword.gz")
	fixtureFolder  = filepath.Join("..", "testdata", "fixtures", "keygen", "jamid-folder") // archive password secret123
)

const (
	fixtureArchiveID = "09f60d0223d13991c8329e4b6cde0eadd69553ab"
	fixtureFolderID  = "d9b52ffb583b1ea8bed701d03c4aef1a936c5554"
)

// keygenArchive makes an unencrypted archive with jami-keygen and returns it with
// its Jami ID.
func keygenArchive(ctx context.Context, t *testing.T) (file, id string) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "account.gz")
	var kg keygenInfo
	newTool(t, "jami-keygen").runJSON(ctx, nil, &kg, "new", "--archive", file, "--no-password", "--json")
	if len(kg.JamiID) != 40 {
		t.Fatalf("jami-keygen new --json: jami_id %q", kg.JamiID)
	}
	return file, kg.JamiID
}

// cliRegister registers name for account (an archive or a jamid account folder)
// with `jami-ns register` and checks that it was registered for wantID.
func cliRegister(ctx context.Context, t *testing.T, net *sandbox.Net, ns *nsServer, name, account, wantID string, env ...string) {
	t.Helper()
	abs, err := filepath.Abs(account)
	if err != nil {
		t.Fatal(err)
	}
	var reg nsRegistration
	inNSJSON(ctx, t, net, newTool(t, "jami-ns"), &reg, env, "register", name, "--account", abs, "--server", ns.URL, "--json")
	if reg.Name != name || reg.JamiID != wantID {
		t.Fatalf("jami-ns register %s --account %s: %+v, want name %s jami_id %s", name, account, reg, name, wantID)
	}
	ns.waitAccess(ctx, t, "POST", "/name/"+name, 200)
}

// registerName is jamid's registerName (2023 signature: account, password, name)
// and the state of the nameRegistrationEnded that answers it.
func registerName(ctx context.Context, t *testing.T, j *sandbox.Jamid, acc, name string) int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, nsStepTimeout)
	defer cancel()
	mark := j.Mark()
	var ok bool
	if err := j.Call(ctx, "registerName", acc, "", name).Store(&ok); err != nil {
		t.Fatalf("registerName(%s, \"\", %s): %v", acc, name, err)
	}
	if !ok {
		t.Fatalf("registerName(%s, \"\", %s) returned false", acc, name)
	}
	s, err := j.WaitSignal(ctx, mark, func(s sandbox.Signal) bool {
		return s.Member == "nameRegistrationEnded" && s.Arg(0) == acc && s.Arg(2) == name
	})
	if err != nil {
		t.Fatalf("waiting for nameRegistrationEnded(%s, _, %s): %v", acc, name, err)
	}
	state, ok := s.Body[1].(int32)
	if !ok {
		t.Fatalf("nameRegistrationEnded state is %T, want int32: %v", s.Body[1], s)
	}
	return state
}

// lookup calls lookupName or lookupAddress for account acc (so on its RingNS.uri)
// and returns the registeredNameFound that answers query: status, address, name.
// On failure the daemon leaves the field it was asked for empty, so the answer is
// matched on the field that was given.
func lookup(ctx context.Context, t *testing.T, j *sandbox.Jamid, acc, method, query string) (int32, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, nsStepTimeout)
	defer cancel()
	mark := j.Mark()
	var ok bool
	if err := j.Call(ctx, method, acc, "", query).Store(&ok); err != nil || !ok {
		t.Fatalf("%s(%s, \"\", %s): %v, %v", method, acc, query, ok, err)
	}
	field := 3 // name
	if method == "lookupAddress" {
		field = 2
	}
	s, err := j.WaitSignal(ctx, mark, func(s sandbox.Signal) bool {
		return s.Member == "registeredNameFound" && s.Arg(0) == acc && s.Arg(field) == query
	})
	if err != nil {
		t.Fatalf("waiting for registeredNameFound after %s(%s): %v", method, query, err)
	}
	status, ok := s.Body[1].(int32)
	if !ok {
		t.Fatalf("registeredNameFound status is %T, want int32: %v", s.Body[1], s)
	}
	return status, s.Arg(2), s.Arg(3)
}

// A jamid account whose RingNS.uri is our server registers, looks up and is refused
// names as it would with ns.jami.net; `jami-ns register` and `lookup` interoperate
// with it. jamid caches positive answers per server URL (spec §5.6), so every check
// uses a name or address that jamid has not seen yet.
func TestJamidWithJamiNS(t *testing.T) {
	ctx := testContext(t)
	net := sandbox.Start(t, sandbox.Options{})
	jamiNS := newTool(t, "jami-ns")
	ns := startNameServer(ctx, t, net, jamiNS.path)
	j, acc := net.JamidWithAccount(ctx, t, "alice", sandbox.JamidOptions{NameServer: ns.URL}, sandbox.AccountOptions{})
	if got, err := j.Detail(ctx, acc.ID, "RingNS.uri"); err != nil || got != ns.URL {
		t.Fatalf("account RingNS.uri = %q (%v), want %s", got, err, ns.URL)
	}

	// Names registered with the CLI: one jamid resolves forward (an archive made
	// by jami-keygen), one it resolves backward (an archive made by jamid), one it
	// then tries to take (a jamid account folder with an encrypted archive).
	bobArchive, bobID := keygenArchive(ctx, t)
	cliRegister(ctx, t, net, ns, "bob-cli", bobArchive, bobID)
	carolID := fixtureArchiveID
	cliRegister(ctx, t, net, ns, "carol_cli", fixtureArchive, carolID)
	daveID := fixtureFolderID
	cliRegister(ctx, t, net, ns, "dave-taken", fixtureFolder, daveID, "JAMI_PASSWORD=secret123")

	// Taken before jamid's account has a name of its own, so that the refusal can
	// only be about the name. jamid has never looked it up, so it cannot answer from
	// its cache: the server's 403 is what it reports.
	t.Run("taken", func(t *testing.T) {
		if st := registerName(ctx, t, j, acc.ID, "dave-taken"); st != regAlreadyTaken {
			t.Errorf("registering a name held by another account: state %d, want %d (already taken)", st, regAlreadyTaken)
		}
		ns.waitAccess(ctx, t, "POST", "/name/dave-taken", 403)
		var got nsLookup
		inNSJSON(ctx, t, net, jamiNS, &got, nil, "lookup", "dave-taken", "--server", ns.URL, "--json")
		if got.JamiID != daveID {
			t.Errorf("after jamid's attempt dave-taken is %s, want still %s", got.JamiID, daveID)
		}
	})

	// The 2023 daemon checks the name itself and sends nothing.
	t.Run("invalid", func(t *testing.T) {
		for _, name := range []string{"ab", "bad name", strings.Repeat("x", 33)} {
			if st := registerName(ctx, t, j, acc.ID, name); st != regInvalidName {
				t.Errorf("registerName %q: state %d, want %d (invalid name)", name, st, regInvalidName)
			}
		}
		if ns.requested(t, "POST", "/name/ab") {
			t.Error("jamid posted the invalid name ab to the server")
		}
	})

	// jamid registers its own name (mixed case: it lowercases before signing and
	// posting); the server keeps the record as jamid sent it, and jami-ns lookup
	// checks it: the key hashes to jamid's Jami ID and signs the name.
	t.Run("register", func(t *testing.T) {
		if st := registerName(ctx, t, j, acc.ID, "Alice_Jamid"); st != regSuccess {
			t.Fatalf("registerName Alice_Jamid: state %d, want %d (success)", st, regSuccess)
		}
		ns.waitAccess(ctx, t, "POST", "/name/alice_jamid", 200)
		var got nsLookup
		inNSJSON(ctx, t, net, jamiNS, &got, nil, "lookup", "ALICE_JAMID", "--server", ns.URL, "--json")
		if got.Name != "alice_jamid" || got.JamiID != acc.JamiID {
			t.Errorf("jami-ns lookup: name %q jami_id %q, want alice_jamid %s", got.Name, got.JamiID, acc.JamiID)
		}
		if !got.Signed || !got.Verified {
			t.Errorf("jami-ns lookup: signed=%v verified=%v for jamid's own registration", got.Signed, got.Verified)
		}
		// jamid 13.7.0 (OpenDHT 2.4.12) posts its PEM key with a trailing NUL; the
		// server must hand it back as it was posted.
		pem, err := base64.StdEncoding.DecodeString(got.PublicKey)
		if err != nil || !bytes.HasPrefix(pem, []byte("-----BEGIN PUBLIC KEY-----")) || !bytes.HasSuffix(pem, []byte("-----END PUBLIC KEY-----\n\x00")) {
			t.Errorf("publickey served is not jamid's NUL-terminated PEM (%v): %q", err, pem)
		}
		var rev nsLookup
		inNSJSON(ctx, t, net, jamiNS, &rev, nil, "reverse", acc.JamiID, "--server", ns.URL, "--json")
		if rev.Name != "alice_jamid" {
			t.Errorf("jami-ns reverse %s: name %q, want alice_jamid", acc.JamiID, rev.Name)
		}
		// One name per address: a second name for the same account is refused.
		if st := registerName(ctx, t, j, acc.ID, "alice-second"); st != regAlreadyTaken {
			t.Errorf("second name for an account that has one: state %d, want %d", st, regAlreadyTaken)
		}
		ns.waitAccess(ctx, t, "POST", "/name/alice-second", 403)
	})

	// jamid resolves what jami-ns register wrote, verifying key and signature.
	t.Run("lookup", func(t *testing.T) {
		// Mixed case: the 2023 daemon lowercases before asking and echoes the name
		// as asked.
		if st, addr, name := lookup(ctx, t, j, acc.ID, "lookupName", "Bob-CLI"); st != lookupFound || addr != bobID || name != "Bob-CLI" {
			t.Errorf("lookupName Bob-CLI: status %d address %q name %q, want %d %s Bob-CLI", st, addr, name, lookupFound, bobID)
		}
		ns.waitAccess(ctx, t, "GET", "/name/bob-cli", 200)
		if st, addr, name := lookup(ctx, t, j, acc.ID, "lookupAddress", carolID); st != lookupFound || addr != carolID || name != "carol_cli" {
			t.Errorf("lookupAddress %s: status %d address %q name %q, want %d carol_cli", carolID, st, addr, name, lookupFound)
		}
		ns.waitAccess(ctx, t, "GET", "/addr/"+carolID, 200)
		if st, _, _ := lookup(ctx, t, j, acc.ID, "lookupName", "nobody-here"); st != lookupNotFound {
			t.Errorf("lookupName nobody-here: status %d, want %d (not found)", st, lookupNotFound)
		}
		ns.waitAccess(ctx, t, "GET", "/name/nobody-here", 404)
		const unknown = "0123456789abcdef0123456789abcdef01234567"
		if st, _, _ := lookup(ctx, t, j, acc.ID, "lookupAddress", unknown); st != lookupNotFound {
			t.Errorf("lookupAddress %s: status %d, want %d (not found)", unknown, st, lookupNotFound)
		}
		ns.waitAccess(ctx, t, "GET", "/addr/"+unknown, 404)
	})
}
