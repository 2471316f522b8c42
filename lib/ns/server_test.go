package ns

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type testServer struct {
	*httptest.Server
	mem *memRegistrar
	svc *Service
	log *bytes.Buffer
}

func newTestServer(t *testing.T, opt Options) *testServer {
	t.Helper()
	mem := newMem()
	svc := NewService(mem, opt)
	logBuf := &bytes.Buffer{}
	srv := &Server{Service: svc, AllowUnsigned: opt.AllowUnsigned, AccessLog: &lockedWriter{w: logBuf}}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); svc.Close() })
	return &testServer{Server: ts, mem: mem, svc: svc, log: logBuf}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// call makes a request and returns the status, the Content-Type and the body.
func (ts *testServer) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, ts.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if method != http.MethodHead && resp.Header.Get("Content-Length") == "" {
		t.Errorf("%s %s: no Content-Length", method, path)
	}
	return resp.StatusCode, string(b)
}

func (ts *testServer) expect(t *testing.T, method, path, body string, status int, want string) {
	t.Helper()
	got, b := ts.call(t, method, path, body)
	if got != status || b != want {
		t.Errorf("%s %s: %d %s\nwant %d %s", method, path, got, b, status, want)
	}
}

func post(r Record) string { return string(NewRegisterRequest(r).Marshal()) }

func TestServerRoutes(t *testing.T) {
	ts := newTestServer(t, Options{})
	alice := signed(t, "alice", "alice", owner(1))
	id := alice.Addr.String()

	ts.expect(t, "GET", "/name/alice", "", 404, `{"error":"name not registered"}`)
	ts.expect(t, "GET", "/addr/"+id, "", 404, `{"error":"address not registered"}`)
	ts.expect(t, "POST", "/name/alice", post(alice), 200, `{"success":true}`)

	full := `{"name":"alice","addr":"0x` + id + `","publickey":"` + alice.PublicKey + `","signature":"` + alice.Signature + `"}`
	ts.expect(t, "GET", "/name/alice", "", 200, full)
	// Case is folded on GET; the stored lowercase name comes back.
	ts.expect(t, "GET", "/name/ALICE", "", 200, full)
	ts.expect(t, "GET", "/name/Al%69ce", "", 200, full)
	ts.expect(t, "GET", "/addr/"+id, "", 200, `{"name":"alice"}`)
	ts.expect(t, "GET", "/addr/0x"+strings.ToUpper(id), "", 200, `{"name":"alice"}`)
	ts.expect(t, "GET", "/addr/jami:"+id, "", 200, `{"name":"alice"}`)
	ts.expect(t, "GET", "/addr/ring:"+id, "", 200, `{"name":"alice"}`)
	ts.expect(t, "GET", "/name/alice/publickey", "", 200, `{"name":"alice","publickey":"`+alice.PublicKey+`"}`)
	ts.expect(t, "GET", "/name/alice/signature", "", 200, `{"name":"alice","signature":"`+alice.Signature+`"}`)
	ts.expect(t, "GET", "/name/ALICE/owner", "", 200, `{"name":"alice","owner":"0x0101010101010101010101010101010101010101"}`)
	ts.expect(t, "GET", "/name/bob/owner", "", 404, `{"error":"name not registered"}`)

	// Names that cannot exist on-chain are simply not registered.
	ts.expect(t, "GET", "/name/al", "", 404, `{"error":"name not registered"}`)
	ts.expect(t, "GET", "/name/"+strings.Repeat("a", 33), "", 404, `{"error":"name not registered"}`)
	ts.expect(t, "GET", "/name/%C3%A9t%C3%A9", "", 404, `{"error":"name not registered"}`)
	ts.expect(t, "GET", "/name/al%2Fice", "", 404, `{"error":"name not registered"}`)
	for _, a := range []string{"xyz", strings.Repeat("0", 40), id[2:], id + "00", "jami:"} {
		ts.expect(t, "GET", "/addr/"+a, "", 400, `{"success":false,"error":"invalid address"}`)
	}
	// Unknown routes and methods: JSON 4xx.
	ts.expect(t, "GET", "/", "", 404, `{"error":"not found"}`)
	ts.expect(t, "GET", "/name/alice/", "", 404, `{"error":"not found"}`)
	ts.expect(t, "GET", "/stats", "", 404, `{"error":"not found"}`)
	ts.expect(t, "POST", "/addr/"+id, "{}", 405, `{"error":"method not allowed"}`)
	ts.expect(t, "DELETE", "/name/alice", "", 405, `{"error":"method not allowed"}`)
	if code, _ := ts.call(t, "HEAD", "/name/alice", ""); code != 200 {
		t.Errorf("HEAD: %d", code)
	}

	// A legacy unsigned record (allowed on another server) is answered
	// without key members.
	ts.mem.records["legacy"] = Record{Name: "legacy", Addr: owner(9), Owner: owner(8)}
	ts.expect(t, "GET", "/name/legacy", "", 200, `{"name":"legacy","addr":"0x0909090909090909090909090909090909090909"}`)
	ts.expect(t, "GET", "/name/legacy/publickey", "", 404, `{"error":"name not registered"}`)

	if lines := strings.Count(ts.log.String(), "\n"); lines < 20 || !strings.Contains(ts.log.String(), `"POST /name/alice HTTP/1.1" 200 16`) {
		t.Errorf("access log (%d lines):\n%s", lines, ts.log)
	}
}

