package proxy

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// The value of opendht.md §8's verified example, as Debian's proxy wrote it.
const specExample = `{"data":"aGVsbG8gcHJveHk=","id":"1043153782272689584","type":0,"utype":"text/plain"}`

func TestValueJSONSpecExample(t *testing.T) {
	v, err := UnmarshalValueJSON([]byte(specExample))
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != 1043153782272689584 || string(v.Data) != "hello proxy" || v.UserType != "text/plain" || v.Type != 0 {
		t.Fatalf("decoded %+v", v)
	}
	if got := string(MarshalValueJSON(v, nil)); got != specExample {
		t.Fatalf("re-encoded\n got %s\nwant %s", got, specExample)
	}
}

func TestValueJSONInput(t *testing.T) {
	for _, tc := range []struct {
		in   string
		id   uint64
		typ  uint16
		err  error
		prio *uint8
	}{
		{in: `{"id":42,"data":"AA=="}`, id: 42},
		{in: `{"id":"  17xyz"}`, id: 17},    // std::stoull stops at the first non-digit
		{in: `{"id":"-1"}`, id: ^uint64(0)}, // and negates modulo 2^64
		{in: `{"id":"abc"}`, id: 0},         // throws inside unpackId: 0
		{in: `{"type":3.9}`, typ: 3},        // asInt truncates doubles
		{in: `{"type":true}`, typ: 1},
		{in: `{"type":"3"}`, err: ErrValue}, // asInt throws on strings
		{in: `{"owner":"not a key"}`, err: ErrValue},
		{in: `[1,2]`, err: ErrValue},
		{in: `null`},
		{in: `{"data":"AA=="} trailing`}, // failIfExtra is off
		{in: `{"data":`, err: ErrJSON},
		{in: `{"prio":5}`, prio: new(uint8(5))},
		{in: `{"prio":"5"}`}, // not integral: ignored
	} {
		v, err := UnmarshalValueJSON([]byte(tc.in))
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: err %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if v.ID != tc.id || v.Type != tc.typ {
			t.Errorf("%s: id %d type %d, want %d %d", tc.in, v.ID, v.Type, tc.id, tc.typ)
		}
		if (tc.prio == nil) != (v.Priority == nil) || (tc.prio != nil && *tc.prio != *v.Priority) {
			t.Errorf("%s: prio %v, want %v", tc.in, v.Priority, tc.prio)
		}
	}
}

// testKey is a throwaway RSA key committed under testdata (no key
// generation in tests).
func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("testdata/key.pem")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func TestValueJSONSigned(t *testing.T) {
	key := testKey(t)
	to := wire.InfoHashOf([]byte("recipient"))
	v := &value.Value{ID: 7, Type: 3, Data: []byte("signed data"), Seq: 2, Recipient: &to, UserType: "ü/x"}
	if err := v.Sign(key); err != nil {
		t.Fatal(err)
	}
	j := MarshalValueJSON(v, map[string]any{"expired": true})
	s := string(j)
	for _, want := range []string{`"owner":"-----BEGIN PUBLIC KEY-----\n`, `-----END PUBLIC KEY-----\n\u0000",`, `"seq":2,`, `"to":"` + to.String() + `"`, `"utype":"\u00fc/x"`, `"expired":true`, `"sig":"`} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s in %s", want, s)
		}
	}
	got, err := UnmarshalValueJSON(j)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(v) || got.Seq != 2 || got.Recipient == nil || *got.Recipient != to {
		t.Fatalf("round trip: %v != %v", got, v)
	}
	// The signature still holds over the rebuilt body.
	if err := got.Sign(key); err != nil { // re-sign to compare bytes
		t.Fatal(err)
	}
	if string(got.Signature) != string(v.Signature) {
		t.Fatal("the rebuilt body signs differently")
	}
	enc := &value.Value{ID: 9, Cypher: []byte{1, 2, 3}}
	if got := string(MarshalValueJSON(enc, nil)); got != `{"cypher":"AQID","id":"9"}` {
		t.Fatalf("encrypted: %s", got)
	}
}

