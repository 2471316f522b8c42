package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/swarm"
	ucli "github.com/urfave/cli/v2"
)

// A SOURCE is a conversation repository on this machine (served by a
// `jami-swarm serve --stdio` child, as git runs upload-pack for a local
// path) or tcp://HOST:PORT where `jami-swarm serve --listen` runs.

const sourceHelp = "SOURCE is a repository path (a `jami-swarm serve --stdio` child serves it, as git runs\n" +
	"upload-pack for a path) or tcp://HOST:PORT of a `jami-swarm serve --listen` on loopback (the raw\n" +
	"dialect has no encryption or authentication; jamid runs it inside its TLS channels)."

// stream is a byte stream to a server, with its cleanup.
type stream struct {
	io.ReadWriter
	close func() error
}

// selfExecutable is the program run for `serve --stdio` children.
var selfExecutable = os.Executable

// dialSource connects to SOURCE.
func dialSource(c *ucli.Context, src string) (*stream, error) {
	if strings.HasPrefix(src, "tcp://") {
		u, err := url.Parse(src)
		if err != nil || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
			return nil, cli.UsageErrorf("%s: want tcp://HOST:PORT", src)
		}
		if err := checkLoopback(u.Hostname()); err != nil {
			return nil, err
		}
		var d net.Dialer
		conn, err := d.DialContext(c.Context, "tcp", u.Host)
		if err != nil {
			return nil, err
		}
		return &stream{ReadWriter: conn, close: conn.Close}, nil
	}
	if strings.Contains(src, "://") {
		return nil, cli.UsageErrorf("%s: unsupported source (a path or tcp://HOST:PORT)", src)
	}
	if _, err := swarm.Open(src); err != nil {
		return nil, err
	}
	self, err := selfExecutable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "serve", "--stdio", "--conversation", src)
	cmd.Stderr = cli.Stderr(c)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var once sync.Once
	var waitErr error
	return &stream{
		ReadWriter: struct {
			io.Reader
			io.Writer
		}{out, in},
		close: func() error {
			once.Do(func() {
				in.Close() // end of requests: the server returns
				waitErr = cmd.Wait()
			})
			return waitErr
		},
	}, nil
}

// checkLoopback refuses a host that is not this machine.
func checkLoopback(host string) error {
	ips, err := net.LookupIP(host)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return cli.UsageErrorf("%s: not a loopback address; the raw git dialect has no encryption or authentication", host)
		}
	}
	return nil
}

// withStream runs fn on a stream to src and closes it; fn's error wins,
// then the server's.
func withStream(c *ucli.Context, src string, fn func(io.ReadWriter) error) error {
	s, err := dialSource(c, src)
	if err != nil {
		return err
	}
	err = fn(s)
	cerr := s.close()
	if err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("%s: server: %w", src, cerr)
	}
	return nil
}

type pullResult struct {
	Conversation string   `json:"conversation"`
	Outcome      string   `json:"outcome"` // up-to-date, fast-forward, merged
	Old          string   `json:"old"`
	New          string   `json:"new"`
	Remote       string   `json:"remote"`
	Commits      []string `json:"commits"`
	Merge        string   `json:"merge,omitempty"`
}

func pullCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "pull",
		Usage:     "fetch a peer's history, validate it, fast-forward or merge",
		ArgsUsage: "SOURCE",
		Description: "jamid's pull: fetch main with the p2p git dialect, validate every new commit in fetch order\n" +
			"(oldest first, against the local state) with the rules of verify, then fast-forward, or merge\n" +
			"at file granularity with a signed \"Merge commit '<id>'\" (conflicting profile.vcf: the side\n" +
			"with the greater head id wins, as in jamid; any other conflict refuses the pull). Fetched\n" +
			"commits are staged in memory: a rejected pull leaves the repository exactly as it was. On\n" +
			"success refs/remotes/<remote>/main records the fetched head. --account signs a merge.\n\n" +
			sourceHelp + "\n\n" +
			"JSON fields: conversation, outcome (up-to-date, fast-forward, merged), old, new, remote,\n" +
			"commits, merge.\n\n" +
			"Examples:\n" +
			"  jami-swarm pull --account bob -C bob/conv alice/conv\n" +
			"  jami-swarm pull --account bob -C conv tcp://127.0.0.1:9418 --rules 2023",
		Flags: writeFlags(rulesFlag(), lenientFlag(),
			&ucli.StringFlag{Name: "remote", Value: "origin", Usage: "record the fetched head as refs/remotes/`NAME`/main (jamid names remotes by the peer's device ID)"},
		),
		Action: runPull,
	}
}

