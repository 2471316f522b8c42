package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/dht"
)

// syncBuf is the console's stdout, read while the console writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testNetwork starts count loopback IPv4 nodes as --nodes does.
func testNetwork(t *testing.T, count int) *network {
	t.Helper()
	cfg := dht.Config{BindIPv4: netip.MustParseAddr("127.0.0.1"), NoIPv6: true}
	nw, err := startNetwork(context.Background(), cfg, count, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nw.close)
	return nw
}

// session drives a console through a pipe, one line at a time.
type session struct {
	t    *testing.T
	in   *io.PipeWriter
	out  *syncBuf
	errs *syncBuf
	done chan struct{}
	mark int // output before mark was already matched
}

func startSession(t *testing.T, nw *network) *session {
	pr, pw := io.Pipe()
	s := &session{t: t, in: pw, out: &syncBuf{}, errs: &syncBuf{}, done: make(chan struct{})}
	lc := &logControl{h: slog.NewTextHandler(io.Discard, nil)}
	lc.set(false, "")
	con := newConsole(nw, s.out, s.errs, lc, false, false)
	go func() {
		defer close(s.done)
		con.run(context.Background(), pr)
	}()
	t.Cleanup(func() {
		pw.Close()
		<-s.done
	})
	return s
}

func (s *session) send(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		s.t.Fatal(err)
	}
}

