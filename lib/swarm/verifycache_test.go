package swarm

import (
	"errors"
	"testing"
)

// A forged signature in the middle of a history is reported at that commit
// although signatures are checked in parallel ahead of the rule pass, and
// the answer is the one a commit-by-commit pass (no precomputed results)
// gives.
func TestValidateCloneNamesForgedCommit(t *testing.T) {
	h, _ := groupWithBob(t)
	for i := range 4 {
		h.add("alice", NewText("before "+string(rune('a'+i)), "").JSON(), nil)
	}
	c, err := h.r.Commit(h.try("alice", NewText("x", "").JSON(), nil))
	if err != nil {
		t.Fatal(err)
	}
	// Alice's device announced, Bob's key signing.
	forged := &Commit{Tree: c.Tree, Parents: c.Parents, Author: c.Author, Committer: c.Committer,
		Message: NewText("forged", "").JSON()}
	if err := forged.Sign(h.id("bob").key); err != nil {
		t.Fatal(err)
	}
	if _, err := h.r.WriteCommit(forged); err != nil {
		t.Fatal(err)
	}
	h.head = forged.ID
	h.setHead(forged.ID)
	for i := range 4 {
		h.add("bob", NewText("after "+string(rune('a'+i)), "").JSON(), nil)
	}
	for _, tc := range []struct {
		name   string
		opts   ValidateOptions
		forged bool
	}{
		{"strict", ValidateOptions{Strict: true}, true},
		{"current", ValidateOptions{Rules: RulesCurrent}, true},
		{"2023", ValidateOptions{}, false},
	} {
		err := h.r.ValidateClone(tc.opts)
		if !tc.forged {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Commit != forged.ID {
			t.Errorf("%s: got %v, want a failure at %s", tc.name, err, forged.ID)
		}
		// The same walk, one ValidateCommit at a time, without precomputed
		// signatures.
		v, err2 := h.r.NewValidator(tc.opts)
		if err2 != nil {
			t.Fatal(err2)
		}
		v.pinTree(v.work)
		order, err2 := h.r.WalkOrder(h.head)
		if err2 != nil {
			t.Fatal(err2)
		}
		var seq error
		for _, id := range order {
			if seq = v.ValidateCommit(id); seq != nil {
				break
			}
		}
		if seq == nil || err == nil || seq.Error() != err.Error() {
			t.Errorf("%s: parallel %v, sequential %v", tc.name, err, seq)
		}
	}
}
