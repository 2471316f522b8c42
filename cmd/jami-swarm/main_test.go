package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/swarm"
)

// The test binary doubles as jami-swarm for the `serve --stdio` children
// that pull and clone start for a path source.
func TestMain(m *testing.M) {
	if os.Getenv("JAMI_SWARM_TEST_AS_TOOL") == "1" {
		main()
		return
	}
	os.Setenv("JAMI_SWARM_TEST_AS_TOOL", "1")
	// serve --listen and log --follow stop cleanly: nothing may be left
	// running (os/signal's receiver is the runtime's, started by cli.Run).
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("os/signal.signal_recv"), goleak.IgnoreTopFunction("os/signal.loop"))
}

const (
	fixtures    = "../../tests/testdata/fixtures/swarm"
	libTestdata = "../../lib/swarm/testdata"
)

// run runs jami-swarm in-process and returns stdout, stderr, exit code.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	app := newTool().App()
	var out, errb bytes.Buffer
	app.Writer, app.ErrWriter, app.Reader = &out, &errb, strings.NewReader(stdin)
	code := cli.Run(app, append([]string{"jami-swarm"}, args...))
	return out.String(), errb.String(), code
}

// mustRun is run expecting success.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := run(t, "", args...)
	if code != 0 {
		t.Fatalf("jami-swarm %v: exit %d: %s", args, code, errs)
	}
	return out
}

