package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/identity"
	"github.com/jamikit/jamikit/lib/ns"
	ucli "github.com/urfave/cli/v2"
)

const (
	defaultServer = ns.DefaultServer
	envServer     = "JAMI_NS_URL"
)

func serverFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "server", Aliases: []string{"s"}, Value: defaultServer, EnvVars: []string{envServer},
		Usage: "name server `URL`; @FILE reads the URL from the first line of FILE (as serve --addr-file writes it)"}
}

// newClient is the client of --server.
func newClient(c *ucli.Context) (*ns.Client, error) {
	server := c.String("server")
	if file, ok := strings.CutPrefix(server, "@"); ok {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--server: %w", err)
		}
		server, _, _ = strings.Cut(string(b), "\n")
		server = strings.TrimSpace(server)
	}
	if !strings.HasPrefix(server, "http://") && !strings.HasPrefix(server, "https://") {
		return nil, cli.UsageErrorf("--server %q: want an http:// or https:// URL", server)
	}
	return &ns.Client{Server: server, HTTP: &http.Client{}, UserAgent: "jami-ns/" + strings.Fields(cli.VersionString())[0]}, nil
}

// requestContext bounds the requests of a command by --timeout.
func requestContext(c *ucli.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Context, c.Duration("timeout"))
}

func clientFlags(extra ...ucli.Flag) []ucli.Flag {
	return append([]ucli.Flag{serverFlag(), cli.TimeoutFlag(30 * time.Second), cli.JSONFlag(), cli.FieldFlag()}, extra...)
}

func noVerifyFlag() ucli.Flag {
	return &ucli.BoolFlag{Name: "no-verify", Usage: "print the server's answer even when it does not verify (--json says verified: false)"}
}

