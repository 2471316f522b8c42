package swarm

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
)

// PullOptions configure Repo.Pull.
type PullOptions struct {
	// Identity commits the merge when one is needed (the device must
	// already have its certificate in the conversation).
	Identity *Identity
	// Remote names refs/remotes/<Remote>/main, which records the fetched
	// head (jamid names remotes after the peer's device ID). Default
	// "origin".
	Remote string
	// Host is the request's host parameter (jamid: the serving device's
	// ID; its server ignores it).
	Host string
	// Validate chooses the rules the fetched commits must pass (§4).
	// ConversationID and WorkTree are filled in by Pull.
	Validate ValidateOptions
	// When is the time of a merge commit (zero: now).
	When time.Time
}

// PullResult says what a pull did.
type PullResult struct {
	Old, New plumbing.Hash   // main before and after
	Remote   plumbing.Hash   // the fetched main
	Commits  []plumbing.Hash // the validated new commits, oldest first
	Outcome  MergeOutcome
	Merge    *Commit // the merge commit, for Outcome == Merged
}

// Pull is jamid's pull (§5.5) over a stream to a peer's server: fetch main,
// validate the new commits in fetch order (§4.1), then fast-forward or
// merge (§5.6). Everything happens on a staging layer first: when the
// fetch, the validation or the merge fails, the repository is left exactly
// as it was. On success the new objects are stored, refs/remotes/<remote>/
// main records the fetched head, main moves and the work tree follows.
// The caller holds the repository's lock (Lock).
func (r *Repo) Pull(ctx context.Context, rw io.ReadWriter, opts PullOptions) (*PullResult, error) {
	if opts.Remote == "" {
		opts.Remote = "origin"
	}
	remoteRef := plumbing.NewRemoteReferenceName(opts.Remote, "main")
	if err := remoteRef.Validate(); err != nil {
		return nil, fmt.Errorf("remote name %q: %w", opts.Remote, err)
	}
	conv, err := r.ConversationID()
	if err != nil {
		return nil, err
	}
	local, err := r.Head()
	if err != nil {
		return nil, err
	}
	st, layer, err := r.newStage()
	if err != nil {
		return nil, err
	}
	adv, pack, err := st.fetchPack(ctx, rw, "/"+conv.String(), opts.Host)
	if err != nil {
		return nil, err
	}
	if pack != nil {
		if err := st.importPack(pack); err != nil {
			return nil, err
		}
	}
	remote := adv.Main()
	res := &PullResult{Old: local, New: local, Remote: remote}
	if ok, err := st.IsAncestor(conv, remote); err != nil {
		return nil, fmt.Errorf("%w: fetched history is incomplete: %v", ErrRemote, err)
	} else if !ok {
		return nil, fmt.Errorf("%w: %s is not in conversation %s", ErrRemote, remote, conv)
	}
	vopts := opts.Validate
	vopts.ConversationID = conv
	vopts.WorkTree = nil // jamid validates against its work tree: local HEAD
	if res.Commits, err = st.FetchRange(local, remote); err != nil {
		return nil, err
	}
	v, err := st.NewValidator(vopts)
	if err != nil {
		return nil, err
	}
	if err := v.Validate(res.Commits); err != nil {
		return nil, err
	}
	when := opts.When
	if when.IsZero() {
		when = time.Now()
	}
	if opts.Identity == nil {
		in, err := st.IsAncestor(remote, local)
		if err != nil {
			return nil, err
		}
		ff, err := st.IsAncestor(local, remote)
		if err != nil {
			return nil, err
		}
		if !in && !ff {
			return nil, errors.New("a merge is needed and no identity was given to sign it")
		}
	}
	res.Outcome, res.Merge, err = st.Merge(opts.Identity, remote, when)
	if err != nil {
		return nil, err
	}
	if res.New, err = st.Head(); err != nil {
		return nil, err
	}
	// Commit the stage: objects, the remote-tracking ref, then main.
	if err := copyObjects(r.git.Storer, layer.objs); err != nil {
		return nil, err
	}
	if err := r.git.Storer.SetReference(plumbing.NewHashReference(remoteRef, remote)); err != nil {
		return nil, err
	}
	if res.New != local {
		if err := r.moveMain(local, res.New); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// CloneOptions configure Clone.
type CloneOptions struct {
	// Identity, when set, must be admin, member or invited in the cloned
	// conversation (jamid erases a clone otherwise, §5.7).
	Identity *Identity
	// ConversationID, when set, is the conversation expected.
	ConversationID plumbing.Hash
	Host           string
	Validate       ValidateOptions
}

// Clone fetches a whole conversation from the server on rw, validates its
// history as jamid does after a clone (§4.1, §5.7) and creates the
// repository parent/<conversation ID> with its work tree checked out.
// Nothing is written when anything fails. Joining is left to the caller.
func Clone(ctx context.Context, rw io.ReadWriter, parent string, opts CloneOptions) (*Repo, error) {
	mem, err := NewMemory()
	if err != nil {
		return nil, err
	}
	path := "/"
	if !opts.ConversationID.IsZero() {
		path += opts.ConversationID.String()
	}
	adv, pack, err := mem.fetchPack(ctx, rw, path, opts.Host)
	if err != nil {
		return nil, err
	}
	if err := mem.importPack(pack); err != nil {
		return nil, err
	}
	remote := adv.Main()
	if err := mem.git.Storer.SetReference(plumbing.NewHashReference(MainBranch, remote)); err != nil {
		return nil, err
	}
	conv, err := mem.ConversationID()
	if err != nil {
		return nil, fmt.Errorf("%w: fetched history: %v", ErrRemote, err)
	}
	if !opts.ConversationID.IsZero() && conv != opts.ConversationID {
		return nil, fmt.Errorf("%w: served conversation %s, not %s", ErrRemote, conv, opts.ConversationID)
	}
	vopts := opts.Validate
	vopts.ConversationID = conv
	vopts.WorkTree = nil
	if err := mem.ValidateClone(vopts); err != nil {
		return nil, err
	}
	if opts.Identity != nil {
		files, _, _, err := mem.headState()
		if err != nil {
			return nil, err
		}
		me := opts.Identity.AccountURI()
		if role := RoleOf(files, me); role != RoleAdmin && role != RoleMember && role != RoleInvited {
			return nil, fmt.Errorf("%s is neither a member of conversation %s nor invited to it", me, conv)
		}
	}
	final := filepath.Join(parent, conv.String())
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("%s: %w", final, fs.ErrExist)
	}
	return buildRepository(parent, conv, func(r *Repo) error {
		if err := copyObjects(r.git.Storer, &mem.git.Storer.(*memory.Storage).ObjectStorage); err != nil {
			return err
		}
		if err := r.git.Storer.SetReference(plumbing.NewHashReference(plumbing.NewRemoteReferenceName("origin", "main"), remote)); err != nil {
			return err
		}
		return r.moveMain(plumbing.ZeroHash, remote)
	})
}

// CreateConversation starts a conversation as jamid does (§2.1, §2.3): an
// empty repository is made in parent/<random number>, the initial commit
// written, and the directory renamed to parent/<conversation ID>.
func CreateConversation(parent string, id *Identity, msg *Message, when time.Time) (*Repo, error) {
	return buildRepository(parent, plumbing.ZeroHash, func(r *Repo) error {
		_, err := InitConversation(r, id, msg, when)
		return err
	})
}

// buildRepository creates a repository in a temporary directory of
// parent, fills it, and renames it to parent/<conversation ID> (conv, or
// the root reachable from HEAD when zero). The directory is removed when
// anything fails.
func buildRepository(parent string, conv plumbing.Hash, fill func(*Repo) error) (*Repo, error) {
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	tmp := filepath.Join(parent, strconv.FormatUint(binary.BigEndian.Uint64(rnd[:]), 10))
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	r, err := InitRepository(tmp)
	if err != nil {
		return nil, err
	}
	if err := fill(r); err != nil {
		return nil, err
	}
	if conv.IsZero() {
		if conv, err = r.ConversationID(); err != nil {
			return nil, err
		}
	}
	final := filepath.Join(parent, conv.String())
	// rename(2) would replace an empty directory: refuse any existing one.
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("%s: %w", final, fs.ErrExist)
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, err
	}
	ok = true
	return Open(final)
}