func runPull(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	vopts, err := validateOptions(c)
	if err != nil {
		return err
	}
	w, err := openWrite(c)
	if err != nil {
		return err
	}
	defer w.close()
	src := c.Args().First()
	var res *swarm.PullResult
	err = withStream(c, src, func(rw io.ReadWriter) error {
		var err error
		res, err = w.r.Pull(c.Context, rw, swarm.PullOptions{Identity: w.a.id, Remote: c.String("remote"), Host: c.String("remote"), Validate: vopts, When: now()})
		return err
	})
	if err != nil {
		var ve *swarm.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("%s: pull from %s rejected (%s), nothing changed: %w", w.r.Path, src, describeRules(vopts), err)
		}
		return fmt.Errorf("%s: pull from %s: %w", w.r.Path, src, err)
	}
	if len(res.Commits) > 0 {
		w.membershipChanged()
	}
	out := pullResult{Conversation: w.conv.String(), Outcome: strings.ReplaceAll(res.Outcome.String(), " ", "-"),
		Old: res.Old.String(), New: res.New.String(), Remote: res.Remote.String(), Commits: []string{}}
	for _, h := range res.Commits {
		out.Commits = append(out.Commits, h.String())
	}
	if res.Merge != nil {
		out.Merge = res.Merge.ID.String()
	}
	return cli.PrintResult(c, out, func() {
		cli.Printf(c, "%s %s\n", out.Outcome, res.New)
		cli.Infof(c, "%s: %d new commit(s) from %s, %s", w.r.Path, len(res.Commits), src, res.Outcome)
	})
}

func serveCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "serve",
		Usage: "serve the conversation to pull and clone with jamid's p2p git dialect",
		Description: "Answers git upload-pack requests exactly as jamid's GitServer does on a\n" +
			"git://<device>/<conversation> channel: the advertisement of HEAD and every ref, want/have\n" +
			"negotiation answered round by round (ACK … continue, NAK), the pack in side-band. --stdio serves\n" +
			"one client on stdin/stdout (what pull and clone run for a path); --listen ADDR serves loopback\n" +
			"TCP clients until interrupted and prints the address it listens on (port 0: a free port).\n" +
			"Nothing is written to the repository. There is no access control: only loopback is served.\n\n" +
			"Examples:\n" +
			"  jami-swarm serve --stdio -C conv\n" +
			"  jami-swarm serve --listen 127.0.0.1:0 -C conv",
		Flags: readFlags(
			&ucli.BoolFlag{Name: "stdio", Usage: "serve one client on stdin and stdout"},
			&ucli.StringFlag{Name: "listen", Usage: "serve TCP clients on the loopback `ADDR` (HOST:PORT)"},
		),
		Action: runServe,
	}
}

func runServe(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	stdio, listen := c.Bool("stdio"), c.String("listen")
	if stdio == (listen != "") {
		return cli.UsageErrorf("serve: give either --stdio or --listen ADDR")
	}
	a, err := optionalAccount(c)
	if err != nil {
		return err
	}
	path := conversationPath(c, a)
	r, err := openConversation(c, a)
	if err != nil {
		return err
	}
	ctx := c.Context
	if stdio {
		rw := struct {
			io.Reader
			io.Writer
		}{cli.Stdin(c), cli.Stdout(c)}
		done := make(chan error, 1)
		go func() { done <- r.Serve(ctx, rw) }()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return cli.UsageErrorf("--listen %q: %v", listen, err)
	}
	if err := checkLoopback(host); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	cli.Printf(c, "%s\n", ln.Addr())
	cli.Infof(c, "serving %s on %s", path, ln.Addr())
	return serveListener(ctx, ln, path)
}