// expect waits until the output after the last match matches re, and
// returns the submatches. The deadline only bounds a broken test.
func (s *session) expect(re string) []string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := s.out.String()
		if loc := rx.FindStringSubmatchIndex(out[s.mark:]); loc != nil {
			m := rx.FindStringSubmatch(out[s.mark:])
			s.mark += loc[1]
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("console output does not match %q after:\n%s\nstderr:\n%s", re, out[s.mark:], s.errs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConsole(t *testing.T) {
	nw := testNetwork(t, 4)
	s := startSession(t, nw)
	id := nw.nodes[0].ID().String()
	s.expect(`^OpenDHT node ` + id + ` running on IPv4 port \d+, IPv6 port 0\n(OpenDHT node [0-9a-f]{40} .*\n){3} \(type 'h' or 'help' for a list of possible commands\)\n\n>> `)

	// Not a TTY: the line read is echoed after the prompt, as readline does.
	s.send("p hello world")
	m := s.expect(`^p hello world\nUsing h\(hello\) = aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\nPut: success, took [0-9.e+]+ (us|ms|s)\. Value ID: ([0-9a-f]+)\n>> `)
	vid := m[2]
	s.send("g aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")
	s.expect(`^g aaf4\w+\nGet: found 1 value\(s\) after [0-9.e+]+ (us|ms|s) \(total 1\)\n\tValue\[id:` + vid + ` data\(text/plain\):"world"\]\nGet: completed, took [^\n]+ \(total 1\)\n>> `)
	s.send("g hello WHERE id=5")
	s.expect(`(?s)^g hello WHERE id=5\nUsing h\(hello\) = \w+\nGet: completed, took [^\n]+ \(total 0\)\n>> `)
	s.send("q hello SELECT id,seq")
	s.expect(`Query: found field value index after [^\n]+\n\tIndex\[Id:` + vid + `,Seq:0\]\nQuery: completed, took [^\n]+\n>> `)

	s.send("l hello")
	tok := s.expect(`Listening, token: (\d+)\n`)[1]
	s.expect(`Listen: found 1 values \(total 1\)\n\tValue\[id:` + vid + ` `)
	s.send("p hello again")
	s.expect(`Listen: found 1 values \(total 2\)\n\tValue\[id:[0-9a-f]+ data\(text/plain\):"again"\]\n`)
	s.send("pp other permanent")
	pid := s.expect(`Using h\(other\) = \w+\nPut: success, took [^\n]+\. Value ID: ([0-9a-f]+)\n`)[1]

	s.send("ls aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")
	s.expect(`\nSearch IPv4 aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d gets: 0, last step: [^\n]* ago \[synced\] \[listening\]\nQueries:\nQuery\[SELECT \* \]\n Common bits    InfoHash                       Conn. Get   Ops  IP\n(\s+\d+ [0-9a-f]{40} \* \[[ \d][ x]\] \[[su-][ fc]\] \[l\] 127\.0\.0\.1:\d+\n){3}\n>> `)
	s.send("ls")
	s.expect(`s:synched, u:updated, a:announced, c:candidate, f:cur req, x:expired, \*:known\n`)
	s.expect(`Announcement: Value\[id:` + pid + ` data\(text/plain\):"permanent"\]( \[announced\])?\n`)
	s.expect(`Total: 2 searches \(2 IPv4, 0 IPv6\)\.\n\n>> `)
	s.send("ld")
	// Keys in order; h(other) = d0941e…; sizes count data and user type.
	s.expect(`^ld\nStorage aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d 0 list\., 2 values \(30 bytes\)\n   1 local listeners\n` +
		`Storage d0941e68da8f38151ff86a61fc59f7c5cf9fcaa2 0 list\., 1 values \(19 bytes\)\n\n\n\nTotal 2 storages, 3 values \(49 bytes\)\n\n>> `)
	s.send("ld aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")
	s.expect(`^ld \w+\nStorage aaf4\w+ 0 list\., 2 values \(30 bytes\)\n   1 local listeners\n\n>> `)
	s.send("ld 0000000000000000000000000000000000000001")
	s.expect(`^ld \w+\nStorage 0000000000000000000000000000000000000001 empty\n\n>> `)
	s.send("lr")
	s.expect(`^lr\nIPv4 routing table:\n0{40} count: 3 updated: [^\n]+\n(    Node [0-9a-f]{40} 127\.0\.0\.1:\d+ updated: [^\n]+ \[good\]\n){3}\nIPv6 routing table:\n0{40} count: 0 updated: never\n\n>> `)
	s.send("ll")
	s.expect(`^ll\nOpenDHT node ` + id + ` running on [^\n]+\n\d+ ongoing operations\nStorage has 3 values, using 0 KB\nIPv4 stats:\nKnown nodes: 3 good, 0 dubious, \d+ incoming\.\n\d+ searches, \d+ total cached nodes\n\nIPv6 stats:\nKnown nodes: 0 good, 0 dubious, 0 incoming\.\n0 searches, 0 total cached nodes\n\nLocal network: 4 nodes, ports( \d+){4}\n>> `)
	s.send("ll --json")
	line := s.expect(`^ll --json\n(\{[^\n]+\})\n>> `)[1]
	var st statusJSON
	if err := json.Unmarshal([]byte(line), &st); err != nil {
		t.Fatalf("ll --json: %v: %s", err, line)
	}
	if st.NodeID != id || st.StorageValues != 3 || st.IPv4.Good != 3 || st.IPv4.Status != "connected" || len(st.LocalNodes) != 4 {
		t.Errorf("ll --json: %+v", st)
	}
	s.send("la")
	s.expect(`^la\nReported public addresses:\n127\.0\.0\.1\n>> `)

	s.send("cl hello " + tok)
	s.expect(`^cl hello \d+\nUsing h\(hello\) = \w+\n>> `)
	s.send("cpp other " + pid)
	s.expect(`^cpp other \w+\nUsing h\(other\) = \w+\n>> `)
	s.send("s x y")
	s.expect(`Using h\(x\) = 11f6ad8ec52a2984abaafd7c3b516503785c2072\nAn identity is required to perform this operation \(run with -i\)\n>> `)
	s.send("foo")
	s.expect(`^foo\nUnknown command: foo\n \(type 'h' or 'help' for a list of possible commands\)\n>> `)
	s.send("g")
	s.expect(`^g\n>> `)
	s.send("cl hello notanumber")
	s.expect(`>> `)
	s.send("")
	s.expect(`^\n>> `)
	s.send("h")
	s.expect(`^h\nOpenDHT command line interface \(CLI\)\n`)
	s.send("x")
	<-s.done
	out := s.out.String()
	if !strings.HasSuffix(out, ">> x\n\nStopping node...\n") {
		t.Errorf("after x: %q", out[max(0, len(out)-80):])
	}
	for _, want := range []string{"Syntax error: invalid InfoHash.\n", "Syntax: cl [key] [token]\n"} {
		if !strings.Contains(s.errs.String(), want) {
			t.Errorf("stderr lacks %q: %q", want, s.errs.String())
		}
	}
	// The listen and the permanent put were cancelled.
	srs, err := nw.nodes[0].Searches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, sr := range srs {
		if len(sr.Permanent) > 0 {
			t.Errorf("search %s still announces %v after cpp", sr.Key, sr.Permanent)
		}
	}
}

// The end of stdin stops the node as "x" does.
func TestConsoleEOF(t *testing.T) {
	nw := testNetwork(t, 1)
	s := startSession(t, nw)
	s.send("la")
	s.expect(`Reported public addresses:\n>> `)
	s.in.Close()
	<-s.done
	if out := s.out.String(); !strings.HasSuffix(out, ">> \nStopping node...\n") {
		t.Errorf("after EOF: %q", out)
	}
}
