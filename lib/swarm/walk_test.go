package swarm

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// randomDAG writes a deterministic random history into r: commits named
// c0..cN with one or two parents and committer times from a narrow range
// (many ties, some clock skew). It returns the last commit and the names.
func randomDAG(t testing.TB, r *Repo, seed uint64) (plumbing.Hash, map[plumbing.Hash]string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 20230206))
	tree, err := r.WriteObject(plumbing.TreeObject, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 3 + rng.IntN(28)
	var ids []plumbing.Hash
	names := map[plumbing.Hash]string{}
	for i := 0; i < n; i++ {
		var parents []plumbing.Hash
		if i > 0 {
			parents = append(parents, ids[rng.IntN(i)])
			if i > 1 && rng.IntN(4) == 0 {
				p2 := ids[rng.IntN(i)]
				if p2 != parents[0] {
					parents = append(parents, p2)
				}
			}
		}
		// Later commits tend to be newer, with ties and skew.
		when := int64(1000 + i/3 + rng.IntN(3) - 1)
		c := &Commit{Tree: tree, Parents: parents, Message: []byte(fmt.Sprintf("c%d", i)),
			Author: Person{Name: "n", Email: "e", When: when}, Committer: Person{Name: "n", Email: "e", When: when}}
		raw, err := c.Payload()
		if err != nil {
			t.Fatal(err)
		}
		h, err := r.WriteObject(plumbing.CommitObject, raw)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, h)
		names[h] = fmt.Sprintf("c%d", i)
	}
	// Tie every commit to the head so the walk covers the whole history.
	head := ids[n-1]
	for i := n - 2; i >= 0; i-- {
		if ok, _ := r.IsAncestor(ids[i], head); ok {
			continue
		}
		c := &Commit{Tree: tree, Parents: []plumbing.Hash{head, ids[i]}, Message: []byte(fmt.Sprintf("m%d", i)),
			Author: Person{Name: "n", Email: "e", When: 1000 + int64(n/3)}, Committer: Person{Name: "n", Email: "e", When: 1000 + int64(n/3)}}
		raw, _ := c.Payload()
		h, err := r.WriteObject(plumbing.CommitObject, raw)
		if err != nil {
			t.Fatal(err)
		}
		names[h] = fmt.Sprintf("m%d", i)
		head = h
	}
	return head, names
}

// testdata/revwalk/golden.txt holds, for 200 random histories, the order in
// which the real libgit2 1.5.1 walks them (testdata/revwalk/walk.c). Set
// SWARM_REVWALK_DUMP=<dir> to write those histories as bare repositories
// (<dir>/<seed>.git, head in <dir>/<seed>.head) for regenerating it.
func TestWalkOrderGoldenLibgit2(t *testing.T) {
	dump := os.Getenv("SWARM_REVWALK_DUMP")
	golden := map[string]string{}
	if dump == "" {
		f, err := os.Open(filepath.Join("testdata", "revwalk", "golden.txt"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			seed, order, _ := strings.Cut(sc.Text(), ": ")
			golden[seed] = order
		}
		if len(golden) < 200 {
			t.Fatalf("golden file has %d histories", len(golden))
		}
	}
	for seed := uint64(1); seed <= 200; seed++ {
		var r *Repo
		var err error
		if dump != "" {
			var g *git.Repository
			g, err = git.PlainInit(filepath.Join(dump, fmt.Sprintf("%d.git", seed)), true)
			if err == nil {
				r = Wrap(g)
			}
		} else {
			r, err = NewMemory()
		}
		if err != nil {
			t.Fatal(err)
		}
		head, names := randomDAG(t, r, seed)
		if dump != "" {
			if err := os.WriteFile(filepath.Join(dump, fmt.Sprintf("%d.head", seed)), []byte(head.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		order, err := r.WalkOrder(head)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range order {
			got = append(got, names[h])
		}
		if want := golden[fmt.Sprint(seed)]; strings.Join(got, " ") != want {
			t.Errorf("seed %d:\n got %s\nwant %s", seed, strings.Join(got, " "), want)
		}
	}
}
