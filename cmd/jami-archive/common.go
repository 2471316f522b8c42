package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

const envNewPassword = "JAMI_NEW_PASSWORD"

// Flags shared by the subcommands. Each call returns a fresh flag.

func keyFileFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "key-file", TakesFile: true,
		Usage: "unlock with the archive's AES key instead of its password: base64 of 32 bytes in `FILE` (jamid's \"key\" scheme; show --private prints it)"}
}

func newPasswordFileFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "new-password-file", TakesFile: true,
		Usage: "password for the archive written, from `FILE` (first line); else $" + envNewPassword + ", else a prompt"}
}

func noPasswordFlag() ucli.Flag {
	return &ucli.BoolFlag{Name: "no-password", Usage: "write the archive without a password (gzip; private keys in clear)"}
}

// archiveConfigFlag sets settings inside the archive (D-Bus names), as
// jami-keygen's flag of the same name; --config is for config.yml (YAML names).
func archiveConfigFlag() ucli.Flag {
	return &ucli.StringSliceFlag{Name: "archive-config",
		Usage: "set an account setting inside the archive, `KEY=VALUE` with jamid's D-Bus names (repeatable), e.g. Account.alias=alice; jamid applies them when it imports the archive"}
}

func readPassword() cli.Secret { return cli.ArchivePassword(false) }

func newPasswordSecret() cli.Secret {
	return cli.Secret{FileFlag: "new-password-file", Env: envNewPassword, Prompt: "New archive password", Confirm: true}
}

// creds is how an archive was unlocked, to write it again the same way.
type creds struct {
	pw  *string      // the password, when one was used
	key *archive.Key // the AES key (given with --key-file, or derived from pw)
}

// opened is an archive read from a file.
type opened struct {
	path   string          // the archive file (a folder argument resolved to its archive)
	folder *account.Folder // the account folder, when one was given
	data   []byte
	arch   *archive.Archive
	creds
}

// input is what readInput read.
type input struct {
	path   string
	folder *account.Folder
	data   []byte
}

// readInput reads FILE, "-" (stdin) or, for a jamid account folder, its archive.
func readInput(c *ucli.Context, path string) (*input, error) {
	if path == "-" {
		data, err := io.ReadAll(io.LimitReader(c.App.Reader, archive.MaxSize+1))
		if err != nil {
			return nil, fmt.Errorf("stdin: %w", err)
		}
		if len(data) > archive.MaxSize {
			return nil, fmt.Errorf("stdin: %w: larger than %d MiB", archive.ErrNotArchive, archive.MaxSize>>20)
		}
		return &input{path: "stdin", data: data}, nil
	}
	in := &input{path: path}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		if in.folder, err = openFolder(path); err != nil {
			return nil, err
		}
		in.path = in.folder.ArchivePath()
	}
	var err error
	in.data, err = archive.ReadBytes(in.path)
	return in, err
}

// openArchive reads and unlocks an archive: with --key-file, or with the
// password (file, $JAMI_PASSWORD, prompt) when the archive is encrypted. A
// password given for an unencrypted archive is an error, as in jamid.
func openArchive(c *ucli.Context, path string) (*opened, error) {
	in, err := readInput(c, path)
	if err != nil {
		return nil, err
	}
	return unlock(c, in)
}

