package main

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/ns"
	ucli "github.com/urfave/cli/v2"
)

func exportCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "export",
		Usage: "write every record of a server's chain as a name dump",
		Description: "Lists every registration of the registrar (from its PrimaryChanged events, each record read back\n" +
			"from the contract) in the reference's dump format, a JSON array of {name, addr, owner, publickey,\n" +
			"signature} as read_names.js writes it, to stdout or --output. The chain is opened directly: stop\n" +
			"the server of the same --data first.\n\n" +
			"Examples:\n" +
			"  jami-ns export --data /var/lib/jami-ns -o names.json\n" +
			"  jami-ns export --rpc-url http://127.0.0.1:8545 --contract 0xe53cb2ace8707526a5050bec7bcf979c57f8b44f --key-file server.key",
		Flags:  append([]ucli.Flag{cli.OutputFlag("write the dump to `FILE` (default stdout)"), cli.ForceFlag()}, backendFlags(false)...),
		Action: runExport,
	}
}

func runExport(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	out := c.String("output")
	if out == "" {
		out = "-"
	}
	if err := cli.CheckOutput(out, c.Bool("force")); err != nil {
		return err
	}
	b, err := openBackend(c.Context, c, "")
	if err != nil {
		return err
	}
	defer b.Close()
	// No lookups here: no cache, and no event feed to follow.
	svc := ns.NewService(b.reg, ns.Options{Journal: b.journal, CacheBytes: -1, Logger: cli.Logger(c)})
	defer svc.Close()
	if err := b.recover(c.Context, c, svc); err != nil {
		return err
	}
	var recs []ns.Record
	if err := b.reg.Records(c.Context, func(r ns.Record) error { recs = append(recs, r); return nil }); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := ns.WriteDump(&buf, recs); err != nil {
		return err
	}
	if err := cli.WriteOutput(c, out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	cli.Infof(c, "jami-ns: exported %d record(s)", len(recs))
	return nil
}

// importResult is the --json output of import.
type importResult struct {
	Registered int `json:"registered"`
	Present    int `json:"present"`
	Refused    int `json:"refused"`
}

func importCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "import",
		Usage:     "register the records of a name dump",
		ArgsUsage: "FILE|-",
		Description: "Registers every record of FILE: a dump as export or read_names.js writes it, or a journal (one\n" +
			"record a line). Each record goes through the same checks and the same pipeline as a registration\n" +
			"posted to the server (signature, key ↔ Jami ID, non-zero owner; unsigned ones only with\n" +
			"--allow-unsigned). Records already registered identically are counted as present; refused ones are\n" +
			"listed on stderr and make the command exit 1 once all were tried.\n\n" +
			"Examples:\n" +
			"  jami-ns import names.json --data /var/lib/jami-ns\n" +
			"  jami-ns export --data old | jami-ns import - --data new",
		Flags: append([]ucli.Flag{
			&ucli.BoolFlag{Name: "allow-unsigned", Usage: "accept records without public key and signature"},
			cli.JSONFlag(),
		}, backendFlags(false)...),
		Action: runImport,
	}
}

func runImport(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	name, data, err := cli.ReadInput(c, c.Args().First(), archive.MaxSize)
	if err != nil {
		return err
	}
	recs, err := ns.ReadDump(data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	b, err := openBackend(c.Context, c, "")
	if err != nil {
		return err
	}
	defer b.Close()
	svc := ns.NewService(b.reg, ns.Options{AllowUnsigned: c.Bool("allow-unsigned"), Journal: b.journal, CacheBytes: -1, Logger: cli.Logger(c)})
	defer svc.Close()
	if err := b.recover(c.Context, c, svc); err != nil {
		return err
	}
	var res importResult
	for _, r := range recs {
		cur, err := b.reg.Get(c.Context, r.Name)
		if err != nil {
			return err
		}
		present := !cur.Free() && cur.Owner == r.Owner && cur.Addr == r.Addr
		err = svc.Register(c.Context, r)
		var reqErr *ns.RequestError
		var taken *ns.TakenError
		switch {
		case err == nil && present:
			res.Present++
		case err == nil:
			res.Registered++
		case errors.As(err, &reqErr), errors.As(err, &taken):
			res.Refused++
			cli.Infof(c, "jami-ns: %s: %q refused: %v", name, r.Name, err)
		default:
			return fmt.Errorf("%q: %w", r.Name, err)
		}
	}
	if cli.JSON(c) {
		if err := cli.PrintJSON(c, res); err != nil {
			return err
		}
	} else {
		cli.Infof(c, "jami-ns: %d registered, %d already present, %d refused", res.Registered, res.Present, res.Refused)
	}
	if res.Refused > 0 {
		return cli.Errorf(cli.ExitFailure, "%s: %d of %d record(s) refused", name, res.Refused, len(recs))
	}
	return nil
}
