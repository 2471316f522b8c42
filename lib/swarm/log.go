package swarm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// walkNode is a commit in the revision walk (libgit2 git_commit_list_node).
type walkNode struct {
	id       plumbing.Hash
	time     int64
	parents  []*walkNode
	parsed   bool
	seen     bool
	inDegree int
}

// timeCmp is git_commit_list_time_cmp: newer commits sort first.
func timeCmp(a, b *walkNode) int {
	switch {
	case a.time < b.time:
		return 1
	case a.time > b.time:
		return -1
	}
	return 0
}

// pqueue is libgit2's binary heap (util/pqueue.c) with timeCmp. Equal
// times are not kept in insertion order by a heap; reproducing its exact
// sift-up/sift-down is what makes ties come out as jamid shows them.
type pqueue []*walkNode

func (q *pqueue) insert(n *walkNode) {
	*q = append(*q, n)
	h := *q
	el := len(h) - 1
	for el > 0 {
		parentEl := (el - 1) >> 1
		if timeCmp(h[parentEl], n) <= 0 {
			break
		}
		h[el] = h[parentEl]
		el = parentEl
	}
	h[el] = n
}

func (q *pqueue) pop() *walkNode {
	h := *q
	if len(h) == 0 {
		return nil
	}
	top := h[0]
	last := h[len(h)-1]
	h = h[:len(h)-1]
	*q = h
	if len(h) == 0 {
		return top
	}
	el := 0
	for {
		kidEl := 2*el + 1
		if kidEl >= len(h) {
			break
		}
		kid := h[kidEl]
		if kidEl+1 < len(h) && timeCmp(kid, h[kidEl+1]) > 0 {
			kidEl++
			kid = h[kidEl]
		}
		if timeCmp(last, kid) <= 0 {
			break
		}
		h[el] = kid
		el = kidEl
	}
	h[el] = last
	return top
}

// WalkOrder lists every commit reachable from start in jamid's order:
// libgit2 1.5 git_revwalk with GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME (a
// date-ordered limit_list pass followed by a heap-based topological sort).
// No commit comes before one of its children.
func (r *Repo) WalkOrder(start plumbing.Hash) ([]plumbing.Hash, error) {
	nodes := map[plumbing.Hash]*walkNode{}
	lookup := func(h plumbing.Hash) *walkNode {
		n := nodes[h]
		if n == nil {
			n = &walkNode{id: h}
			nodes[h] = n
		}
		return n
	}
	parse := func(n *walkNode) error {
		if n.parsed {
			return nil
		}
		c, err := r.Commit(n.id)
		if err != nil {
			return err
		}
		n.time = c.Committer.When
		for _, p := range c.Parents {
			n.parents = append(n.parents, lookup(p))
		}
		n.parsed = true
		return nil
	}
	first := lookup(start)
	if err := parse(first); err != nil {
		return nil, err
	}
	first.seen = true
	// limit_list: pop the newest pending commit, queue its unseen parents
	// by date (after existing commits of the same time), emit it.
	list := []*walkNode{first}
	var limited []*walkNode
	for len(list) > 0 {
		n := list[0]
		list = list[1:]
		for _, p := range n.parents {
			if err := parse(p); err != nil {
				return nil, err
			}
			if p.seen {
				continue
			}
			p.seen = true
			i := 0
			for i < len(list) && timeCmp(list[i], p) <= 0 {
				i++
			}
			list = append(list, nil)
			copy(list[i+1:], list[i:])
			list[i] = p
		}
		limited = append(limited, n)
	}
	// sort_in_topological_order.
	for _, n := range limited {
		n.inDegree = 1
	}
	for _, n := range limited {
		for _, p := range n.parents {
			if p.inDegree != 0 {
				p.inDegree++
			}
		}
	}
	var q pqueue
	for _, n := range limited {
		if n.inDegree == 1 {
			q.insert(n)
		}
	}
	out := make([]plumbing.Hash, 0, len(limited))
	for n := q.pop(); n != nil; n = q.pop() {
		for _, p := range n.parents {
			if p.inDegree == 0 {
				continue
			}
			p.inDegree--
			if p.inDegree == 1 {
				q.insert(p)
			}
		}
		n.inDegree = 0
		out = append(out, n.id)
	}
	return out, nil
}

