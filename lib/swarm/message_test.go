package swarm

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// The constructors write exactly the messages jamid 2023 wrote in the
// fixtures.
func TestMessageBuildersMatchFixtures(t *testing.T) {
	v := loadVectors(t)
	g := v.Repos["group"].Commits
	bob := v.Identities["bob"].AccountURI
	content, err := os.ReadFile(filepath.Join("testdata", "sent-file-test.txt"))
	if err != nil {
		t.Fatal(err)
	}
	dt, err := DecodeMessage([]byte(g[1].Message))
	if err != nil {
		t.Fatal(err)
	}
	tid, _ := strconv.ParseUint(dt.Tid, 10, 64)
	for i, m := range []*Message{
		NewMember(ActionAdd, bob),
		NewDataTransfer("test.txt", content, tid, ""),
		NewUpdateProfile(),
		NewReaction(g[6].ID, "\U0001F44D"),
		NewEdit2023(g[6].ID, "edited body"),
		NewText("reply msg", g[6].ID),
		NewText("Hello <world> & é 😀 \"q\" /  tab\tx", ""),
		NewInitial(ModeInvitesOnly, ""),
	} {
		if got := string(m.JSON()); got != g[i].Message {
			t.Errorf("%s:\n got %s\nwant %s", g[i].ID, got, g[i].Message)
		}
		// And decoding gives the same message back.
		d, err := DecodeMessage([]byte(g[i].Message))
		if err != nil || string(d.JSON()) != g[i].Message {
			t.Errorf("%s: decode %+v %v", g[i].ID, d, err)
		}
	}
	if got := string(NewInitial(ModeOneToOne, bob).JSON()); got != v.Repos["one2one"].Commits[0].Message {
		t.Errorf("one-to-one initial %s", got)
	}
	if dt.Sha3sum != v.SentFile.SHA3Hex || dt.TotalSize != strconv.Itoa(v.SentFile.Size) {
		t.Errorf("data transfer %+v", dt)
	}
}