func TestServerRegistrationRefusals(t *testing.T) {
	ts := newTestServer(t, Options{})
	alice := signed(t, "alice", "alice", owner(1))
	ts.expect(t, "POST", "/name/alice", post(alice), 200, `{"success":true}`)
	id := "0x" + alice.Addr.String()

	// Idempotent: the same registration again.
	ts.expect(t, "POST", "/name/alice", post(alice), 200, `{"success":true}`)
	// Same name, another owner (bob's own key and ID).
	ts.expect(t, "POST", "/name/alice", post(signed(t, "bob", "alice", owner(2))), 403,
		`{"success":false,"owner":"0x0101010101010101010101010101010101010101"}`)
	// Same name, same owner, another Jami ID.
	ts.expect(t, "POST", "/name/alice", post(signed(t, "bob", "alice", owner(1))), 403,
		`{"success":false,"owner":"0x0101010101010101010101010101010101010101","addr":"`+id+`"}`)
	// Alice's ID already has a name.
	ts.expect(t, "POST", "/name/alice2", post(signed(t, "alice", "alice2", owner(1))), 403,
		`{"success":false,"name":"alice","addr":"`+id+`"}`)

	bob := signed(t, "bob", "bob", owner(2))
	bad := func(path, body string, status int, msg string) {
		t.Helper()
		ts.expect(t, "POST", path, body, status, `{"success":false,"error":"`+msg+`"}`)
	}
	bad("/name/Bob", post(bob), 400, MsgInvalidName)
	bad("/name/b", post(bob), 400, MsgInvalidName)
	bad("/name/bob", "{", 400, MsgInvalidRequest)
	bad("/name/bob", "", 400, MsgInvalidRequest)
	bad("/name/bob", `{"addr":"`+bob.Addr.String()+`"}`, 400, MsgNoOwner)
	bad("/name/bob", strings.Replace(post(bob), bob.Owner.String(), strings.Repeat("0", 40), 1), 400, MsgNoOwner)
	bad("/name/bob", `{"addr":"`+bob.Addr.String()+`","owner":"`+bob.Owner.String()+`"}`, 400, MsgNoPublicKey)
	bad("/name/bob", strings.Replace(post(bob), bob.Addr.String(), alice.Addr.String(), 1), 401, MsgKeyMismatch)
	bad("/name/bobb", post(bob), 401, MsgBadSignature)
	bad("/name/bob", `{"addr":"`+bob.Addr.String()+`","owner":"`+bob.Owner.String()+`","pad":"`+strings.Repeat("x", MaxRequestBody)+`"}`, 413, MsgTooLarge)

	// None of that reached the chain; bob is still free and can register.
	if ts.mem.reserves != 1 {
		t.Errorf("%d reserveFor submitted, want 1", ts.mem.reserves)
	}
	ts.expect(t, "GET", "/name/bob", "", 404, `{"error":"name not registered"}`)
	ts.expect(t, "POST", "/name/bob", post(bob), 200, `{"success":true}`)
}

// The test vector (a real daemon's registration, key with trailing NUL) is
// accepted, and the lookup answers what the capture expects.
func TestServerVector(t *testing.T) {
	ts := newTestServer(t, Options{})
	v := loadVector(t)
	ts.expect(t, "POST", v.RequestPath, string(v.raw), 200, `{"success":true}`)
	want, _ := json.Marshal(struct {
		Name      string `json:"name"`
		Addr      string `json:"addr"`
		PublicKey string `json:"publickey"`
		Signature string `json:"signature"`
	}{v.Expected["name"], v.Expected["addr"], v.Expected["publickey"], v.Expected["signature"]})
	ts.expect(t, "GET", "/name/ALICE_TEST", "", 200, string(want))
	ts.expect(t, "GET", "/addr/"+v.Body.Addr, "", 200, `{"name":"alice_test"}`)
}

func TestServerUnsigned(t *testing.T) {
	ts := newTestServer(t, Options{AllowUnsigned: true})
	body := `{"addr":"` + owner(5).String() + `","owner":"` + owner(6).String() + `"}`
	ts.expect(t, "POST", "/name/legacy", body, 200, `{"success":true}`)
	ts.expect(t, "GET", "/name/legacy", "", 200, `{"name":"legacy","addr":"0x0505050505050505050505050505050505050505"}`)
}