// IsAncestor reports whether a is b or reachable from b.
func (r *Repo) IsAncestor(a, b plumbing.Hash) (bool, error) {
	seen := map[plumbing.Hash]bool{b: true}
	stack := []plumbing.Hash{b}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if h == a {
			return true, nil
		}
		c, err := r.Commit(h)
		if err != nil {
			return false, err
		}
		for _, p := range c.Parents {
			if !seen[p] {
				seen[p] = true
				stack = append(stack, p)
			}
		}
	}
	return false, nil
}

// LogOptions are jamid's LogOptions (conversationrepository.h).
type LogOptions struct {
	// From: start at this commit (inclusive). When it is not an ancestor
	// of HEAD, the walk starts from it instead of HEAD.
	From plumbing.Hash
	// To: stop before this commit, or after it with IncludeTo.
	To        plumbing.Hash
	IncludeTo bool
	// Limit is nbOfCommits (0 = no limit).
	Limit     int
	SkipMerge bool
}

// LogEntry is a commit with its linearizedParent: the commit the walk met
// next (the message displayed just before it), zero for the last one.
type LogEntry struct {
	Commit           *Commit
	LinearizedParent plumbing.Hash
}

// Log is jamid's ConversationRepository::log: walk from HEAD in WalkOrder,
// newest first, applying the options exactly as the 2023 callback does
// (linearizedParent is set to every later walked commit until the next one
// is kept, so skipped merges and the first commit past a limit count).
func (r *Repo) Log(opts LogOptions) ([]LogEntry, error) {
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	return r.logFrom(head, opts)
}

// logFrom is Log with an explicit HEAD.
func (r *Repo) logFrom(start plumbing.Hash, opts LogOptions) ([]LogEntry, error) {
	if !opts.From.IsZero() {
		anc, err := r.IsAncestor(opts.From, start)
		if err != nil {
			return nil, err
		}
		if !anc {
			start = opts.From
		}
	}
	order, err := r.WalkOrder(start)
	if err != nil {
		return nil, err
	}
	var out []LogEntry
	logging := opts.From.IsZero()
	breakNext := false
	for _, id := range order {
		if len(out) > 0 {
			out[len(out)-1].LinearizedParent = id
		}
		c, err := r.Commit(id)
		if err != nil {
			return nil, err
		}
		if opts.SkipMerge && len(c.Parents) > 1 {
			continue
		}
		if opts.Limit != 0 && len(out) == opts.Limit {
			break
		}
		if breakNext {
			break
		}
		if !opts.To.IsZero() && id == opts.To {
			if !opts.IncludeTo {
				break
			}
			breakNext = true
		}
		if !logging && id == opts.From {
			logging = true
		}
		if !logging {
			continue
		}
		out = append(out, LogEntry{Commit: c})
	}
	return out, nil
}

// DeviceAccount resolves a device ID to its account URI as jamid 2023's
// uriFromDevice does without pinned certificates: the issuer UID of
// devices/<device>.crt, looked up in the tree of at (current upstream's
// first choice) and then in HEAD's tree (2023 reads the work tree). The
// result is "" when neither holds a parsable certificate with an issuer.
func (r *Repo) DeviceAccount(device string, at *Commit) string {
	var trees []plumbing.Hash
	if at != nil {
		trees = append(trees, at.Tree)
	}
	if h, err := r.Head(); err == nil {
		if hc, err := r.Commit(h); err == nil {
			trees = append(trees, hc.Tree)
		}
	}
	for _, t := range trees {
		cert, err := r.certAt(t, "devices/"+device+".crt")
		if err != nil || cert == nil {
			continue
		}
		if uid := IssuerUID(cert); uid != "" {
			return uid
		}
	}
	return ""
}

