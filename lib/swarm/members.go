package swarm

import (
	"crypto/x509"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/jamikit/jamikit/lib/identity"
)

// Repository paths (swarm.md §2.2).
const (
	DirAdmins   = "admins"
	DirMembers  = "members"
	DirInvited  = "invited"
	DirDevices  = "devices"
	DirBanned   = "banned"
	DirVotes    = "votes"
	FileProfile = "profile.vcf"
)

// AdminPath, MemberPath, InvitedPath, DevicePath name the role files.
func AdminPath(uri string) string     { return DirAdmins + "/" + uri + ".crt" }
func MemberPath(uri string) string    { return DirMembers + "/" + uri + ".crt" }
func InvitedPath(uri string) string   { return DirInvited + "/" + uri }
func DevicePath(device string) string { return DirDevices + "/" + device + ".crt" }

// certChainAt parses the certificates stored at p in a tree (nil, nil when
// the file is absent).
func (r *Repo) certChainAt(tree plumbing.Hash, p string) ([]*x509.Certificate, error) {
	files, err := r.Files(tree)
	if err != nil {
		return nil, err
	}
	e, ok := files[p]
	if !ok {
		return nil, nil
	}
	data, err := r.Blob(e.Hash)
	if err != nil {
		return nil, err
	}
	return identity.ParseCertificates(data)
}

// certAt is the first certificate of the file at p, which is what GnuTLS
// answers getId/getIssuerUID from.
func (r *Repo) certAt(tree plumbing.Hash, p string) (*x509.Certificate, error) {
	chain, err := r.certChainAt(tree, p)
	if err != nil || len(chain) == 0 {
		return nil, err
	}
	return chain[0], nil
}

// Role of an account in a conversation.
type Role string

const (
	RoleAdmin   Role = "admin"
	RoleMember  Role = "member"
	RoleInvited Role = "invited"
	RoleBanned  Role = "banned"
	RoleLeft    Role = "left"
)

// Member is an account and its role.
type Member struct {
	URI  string `json:"uri"`
	Role Role   `json:"role"`
}

// MembersOf derives roles from a tree as jamid's initMembers does (§2.7):
// admins/, members/, invited/, banned/members/, banned/invited/ in that
// order, the file name up to its first ".crt" is the URI, the first role
// found wins; for one-to-ones, initial members found nowhere have left.
// (banned/admins/ is not scanned, as in jamid.) Within a directory URIs are
// sorted (jamid uses directory order).
func MembersOf(files Files, initial []string, oneToOne bool) []Member {
	dirs := []struct {
		dir  string
		role Role
	}{
		{DirAdmins, RoleAdmin}, {DirMembers, RoleMember}, {DirInvited, RoleInvited},
		{DirBanned + "/" + DirMembers, RoleBanned}, {DirBanned + "/" + DirInvited, RoleBanned},
	}
	seen := map[string]bool{}
	var out []Member
	for _, d := range dirs {
		for _, name := range dirEntries(files, d.dir) {
			uri := name
			if i := strings.Index(name, ".crt"); i >= 0 {
				uri = name[:i]
			}
			if !seen[uri] {
				seen[uri] = true
				out = append(out, Member{URI: uri, Role: d.role})
			}
		}
	}
	if oneToOne {
		for _, uri := range initial {
			if !seen[uri] {
				seen[uri] = true
				out = append(out, Member{URI: uri, Role: RoleLeft})
			}
		}
	}
	return out
}

// dirEntries lists the names directly inside dir, files and subdirectories
// alike (readDirectory does not distinguish them), sorted.
func dirEntries(files Files, dir string) []string {
	prefix := dir + "/"
	set := map[string]bool{}
	for p := range files {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			name, _, _ := strings.Cut(rest, "/")
			set[name] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RoleOf returns the role of uri in a tree ("" when none).
func RoleOf(files Files, uri string) Role {
	for _, m := range MembersOf(files, nil, false) {
		if m.URI == uri {
			return m.Role
		}
	}
	return ""
}

// InitialMembers is getInitialMembers: the account of the root commit's
// device, plus "invited" for a one-to-one when it differs.
func (r *Repo) InitialMembers(convID plumbing.Hash, mode Mode) ([]string, error) {
	root, err := r.Commit(convID)
	if err != nil {
		return nil, err
	}
	author := r.DeviceAccount(root.AuthorDevice(), root)
	if author == "" {
		return nil, nil
	}
	if mode == ModeOneToOne {
		if m, err := DecodeMessage(root.TextMessage()); err == nil && m.Invited != "" && m.Invited != author {
			return []string{author, m.Invited}, nil
		}
	}
	return []string{author}, nil
}

// Members lists the members at HEAD (jamid reads the work tree, which a
// well-kept repository has equal to HEAD).
func (r *Repo) Members() ([]Member, error) {
	convID, err := r.ConversationID()
	if err != nil {
		return nil, err
	}
	mode, err := r.Mode(convID, true)
	if err != nil {
		return nil, err
	}
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	return r.MembersAt(convID, mode, head)
}

// MembersAt is Members for a caller that already knows the conversation
// id, its mode and the commit to read (saves walking the history again).
func (r *Repo) MembersAt(convID plumbing.Hash, mode Mode, head plumbing.Hash) ([]Member, error) {
	initial, err := r.InitialMembers(convID, mode)
	if err != nil {
		return nil, err
	}
	hc, err := r.Commit(head)
	if err != nil {
		return nil, err
	}
	files, err := r.Files(hc.Tree)
	if err != nil {
		return nil, err
	}
	return MembersOf(files, initial, mode == ModeOneToOne), nil
}

// Devices groups the devices/*.crt of a tree by issuer UID (account URI);
// unparsable certificates are listed under "".
func (r *Repo) Devices(tree plumbing.Hash) (map[string][]string, error) {
	files, err := r.Files(tree)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, name := range files.Dir(DirDevices) {
		dev, ok := strings.CutSuffix(name, ".crt")
		if !ok {
			continue
		}
		uri := ""
		if c, err := r.certAt(tree, DirDevices+"/"+name); err == nil && c != nil {
			uri = IssuerUID(c)
		}
		out[uri] = append(out[uri], dev)
	}
	return out, nil
}
