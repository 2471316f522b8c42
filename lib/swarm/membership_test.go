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

func TestBanAndUnban(t *testing.T) {
	alice := testWriterIdentity(t, "alice", "Alice")
	bob := testWriterIdentity(t, "bob", "Bob")
	r, _ := NewMemory()
	now := time.Unix(1795600000, 0)
	tick := func() time.Time { now = now.Add(time.Second); return now }
	if _, err := InitConversation(r, alice, NewInitial(ModeInvitesOnly, ""), now); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Invite(alice, bob.AccountURI(), tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Join(bob, tick()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.VoteBan(bob, BanAdmins, alice.AccountURI(), tick()); err == nil {
		t.Error("a member voted")
	}
	if _, _, err := r.VoteBan(alice, BanMembers, alice.AccountURI(), tick()); err == nil {
		t.Error("self ban")
	}
	vote, res, err := r.VoteBan(alice, BanMembers, bob.AccountURI(), tick())
	if err != nil || vote == nil || res == nil {
		t.Fatalf("ban: %v %v %v", vote, res, err)
	}
	if ms, _ := r.Members(); len(ms) != 2 || ms[1] != (Member{bob.AccountURI(), RoleBanned}) {
		t.Errorf("after ban %v", ms)
	}
	files, _ := r.Files(res.Tree)
	if len(files.Under(DirVotes)) != 0 || !files.Has(DirBanned+"/"+MemberPath(bob.AccountURI())) {
		t.Errorf("ban tree %v", files)
	}
	if _, err := r.Invite(alice, bob.AccountURI(), tick()); err == nil {
		t.Error("banned member re-invited")
	}
	if _, res, err := r.VoteUnban(alice, BanMembers, bob.AccountURI(), tick()); err != nil || res == nil {
		t.Fatalf("unban: %v %v", res, err)
	}
	if ms, _ := r.Members(); len(ms) != 2 || ms[1] != (Member{bob.AccountURI(), RoleMember}) {
		t.Errorf("after unban %v", ms)
	}
	// Ban a device.
	if _, res, err := r.VoteBan(alice, BanDevices, bob.DeviceID(), tick()); err != nil || res == nil {
		t.Fatalf("device ban: %v %v", res, err)
	}
	for _, rules := range []Rules{Rules2023, RulesCurrent} {
		// Replayed as a fetch from the join (the receiver's work tree
		// then has Alice as the only admin).
		head, _ := r.Head()
		log, _ := r.Log(LogOptions{})
		join := log[len(log)-3].Commit.ID
		if err := r.ValidateFetch(join, head, ValidateOptions{Rules: rules}); err != nil {
			t.Errorf("%v: %v", rules, err)
		}
	}
}
