package swarm

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/jamikit/jamikit/lib/identity"
)

// history builds signed conversations in memory with the fixture
// identities, the way jamid lays them out (§2, §3).
type history struct {
	t     *testing.T
	r     *Repo
	head  plumbing.Hash
	files map[string][]byte
	when  int64
	conv  plumbing.Hash
}

func (h *history) id(name string) *testIdentity { return loadIdentity(h.t, name) }

func (h *history) uri(name string) string { return AccountURI(h.id(name).chain[1]) }

func (h *history) dev(name string) string { return DeviceID(h.id(name).device) }

// accountPEM / devicePEM are the admins|members and devices file contents.
func (h *history) accountPEM(name string) []byte {
	return identity.EncodeCertsPEM(h.id(name).chain[1:]...)
}

func (h *history) devicePEM(name string) []byte { return identity.EncodeCertsPEM(h.id(name).device) }

// build writes files as a commit by who on parents without moving HEAD.
func (h *history) build(who string, parents []plumbing.Hash, msg []byte, files map[string][]byte) plumbing.Hash {
	h.t.Helper()
	flat := Files{}
	for p, content := range files {
		b, err := h.r.WriteBlob(content)
		if err != nil {
			h.t.Fatal(err)
		}
		flat[p] = FileEntry{Mode: ModeFile, Hash: b}
	}
	tree, err := h.r.WriteTree(flat)
	if err != nil {
		h.t.Fatal(err)
	}
	h.when++
	id := h.id(who)
	person := Person{Name: who, Email: DeviceID(id.device), When: h.when}
	c := &Commit{Tree: tree, Parents: parents, Author: person, Committer: person, Message: msg}
	if err := c.Sign(id.key); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.r.WriteCommit(c); err != nil {
		h.t.Fatal(err)
	}
	return c.ID
}

// try builds a commit on HEAD with edit applied to a copy of the files.
func (h *history) try(who string, msg []byte, edit func(map[string][]byte)) plumbing.Hash {
	h.t.Helper()
	files := map[string][]byte{}
	for p, b := range h.files {
		files[p] = b
	}
	if edit != nil {
		edit(files)
	}
	return h.build(who, []plumbing.Hash{h.head}, msg, files)
}

// add builds a commit on HEAD and moves HEAD (and the file state) to it.
func (h *history) add(who string, msg []byte, edit func(map[string][]byte)) plumbing.Hash {
	h.t.Helper()
	if edit != nil {
		edit(h.files)
	}
	h.head = h.build(who, []plumbing.Hash{h.head}, msg, h.files)
	h.setHead(h.head)
	return h.head
}

func (h *history) setHead(id plumbing.Hash) {
	if err := h.r.Git().Storer.SetReference(plumbing.NewHashReference(MainBranch, id)); err != nil {
		h.t.Fatal(err)
	}
}

func newHistory(t *testing.T, mode Mode) *history {
	r, err := NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	h := &history{t: t, r: r, when: 1795314577, files: map[string][]byte{}}
	h.files[AdminPath(h.uri("alice"))] = h.accountPEM("alice")
	h.files[DevicePath(h.dev("alice"))] = h.devicePEM("alice")
	invited := ""
	if mode == ModeOneToOne {
		invited = h.uri("bob")
		h.files[InvitedPath(invited)] = nil
	}
	h.head = h.build("alice", nil, NewInitial(mode, invited).JSON(), h.files)
	h.conv = h.head
	h.setHead(h.head)
	return h
}

// validate checks one commit against the state of its first parent (the
// receiver's work tree before the merge), as a fetch would.
func (h *history) validate(id plumbing.Hash, rules Rules, strict bool) error {
	h.t.Helper()
	c, err := h.r.Commit(id)
	if err != nil {
		h.t.Fatal(err)
	}
	var work Files
	if len(c.Parents) > 0 {
		p, _ := h.r.Commit(c.Parents[0])
		work, _ = h.r.Files(p.Tree)
	} else {
		work, _ = h.r.Files(c.Tree)
	}
	v, err := h.r.NewValidator(ValidateOptions{Rules: rules, Strict: strict, ConversationID: h.conv, WorkTree: work})
	if err != nil {
		h.t.Fatal(err)
	}
	return v.ValidateCommit(id)
}

