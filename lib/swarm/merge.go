package swarm

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// MergeOutcome says what Merge did.
type MergeOutcome int

const (
	UpToDate    MergeOutcome = iota // remote already in main
	FastForward                     // main moved to remote
	Merged                          // a signed merge commit was created
)

func (o MergeOutcome) String() string {
	return [...]string{"up to date", "fast-forward", "merged"}[o]
}

// ErrMergeConflict is returned when both sides changed a path differently
// and jamid's only resolution (profile.vcf with a common ancestor) does not
// apply; main is left unchanged, as jamid does.
var ErrMergeConflict = errors.New("merge conflict")

// MergeFiles merges at file granularity (swarm.md §5.6): a path changed on
// one side only takes that side; changed identically on both, that
// version; changed differently on both, a conflict — except profile.vcf
// present in the base and on both sides, where jamid keeps the remote
// version if the remote head id is the greater hex string, else the local
// one. Unlike libgit2's line merge, the result never invents content, so
// current upstream's merge check (§4.8) always accepts it.
func MergeFiles(base, local, remote Files, localHead, remoteHead plumbing.Hash) (Files, error) {
	paths := map[string]bool{}
	for _, fs := range []Files{base, local, remote} {
		for p := range fs {
			paths[p] = true
		}
	}
	out := Files{}
	var conflicts []string
	for p := range paths {
		b, inB := base[p]
		l, inL := local[p]
		rm, inR := remote[p]
		same := func(x FileEntry, hasX bool, y FileEntry, hasY bool) bool { return hasX == hasY && (!hasX || x == y) }
		var e FileEntry
		var keep bool
		switch {
		case same(l, inL, rm, inR):
			e, keep = l, inL
		case same(l, inL, b, inB):
			e, keep = rm, inR
		case same(rm, inR, b, inB):
			e, keep = l, inL
		case p == FileProfile && inB && inL && inR:
			if remoteHead.String() > localHead.String() {
				e, keep = rm, true
			} else {
				e, keep = l, true
			}
		default:
			conflicts = append(conflicts, p)
			continue
		}
		if keep {
			out[p] = e
		}
	}
	if len(conflicts) > 0 {
		sort.Strings(conflicts)
		return nil, fmt.Errorf("%w: %v", ErrMergeConflict, conflicts)
	}
	return out, nil
}

// Merge brings remote (already in the object store, e.g. fetched into
// refs/remotes/<device>/main and validated) into main as jamid does:
// nothing when it is already included, a fast-forward when main is its
// ancestor, else a file-level three-way merge committed by id with the
// message "Merge commit '<remote>'" (parents: main, remote). The device
// must already have its certificate in the repository (jamid's
// validateDevice); merges never add it.
func (r *Repo) Merge(id *Identity, remote plumbing.Hash, when time.Time) (MergeOutcome, *Commit, error) {
	local, err := r.Head()
	if err != nil {
		// Unborn main: take the remote history as is.
		return FastForward, nil, r.moveMain(plumbing.ZeroHash, remote)
	}
	if in, err := r.IsAncestor(remote, local); err != nil || in {
		return UpToDate, nil, err
	}
	if ff, err := r.IsAncestor(local, remote); err != nil {
		return UpToDate, nil, err
	} else if ff {
		return FastForward, nil, r.moveMain(local, remote)
	}
	bases, err := r.MergeBases(local, remote)
	if err != nil {
		return UpToDate, nil, err
	}
	var baseFiles Files
	if len(bases) > 0 {
		bc, err := r.Commit(bases[0])
		if err != nil {
			return UpToDate, nil, err
		}
		if baseFiles, err = r.Files(bc.Tree); err != nil {
			return UpToDate, nil, err
		}
	}
	lc, err := r.Commit(local)
	if err != nil {
		return UpToDate, nil, err
	}
	rc, err := r.Commit(remote)
	if err != nil {
		return UpToDate, nil, err
	}
	lf, err := r.Files(lc.Tree)
	if err != nil {
		return UpToDate, nil, err
	}
	rf, err := r.Files(rc.Tree)
	if err != nil {
		return UpToDate, nil, err
	}
	devCert, err := r.certAt(lc.Tree, DevicePath(id.DeviceID()))
	if err != nil || devCert == nil || DeviceID(devCert) != id.DeviceID() {
		return UpToDate, nil, errors.New("this device has no valid certificate in the conversation; it cannot merge")
	}
	merged, err := MergeFiles(baseFiles, lf, rf, local, remote)
	if err != nil {
		return UpToDate, nil, err
	}
	tree, err := r.WriteTree(merged)
	if err != nil {
		return UpToDate, nil, err
	}
	p := id.person(when)
	c := &Commit{Tree: tree, Parents: []plumbing.Hash{local, remote}, Author: p, Committer: p, Message: MergeMessage(remote)}
	if err := c.Sign(id.Key); err != nil {
		return UpToDate, nil, err
	}
	if _, err := r.WriteCommit(c); err != nil {
		return UpToDate, nil, err
	}
	if err := r.moveMain(local, c.ID); err != nil {
		return UpToDate, nil, err
	}
	return Merged, c, nil
}