// testAccount copies a fixture account folder (jamid's throwaway keys).
func testAccount(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.yml", "ring_device.crt", "ring_device.key"} {
		b, err := os.ReadFile(filepath.Join(fixtures, name, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// log --json raw gives, for every commit of jamid's fixtures, exactly the
// map jamid 2023's D-Bus API returned (swarm-testvectors.json).
func TestLogRawMatchesJamid(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(libTestdata, "swarm-testvectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vec struct {
		Repos map[string]struct {
			Commits []struct {
				ID       string            `json:"id"`
				Expected map[string]string `json:"expected_convCommitToMap_2023"`
			} `json:"commits_newest_first"`
		} `json:"repos"`
	}
	if err := json.Unmarshal(raw, &vec); err != nil {
		t.Fatal(err)
	}
	for name, repo := range vec.Repos {
		out := mustRun(t, "log", "--json", "raw", "-C", filepath.Join(libTestdata, name+".git"))
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != len(repo.Commits) {
			t.Fatalf("%s: %d lines, want %d", name, len(lines), len(repo.Commits))
		}
		for i, c := range repo.Commits {
			var got map[string]string
			if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.Expected) {
				t.Errorf("%s %s:\n got %v\nwant %v", name, c.ID, got, c.Expected)
			}
		}
		for _, rules := range []string{"2023", "current"} {
			for _, lenient := range []string{"--lenient=false", "--lenient"} {
				mustRun(t, "verify", "--rules", rules, lenient, "-C", filepath.Join(libTestdata, name+".git"))
			}
		}
	}
}

// log --follow prints the history, then each new message as it lands,
// until its context ends.
func TestLogFollow(t *testing.T) {
	pollInterval = 5 * time.Millisecond
	alice := testAccount(t, "alice")
	conv := strings.TrimSpace(mustRun(t, "init", "--account", alice, "--title", "T"))
	dir := filepath.Join(alice, "conversations", conv)
	mustRun(t, "send", "--account", alice, "-C", dir, "first")

	for _, format := range []string{"raw", "folded"} {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		app := newTool().App()
		app.Writer, app.ErrWriter = pw, io.Discard
		done := make(chan error, 1)
		go func() {
			done <- app.RunContext(ctx, []string{"jami-swarm", "log", "--follow", "--json", format, "-C", dir})
			pw.Close()
		}()
		lines := bufio.NewScanner(pr)
		next := func() map[string]any {
			t.Helper()
			if !lines.Scan() {
				t.Fatalf("%s: output ended: %v", format, lines.Err())
			}
			var m map[string]any
			if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		// First the history, oldest first.
		history := strings.Count(mustRun(t, "log", "--json", format, "-C", dir), "\n")
		var seen []map[string]any
		for range history {
			seen = append(seen, next())
		}
		if format == "raw" && (history != 3 || seen[0]["type"] != "initial" || seen[2]["body"] != "first") {
			t.Errorf("raw history %v", seen)
		}
		sent := strings.TrimSpace(mustRun(t, "send", "--account", alice, "-C", dir, "second-"+format))
		m := next()
		if m["id"] != sent {
			t.Errorf("%s: followed %v, want %s", format, m, sent)
		}
		if format == "folded" {
			// A reaction prints the message it changed again.
			mustRun(t, "react", "--account", alice, "-C", dir, sent, "+1")
			m := next()
			if m["id"] != sent || len(m["reactions"].([]any)) != 1 {
				t.Errorf("folded after reaction: %v", m)
			}
		}
		cancel()
		for lines.Scan() {
		}
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("follow ended with %v", err)
		}
	}
}

// serve --listen on loopback answers pull and clone over TCP, and refuses
// other addresses.
func TestServeListenTCP(t *testing.T) {
	alice, bob := testAccount(t, "alice"), testAccount(t, "bob")
	conv := strings.TrimSpace(mustRun(t, "init", "--account", alice))
	dir := filepath.Join(alice, "conversations", conv)
	mustRun(t, "invite", "--account", alice, "-C", dir, "9e257ebe228b6abcb992c0e5eb9a3e2f04cdda0d")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	app := newTool().App()
	app.Writer, app.ErrWriter = pw, io.Discard
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(ctx, []string{"jami-swarm", "serve", "--listen", "127.0.0.1:0", "-C", dir})
	}()
	addr, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	src := "tcp://" + strings.TrimSpace(addr)
	out := mustRun(t, "clone", "--account", bob, "--json", src)
	var cl cloneResult
	if err := json.Unmarshal([]byte(out), &cl); err != nil || cl.Conversation != conv || cl.Join == "" {
		t.Fatalf("clone: %s %v", out, err)
	}
	mustRun(t, "send", "--account", alice, "-C", dir, "after the clone")
	out = mustRun(t, "pull", "--account", bob, "-C", conv, "--json", src)
	var pl pullResult
	if err := json.Unmarshal([]byte(out), &pl); err != nil || pl.Outcome != "merged" || len(pl.Commits) != 1 {
		t.Errorf("pull: %s %v", out, err)
	}
	// Stock git speaks the same git:// dialect: it clones from our server
	// and finds the pack sound.
	if gitBin, err := exec.LookPath("git"); err == nil {
		gdir := filepath.Join(t.TempDir(), "g.git")
		if out, err := exec.Command(gitBin, "clone", "-q", "--bare", "git://"+strings.TrimSpace(addr)+"/"+conv, gdir).CombinedOutput(); err != nil {
			t.Errorf("git clone: %v\n%s", err, out)
		} else if out, err := exec.Command(gitBin, "-C", gdir, "fsck", "--strict").CombinedOutput(); err != nil {
			t.Errorf("git fsck: %v\n%s", err, out)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("serve ended with %v", err)
	}
	pw.Close()

	if _, errs, code := run(t, "", "serve", "--listen", "192.0.2.1:0", "-C", dir); code != cli.ExitUsage || !strings.Contains(errs, "not a loopback address") {
		t.Errorf("non-loopback listen: %d %s", code, errs)
	}
	if _, errs, code := run(t, "", "pull", "--account", bob, "-C", conv, "tcp://192.0.2.1:9"); code != cli.ExitUsage || !strings.Contains(errs, "not a loopback address") {
		t.Errorf("non-loopback source: %d %s", code, errs)
	}
}

// pull from a path runs `serve --stdio` as a child; a source that is not a
// conversation, or one that serves something else, changes nothing.
func TestPullPathSource(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Log("no git for the cross-check")
	}
	alice := testAccount(t, "alice")
	c1 := strings.TrimSpace(mustRun(t, "init", "--account", alice))
	os.Setenv("SOURCE_DATE_EPOCH", "1795400001")
	defer os.Unsetenv("SOURCE_DATE_EPOCH")
	c2 := strings.TrimSpace(mustRun(t, "init", "--account", alice))
	d1 := filepath.Join(alice, "conversations", c1)
	_, errs, code := run(t, "", "pull", "--account", alice, "-C", d1, filepath.Join(alice, "conversations", c2))
	if code != cli.ExitFailure || !strings.Contains(errs, "is not in conversation "+c1) {
		t.Errorf("foreign conversation: %d %s", code, errs)
	}
	_, errs, code = run(t, "", "pull", "--account", alice, "-C", d1, t.TempDir())
	if code == 0 || !strings.Contains(errs, "repository does not exist") {
		t.Errorf("not a repository: %d %s", code, errs)
	}
	r, err := swarm.Open(d1)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := r.Head(); h.String() != c1 {
		t.Errorf("head moved to %s", h)
	}
}