// InitRepository creates an empty conversation repository in dir as
// libgit2 does for jamid (§2.1): non-bare, HEAD → refs/heads/main, core
// settings filemode and logallrefupdates on.
func InitRepository(dir string) (*Repo, error) {
	g, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: MainBranch}})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	cfg, err := g.Config()
	if err != nil {
		return nil, err
	}
	core := cfg.Raw.Section("core")
	core.SetOption("filemode", "true")
	core.SetOption("logallrefupdates", "true")
	if err := g.Storer.SetConfig(cfg); err != nil {
		return nil, err
	}
	r := Wrap(g)
	r.Path = dir
	return r, nil
}

// ErrLocked is returned by Lock when another writer holds the repository.
var ErrLocked = errors.New("repository is locked by another writer")

// GitDir is the repository's git directory ("" for an in-memory one).
func (r *Repo) GitDir() string {
	if fsys, ok := r.git.Storer.(*filesystem.Storage); ok {
		return fsys.Filesystem().Root()
	}
	return ""
}

// Lock takes the repository's writer lock: git's index.lock, created
// exclusively, which git, libgit2 (jamid) and other jami-swarm processes
// all respect — a commit or checkout by them fails rather than interleave
// with ours, and we refuse to write while they hold it. unlock removes it.
func (r *Repo) Lock() (unlock func(), err error) {
	dir := r.GitDir()
	if dir == "" {
		return func() {}, nil
	}
	p := filepath.Join(dir, "index.lock")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s: %w (remove the file if no writer is running)", p, ErrLocked)
	}
	if err != nil {
		return nil, err
	}
	f.Close()
	return func() { os.Remove(p) }, nil
}
