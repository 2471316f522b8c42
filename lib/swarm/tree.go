package swarm

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Git file modes used in trees. Jami repositories only contain regular
// files (100644) and directories (40000).
const (
	ModeFile    uint32 = 0o100644
	ModeExec    uint32 = 0o100755
	ModeSymlink uint32 = 0o120000
	ModeGitlink uint32 = 0o160000
	ModeDir     uint32 = 0o40000
)

// EmptyBlob is the id of the empty blob (invites and votes are empty files).
var EmptyBlob = plumbing.NewHash("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")

// TreeEntry is one entry of a git tree object.
type TreeEntry struct {
	Name string
	Mode uint32
	Hash plumbing.Hash
}

// IsDir reports a subtree entry.
func (e TreeEntry) IsDir() bool { return e.Mode == ModeDir }

// ParseTree decodes a raw tree object ("<octal mode> <name>\0<20-byte id>"*).
func ParseTree(raw []byte) ([]TreeEntry, error) {
	var out []TreeEntry
	for len(raw) > 0 {
		sp := bytes.IndexByte(raw, ' ')
		if sp <= 0 {
			return nil, errors.New("tree: malformed mode")
		}
		mode, err := strconv.ParseUint(string(raw[:sp]), 8, 32)
		if err != nil {
			return nil, fmt.Errorf("tree: bad mode %q", raw[:sp])
		}
		raw = raw[sp+1:]
		nul := bytes.IndexByte(raw, 0)
		if nul <= 0 {
			return nil, errors.New("tree: malformed entry name")
		}
		name := string(raw[:nul])
		if name == "." || name == ".." || strings.Contains(name, "/") {
			// Such names would make flattened paths ambiguous; git fsck
			// rejects them too.
			return nil, fmt.Errorf("tree: invalid entry name %q", name)
		}
		raw = raw[nul+1:]
		var h plumbing.Hash
		if len(raw) < len(h) {
			return nil, errors.New("tree: truncated entry id")
		}
		copy(h[:], raw)
		raw = raw[len(h):]
		out = append(out, TreeEntry{Name: name, Mode: uint32(mode), Hash: h})
	}
	return out, nil
}

// treeSortKey is git's canonical tree order: names compared byte-wise,
// a directory as if its name ended with '/'.
func treeSortKey(e TreeEntry) string {
	if e.Mode == ModeDir {
		return e.Name + "/"
	}
	return e.Name
}

// EncodeTree returns the canonical raw tree object for the entries (sorted
// as git sorts them, modes in git's octal spelling "100644"/"40000").
// go-git's Tree.Encode does not sort, hence this helper (swarm.md §8.3).
func EncodeTree(entries []TreeEntry) ([]byte, error) {
	es := append([]TreeEntry(nil), entries...)
	sort.Slice(es, func(i, j int) bool { return treeSortKey(es[i]) < treeSortKey(es[j]) })
	var b bytes.Buffer
	for i, e := range es {
		if e.Name == "" || e.Name == "." || e.Name == ".." || strings.ContainsAny(e.Name, "/\x00") {
			return nil, fmt.Errorf("tree: invalid entry name %q", e.Name)
		}
		if i > 0 && es[i-1].Name == e.Name {
			return nil, fmt.Errorf("tree: duplicate entry %q", e.Name)
		}
		b.WriteString(strconv.FormatUint(uint64(e.Mode), 8))
		b.WriteByte(' ')
		b.WriteString(e.Name)
		b.WriteByte(0)
		b.Write(e.Hash[:])
	}
	return b.Bytes(), nil
}

// FileEntry is a non-tree entry of a flattened tree.
type FileEntry struct {
	Mode uint32
	Hash plumbing.Hash
}

// Files is a flattened tree: full slash-separated path → entry, for every
// non-tree entry (blobs, and gitlinks should a hostile tree contain them).
type Files map[string]FileEntry

// Has reports whether path is a file.
func (f Files) Has(path string) bool { _, ok := f[path]; return ok }

// Dir lists the files directly inside dir ("admins", "votes/ban/members/x")
// as base names, sorted.
func (f Files) Dir(dir string) []string {
	prefix := dir + "/"
	var out []string
	for p := range f {
		if rest, ok := strings.CutPrefix(p, prefix); ok && !strings.Contains(rest, "/") {
			out = append(out, rest)
		}
	}
	sort.Strings(out)
	return out
}

// Under lists every file path below dir, sorted.
func (f Files) Under(dir string) []string {
	prefix := dir + "/"
	var out []string
	for p := range f {
		if strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Change is one path that differs between two trees (libgit2 tree-to-tree
// diff without rename detection: additions, deletions, modifications and
// mode changes; a file replaced by a directory is a deletion plus additions).
type Change struct {
	Path string
	Old  *FileEntry // nil when added
	New  *FileEntry // nil when deleted
}

// Status is "A", "D" or "M".
func (c Change) Status() string {
	switch {
	case c.Old == nil:
		return "A"
	case c.New == nil:
		return "D"
	}
	return "M"
}

// DiffFiles lists the paths that differ between old and new, sorted by path.
// old may be nil (root commit).
func DiffFiles(old, new Files) []Change {
	var out []Change
	for p, n := range new {
		n := n
		if o, ok := old[p]; ok {
			if o != n {
				o := o
				out = append(out, Change{Path: p, Old: &o, New: &n})
			}
			continue
		}
		out = append(out, Change{Path: p, New: &n})
	}
	for p, o := range old {
		if _, ok := new[p]; !ok {
			o := o
			out = append(out, Change{Path: p, Old: &o})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
