package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/swarm"
	ucli "github.com/urfave/cli/v2"
)

// envConversation is the variable behind --conversation.
const envConversation = "JAMI_CONVERSATION"

// maxText bounds a message read from a file or stdin.
const maxText = 1 << 20

// maxFile bounds a file sent with send-file: it is read into memory to
// hash and copy it.
const maxFile = 1 << 30

func conversationFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "conversation", Aliases: []string{"C"}, EnvVars: []string{envConversation}, TakesFile: true,
		Usage: "the conversation: a repository `DIR`, or a conversation ID (or a unique prefix of one) in the account folder's conversations/ (default: the current directory)"}
}

// writeFlags are the flags of every command that commits.
func writeFlags(extra ...ucli.Flag) []ucli.Flag {
	return append([]ucli.Flag{cli.AccountFlag(), cli.PasswordFileFlag(), conversationFlag(), cli.JSONFlag()}, extra...)
}

// readFlags are the flags of commands that only read.
func readFlags(extra ...ucli.Flag) []ucli.Flag {
	return append([]ucli.Flag{conversationFlag(), cli.AccountFlag()}, extra...)
}

// acct is the account given with --account.
type acct struct {
	path   string
	folder string // the account folder ("" for an archive)
	id     *swarm.Identity
}

// loadAccount reads --account: a jamid account folder (or a folder with
// just ring_device.key and ring_device.crt), or an archive that carries a
// device key (jamid 2023 exports do).
func loadAccount(c *ucli.Context) (*acct, error) {
	p := c.String("account")
	if p == "" {
		return nil, cli.UsageErrorf("%s: --account is required: a jamid account folder", c.Command.Name)
	}
	a := &acct{path: p}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		a.folder = p
		f, err := account.Open(p)
		switch {
		case errors.Is(err, account.ErrNotAccount):
			// A bare device: ring_device.key and ring_device.crt only.
			id, lerr := swarm.LoadIdentity(p)
			if lerr != nil {
				if errors.Is(lerr, fs.ErrNotExist) {
					return nil, err
				}
				return nil, fmt.Errorf("%s: %w", p, lerr)
			}
			a.id = id
		case err != nil:
			return nil, err
		default:
			a.id = &swarm.Identity{Key: f.Device.Key, Chain: f.Chain, DisplayName: f.Config["displayName"]}
		}
	} else {
		s, err := account.OpenSource(p, cli.Stdin(c), account.Unlock{Password: cli.ArchivePassword(false).Bind(c)})
		if err != nil {
			return nil, err
		}
		if s.Archive.DeviceKey == nil || len(s.Archive.DeviceChain) < 2 {
			return nil, fmt.Errorf("%s: the archive holds no device key (only jamid 2023 exports carry one): use an account folder, e.g. made with jami-keygen device -o DIR", p)
		}
		a.id = &swarm.Identity{Key: s.Archive.DeviceKey, Chain: s.Archive.DeviceChain, DisplayName: s.Archive.Config["Account.displayName"]}
	}
	if err := a.id.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return a, nil
}

// isFile reports an existing path that is not a folder (an archive).
func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// conversationsDir is where an account folder keeps its conversations.
func (a *acct) conversationsDir() string {
	if a == nil || a.folder == "" {
		return ""
	}
	return filepath.Join(a.folder, "conversations")
}

// isConvID reports a 40-hex conversation ID.
func isConvID(s string) bool {
	return len(s) == 40 && strings.Trim(s, "0123456789abcdef") == ""
}

// conversationPath resolves --conversation.
func conversationPath(c *ucli.Context, a *acct) string {
	p := c.String("conversation")
	if p == "" {
		return "."
	}
	dir := a.conversationsDir()
	if _, err := os.Stat(p); err == nil || dir == "" || !isHexPrefix(p) {
		return p
	}
	if isConvID(p) {
		return filepath.Join(dir, p)
	}
	// A prefix of a conversation ID, as for commits.
	entries, _ := os.ReadDir(dir)
	var found []string
	for _, e := range entries {
		if e.IsDir() && isConvID(e.Name()) && strings.HasPrefix(e.Name(), p) {
			found = append(found, e.Name())
		}
	}
	if len(found) == 1 {
		return filepath.Join(dir, found[0])
	}
	return p
}

// isHexPrefix reports 4 to 40 lowercase hex digits.
func isHexPrefix(s string) bool {
	return len(s) >= 4 && len(s) <= 40 && strings.Trim(s, "0123456789abcdef") == ""
}

// openConversation opens the conversation of --conversation.
func openConversation(c *ucli.Context, a *acct) (*swarm.Repo, error) {
	p := conversationPath(c, a)
	r, err := swarm.Open(p)
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return nil, fmt.Errorf("%s: not a conversation repository (use --conversation DIR)", p)
		}
		return nil, err
	}
	if _, err := r.ConversationID(); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return r, nil
}

