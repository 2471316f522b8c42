package swarm

import (
	"reflect"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// The 2023 message maps computed from the fixture repositories equal the
// maps jamid 13.7.0 returned through D-Bus (swarm-testvectors.json), in the
// same order.
func TestFixtureMessageMaps2023(t *testing.T) {
	v := loadVectors(t)
	for name, vr := range v.Repos {
		r := openFixture(t, name)
		log, err := r.Log(LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != len(vr.Commits) {
			t.Fatalf("%s: %d commits, want %d", name, len(log), len(vr.Commits))
		}
		for i, e := range log {
			want := vr.Commits[i]
			if e.Commit.ID.String() != want.ID {
				t.Errorf("%s[%d]: %s, want %s", name, i, e.Commit.ID, want.ID)
				continue
			}
			m, ok := r.MessageMap2023(e)
			if !ok {
				t.Errorf("%s: %s skipped", name, want.ID)
				continue
			}
			if !reflect.DeepEqual(m, want.ExpectedMap) {
				t.Errorf("%s: %s map\n got %v\nwant %v", name, want.ID, m, want.ExpectedMap)
			}
		}
		id, err := r.ConversationID()
		if err != nil || id.String() != vr.ConversationID {
			t.Errorf("%s: conversation id %s %v", name, id, err)
		}
		head, _ := r.Head()
		if head.String() != vr.Head {
			t.Errorf("%s: head %s", name, head)
		}
	}
}

func TestFixtureModeAndMembers(t *testing.T) {
	v := loadVectors(t)
	alice, bob := v.Identities["alice"].AccountURI, v.Identities["bob"].AccountURI
	for _, tc := range []struct {
		repo    string
		mode    Mode
		members []Member
		initial []string
	}{
		{"group", ModeInvitesOnly, []Member{{alice, RoleAdmin}, {bob, RoleInvited}}, []string{alice}},
		{"one2one", ModeOneToOne, []Member{{alice, RoleAdmin}, {bob, RoleInvited}}, []string{alice, bob}},
	} {
		r := openFixture(t, tc.repo)
		id, _ := r.ConversationID()
		for _, current := range []bool{false, true} {
			m, err := r.Mode(id, current)
			if err != nil || m != tc.mode {
				t.Errorf("%s: mode %v %v", tc.repo, m, err)
			}
		}
		init, err := r.InitialMembers(id, tc.mode)
		if err != nil || !reflect.DeepEqual(init, tc.initial) {
			t.Errorf("%s: initial members %v %v", tc.repo, init, err)
		}
		ms, err := r.Members()
		if err != nil || !reflect.DeepEqual(ms, tc.members) {
			t.Errorf("%s: members %v %v", tc.repo, ms, err)
		}
		head, _ := r.Head()
		hc, _ := r.Commit(head)
		devs, err := r.Devices(hc.Tree)
		if err != nil || !reflect.DeepEqual(devs, map[string][]string{alice: {v.Identities["alice"].DeviceID}}) {
			t.Errorf("%s: devices %v %v", tc.repo, devs, err)
		}
	}
}

func TestFixtureProfileAndChanges(t *testing.T) {
	v := loadVectors(t)
	r := openFixture(t, "group")
	vr := v.Repos["group"]
	head, _ := r.Head()
	hc, _ := r.Commit(head)
	prof, ok, err := r.FileAt(hc, FileProfile)
	if err != nil || !ok || string(prof) != vr.ProfileAtHead {
		t.Errorf("profile %q %v %v", prof, ok, err)
	}
	files, err := r.Files(hc.Tree)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(vr.HeadTreeFiles) {
		t.Errorf("head tree has %d files, want %d", len(files), len(vr.HeadTreeFiles))
	}
	for p, want := range vr.HeadTreeFiles {
		if e, ok := files[p]; !ok || e.Hash.String() != want.Blob || e.Mode != ModeFile {
			t.Errorf("%s: %+v", p, e)
		}
	}
	for _, vc := range vr.Commits {
		c, _ := r.Commit(plumbing.NewHash(vc.ID))
		var old Files
		if len(c.Parents) > 0 {
			pc, _ := r.Commit(c.Parents[0])
			old, _ = r.Files(pc.Tree)
		}
		nw, _ := r.Files(c.Tree)
		var got []string
		for _, ch := range DiffFiles(old, nw) {
			got = append(got, ch.Status()+"\t"+ch.Path)
		}
		if len(got) != len(vc.Changed) || (len(got) > 0 && !reflect.DeepEqual(got, vc.Changed)) {
			t.Errorf("%s: changed %v, want %v", vc.ID, got, vc.Changed)
		}
	}
}

// Crafted histories: ties in committer time come out in libgit2's heap
// order, and children always precede parents even when older.
func TestWalkOrderLibgit2(t *testing.T) {
	r, err := NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r.WriteObject(plumbing.TreeObject, nil)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(when int64, msg string, parents ...plumbing.Hash) plumbing.Hash {
		c := &Commit{Tree: tree, Parents: parents, Message: []byte(msg),
			Author: Person{Name: "n", Email: "e", When: when}, Committer: Person{Name: "n", Email: "e", When: when}}
		raw, err := c.Payload()
		if err != nil {
			t.Fatal(err)
		}
		h, err := r.WriteObject(plumbing.CommitObject, raw)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	root := mk(100, "root")
	// Two branches with equal and skewed times, merged twice.
	a1 := mk(110, "a1", root)
	b1 := mk(110, "b1", root)
	a2 := mk(90, "a2", a1) // clock skew: older than its parent
	b2 := mk(120, "b2", b1)
	c1 := mk(110, "c1", root)
	m1 := mk(120, "m1", a2, b2)
	m2 := mk(120, "m2", m1, c1)
	order, err := r.WalkOrder(m2)
	if err != nil {
		t.Fatal(err)
	}
	names := map[plumbing.Hash]string{root: "root", a1: "a1", b1: "b1", a2: "a2", b2: "b2", c1: "c1", m1: "m1", m2: "m2"}
	var got []string
	pos := map[plumbing.Hash]int{}
	for i, h := range order {
		got = append(got, names[h])
		pos[h] = i
	}
	// Derived by hand from libgit2 1.5.1 revwalk.c/pqueue.c (and checked
	// with the real library): limit_list order m2 m1 b2 c1 b1 root a2 a1,
	// then the heap pops c1 before b1 although both are at 110.
	want := []string{"m2", "m1", "b2", "c1", "b1", "a2", "a1", "root"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	for h := range names {
		c, _ := r.Commit(h)
		for _, p := range c.Parents {
			if pos[p] < pos[h] {
				t.Errorf("%s before its child %s", names[p], names[h])
			}
		}
	}
	if err := r.Git().Storer.SetReference(plumbing.NewHashReference(MainBranch, m2)); err != nil {
		t.Fatal(err)
	}
	log, err := r.Log(LogOptions{SkipMerge: true, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	var lg, lp []string
	for _, e := range log {
		lg = append(lg, names[e.Commit.ID])
		lp = append(lp, names[e.LinearizedParent])
	}
	// linearizedParent is the next walked commit, merges included, and the
	// first commit past the limit.
	if !reflect.DeepEqual(lg, []string{"b2", "c1", "b1"}) || !reflect.DeepEqual(lp, []string{"c1", "b1", "a2"}) {
		t.Errorf("log %v lp %v", lg, lp)
	}
	log, err = r.Log(LogOptions{From: b2, To: c1, IncludeTo: true})
	if err != nil {
		t.Fatal(err)
	}
	lg = nil
	for _, e := range log {
		lg = append(lg, names[e.Commit.ID])
	}
	if !reflect.DeepEqual(lg, []string{"b2", "c1"}) || names[log[1].LinearizedParent] != "b1" {
		t.Errorf("from/to log %v", lg)
	}
}