// unlock decodes what readInput read (see openArchive).
func unlock(c *ucli.Context, in *input) (*opened, error) {
	var err error
	path, data := in.path, in.data
	o := &opened{path: path, folder: in.folder, data: data}
	fail := func(err error) (*opened, error) { return nil, fmt.Errorf("%s: %w", path, err) }

	if c.IsSet("key-file") {
		if c.IsSet("password-file") {
			return nil, cli.UsageErrorf("--key-file and --password-file exclude each other")
		}
		key, err := readKeyFile(c.String("key-file"))
		if err != nil {
			return nil, err
		}
		if o.arch, err = archive.DecodeWithKey(data, key); err != nil {
			return fail(err)
		}
		o.key = &key
		return o, nil
	}
	secret := readPassword()
	if !archive.IsEncrypted(data) {
		if secret.Given(c) {
			pw, err := secret.Read(c)
			if err != nil {
				return nil, err
			}
			_, err = archive.Decode(data, &pw)
			if err == nil { // cannot happen: Decode needs encrypted data for a password
				err = archive.ErrNotEncrypted
			}
			return fail(err)
		}
		if o.arch, err = archive.Decode(data, nil); err != nil {
			return fail(err)
		}
		return o, nil
	}
	pw, err := secret.Read(c)
	if errors.Is(err, cli.ErrNoPassword) {
		return fail(fmt.Errorf("%w: use --password-file, $%s or a terminal", archive.ErrPasswordRequired, cli.EnvPassword))
	}
	if err != nil {
		return nil, err
	}
	// Derive once here and keep the key: show --private prints it, and
	// writers reuse it.
	salt, err := archive.SaltOf(data)
	if err != nil {
		return fail(err)
	}
	key := archive.DeriveKey(pw, salt)
	if o.arch, err = archive.DecodeWithKey(data, key); err != nil {
		if errors.Is(err, archive.ErrWrongPassword) {
			err = archive.ErrWrongPassword
		}
		return fail(err)
	}
	o.pw, o.key = &pw, &key
	return o, nil
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

// newPassword decides the password of an archive being written:
// --no-password, else --new-password-file / $JAMI_NEW_PASSWORD, else
// fallback (typically the password the input was read with, nil if none),
// else a prompt with confirmation.
func newPassword(c *ucli.Context, fallback *string) (*string, error) {
	s := newPasswordSecret()
	if c.Bool("no-password") {
		if c.IsSet("new-password-file") {
			return nil, cli.UsageErrorf("--no-password and --new-password-file exclude each other")
		}
		return nil, nil
	}
	if !s.Given(c) && fallback != nil {
		return fallback, nil
	}
	pw, err := s.Read(c)
	if errors.Is(err, cli.ErrNoPassword) {
		return nil, fmt.Errorf("a password is needed for the new archive: use --new-password-file, $%s, a terminal, or --no-password", envNewPassword)
	}
	if err != nil {
		return nil, err
	}
	if pw == "" {
		// jamid treats an empty password as "no password" (gzip archive).
		return nil, errors.New("the new password is empty: use --no-password to write an unencrypted archive")
	}
	return &pw, nil
}

// encode writes the archive encrypted with pw (fresh salt, as jamid 13.7
// does at every save), or as gzip when pw is nil. When pw is the password
// the input was read with, its derived key is reused together with the
// input's salt, which saves an Argon2 derivation (HEAD jamid does the same).
func encode(a *archive.Archive, pw *string, in *creds) ([]byte, error) {
	if pw == nil {
		return archive.Encode(a, nil)
	}
	if in != nil && in.pw != nil && in.key != nil && *in.pw == *pw && len(a.Salt) == archive.SaltSize {
		return archive.EncodeWithKey(a, a.Salt, *in.key)
	}
	return archive.Encode(a, pw)
}

// encodeOutput encodes an archive read as o for writing: gzip with
// --no-password; encrypted with --new-password-file / $JAMI_NEW_PASSWORD;
// else locked as the input was (same password, or same key and salt: no
// second Argon2); else, for unencrypted input, unencrypted if plainOK, or
// with a password asked on the terminal. It reports whether the result is
// encrypted.
func encodeOutput(c *ucli.Context, o *opened, plainOK bool) ([]byte, bool, error) {
	if c.Bool("no-password") || newPasswordSecret().Given(c) || (o.key == nil && !plainOK) {
		pw, err := newPassword(c, nil)
		if err != nil {
			return nil, false, err
		}
		data, err := encode(o.arch, pw, &o.creds)
		return data, pw != nil, err
	}
	if o.key != nil {
		data, err := archive.EncodeWithKey(o.arch, o.arch.Salt, *o.key)
		return data, true, err
	}
	data, err := archive.Encode(o.arch, nil)
	return data, false, err
}

// writeOutput writes data atomically to path (0600), or to stdout for "-".
func writeOutput(c *ucli.Context, path string, data []byte) error {
	if path == "-" {
		_, err := cli.Stdout(c).Write(data)
		return err
	}
	return atomicfile.WriteFile(path, data, atomicfile.Options{Perm: 0o600, Force: c.Bool("force")})
}

// parseConfig reads the KEY=VALUE pairs of a flag.
func parseConfig(c *ucli.Context, flag string) (map[string]string, error) {
	vals := c.StringSlice(flag)
	if len(vals) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(vals))
	for _, kv := range vals {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, cli.UsageErrorf("--%s %q: want KEY=VALUE", flag, kv)
		}
		m[k] = v
	}
	return m, nil
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
