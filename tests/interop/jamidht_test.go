package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jamikit/jamikit/tests/interop/sandbox"
	"github.com/jamikit/jamikit/tests/toolbin"
)

// The interop points 3 and 4, with jamid 13.7.0 on the namespace's
// Debian dhtnode and our jami-dht run inside the namespace:
//   - `jami-dht presence` lists jamid's device, verified;
//   - our `jami-dht announce` of an account jamid has as a contact makes
//     jamid report that contact online (getSubscriptions / newBuddyNotification);
//   - jamid's sendTrustRequest to our account is printed by `jami-dht inbox`,
//     decrypted and verified;
//   - `jami-dht request` to jamid's account shows up in jamid's getTrustRequests.
//
// Our accounts are committed fixtures: carol (two devices, jami-keygen) and
// bob (the folder jamid itself wrote).
func TestJamidDHTAccount(t *testing.T) {
	sandbox.Require(t)
	ctx := testContext(t)
	net := sandbox.Start(t, sandbox.Options{})
	j, acc := net.JamidWithAccount(ctx, t, "jamid", sandbox.JamidOptions{}, sandbox.AccountOptions{})
	jd := newTool(t, "jami-dht")
	fix := filepath.Join(toolbin.Root(), "tests", "testdata", "fixtures")
	carol, bob := filepath.Join(fix, "swarm", "carol1"), filepath.Join(fix, "keygen", "jamid-folder")
	const carolID, bobID = "09f60d0223d13991c8329e4b6cde0eadd69553ab", "d9b52ffb583b1ea8bed701d03c4aef1a936c5554"
	b := "--bootstrap=" + net.Bootstrap()

	devID, err := j.Detail(ctx, acc.ID, "Account.deviceID")
	if err != nil || len(devID) != 64 {
		t.Fatalf("jamid's device id: %q %v", devID, err)
	}

	t.Run("presence lists jamid's device, verified", func(t *testing.T) {
		type pres struct {
			Devices []struct {
				DeviceID string `json:"device_id"`
				Verified bool   `json:"verified"`
				Error    string `json:"error"`
			} `json:"devices"`
		}
		var last string
		for try := 0; try < 20; try++ { // jamid announces right after REGISTERED: bounded retries
			out, errOut, code := inNS(ctx, t, net, jd, nil, "presence", b, "--json", "--timeout", "20s", acc.JamiID)
			last = out + errOut
			if code == 3 {
				time.Sleep(time.Second)
				continue
			}
			if code != 0 {
				t.Fatalf("jami-dht presence: exit %d\n%s", code, last)
			}
			var p pres
			if err := json.Unmarshal([]byte(out), &p); err != nil {
				t.Fatalf("presence --json: %v\n%s", err, out)
			}
			if len(p.Devices) != 1 || p.Devices[0].DeviceID != devID || !p.Devices[0].Verified {
				t.Fatalf("presence of %s: want jamid's device %s verified, got %+v", acc.JamiID, devID, p.Devices)
			}
			return
		}
		t.Fatalf("jami-dht presence never found jamid's device:\n%s", last)
	})

	t.Run("our announce makes the contact online in jamid", func(t *testing.T) {
		if err := j.Call(ctx, "addContact", acc.ID, carolID).Err; err != nil {
			t.Fatal(err)
		}
		if err := j.Call(ctx, "PresenceManager.subscribeBuddy", acc.ID, carolID, true).Err; err != nil {
			t.Fatal(err)
		}
		if st := buddyStatus(ctx, t, j, acc.ID, carolID); st == "Online" {
			t.Fatalf("carol is online before announcing")
		}
		mark := j.Mark()
		inNSOK(ctx, t, net, jd, "announce", b, "--account", carol, "--once")
		deadline := time.Now().Add(60 * time.Second)
		for buddyStatus(ctx, t, j, acc.ID, carolID) != "Online" {
			if time.Now().After(deadline) {
				t.Fatalf("jamid never reported carol online; signals: %v", j.Signals(mark))
			}
			time.Sleep(500 * time.Millisecond)
		}
		// And the signal a client shows: newBuddyNotification(acc, uri,
		// online, ""), the status a D-Bus boolean in 13.7.0.
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := j.WaitSignal(sctx, mark, func(s sandbox.Signal) bool {
			return sandbox.IsSignal("newBuddyNotification", acc.ID, carolID)(s) && len(s.Body) > 2 && s.Body[2] == true
		}); err != nil {
			t.Errorf("no newBuddyNotification(online) for carol: %v", err)
		}
	})

	t.Run("jamid's sendTrustRequest is in our inbox, verified", func(t *testing.T) {
		in := startInbox(ctx, t, net, jd, b, carol)
		if err := j.Call(ctx, "sendTrustRequest", acc.ID, carolID, []byte("hello from jamid")).Err; err != nil {
			t.Fatal(err)
		}
		in.want(t, func(m inboxLine) bool {
			return m.Kind == "TrustRequest" && m.From == acc.JamiID && m.FromDevice == devID && m.Payload.Payload == "hello from jamid"
		})
	})

	t.Run("our request is in jamid's getTrustRequests", func(t *testing.T) {
		inNSOK(ctx, t, net, jd, "request", b, "--account", bob, "--to", acc.JamiID, "--message", "BEGIN:VCARD\nFN:Bob\nEND:VCARD")
		deadline := time.Now().Add(60 * time.Second)
		for {
			var reqs []map[string]string
			if err := j.Call(ctx, "getTrustRequests", acc.ID).Store(&reqs); err != nil {
				t.Fatal(err)
			}
			for _, r := range reqs {
				if r["from"] == bobID {
					if !strings.Contains(r["payload"], "FN:Bob") {
						t.Errorf("jamid's request from bob has payload %q", r["payload"])
					}
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("jamid's getTrustRequests never listed bob: %v", reqs)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// buddyStatus is the "Status" getSubscriptions gives for uri ("" untracked).
func buddyStatus(ctx context.Context, t *testing.T, j *sandbox.Jamid, accID, uri string) string {
	t.Helper()
	var subs []map[string]string
	if err := j.Call(ctx, "PresenceManager.getSubscriptions", accID).Store(&subs); err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if s["Buddy"] == uri {
			return s["Status"]
		}
	}
	return ""
}

func inNSOK(ctx context.Context, t *testing.T, net *sandbox.Net, tl *tool, args ...string) string {
	t.Helper()
	out, errOut, code := inNS(ctx, t, net, tl, nil, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", tl.name, strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// inboxLine is one line of `jami-dht inbox --json`.
type inboxLine struct {
	Kind       string `json:"kind"`
	From       string `json:"from"`
	FromDevice string `json:"from_device"`
	Verified   bool   `json:"verified"`
	Error      string `json:"error"`
	Payload    struct {
		Payload string `json:"payload"`
		Confirm bool   `json:"confirm"`
	} `json:"payload"`
}

type inboxProc struct {
	lines  chan inboxLine
	stderr *lockedBuf
}

// startInbox runs `jami-dht inbox --json` in the namespace until the test ends.
func startInbox(ctx context.Context, t *testing.T, net *sandbox.Net, tl *tool, b, acct string) *inboxProc {
	t.Helper()
	cmd := net.Command(ctx, tl.path, "inbox", b, "--account", acct, "--json", "--timeout", "90s")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JAMI_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "HOME="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	p := &inboxProc{lines: make(chan inboxLine, 16), stderr: &lockedBuf{}}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var l inboxLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				p.lines <- l
			}
		}
	}()
	return p
}

// want waits (bounded by the inbox's own --timeout) for a verified line
// matching ok.
func (p *inboxProc) want(t *testing.T, ok func(inboxLine) bool) {
	t.Helper()
	var seen []inboxLine
	for l := range p.lines {
		if ok(l) {
			if !l.Verified {
				t.Fatalf("inbox: the message is not verified: %s", l.Error)
			}
			return
		}
		seen = append(seen, l)
	}
	t.Fatalf("jami-dht inbox ended without the expected message; saw %+v\nstderr: %s", seen, p.stderr.String())
}