// serveListener serves each connection with the repository as it is when
// the connection comes (reopened, to see what was written since), until
// ctx ends.
func serveListener(ctx context.Context, ln net.Listener, path string) error {
	var wg sync.WaitGroup
	conns := map[net.Conn]bool{}
	var mu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for conn := range conns {
			conn.Close()
		}
		mu.Unlock()
	})
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			wg.Wait()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		mu.Lock()
		conns[conn] = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				conn.Close()
				mu.Lock()
				delete(conns, conn)
				mu.Unlock()
			}()
			r, err := swarm.Open(path)
			if err != nil {
				fmt.Fprintf(os.Stderr, "jami-swarm: %v\n", err)
				return
			}
			if err := r.Serve(ctx, conn); err != nil && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "jami-swarm: %s: %s: %v\n", path, conn.RemoteAddr(), err)
			}
		}()
	}
}

type cloneResult struct {
	Conversation string `json:"conversation"`
	Path         string `json:"path"`
	Head         string `json:"head"`
	Join         string `json:"join,omitempty"`
}

func cloneCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "clone",
		Usage:     "fetch a whole conversation, validate it, and join it",
		ArgsUsage: "SOURCE [DIR]",
		Description: "jamid's clone: fetch the conversation, validate the whole history as a cloning device does\n" +
			"(with the rules of verify), require that the account is a member or invited, and create\n" +
			"DIR/<conversation ID> (DIR defaults to the account folder's conversations/) with its work tree.\n" +
			"An invited account then joins (a join commit), as jamid does; push it back to the inviter by\n" +
			"letting them pull. Nothing is written when validation fails. Prints the conversation ID.\n\n" +
			sourceHelp + "\n\n" +
			"JSON fields: conversation, path, head, join.\n\n" +
			"Examples:\n" +
			"  jami-swarm clone --account bob ../alice/convs/df0f2db2… bob/convs\n" +
			"  jami-swarm clone --account bob tcp://127.0.0.1:9418",
		Flags: []ucli.Flag{cli.AccountFlag(), cli.PasswordFileFlag(), rulesFlag(), lenientFlag(), cli.JSONFlag(),
			&ucli.StringFlag{Name: "id", Usage: "the conversation `ID` expected (refuse another)"}},
		Action: runClone,
	}
}

func runClone(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 2); err != nil {
		return err
	}
	vopts, err := validateOptions(c)
	if err != nil {
		return err
	}
	var expect plumbing.Hash
	if id := strings.ToLower(c.String("id")); id != "" {
		if !isConvID(id) {
			return cli.UsageErrorf("--id %q is not a conversation ID (40 hex characters)", id)
		}
		expect = plumbing.NewHash(id)
	}
	if c.Args().Get(1) == "" && isFile(c.String("account")) {
		return cli.UsageErrorf("clone: give the folder DIR to create the conversation in (the account is not a folder)")
	}
	a, err := loadAccount(c)
	if err != nil {
		return err
	}
	parent := c.Args().Get(1)
	if parent == "" {
		parent = a.conversationsDir()
	}
	src := c.Args().First()
	var r *swarm.Repo
	err = withStream(c, src, func(rw io.ReadWriter) error {
		var err error
		r, err = swarm.Clone(c.Context, rw, parent, swarm.CloneOptions{Identity: a.id, ConversationID: expect, Validate: vopts})
		return err
	})
	if err != nil {
		return fmt.Errorf("clone from %s: %w", src, err)
	}
	conv, _ := r.ConversationID()
	res := cloneResult{Conversation: conv.String()}
	res.Path, _ = filepath.Abs(r.Path)
	if m, err := r.Members(); err == nil {
		for _, x := range m {
			if x.URI == a.id.AccountURI() && x.Role == swarm.RoleInvited {
				unlock, err := r.Lock()
				if err != nil {
					return err
				}
				j, err := r.Join(a.id, now())
				unlock()
				if err != nil {
					return fmt.Errorf("%s: cloned, but the join failed: %w", r.Path, err)
				}
				res.Join = j.ID.String()
			}
		}
	}
	head, _ := r.Head()
	res.Head = head.String()
	return cli.PrintResult(c, res, func() {
		cli.Printf(c, "%s\n", conv)
		if res.Join != "" {
			cli.Infof(c, "cloned into %s and joined (%s)", r.Path, res.Join)
		} else {
			cli.Infof(c, "cloned into %s", r.Path)
		}
	})
}
