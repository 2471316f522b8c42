package swarm

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"
)

// MainBranch is the only branch a conversation has.
const MainBranch = plumbing.ReferenceName("refs/heads/main")

// maxObjectSize bounds what we read into memory from a repository; jamid
// aborts fetches above 256 MiB in total (§4.11), no single Jami object comes
// near that.
const maxObjectSize = 256 << 20

// Repo is a conversation repository opened through go-git. Objects are read
// raw; parsed commits and flattened trees are cached (objects are
// immutable).
type Repo struct {
	git *git.Repository
	// Path is the directory it was opened from ("" for in-memory repos).
	Path string

	mu      sync.Mutex
	commits map[plumbing.Hash]*Commit
	trees   map[plumbing.Hash]Files
}

// Open opens a conversation repository (a jamid work tree
// conversations/<id>/ or a bare copy).
func Open(dir string) (*Repo, error) {
	g, err := git.PlainOpen(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	r := Wrap(g)
	r.Path = dir
	return r, nil
}

// Wrap uses an already opened go-git repository.
func Wrap(g *git.Repository) *Repo {
	return &Repo{git: g, commits: map[plumbing.Hash]*Commit{}, trees: map[plumbing.Hash]Files{}}
}

// NewMemory returns an empty in-memory repository whose HEAD points at
// refs/heads/main (tests, staging).
func NewMemory() (*Repo, error) {
	g, err := git.InitWithOptions(memory.NewStorage(), nil, git.InitOptions{DefaultBranch: MainBranch})
	if err != nil {
		return nil, err
	}
	return Wrap(g), nil
}

// Git returns the underlying go-git repository.
func (r *Repo) Git() *git.Repository { return r.git }

// Storer returns the object and reference storage.
func (r *Repo) Storer() storage.Storer { return r.git.Storer }

// Head resolves HEAD (jamid: git_reference_name_to_id(…, "HEAD")).
func (r *Repo) Head() (plumbing.Hash, error) {
	ref, err := r.git.Reference(plumbing.HEAD, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("HEAD: %w", err)
	}
	return ref.Hash(), nil
}

// ReadObject returns the raw content of an object, checking its type
// (plumbing.AnyObject accepts any).
func (r *Repo) ReadObject(h plumbing.Hash, t plumbing.ObjectType) ([]byte, error) {
	obj, err := r.git.Storer.EncodedObject(t, h)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	if t != plumbing.AnyObject && obj.Type() != t {
		return nil, fmt.Errorf("object %s is a %s, not a %s", h, obj.Type(), t)
	}
	if obj.Size() > maxObjectSize {
		return nil, fmt.Errorf("object %s is too large (%d bytes)", h, obj.Size())
	}
	rc, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxObjectSize+1))
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	return b, nil
}

// WriteObject stores raw content as an object of type t and returns its id.
func (r *Repo) WriteObject(t plumbing.ObjectType, content []byte) (plumbing.Hash, error) {
	obj := r.git.Storer.NewEncodedObject()
	obj.SetType(t)
	obj.SetSize(int64(len(content)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(content); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return r.git.Storer.SetEncodedObject(obj)
}

// WriteCommit stores a signed (or otherwise encoded) commit's Raw bytes.
func (r *Repo) WriteCommit(c *Commit) (plumbing.Hash, error) {
	if c.Raw == nil {
		return plumbing.ZeroHash, errors.New("commit has no raw bytes (sign it first)")
	}
	return r.WriteObject(plumbing.CommitObject, c.Raw)
}

// Commit reads and parses a commit.
func (r *Repo) Commit(h plumbing.Hash) (*Commit, error) {
	r.mu.Lock()
	c := r.commits[h]
	r.mu.Unlock()
	if c != nil {
		return c, nil
	}
	raw, err := r.ReadObject(h, plumbing.CommitObject)
	if err != nil {
		return nil, err
	}
	c, err = ParseCommit(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h, err)
	}
	r.mu.Lock()
	r.commits[h] = c
	r.mu.Unlock()
	return c, nil
}

// Files returns the flattened tree (cached).
func (r *Repo) Files(tree plumbing.Hash) (Files, error) {
	r.mu.Lock()
	f, ok := r.trees[tree]
	r.mu.Unlock()
	if ok {
		return f, nil
	}
	f = Files{}
	if err := r.flatten(tree, "", f, 0); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.trees[tree] = f
	r.mu.Unlock()
	return f, nil
}

// maxTreeDepth bounds recursion on hostile trees; Jami trees are at most
// five levels deep (votes/ban/<type>/<uri>/<voter>).
const maxTreeDepth = 64

func (r *Repo) flatten(tree plumbing.Hash, prefix string, out Files, depth int) error {
	if depth > maxTreeDepth {
		return errors.New("tree too deep")
	}
	raw, err := r.ReadObject(tree, plumbing.TreeObject)
	if err != nil {
		return err
	}
	entries, err := ParseTree(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", tree, err)
	}
	for _, e := range entries {
		p := e.Name
		if prefix != "" {
			p = prefix + "/" + e.Name
		}
		if e.IsDir() {
			if err := r.flatten(e.Hash, p, out, depth+1); err != nil {
				return err
			}
			continue
		}
		out[p] = FileEntry{Mode: e.Mode, Hash: e.Hash}
	}
	return nil
}

// CommitFiles is the flattened tree of a commit.
func (r *Repo) CommitFiles(c *Commit) (Files, error) { return r.Files(c.Tree) }

// Blob reads a blob's content.
func (r *Repo) Blob(h plumbing.Hash) ([]byte, error) { return r.ReadObject(h, plumbing.BlobObject) }

// FileAt reads path in the tree of commit c; ok is false when absent.
func (r *Repo) FileAt(c *Commit, p string) (data []byte, ok bool, err error) {
	files, err := r.CommitFiles(c)
	if err != nil {
		return nil, false, err
	}
	e, ok := files[path.Clean(p)]
	if !ok {
		return nil, false, nil
	}
	data, err = r.Blob(e.Hash)
	return data, err == nil, err
}

// WriteBlob stores a blob.
func (r *Repo) WriteBlob(content []byte) (plumbing.Hash, error) {
	return r.WriteObject(plumbing.BlobObject, content)
}

// WriteTree stores the nested trees of a flattened file set (canonical
// order and modes, §8.3) and returns the root tree id. The blobs must
// already be stored.
func (r *Repo) WriteTree(files Files) (plumbing.Hash, error) {
	type dir struct {
		files Files
		subs  map[string]Files
	}
	d := dir{files: Files{}, subs: map[string]Files{}}
	for p, e := range files {
		name, rest, nested := strings.Cut(p, "/")
		if !nested {
			d.files[name] = e
			continue
		}
		if d.subs[name] == nil {
			d.subs[name] = Files{}
		}
		d.subs[name][rest] = e
	}
	var entries []TreeEntry
	for name, e := range d.files {
		if _, clash := d.subs[name]; clash {
			return plumbing.ZeroHash, fmt.Errorf("%s is both a file and a directory", name)
		}
		entries = append(entries, TreeEntry{Name: name, Mode: e.Mode, Hash: e.Hash})
	}
	for name, sub := range d.subs {
		h, err := r.WriteTree(sub)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, TreeEntry{Name: name, Mode: ModeDir, Hash: h})
	}
	raw, err := EncodeTree(entries)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return r.WriteObject(plumbing.TreeObject, raw)
}