func TestMessageForms(t *testing.T) {
	id := "9715f8f193d39cde226cd6b89387685905c9affe"
	for _, tc := range []struct {
		m    *Message
		want string
	}{
		{NewEdit(id, "x"), `{"body":"x","edit":"` + id + `","type":"text/plain"}`},
		{NewEdit2023(id, ""), `{"body":"","edit":"` + id + `","type":"application/edited-message"}`},
		{NewFileDeletion(id), `{"edit":"` + id + `","tid":"","type":"application/data-transfer+json"}`},
		{NewVote("u"), `{"type":"vote","uri":"u"}`},
		{NewMember(ActionJoin, "u"), `{"action":"join","type":"member","uri":"u"}`},
		{NewCallHistory1to1("peer", "1234", ""), `{"duration":"1234","to":"peer","type":"application/call-history+json"}`},
		{NewGroupCall("c", "d", "u", ""), `{"confId":"c","device":"d","type":"application/call-history+json","uri":"u"}`},
		{NewDocumentInitial("p", "text/markdown"), `{"mimeType":"text/markdown","mode":4,"parent":"p","type":"initial"}`},
		{NewText("", ""), `{"body":"","type":"text/plain"}`},
		{&Message{Type: "x/y", Extra: map[string]JSONValue{"n": JSONNum(3)}}, `{"n":3,"type":"x/y"}`},
	} {
		if got := string(tc.m.JSON()); got != tc.want {
			t.Errorf("got %s want %s", got, tc.want)
		}
	}
	if !NewEdit(id, "x").IsEdit() || !NewEdit2023(id, "").IsEdit() || NewText("a", "").IsEdit() || !NewReaction(id, "+").IsReaction() {
		t.Error("IsEdit/IsReaction")
	}
	for _, bad := range []string{`[1]`, `{"type":{}}`, `{"body":[1],"type":"text/plain"}`, `{"mode":"2","type":"initial"}`, `nope`} {
		if _, err := DecodeMessage([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	m, err := DecodeMessage([]byte(`{"type":"x","tid":12,"mode":2.9,"other":[1]}`))
	if err != nil || m.Tid != "12" || m.Mode != 2 || !m.HasMode || m.Extra["other"].Kind != JSONArray {
		t.Errorf("%+v %v", m, err)
	}
	if got := string(MergeMessage(plumbing.NewHash(id))); got != "Merge commit '"+id+"'" {
		t.Error(got)
	}
	for name, want := range map[string]string{"test.txt": "txt", "a.tar.gz": "gz", ".bashrc": "bashrc", "noext": "", "x.": "", "a.b/c": "b/c", "f.abcdefgh": "", "f.abcdefg": "abcdefg"} {
		got := FileID("c", "1", name)
		if (want == "" && got != "c_1") || (want != "" && got != "c_1."+want) {
			t.Errorf("FileID(%q) = %s", name, got)
		}
	}
	for i := 0; i < 50; i++ {
		tid, err := RandomTid()
		if err != nil || tid < 1 || tid > 1<<53 {
			t.Fatalf("tid %d %v", tid, err)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{`{"mode":2,"type":"initial"}`, `{"body":"\ud83d\udc4d","react-to":"x","type":"text/plain"}`,
		`{"action":"add","type":"member","uri":"9e25"}`, `{"displayName":"t.txt","sha3sum":"ab","tid":"1","totalSize":"13","type":"application/data-transfer+json"}`,
		`{"x":{"y":[1,2.5,true,null]},"type":"z"}`, `Merge commit 'abc'`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		m, err := DecodeMessage(text)
		if err != nil {
			return
		}
		// Re-encoding converges: jsoncpp's writer is lossy once (invalid
		// UTF-8 becomes U+FFFD, so distinct keys can collide), after that
		// decode/encode is a fixed point.
		out := m.JSON()
		for round := 0; round < 2; round++ {
			m2, err := DecodeMessage(out)
			if err != nil {
				t.Fatalf("re-decode %q: %v", out, err)
			}
			prev := out
			out = m2.JSON()
			if round == 1 && string(out) != string(prev) {
				t.Fatalf("unstable: %q vs %q", prev, out)
			}
		}
	})
}

func FuzzParseCommit(f *testing.F) {
	tree := "b2e551efdea351014634ede006ba333e828893bb"
	f.Add([]byte("tree " + tree + "\nauthor Alice <2f2c> 1795314577 +0000\ncommitter Alice <2f2c> 1795314577 +0000\nsignature AAAA\n\n{\"mode\":2,\"type\":\"initial\"}"))
	f.Add([]byte("tree " + tree + "\nparent " + tree + "\nparent " + tree + "\nauthor A <e> 1 -0130\ncommitter A <e> 2\ngpgsig a\n b\n\nMerge commit 'x'"))
	f.Add([]byte("tree " + tree + "\nauthor <> \ncommitter x <y> +5 +99999\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseCommit(raw)
		_, _, _ = ExtractSignature(raw, SignatureHeader)
		if err != nil {
			return
		}
		_ = c.TextMessage()
		// A parsed commit whose people are writable re-encodes to a
		// payload that parses to the same fields.
		if p, err := c.Payload(); err == nil {
			c2, err := ParseCommit(p)
			if err != nil {
				t.Fatalf("payload %q does not parse: %v", p, err)
			}
			if c2.Tree != c.Tree || len(c2.Parents) != len(c.Parents) || c2.Author.Name != c.Author.Name ||
				c2.Author.Email != c.Author.Email || uint32(c2.Author.When) != uint32(c.Author.When) || string(c2.Message) != string(c.Message) {
				t.Fatalf("round trip changed %+v to %+v", c, c2)
			}
		}
	})
}

func FuzzParseTree(f *testing.F) {
	f.Add([]byte("100644 a\x00" + string(make([]byte, 20)) + "40000 d\x00" + string(make([]byte, 20))))
	f.Add([]byte("100644 \x00"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		es, err := ParseTree(raw)
		if err != nil {
			return
		}
		enc, err := EncodeTree(es)
		if err != nil {
			return // duplicates or names git would not write
		}
		es2, err := ParseTree(enc)
		if err != nil || len(es2) != len(es) {
			t.Fatalf("re-parse of canonical tree: %v", err)
		}
	})
}
