package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht/proxy"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
	"github.com/jamikit/jamikit/lib/identity"
	"github.com/jamikit/jamikit/tests/interop/sandbox"
	"github.com/jamikit/jamikit/tests/toolbin"
)

// The interop point 5 (the REST proxy):
//   - our jami-dht --proxy puts, gets and listens through Debian's
//     `dhtnode --proxyserver`;
//   - our dhtnode --proxyserver answers the same requests as Debian's with
//     the same status, headers and body shapes (byte for byte where the
//     body does not depend on the node);
//   - jamid 13.7.0 with Account.proxyEnabled reaches REGISTERED through our
//     dhtnode --proxyserver, which logs jamid's requests.

// freeTCPPort returns a TCP port free on loopback right now.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitProxy polls /node/info until the proxy's node reports a good node
// (what the OpenDHT proxy client takes as "connected"), bounded.
func waitProxy(ctx context.Context, t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	last := ""
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := http.Get(base + "/node/info")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
			var info struct {
				IPv4 struct{ Good int } `json:"ipv4"`
			}
			if resp.StatusCode == 200 && json.Unmarshal(b, &info) == nil && info.IPv4.Good > 0 {
				return
			}
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("proxy %s never reported a good node: %s", base, last)
}

// debianProxyNet is Debian's dhtnode on a UDP port, a second Debian
// dhtnode bootstrapped from it serving the proxy, and (ours) our dhtnode
// bootstrapped from the first, serving our proxy.
type debianProxyNet struct {
	boot        string // UDP HOST:PORT of the first node
	theirs, our string // proxy base URLs
}

func startProxyNet(ctx context.Context, t *testing.T, withOurs bool) debianProxyNet {
	t.Helper()
	base := freePorts(t, 3)
	n := debianProxyNet{boot: fmt.Sprintf("127.0.0.1:%d", base)}
	startNode(t, realDhtnode, "-s", "-p", strconv.Itoa(base))
	theirs := freeTCPPort(t)
	startNode(t, realDhtnode, "-s", "-p", strconv.Itoa(base+1), "-b", n.boot, "--proxyserver", strconv.Itoa(theirs))
	n.theirs = fmt.Sprintf("http://127.0.0.1:%d", theirs)
	if withOurs {
		ours := freeTCPPort(t)
		dn := newTool(t, "dhtnode")
		startNode(t, dn.path, "-s", "-p", strconv.Itoa(base+2), "-b", n.boot, "--proxyserver", strconv.Itoa(ours))
		n.our = fmt.Sprintf("http://127.0.0.1:%d", ours)
		waitProxy(ctx, t, n.our)
	}
	waitProxy(ctx, t, n.theirs)
	return n
}

func TestJamiDhtThroughDebianProxy(t *testing.T) {
	requireOpenDHT(t)
	ctx := testContext(t)
	nw := startProxyNet(ctx, t, false)
	jd := newTool(t, "jami-dht")
	key := uniqueKey("proxy")
	px := "--proxy=" + nw.theirs

	id := strings.TrimSpace(jd.run(ctx, nil, "put", px, "--utype", "text/plain", key, "via-debian-proxy"))
	if !regexp.MustCompile(`^[0-9a-f]{1,16}$`).MatchString(id) {
		t.Fatalf("put --proxy printed %q", id)
	}
	// Through the proxy, and over UDP from the network: the same value.
	want := fmt.Sprintf(`Value[id:%s data(text/plain):"via-debian-proxy"]`, id)
	if out := jd.run(ctx, nil, "get", px, key); !strings.Contains(out, want) {
		t.Fatalf("get --proxy: %q, want %q", out, want)
	}
	if out := jd.run(ctx, nil, "get", "-b", nw.boot, key); !strings.Contains(out, want) {
		t.Fatalf("get over UDP: %q, want %q", out, want)
	}

	// listen --proxy: the stored value, then one put over UDP afterwards.
	lctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	type res struct {
		out, errOut string
		err         error
	}
	done := make(chan res, 1)
	go func() {
		o, e, err := jd.exec(lctx, nil, "listen", px, "--json", "--count", "2", "--timeout", "80s", key)
		done <- res{o, e, err}
	}()
	// The listen may start before or after this put: both values come either way.
	time.Sleep(time.Second)
	jd.run(ctx, nil, "put", "-b", nw.boot, key, "second")
	r := <-done
	if r.err != nil {
		t.Fatalf("listen --proxy: %v\n%s%s", r.err, r.out, r.errOut)
	}
	if !strings.Contains(r.out, `"data":"dmlhLWRlYmlhbi1wcm94eQ=="`) || !strings.Contains(r.out, `"data":"c2Vjb25k"`) {
		t.Fatalf("listen --proxy output:\n%s", r.out)
	}
}

