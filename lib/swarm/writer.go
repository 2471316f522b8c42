package swarm

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/jamikit/jamikit/lib/identity"
)

// Identity is what a device needs to write to a conversation: its RSA key
// and certificate chain (device, account, CA), as in jamid's account
// folder (ring_device.key, ring_device.crt).
type Identity struct {
	Key *rsa.PrivateKey
	// Chain is device, account and (optionally) CA certificate.
	Chain []*x509.Certificate
	// DisplayName is the account's display name ("" → the device ID).
	DisplayName string
}

// LoadIdentity reads ring_device.key and ring_device.crt from a jamid
// account directory.
func LoadIdentity(dir string) (*Identity, error) {
	kb, err := os.ReadFile(filepath.Join(dir, "ring_device.key"))
	if err != nil {
		return nil, err
	}
	key, err := identity.ParsePrivateKey(kb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "ring_device.key"), err)
	}
	cb, err := os.ReadFile(filepath.Join(dir, "ring_device.crt"))
	if err != nil {
		return nil, err
	}
	chain, err := identity.ParseCertificates(cb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "ring_device.crt"), err)
	}
	id := &Identity{Key: key, Chain: chain}
	return id, id.Check()
}

// Check verifies that the key matches the device certificate, that the
// chain has the account certificate and that the device was issued by it.
func (id *Identity) Check() error {
	if len(id.Chain) < 2 {
		return errors.New("certificate chain needs the device and account certificates")
	}
	if !identity.KeyMatches(id.Key, id.Chain[0]) {
		return errors.New("private key does not match the device certificate")
	}
	return CheckDeviceChain(id.Chain[0], id.Chain[1:], id.Chain[0].NotBefore)
}

// DeviceID is the 64-hex device ID (git e-mail, devices/<id>.crt).
func (id *Identity) DeviceID() string { return DeviceID(id.Chain[0]) }

// AccountURI is the 40-hex Jami ID.
func (id *Identity) AccountURI() string { return AccountURI(id.Chain[1]) }

// AccountPEM is the content of admins/ and members/<uri>.crt: the account
// certificate then the CA (jamid toString(true)).
func (id *Identity) AccountPEM() []byte { return identity.EncodeCertsPEM(id.Chain[1:]...) }

// DevicePEM is the content of devices/<id>.crt: the device certificate only.
func (id *Identity) DevicePEM() []byte { return identity.EncodeCertsPEM(id.Chain[0]) }

// AuthorName is the git name jamid uses: the display name without '<' and
// '>', trimmed as libgit2 does; the device ID when that leaves nothing.
func (id *Identity) AuthorName() string {
	n := strings.NewReplacer("<", "", ">", "").Replace(id.DisplayName)
	n = trimSpace([]byte(n))
	if n == "" || strings.ContainsAny(n, "\n\x00") {
		return id.DeviceID()
	}
	return n
}

// person is the author/committer of a commit made now.
func (id *Identity) person(when time.Time) Person {
	return Person{Name: id.AuthorName(), Email: id.DeviceID(), When: when.Unix()}
}

// FileChange sets (Content, possibly empty) or deletes a tracked file.
type FileChange struct {
	Path    string
	Content []byte
	Delete  bool
}

// ErrProfileAsFirstCommit refuses a profile update that would carry the
// device certificate: jamid 2023 rejects it (§4.5).
var ErrProfileAsFirstCommit = errors.New("a profile update cannot be this device's first commit (jamid 2023 rejects it); send another commit first")

// ErrHeadMoved is returned when main moved while a commit was prepared.
var ErrHeadMoved = errors.New("refs/heads/main moved concurrently")

