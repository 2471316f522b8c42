package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/swarm"
	ucli "github.com/urfave/cli/v2"
)

// pollInterval is how often log --follow looks at HEAD.
var pollInterval = 300 * time.Millisecond

func logCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "log",
		Usage: "print the messages of the conversation",
		Description: "Walks the history from HEAD in jamid's order (libgit2 topological + committer time, newest\n" +
			"first) and prints one line per commit: id, time (UTC), author, and what the commit says.\n\n" +
			"--json raw prints, one JSON object a line, the map jamid 2023's D-Bus API gives for each commit\n" +
			"(ConversationLoaded: every message field as a string, plus id, parents, linearizedParent,\n" +
			"author, type, timestamp and fileId for files; commits jamid skips are skipped).\n" +
			"--json folded prints current upstream's messages (SwarmMessage: id, type, linearizedParent,\n" +
			"body, reactions, editions): merges dropped, edits and reactions folded into their messages.\n\n" +
			"--from starts at a commit, -n limits the count (jamid's nbOfCommits). --follow prints the\n" +
			"history oldest first and then new messages as they land (a pull, another writer), until\n" +
			"interrupted; with folded, a message changed by a new edit or reaction is printed again.\n\n" +
			"Examples:\n" +
			"  jami-swarm log -C conv -n 20\n" +
			"  jami-swarm log -C conv --json raw | jq -r 'select(.type==\"text/plain\") | .body'\n" +
			"  jami-swarm log -C conv --json folded --follow",
		Flags: readFlags(
			&ucli.StringFlag{Name: "json", Usage: "machine output, one JSON object a line: `FORMAT` raw (jamid's per-commit maps) or folded (edits and reactions folded)"},
			&ucli.StringFlag{Name: "from", Usage: "start at the commit `ID` (inclusive)"},
			&ucli.IntFlag{Name: "limit", Aliases: []string{"n"}, Usage: "print at most `N` commits (0: all)"},
			&ucli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new messages as they land"},
		),
		Action: runLog,
	}
}

// logFormat is how log prints.
type logFormat int

const (
	formatText logFormat = iota
	formatRaw
	formatFolded
)

func runLog(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	format := formatText
	switch c.String("json") {
	case "":
	case "raw":
		format = formatRaw
	case "folded":
		format = formatFolded
	default:
		return cli.UsageErrorf("--json %q: want raw or folded", c.String("json"))
	}
	if c.Int("limit") < 0 {
		return cli.UsageErrorf("-n %d: want 0 or more", c.Int("limit"))
	}
	a, err := optionalAccount(c)
	if err != nil {
		return err
	}
	r, err := openConversation(c, a)
	if err != nil {
		return err
	}
	opts := swarm.LogOptions{Limit: c.Int("limit")}
	if from := c.String("from"); from != "" {
		if opts.From, err = resolve(r, from); err != nil {
			return err
		}
	}
	p := &logPrinter{c: c, format: format, printed: map[string]string{}}
	// HEAD before the history is read: --follow then catches whatever
	// lands after (what is printed twice is skipped).
	head, err := r.Head()
	if err != nil {
		return fmt.Errorf("%s: %w", r.Path, err)
	}
	items, err := p.collect(r, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Path, err)
	}
	if !c.Bool("follow") {
		return p.print(items, false)
	}
	if err := p.print(items, true); err != nil {
		return err
	}
	return p.follow(r.Path, head)
}

// logItem is one thing log prints: a commit line, a raw map or a folded
// message; key identifies it and value is its printed form (to notice a
// folded message that changed).
type logItem struct {
	key, value string
}

type logPrinter struct {
	c       *ucli.Context
	format  logFormat
	printed map[string]string // key → value already printed
}

// collect lists the items of the log, newest first.
func (p *logPrinter) collect(r *swarm.Repo, opts swarm.LogOptions) ([]logItem, error) {
	entries, err := r.Log(opts)
	if err != nil {
		return nil, err
	}
	var items []logItem
	switch p.format {
	case formatText:
		for _, e := range entries {
			items = append(items, logItem{key: e.Commit.ID.String(), value: describe(r, e.Commit)})
		}
	case formatRaw:
		for _, e := range entries {
			m, ok := r.MessageMap2023(e)
			if !ok {
				continue
			}
			b, err := compactJSON(m)
			if err != nil {
				return nil, err
			}
			items = append(items, logItem{key: e.Commit.ID.String(), value: b})
		}
	case formatFolded:
		var maps []map[string]string
		for _, e := range entries {
			if m, ok := r.MessageMap2023(e); ok {
				maps = append(maps, m)
			}
		}
		for _, m := range swarm.Fold(maps) {
			if m.Reactions == nil {
				m.Reactions = []map[string]string{}
			}
			if m.Editions == nil {
				m.Editions = []map[string]string{}
			}
			b, err := compactJSON(m)
			if err != nil {
				return nil, err
			}
			items = append(items, logItem{key: m.ID, value: b})
		}
	}
	return items, nil
}