// exchange is one HTTP request and what came back.
type exchange struct {
	status  int
	header  http.Header
	chunked bool
	body    string
}

func doRequest(ctx context.Context, t *testing.T, method, url, body string) exchange {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return exchange{status: resp.StatusCode, header: resp.Header, chunked: len(resp.TransferEncoding) > 0, body: string(b)}
}

// jsonShape is the structure of a JSON document: member names and value
// kinds, recursively (numbers and strings themselves are node-specific).
func jsonShape(s string) string {
	var x any
	if err := json.Unmarshal([]byte(s), &x); err != nil {
		return "not JSON: " + s
	}
	var shape func(any) string
	shape = func(x any) string {
		switch v := x.(type) {
		case map[string]any:
			var keys []string
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			b.WriteString("{")
			for _, k := range keys {
				b.WriteString(k + ":" + shape(v[k]) + ",")
			}
			return b.String() + "}"
		case string:
			return "str"
		case float64:
			return "num"
		case bool:
			return "bool"
		case nil:
			return "null"
		}
		return fmt.Sprintf("%T", x)
	}
	return shape(x)
}

func TestProxyServerMatchesDebian(t *testing.T) {
	requireOpenDHT(t)
	ctx := testContext(t)
	nw := startProxyNet(ctx, t, true)
	key := uniqueKey("proxy-compare")
	// A value with its id fixed: the put answer is then node-independent.
	val := `{"data":"aGVsbG8gcHJveHk=","id":"%d","type":0,"utype":"text/plain"}`
	// And a signed value with a recipient and a non-ASCII user type: the
	// owner is PEM text and the utype \u-escaped, as jsoncpp writes them.
	signed := signedJSON(t)
	for _, tc := range []struct {
		method, path, body string
		exact              bool // the body must be byte-identical
	}{
		{"GET", "/node/info", "", false},
		{"GET", "/", "", false},
		{"GET", "/node/stats", "", false},
		{"POST", "/key/" + key, "", true},
		{"POST", "/key/" + key, "{not json", true},
		{"POST", "/" + key, "{not json", true},
		{"POST", "/key/" + key, `{"type":"x"}`, true},
		{"POST", "/key/" + key, fmt.Sprintf(val, 1001), true},
		{"POST", "/" + key, fmt.Sprintf(val, 1002), true},
		{"POST", "/key/" + key, signed, true},
		{"GET", "/key/a/b/c", "", true},
		{"DELETE", "/key/" + key, "", true},
		{"OPTIONS", "/" + key, "", true},
		{"GET", "/key/" + key + "/options", "", true},
		{"SUBSCRIBE", "/key/" + key, `{"platform":"android"}`, true},
		{"SUBSCRIBE", "/key/" + key, `{"key":"tok","client_id":"c"}`, true},
		{"SUBSCRIBE", "/key/" + key, `{"key":"tok","client_id":"c","refresh":true}`, true},
		{"UNSUBSCRIBE", "/key/" + key, `{"key":"tok","client_id":"c"}`, true},
		{"UNSUBSCRIBE", "/key/" + key, `{"client_id":"c"}`, true},
		{"UNSUBSCRIBE", "/key/" + key, `{bad`, true},
	} {
		name := tc.method + " " + tc.path + " " + tc.body
		want := doRequest(ctx, t, tc.method, nw.theirs+tc.path, tc.body)
		got := doRequest(ctx, t, tc.method, nw.our+tc.path, tc.body)
		if got.status != want.status || got.chunked != want.chunked {
			t.Errorf("%s: status %d chunked %v, Debian %d %v", name, got.status, got.chunked, want.status, want.chunked)
		}
		for _, h := range []string{"Server", "Content-Type", "Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
			if got.header.Get(h) != want.header.Get(h) {
				t.Errorf("%s: %s %q, Debian %q", name, h, got.header.Get(h), want.header.Get(h))
			}
		}
		if tc.exact {
			if got.body != want.body {
				t.Errorf("%s: body %q, Debian %q", name, got.body, want.body)
			}
		} else if gs, ws := jsonShape(got.body), jsonShape(want.body); gs != ws || !strings.HasSuffix(got.body, "}\n") {
			t.Errorf("%s: body shape\n %s\nDebian\n %s\n(bodies %q / %q)", name, gs, ws, got.body, want.body)
		}
	}

	// Both values put above are on the network: a get through either proxy
	// streams both lines, identical.
	lines := func(base string) []string {
		var out []string
		for _, l := range strings.Split(doRequest(ctx, t, "GET", base+"/key/"+key, "").body, "\n") {
			if l != "" {
				out = append(out, l)
			}
		}
		sort.Strings(out)
		return out
	}
	want := []string{fmt.Sprintf(val, 1001), fmt.Sprintf(val, 1002), signed}
	sort.Strings(want)
	for try := 0; ; try++ {
		ours, theirs := lines(nw.our), lines(nw.theirs)
		if reflect.DeepEqual(ours, want) && reflect.DeepEqual(theirs, want) {
			break
		}
		if try == 10 {
			t.Fatalf("GET /key: ours %q, Debian %q, want %q", ours, theirs, want)
		}
		time.Sleep(time.Second)
	}

	// The listen streams of both start with the same stored values.
	for _, base := range []string{nw.our, nw.theirs} {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		req, _ := http.NewRequestWithContext(lctx, "GET", base+"/key/"+key+"/listen", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		var got []string
		sc := bufio.NewScanner(resp.Body)
		for len(got) < len(want) && sc.Scan() {
			got = append(got, sc.Text())
		}
		resp.Body.Close()
		cancel()
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) || len(resp.TransferEncoding) == 0 {
			t.Errorf("%s listen: %q (transfer encoding %v), want %q", base, got, resp.TransferEncoding, want)
		}
	}
}

