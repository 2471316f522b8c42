package swarm

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/jamikit/jamikit/lib/identity"
)

// Rules selects which jamid's validation to replay (swarm.md §4, §9).
type Rules int

const (
	// Rules2023 is jamid 13.7.0 (Debian bookworm): no signature checks,
	// profile updates judged by the local role, etc.
	Rules2023 Rules = iota
	// RulesCurrent is current upstream: mandatory signature header,
	// signatures verified (except the root), member URIs checked, joins tied
	// to certificates, merge trees checked, document repositories.
	RulesCurrent
)

func (r Rules) String() string {
	if r == RulesCurrent {
		return "current"
	}
	return "2023"
}

// ValidateOptions configure a Validator.
type ValidateOptions struct {
	Rules Rules
	// Strict adds what jamid never checks (§8.2 verify --strict): every
	// signature including the root's, the X.509 chain device → account →
	// CA, the file rules on edits, join/remove authored by the member
	// themselves, and no binary file changes (invisible to jamid's rules).
	Strict bool
	// ConversationID is the expected root; zero means the root reachable
	// from HEAD.
	ConversationID plumbing.Hash
	// WorkTree is the content of jamid's work tree while it validates: the
	// local HEAD before a fetch is merged, the cloned HEAD for a clone. 2023
	// takes the admin count of vote resolutions and the profile updater's
	// role from it, and both versions fall back to it to map a device to its
	// account. nil means HEAD's tree.
	WorkTree Files
	// Pinned maps device IDs to account URIs already in jamid's
	// certificate store (consulted first, as jamid does).
	Pinned map[string]string
}

// ValidationError names the commit and the rule it breaks.
type ValidationError struct {
	Commit plumbing.Hash
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("commit %s: %s", e.Commit, e.Reason)
}

// Validator replays jamid's validCommits over commits of a repository. It
// keeps jamid's per-repository state: the device → account cache and the
// certificates pinned by successful checks.
type Validator struct {
	r      *Repo
	opts   ValidateOptions
	convID plumbing.Hash
	work   Files
	uris   map[string]string // uriFromDevice cache
	pinned map[string]string
	// sigs holds commit signature results computed in parallel ahead of
	// the rule pass (precomputeSignatures); chains memoizes the signature
	// part of the strict device-chain check per certificate bytes.
	sigs   map[plumbing.Hash]sigResult
	chains map[string]error
}