// nameResult is the --json output of lookup and reverse.
type nameResult struct {
	Name      string `json:"name"`
	JamiID    string `json:"jami_id"`
	Signed    bool   `json:"signed"`   // the record carries a key and a signature
	Verified  bool   `json:"verified"` // and they check: key ↔ Jami ID, signature over the name
	Problem   string `json:"problem,omitempty"`
	PublicKey string `json:"publickey,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// checked turns a lookup answer into a result, verified as the daemon
// does; an answer that does not verify is an error unless --no-verify.
func checked(c *ucli.Context, asked string, info *ns.NameInfo) (nameResult, error) {
	r := nameResult{Name: info.Name, PublicKey: info.PublicKey, Signature: info.Signature}
	if r.Name == "" {
		r.Name = ns.CanonicalName(asked)
	}
	id, ver, err := info.Check(asked)
	r.JamiID = strings.TrimPrefix(strings.ToLower(info.Addr), "0x")
	if err == nil {
		r.JamiID = id.String()
	}
	r.Signed = info.PublicKey != "" && info.Signature != ""
	r.Verified = err == nil && ver == ns.SignatureValid
	if err != nil {
		r.Problem = err.Error()
		if !c.Bool("no-verify") {
			return r, fmt.Errorf("%s: the server's answer does not verify: %v", r.Name, err)
		}
	}
	return r, nil
}

func explain(c *ucli.Context, r nameResult) {
	switch {
	case r.Verified:
		cli.Infof(c, "%s: verified: the record's key hashes to %s and signed the name", r.Name, r.JamiID)
	case r.Problem != "":
		cli.Infof(c, "%s: NOT verified: %s", r.Name, r.Problem)
	default:
		cli.Infof(c, "%s: unsigned record (a legacy registration): only the server vouches for it", r.Name)
	}
}

func lookupCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "lookup",
		Usage:     "print the Jami ID registered for a name, checked",
		ArgsUsage: "NAME",
		Description: "Asks the name server for NAME (lowercased, as the daemon registers it) and prints its Jami ID.\n" +
			"The answer is checked as the daemon checks it, and more strictly: the public key in the record must\n" +
			"hash to the Jami ID, and its signature over the name must verify. A record that does not verify is\n" +
			"an error (exit 1) unless --no-verify; a name that is not registered exits 3.\n\n" +
			"Examples:\n" +
			"  jami-ns lookup alice\n" +
			"  jami-ns lookup Alice --server http://127.0.0.1:8080 --json\n" +
			"  ID=$(jami-ns lookup alice -q)",
		Flags:  clientFlags(noVerifyFlag()),
		Action: runLookup,
	}
}

func runLookup(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	name := c.Args().First()
	if name == "" {
		return cli.UsageErrorf("lookup: empty name")
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := requestContext(c)
	defer cancel()
	info, err := cl.LookupName(ctx, name)
	if errors.Is(err, ns.ErrNotFound) {
		return cli.NotFoundf("%s: name not registered", ns.CanonicalName(name))
	}
	if err != nil {
		return err
	}
	r, err := checked(c, name, info)
	if err != nil {
		return err
	}
	return cli.PrintResult(c, r, func() {
		explain(c, r)
		cli.Printf(c, "%s\n", r.JamiID)
	})
}

func reverseCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "reverse",
		Aliases:   []string{"addr"},
		Usage:     "print the name registered for a Jami ID, checked",
		ArgsUsage: "JAMI_ID",
		Description: "Asks the name server for the name of JAMI_ID (40 hex digits; jami:, ring: and 0x prefixes are\n" +
			"accepted), then looks that name up and checks that it leads back to JAMI_ID with a key that hashes\n" +
			"to it and a valid signature over the name. Not registered: exit 3.\n\n" +
			"Examples:\n" +
			"  jami-ns reverse c327740ddd80d9ca2489862f60272aa7ee928aeb\n" +
			"  jami-ns reverse jami:c327740ddd80d9ca2489862f60272aa7ee928aeb --json",
		Flags:  clientFlags(noVerifyFlag()),
		Action: runReverse,
	}
}

func runReverse(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	id, err := ns.ParseJamiID(c.Args().First())
	if err != nil {
		return cli.UsageErrorf("%q: %v", c.Args().First(), err)
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := requestContext(c)
	defer cancel()
	name, err := cl.LookupAddr(ctx, id)
	if errors.Is(err, ns.ErrNotFound) {
		return cli.NotFoundf("%s: no name registered", id)
	}
	if err != nil {
		return err
	}
	// The reverse answer is only a name; the record behind it is what
	// can be checked.
	r := nameResult{Name: name, JamiID: id.String()}
	info, err := cl.LookupName(ctx, name)
	switch {
	case errors.Is(err, ns.ErrNotFound):
		r.Problem = fmt.Sprintf("the server names %s %q, but has no record for that name", id, name)
	case err != nil:
		return err
	default:
		if r, err = checked(c, name, info); err != nil {
			return err
		}
		if r.JamiID != id.String() {
			r.Verified, r.Problem = false, fmt.Sprintf("the record of %q is for %s, not %s", name, r.JamiID, id)
			r.JamiID = id.String()
		}
	}
	if r.Problem != "" && !c.Bool("no-verify") {
		return fmt.Errorf("%s: the server's answer does not verify: %s", id, r.Problem)
	}
	return cli.PrintResult(c, r, func() {
		explain(c, r)
		cli.Printf(c, "%s\n", r.Name)
	})
}

// registerResult is the --json output of register.
type registerResult struct {
	Name   string `json:"name"`
	JamiID string `json:"jami_id"`
	Owner  string `json:"owner"`
}

func registerCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "register",
		Usage:     "register a name for an account",
		ArgsUsage: "NAME",
		Description: "Registers NAME (lowercased) for the account given with --account (a jamid account folder or an\n" +
			"archive; the password of an encrypted archive from --password-file, $JAMI_PASSWORD or a prompt).\n" +
			"It posts exactly what jamid 13.7.0 posts: the Jami ID, the account's Ethereum address as owner, the\n" +
			"account key's signature over the name and its public key. The server's answer is explained: a name\n" +
			"already taken, an account that already has a name, a refused signature, a server error (exit 1).\n\n" +
			"Examples:\n" +
			"  jami-ns register alice --account ~/.local/share/jami/1a2b3c4d5e6f7a8b\n" +
			"  jami-ns register alice --account alice.gz --password-file pw --server http://127.0.0.1:8080",
		Flags:  clientFlags(cli.AccountFlag(), cli.PasswordFileFlag()),
		Action: runRegister,
	}
}

func runRegister(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	name := ns.CanonicalName(c.Args().First())
	if !ns.ValidName(name) {
		return cli.UsageErrorf("%q: %v", c.Args().First(), ns.ErrInvalidName)
	}
	path := c.String("account")
	if path == "" {
		return cli.UsageErrorf("register: --account is required: a jamid account folder or an archive")
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	// The archive first: --timeout bounds the request, not a password prompt.
	src, err := account.OpenSource(path, cli.Stdin(c), account.Unlock{Password: cli.ArchivePassword(false).Bind(c)})
	if err != nil {
		return err
	}
	a := src.Archive
	if len(a.EthKey) == 0 {
		return fmt.Errorf("%s: the account has no Ethereum key: nothing can own the name", src.Path)
	}
	eth, err := identity.EthAddress(a.EthKey)
	if err != nil {
		return fmt.Errorf("%s: %w", src.Path, err)
	}
	owner, err := ns.ParseOwner(eth)
	if err != nil {
		return fmt.Errorf("%s: %w", src.Path, err)
	}
	rec, err := ns.NewRecord(a.AccountKey, owner, name)
	if err != nil {
		return err
	}
	ctx, cancel := requestContext(c)
	defer cancel()
	if err := cl.Register(ctx, rec); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	r := registerResult{Name: rec.Name, JamiID: rec.Addr.String(), Owner: rec.Owner.Hex()}
	return cli.PrintResult(c, r, func() {
		cli.Printf(c, "registered %s for %s\n", r.Name, r.JamiID)
	})
}
