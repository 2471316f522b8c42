package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

// Flags of this tool's subcommands. Each call returns a fresh flag.

func keyFileFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "key-file", TakesFile: true,
		Usage: "unlock with the archive's AES key instead of its password: base64 of 32 bytes in `FILE` (jamid's \"key\" scheme; show --private prints it)"}
}

// archiveConfigFlag sets settings inside the archive (D-Bus names), as
// jami-keygen's flag of the same name; --config is for config.yml (YAML names).
func archiveConfigFlag() ucli.Flag {
	return &ucli.StringSliceFlag{Name: "archive-config",
		Usage: "set an account setting inside the archive, `KEY=VALUE` with jamid's D-Bus names (repeatable), e.g. Account.alias=alice; jamid applies them when it imports the archive"}
}

// unlocking is what unlocks an archive on this command line: --key-file,
// else the password (--password-file, $JAMI_PASSWORD, a prompt).
func unlocking(c *ucli.Context) account.Unlock {
	u := account.Unlock{Password: cli.ArchivePassword(false).Bind(c)}
	if c.IsSet("key-file") {
		u.Key = func() (archive.Key, error) {
			if c.IsSet("password-file") {
				return archive.Key{}, cli.UsageErrorf("--key-file and --password-file exclude each other")
			}
			return readKeyFile(c.String("key-file"))
		}
	}
	return u
}

// openArchive reads and unlocks FILE, "-" (stdin) or the archive of an
// account folder.
func openArchive(c *ucli.Context, path string) (*account.Source, error) {
	return account.OpenSource(path, cli.Stdin(c), unlocking(c))
}

// readKeyFile reads an archive key: base64 (or hex) of 32 bytes, first line.
func readKeyFile(path string) (archive.Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return archive.Key{}, fmt.Errorf("key file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	k, err := archive.ParseKey(strings.TrimSpace(line))
	if err != nil {
		return k, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// newPassword is the password of an archive being written: --no-password,
// else --new-password-file / $JAMI_NEW_PASSWORD, else a prompt.
func newPassword(c *ucli.Context) (*string, error) {
	return cli.NewPassword(c, "new archive", cli.NewArchivePassword())
}

// encodeOutput encodes the archive read as s for writing: gzip with
// --no-password; encrypted with --new-password-file / $JAMI_NEW_PASSWORD;
// else locked as the input was (same key and salt: no second Argon2); else,
// for unencrypted input, unencrypted if plainOK, or with a password asked on
// the terminal. It reports whether the result is encrypted.
func encodeOutput(c *ucli.Context, s *account.Source, plainOK bool) ([]byte, bool, error) {
	if c.Bool("no-password") || cli.NewArchivePassword().Given(c) || (s.Key == nil && !plainOK) {
		pw, err := newPassword(c)
		if err != nil {
			return nil, false, err
		}
		data, _, err := s.Encode(pw)
		return data, pw != nil, err
	}
	data, err := s.EncodeSameLock()
	return data, s.Key != nil, err
}

// outputPath checks -o.
func outputPath(c *ucli.Context) (string, error) {
	out := c.String("output")
	if out == "" {
		return "", cli.UsageErrorf("%s: -o/--output is required", c.Command.Name)
	}
	return out, nil
}

// describe is the one-line summary writers print on stderr.
func describe(path string, a *archive.Archive, encrypted bool) string {
	how := "unencrypted (gzip)"
	if encrypted {
		how = "encrypted"
	}
	return fmt.Sprintf("wrote %s: %s, Jami ID %s", filepath.Clean(path), how, a.JamiID())
}
