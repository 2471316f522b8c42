package interop

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/tests/interop/sandbox"
	"github.com/jamikit/jamikit/tests/toolbin"
)

// copyAccountFolder copies the account folder jamid itself wrote (the
// keygen fixture: config.yml, device key and chain, archive) to dir.
func copyAccountFolder(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join(toolbin.Root(), "tests", "testdata", "fixtures", "keygen", "jamid-folder")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A conversation written by jami-swarm into a stopped jamid's account
// folder is loaded by jamid 13.7.0, which returns for every commit over
// D-Bus (loadConversationMessages → conversationLoaded) exactly the map
// `jami-swarm log --json raw` prints, reads its profile and members, and
// commits into it; the result passes verify and takes our next commit.
func TestSwarmConversationLoadedByJamid(t *testing.T) {
	ctx := testContext(t)
	net := sandbox.Start(t, sandbox.Options{})
	j := net.NewJamid(t, "alice", sandbox.JamidOptions{})
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := strings.TrimLeft(hex.EncodeToString(b), "0")
	dir := j.AccountDir(id)
	copyAccountFolder(t, dir)

	sw := newTool(t, "jami-swarm")
	conv := strings.TrimSpace(sw.run(ctx, nil, "init", "--account", dir, "--title", "Interop <club>", "--description", "Desc: with; semicolons"))
	in := func(args ...string) string {
		return strings.TrimSpace(sw.run(ctx, nil, append(args[:1:1], append([]string{"--account", dir, "-C", conv}, args[1:]...)...)...))
	}
	first := in("send", "héllo <jamid> & 😀 \"q\"\ttab")
	in("reply", first, "a reply")
	in("edit", first, "edited body")
	in("react", first, "👍")
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte("file content\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in("send-file", file)
	in("invite", "9e257ebe228b6abcb992c0e5eb9a3e2f04cdda0d")
	repo := filepath.Join(dir, "conversations", conv)
	var want []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(sw.run(ctx, nil, "log", "--json", "raw", "-C", repo)), "\n") {
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}

	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := j.WaitAccount(ctx, id, sandbox.WaitIdentity); err != nil {
		t.Fatal(err)
	}
	var convs []string
	if err := j.Call(ctx, "getConversations", id).Store(&convs); err != nil {
		t.Fatal(err)
	}
	if !contains(convs, conv) {
		t.Fatalf("jamid lists conversations %v, not %s", convs, conv)
	}
	var infos map[string]string
	if err := j.Call(ctx, "conversationInfos", id, conv).Store(&infos); err != nil {
		t.Fatal(err)
	}
	if infos["title"] != "Interop <club>" || infos["description"] != "Desc: with; semicolons" || infos["mode"] != "2" {
		t.Errorf("jamid reads the profile as %v", infos)
	}
	var members []map[string]string
	if err := j.Call(ctx, "getConversationMembers", id, conv).Store(&members); err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, m := range members {
		roles[m["uri"]] = m["role"]
	}
	if roles["d9b52ffb583b1ea8bed701d03c4aef1a936c5554"] != "admin" || roles["9e257ebe228b6abcb992c0e5eb9a3e2f04cdda0d"] != "invited" {
		t.Errorf("jamid members %v", members)
	}

	mark := j.Mark()
	var req uint32
	if err := j.Call(ctx, "loadConversationMessages", id, conv, "", uint32(0)).Store(&req); err != nil {
		t.Fatal(err)
	}
	sig, err := j.WaitSignal(ctx, mark, func(s sandbox.Signal) bool {
		return strings.EqualFold(s.Member, "conversationLoaded") && len(s.Body) == 4 && s.Arg(2) == conv
	})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := sig.Body[3].([]map[string]string)
	if !ok {
		t.Fatalf("ConversationLoaded messages are %T", sig.Body[3])
	}
	byID := func(ms []map[string]string) []map[string]string {
		out := append([]map[string]string(nil), ms...)
		sort.Slice(out, func(a, b int) bool { return out[a]["id"] < out[b]["id"] })
		return out
	}
	if !reflect.DeepEqual(byID(got), byID(want)) {
		t.Errorf("jamid's messages differ from jami-swarm log --json raw:\njamid: %v\nours:  %v", got, want)
	}

	// jamid writes into the repository we made (it reads roles and its own
	// device certificate from our work tree); we read and verify its commit.
	mark = j.Mark()
	if err := j.Call(ctx, "sendMessage", id, conv, "from jamid", "", int32(0)).Err; err != nil {
		t.Fatal(err)
	}
	if _, err := j.WaitSignal(ctx, mark, func(s sandbox.Signal) bool {
		return strings.EqualFold(s.Member, "messageReceived") && s.Arg(1) == conv
	}); err != nil {
		t.Fatal(err)
	}
	if err := j.Stop(); err != nil {
		t.Log(err)
	}
	var last map[string]string
	if err := json.Unmarshal([]byte(sw.run(ctx, nil, "log", "--json", "raw", "-n", "1", "-C", repo)), &last); err != nil {
		t.Fatal(err)
	}
	if last["body"] != "from jamid" || last["parents"] != want[0]["id"] {
		t.Errorf("jamid's commit reads as %v", last)
	}
	for _, rules := range []string{"2023", "current"} {
		sw.run(ctx, nil, "verify", "-C", repo, "--rules", rules)
	}
	// And we write after jamid: the work tree jamid left is clean.
	in("send", "after jamid")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