// TestJamidThroughOurProxy: jamid's DHT goes through our dhtnode
// --proxyserver (bootstrapped from the namespace's Debian dhtnode) and the
// account reaches REGISTERED; our proxy's log shows jamid's requests.
func TestJamidThroughOurProxy(t *testing.T) {
	sandbox.Require(t)
	ctx := testContext(t)
	nw := sandbox.Start(t, sandbox.Options{})
	dn := newTool(t, "dhtnode")
	const proxyPort = 8080
	p, err := nw.Spawn("our-proxy", nil, dn.path, "-s", "-v", "-p", "4300", "-b", nw.Bootstrap(), "--proxyserver", strconv.Itoa(proxyPort),
		"--proxy-addr", "0.0.0.0") // IPv4 socket: WaitPort reads /proc/net/tcp
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := nw.WaitPort(wctx, "tcp", proxyPort, p); err != nil {
		t.Fatalf("our proxy: %v\n%s", err, sandbox.Tail(p.Log, 30))
	}
	// The proxy client reads "no good node" in /node/info as disconnected
	// and asks again a minute later: start jamid once our node is connected
	// (the proxy logs each snapshot it takes).
	connected := regexp.MustCompile(`msg="proxy stats" .*\\"good\\":[1-9]`)
	for {
		b, _ := os.ReadFile(p.Log)
		if connected.Match(b) {
			break
		}
		if wctx.Err() != nil {
			t.Fatalf("our proxy's node never had a good node:\n%s", sandbox.Tail(p.Log, 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	proxyAddr := fmt.Sprintf("%s:%d", nw.Addr, proxyPort)
	j, acc := nw.JamidWithAccount(ctx, t, "jamid", sandbox.JamidOptions{}, sandbox.AccountOptions{Details: map[string]string{
		"Account.proxyEnabled": "true",
		"Account.proxyServer":  proxyAddr,
	}})
	if v, err := j.Detail(ctx, acc.ID, "Account.proxyEnabled"); err != nil || v != "true" {
		t.Fatalf("jamid's Account.proxyEnabled: %q %v", v, err)
	}
	// REGISTERED was reached (JamidWithAccount waits for it). Through the
	// proxy: jamid polls /node/info (the legacy route "/"), listens, and
	// announces its device at its account key (a permanent put), which may
	// come a moment after REGISTERED: bounded wait.
	wants := []*regexp.Regexp{
		regexp.MustCompile(`msg="proxy request" method=GET path=/ remote=\S+ agent=`),
		regexp.MustCompile(`msg="proxy request" method=GET path=/key/[0-9a-f]{40}/listen remote=\S+ agent="RESTinio client"`),
		regexp.MustCompile(`msg="proxy request" method=POST path=/key/` + acc.JamiID + ` remote=\S+ agent="RESTinio client"`),
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(p.Log)
		if err != nil {
			t.Fatal(err)
		}
		log := string(b)
		var missing []string
		for _, want := range wants {
			if !want.MatchString(log) {
				missing = append(missing, want.String())
			}
		}
		if len(missing) == 0 {
			t.Logf("our proxy served jamid:\n%s", grepLines(log, "proxy request"))
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("our proxy's log has no %s:\n%s", strings.Join(missing, "\nnor "), grepLines(log, "proxy request"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// signedJSON is a value signed with a throwaway key, as value JSON.
func signedJSON(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(toolbin.Root(), "lib", "dht", "proxy", "testdata", "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := identity.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	to := wire.InfoHashOf([]byte("recipient"))
	v := &value.Value{ID: 1003, Type: 3, Seq: 7, Data: []byte("signed \x00\xff"), UserType: "text/ü", Recipient: &to}
	if err := v.Sign(key); err != nil {
		t.Fatal(err)
	}
	return string(proxy.MarshalValueJSON(v, nil))
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