// MessageMap2023 is jamid 2023's convCommitToMap: every JSON member except
// type as a string, plus id, parents, linearizedParent, author, type,
// timestamp and, for data transfers, fileId. Merge commits get type
// "merge" and no JSON. ok is false for commits jamid skips (unparsable or
// type-less message, member not convertible to a string, unknown author).
func (r *Repo) MessageMap2023(e LogEntry) (m map[string]string, ok bool) {
	c := e.Commit
	author := r.DeviceAccount(c.AuthorDevice(), c)
	if author == "" {
		return nil, false
	}
	parents := make([]string, len(c.Parents))
	for i, p := range c.Parents {
		parents[i] = p.String()
	}
	m = map[string]string{}
	typ := ""
	if len(c.Parents) > 1 {
		typ = TypeMerge
	} else if v, err := ParseJSON(c.TextMessage()); err == nil {
		if v.Kind != JSONObject && v.Kind != JSONNull {
			return nil, false // getMemberNames throws
		}
		for k, x := range v.Obj {
			s, err := x.AsString()
			if err != nil {
				return nil, false // asString throws
			}
			if k == "type" {
				typ = s
				continue
			}
			m[k] = s
		}
	}
	if typ == "" {
		return nil, false
	}
	if typ == TypeDataTransfer {
		m["fileId"] = FileID(c.ID.String(), m["tid"], m["displayName"])
	}
	m["id"] = c.ID.String()
	m["parents"] = strings.Join(parents, ",")
	m["linearizedParent"] = ""
	if !e.LinearizedParent.IsZero() {
		m["linearizedParent"] = e.LinearizedParent.String()
	}
	m["author"] = author
	m["type"] = typ
	m["timestamp"] = strconv.FormatInt(c.Time(), 10)
	return m, true
}

// ErrNoRoot is returned when the conversation's root commit is missing.
var ErrNoRoot = errors.New("conversation has no initial commit")

// ConversationID is the id of the root commit reachable from HEAD (§2.3).
// A history with several roots (never produced by Jami) is an error.
func (r *Repo) ConversationID() (plumbing.Hash, error) {
	head, err := r.Head()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	order, err := r.WalkOrder(head)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var roots []plumbing.Hash
	for _, id := range order {
		c, err := r.Commit(id)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if len(c.Parents) == 0 {
			roots = append(roots, id)
		}
	}
	switch len(roots) {
	case 0:
		return plumbing.ZeroHash, ErrNoRoot
	case 1:
		return roots[0], nil
	}
	return plumbing.ZeroHash, fmt.Errorf("history has %d root commits", len(roots))
}

// Mode reads the mode from the commit whose id is the conversation id, as
// jamid's mode() does: its message must parse, have a "mode" member that
// asInt accepts, with a value 0-3 (2023) or 0-4 (current).
func (r *Repo) Mode(convID plumbing.Hash, current bool) (Mode, error) {
	c, err := r.Commit(convID)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoRoot, err)
	}
	v, err := ParseJSON(c.TextMessage())
	if err != nil || v.Kind != JSONObject {
		return 0, errors.New("invalid mode: initial commit message is not a JSON object")
	}
	mv, ok := v.Obj["mode"]
	if !ok {
		return 0, errors.New("invalid mode: no mode in the initial commit")
	}
	i, err := mv.AsInt()
	if err != nil {
		return 0, fmt.Errorf("invalid mode: %w", err)
	}
	max := int(ModePublic)
	if current {
		max = int(ModeDocument)
	}
	if i < 0 || i > max {
		return 0, fmt.Errorf("invalid mode %d", i)
	}
	return Mode(i), nil
}
