package main

import (
	"fmt"
	"net"
	"time"

	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/ns"
	ucli "github.com/urfave/cli/v2"
)

func serveCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "serve",
		Usage: "run a JamiNS server (the REST API the daemon uses)",
		Description: "Serves GET /name/NAME (and /publickey, /signature, /owner), GET /addr/JAMI_ID and POST /name/NAME\n" +
			"with the JSON and the status codes the Jami daemon expects. The URL it listens on is printed on\n" +
			"stdout (and written to --addr-file): with --listen 127.0.0.1:0 the system picks the port.\n\n" +
			"Every registration is checked before it reaches the chain: the name's rules, the signature over the\n" +
			"name, and that the public key's Jami ID is the one registered (the reference server lets anyone\n" +
			"squat a Jami ID; this one does not). A zero owner is refused, so are unsigned registrations unless\n" +
			"--allow-unsigned. Registrations go one at a time through the registrar contract, and success is\n" +
			"answered only once the contract's event confirms the record and the journal has it on disk.\n\n" +
			"The default chain is embedded and kept in --data: created on the first start (server key, genesis,\n" +
			"registrar contract), reused afterwards, one process per directory. --ephemeral keeps it in memory.\n" +
			"--rpc-url, --contract and --key-file use a registrar on a real node instead (the server key signs\n" +
			"and pays; a key that cannot pay for a registration is refused at start).\n\n" +
			"An access log goes to stderr (-q silences it). SIGINT/SIGTERM stop the server gracefully.\n\n" +
			"Examples:\n" +
			"  jami-ns serve --listen 127.0.0.1:8080 --data /var/lib/jami-ns\n" +
			"  jami-ns serve --listen 127.0.0.1:0 --ephemeral --addr-file ns.url\n" +
			"  jami-ns serve --rpc-url http://127.0.0.1:8545 --contract 0xe53cb2ace8707526a5050bec7bcf979c57f8b44f --key-file server.key",
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "listen", Aliases: []string{"l"}, Value: "127.0.0.1:8080", Usage: "listen on `HOST:PORT` (port 0: any free port)"},
			&ucli.StringFlag{Name: "addr-file", TakesFile: true, Usage: "also write the server's URL to `FILE` once it listens (replaced if present)"},
			&ucli.BoolFlag{Name: "allow-unsigned", Usage: "accept legacy registrations without public key and signature"},
			&ucli.DurationFlag{Name: "confirm-timeout", Value: ns.DefaultConfirmTimeout, Usage: "how long a registration waits for its receipt before it is answered as a server error (it stays in flight)"},
			&ucli.StringFlag{Name: "rpc-listen", Usage: "expose the embedded chain's JSON-RPC (eth, net, web3) on `HOST:PORT`, e.g. for another jami-ns with --rpc-url"},
		}, backendFlags(true)...),
		Action: runServe,
	}
}

func runServe(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	ctx := c.Context
	// The chain first: a data directory in use is the error to report,
	// not the port its server holds.
	b, err := openBackend(ctx, c, c.String("rpc-listen"))
	if err != nil {
		return err
	}
	defer b.Close()
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return err
	}
	defer ln.Close()
	svc := ns.NewService(b.reg, ns.Options{
		AllowUnsigned:  c.Bool("allow-unsigned"),
		Journal:        b.journal,
		ConfirmTimeout: c.Duration("confirm-timeout"),
		// "Not registered" is cached only where this server is the
		// chain's one writer: the embedded chain without --rpc-listen.
		// A node, or a chain exposed to other servers, takes
		// registrations this server learns of only from their events,
		// after the other server may have answered 200 (see lib/ns).
		CacheNotFound: b.embedded != nil && c.String("rpc-listen") == "",
		Logger:        cli.Logger(c),
	})
	defer svc.Close()
	if err := b.recover(ctx, c, svc); err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if f := c.String("addr-file"); f != "" {
		if err := atomicfile.WriteFile(f, []byte(url+"\n"), atomicfile.Options{Perm: 0o644, Force: true}); err != nil {
			return err
		}
	}
	// The details first: whoever waits for the URL on stdout finds them.
	cli.Infof(c, "jami-ns: serving on %s: %s", url, b.what)
	if b.embedded != nil && b.embedded.RPCURL() != "" {
		cli.Infof(c, "jami-ns: chain JSON-RPC on %s", b.embedded.RPCURL())
	}
	cli.Printf(c, "%s\n", url)
	srv := &ns.Server{Service: svc, AllowUnsigned: c.Bool("allow-unsigned"), Logger: cli.Logger(c),
		ShutdownGrace: c.Duration("confirm-timeout") + 5*time.Second}
	if !cli.Quiet(c) {
		srv.AccessLog = cli.Stderr(c)
	}
	if err := srv.Serve(ctx, ln); err != nil {
		return fmt.Errorf("serving: %w", err)
	}
	// Stopped by a signal: the deferred closes shut the pipeline, then the
	// chain (state flushed) and the journal.
	return ctx.Err()
}
