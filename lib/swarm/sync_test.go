package swarm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

func TestPktReader(t *testing.T) {
	in := "0006a\n00000009hello000eversion 1\x00"
	pr := NewPktReader(strings.NewReader(in))
	for _, want := range []string{"a\n", "", "hello", "version 1\x00"} {
		b, flush, err := pr.Read()
		if err != nil || flush != (want == "") || string(b) != want {
			t.Fatalf("got %q flush=%v %v, want %q", b, flush, err, want)
		}
	}
	if _, _, err := pr.Read(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
	for in, want := range map[string]error{
		"0001": ErrPktLine, "0003": ErrPktLine, "zzzz": ErrPktLine, "fff1": ErrPktLine,
		"000aabc": io.ErrUnexpectedEOF, "00": io.ErrUnexpectedEOF,
	} {
		if _, _, err := NewPktReader(strings.NewReader(in)).Read(); !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", in, err, want)
		}
	}
	if b, _ := AppendPkt(nil, []byte("want x\n")); string(b) != "000bwant x\n" {
		t.Errorf("AppendPkt %q", b)
	}
	if _, err := AppendPkt(nil, make([]byte, MaxPktData+1)); err == nil {
		t.Error("oversized pkt-line accepted")
	}
}

// The pkt-line reader never panics, and what it reads encodes back to the
// bytes it consumed.
func FuzzPktReader(f *testing.F) {
	for _, s := range []string{
		"0000", "0006a\n", "0084git-upload-pack /df0f2db225e5e0783c0b6bce7454fcc1763c7588\x00host=2f2c81ef\x00",
		"0032want 0123456789012345678901234567890123456789\n00000009done\n", "0008NAK\n0005\x01x0000",
		"0001", "fff0", "FFFF", "00x0", "0004", "000",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		pr := NewPktReader(r)
		off := 0
		for {
			b, flush, err := pr.Read()
			if err != nil {
				return
			}
			end := len(data) - r.Len()
			consumed := data[off:end]
			off = end
			re := flushPkt
			if !flush {
				if re, err = AppendPkt(nil, b); err != nil {
					t.Fatal(err)
				}
			}
			// Upper-case length digits are read, lower case written.
			if !bytes.EqualFold(re[:4], consumed[:4]) || !bytes.Equal(re[4:], consumed[4:]) {
				t.Fatalf("re-encoded %q, consumed %q", re, consumed)
			}
		}
	})
}

// serve runs srv.Serve on one end of a pipe and returns the other end.
func serve(t *testing.T, srv *Repo) net.Conn {
	t.Helper()
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(context.Background(), a)
		a.Close()
	}()
	t.Cleanup(func() {
		b.Close()
		if err := <-done; err != nil && !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("serve: %v", err)
		}
	})
	return b
}

// gitCheck runs stock git's strict fsck and status on a repository we
// wrote: sound objects, work tree and index equal to HEAD.
func gitCheck(t *testing.T, dir string) {
	t.Helper()
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Log("no git binary for the cross-check")
		return
	}
	for _, args := range [][]string{{"fsck", "--strict", "--no-dangling"}, {"status", "--porcelain", "--untracked-files=all"}} {
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("git %v in %s: %v\n%s", args, dir, err, out)
		}
	}
}

