package swarm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// The server side of the p2p git dialect (swarm.md §5.4): what jamid's
// GitServer answers on a git://<device>/<conversation> channel. libgit2
// negotiates statefully (haves in rounds, each answered), which go-git's
// generic upload-pack server does not do, hence this implementation.

// serverCaps are the capabilities jamid advertises, verbatim.
const serverCaps = "side-band side-band-64k shallow no-progress include-tag"

const uploadPackCmd = "git-upload-pack "

// Serve answers upload-pack requests for r on rw until the peer closes the
// stream (nil) or ctx is done. Like jamid it serves any number of
// consecutive requests on one stream, each one against the repository's
// state at the time of the request. To stop a Serve blocked in a read,
// close the stream.
func (r *Repo) Serve(ctx context.Context, rw io.ReadWriter) error {
	pr := NewPktReader(rw)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		req, flush, err := pr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if flush {
			continue // stray flush between requests: nothing to answer
		}
		if err := r.serveRequest(ctx, pr, rw, req); err != nil {
			return err
		}
	}
}

// serveRequest handles one "git-upload-pack" request: advertisement,
// negotiation, pack.
func (r *Repo) serveRequest(ctx context.Context, pr *PktReader, w io.Writer, req []byte) error {
	if !bytes.HasPrefix(req, []byte(uploadPackCmd)) {
		return fmt.Errorf("%w: expected a git-upload-pack request, got %q", ErrPktLine, truncate(req))
	}
	params := bytes.Split(req[len(uploadPackCmd):], []byte{0})
	for _, p := range params[1:] {
		if string(p) == "version=1" {
			// jamid's answer, NUL included (§5.4).
			if _, err := w.Write([]byte("000eversion 1\x00")); err != nil {
				return err
			}
		}
	}
	adv, err := r.advertisement()
	if err != nil {
		return err
	}
	if _, err := w.Write(adv); err != nil {
		return err
	}
	var want plumbing.Hash
	var haves []plumbing.Hash
	var common string
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, flush, err := pr.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the client hung up after the advertisement
			}
			return err
		}
		switch {
		case flush:
			if want.IsZero() && len(haves) == 0 {
				// No want: the client is up to date (git's "0000" after
				// the advertisement). The request is over.
				return nil
			}
			if len(haves) > 0 {
				var out []byte
				if common != "" {
					out = append(out, pktString("ACK "+common+" continue\n")...)
				}
				out = append(out, pktString("NAK\n")...)
				if _, err := w.Write(out); err != nil {
					return err
				}
			}
		case strings.HasPrefix(line, "want "):
			// jamid keeps the first 40 characters after "want "; the
			// last want wins. Capabilities follow the id on the first one.
			id, ok := parseHexID(line[len("want "):])
			if !ok {
				return fmt.Errorf("%w: bad want line %q", ErrPktLine, line)
			}
			want = id
		case strings.HasPrefix(line, "have "):
			id, ok := parseHexID(line[len("have "):])
			if !ok {
				return fmt.Errorf("%w: bad have line %q", ErrPktLine, line)
			}
			if len(haves) == 0 {
				common = id.String() // jamid: the first have is "common"
			}
			haves = append(haves, id)
		case line == "done":
			ack := pktString("NAK\n")
			if common != "" {
				ack = pktString("ACK " + common + "\n")
			}
			if _, err := w.Write(ack); err != nil {
				return err
			}
			if want.IsZero() {
				return fmt.Errorf("%w: done without want", ErrPktLine)
			}
			return r.sendPack(w, want, haves)
		default:
			// shallow/deepen/filter lines: jamid ignores them.
		}
	}
}

// parseHexID reads the 40-hex id at the start of s.
func parseHexID(s string) (plumbing.Hash, bool) {
	if len(s) < 40 {
		return plumbing.ZeroHash, false
	}
	for _, c := range []byte(s[:40]) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return plumbing.ZeroHash, false
		}
	}
	return plumbing.NewHash(s[:40]), true
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// advertisement is jamid's reference advertisement: HEAD with the
// capabilities, every reference under refs/ resolved to its id, a flush.
func (r *Repo) advertisement() ([]byte, error) {
	head, err := r.Head()
	if err != nil {
		return nil, fmt.Errorf("nothing to serve: %w", err)
	}
	out := pktString(head.String() + " HEAD\x00" + serverCaps + "\n")
	iter, err := r.git.Storer.IterReferences()
	if err != nil {
		return nil, err
	}
	refs := map[string]plumbing.Hash{}
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		name := ref.Name().String()
		if !strings.HasPrefix(name, "refs/") {
			return nil
		}
		resolved, err := storer.ResolveReference(r.git.Storer, ref.Name())
		if err != nil {
			return nil // dangling symbolic reference: not advertised
		}
		refs[name] = resolved.Hash()
		return nil
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(refs))
	for n := range refs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, pktString(refs[n].String()+" "+n+"\n")...)
	}
	return append(out, flushPkt...), nil
}