// The role files we write are byte-identical to the ones jamid wrote.
func TestRoleFilesMatchFixture(t *testing.T) {
	v := loadVectors(t)
	h := newHistory(t, ModeInvitesOnly)
	files := v.Repos["group"].HeadTreeFiles
	if got := HashObject(plumbing.BlobObject, h.accountPEM("alice")).String(); got != files[AdminPath(h.uri("alice"))].Blob {
		t.Errorf("admins file blob %s", got)
	}
	if got := HashObject(plumbing.BlobObject, h.devicePEM("alice")).String(); got != files[DevicePath(h.dev("alice"))].Blob {
		t.Errorf("devices file blob %s", got)
	}
	// The root commit of the group fixture is rebuilt by the history
	// helper's tree writer: same tree id.
	root, _ := h.r.Commit(h.conv)
	if root.Tree.String() != v.Repos["group"].Commits[7].Tree {
		t.Errorf("root tree %s", root.Tree)
	}
}

// WriteTree reproduces every fixture tree from its flattened files.
func TestWriteTreeMatchesFixtures(t *testing.T) {
	for _, name := range []string{"group", "one2one"} {
		src := openFixture(t, name)
		dst, _ := NewMemory()
		order, _ := src.WalkOrder(mustHead(t, src))
		for _, id := range order {
			c, _ := src.Commit(id)
			files, err := src.Files(c.Tree)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range files {
				b, _ := src.Blob(e.Hash)
				if _, err := dst.WriteBlob(b); err != nil {
					t.Fatal(err)
				}
			}
			got, err := dst.WriteTree(files)
			if err != nil || got != c.Tree {
				t.Errorf("%s: tree %s, want %s (%v)", id, got, c.Tree, err)
			}
		}
	}
}

