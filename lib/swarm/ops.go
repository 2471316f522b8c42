package swarm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/jamikit/jamikit/lib/atomicfile"
)

// Message-level writes with the preconditions jamid's validators will
// apply on the receiving side (§4), so that a commit we make is never one
// our peers reject.

// ErrAmbiguous is returned by ResolveCommit for a prefix that names
// several commits.
var ErrAmbiguous = errors.New("ambiguous commit prefix")

// ErrNoCommit is returned by ResolveCommit when nothing matches.
var ErrNoCommit = errors.New("no such commit in the conversation")

// ResolveCommit finds the commit of the conversation (reachable from HEAD)
// whose id is s or starts with s (at least 4 hex digits).
func (r *Repo) ResolveCommit(s string) (plumbing.Hash, error) {
	s = strings.ToLower(s)
	if len(s) < 4 || len(s) > 40 || strings.Trim(s, "0123456789abcdef") != "" {
		return plumbing.ZeroHash, fmt.Errorf("%q is not a commit id (4 to 40 hex digits)", s)
	}
	head, err := r.Head()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	order, err := r.WalkOrder(head)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var found []plumbing.Hash
	for _, h := range order {
		if strings.HasPrefix(h.String(), s) {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 0:
		return plumbing.ZeroHash, fmt.Errorf("%s: %w", s, ErrNoCommit)
	case 1:
		return found[0], nil
	}
	return plumbing.ZeroHash, fmt.Errorf("%s: %w (%d commits)", s, ErrAmbiguous, len(found))
}

// Send commits a message that changes no file (text, reply, reaction, data
// transfer, call record, …). The device certificate rides along with the
// device's first commit.
func (r *Repo) Send(id *Identity, msg *Message, when time.Time) (*Commit, error) {
	switch msg.Type {
	case TypeInitial, TypeMember, TypeVote, TypeUpdateProfile, TypeCheckpoint:
		return nil, fmt.Errorf("a %s commit changes files: use its own operation", msg.Type)
	case "":
		return nil, errors.New("message has no type")
	}
	if err := r.checkAuthor(id); err != nil {
		return nil, err
	}
	return r.Append(id, msg.JSON(), nil, when)
}

// checkAuthor refuses to write for an account that is not admin or member
// at HEAD: every peer would reject the commit (isValidUserAtCommit).
func (r *Repo) checkAuthor(id *Identity) error {
	files, _, _, err := r.headState()
	if err != nil {
		return err
	}
	me := id.AccountURI()
	if !files.Has(AdminPath(me)) && !files.Has(MemberPath(me)) {
		if files.Has(InvitedPath(me)) {
			return fmt.Errorf("%s is only invited: join first", me)
		}
		return fmt.Errorf("%s is not a member of this conversation", me)
	}
	return nil
}

// Target reads a commit to reply to, react to, edit or delete, and the
// message it carries.
func (r *Repo) Target(target plumbing.Hash) (*Commit, *Message, error) {
	c, err := r.Commit(target)
	if err != nil {
		return nil, nil, err
	}
	if c.IsMerge() {
		return c, nil, fmt.Errorf("%s is a merge commit", target)
	}
	m, err := DecodeMessage(c.TextMessage())
	if err != nil {
		return c, nil, fmt.Errorf("%s: %w", target, err)
	}
	return c, m, nil
}

// EditStyle chooses how an edit is written (§3.3).
type EditStyle int

const (
	// Edit2023 is application/edited-message: what jamid 2023 writes,
	// and what both 2023 and current display as an edit.
	Edit2023 EditStyle = iota
	// EditCurrent is the original's type plus "edit", written by current
	// upstream; jamid 2023 shows it as a new message.
	EditCurrent
)

// Edit replaces the body of one of the account's own text messages (an
// empty body deletes it). Like jamid, an edit points at the original
// message, so editing an edit edits the original.
func (r *Repo) Edit(id *Identity, target plumbing.Hash, body string, style EditStyle, when time.Time) (*Commit, error) {
	orig, err := r.editable(id, target)
	if err != nil {
		return nil, err
	}
	if orig.msg.Type != TypeText {
		if orig.msg.Type == TypeDataTransfer && body == "" {
			return r.Send(id, NewFileDeletion(orig.id.String()), when)
		}
		return nil, fmt.Errorf("%s is a %s message; only text messages can be edited", orig.id, orig.msg.Type)
	}
	msg := NewEdit2023(orig.id.String(), body)
	if style == EditCurrent {
		msg = NewEdit(orig.id.String(), body)
	}
	return r.Send(id, msg, when)
}

// Delete removes one of the account's own messages: a text message (or
// reaction) by an edit with an empty body, a file by current upstream's
// file deletion (jamid 2023 has no file deletion; it shows that commit as
// a file transfer without content).
func (r *Repo) Delete(id *Identity, target plumbing.Hash, style EditStyle, when time.Time) (*Commit, error) {
	return r.Edit(id, target, "", style, when)
}

type original struct {
	id  plumbing.Hash
	msg *Message
}

// editable follows edits back to the original message and checks that
// the account wrote it (checkEdit: same author account).
func (r *Repo) editable(id *Identity, target plumbing.Hash) (*original, error) {
	for range 64 {
		c, m, err := r.Target(target)
		if err != nil {
			return nil, err
		}
		if author := r.DeviceAccount(c.AuthorDevice(), c); author != id.AccountURI() {
			return nil, fmt.Errorf("%s was written by %s; only its author can change it", target, author)
		}
		if !m.IsEdit() {
			return &original{id: target, msg: m}, nil
		}
		target = plumbing.NewHash(m.Edit)
	}
	return nil, fmt.Errorf("%s: edits nested too deep", target)
}

// React commits a reaction (an emoji, or any text) to a message.
func (r *Repo) React(id *Identity, target plumbing.Hash, reaction string, when time.Time) (*Commit, error) {
	if _, _, err := r.Target(target); err != nil {
		return nil, err
	}
	if reaction == "" {
		return nil, errors.New("empty reaction")
	}
	return r.Send(id, NewReaction(target.String(), reaction), when)
}

// Reply commits a text message replying to target.
func (r *Repo) Reply(id *Identity, target plumbing.Hash, body string, when time.Time) (*Commit, error) {
	if _, _, err := r.Target(target); err != nil {
		return nil, err
	}
	return r.Send(id, NewText(body, target.String()), when)
}

// Profile is the conversation profile at HEAD (profile.vcf, §2.5).
func (r *Repo) Profile() (map[string]string, error) {
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	hc, err := r.Commit(head)
	if err != nil {
		return nil, err
	}
	data, ok, err := r.FileAt(hc, FileProfile)
	if err != nil || !ok {
		return map[string]string{}, err
	}
	return ParseProfile(data), nil
}

// profileKeys are the keys updateInfos writes.
var profileKeys = map[string]bool{ProfileTitle: true, ProfileDescription: true, ProfileAvatar: true, ProfileRdvAccount: true, ProfileRdvDevice: true}

// SetProfile merges changes into profile.vcf as jamid's
// updateConversationInfos does (admins only; not as the device's first
// commit, which jamid 2023 would reject).
func (r *Repo) SetProfile(id *Identity, changes map[string]string, when time.Time) (*Commit, error) {
	if len(changes) == 0 {
		return nil, errors.New("nothing to change")
	}
	for k, v := range changes {
		if !profileKeys[k] {
			return nil, fmt.Errorf("unknown profile key %q (title, description, avatar, rdvAccount, rdvDevice)", k)
		}
		if strings.ContainsAny(v, "\n\r") {
			return nil, fmt.Errorf("profile %s: line breaks would corrupt profile.vcf", k)
		}
	}
	files, _, _, err := r.headState()
	if err != nil {
		return nil, err
	}
	if !files.Has(AdminPath(id.AccountURI())) {
		return nil, fmt.Errorf("only admins change the conversation profile")
	}
	var current []byte
	if e, ok := files[FileProfile]; ok {
		if current, err = r.Blob(e.Hash); err != nil {
			return nil, err
		}
	}
	return r.Append(id, UpdateProfileText(), []FileChange{{Path: FileProfile, Content: UpdateProfile(current, changes)}}, when)
}

// SendFile commits the data-transfer message for content (§3.3) and
// returns the commit and jamid's file id (<commit>_<tid>[.ext]), under
// which the bytes are kept out of the repository (StoreFile).
func (r *Repo) SendFile(id *Identity, content []byte, displayName, replyTo string, when time.Time) (*Commit, string, error) {
	if displayName == "" || strings.ContainsAny(displayName, "/\x00") {
		return nil, "", fmt.Errorf("%q is not a file name", displayName)
	}
	tid, err := RandomTid()
	if err != nil {
		return nil, "", err
	}
	msg := NewDataTransfer(displayName, content, tid, replyTo)
	c, err := r.Send(id, msg, when)
	if err != nil {
		return nil, "", err
	}
	return c, FileID(c.ID.String(), msg.Tid, displayName), nil
}

// DataDir is where the files of the conversation live, outside its work
// tree (untracked files there would be committed by jamid): jamid's
// conversation_data/<id>/ of the account when the repository is
// <account>/conversations/<id>, else conversation_data/<id>/ beside the
// repository.
func (r *Repo) DataDir() (string, error) {
	if r.Path == "" {
		return "", errors.New("an in-memory repository has no data folder")
	}
	conv, err := r.ConversationID()
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(r.Path)
	if err != nil {
		return "", err
	}
	parent := filepath.Dir(abs)
	if filepath.Base(parent) == "conversations" {
		parent = filepath.Dir(parent)
	}
	return filepath.Join(parent, "conversation_data", conv.String()), nil
}

// StoreFile keeps a transferred file as <DataDir>/<fileID> (0600, written
// atomically, never overwritten), where jamid keeps received files.
func (r *Repo) StoreFile(fileID string, content []byte) (string, error) {
	dir, err := r.DataDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(dir, fileID)
	return p, atomicfile.WriteFile(p, content, atomicfile.Options{Perm: 0o600})
}

// DropMembersCache removes current upstream jamid's member cache
// (conversation_data/<id>/members, §2.6) after membership changed behind
// jamid's back, so that it reads the member directories again. Nothing to
// do when there is none (jamid 2023 keeps none).
func (r *Repo) DropMembersCache() error {
	dir, err := r.DataDir()
	if err != nil {
		return err
	}
	err = os.Remove(filepath.Join(dir, "members"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
