package swarm

import (
	"fmt"
	"regexp"
	"time"
)

// reWord is what jamid's vote path regex accepts for a target.
var reWord = regexp.MustCompile(`^\w+$`)

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
	if len(uri) != 40 || !validInfoHash(uri) {
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

// Ban target types: the directory that holds the target (§4.7).
const (
	BanMembers = "members"
	BanAdmins  = "admins"
	BanInvited = "invited"
	BanDevices = "devices"
)

// targetFile is <typ>/<uri>[.crt] (no .crt for invitations).
func targetFile(typ, uri string) string {
	if typ == BanInvited {
		return typ + "/" + uri
	}
	return typ + "/" + uri + ".crt"
}

// VoteBan casts the admin's ban vote on uri (an account, or a device ID for
// BanDevices) and, when strictly more than half of the admins have voted,
// commits the resolution as jamid does right after voting: the votes are
// deleted, <typ>/<uri>[.crt] moves under banned/, and a `ban` member
// commit is made. resolution is nil while the vote is pending.
func (r *Repo) VoteBan(id *Identity, typ, uri string, when time.Time) (vote, resolution *Commit, err error) {
	return r.vote(id, ActionBan, typ, uri, when)
}

// VoteUnban is the mirror image: votes under votes/unban/, and the
// resolution moves banned/<typ>/<uri>[.crt] back.
func (r *Repo) VoteUnban(id *Identity, typ, uri string, when time.Time) (vote, resolution *Commit, err error) {
	return r.vote(id, ActionUnban, typ, uri, when)
}

func (r *Repo) vote(id *Identity, action, typ, uri string, when time.Time) (*Commit, *Commit, error) {
	me := id.AccountURI()
	switch typ {
	case BanMembers, BanAdmins, BanInvited, BanDevices:
	default:
		return nil, nil, fmt.Errorf("unknown ban type %q", typ)
	}
	if uri == me || uri == id.DeviceID() {
		return nil, nil, fmt.Errorf("cannot vote against yourself")
	}
	if !reWord.MatchString(uri) {
		return nil, nil, fmt.Errorf("%q is not an account or device ID", uri)
	}
	files, _, _, err := r.headState()
	if err != nil {
		return nil, nil, err
	}
	if !files.Has(AdminPath(me)) {
		return nil, nil, fmt.Errorf("only admins vote")
	}
	target := targetFile(typ, uri)
	if action == ActionBan && !files.Has(target) {
		return nil, nil, fmt.Errorf("%s not found", target)
	}
	if action == ActionUnban && !files.Has(DirBanned+"/"+target) {
		return nil, nil, fmt.Errorf("%s is not banned", target)
	}
	voteDir := DirVotes + "/" + action + "/" + typ + "/" + uri
	vote, err := r.Append(id, NewVote(uri).JSON(), []FileChange{{Path: voteDir + "/" + me}}, when)
	if err != nil {
		return nil, nil, err
	}
	files, err = r.Files(vote.Tree)
	if err != nil {
		return vote, nil, err
	}
	admins := files.Dir(DirAdmins)
	voted := 0
	for _, a := range admins {
		if files.Has(voteDir + "/" + a[:len(a)-len(".crt")]) {
			voted++
		}
	}
	if 2*voted <= len(admins) {
		return vote, nil, nil
	}
	var changes []FileChange
	for _, p := range files.Under(voteDir) {
		changes = append(changes, FileChange{Path: p, Delete: true})
	}
	from, to := target, DirBanned+"/"+target
	if action == ActionUnban {
		from, to = to, from
	}
	content, err := r.Blob(files[from].Hash)
	if err != nil {
		return vote, nil, err
	}
	changes = append(changes, FileChange{Path: from, Delete: true}, FileChange{Path: to, Content: content})
	res, err := r.Append(id, NewMember(action, uri).JSON(), changes, when)
	return vote, res, err
}