// sendPack writes the pack for want minus what the haves imply, in
// side-band channel 1, then a flush.
func (r *Repo) sendPack(w io.Writer, want plumbing.Hash, haves []plumbing.Hash) error {
	objs, err := r.packObjects(want, haves)
	if err != nil {
		return err
	}
	sb := &sideBand{w: w}
	bw := bufio.NewWriterSize(sb, maxSideBandData)
	// REF_DELTA only, as ofs-delta is not advertised (§5.4); no delta
	// search (window 0): Jami objects are small, and it keeps the server
	// cheap on the CPU.
	if _, err := packfile.NewEncoder(bw, r.git.Storer, true).Encode(objs, 0); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err = w.Write(flushPkt)
	return err
}

// sideBand writes data as side-band channel 1 pkt-lines of at most
// 65515 data bytes, one pkt-line per Write on the stream (jamid's peers
// read whole pkt-lines per channel message).
type sideBand struct{ w io.Writer }

func (s *sideBand) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p
		if len(chunk) > maxSideBandData {
			chunk = chunk[:maxSideBandData]
		}
		pkt, err := AppendPkt(make([]byte, 0, len(chunk)+5), append([]byte{1}, chunk...))
		if err != nil {
			return n, err
		}
		if _, err := s.w.Write(pkt); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// packObjects lists the objects a client that has haves needs for want:
// the commits reachable from want but not from a known have, each with its
// complete tree, minus the objects of the trees of the commits where the
// walk stopped (the client has those). Unknown haves are ignored.
func (r *Repo) packObjects(want plumbing.Hash, haves []plumbing.Hash) ([]plumbing.Hash, error) {
	if _, err := r.Commit(want); err != nil {
		return nil, fmt.Errorf("want %s: %w", want, err)
	}
	var known []plumbing.Hash
	for _, h := range haves {
		if _, err := r.Commit(h); err == nil {
			known = append(known, h)
		}
	}
	excluded, err := r.reachable(known, nil)
	if err != nil {
		return nil, err
	}
	var boundary []plumbing.Hash
	send, err := r.reachable([]plumbing.Hash{want}, func(h plumbing.Hash) bool {
		if excluded[h] {
			boundary = append(boundary, h)
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	has := map[plumbing.Hash]bool{}
	for _, h := range boundary {
		c, err := r.Commit(h)
		if err != nil {
			return nil, err
		}
		if err := r.treeObjects(c.Tree, has, func(plumbing.Hash) {}); err != nil {
			return nil, err
		}
	}
	ids := make([]plumbing.Hash, 0, len(send))
	for h := range send {
		ids = append(ids, h)
	}
	sort.Slice(ids, func(i, j int) bool { return bytes.Compare(ids[i][:], ids[j][:]) < 0 })
	var out []plumbing.Hash
	for _, h := range ids {
		out = append(out, h)
		c, err := r.Commit(h)
		if err != nil {
			return nil, err
		}
		if err := r.treeObjects(c.Tree, has, func(o plumbing.Hash) { out = append(out, o) }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// reachable returns the commits reachable from starts, descending only
// into commits for which follow (nil: always) returns true.
func (r *Repo) reachable(starts []plumbing.Hash, follow func(plumbing.Hash) bool) (map[plumbing.Hash]bool, error) {
	seen := map[plumbing.Hash]bool{}
	visited := map[plumbing.Hash]bool{}
	stack := append([]plumbing.Hash(nil), starts...)
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if visited[h] {
			continue
		}
		visited[h] = true
		if follow != nil && !follow(h) {
			continue
		}
		seen[h] = true
		c, err := r.Commit(h)
		if err != nil {
			return nil, err
		}
		stack = append(stack, c.Parents...)
	}
	return seen, nil
}

// treeObjects calls fn for the tree and every subtree and blob below it
// that is not in seen yet, and marks them seen.
func (r *Repo) treeObjects(tree plumbing.Hash, seen map[plumbing.Hash]bool, fn func(plumbing.Hash)) error {
	return r.treeObjectsDepth(tree, seen, fn, 0)
}

func (r *Repo) treeObjectsDepth(tree plumbing.Hash, seen map[plumbing.Hash]bool, fn func(plumbing.Hash), depth int) error {
	if seen[tree] {
		return nil
	}
	if depth > maxTreeDepth {
		return errors.New("tree too deep")
	}
	seen[tree] = true
	fn(tree)
	raw, err := r.ReadObject(tree, plumbing.TreeObject)
	if err != nil {
		return err
	}
	entries, err := ParseTree(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", tree, err)
	}
	for _, e := range entries {
		switch {
		case e.IsDir():
			if err := r.treeObjectsDepth(e.Hash, seen, fn, depth+1); err != nil {
				return err
			}
		case e.Mode == ModeGitlink:
			// a submodule commit is not in this repository
		case !seen[e.Hash]:
			seen[e.Hash] = true
			fn(e.Hash)
		}
	}
	return nil
}
