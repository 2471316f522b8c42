package swarm

import (
	"strings"
	"testing"
	"time"
)

func TestMembershipOperations(t *testing.T) {
	alice := testWriterIdentity(t, "alice", "Alice")
	bob := testWriterIdentity(t, "bob", "Bob")
	r, _ := NewMemory()
	now := time.Unix(1795500000, 0)
	tick := func() time.Time { now = now.Add(time.Second); return now }
	if _, err := InitConversation(r, alice, NewInitial(ModeInvitesOnly, ""), now); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Join(bob, tick()); err == nil {
		t.Error("join without invitation")
	}
	if _, err := r.Invite(alice, "xyz", tick()); err == nil {
		t.Error("malformed uri invited")
	}
	if _, err := r.Invite(alice, alice.AccountURI(), tick()); err == nil {
		t.Error("self invited")
	}
	if _, err := r.Invite(alice, bob.AccountURI(), tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Invite(alice, bob.AccountURI(), tick()); err == nil {
		t.Error("invited twice")
	}
	if _, err := r.Join(bob, tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Append(bob, NewText("hello", "").JSON(), nil, tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Leave(bob, tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Leave(bob, tick()); err == nil {
		t.Error("left twice")
	}
	ms, _ := r.Members()
	if len(ms) != 1 || ms[0].URI != alice.AccountURI() {
		t.Errorf("members %v", ms)
	}
	for _, rules := range []Rules{Rules2023, RulesCurrent} {
		if err := r.ValidateClone(ValidateOptions{Rules: rules, Strict: true}); err != nil {
			t.Errorf("%v: %v", rules, err)
		}
	}

	// One-to-one: only the initial members.
	o, _ := NewMemory()
	if _, err := InitConversation(o, alice, NewInitial(ModeOneToOne, bob.AccountURI()), now); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Invite(alice, strings.Repeat("a", 40), tick()); err == nil {
		t.Error("third member invited to a one-to-one")
	}
	if _, err := o.Invite(alice, bob.AccountURI(), tick()); err == nil {
		t.Error("already invited peer invited again")
	}
	if _, err := o.Join(bob, tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Leave(bob, tick()); err == nil {
		t.Error("left a one-to-one")
	}
	for _, rules := range []Rules{Rules2023, RulesCurrent} {
		if err := o.ValidateClone(ValidateOptions{Rules: rules, Strict: true}); err != nil {
			t.Errorf("one-to-one %v: %v", rules, err)
		}
	}
}