func TestServerBackendFailure(t *testing.T) {
	ts := newTestServer(t, Options{})
	ts.mem.failReserve = errInjected
	ts.expect(t, "POST", "/name/alice", post(signed(t, "alice", "alice", owner(1))), 500, `{"success":false,"error":"server error"}`)
	ts.expect(t, "GET", "/name/alice", "", 404, `{"error":"name not registered"}`)
}

// A registration whose receipt does not come within the confirmation
// timeout is not answered 200; it stays in flight, a repeat waits for it
// and a competitor is refused.
func TestServerUnconfirmed(t *testing.T) {
	ts := newTestServer(t, Options{ConfirmTimeout: time.Millisecond})
	ts.mem.hold = make(chan struct{})
	alice := signed(t, "alice", "alice", owner(1))
	ts.expect(t, "POST", "/name/alice", post(alice), 500, `{"success":false,"error":"server error"}`)
	ts.expect(t, "POST", "/name/alice", post(signed(t, "bob", "alice", owner(2))), 403,
		`{"success":false,"owner":"0x0101010101010101010101010101010101010101"}`)
	ts.expect(t, "POST", "/name/alice2", post(signed(t, "alice", "alice2", owner(1))), 403,
		`{"success":false,"name":"alice","addr":"0x`+alice.Addr.String()+`"}`)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ts.expect(t, "POST", "/name/alice", post(alice), 200, `{"success":true}`)
	}()
	// The repeat is parked on the first registration until the chain mines it.
	close(ts.mem.hold)
	<-done
	ts.expect(t, "GET", "/addr/"+alice.Addr.String(), "", 200, `{"name":"alice"}`)
}

// Concurrent registrations of one name from different accounts: exactly
// one wins, the others get 403, and the journal agrees with the chain.
func TestServerConcurrentSameName(t *testing.T) {
	dir := t.TempDir()
	j, _, err := OpenJournal(dir + "/journal.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ts := newTestServer(t, Options{Journal: j})
	accounts := []string{"alice", "bob", "carol", "dave"}
	codes := make([]int, len(accounts))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, a := range accounts {
		body := post(signed(t, a, "contested", owner(byte(i+1))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], _ = ts.call(t, "POST", "/name/contested", body)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, c := range codes {
		switch c {
		case 200:
			if winner >= 0 {
				t.Fatalf("two winners: %v", codes)
			}
			winner = i
		case 403:
		default:
			t.Fatalf("status %d for %s", c, accounts[i])
		}
	}
	if winner < 0 {
		t.Fatalf("no winner: %v", codes)
	}
	rec, _ := ts.mem.Get(context.Background(), "contested")
	want := signed(t, accounts[winner], "contested", owner(byte(winner+1)))
	if rec.Addr != want.Addr || rec.Owner != want.Owner {
		t.Errorf("chain holds %v, the 200 went to %s", rec.Addr, accounts[winner])
	}
	j.Close()
	_, recs, err := OpenJournal(dir + "/journal.jsonl")
	if err != nil || len(recs) != 1 || recs[0] != rec {
		t.Errorf("journal %+v, %v; chain %+v", recs, err, rec)
	}
}

// slowRegistrar's reads wait for the request to go away, then fail with
// its context's error wrapped, as a chain call does; or fail with err.
type slowRegistrar struct {
	*memRegistrar
	entered chan struct{}
	err     error
}

func (s *slowRegistrar) Get(ctx context.Context, name string) (Record, error) {
	if s.err != nil {
		return Record{}, fmt.Errorf("owner(%q): %w", name, s.err)
	}
	s.entered <- struct{}{}
	<-ctx.Done()
	return Record{}, fmt.Errorf("owner(%q): %w", name, ctx.Err())
}

// A client that closes its connection mid-request is not a server error:
// logged at debug level only. A failure of the chain still is an error.
func TestServerClientGone(t *testing.T) {
	logs := &lockedWriter{w: &bytes.Buffer{}}
	reg := &slowRegistrar{memRegistrar: newMem(), entered: make(chan struct{}, 1)}
	svc := NewService(reg, Options{})
	defer svc.Close()
	srv := &Server{Service: svc, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	text := func() string {
		logs.mu.Lock()
		defer logs.mu.Unlock()
		return logs.w.(*bytes.Buffer).String()
	}

	ts := httptest.NewServer(srv.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/name/alice", nil)
	go func() { <-reg.entered; cancel() }()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %s", resp.Status)
	}
	ts.Close() // returns once the handler has ended
	if l := text(); strings.Contains(l, "level=ERROR") || !strings.Contains(l, `level=DEBUG msg="client went away"`) {
		t.Errorf("log:\n%s", l)
	}

	reg.err = errInjected
	ts2 := &testServer{Server: httptest.NewServer(srv.Handler())}
	defer ts2.Close()
	ts2.expect(t, "GET", "/name/alice", "", 500, `{"error":"server error"}`)
	if l := text(); !strings.Contains(l, `level=ERROR msg="request failed"`) || !strings.Contains(l, "injected failure") {
		t.Errorf("a chain failure is not logged as an error:\n%s", l)
	}
}