func mustHead(t *testing.T, r *Repo) plumbing.Hash {
	h, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The fixtures validate under both rule sets and in strict mode.
func TestFixturesValidate(t *testing.T) {
	for _, name := range []string{"group", "one2one"} {
		r := openFixture(t, name)
		for _, rules := range []Rules{Rules2023, RulesCurrent} {
			for _, strict := range []bool{false, true} {
				if err := r.ValidateClone(ValidateOptions{Rules: rules, Strict: strict}); err != nil {
					t.Errorf("%s %v strict=%v: %v", name, rules, strict, err)
				}
			}
		}
	}
}

// groupWithBob: Alice creates a group, writes, invites Bob, Bob joins and
// writes. Returns the history at that point.
func groupWithBob(t *testing.T) (*history, map[string]plumbing.Hash) {
	h := newHistory(t, ModeInvitesOnly)
	ids := map[string]plumbing.Hash{}
	alice, bob := h.uri("alice"), h.uri("bob")
	ids["text"] = h.add("alice", NewText("hello", "").JSON(), nil)
	ids["reply"] = h.add("alice", NewText("re", ids["text"].String()).JSON(), nil)
	ids["edit"] = h.add("alice", NewEdit2023(ids["text"].String(), "hello!").JSON(), nil)
	ids["react"] = h.add("alice", NewReaction(ids["text"].String(), "\U0001F44D").JSON(), nil)
	ids["profile"] = h.add("alice", NewUpdateProfile().JSON(), func(f map[string][]byte) {
		f[FileProfile] = []byte("BEGIN:VCARD\nVERSION:2.1\nFN:G\nPHOTO;ENCODING=BASE64\n\n\nEND:VCARD")
	})
	ids["add"] = h.add("alice", NewMember(ActionAdd, bob).JSON(), func(f map[string][]byte) { f[InvitedPath(bob)] = nil })
	ids["join"] = h.add("bob", NewMember(ActionJoin, bob).JSON(), func(f map[string][]byte) {
		delete(f, InvitedPath(bob))
		f[MemberPath(bob)] = h.accountPEM("bob")
		f[DevicePath(h.dev("bob"))] = h.devicePEM("bob")
	})
	ids["bobtext"] = h.add("bob", NewText("hi alice", "").JSON(), nil)
	_ = alice
	return h, ids
}

func TestValidHistory(t *testing.T) {
	h, ids := groupWithBob(t)
	alice, bob := h.uri("alice"), h.uri("bob")
	ids["vote"] = h.add("alice", NewVote(bob).JSON(), func(f map[string][]byte) {
		f["votes/ban/members/"+bob+"/"+alice] = nil
	})
	ids["ban"] = h.add("alice", NewMember(ActionBan, bob).JSON(), func(f map[string][]byte) {
		delete(f, "votes/ban/members/"+bob+"/"+alice)
		f[DirBanned+"/"+MemberPath(bob)] = f[MemberPath(bob)]
		delete(f, MemberPath(bob))
	})
	for _, rules := range []Rules{Rules2023, RulesCurrent} {
		for _, strict := range []bool{false, true} {
			if err := h.r.ValidateClone(ValidateOptions{Rules: rules, Strict: strict}); err != nil {
				t.Errorf("clone %v strict=%v: %v", rules, strict, err)
			}
			// A fetch from the state right after the invitation.
			if err := h.r.ValidateFetch(ids["add"], h.head, ValidateOptions{Rules: rules, Strict: strict}); err != nil {
				t.Errorf("fetch %v strict=%v: %v", rules, strict, err)
			}
		}
	}
	rng, err := h.r.FetchRange(ids["add"], h.head)
	if err != nil || len(rng) != 4 || rng[0] != ids["join"] || rng[3] != ids["ban"] {
		t.Errorf("fetch range %v %v", rng, err)
	}
	if rng, _ := h.r.FetchRange(h.head, ids["add"]); len(rng) != 0 {
		t.Errorf("nothing new expected, got %v", rng)
	}
	ms, err := h.r.Members()
	if err != nil || len(ms) != 2 || ms[0] != (Member{alice, RoleAdmin}) || ms[1] != (Member{bob, RoleBanned}) {
		t.Errorf("members %v %v", ms, err)
	}
}

// ruleWant says which validators accept a crafted commit.
type ruleWant struct{ v2023, current, strict bool } // true = accepted

// ruleCase is a crafted commit on top of groupWithBob's history.
type ruleCase struct {
	name string
	id   func() plumbing.Hash
	want ruleWant
}

// ruleChecks are the validators every case is run through.
var ruleChecks = []struct {
	rules  Rules
	strict bool
}{{Rules2023, false}, {RulesCurrent, false}, {RulesCurrent, true}}

func (w ruleWant) accepted(i int) bool { return [...]bool{w.v2023, w.current, w.strict}[i] }

// ruleCases crafts one commit per rule of §4 (and a few accepted
// neighbours) on top of h's head.
func ruleCases(t *testing.T, h *history, ids map[string]plumbing.Hash) []ruleCase {
	alice, bob := h.uri("alice"), h.uri("bob")
	aliceDev, bobDev := h.dev("alice"), h.dev("bob")
	text := NewText("x", "").JSON()
	type want = ruleWant
	reject := want{}
	accept := want{true, true, true}
	return []ruleCase{
		{"plain text", func() plumbing.Hash { return h.try("alice", text, nil) }, accept},
		{"text adds a file", func() plumbing.Hash {
			return h.try("alice", text, func(f map[string][]byte) { f["foo.txt"] = []byte("x") })
		}, reject},
		{"text deletes a certificate", func() plumbing.Hash {
			return h.try("alice", text, func(f map[string][]byte) { delete(f, MemberPath(bob)) })
		}, reject},
		{"text adds someone else's device", func() plumbing.Hash {
			return h.try("alice", text, func(f map[string][]byte) { f[DevicePath(strings.Repeat("ab", 32))] = h.devicePEM("bob") })
		}, reject},
		{"text adds a binary file (invisible to jamid)", func() plumbing.Hash {
			return h.try("alice", text, func(f map[string][]byte) { f["evil.bin"] = []byte("a\x00b") })
		}, want{true, true, false}},
		{"type-less message", func() plumbing.Hash { return h.try("alice", []byte(`{"body":"x"}`), nil) }, want{true, false, false}},
		{"not JSON", func() plumbing.Hash { return h.try("alice", []byte("hello"), nil) }, want{true, false, false}},
		{"signed by another key", func() plumbing.Hash {
			id := h.try("alice", text, nil)
			c, _ := h.r.Commit(id)
			forged := &Commit{Tree: c.Tree, Parents: c.Parents, Author: c.Author, Committer: c.Committer, Message: []byte(`{"body":"forged","type":"text/plain"}`)}
			if err := forged.Sign(h.id("bob").key); err != nil {
				t.Fatal(err)
			}
			if _, err := h.r.WriteCommit(forged); err != nil {
				t.Fatal(err)
			}
			return forged.ID
		}, want{true, false, false}},
		{"unsigned", func() plumbing.Hash {
			c, _ := h.r.Commit(h.try("alice", text, nil))
			raw, _ := (&Commit{Tree: c.Tree, Parents: c.Parents, Author: c.Author, Committer: c.Committer, Message: c.Message}).Payload()
			id, _ := h.r.WriteObject(plumbing.CommitObject, raw)
			return id
		}, want{true, false, false}},
		{"vote", func() plumbing.Hash {
			return h.try("alice", NewVote(bob).JSON(), func(f map[string][]byte) { f["votes/ban/members/"+bob+"/"+alice] = nil })
		}, accept},
		{"vote not empty", func() plumbing.Hash {
			return h.try("alice", NewVote(bob).JSON(), func(f map[string][]byte) { f["votes/ban/members/"+bob+"/"+alice] = []byte("y") })
		}, reject},
		{"vote by a member", func() plumbing.Hash {
			return h.try("bob", NewVote(alice).JSON(), func(f map[string][]byte) { f["votes/ban/admins/"+alice+"/"+bob] = nil })
		}, reject},
		{"vote cast for another admin", func() plumbing.Hash {
			return h.try("alice", NewVote(bob).JSON(), func(f map[string][]byte) { f["votes/ban/members/"+bob+"/"+strings.Repeat("1", 40)] = nil })
		}, reject},
		{"vote against self", func() plumbing.Hash {
			return h.try("alice", NewVote(alice).JSON(), func(f map[string][]byte) { f["votes/ban/admins/"+alice+"/"+alice] = nil })
		}, reject},
		{"vote with an extra file", func() plumbing.Hash {
			return h.try("alice", NewVote(bob).JSON(), func(f map[string][]byte) {
				f["votes/ban/members/"+bob+"/"+alice] = nil
				f["x"] = nil
			})
		}, reject},
		{"vote against someone not in the conversation", func() plumbing.Hash {
			u := strings.Repeat("c", 40)
			return h.try("alice", NewVote(u).JSON(), func(f map[string][]byte) { f["votes/ban/members/"+u+"/"+alice] = nil })
		}, reject},
		{"ban resolved by a member", func() plumbing.Hash {
			return h.try("bob", NewMember(ActionBan, alice).JSON(), func(f map[string][]byte) {
				f[DirBanned+"/"+AdminPath(alice)] = f[AdminPath(alice)]
				delete(f, AdminPath(alice))
			})
		}, reject},
		{"ban without vote majority", func() plumbing.Hash {
			return h.try("alice", NewMember(ActionBan, bob).JSON(), func(f map[string][]byte) {
				f[DirBanned+"/"+MemberPath(bob)] = f[MemberPath(bob)]
				delete(f, MemberPath(bob))
			})
		}, reject},
		{"profile by an admin", func() plumbing.Hash {
			return h.try("alice", NewUpdateProfile().JSON(), func(f map[string][]byte) { f[FileProfile] = []byte("BEGIN:VCARD\nEND:VCARD") })
		}, accept},
		{"profile by a member", func() plumbing.Hash {
			return h.try("bob", NewUpdateProfile().JSON(), func(f map[string][]byte) { f[FileProfile] = []byte("BEGIN:VCARD\nEND:VCARD") })
		}, reject},
		{"profile with a bad file", func() plumbing.Hash {
			return h.try("alice", NewUpdateProfile().JSON(), func(f map[string][]byte) {
				f[FileProfile] = []byte("v")
				f["other"] = []byte("v")
			})
		}, reject},
		{"profile with a device certificate (current allows it)", func() plumbing.Hash {
			return h.try("alice", NewUpdateProfile().JSON(), func(f map[string][]byte) {
				f[FileProfile] = []byte("v")
				// The same certificate, rewritten (text before the PEM block).
				f[DevicePath(aliceDev)] = append([]byte("renewed\n"), h.devicePEM("alice")...)
			})
		}, want{false, true, true}},
		{"profile with the device certificate as DER (binary: invisible to jamid)", func() plumbing.Hash {
			return h.try("alice", NewUpdateProfile().JSON(), func(f map[string][]byte) {
				f[FileProfile] = []byte("v")
				f[DevicePath(aliceDev)] = h.id("alice").device.Raw
			})
		}, want{true, true, false}},
		{"add", func() plumbing.Hash {
			u := strings.Repeat("c", 40)
			return h.try("bob", NewMember(ActionAdd, u).JSON(), func(f map[string][]byte) { f[InvitedPath(u)] = nil })
		}, accept},
		{"add self", func() plumbing.Hash {
			return h.try("alice", NewMember(ActionAdd, alice).JSON(), func(f map[string][]byte) { f[InvitedPath(alice)] = nil })
		}, reject},
		{"add with a non-empty invitation", func() plumbing.Hash {
			u := strings.Repeat("c", 40)
			return h.try("alice", NewMember(ActionAdd, u).JSON(), func(f map[string][]byte) { f[InvitedPath(u)] = []byte("x") })
		}, reject},
		{"add without invitation file", func() plumbing.Hash { return h.try("alice", NewMember(ActionAdd, strings.Repeat("c", 40)).JSON(), nil) }, reject},
		{"add of a malformed uri (current checks it)", func() plumbing.Hash {
			return h.try("alice", NewMember(ActionAdd, "xyz").JSON(), func(f map[string][]byte) { f[InvitedPath("xyz")] = nil })
		}, want{true, false, false}},
		{"unknown member action", func() plumbing.Hash { return h.try("alice", NewMember("promote", bob).JSON(), nil) }, reject},
		{"join without invitation", func() plumbing.Hash {
			u := strings.Repeat("d", 40)
			return h.try("bob", NewMember(ActionJoin, u).JSON(), func(f map[string][]byte) { f[MemberPath(u)] = h.accountPEM("bob") })
		}, reject},
		{"leave", func() plumbing.Hash {
			return h.try("bob", NewMember(ActionRemove, bob).JSON(), func(f map[string][]byte) {
				delete(f, MemberPath(bob))
				delete(f, DevicePath(bobDev))
			})
		}, accept},
		{"remove by someone else (only strict checks it)", func() plumbing.Hash {
			return h.try("alice", NewMember(ActionRemove, bob).JSON(), func(f map[string][]byte) { delete(f, MemberPath(bob)) })
		}, want{true, true, false}},
		{"remove taking another member's device", func() plumbing.Hash {
			return h.try("bob", NewMember(ActionRemove, bob).JSON(), func(f map[string][]byte) {
				delete(f, MemberPath(bob))
				delete(f, DevicePath(aliceDev))
			})
		}, reject},
		{"edit of own message", func() plumbing.Hash { return h.try("alice", NewEdit2023(ids["text"].String(), "y").JSON(), nil) }, accept},
		{"edit of someone else's message", func() plumbing.Hash { return h.try("bob", NewEdit2023(ids["text"].String(), "y").JSON(), nil) }, reject},
		{"edit of a profile update", func() plumbing.Hash { return h.try("alice", NewEdit2023(ids["profile"].String(), "y").JSON(), nil) }, reject},
		{"edit of a missing commit", func() plumbing.Hash { return h.try("alice", NewEdit2023(strings.Repeat("e", 40), "y").JSON(), nil) }, reject},
		{"current-style edit of someone else's message (2023 sees a text)", func() plumbing.Hash {
			return h.try("bob", NewEdit(ids["text"].String(), "y").JSON(), nil)
		}, want{true, false, false}},
		{"edit adding a file (jamid does not look)", func() plumbing.Hash {
			return h.try("alice", NewEdit2023(ids["text"].String(), "y").JSON(), func(f map[string][]byte) { f["junk"] = []byte("j") })
		}, want{true, true, false}},
		{"merge inventing content (current checks it)", func() plumbing.Hash {
			side := h.build("alice", []plumbing.Hash{ids["add"]}, text, map[string][]byte{
				AdminPath(alice): h.accountPEM("alice"), DevicePath(aliceDev): h.devicePEM("alice"), InvitedPath(bob): nil,
				FileProfile: []byte("BEGIN:VCARD\nVERSION:2.1\nFN:G\nPHOTO;ENCODING=BASE64\n\n\nEND:VCARD"),
			})
			files := map[string][]byte{}
			for p, b := range h.files {
				files[p] = b
			}
			files[FileProfile] = []byte("invented")
			return h.build("alice", []plumbing.Hash{h.head, side}, MergeMessage(side), files)
		}, want{true, false, false}},
		{"clean merge", func() plumbing.Hash {
			side := h.build("alice", []plumbing.Hash{ids["bobtext"]}, text, h.files)
			return h.build("alice", []plumbing.Hash{h.head, side}, MergeMessage(side), h.files)
		}, accept},
	}
}

// Each crafted commit must be rejected (or accepted) as jamid 2023 and
// current upstream would, and by the strict validator.
func TestValidationRules(t *testing.T) {
	h, ids := groupWithBob(t)
	for _, tc := range ruleCases(t, h, ids) {
		id := tc.id()
		for i, rc := range ruleChecks {
			err := h.validate(id, rc.rules, rc.strict)
			var ve *ValidationError
			if err != nil && !errors.As(err, &ve) {
				t.Errorf("%s: not a ValidationError: %v", tc.name, err)
			}
			if (err == nil) != tc.want.accepted(i) {
				t.Errorf("%s (%v strict=%v): accepted=%v, want %v (%v)", tc.name, rc.rules, rc.strict, err == nil, tc.want.accepted(i), err)
			}
		}
	}
}

func TestValidationRootAndOneToOne(t *testing.T) {
	h := newHistory(t, ModeOneToOne)
	bob := h.uri("bob")
	for _, rules := range []Rules{Rules2023, RulesCurrent} {
		if err := h.r.ValidateClone(ValidateOptions{Rules: rules, Strict: true}); err != nil {
			t.Errorf("%v: %v", rules, err)
		}
	}
	// Re-adding the invited peer is fine, adding a third person is not.
	ok := h.try("alice", NewMember(ActionAdd, bob).JSON(), nil) // invited/bob unchanged: no file
	if err := h.validate(ok, Rules2023, false); err == nil {
		t.Error("add without a changed invitation accepted")
	}
	third := strings.Repeat("f", 40)
	bad := h.try("alice", NewMember(ActionAdd, third).JSON(), func(f map[string][]byte) { f[InvitedPath(third)] = nil })
	for _, rules := range []Rules{Rules2023, RulesCurrent} {
		if err := h.validate(bad, rules, false); err == nil {
			t.Errorf("%v: third member added to a one-to-one", rules)
		}
	}
	// A root with an extra file, or without the device certificate.
	for name, files := range map[string]map[string][]byte{
		"extra file": {AdminPath(h.uri("alice")): h.accountPEM("alice"), DevicePath(h.dev("alice")): h.devicePEM("alice"), "README": []byte("x")},
		"no device":  {AdminPath(h.uri("alice")): h.accountPEM("alice")},
		"bob's cert": {AdminPath(h.uri("alice")): h.accountPEM("bob"), DevicePath(h.dev("alice")): h.devicePEM("alice")},
	} {
		g := newHistory(t, ModeInvitesOnly)
		root := g.build("alice", nil, NewInitial(ModeInvitesOnly, "").JSON(), files)
		g.conv = root
		g.setHead(root)
		for _, rules := range []Rules{Rules2023, RulesCurrent} {
			if err := g.r.ValidateClone(ValidateOptions{Rules: rules, ConversationID: root}); err == nil {
				t.Errorf("root with %s accepted (%v)", name, rules)
			}
		}
	}
	// Mode 4 exists only for current; mode 7 for nobody.
	for mode, want := range map[Mode][2]bool{ModeDocument: {false, true}, 7: {false, false}} {
		g := newHistory(t, ModeInvitesOnly)
		root := g.build("alice", nil, NewInitial(mode, "").JSON(), g.files)
		g.conv = root
		g.setHead(root)
		for i, rules := range []Rules{Rules2023, RulesCurrent} {
			err := g.r.ValidateClone(ValidateOptions{Rules: rules, ConversationID: root})
			if (err == nil) != want[i] {
				t.Errorf("mode %d under %v: %v", mode, rules, err)
			}
		}
	}
}

func TestValidInfoHash(t *testing.T) {
	for s, want := range map[string]bool{
		strings.Repeat("a", 40): true, strings.Repeat("A", 40): true, strings.Repeat("b", 64): true,
		strings.Repeat("c", 40) + "zz": true, strings.Repeat("0", 40): false, strings.Repeat("a", 39): false,
		strings.Repeat("a", 39) + "g": false, "": false,
	} {
		if validInfoHash(s) != want {
			t.Errorf("%q: %v", s, !want)
		}
	}
}