// InitConversation writes the initial commit of a new conversation (§2.3)
// into an empty repository, points refs/heads/main and HEAD at it and
// returns the conversation ID. For a one-to-one, invited is the peer.
func InitConversation(r *Repo, id *Identity, msg *Message, when time.Time) (plumbing.Hash, error) {
	if msg.Type != TypeInitial || !msg.HasMode {
		return plumbing.ZeroHash, errors.New("initial commit needs an initial message with a mode")
	}
	if _, err := r.Head(); err == nil {
		return plumbing.ZeroHash, errors.New("repository already has commits")
	}
	files := map[string][]byte{
		AdminPath(id.AccountURI()): id.AccountPEM(),
		DevicePath(id.DeviceID()):  id.DevicePEM(),
	}
	if Mode(msg.Mode) == ModeOneToOne && msg.Invited != "" {
		files[InvitedPath(msg.Invited)] = nil
	}
	c, err := r.writeCommit(id, nil, files, msg.JSON(), when)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := r.git.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, MainBranch)); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := r.moveMain(plumbing.ZeroHash, c.ID); err != nil {
		return plumbing.ZeroHash, err
	}
	return c.ID, nil
}

// Append commits changes with message text on top of main as the device
// of id, adding the device certificate if the tree lacks it (jamid does so
// on a device's first commit), then moves main and, for a repository with
// a work tree, resets index and work tree to the new commit (jamid reads
// them, §2.6).
func (r *Repo) Append(id *Identity, text []byte, changes []FileChange, when time.Time) (*Commit, error) {
	return r.appendCommit(id, text, changes, when, true)
}

func (r *Repo) appendCommit(id *Identity, text []byte, changes []FileChange, when time.Time, addDevice bool) (*Commit, error) {
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	parent, err := r.Commit(head)
	if err != nil {
		return nil, err
	}
	flat, err := r.Files(parent.Tree)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for p, e := range flat {
		b, err := r.Blob(e.Hash)
		if err != nil {
			return nil, err
		}
		files[p] = b
	}
	for _, ch := range changes {
		if ch.Delete {
			delete(files, ch.Path)
		} else {
			files[ch.Path] = ch.Content
		}
	}
	if dp := DevicePath(id.DeviceID()); addDevice && files[dp] == nil {
		if m, err := DecodeMessage(text); err == nil && m.Type == TypeUpdateProfile {
			return nil, ErrProfileAsFirstCommit
		}
		files[dp] = id.DevicePEM()
	}
	c, err := r.writeCommit(id, []plumbing.Hash{head}, files, text, when)
	if err != nil {
		return nil, err
	}
	if err := r.moveMain(head, c.ID); err != nil {
		return nil, err
	}
	return c, nil
}

// writeCommit stores blobs, trees and the signed commit.
func (r *Repo) writeCommit(id *Identity, parents []plumbing.Hash, files map[string][]byte, text []byte, when time.Time) (*Commit, error) {
	flat := Files{}
	for p, content := range files {
		h, err := r.WriteBlob(content)
		if err != nil {
			return nil, err
		}
		flat[p] = FileEntry{Mode: ModeFile, Hash: h}
	}
	tree, err := r.WriteTree(flat)
	if err != nil {
		return nil, err
	}
	p := id.person(when)
	c := &Commit{Tree: tree, Parents: parents, Author: p, Committer: p, Message: text}
	if err := c.Sign(id.Key); err != nil {
		return nil, err
	}
	if _, err := r.WriteCommit(c); err != nil {
		return nil, err
	}
	return c, nil
}

// moveMain compare-and-swaps refs/heads/main from old (zero: unborn) to
// new, then brings index and work tree to it when there is one.
func (r *Repo) moveMain(old, new plumbing.Hash) error {
	ref := plumbing.NewHashReference(MainBranch, new)
	var err error
	if old.IsZero() {
		err = r.git.Storer.SetReference(ref)
	} else {
		err = r.git.Storer.CheckAndSetReference(ref, plumbing.NewHashReference(MainBranch, old))
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrHeadMoved, err)
	}
	wt, err := r.git.Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return nil
	}
	if err != nil {
		return err
	}
	return wt.Reset(&git.ResetOptions{Commit: new, Mode: git.HardReset})
}
