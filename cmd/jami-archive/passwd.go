package main

import (
	"os"

	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

func passwdCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "passwd",
		Usage:     "change or remove the password of an archive",
		ArgsUsage: "FILE",
		Description: "Reads FILE with its current password (--password-file, $JAMI_PASSWORD, or none for an\n" +
			"unencrypted archive) and writes it again with the new one (--new-password-file,\n" +
			"$JAMI_NEW_PASSWORD, or a prompt), or without a password (--no-password), like jamid's\n" +
			"changeAccountPassword. FILE is replaced atomically, or left alone when -o names another file.\n" +
			"For the archive.gz of a jamid account folder, stop jamid first and keep its config.yml's\n" +
			"Account.archiveHasPassword in line.\n\n" +
			"Examples:\n" +
			"  jami-archive passwd archive.gz --password-file old --new-password-file new\n" +
			"  jami-archive passwd archive.gz --password-file old --no-password -o clear.gz",
		Flags: []ucli.Flag{
			cli.PasswordFileFlag(),
			keyFileFlag(),
			cli.NewPasswordFileFlag(),
			cli.NoPasswordFlag(),
			cli.OutputFlag("write to `FILE` instead of replacing the archive"),
			cli.ForceFlag(),
		},
		Action: runPasswd,
	}
}

func runPasswd(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	in := c.Args().First()
	if in == "-" {
		return cli.UsageErrorf("passwd: FILE cannot be stdin (use convert)")
	}
	if fi, err := os.Stat(in); err == nil && fi.IsDir() {
		// config.yml's Account.archiveHasPassword must change with the archive.
		return cli.UsageErrorf("passwd: %s is a folder: give its archive file (with jamid stopped, and keep Account.archiveHasPassword in config.yml in line)", in)
	}
	s, err := openArchive(c, in)
	if err != nil {
		return err
	}
	// A new password is the point of the command: never fall back to the
	// old one; and a fresh salt, as jamid's changeAccountPassword.
	pw, err := newPassword(c)
	if err != nil {
		return err
	}
	data, err := archive.Encode(s.Archive, pw)
	if err != nil {
		return err
	}
	out, inPlace := c.String("output"), false
	if out == "" {
		out, inPlace = s.Path, true
	}
	if inPlace {
		err = atomicfile.WriteFile(out, data, atomicfile.Options{Perm: 0o600, Force: true})
	} else {
		err = cli.WriteOutput(c, out, data, 0o600)
	}
	if err != nil {
		return err
	}
	cli.Infof(c, "%s", describe(out, s.Archive, pw != nil))
	return nil
}
