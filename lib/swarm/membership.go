package swarm

import (
	"fmt"
	"time"
)

// headState returns the files at main and the conversation's mode and
// initial members.
func (r *Repo) headState() (Files, Mode, []string, error) {
	conv, err := r.ConversationID()
	if err != nil {
		return nil, 0, nil, err
	}
	mode, err := r.Mode(conv, true)
	if err != nil {
		return nil, 0, nil, err
	}
	initial, err := r.InitialMembers(conv, mode)
	if err != nil {
		return nil, 0, nil, err
	}
	head, err := r.Head()
	if err != nil {
		return nil, 0, nil, err
	}
	hc, err := r.Commit(head)
	if err != nil {
		return nil, 0, nil, err
	}
	files, err := r.Files(hc.Tree)
	return files, mode, initial, err
}

// Invite commits the `add` of uri (§6.2): an empty invited/<uri>. In a
// one-to-one only an initial member can be (re-)added. Someone who is
// already admin, member, invited or banned is refused.
func (r *Repo) Invite(id *Identity, uri string, when time.Time) (*Commit, error) {
	if !validInfoHash(uri) {
		return nil, fmt.Errorf("%q is not a Jami ID (40 hex characters)", uri)
	}
	if uri == id.AccountURI() {
		return nil, fmt.Errorf("cannot invite yourself")
	}
	files, mode, initial, err := r.headState()
	if err != nil {
		return nil, err
	}
	if mode == ModeOneToOne {
		ok := false
		for _, u := range initial {
			ok = ok || u == uri
		}
		if !ok {
			return nil, fmt.Errorf("%s is not a member of this one-to-one conversation", uri)
		}
	}
	if role := RoleOf(files, uri); role != "" {
		return nil, fmt.Errorf("%s is already %s", uri, role)
	}
	if files.Has(DirBanned + "/" + AdminPath(uri)) {
		return nil, fmt.Errorf("%s is banned", uri)
	}
	return r.Append(id, NewMember(ActionAdd, uri).JSON(), []FileChange{{Path: InvitedPath(uri)}}, when)
}

// Join commits the invitee's `join` (§6.3): invited/<me> removed,
// members/<me>.crt added, plus the device certificate.
func (r *Repo) Join(id *Identity, when time.Time) (*Commit, error) {
	me := id.AccountURI()
	files, _, _, err := r.headState()
	if err != nil {
		return nil, err
	}
	if !files.Has(InvitedPath(me)) {
		return nil, fmt.Errorf("%s is not invited to this conversation", me)
	}
	return r.Append(id, NewMember(ActionJoin, me).JSON(), []FileChange{
		{Path: InvitedPath(me), Delete: true},
		{Path: MemberPath(me), Content: id.AccountPEM()},
	}, when)
}

// Leave commits the `remove` of one's own account (§6.3, group
// conversations only): the admins/ or members/ certificate and every
// device certificate issued by the account are deleted. Like current
// upstream, the device certificate is not re-added.
func (r *Repo) Leave(id *Identity, when time.Time) (*Commit, error) {
	me := id.AccountURI()
	files, mode, _, err := r.headState()
	if err != nil {
		return nil, err
	}
	if mode == ModeOneToOne {
		return nil, fmt.Errorf("one-to-one conversations are not left in git")
	}
	var changes []FileChange
	for _, p := range []string{AdminPath(me), MemberPath(me)} {
		if files.Has(p) {
			changes = append(changes, FileChange{Path: p, Delete: true})
		}
	}
	if len(changes) == 0 {
		return nil, fmt.Errorf("%s is not a member of this conversation", me)
	}
	head, _ := r.Head()
	hc, err := r.Commit(head)
	if err != nil {
		return nil, err
	}
	devs, err := r.Devices(hc.Tree)
	if err != nil {
		return nil, err
	}
	for _, d := range devs[me] {
		changes = append(changes, FileChange{Path: DevicePath(d), Delete: true})
	}
	return r.appendCommit(id, NewMember(ActionRemove, me).JSON(), changes, when, false)
}
