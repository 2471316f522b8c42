package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
	gethlog "github.com/ethereum/go-ethereum/log"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/ns"
	"github.com/jamikit/jamikit/lib/ns/chain"
	ucli "github.com/urfave/cli/v2"
)

const (
	envData   = "JAMI_NS_DATA"
	envRPCURL = "JAMI_NS_RPC_URL"
)

// defaultDataDir is $XDG_DATA_HOME/jami-ns, else ~/.local/share/jami-ns.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "jami-ns")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "jami-ns")
	}
	return ""
}

// backendFlags select the chain: the embedded one in --data (default),
// in memory (--ephemeral, serve only), or a node (--rpc-url …).
func backendFlags(ephemeral bool) []ucli.Flag {
	fl := []ucli.Flag{
		&ucli.StringFlag{Name: "data", Aliases: []string{"d"}, EnvVars: []string{envData}, TakesFile: true,
			Usage: "data `DIR` of the embedded chain: chain, server key, contract address, journal (default $XDG_DATA_HOME/jami-ns)"},
	}
	if ephemeral {
		fl = append(fl, &ucli.BoolFlag{Name: "ephemeral", Usage: "run the embedded chain in memory: everything is lost at exit (tests, demos)"})
	}
	return append(fl,
		&ucli.StringFlag{Name: "rpc-url", EnvVars: []string{envRPCURL},
			Usage: "use the registrar on a real node at `URL` (http, ws or IPC) instead of the embedded chain; needs --contract and --key-file"},
		&ucli.StringFlag{Name: "contract", Usage: "with --rpc-url: the registrar contract's `ADDRESS`"},
		&ucli.StringFlag{Name: "key-file", TakesFile: true,
			Usage: "with --rpc-url: `FILE` holding the server account's secp256k1 key (64 hex digits), which signs and pays for registrations"},
		&ucli.Uint64Flag{Name: "from-block", Usage: "with --rpc-url: first `BLOCK` to scan for registrations (export)"},
	)
}

// backend is an opened chain.
type backend struct {
	reg       ns.Registrar
	embedded  *chain.Embedded // nil in RPC mode
	journal   *ns.Journal
	journaled []ns.Record
	what      string // for the start-up message
}

func (b *backend) Close() error { return b.reg.Close() }

// setupGethLog sends go-ethereum's errors to stderr, and its warnings and
// info messages with -v. Its warnings are about node operation that is
// routine here (a fresh chain's head, a receipt asked for while indexing).
func setupGethLog(c *ucli.Context) {
	level := slog.LevelError
	if cli.Verbose(c) {
		level = slog.LevelInfo
	}
	gethlog.SetDefault(gethlog.NewLogger(slog.NewTextHandler(cli.Stderr(c), &slog.HandlerOptions{Level: level})))
}

// openBackend opens the chain the flags select.
func openBackend(ctx context.Context, c *ucli.Context, rpcListen string) (*backend, error) {
	setupGethLog(c)
	ephemeral := c.Bool("ephemeral")
	rpcURL := c.String("rpc-url")
	if rpcURL != "" {
		if ephemeral || c.String("data") != "" {
			return nil, cli.UsageErrorf("--rpc-url excludes --data and --ephemeral")
		}
		if rpcListen != "" {
			return nil, cli.UsageErrorf("--rpc-listen exposes the embedded chain; it excludes --rpc-url")
		}
		return openRPC(ctx, c, rpcURL)
	}
	for _, f := range []string{"contract", "key-file", "from-block"} {
		if c.IsSet(f) {
			return nil, cli.UsageErrorf("--%s needs --rpc-url", f)
		}
	}
	cfg := chain.EmbeddedConfig{RPCListen: rpcListen, Logger: slog.Default()}
	what := "embedded chain in memory"
	if ephemeral {
		if c.String("data") != "" {
			return nil, cli.UsageErrorf("--ephemeral excludes --data")
		}
	} else {
		cfg.DataDir = c.String("data")
		if cfg.DataDir == "" {
			cfg.DataDir = defaultDataDir()
		}
		if cfg.DataDir == "" {
			return nil, cli.UsageErrorf("no data directory: give --data DIR (or --ephemeral)")
		}
		what = "embedded chain in " + cfg.DataDir
	}
	e, err := chain.OpenEmbedded(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &backend{reg: e, embedded: e, journal: e.Journal(), journaled: e.Journaled(),
		what: fmt.Sprintf("%s, registrar %s, server account %s", what, addrHex(e.Address()), addrHex(e.Account()))}, nil
}

func openRPC(ctx context.Context, c *ucli.Context, url string) (*backend, error) {
	if !c.IsSet("contract") || !c.IsSet("key-file") {
		return nil, cli.UsageErrorf("--rpc-url needs --contract ADDRESS and --key-file FILE")
	}
	addr, err := ns.ParseOwner(c.String("contract"))
	if err != nil {
		return nil, cli.UsageErrorf("--contract %q: not an address", c.String("contract"))
	}
	key, err := chain.LoadKey(c.String("key-file"))
	if err != nil {
		return nil, err
	}
	ct, err := chain.DialRPC(ctx, chain.RPCConfig{URL: url, Contract: common.Address(addr), Key: key, FromBlock: c.Uint64("from-block")})
	if err != nil {
		return nil, err
	}
	return &backend{reg: ct, what: fmt.Sprintf("node %s (chain %s), registrar %s, server account %s", url, ct.ChainID(), addrHex(ct.Address()), addrHex(ct.Account()))}, nil
}

func addrHex(a common.Address) string { return ns.Address(a).Hex() }

// recover re-applies what the journal has and the chain lost.
func (b *backend) recover(ctx context.Context, c *ucli.Context, svc *ns.Service) error {
	if len(b.journaled) == 0 {
		return nil
	}
	n, err := svc.Recover(ctx, b.journaled)
	if err != nil {
		return fmt.Errorf("recovering from the journal: %w", err)
	}
	if n > 0 {
		cli.Infof(c, "jami-ns: re-applied %d journaled registration(s) the chain had lost", n)
	}
	return nil
}