// print writes items (newest first) not printed yet in that form, in
// order or, oldestFirst, reversed.
func (p *logPrinter) print(items []logItem, oldestFirst bool) error {
	w := cli.Stdout(p.c)
	out := func(it logItem) error {
		old, seen := p.printed[it.key]
		// A folded message is printed again when an edit or reaction
		// changed it; a commit (whose linearizedParent may move after a
		// merge) only once.
		if seen && (p.format != formatFolded || old == it.value) {
			return nil
		}
		p.printed[it.key] = it.value
		_, err := fmt.Fprintln(w, it.value)
		return err
	}
	if oldestFirst {
		for i := len(items) - 1; i >= 0; i-- {
			if err := out(items[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, it := range items {
		if err := out(it); err != nil {
			return err
		}
	}
	return nil
}

// follow polls HEAD and prints what is new, until the command's context
// ends (Ctrl-C: exit 130, as every long-running command).
func (p *logPrinter) follow(path string, last plumbing.Hash) error {
	ctx := p.c.Context
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		// Reopen: another process may have added packs go-git would not
		// see through a cached pack index.
		r, err := swarm.Open(path)
		if err != nil {
			return err
		}
		head, err := r.Head()
		if err != nil || head == last {
			continue
		}
		items, err := p.collect(r, swarm.LogOptions{})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := p.print(items, true); err != nil {
			return err
		}
		last = head
	}
}

// compactJSON is one line of JSON; <, > and & stay as they are (message
// bodies are not HTML).
func compactJSON(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// describe is the text line of a commit.
func describe(r *swarm.Repo, c *swarm.Commit) string {
	author := r.DeviceAccount(c.AuthorDevice(), c)
	short := func(s string) string {
		if len(s) > 8 {
			return s[:8]
		}
		return s
	}
	who := c.Author.Name
	if author != "" {
		who += " (" + short(author) + ")"
	}
	when := time.Unix(c.Time(), 0).UTC().Format("2006-01-02 15:04:05Z")
	return fmt.Sprintf("%s %s %s: %s", c.ID.String()[:12], when, who, summary(c, short))
}

// summary says in words what a commit does.
func summary(c *swarm.Commit, short func(string) string) string {
	if c.IsMerge() {
		return "merged " + short(c.Parents[1].String())
	}
	m, err := swarm.DecodeMessage(c.TextMessage())
	if err != nil {
		return fmt.Sprintf("(unreadable message: %q)", abbreviate(string(c.TextMessage())))
	}
	body := strings.ReplaceAll(m.Body, "\n", "\n    ")
	switch {
	case m.Type == swarm.TypeInitial:
		mode := swarm.Mode(m.Mode).String()
		if m.Invited != "" {
			return "started the conversation (" + mode + " with " + m.Invited + ")"
		}
		return "started the conversation (" + mode + ")"
	case m.IsEdit() && m.Type == swarm.TypeDataTransfer:
		return "deleted the file " + short(m.Edit)
	case m.IsEdit() && m.Body == "":
		return "deleted " + short(m.Edit)
	case m.IsEdit():
		return "edited " + short(m.Edit) + ": " + body
	case m.IsReaction():
		return "reacted " + body + " to " + short(m.ReactTo)
	case m.Type == swarm.TypeText && m.ReplyTo != "":
		return "(reply to " + short(m.ReplyTo) + ") " + body
	case m.Type == swarm.TypeText:
		return body
	case m.Type == swarm.TypeDataTransfer:
		return fmt.Sprintf("sent the file %s (%s bytes, %s)", m.DisplayName, m.TotalSize, swarm.FileID(c.ID.String(), m.Tid, m.DisplayName))
	case m.Type == swarm.TypeMember:
		verbs := map[string]string{swarm.ActionAdd: "invited", swarm.ActionJoin: "joined as", swarm.ActionRemove: "removed",
			swarm.ActionBan: "banned", swarm.ActionUnban: "unbanned"}
		if v, ok := verbs[m.Action]; ok {
			return v + " " + m.URI
		}
		return "member " + m.Action + " " + m.URI
	case m.Type == swarm.TypeVote:
		return "voted on " + m.URI
	case m.Type == swarm.TypeUpdateProfile:
		return "updated the profile"
	case m.Type == swarm.TypeCallHistory:
		if m.Duration != "" {
			return "call (" + m.Duration + " ms)"
		}
		return "call started"
	}
	return fmt.Sprintf("%s %s", m.Type, abbreviate(string(m.JSON())))
}