func FuzzUnmarshalValueJSON(f *testing.F) {
	f.Add([]byte(specExample))
	f.Add([]byte(`{"id":"1","cypher":"AQID","prio":1}`))
	f.Add([]byte(`{"owner":"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n","seq":1,"sig":"AA=="}`))
	f.Add([]byte(`{"to":"0123456789012345678901234567890123456789","seq":-5,"type":1e9}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := UnmarshalValueJSON(b)
		if err != nil {
			return
		}
		// What we write, we read back to the same value.
		j := MarshalValueJSON(v, nil)
		w, err := UnmarshalValueJSON(j)
		if err != nil {
			t.Fatalf("re-read %s: %v", j, err)
		}
		if !w.Equal(v) {
			t.Fatalf("round trip of %s changed the value", j)
		}
	})
}

// network is two nodes on loopback, the second bootstrapped from the
// first, and a proxy server on the second.
type network struct {
	a, b *dht.Node
	srv  *Server
	http *httptest.Server
}

func newNetwork(t *testing.T) *network {
	t.Helper()
	lo := netip.MustParseAddr("127.0.0.1")
	a, err := dht.New(dht.Config{BindIPv4: lo, NoIPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := dht.New(dht.Config{BindIPv4: lo, NoIPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Bootstrap(ctx, a.Addr4().String()); err != nil {
		t.Fatal(err)
	}
	srv := NewServer(b, ServerOptions{StatsPeriod: 200 * time.Millisecond})
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &network{a: a, b: b, srv: srv, http: hs}
}

func do(t *testing.T, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServerErrors(t *testing.T) {
	n := newNetwork(t)
	u := n.http.URL
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/key/abc", "", 400, `{"err":"Missing parameters"}`},
		{"POST", "/key/abc", "{not json", 400, `{"err:":"Incorrect JSON"}`},
		{"POST", "/abc", "{not json", 400, `{"err:":"Incorrect JSON"}`},
		{"POST", "/key/abc", `{"type":"x"}`, 500, `{"err":"Internal server error"}`},
		{"GET", "/key/a/b/c", "", 501, ``},
		{"PUT", "/key/abc", "", 501, ``},
		{"SUBSCRIBE", "/key/abc", `{"platform":"android"}`, 400, `{"err":"No token"}`},
		{"SUBSCRIBE", "/key/abc", `{"key":"tok","client_id":"c"}`, 200, "{}\n"},
		{"SUBSCRIBE", "/key/abc", `{"key":"tok","client_id":"c","refresh":true}`, 200, "{}\n"},
		{"UNSUBSCRIBE", "/key/abc", `{"key":"tok","client_id":"c"}`, 200, ""},
	} {
		resp, body := do(t, tc.method, u+tc.path, tc.body)
		if resp.StatusCode != tc.status || body != tc.want {
			t.Errorf("%s %s %q: %d %q, want %d %q", tc.method, tc.path, tc.body, resp.StatusCode, body, tc.status, tc.want)
		}
		if tc.status != 501 && (resp.Header.Get("Server") != "RESTinio" || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Content-Type") != "application/json") {
			t.Errorf("%s %s: headers %v", tc.method, tc.path, resp.Header)
		}
	}
	resp, _ := do(t, "OPTIONS", u+"/abc", "")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Methods") != "OPTIONS, GET, POST, LISTEN" {
		t.Errorf("OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestServerNodeInfo(t *testing.T) {
	n := newNetwork(t)
	c, info, err := Dial(context.Background(), n.http.URL, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if info.ID != n.b.ID() || info.PublicIP != "::ffff:127.0.0.1" {
		t.Fatalf("node info %+v (node %s)", info, n.b.ID())
	}
	_, body := do(t, "GET", n.http.URL+"/", "")
	for _, want := range []string{`"ipv4":{"dubious":`, `"node_id":"` + n.b.ID().String() + `"`, `"public_ip":"::ffff:127.0.0.1"}` + "\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("/ body %q lacks %q", body, want)
		}
	}
	_, body = do(t, "GET", n.http.URL+"/node/stats", "")
	for _, want := range []string{`{"listenCount":0,"nodeInfo":{`, `"pushListenersCount":`, `"requestRate":`, `"totalPermanentPuts":0}` + "\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("/node/stats body %q lacks %q", body, want)
		}
	}
}

func TestClientAgainstServer(t *testing.T) {
	n := newNetwork(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, n.http.URL, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key := wire.InfoHashOf([]byte("proxy test"))

	got := make(chan []*value.Value, 10)
	tok, err := c.Listen(ctx, key, nil, func(vals []*value.Value, expired bool) bool {
		if !expired {
			got <- vals
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}

	v := &value.Value{Data: []byte("through the proxy"), UserType: "text/plain"}
	if err := c.Put(ctx, key, v, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if v.ID == 0 {
		t.Fatal("put: no id assigned")
	}
	// The value is on the DHT: node a, which the proxy does not serve, has it.
	vals, err := n.a.Get(ctx, key, nil)
	if !hasValue(vals, v) {
		t.Fatalf("node a: %v %v", vals, err)
	}
	// The client reads it back through the proxy.
	vals, err = c.Get(ctx, key, nil)
	if err != nil || !hasValue(vals, v) {
		t.Fatalf("client get: %v %v", vals, err)
	}
	// A WHERE is applied by the client.
	vals, err = c.Get(ctx, key, &value.Query{Where: *new(value.Where).UserType("other")})
	if err != nil || len(vals) != 0 {
		t.Fatalf("filtered get: %v %v", vals, err)
	}
	select {
	case vals := <-got:
		if !hasValue(vals, v) {
			t.Fatalf("listen: %v", vals)
		}
	case <-ctx.Done():
		t.Fatal("listen: nothing")
	}
	// A value put on the other node reaches the listener too.
	w := &value.Value{Data: []byte("from node a")}
	if err := n.a.Put(ctx, key, w, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case vals := <-got:
			if hasValue(vals, w) {
				goto listened
			}
		case <-ctx.Done():
			t.Fatal("listen: the value put on node a never came")
		}
	}
listened:
	if ok, _ := c.CancelListen(ctx, tok); !ok {
		t.Fatal("CancelListen: unknown token")
	}
	// Permanent: the server keeps it and reports it in its stats.
	p := &value.Value{Data: []byte("permanent")}
	if err := c.Put(ctx, key, p, dht.PutOptions{Permanent: true}); err != nil {
		t.Fatal(err)
	}
	n.srv.refresh()
	_, body := do(t, "GET", n.http.URL+"/node/stats", "")
	if !strings.Contains(body, `"putCount":1,`) || !strings.Contains(body, `"totalPermanentPuts":1}`) {
		t.Fatalf("stats after a permanent put: %s", body)
	}
	if ok, _ := c.CancelPut(ctx, key, p.ID); !ok {
		t.Fatal("CancelPut: unknown put")
	}
}

func hasValue(vals []*value.Value, v *value.Value) bool {
	for _, x := range vals {
		if x.ID == v.ID && string(x.Data) == string(v.Data) {
			return true
		}
	}
	return false
}

func TestServerListenStream(t *testing.T) {
	n := newNetwork(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	key := wire.InfoHashOf([]byte("stream"))
	v := &value.Value{Data: []byte("before")}
	if err := n.a.Put(ctx, key, v, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", n.http.URL+"/key/stream/listen", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("listen: %d %v", resp.StatusCode, resp.TransferEncoding)
	}
	buf := make([]byte, 4096)
	k, err := resp.Body.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := string(MarshalValueJSON(v, nil)) + "\n"
	if string(buf[:k]) != want {
		t.Fatalf("first chunk %q, want %q", buf[:k], want)
	}
}

// A listen whose stream is cut (the proxy restarted, a NAT dropped the
// connection) is opened again, and a value that arrives afterwards is
// delivered; values already seen are not delivered twice.
func TestClientListenReconnects(t *testing.T) {
	n := newNetwork(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var listens atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/listen") {
			listens.Add(1)
		}
		n.srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	c, _, err := Dial(ctx, hs.URL, ClientOptions{RetryDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key := wire.InfoHashOf([]byte("reconnect"))
	first := &value.Value{Data: []byte("first")}
	if err := n.a.Put(ctx, key, first, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *value.Value, 10)
	if _, err := c.Listen(ctx, key, nil, func(vals []*value.Value, expired bool) bool {
		for _, v := range vals {
			got <- v
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	next := func() *value.Value {
		select {
		case v := <-got:
			return v
		case <-ctx.Done():
			t.Fatal("listen: nothing came")
		}
		return nil
	}
	if v := next(); v.ID != first.ID {
		t.Fatalf("first value: %v", v)
	}
	hs.CloseClientConnections()
	second := &value.Value{Data: []byte("second")}
	if err := n.a.Put(ctx, key, second, dht.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := next(); v.ID != second.ID {
		t.Fatalf("after the reconnection: %v (the first value again?)", v)
	}
	if k := listens.Load(); k < 2 {
		t.Fatalf("%d listen request(s): the stream was never opened again", k)
	}
}

func FuzzReadLines(f *testing.F) {
	f.Add([]byte(specExample + "\n" + `{"id":"2","data":"AA==","expired":true}` + "\n{}\n"))
	f.Add([]byte("not json\n"))
	f.Add([]byte(`{"id":"3"}` + "\n" + `{"cut`))
	f.Fuzz(func(t *testing.T, b []byte) {
		readLines(strings.NewReader(string(b)), func(vals []*value.Value, expired bool) bool {
			for _, v := range vals {
				if v == nil {
					t.Fatal("nil value delivered")
				}
			}
			return true
		})
	})
}

// A permanent put posted again without an id, with the same content, is a
// refresh of the one the server holds: same id back, one put kept.
func TestServerPermanentRepost(t *testing.T) {
	n := newNetwork(t)
	body := `{"data":"cGVybWFuZW50","type":0,"permanent":true}`
	r1, b1 := do(t, "POST", n.http.URL+"/key/perm", body)
	r2, b2 := do(t, "POST", n.http.URL+"/key/perm", body)
	if r1.StatusCode != 200 || r2.StatusCode != 200 {
		t.Fatalf("posts: %d %q, %d %q", r1.StatusCode, b1, r2.StatusCode, b2)
	}
	v1, err1 := UnmarshalValueJSON([]byte(b1))
	v2, err2 := UnmarshalValueJSON([]byte(b2))
	if err1 != nil || err2 != nil || v1.ID == 0 || v1.ID != v2.ID || strings.Contains(b1, "permanent") {
		t.Fatalf("answers %q and %q", b1, b2)
	}
	n.srv.refresh()
	if st, ok := n.srv.Stats(); !ok || st.PutCount != 1 || st.TotalPermanentPuts != 1 {
		t.Fatalf("stats %+v", st)
	}
	// A different content is another put.
	do(t, "POST", n.http.URL+"/key/perm", `{"data":"b3RoZXI=","permanent":{"key":""}}`)
	n.srv.refresh()
	if st, _ := n.srv.Stats(); st.PutCount != 1 || st.TotalPermanentPuts != 2 {
		t.Fatalf("stats after a second value: %+v", st)
	}
}

// With an identity, /node/info leads with the public key id ("id").
func TestServerNodeInfoID(t *testing.T) {
	n := newNetwork(t)
	pk := wire.InfoHashOf([]byte("public key"))
	srv := NewServer(n.b, ServerOptions{PublicKeyID: &pk})
	defer srv.Close()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/node/info", nil))
	if want := `{"id":"` + pk.String() + `","ipv4":`; rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), want) {
		t.Fatalf("%d %q, want a body starting %q", rec.Code, rec.Body.String(), want)
	}
}
