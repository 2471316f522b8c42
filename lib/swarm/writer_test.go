package swarm

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

func testWriterIdentity(t *testing.T, name, display string) *Identity {
	ti := loadIdentity(t, name)
	id := &Identity{Key: ti.key, Chain: ti.chain, DisplayName: display}
	if err := id.Check(); err != nil {
		t.Fatal(err)
	}
	return id
}

// Replaying the group fixture through InitConversation and Append with
// Alice's key and the recorded times reproduces every commit id: the
// writer is byte-compatible with jamid 13.7.0.
func TestWriterReplaysGroupFixture(t *testing.T) {
	v := loadVectors(t)
	src := openFixture(t, "group")
	alice := testWriterIdentity(t, "alice", "Alice")
	r, _ := NewMemory()
	commits := v.Repos["group"].Commits
	for i := len(commits) - 1; i >= 0; i-- {
		vc := commits[i]
		when := time.Unix(vc.Time, 0)
		if len(vc.Parents) == 0 {
			m, err := DecodeMessage([]byte(vc.Message))
			if err != nil {
				t.Fatal(err)
			}
			id, err := InitConversation(r, alice, m, when)
			if err != nil || id.String() != vc.ID {
				t.Fatalf("root %s, want %s (%v)", id, vc.ID, err)
			}
			continue
		}
		// Take the changed files from the fixture commit.
		fc, _ := src.Commit(plumbing.NewHash(vc.ID))
		pc, _ := src.Commit(fc.Parents[0])
		nf, _ := src.Files(fc.Tree)
		of, _ := src.Files(pc.Tree)
		var changes []FileChange
		for _, ch := range DiffFiles(of, nf) {
			if ch.New == nil {
				changes = append(changes, FileChange{Path: ch.Path, Delete: true})
				continue
			}
			b, _ := src.Blob(ch.New.Hash)
			changes = append(changes, FileChange{Path: ch.Path, Content: b})
		}
		c, err := r.Append(alice, []byte(vc.Message), changes, when)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID.String() != vc.ID {
			t.Fatalf("commit %s, want %s", c.ID, vc.ID)
		}
	}
	if h, _ := r.Head(); h.String() != v.Repos["group"].Head {
		t.Errorf("head %s", h)
	}
}

func TestWriterOneToOneFixture(t *testing.T) {
	v := loadVectors(t)
	vc := v.Repos["one2one"].Commits[0]
	alice := testWriterIdentity(t, "alice", " <Alice> ")
	r, _ := NewMemory()
	id, err := InitConversation(r, alice, NewInitial(ModeOneToOne, v.Identities["bob"].AccountURI), time.Unix(vc.Time, 0))
	if err != nil || id.String() != vc.ID {
		t.Errorf("one-to-one root %s, want %s (%v)", id, vc.ID, err)
	}
	if _, err := InitConversation(r, alice, NewInitial(ModeOneToOne, ""), time.Now()); err == nil {
		t.Error("second root accepted")
	}
	if _, err := InitConversation(r, alice, NewText("x", ""), time.Now()); err == nil {
		t.Error("root without initial message accepted")
	}
}

func TestAuthorName(t *testing.T) {
	alice := testWriterIdentity(t, "alice", "")
	for display, want := range map[string]string{"Alice": "Alice", "<b>Bo</b>": "bBo/b", "  x  ": "x", "<>": alice.DeviceID(), "": alice.DeviceID(), "a\nb": alice.DeviceID()} {
		alice.DisplayName = display
		if got := alice.AuthorName(); got != want {
			t.Errorf("%q → %q, want %q", display, got, want)
		}
	}
}

// On disk with a work tree: index and files follow main, the device
// certificate rides along with Bob's first commit, a profile update as a
// first commit is refused, and stock git finds the repository sound.
func TestWriterWorkTree(t *testing.T) {
	dir := t.TempDir()
	g, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	r := Wrap(g)
	alice := testWriterIdentity(t, "alice", "Alice")
	bob := testWriterIdentity(t, "bob", "Bob")
	now := time.Unix(1795400000, 0)
	conv, err := InitConversation(r, alice, NewInitial(ModeInvitesOnly, ""), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Append(alice, NewMember(ActionAdd, bob.AccountURI()).JSON(), []FileChange{{Path: InvitedPath(bob.AccountURI())}}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Append(bob, NewUpdateProfile().JSON(), []FileChange{{Path: FileProfile, Content: []byte("x")}}, now); !errors.Is(err, ErrProfileAsFirstCommit) {
		t.Errorf("profile as first commit: %v", err)
	}
	join, err := r.Append(bob, NewMember(ActionJoin, bob.AccountURI()).JSON(), []FileChange{
		{Path: InvitedPath(bob.AccountURI()), Delete: true},
		{Path: MemberPath(bob.AccountURI()), Content: bob.AccountPEM()},
	}, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := r.Files(join.Tree)
	if !files.Has(DevicePath(bob.DeviceID())) || files.Has(InvitedPath(bob.AccountURI())) {
		t.Errorf("join tree %v", files)
	}
	if _, err := r.Append(alice, UpdateProfileText(), []FileChange{{Path: FileProfile, Content: EncodeProfile(map[string]string{ProfileTitle: "T"})}}, now.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string][]byte{
		MemberPath(bob.AccountURI()): bob.AccountPEM(),
		DevicePath(bob.DeviceID()):   bob.DevicePEM(),
		FileProfile:                  EncodeProfile(map[string]string{ProfileTitle: "T"}),
	} {
		got, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("work tree %s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, InvitedPath(bob.AccountURI()))); !os.IsNotExist(err) {
		t.Errorf("invitation still in the work tree: %v", err)
	}
	for _, rules := range []Rules{Rules2023, RulesCurrent} {
		if err := r.ValidateClone(ValidateOptions{Rules: rules, Strict: true, ConversationID: conv}); err != nil {
			t.Errorf("%v: %v", rules, err)
		}
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is required in CI")
		}
		t.Skip("no git binary for the cross-check")
	}
	for _, args := range [][]string{{"fsck", "--strict", "--no-dangling"}, {"status", "--porcelain"}} {
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("git %v: %v\n%s", args, err, out)
		}
	}
	out, err := exec.Command(gitBin, "-C", dir, "cat-file", "-p", "HEAD").Output()
	if err != nil || !bytes.Contains(out, []byte("\nsignature ")) || !bytes.HasSuffix(out, []byte(`{"type":"application/update-profile"}`)) {
		t.Errorf("git cat-file: %v\n%s", err, out)
	}
}