func headOf(t *testing.T, r *Repo) plumbing.Hash {
	t.Helper()
	h, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Alice creates a group and invites Bob; Bob clones it over the dialect
// and joins; both write; each pulls from the other; both end up with the
// same history, and stock git accepts both repositories.
func TestServeClonePullConverge(t *testing.T) {
	ctx := context.Background()
	alice := testWriterIdentity(t, "alice", "Alice")
	bob := testWriterIdentity(t, "bob", "Bob")
	now := time.Unix(1795400000, 0)
	tick := func() time.Time { now = now.Add(time.Second); return now }
	a, err := CreateConversation(filepath.Join(t.TempDir(), "alice"), alice, NewInitial(ModeInvitesOnly, ""), now)
	if err != nil {
		t.Fatal(err)
	}
	conv := headOf(t, a)
	if filepath.Base(a.Path) != conv.String() {
		t.Errorf("repository directory %s, want the conversation id", a.Path)
	}
	if _, err := a.Append(alice, NewText("hello", "").JSON(), nil, tick()); err != nil {
		t.Fatal(err)
	}
	// Bob may not clone before he is invited.
	if _, err := Clone(ctx, serve(t, a), t.TempDir(), CloneOptions{Identity: bob}); err == nil || !strings.Contains(err.Error(), "neither a member") {
		t.Errorf("clone by a stranger: %v", err)
	}
	if _, err := a.Invite(alice, bob.AccountURI(), tick()); err != nil {
		t.Fatal(err)
	}
	bobDir := t.TempDir()
	b, err := Clone(ctx, serve(t, a), bobDir, CloneOptions{Identity: bob, ConversationID: conv, Validate: ValidateOptions{Rules: RulesCurrent, Strict: true}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Path != filepath.Join(bobDir, conv.String()) || headOf(t, b) != headOf(t, a) {
		t.Fatalf("clone at %s head %s", b.Path, headOf(t, b))
	}
	if _, err := b.Join(bob, tick()); err != nil {
		t.Fatal(err)
	}
	// Alice gets the join (fast-forward), then both write.
	res, err := a.Pull(ctx, serve(t, b), PullOptions{Identity: alice, Remote: bob.DeviceID(), Validate: ValidateOptions{Rules: RulesCurrent, Strict: true}})
	if err != nil || res.Outcome != FastForward || len(res.Commits) != 1 {
		t.Fatalf("pull join: %+v %v", res, err)
	}
	if _, err := a.Append(alice, NewText("from alice", "").JSON(), nil, tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(bob, NewText("from bob", "").JSON(), nil, tick()); err != nil {
		t.Fatal(err)
	}
	res, err = a.Pull(ctx, serve(t, b), PullOptions{Identity: alice, Remote: bob.DeviceID(), When: tick()})
	if err != nil || res.Outcome != Merged || res.Merge == nil {
		t.Fatalf("pull divergent: %+v %v", res, err)
	}
	if ref, err := a.Git().Reference(plumbing.NewRemoteReferenceName(bob.DeviceID(), "main"), false); err != nil || ref.Hash() != res.Remote {
		t.Errorf("remote-tracking ref: %v %v", ref, err)
	}
	res, err = b.Pull(ctx, serve(t, a), PullOptions{Identity: bob})
	if err != nil || res.Outcome != FastForward {
		t.Fatalf("pull back: %+v %v", res, err)
	}
	if headOf(t, a) != headOf(t, b) {
		t.Errorf("not converged: %s %s", headOf(t, a), headOf(t, b))
	}
	// Nothing new: up to date, nothing written.
	res, err = b.Pull(ctx, serve(t, a), PullOptions{Identity: bob})
	if err != nil || res.Outcome != UpToDate || len(res.Commits) != 0 {
		t.Errorf("pull again: %+v %v", res, err)
	}
	for _, r := range []*Repo{a, b} {
		for _, rules := range []Rules{Rules2023, RulesCurrent} {
			if err := r.ValidateClone(ValidateOptions{Rules: rules, Strict: true}); err != nil {
				t.Errorf("%s %v: %v", r.Path, rules, err)
			}
		}
		gitCheck(t, r.Path)
	}
}

// Two copies of a conversation update profile.vcf differently: each pull
// keeps the version of the greater head id, as jamid's resolution does,
// and both sides end with the same profile.
func TestPullProfileConflict(t *testing.T) {
	ctx := context.Background()
	alice := testWriterIdentity(t, "alice", "Alice")
	now := time.Unix(1795400000, 0)
	tick := func() time.Time { now = now.Add(time.Second); return now }
	a, err := CreateConversation(t.TempDir(), alice, NewInitial(ModeInvitesOnly, ""), now)
	if err != nil {
		t.Fatal(err)
	}
	setTitle := func(r *Repo, title string) plumbing.Hash {
		c, err := r.Append(alice, UpdateProfileText(), []FileChange{{Path: FileProfile, Content: EncodeProfile(map[string]string{ProfileTitle: title})}}, tick())
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	setTitle(a, "base")
	b, err := Clone(ctx, serve(t, a), t.TempDir(), CloneOptions{Identity: alice})
	if err != nil {
		t.Fatal(err)
	}
	ha, hb := setTitle(a, "A"), setTitle(b, "B")
	want := "A"
	if hb.String() > ha.String() {
		want = "B"
	}
	res, err := a.Pull(ctx, serve(t, b), PullOptions{Identity: alice, When: tick()})
	if err != nil || res.Outcome != Merged {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := b.Pull(ctx, serve(t, a), PullOptions{Identity: alice}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Repo{a, b} {
		got, err := os.ReadFile(filepath.Join(r.Path, FileProfile))
		if err != nil || ParseProfile(got)[ProfileTitle] != want {
			t.Errorf("%s: profile %q %v, want title %s", r.Path, got, err, want)
		}
		gitCheck(t, r.Path)
	}
}

// snapshot hashes every file under dir (names, modes, contents).
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", strings.TrimPrefix(p, dir), info.Mode())
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// Every crafted commit of ruleCases that a validator rejects is rejected
// by a pull under that validator, and the rejected pull leaves the local
// repository byte for byte as it was; verify (the clone-order validation
// of the whole history) rejects it too, naming it.
func TestPullAndVerifyRejectBadCommits(t *testing.T) {
	ctx := context.Background()
	h, ids := groupWithBob(t)
	good := h.head
	local, err := Clone(ctx, serve(t, h.r), t.TempDir(), CloneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, local.Path)
	alice := testWriterIdentity(t, "alice", "Alice")
	rejections := 0
	for _, tc := range ruleCases(t, h, ids) {
		bad := tc.id()
		h.setHead(bad)
		for i, rc := range ruleChecks {
			if tc.want.accepted(i) {
				continue
			}
			opts := ValidateOptions{Rules: rc.rules, Strict: rc.strict}
			rejections++
			_, err := local.Pull(ctx, serve(t, h.r), PullOptions{Identity: alice, Validate: opts})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("%s (%v strict=%v): pull: %v", tc.name, rc.rules, rc.strict, err)
			} else if ve.Commit != bad {
				t.Errorf("%s (%v strict=%v): pull blamed %s, want %s (%v)", tc.name, rc.rules, rc.strict, ve.Commit, bad, err)
			}
			if after := snapshot(t, local.Path); after != before {
				t.Fatalf("%s: rejected pull changed the repository", tc.name)
			}
			err = h.r.ValidateClone(opts)
			if !errors.As(err, &ve) || ve.Commit != bad {
				t.Errorf("%s (%v strict=%v): verify: %v", tc.name, rc.rules, rc.strict, err)
			}
		}
	}
	if rejections < 40 {
		t.Errorf("only %d rejections exercised", rejections)
	}
	// A good commit goes through.
	h.setHead(good)
	ok := h.try("alice", NewText("fine", "").JSON(), nil)
	h.setHead(ok)
	if res, err := local.Pull(ctx, serve(t, h.r), PullOptions{Identity: alice, Validate: ValidateOptions{Rules: RulesCurrent, Strict: true}}); err != nil || res.New != ok {
		t.Errorf("good pull: %+v %v", res, err)
	}
	gitCheck(t, local.Path)
}

// A server advertising another conversation is refused, and so is a
// stream that is not the dialect.
func TestPullRefusesForeignHistory(t *testing.T) {
	ctx := context.Background()
	alice := testWriterIdentity(t, "alice", "Alice")
	a, err := CreateConversation(t.TempDir(), alice, NewInitial(ModeInvitesOnly, ""), time.Unix(1795400000, 0))
	if err != nil {
		t.Fatal(err)
	}
	other, err := CreateConversation(t.TempDir(), alice, NewInitial(ModeInvitesOnly, ""), time.Unix(1795400001, 0))
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, a.Path)
	if _, err := a.Pull(ctx, serve(t, other), PullOptions{Identity: alice}); !errors.Is(err, ErrRemote) {
		t.Errorf("foreign history: %v", err)
	}
	c1, c2 := net.Pipe()
	go func() {
		NewPktReader(c2).Read()
		c2.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		c2.Close()
	}()
	if _, err := a.Pull(ctx, c1, PullOptions{Identity: alice}); err == nil {
		t.Error("garbage accepted")
	}
	c1.Close()
	if snapshot(t, a.Path) != before {
		t.Error("failed pulls changed the repository")
	}
}

// The exact bytes of an exchange: jamid's advertisement and answers.
func TestServeTranscript(t *testing.T) {
	r := openFixture(t, "group")
	conv := "df0f2db225e5e0783c0b6bce7454fcc1763c7588"
	head := headOf(t, r)
	c := serve(t, r)
	req := pktString("git-upload-pack /" + conv + "\x00host=" + strings.Repeat("a", 64) + "\x00")
	if len(req) != 132 {
		t.Errorf("request is %d bytes", len(req))
	}
	c.Write(req)
	pr := NewPktReader(c)
	var got []string
	for {
		b, flush, err := pr.Read()
		if err != nil {
			t.Fatal(err)
		}
		if flush {
			break
		}
		got = append(got, string(b))
	}
	want := []string{head.String() + " HEAD\x00side-band side-band-64k shallow no-progress include-tag\n", head.String() + " refs/heads/main\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("advertisement %q", got)
	}
	// Haves in a round: ACK <first have> continue, NAK.
	root := plumbing.NewHash(conv)
	c.Write(append(pktString("want "+head.String()+" side-band-64k\n"), flushPkt...))
	c.Write(append(append(pktString("have "+root.String()+"\n"), pktString("have "+strings.Repeat("1", 40)+"\n")...), flushPkt...))
	for _, w := range []string{"ACK " + conv + " continue\n", "NAK\n"} {
		if b, _, err := pr.Read(); err != nil || string(b) != w {
			t.Errorf("got %q %v, want %q", b, err, w)
		}
	}
	c.Write(pktString("done\n"))
	if b, _, _ := pr.Read(); string(b) != "ACK "+conv+"\n" {
		t.Errorf("done answer %q", b)
	}
	pack, err := readSideBand(context.Background(), pr)
	if err != nil || !bytes.HasPrefix(pack, []byte("PACK\x00\x00\x00\x02")) {
		t.Fatalf("pack %q %v", truncate(pack), err)
	}
	// The pack has the 7 commits after the root with their trees, and
	// the objects make up the history.
	mem, _ := NewMemory()
	if err := mem.importPack(pack); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Commit(root); err == nil {
		t.Error("the root the client has was sent")
	}
	if _, err := mem.Commit(head); err != nil {
		t.Error(err)
	}
	// A second request on the same stream, up to date: flush, nothing.
	c.Write(req)
	if _, err := readAdvertisement(pr); err != nil {
		t.Fatal(err)
	}
	c.Write(flushPkt)
}

// A hostile server: whatever bytes it answers, the fetch client and the
// pack import fail cleanly, never panic.
func FuzzFetchResponse(f *testing.F) {
	r, head := tinyRepo(f)
	// A real answer of jamid's dialect as seed, and mangled forms.
	var real bytes.Buffer
	adv, _ := r.advertisement()
	real.Write(adv)
	real.Write(pktString("NAK\n"))
	sb := &sideBand{w: &real}
	objs, _ := r.packObjects(head, nil)
	var pack bytes.Buffer
	packfileEncode(f, r, &pack, objs)
	sb.Write(pack.Bytes())
	real.Write(flushPkt)
	f.Add(real.Bytes())
	f.Add(real.Bytes()[:len(real.Bytes())/2])
	f.Add(append(append([]byte{}, adv...), []byte("0008NAK\n0009\x03oops0000")...))
	f.Add([]byte("0000"))
	f.Add([]byte("000eversion 1\x000000"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mem, err := NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		rw := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(data), io.Discard}
		_, pack, err := mem.fetchPack(context.Background(), rw, "/x", "")
		if err == nil && pack != nil {
			_ = mem.importPack(pack)
		}
	})
}

// A hostile client: whatever it sends, the server answers or fails
// cleanly.
func FuzzServeRequest(f *testing.F) {
	r, head := tinyRepo(f)
	req := pktString("git-upload-pack /df0f2db225e5e0783c0b6bce7454fcc1763c7588\x00host=x\x00")
	f.Add(req)
	f.Add(append(append(append(append([]byte{}, req...), pktString("want "+head.String()+" side-band-64k\n")...), flushPkt...), pktString("done\n")...))
	f.Add(append(append(append([]byte{}, req...), pktString("have "+head.String()+"\n")...), flushPkt...))
	f.Add(append(append([]byte{}, req...), pktString("want 0000000000000000000000000000000000000000\ndone\n")...))
	f.Add([]byte("0004"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rw := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(data), io.Discard}
		_ = r.Serve(context.Background(), rw)
	})
}

func packfileEncode(t testing.TB, r *Repo, w io.Writer, objs []plumbing.Hash) {
	t.Helper()
	if _, err := packfile.NewEncoder(w, r.Storer(), true).Encode(objs, 0); err != nil {
		t.Fatal(err)
	}
}
