package interop

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/sha3"

	"github.com/jamikit/jamikit/tests/interop/sandbox"
)

// bobURI is the Jami ID of the spec fixtures' second account
// (swarm-jami20230206/bob): a real account URI, so jamid's and the current
// rules' syntax checks on a member's uri hold, without generating a key here.
const bobURI = "9e257ebe228b6abcb992c0e5eb9a3e2f04cdda0d"

// The compatibility point 2, live: jamid 13.7.0 builds a group
// conversation over D-Bus (text with non-ASCII and escapes, a reply, an edit,
// a reaction, a file, a member add); `jami-swarm verify` accepts jamid's
// repository under both rule sets, and `jami-swarm log --json raw` prints
// exactly the maps jamid's loadConversationMessages returns.
func TestSwarmJamidHistoryReadByJamiSwarm(t *testing.T) {
	ctx := testContext(t)
	net := sandbox.Start(t, sandbox.Options{})
	// Conversations are local git work: the account needs its identity (the
	// certificates it signs with), not a registration on the DHT.
	j, acc := net.JamidWithAccount(ctx, t, "alice", sandbox.JamidOptions{},
		sandbox.AccountOptions{Wait: sandbox.WaitIdentity})

	var conv string
	if err := j.Call(ctx, "startConversation", acc.ID).Store(&conv); err != nil {
		t.Fatal(err)
	}
	if conv == "" {
		t.Fatal("startConversation returned no conversation id")
	}

	// step calls a D-Bus method and waits for the messageReceived signal of
	// the commit it makes (the one whose map satisfies want), returning it.
	step := func(what string, want func(map[string]string) bool, method string, args ...any) map[string]string {
		t.Helper()
		mark := j.Mark()
		if err := j.Call(ctx, method, args...).Err; err != nil {
			t.Fatalf("%s: %s: %v", what, method, err)
		}
		sig, err := j.WaitSignal(ctx, mark, func(s sandbox.Signal) bool {
			if !strings.EqualFold(s.Member, "messageReceived") || s.Arg(0) != acc.ID || s.Arg(1) != conv || len(s.Body) != 3 {
				return false
			}
			m, ok := s.Body[2].(map[string]string)
			return ok && want(m)
		})
		if err != nil {
			t.Fatalf("%s: no messageReceived for it: %v", what, err)
		}
		m := sig.Body[2].(map[string]string)
		if m["id"] == "" {
			t.Fatalf("%s: messageReceived without an id: %v", what, m)
		}
		return m
	}
	is := func(typ string, kv ...string) func(map[string]string) bool {
		return func(m map[string]string) bool {
			if m["type"] != typ {
				return false
			}
			for i := 0; i+1 < len(kv); i += 2 {
				if m[kv[i]] != kv[i+1] {
					return false
				}
			}
			return true
		}
	}

	text := "héllo <jamid> & 😀 \"q\"\ttab\\ / é"
	first := step("text", is("text/plain", "body", text),
		"sendMessage", acc.ID, conv, text, "", int32(0))["id"]
	// flag 0 with a commit id = a reply; 1 = an edit; 2 = a reaction
	// (13.7.0's sendMessage, spec §7.4 / the D-Bus XML).
	reply := step("reply", is("text/plain", "body", "a reply", "reply-to", first),
		"sendMessage", acc.ID, conv, "a reply", first, int32(0))["id"]
	edit := step("edit", is("application/edited-message", "body", "edited body", "edit", first),
		"sendMessage", acc.ID, conv, "edited body", first, int32(1))["id"]
	react := step("reaction", is("text/plain", "body", "👍", "react-to", first),
		"sendMessage", acc.ID, conv, "👍", first, int32(2))["id"]

	content := []byte("file content\nfrom jamid\n")
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha3.Sum512(content)
	fileMsg := step("file", is("application/data-transfer+json", "displayName", "notes.txt",
		"totalSize", strconv.Itoa(len(content)), "sha3sum", hex.EncodeToString(sum[:])),
		"sendFile", acc.ID, conv, file, "notes.txt", "")
	add := step("member add", is("member", "action", "add", "uri", bobURI),
		"addConversationMember", acc.ID, conv, bobURI)["id"]
	sent := []string{add, fileMsg["id"], react, edit, reply, first} // newest first

	var members []map[string]string
	if err := j.Call(ctx, "getConversationMembers", acc.ID, conv).Store(&members); err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, m := range members {
		roles[m["uri"]] = m["role"]
	}
	if roles[acc.JamiID] != "admin" || roles[bobURI] != "invited" || len(roles) != 2 {
		t.Errorf("jamid's members: %v", members)
	}

	// jamid's own view of the whole history.
	mark := j.Mark()
	var req uint32
	if err := j.Call(ctx, "loadConversationMessages", acc.ID, conv, "", uint32(0)).Store(&req); err != nil {
		t.Fatal(err)
	}
	sig, err := j.WaitSignal(ctx, mark, func(s sandbox.Signal) bool {
		if !strings.EqualFold(s.Member, "conversationLoaded") || len(s.Body) != 4 || s.Arg(1) != acc.ID || s.Arg(2) != conv {
			return false
		}
		id, ok := s.Body[0].(uint32)
		return ok && id == req
	})
	if err != nil {
		t.Fatal(err)
	}
	loaded, ok := sig.Body[3].([]map[string]string)
	if !ok {
		t.Fatalf("conversationLoaded messages are %T", sig.Body[3])
	}
	// Newest first: the six commits made above, then the root (initial,
	// whose id is the conversation id).
	var ids []string
	for _, m := range loaded {
		ids = append(ids, m["id"])
	}
	if want := append(append([]string(nil), sent...), conv); !reflect.DeepEqual(ids, want) {
		t.Fatalf("jamid loads commits %v, want %v (newest first)", ids, want)
	}

	// Stop jamid so that nothing writes into the repository while we read it
	// (jamid's shutdown does not commit).
	if err := j.Stop(); err != nil {
		t.Log(err)
	}
	dir := j.AccountDir(acc.ID)
	repo := filepath.Join(dir, "conversations", conv)
	sw := newTool(t, "jami-swarm")

	// The maps of `log --json raw`, in jamid's order, must be jamid's maps:
	// every key and value (fileId, linearizedParent, timestamp and author
	// included). Nothing legitimately differs in the 2023 map, so no key is
	// left out of the comparison.
	var ours []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(sw.run(ctx, nil, "log", "--json", "raw", "-C", repo)), "\n") {
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log --json raw line %q: %v", line, err)
		}
		ours = append(ours, m)
	}
	if len(ours) != len(loaded) {
		t.Errorf("log --json raw prints %d commits, jamid loads %d", len(ours), len(loaded))
	}
	for i := 0; i < len(ours) && i < len(loaded); i++ {
		if !reflect.DeepEqual(ours[i], loaded[i]) {
			t.Errorf("commit %d differs:\njamid:      %s\njami-swarm: %s", i, sortedMap(loaded[i]), sortedMap(ours[i]))
		}
	}
	// A paged read (jamid's fromMessage + n) gives the same window.
	var page []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(sw.run(ctx, nil, "log", "--json", "raw", "-C", repo, "--from", edit, "-n", "2")), "\n") {
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		page = append(page, m)
	}
	if len(page) != 2 || page[0]["id"] != edit || page[1]["id"] != reply {
		t.Errorf("log --from %s -n 2 prints %v", edit, page)
	}

	// The folded view (spec §7.3) of jamid's 2023 forms: the
	// application/edited-message replaces the original's body and keeps the
	// old one in editions, the react-to commit becomes a reaction, and
	// neither is a message of its own.
	type folded struct {
		ID        string              `json:"id"`
		Type      string              `json:"type"`
		Body      map[string]string   `json:"body"`
		Reactions []map[string]string `json:"reactions"`
		Editions  []map[string]string `json:"editions"`
	}
	var fold []folded
	byID := map[string]folded{}
	for _, line := range strings.Split(strings.TrimSpace(sw.run(ctx, nil, "log", "--json", "folded", "-C", repo)), "\n") {
		var m folded
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log --json folded line %q: %v", line, err)
		}
		fold = append(fold, m)
		byID[m.ID] = m
	}
	var foldIDs []string
	for _, m := range fold {
		foldIDs = append(foldIDs, m.ID)
	}
	if want := []string{add, fileMsg["id"], reply, first, conv}; !reflect.DeepEqual(foldIDs, want) {
		t.Errorf("log --json folded messages %v, want %v", foldIDs, want)
	}
	if m := byID[first]; m.Body["body"] != "edited body" ||
		len(m.Editions) != 1 || m.Editions[0]["body"] != text ||
		len(m.Reactions) != 1 || m.Reactions[0]["id"] != react || m.Reactions[0]["body"] != "👍" {
		t.Errorf("log --json folded shows the edited, reacted-to message as %+v", m)
	}
	if m := byID[reply]; m.Body["body"] != "a reply" || m.Body["reply-to"] != first {
		t.Errorf("log --json folded shows the reply as %+v", m)
	}

	// verify replays jamid's validation (and our stricter checks: every
	// signature and certificate chain, the files of edits) on jamid's own
	// repository, under both rule sets; jamid's account folder is given so
	// that the account's own certificates are at hand.
	for _, rules := range []string{"2023", "current"} {
		for _, extra := range [][]string{nil, {"--account", dir}} {
			args := append([]string{"verify", "--json", "-C", repo, "--rules", rules}, extra...)
			var res struct {
				Conversation string `json:"conversation"`
				Head         string `json:"head"`
				Commits      int    `json:"commits"`
				Rules        string `json:"rules"`
				Strict       bool   `json:"strict"`
			}
			out := sw.run(ctx, nil, args...)
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("verify %v: %v\n%s", args, err, out)
			}
			if res.Conversation != conv || res.Head != add || res.Commits != len(loaded) || res.Rules != rules || !res.Strict {
				t.Errorf("verify %v: %s", args, out)
			}
		}
	}
	checkFileReceived(t, dir, conv, fileMsg, content)
}

// checkFileReceived: jamid keeps the file it sent under
// conversation_data/<conv>/<fileId> (spec §7.4), the fileId of its map.
func checkFileReceived(t *testing.T, dir, conv string, m map[string]string, content []byte) {
	t.Helper()
	if want := m["id"] + "_" + m["tid"] + ".txt"; m["fileId"] != want {
		t.Errorf("jamid's fileId %q, want %q", m["fileId"], want)
		return
	}
	b, err := os.ReadFile(filepath.Join(dir, "conversation_data", conv, m["fileId"]))
	if err != nil {
		t.Errorf("jamid's copy of the sent file: %v", err)
	} else if string(b) != string(content) {
		t.Errorf("jamid's copy of the sent file holds %q", b)
	}
}

// sortedMap renders a message map with sorted keys (for failure messages).
func sortedMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(strconv.Quote(k) + ":" + strconv.Quote(m[k]) + " ")
	}
	return b.String()
}