// NewValidator prepares validation of r's commits.
func (r *Repo) NewValidator(opts ValidateOptions) (*Validator, error) {
	v := &Validator{r: r, opts: opts, convID: opts.ConversationID, work: opts.WorkTree,
		uris: map[string]string{}, pinned: map[string]string{}, chains: map[string]error{}}
	for d, u := range opts.Pinned {
		v.pinned[d] = u
	}
	if v.convID.IsZero() {
		id, err := r.ConversationID()
		if err != nil {
			return nil, err
		}
		v.convID = id
	}
	if v.work == nil {
		head, err := r.Head()
		if err != nil {
			return nil, err
		}
		hc, err := r.Commit(head)
		if err != nil {
			return nil, err
		}
		if v.work, err = r.Files(hc.Tree); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// ValidateClone checks the whole history reachable from HEAD in jamid's
// clone order (log order, newest first), stopping at the first failure.
// Like jamid after a clone, the certificates of the cloned HEAD's admins/,
// members/ and devices/ are pinned first.
func (r *Repo) ValidateClone(opts ValidateOptions) error {
	v, err := r.NewValidator(opts)
	if err != nil {
		return err
	}
	v.pinTree(v.work)
	head, err := r.Head()
	if err != nil {
		return err
	}
	order, err := r.WalkOrder(head)
	if err != nil {
		return err
	}
	return v.Validate(order)
}

// ValidateFetch checks what a fetch of remote brings over local, in jamid's
// order (§4.1): commits from remote back to their merge base with local,
// oldest first. It returns nil when there is nothing new.
func (r *Repo) ValidateFetch(local, remote plumbing.Hash, opts ValidateOptions) error {
	v, err := r.NewValidator(opts)
	if err != nil {
		return err
	}
	commits, err := r.FetchRange(local, remote)
	if err != nil {
		return err
	}
	return v.Validate(commits)
}

// FetchRange lists the commits jamid validates after fetching remote into
// a repository whose HEAD is local (ConversationRepository::behind): take
// the merge bases of local and remote, the first one that is not local
// (else local); if that is remote, nothing is new; otherwise jamid's log
// from remote stopping before that base, reversed (oldest first). Like
// jamid, a history without common ancestor yields nothing. With several
// merge bases the first in walk order from remote is used.
func (r *Repo) FetchRange(local, remote plumbing.Hash) ([]plumbing.Hash, error) {
	bases, err := r.MergeBases(local, remote)
	if err != nil || len(bases) == 0 {
		return nil, err
	}
	to := local
	for _, b := range bases {
		if b != local {
			to = b
			break
		}
	}
	if to == remote {
		return nil, nil
	}
	entries, err := r.logFrom(local, LogOptions{From: remote, To: to})
	if err != nil {
		return nil, err
	}
	out := make([]plumbing.Hash, len(entries))
	for i, e := range entries {
		out[len(entries)-1-i] = e.Commit.ID
	}
	return out, nil
}

// MergeBases returns the best common ancestors of a and b (common
// ancestors that are not ancestors of another common ancestor), in walk
// order from b.
func (r *Repo) MergeBases(a, b plumbing.Hash) ([]plumbing.Hash, error) {
	ancA, err := r.WalkOrder(a)
	if err != nil {
		return nil, err
	}
	inA := map[plumbing.Hash]bool{}
	for _, h := range ancA {
		inA[h] = true
	}
	ancB, err := r.WalkOrder(b)
	if err != nil {
		return nil, err
	}
	var common []plumbing.Hash
	below := map[plumbing.Hash]bool{}
	var stack []plumbing.Hash
	for _, h := range ancB {
		if !inA[h] {
			continue
		}
		common = append(common, h)
		c, err := r.Commit(h)
		if err != nil {
			return nil, err
		}
		stack = append(stack, c.Parents...)
	}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if below[h] {
			continue
		}
		below[h] = true
		c, err := r.Commit(h)
		if err != nil {
			return nil, err
		}
		stack = append(stack, c.Parents...)
	}
	var out []plumbing.Hash
	for _, h := range common {
		if !below[h] {
			out = append(out, h)
		}
	}
	return out, nil
}

// Validate checks commits in the given order and stops at the first
// failure.
func (v *Validator) Validate(ids []plumbing.Hash) error {
	if (v.current() || v.opts.Strict) && len(ids) > 1 {
		v.precomputeSignatures(ids)
		defer func() { v.sigs = nil }()
	}
	for _, id := range ids {
		if err := v.ValidateCommit(id); err != nil {
			return err
		}
	}
	return nil
}

// pinTree pins every device of a tree whose account certificate is there
// too (what jamid's clone does before validating).
func (v *Validator) pinTree(files Files) {
	for _, name := range files.Dir(DirDevices) {
		dev, ok := strings.CutSuffix(name, ".crt")
		if !ok {
			continue
		}
		cert := v.certIn(files, DevicePath(dev))
		if cert == nil {
			continue
		}
		uri := IssuerUID(cert)
		if uri == "" {
			continue
		}
		for _, p := range []string{MemberPath(uri), AdminPath(uri)} {
			if acct := v.certIn(files, p); acct != nil && AccountURI(acct) == uri {
				v.pinned[dev] = uri
				break
			}
		}
	}
}

func (v *Validator) fail(c *Commit, format string, args ...any) error {
	return &ValidationError{Commit: c.ID, Reason: fmt.Sprintf(format, args...)}
}

func (v *Validator) current() bool { return v.opts.Rules == RulesCurrent }

// ValidateCommit applies the rules of §4.3 to one commit.
func (v *Validator) ValidateCommit(id plumbing.Hash) error {
	c, err := v.r.Commit(id)
	if err != nil {
		return &ValidationError{Commit: id, Reason: err.Error()}
	}
	dev := c.AuthorDevice()
	if v.current() || v.opts.Strict {
		if _, _, err := ExtractSignature(c.Raw, SignatureHeader); err != nil {
			return v.fail(c, "no signature header")
		}
	}
	switch len(c.Parents) {
	case 0:
		if err := v.checkInitial(c); err != nil {
			return err
		}
		if v.opts.Strict {
			return v.strictSignature(c, c)
		}
		return nil
	case 1:
	default:
		if err := v.isValidUserAtCommit(c, dev, c); err != nil {
			return err
		}
		if v.current() || v.opts.Strict {
			return v.checkMerge(c)
		}
		return nil
	}
	parent, err := v.r.Commit(c.Parents[0])
	if err != nil {
		return v.fail(c, "parent: %v", err)
	}
	msg, msgErr := DecodeMessage(c.TextMessage())
	typ, edit := "", ""
	if msgErr == nil {
		typ, edit = msg.Type, msg.Edit
	} else if !v.current() && !errors.Is(msgErr, ErrNotJSONObject) && !errors.Is(msgErr, ErrJSONSyntax) {
		// 2023 reads "type" with asString only; an unconvertible other
		// field does not matter there.
		if tv, err := ParseJSON(c.TextMessage()); err == nil && tv.Kind == JSONObject {
			typ, _ = tv.Obj["type"].AsString()
			edit, _ = tv.Obj["edit"].AsString()
		}
	}
	if v.current() && msgErr != nil && bytes.HasPrefix(c.TextMessage(), []byte("Merge commit")) {
		typ = TypeMerge // CommitMessage::fromString recognizes merges by prefix
	}
	if v.current() && typ == "" {
		return v.fail(c, "message has no type")
	}
	userAt := c
	switch {
	case typ == TypeVote:
		err = v.checkVote(c, parent, dev)
	case typ == TypeMember:
		if msg == nil {
			return v.fail(c, "malformed member commit")
		}
		if v.current() && !validInfoHash(msg.URI) {
			return v.fail(c, "member uri %q is not a 40-hex id", msg.URI)
		}
		switch msg.Action {
		case ActionAdd:
			err = v.checkAdd(c, parent, dev, msg.URI)
		case ActionJoin:
			err = v.checkJoin(c, parent, dev, msg.URI)
		case ActionRemove:
			userAt = parent
			err = v.checkRemove(c, parent, dev, msg.URI)
		case ActionBan, ActionUnban:
			err = v.checkVoteResolution(c, parent, dev, msg.URI, msg.Action)
		default:
			return v.fail(c, "unknown member action %q", msg.Action)
		}
	case typ == TypeUpdateProfile:
		err = v.checkProfile(c, parent, dev)
	case v.current() && typ == TypeCheckpoint:
		err = v.checkCheckpoint(c, parent, dev)
	case typ == TypeEdited || (v.current() && edit != ""):
		err = v.checkEdit(c, dev, edit)
		if err == nil && v.opts.Strict {
			err = v.checkUserDiff(c, parent, dev)
		}
	default:
		if v.current() && v.mode() == ModeDocument {
			return v.fail(c, "message type %q not allowed in a document repository", typ)
		}
		err = v.checkUserDiff(c, parent, dev)
	}
	if err != nil {
		return err
	}
	return v.isValidUserAtCommit(c, dev, userAt)
}

// validInfoHash is `if (dht::InfoHash(uri))` in current upstream: at
// least 40 characters, the first 40 hex (anything after is ignored, so a
// 64-hex device ID passes), not all zero.
func validInfoHash(s string) bool {
	if len(s) < 40 {
		return false
	}
	b, err := hex.DecodeString(s[:40])
	return err == nil && !bytes.Equal(b, make([]byte, 20))
}

func (v *Validator) mode() Mode {
	m, err := v.r.Mode(v.convID, v.current())
	if err != nil {
		return -1
	}
	return m
}

// --- building blocks ---

func (v *Validator) files(c *Commit) (Files, error) { return v.r.Files(c.Tree) }

func (v *Validator) blobIn(files Files, p string) ([]byte, bool) {
	e, ok := files[p]
	if !ok || e.Mode == ModeGitlink {
		return nil, false
	}
	b, err := v.r.Blob(e.Hash)
	if err != nil {
		return nil, false
	}
	return b, true
}

func parseFirstCert(data []byte) *x509.Certificate {
	certs, err := identity.ParseCertificates(data)
	if err != nil || len(certs) == 0 {
		return nil
	}
	return certs[0]
}

func (v *Validator) certIn(files Files, p string) *x509.Certificate {
	b, ok := v.blobIn(files, p)
	if !ok {
		return nil
	}
	return parseFirstCert(b)
}

// deviceAccountIn is what a Certificate built from the device file gives:
// the id of the next certificate of the file if it holds a chain, else the
// issuer UID.
func (v *Validator) deviceAccountIn(files Files, dev string) string {
	b, ok := v.blobIn(files, DevicePath(dev))
	if !ok {
		return ""
	}
	certs, err := identity.ParseCertificates(b)
	if err != nil || len(certs) == 0 {
		return ""
	}
	if len(certs) > 1 {
		return AccountURI(certs[1])
	}
	return IssuerUID(certs[0])
}

// uriFromDevice: cache, pinned certificates, then (current) the tree of
// at, then the work tree; the first answer is cached for good, as jamid
// does.
func (v *Validator) uriFromDevice(dev string, at *Commit) string {
	if u, ok := v.uris[dev]; ok {
		return u
	}
	if u := v.pinned[dev]; u != "" {
		v.uris[dev] = u
		return u
	}
	if v.current() && at != nil {
		if files, err := v.files(at); err == nil {
			if u := v.deviceAccountIn(files, dev); u != "" {
				v.uris[dev] = u
				return u
			}
		}
	}
	u := v.deviceAccountIn(v.work, dev)
	if u != "" {
		v.uris[dev] = u
	}
	return u
}

var (
	reVotes   = regexp.MustCompile(`^votes[^\n\r](\w+)[^\n\r](members|devices|admins|invited)[^\n\r](\w+)[^\n\r](\w+)$`)
	reDevices = regexp.MustCompile(`^devices[^\n\r](\w+)\.crt$`)
	reBanned  = regexp.MustCompile(`^banned[^\n\r](members|devices|admins)[^\n\r](\w+)\.crt$`)
	reBannedI = regexp.MustCompile(`^banned[^\n\r](invited)[^\n\r](\w+)$`)
)

// changedFiles lists what jamid's diff-stats parsing sees: every path that
// differs, except binary files (NUL in the first 8000 bytes of either
// side), which libgit2 prints as "Bin …" and jamid's regex skips. In strict
// mode a binary change is an error instead.
func (v *Validator) changedFiles(c *Commit, old Files) ([]string, error) {
	nw, err := v.files(c)
	if err != nil {
		return nil, v.fail(c, "tree: %v", err)
	}
	var out []string
	for _, ch := range DiffFiles(old, nw) {
		if v.isBinary(ch) {
			if v.opts.Strict {
				return nil, v.fail(c, "binary file change %s (invisible to jamid's rules)", ch.Path)
			}
			continue
		}
		out = append(out, ch.Path)
	}
	return out, nil
}

func (v *Validator) isBinary(ch Change) bool {
	for _, e := range []*FileEntry{ch.Old, ch.New} {
		if e == nil || e.Mode == ModeGitlink {
			continue
		}
		b, err := v.r.Blob(e.Hash)
		if err != nil {
			continue
		}
		if len(b) > 8000 {
			b = b[:8000]
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return true
		}
	}
	return false
}

func (v *Validator) changed(c, parent *Commit) ([]string, Files, Files, error) {
	old, err := v.files(parent)
	if err != nil {
		return nil, nil, nil, v.fail(c, "parent tree: %v", err)
	}
	nw, err := v.files(c)
	if err != nil {
		return nil, nil, nil, v.fail(c, "tree: %v", err)
	}
	ch, err := v.changedFiles(c, old)
	return ch, old, nw, err
}

// verifyCertificate is jamid's certificate update rule (§4.2).
func verifyCertificate(newData []byte, uri string, oldData []byte) bool {
	cert := parseFirstCert(newData)
	if cert == nil {
		return false
	}
	isDevice := AccountURI(cert) != uri
	issuer := IssuerUID(cert)
	if len(oldData) > 0 {
		old := parseFirstCert(oldData)
		if old == nil {
			return false
		}
		if isDevice && issuer != IssuerUID(old) && issuer != uri {
			return false
		}
		return AccountURI(cert) == AccountURI(old)
	}
	if isDevice {
		return issuer == uri || issuer == ""
	}
	return true
}

// isValidUserAtCommit (§4.2) with the tree of at (the commit itself, or the
// parent of a remove).
func (v *Validator) isValidUserAtCommit(c *Commit, dev string, at *Commit) error {
	files, err := v.files(at)
	if err != nil {
		return v.fail(c, "tree: %v", err)
	}
	devCert := v.certIn(files, DevicePath(dev))
	if devCert == nil {
		return v.fail(c, "%s announced but not found", DevicePath(dev))
	}
	uri := IssuerUID(devCert)
	if uri == "" {
		// JAMS quirk: only a pinned certificate can tell the account.
		if uri = v.pinned[dev]; uri == "" {
			return v.fail(c, "%s has no issuer UID", DevicePath(dev))
		}
	}
	acctPath := MemberPath(uri)
	acctData, ok := v.blobIn(files, acctPath)
	if !ok {
		acctPath = AdminPath(uri)
		if acctData, ok = v.blobIn(files, acctPath); !ok {
			return v.fail(c, "no member or admin certificate for %s", uri)
		}
	}
	acctChain, err := identity.ParseCertificates(acctData)
	if err != nil || len(acctChain) == 0 {
		return v.fail(c, "%s: not a certificate", acctPath)
	}
	acct := acctChain[0]
	t := time.Unix(c.Time(), 0)
	if devCert.NotAfter.Before(t) {
		return v.fail(c, "device certificate expired before the commit")
	}
	if acct.NotAfter.Before(t) {
		return v.fail(c, "account certificate expired before the commit")
	}
	if v.current() || v.opts.Strict {
		if err := v.verifyCommit(c, devCert); err != nil {
			return v.fail(c, "%v", err)
		}
	}
	if AccountURI(acct) != uri {
		return v.fail(c, "%s holds the certificate of %s", acctPath, AccountURI(acct))
	}
	if v.opts.Strict {
		if err := v.checkDeviceChain(devCert, acctData, acctChain, t); err != nil {
			return v.fail(c, "%v", err)
		}
	}
	v.pinned[dev] = uri
	return nil
}

func (v *Validator) strictSignature(c, at *Commit) error {
	files, err := v.files(at)
	if err != nil {
		return v.fail(c, "tree: %v", err)
	}
	devCert := v.certIn(files, DevicePath(c.AuthorDevice()))
	if devCert == nil {
		return v.fail(c, "no device certificate to verify the signature")
	}
	if err := v.verifyCommit(c, devCert); err != nil {
		return v.fail(c, "%v", err)
	}
	return nil
}

// checkInitial is checkInitialCommit (§4.4).
func (v *Validator) checkInitial(c *Commit) error {
	dev := c.AuthorDevice()
	var at *Commit
	if v.current() {
		at = c
	}
	uri := v.uriFromDevice(dev, at)
	if v.current() && uri == "" {
		return v.fail(c, "unknown author device")
	}
	changed, err := v.changedFiles(c, nil)
	if err != nil {
		return err
	}
	mode, err := v.r.Mode(v.convID, v.current())
	if err != nil {
		return v.fail(c, "%v", err)
	}
	invited := ""
	if mode == ModeOneToOne {
		if tv, err := ParseJSON(c.TextMessage()); err == nil && tv.Kind == JSONObject {
			invited, _ = tv.Obj["invited"].AsString()
		}
	}
	files, err := v.files(c)
	if err != nil {
		return v.fail(c, "tree: %v", err)
	}
	hasAdmin, hasDevice := false, false
	for _, f := range changed {
		switch f {
		case AdminPath(uri):
			hasAdmin = true
		case DevicePath(dev):
			hasDevice = true
		case "CRLs/" + uri, InvitedPath(invited):
			continue
		default:
			return v.fail(c, "file %s not allowed in the initial commit", f)
		}
		b, _ := v.blobIn(files, f)
		if !verifyCertificate(b, uri, nil) {
			return v.fail(c, "invalid certificate %s", f)
		}
	}
	if !hasAdmin || !hasDevice {
		return v.fail(c, "initial commit lacks the admin or device certificate")
	}
	return nil
}

// checkUserDiff is checkValidUserDiff (§4.5).
func (v *Validator) checkUserDiff(c, parent *Commit, dev string) error {
	changed, old, nw, err := v.changed(c, parent)
	if err != nil {
		return err
	}
	devFile := DevicePath(dev)
	if !v.current() && !nw.Has(devFile) {
		return v.fail(c, "%s announced but not found", devFile)
	}
	if len(changed) == 0 {
		return nil
	}
	uri := v.uriFromDevice(dev, c)
	if uri == "" {
		return v.fail(c, "unknown author device")
	}
	for _, f := range changed {
		switch f {
		case AdminPath(uri), MemberPath(uri):
			ob, ok := v.blobIn(old, f)
			if !ok {
				return v.fail(c, "%s added by a plain commit", f)
			}
			nb, _ := v.blobIn(nw, f)
			if !verifyCertificate(nb, uri, ob) {
				return v.fail(c, "invalid certificate update %s", f)
			}
		case devFile:
			ob, _ := v.blobIn(old, f)
			nb, _ := v.blobIn(nw, f)
			if !verifyCertificate(nb, uri, ob) {
				return v.fail(c, "invalid certificate %s", f)
			}
		default:
			return v.fail(c, "file %s not allowed in a %s commit", f, "plain")
		}
	}
	return nil
}

// checkEdit (§4.5): the edited commit exists, has the same author account,
// and is editable.
func (v *Validator) checkEdit(c *Commit, dev, editID string) error {
	uri := v.uriFromDevice(dev, c)
	if uri == "" {
		return v.fail(c, "unknown author device")
	}
	if len(editID) != 40 {
		return v.fail(c, "edit of %q: no such commit", editID)
	}
	orig, err := v.r.Commit(plumbing.NewHash(editID))
	if err != nil || orig.ID.String() != strings.ToLower(editID) {
		return v.fail(c, "edited commit %s not found", editID)
	}
	origURI := v.uriFromDevice(orig.AuthorDevice(), orig)
	if origURI == "" || origURI != uri {
		return v.fail(c, "edited commit %s has another author", editID)
	}
	om, err := DecodeMessage(orig.TextMessage())
	if err != nil || len(orig.Parents) > 1 {
		return v.fail(c, "edited commit %s is not a message", editID)
	}
	switch {
	case om.Type == TypeText:
		return nil
	case v.current() && om.Type == TypeDataTransfer && om.Tid != "":
		return nil
	case v.current() && om.Type == TypeCollabDoc:
		return nil
	}
	return v.fail(c, "edited commit %s is a %q, not editable", editID, om.Type)
}

// checkVote (§4.5).
func (v *Validator) checkVote(c, parent *Commit, dev string) error {
	changed, old, nw, err := v.changed(c, parent)
	if err != nil {
		return err
	}
	if len(changed) == 0 {
		return nil // jamid accepts a vote that changes nothing
	}
	if len(changed) > 2 {
		return v.fail(c, "vote changes %d files", len(changed))
	}
	devFile, voteFile := "", ""
	for _, f := range changed {
		switch {
		case f == DevicePath(dev):
			devFile = f
		case strings.HasPrefix(f, "votes"):
			voteFile = f
		default:
			return v.fail(c, "file %s not allowed in a vote", f)
		}
	}
	if voteFile == "" {
		return v.fail(c, "no vote file")
	}
	if !v.current() && devFile != "" && old.Has(devFile) {
		return v.fail(c, "vote modifies an existing device certificate")
	}
	uri := v.uriFromDevice(dev, c)
	if v.current() && uri == "" {
		return v.fail(c, "unknown author device")
	}
	if !old.Has(AdminPath(uri)) {
		return v.fail(c, "vote from a non-admin %s", uri)
	}
	m := reVotes.FindStringSubmatch(voteFile)
	if m == nil {
		return v.fail(c, "invalid vote path %s", voteFile)
	}
	voteType, typ, target, voter := m[1], m[2], m[3], m[4]
	if voter != uri {
		return v.fail(c, "admin %s voted as %s", uri, voter)
	}
	if voteType != ActionBan && voteType != ActionUnban {
		return v.fail(c, "unknown vote %q", voteType)
	}
	if old.Has(voteFile) {
		return v.fail(c, "vote file %s already existed", voteFile)
	}
	b, ok := v.blobIn(nw, voteFile)
	if !ok {
		return v.fail(c, "vote file %s not found", voteFile)
	}
	if len(b) != 0 {
		return v.fail(c, "vote file %s is not empty", voteFile)
	}
	if typ != "devices" {
		if target == uri {
			return v.fail(c, "vote for self")
		}
		if voteType == ActionBan && !old.Has(MemberPath(target)) && !old.Has(AdminPath(target)) && !old.Has(InvitedPath(target)) {
			return v.fail(c, "vote against %s who is not in the conversation", target)
		}
	} else {
		if target == dev {
			return v.fail(c, "vote against the voting device")
		}
		if !old.Has(DevicePath(target)) {
			return v.fail(c, "vote against unknown device %s", target)
		}
	}
	return nil
}

// checkAdd (§4.6).
func (v *Validator) checkAdd(c, parent *Commit, dev, member string) error {
	uri := ""
	if !v.current() {
		if uri = v.uriFromDevice(dev, nil); uri == "" {
			return v.fail(c, "unknown author device")
		}
	}
	if mode := v.mode(); mode == ModeOneToOne {
		initial, err := v.r.InitialMembers(v.convID, mode)
		if err != nil {
			return v.fail(c, "%v", err)
		}
		found := false
		for _, u := range initial {
			found = found || u == member
		}
		if !found {
			return v.fail(c, "only the initial members can be added to a one-to-one")
		}
	}
	changed, old, nw, err := v.changed(c, parent)
	if err != nil {
		return err
	}
	if len(changed) == 0 || len(changed) > 3 {
		return v.fail(c, "add changes %d files", len(changed))
	}
	if v.current() {
		if uri = v.uriFromDevice(dev, c); uri == "" {
			return v.fail(c, "unknown author device")
		}
	}
	if uri == member {
		return v.fail(c, "member added self")
	}
	invited := ""
	for _, f := range changed {
		switch f {
		case DevicePath(dev), "CRLs/" + uri:
		case InvitedPath(member):
			invited = f
		default:
			return v.fail(c, "file %s not allowed in an add", f)
		}
	}
	b, ok := v.blobIn(nw, invited)
	if invited == "" || !ok {
		return v.fail(c, "invitation file not found")
	}
	if len(b) != 0 {
		return v.fail(c, "invitation file not empty")
	}
	if old.Has(DirBanned + "/" + MemberPath(member)) {
		return v.fail(c, "%s is banned", member)
	}
	return nil
}

// checkJoin (§4.6).
func (v *Validator) checkJoin(c, parent *Commit, dev, member string) error {
	if !v.current() && v.uriFromDevice(dev, nil) == "" {
		return v.fail(c, "unknown author device")
	}
	changed, old, nw, err := v.changed(c, parent)
	if err != nil {
		return err
	}
	for _, f := range changed {
		if f != InvitedPath(member) && f != MemberPath(member) && f != DevicePath(dev) {
			return v.fail(c, "file %s not allowed in a join", f)
		}
	}
	switch {
	case nw.Has(InvitedPath(member)):
		return v.fail(c, "invitation not removed")
	case !old.Has(InvitedPath(member)):
		return v.fail(c, "%s was not invited", member)
	case !nw.Has(MemberPath(member)):
		return v.fail(c, "member certificate not added")
	case old.Has(MemberPath(member)):
		return v.fail(c, "member certificate already there")
	case !nw.Has(DevicePath(dev)):
		return v.fail(c, "device certificate not found")
	}
	if v.current() || v.opts.Strict {
		devCert := v.certIn(nw, DevicePath(dev))
		memCert := v.certIn(nw, MemberPath(member))
		if devCert == nil || memCert == nil || AccountURI(memCert) != IssuerUID(devCert) || IssuerUID(devCert) != member {
			return v.fail(c, "join certificates do not belong to %s", member)
		}
	}
	return nil
}

// checkRemove (§4.6).
func (v *Validator) checkRemove(c, parent *Commit, dev, member string) error {
	changed, old, _, err := v.changed(c, parent)
	if err != nil {
		return err
	}
	if v.opts.Strict {
		// The leaver's device certificate is gone from the new tree; the
		// parent's tree says whose device signed.
		if u := v.deviceAccountIn(old, dev); u != member {
			return v.fail(c, "%s removed by another account (%s)", member, u)
		}
	}
	var removed []string
	for _, f := range changed {
		switch f {
		case DevicePath(dev), AdminPath(member), MemberPath(member), "CRLs/" + member, InvitedPath(member):
			continue
		}
		if m := reDevices.FindStringSubmatch(f); m != nil {
			removed = append(removed, m[1])
			continue
		}
		return v.fail(c, "file %s not allowed in a remove", f)
	}
	for _, d := range removed {
		if !old.Has(DevicePath(d)) {
			return v.fail(c, "device %s added by a remove", d)
		}
		owner := ""
		if v.current() {
			if cert := v.certIn(old, DevicePath(d)); cert != nil {
				owner = IssuerUID(cert)
			}
		} else {
			owner = v.uriFromDevice(d, nil)
		}
		if owner != member && d != member {
			return v.fail(c, "device %s removed but not owned by %s", d, member)
		}
	}
	return nil
}

// checkVoteResolution is checkValidVoteResolution (§4.7).
func (v *Validator) checkVoteResolution(c, parent *Commit, dev, member, action string) error {
	uri := v.uriFromDevice(dev, c)
	changed, old, _, err := v.changed(c, parent)
	if err != nil {
		return err
	}
	reVote := regexp.MustCompile(`^votes[^\n\r]` + regexp.QuoteMeta(action) + `[^\n\r](members|devices|admins|invited)[^\n\r](\w+)[^\n\r](\w+)$`)
	var voters, removed, banned []string
	for _, f := range changed {
		switch f {
		case DevicePath(dev), AdminPath(member), MemberPath(member), "CRLs/" + member, InvitedPath(member):
			continue
		}
		if m := reVote.FindStringSubmatch(f); m != nil {
			if m[2] != member {
				return v.fail(c, "vote file %s is about someone else", f)
			}
			voters = append(voters, m[3])
			if !old.Has(f) {
				return v.fail(c, "vote %s added by the resolution", f)
			}
			continue
		}
		if m := reDevices.FindStringSubmatch(f); m != nil {
			removed = append(removed, m[1])
			continue
		}
		m := reBanned.FindStringSubmatch(f)
		if m == nil {
			m = reBannedI.FindStringSubmatch(f)
		}
		if m != nil {
			banned = append(banned, f)
			if m[2] != member {
				return v.fail(c, "banned file %s is about someone else", f)
			}
			continue
		}
		return v.fail(c, "file %s not allowed in a %s", f, action)
	}
	for _, d := range removed {
		had := old.Has(DevicePath(d))
		if action == ActionBan && !had {
			return v.fail(c, "ban adds device %s", d)
		}
		if action == ActionUnban && had {
			return v.fail(c, "unban removes device %s", d)
		}
		var at *Commit
		if v.current() {
			at = c
		}
		if v.uriFromDevice(d, at) != member && d != member {
			return v.fail(c, "device %s is not %s's", d, member)
		}
	}
	if !old.Has(AdminPath(uri)) {
		return v.fail(c, "%s resolved by a non-admin", action)
	}
	admins, votes := 0, 0
	for _, name := range dirEntries(v.work, DirAdmins) {
		if !strings.Contains(name, ".crt") {
			continue
		}
		admins++
		adminURI := name[:len(name)-len(".crt")]
		for _, vt := range voters {
			if vt == adminURI {
				votes++
				break
			}
		}
	}
	if admins == 0 || float64(votes)/float64(admins) < 0.5 {
		return v.fail(c, "incomplete vote: %d of %d admins", votes, admins)
	}
	if len(banned) == 0 {
		return v.fail(c, "%s moves nothing under banned/", action)
	}
	return nil
}

// checkProfile is checkValidProfileUpdate (§4.5).
func (v *Validator) checkProfile(c, parent *Commit, dev string) error {
	var at *Commit
	if v.current() {
		at = c
	}
	uri := v.uriFromDevice(dev, at)
	changed, old, nw, err := v.changed(c, parent)
	if err != nil {
		return err
	}
	if v.current() {
		if uri == "" || !nw.Has(AdminPath(uri)) {
			return v.fail(c, "profile updated by a non-admin")
		}
	} else if RoleOf(v.work, uri) != RoleAdmin {
		return v.fail(c, "profile updated by a non-admin (local role)")
	}
	for _, f := range changed {
		switch {
		case f == FileProfile:
		case v.current() && f == DevicePath(dev):
			ob, _ := v.blobIn(old, f)
			nb, _ := v.blobIn(nw, f)
			if !verifyCertificate(nb, uri, ob) {
				return v.fail(c, "invalid certificate %s", f)
			}
		default:
			return v.fail(c, "file %s not allowed in a profile update", f)
		}
	}
	return nil
}

// checkCheckpoint is current upstream's checkValidCheckpoint (§4.10).
func (v *Validator) checkCheckpoint(c, parent *Commit, dev string) error {
	if v.mode() != ModeDocument {
		return v.fail(c, "checkpoint outside a document repository")
	}
	changed, old, nw, err := v.changed(c, parent)
	if err != nil || len(changed) == 0 {
		return err
	}
	uri := v.uriFromDevice(dev, c)
	if uri == "" {
		return v.fail(c, "unknown author device")
	}
	for _, f := range changed {
		if name, ok := strings.CutPrefix(f, "attachments/"); ok {
			e, ok := nw[f]
			if !ok || name != e.Hash.String() {
				return v.fail(c, "attachment %s is not named by its blob id", f)
			}
			continue
		}
		if f == DevicePath(dev) {
			ob, _ := v.blobIn(old, f)
			nb, ok := v.blobIn(nw, f)
			if !ok || !verifyCertificate(nb, uri, ob) {
				return v.fail(c, "invalid certificate %s", f)
			}
			continue
		}
		return v.fail(c, "file %s not allowed in a checkpoint", f)
	}
	return nil
}

// checkMerge is current upstream's checkValidMergeCommit (§4.8).
func (v *Validator) checkMerge(c *Commit) error {
	if len(c.Parents) != 2 {
		return v.fail(c, "merge with %d parents", len(c.Parents))
	}
	nw, err := v.files(c)
	if err != nil {
		return v.fail(c, "tree: %v", err)
	}
	var sets [2]map[string]bool
	for i, p := range c.Parents {
		pc, err := v.r.Commit(p)
		if err != nil {
			return v.fail(c, "parent: %v", err)
		}
		pf, err := v.files(pc)
		if err != nil {
			return v.fail(c, "parent tree: %v", err)
		}
		sets[i] = map[string]bool{}
		for _, ch := range DiffFiles(pf, nw) {
			sets[i][ch.Path] = true
		}
	}
	for p := range sets[0] {
		if sets[1][p] {
			return v.fail(c, "merge invents content for %s", p)
		}
	}
	return nil
}