// optionalAccount reads --account when given (read-only commands use it to
// find conversations by ID).
func optionalAccount(c *ucli.Context) (*acct, error) {
	if c.String("account") == "" {
		return nil, nil
	}
	return loadAccount(c)
}

// openRead opens the conversation for a read-only command.
func openRead(c *ucli.Context) (*swarm.Repo, error) {
	a, err := optionalAccount(c)
	if err != nil {
		return nil, err
	}
	return openConversation(c, a)
}

// writer is an open conversation, locked, with the account that writes.
type writer struct {
	c      *ucli.Context
	a      *acct
	r      *swarm.Repo
	conv   plumbing.Hash
	unlock func()
}

// openWrite loads the account, opens the conversation, takes its writer
// lock and checks that the work tree is clean: jamid commits everything in
// the work tree on some operations, so a stray file would end up in a
// commit every peer rejects.
func openWrite(c *ucli.Context) (*writer, error) {
	a, err := loadAccount(c)
	if err != nil {
		return nil, err
	}
	r, err := openConversation(c, a)
	if err != nil {
		return nil, err
	}
	unlock, err := r.Lock()
	if err != nil {
		return nil, err
	}
	w := &writer{c: c, a: a, r: r, unlock: unlock}
	if err := checkClean(r); err != nil {
		unlock()
		return nil, err
	}
	if w.conv, err = r.ConversationID(); err != nil {
		unlock()
		return nil, err
	}
	return w, nil
}

func (w *writer) close() { w.unlock() }

// checkClean refuses a work tree that differs from HEAD.
func checkClean(r *swarm.Repo) error {
	wt, err := r.Git().Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := wt.Status()
	if err != nil {
		return fmt.Errorf("%s: work tree: %w", r.Path, err)
	}
	if st.IsClean() {
		return nil
	}
	var paths []string
	for p := range st {
		paths = append(paths, p)
	}
	if len(paths) > 3 {
		paths = append(paths[:3], "…")
	}
	return fmt.Errorf("%s: the work tree differs from HEAD (%s); jamid would commit such files: remove or restore them first", r.Path, strings.Join(paths, ", "))
}

// commitResult is what a command that commits prints.
type commitResult struct {
	Commit       string `json:"commit"`
	Conversation string `json:"conversation"`
	Type         string `json:"type"`
}

// membershipChanged drops current jamid's member cache (§2.6) after a
// commit or pull that may change membership.
func (w *writer) membershipChanged() {
	if err := w.r.DropMembersCache(); err != nil {
		cli.Infof(w.c, "%s: could not remove jamid's member cache: %v", w.r.Path, err)
	}
}

// printCommit prints the id of a new commit (stdout) or the JSON result.
func (w *writer) printCommit(c *swarm.Commit, what string) error {
	m, _ := swarm.DecodeMessage(c.TextMessage())
	typ := ""
	if m != nil {
		typ = m.Type
	}
	res := commitResult{Commit: c.ID.String(), Conversation: w.conv.String(), Type: typ}
	return cli.PrintResult(w.c, res, func() {
		cli.Printf(w.c, "%s\n", c.ID)
		cli.Infof(w.c, "%s: committed %s", w.r.Path, what)
	})
}

// textArg reads a message argument: the text itself, "-" for stdin or
// "@FILE". One trailing newline of stdin or a file is dropped (what
// `echo hi |` adds).
func textArg(c *ucli.Context, arg string) (string, error) {
	var data []byte
	switch {
	case arg == "-":
		_, b, err := cli.ReadInput(c, "-", maxText)
		if err != nil {
			return "", err
		}
		data = b
	case strings.HasPrefix(arg, "@"):
		_, b, err := cli.ReadInput(c, arg[1:], maxText)
		if err != nil {
			return "", err
		}
		data = b
	default:
		return arg, nil
	}
	s := strings.TrimSuffix(string(data), "\n")
	return s, nil
}

// envTime fixes the time of new commits (unix seconds), for reproducible
// histories: commits are deterministic, so the same inputs at the same
// time give the same commit ids.
const envTime = "SOURCE_DATE_EPOCH"

// now is the time of commits (jamid: time(NULL)).
func now() time.Time {
	if s := os.Getenv(envTime); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			return time.Unix(n, 0)
		}
		slog.Warn("ignoring malformed $" + envTime)
	}
	return time.Now()
}

// resolve finds a commit named by a (prefix of an) id.
func resolve(r *swarm.Repo, s string) (plumbing.Hash, error) {
	h, err := r.ResolveCommit(s)
	if errors.Is(err, swarm.ErrNoCommit) {
		return h, cli.NotFoundf("%v", err)
	}
	if err != nil && !errors.Is(err, swarm.ErrAmbiguous) {
		return h, cli.UsageErrorf("%v", err)
	}
	return h, err
}
