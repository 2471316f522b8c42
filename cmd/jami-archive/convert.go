package main

import (
	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

func convertCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "convert",
		Usage:     "rewrite an archive as encrypted, gzip or plain JSON",
		ArgsUsage: "FILE|DIR|-",
		Description: "Reads any archive jamid accepts and writes it in the form --to asks for:\n" +
			"  encrypted  Argon2i + AES-256-GCM over zlib, as jamid writes with a password\n" +
			"  gzip       as jamid writes without a password\n" +
			"  json       the bare JSON document (jamid imports it without a password)\n" +
			"The document is normalized as jamid writes it (sorted keys, \\u escapes, keys as base64 of\n" +
			"PEM, no TLS.*File copies of a device key). For encrypted output the password is\n" +
			"--new-password-file / $JAMI_NEW_PASSWORD, else the input's password, else a prompt.\n" +
			"gzip and json outputs hold the private keys in clear (files are created 0600). -o - writes\n" +
			"to stdout.\n\n" +
			"Examples:\n" +
			"  jami-archive convert archive.gz --to json -o - --password-file pw | jq 'keys'\n" +
			"  jami-archive convert clear.gz --to encrypted --new-password-file pw -o archive.gz",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "to", Usage: "output form: `FORM` = encrypted, gzip or json", Required: true},
			cli.OutputFlag("write to `FILE` (- for stdout)"),
			cli.PasswordFileFlag(),
			keyFileFlag(),
			cli.NewPasswordFileFlag(),
			cli.ForceFlag(),
		},
		Action: runConvert,
	}
}

func runConvert(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	form, err := archive.ParseFormat(c.String("to"))
	if err != nil {
		return cli.UsageErrorf("--to: %v", err)
	}
	out, err := outputPath(c)
	if err != nil {
		return err
	}
	if form != archive.FormatEncrypted && c.IsSet("new-password-file") {
		return cli.UsageErrorf("--new-password-file: --to %s writes no password", form)
	}
	s, err := openArchive(c, c.Args().First())
	if err != nil {
		return err
	}
	var data []byte
	if form == archive.FormatEncrypted {
		data, _, err = encodeOutput(c, s, false)
	} else {
		data, err = archive.EncodeFormat(s.Archive, form, archive.Key{}, nil)
	}
	if err != nil {
		return err
	}
	if err := cli.WriteOutput(c, out, data, 0o600); err != nil {
		return err
	}
	if out != "-" {
		cli.Infof(c, "wrote %s: %s, Jami ID %s", out, form, s.Archive.JamiID())
	}
	return nil
}
