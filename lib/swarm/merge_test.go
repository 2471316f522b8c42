package swarm

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// divergent returns a repo where Alice and Bob (both members) each
// committed on top of a common state; main is at Alice's side.
func divergent(t *testing.T, aliceChanges, bobChanges []FileChange) (r *Repo, alice, bob *Identity, a, b plumbing.Hash) {
	alice = testWriterIdentity(t, "alice", "Alice")
	bob = testWriterIdentity(t, "bob", "Bob")
	r, _ = NewMemory()
	now := time.Unix(1795400000, 0)
	if _, err := InitConversation(r, alice, NewInitial(ModeInvitesOnly, ""), now); err != nil {
		t.Fatal(err)
	}
	mustAppend := func(id *Identity, text []byte, ch []FileChange) plumbing.Hash {
		now = now.Add(time.Second)
		c, err := r.Append(id, text, ch, now)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	mustAppend(alice, NewMember(ActionAdd, bob.AccountURI()).JSON(), []FileChange{{Path: InvitedPath(bob.AccountURI())}})
	mustAppend(bob, NewMember(ActionJoin, bob.AccountURI()).JSON(), []FileChange{
		{Path: InvitedPath(bob.AccountURI()), Delete: true}, {Path: MemberPath(bob.AccountURI()), Content: bob.AccountPEM()}})
	mustAppend(alice, NewUpdateProfile().JSON(), []FileChange{{Path: FileProfile, Content: EncodeProfile(map[string]string{ProfileTitle: "base"})}})
	common, _ := r.Head()
	a = mustAppend(alice, NewText("from alice", "").JSON(), aliceChanges)
	if err := r.Git().Storer.SetReference(plumbing.NewHashReference(MainBranch, common)); err != nil {
		t.Fatal(err)
	}
	b = mustAppend(bob, NewText("from bob", "").JSON(), bobChanges)
	if err := r.Git().Storer.SetReference(plumbing.NewHashReference(MainBranch, a)); err != nil {
		t.Fatal(err)
	}
	return
}

func TestMergeDivergent(t *testing.T) {
	r, alice, _, a, b := divergent(t, nil, nil)
	out, c, err := r.Merge(alice, b, time.Unix(1795400100, 0))
	if err != nil || out != Merged {
		t.Fatalf("%v %v", out, err)
	}
	if string(c.Message) != "Merge commit '"+b.String()+"'" || !reflect.DeepEqual(c.Parents, []plumbing.Hash{a, b}) {
		t.Errorf("merge commit %q %v", c.Message, c.Parents)
	}
	for _, rules := range []Rules{Rules2023, RulesCurrent} {
		if err := r.ValidateClone(ValidateOptions{Rules: rules, Strict: true}); err != nil {
			t.Errorf("%v: %v", rules, err)
		}
	}
	// The 2023 map of a merge.
	log, _ := r.Log(LogOptions{Limit: 1})
	m, ok := r.MessageMap2023(log[0])
	if !ok || m["type"] != TypeMerge || m["parents"] != a.String()+","+b.String() || m["author"] != alice.AccountURI() {
		t.Errorf("merge map %v", m)
	}
	// Merging again: up to date; the merge's own parent: up to date too.
	if out, _, err := r.Merge(alice, b, time.Now()); out != UpToDate || err != nil {
		t.Errorf("again: %v %v", out, err)
	}
}

func TestMergeFastForward(t *testing.T) {
	r, alice, _, a, _ := divergent(t, nil, nil)
	c, err := r.Append(alice, NewText("more", "").JSON(), nil, time.Unix(1795400200, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Git().Storer.SetReference(plumbing.NewHashReference(MainBranch, a)); err != nil {
		t.Fatal(err)
	}
	if out, mc, err := r.Merge(alice, c.ID, time.Now()); out != FastForward || mc != nil || err != nil {
		t.Errorf("%v %v %v", out, mc, err)
	}
	if h, _ := r.Head(); h != c.ID {
		t.Errorf("head %s", h)
	}
}

func TestMergeProfileConflict(t *testing.T) {
	prof := func(title string) []FileChange {
		return []FileChange{{Path: FileProfile, Content: EncodeProfile(map[string]string{ProfileTitle: title})}}
	}
	// Both sides rewrote profile.vcf: the greater head id wins. (Bob's side
	// is not a profile-update commit, which jamid would refuse, but merge
	// resolution only looks at trees.)
	r, alice, _, a, b := divergent(t, prof("alice"), prof("bob"))
	out, c, err := r.Merge(alice, b, time.Unix(1795400300, 0))
	if err != nil || out != Merged {
		t.Fatalf("%v %v", out, err)
	}
	got, _, _ := r.FileAt(c, FileProfile)
	want := "alice"
	if b.String() > a.String() {
		want = "bob"
	}
	if ParseProfile(got)[ProfileTitle] != want {
		t.Errorf("profile %q, want title %s", got, want)
	}
	// Any other file changed on both sides is a conflict and main stays.
	r, alice, _, a, b = divergent(t, []FileChange{{Path: "x", Content: []byte("1")}}, []FileChange{{Path: "x", Content: []byte("2")}})
	if _, _, err := r.Merge(alice, b, time.Now()); !errors.Is(err, ErrMergeConflict) {
		t.Errorf("conflict: %v", err)
	}
	if h, _ := r.Head(); h != a {
		t.Error("main moved on conflict")
	}
}

func TestMergeFilesRules(t *testing.T) {
	e := func(s string) FileEntry {
		return FileEntry{Mode: ModeFile, Hash: HashObject(plumbing.BlobObject, []byte(s))}
	}
	lh, rh := plumbing.NewHash("1111111111111111111111111111111111111111"), plumbing.NewHash("2222222222222222222222222222222222222222")
	base := Files{"keep": e("k"), "del-l": e("d"), "mod-r": e("m"), "profile.vcf": e("p0")}
	local := Files{"keep": e("k"), "mod-r": e("m"), "add-l": e("a"), "profile.vcf": e("pl")}
	remote := Files{"keep": e("k"), "del-l": e("d"), "mod-r": e("m2"), "add-l": e("a"), "profile.vcf": e("pr")}
	got, err := MergeFiles(base, local, remote, lh, rh)
	want := Files{"keep": e("k"), "mod-r": e("m2"), "add-l": e("a"), "profile.vcf": e("pr")}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%v %v", got, err)
	}
	if got, _ := MergeFiles(base, local, remote, rh, lh); got[FileProfile] != e("pl") {
		t.Error("local profile should win when its head id is greater")
	}
	// profile.vcf added on both sides without ancestor: conflict.
	if _, err := MergeFiles(Files{}, Files{"profile.vcf": e("a")}, Files{"profile.vcf": e("b")}, lh, rh); !errors.Is(err, ErrMergeConflict) {
		t.Errorf("no-ancestor profile: %v", err)
	}
	// Deleted on one side, modified on the other: conflict.
	if _, err := MergeFiles(Files{"f": e("1")}, Files{}, Files{"f": e("2")}, lh, rh); !errors.Is(err, ErrMergeConflict) {
		t.Errorf("delete/modify: %v", err)
	}
}
