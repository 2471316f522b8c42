package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

// maxInput bounds what is read from a file or stdin: certificates, keys and
// archives are kilobytes; archive.MaxSize is already generous.
const maxInput = archive.MaxSize

func noPasswordFlag() ucli.Flag {
	return &ucli.BoolFlag{Name: "no-password", Usage: "write the archive without a password (gzip: private keys in clear)"}
}

func nameFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "name", Usage: "device `NAME` written to config.yml (Account.deviceName); default: the host name"}
}

func configFlag() ucli.Flag {
	return &ucli.StringSliceFlag{Name: "config", Aliases: []string{"c"},
		Usage: "set a config.yml entry of the account folder, `KEY=VALUE` with jamid's YAML names (repeatable), e.g. hostname=127.0.0.1:4222, upnpEnabled=false, turnEnabled=false"}
}

// readInput reads a file, or stdin for "-".
func readInput(c *ucli.Context, path string) (string, []byte, error) {
	var r io.Reader
	name := path
	if path == "-" {
		r, name = c.App.Reader, "stdin"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return path, nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return name, nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxInput {
		return name, nil, fmt.Errorf("%s: larger than %d MiB: not a key, certificate or archive", name, maxInput>>20)
	}
	return name, data, nil
}

// opened is an account read from --account: an archive file, or a jamid
// account folder and its archive.
type opened struct {
	path   string          // the archive file
	folder *account.Folder // when the account was given as a folder
	data   []byte          // the archive as read
	arch   *archive.Archive
	pw     *string      // the password, when the archive is encrypted
	key    *archive.Key // the key derived from it, to write the archive again without Argon2
}

// accountPath is --account (or $JAMI_ACCOUNT); required.
func accountPath(c *ucli.Context) (string, error) {
	p := c.String("account")
	if p == "" {
		return "", cli.UsageErrorf("%s: --account is required: an archive file or a jamid account folder", c.Command.Name)
	}
	return p, nil
}

// openAccount reads an account and unlocks its archive.
func openAccount(c *ucli.Context, path string) (*opened, error) {
	o := &opened{path: path}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		if o.folder, err = account.Open(path); err != nil {
			return nil, err
		}
		o.path = o.folder.ArchivePath()
	}
	var err error
	if o.data, err = archive.ReadBytes(o.path); err != nil {
		return nil, err
	}
	if o.arch, o.pw, o.key, err = unlock(c, o.path, o.data); err != nil {
		return nil, err
	}
	if o.folder != nil && o.arch.JamiID() != o.folder.JamiID() {
		return nil, fmt.Errorf("%s: archive is for account %s, the folder for %s", o.path, o.arch.JamiID(), o.folder.JamiID())
	}
	return o, nil
}

// unlock decodes archive data, asking for the password when it is encrypted.
// As with jamid, a password given for an unencrypted archive is an error.
func unlock(c *ucli.Context, name string, data []byte) (*archive.Archive, *string, *archive.Key, error) {
	fail := func(err error) (*archive.Archive, *string, *archive.Key, error) {
		return nil, nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	secret := cli.ArchivePassword(false)
	if !archive.IsEncrypted(data) {
		if secret.Given(c) {
			return fail(archive.ErrNotEncrypted)
		}
		a, err := archive.Decode(data, nil)
		if err != nil {
			return fail(err)
		}
		return a, nil, nil, nil
	}
	pw, err := secret.Read(c)
	if errors.Is(err, cli.ErrNoPassword) {
		return fail(fmt.Errorf("%w: use --password-file, $%s or a terminal", archive.ErrPasswordRequired, cli.EnvPassword))
	}
	if err != nil {
		return nil, nil, nil, err
	}
	salt, err := archive.SaltOf(data)
	if err != nil {
		return fail(err)
	}
	key := archive.DeriveKey(pw, salt)
	a, err := archive.DecodeWithKey(data, key)
	if err != nil {
		if errors.Is(err, archive.ErrWrongPassword) {
			err = archive.ErrWrongPassword
		}
		return fail(err)
	}
	return a, &pw, &key, nil
}

// newPassword is the password of an archive being created: --no-password,
// else --password-file / $JAMI_PASSWORD / a prompt with confirmation.
func newPassword(c *ucli.Context) (*string, error) {
	secret := cli.ArchivePassword(true)
	if c.Bool("no-password") {
		if c.IsSet("password-file") {
			return nil, cli.UsageErrorf("--no-password and --password-file exclude each other")
		}
		return nil, nil
	}
	pw, err := secret.Read(c)
	if errors.Is(err, cli.ErrNoPassword) {
		return nil, fmt.Errorf("a password is needed for the archive: use --password-file, $%s, a terminal, or --no-password", cli.EnvPassword)
	}
	if err != nil {
		return nil, err
	}
	if pw == "" {
		// jamid takes an empty password as "no password".
		return nil, errors.New("the password is empty: use --no-password for an unencrypted archive")
	}
	return &pw, nil
}

// parseKV reads repeated KEY=VALUE flags.
func parseKV(c *ucli.Context, flag string) (map[string]string, error) {
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

// checkFolderTarget fails early, before any key is generated, when Create
// would refuse dir.
func checkFolderTarget(dir string, force bool) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: exists and is not a folder", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) > 0 && !force {
		return fmt.Errorf("%s: %w", dir, account.ErrNotEmpty)
	}
	return nil
}

// checkFileTarget fails early when a file would not be overwritten.
func checkFileTarget(path string, force bool) error {
	if path == "-" {
		return nil
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s: is a folder", path)
	}
	if !force {
		return fmt.Errorf("%s: %w", path, atomicfile.ErrExists)
	}
	return nil
}

// writeFile writes data atomically (perm), or to stdout for "-".
func writeFile(c *ucli.Context, path string, data []byte, perm os.FileMode) error {
	if path == "-" {
		_, err := cli.Stdout(c).Write(data)
		return err
	}
	return atomicfile.WriteFile(path, data, atomicfile.Options{Perm: perm, Force: c.Bool("force")})
}

// defaultDeviceName is what jamid names a device: the host name.
func defaultDeviceName(c *ucli.Context) string {
	if c.IsSet("name") {
		return c.String("name")
	}
	h, _ := os.Hostname()
	return h
}

// field is one line of text output.
type field struct{ label, value string }

// printFields prints "Label:  value" lines, aligned, skipping empty values.
func printFields(c *ucli.Context, fields []field) {
	w := 0
	for _, f := range fields {
		if f.value != "" && len(f.label) > w {
			w = len(f.label)
		}
	}
	for _, f := range fields {
		if f.value != "" {
			cli.Printf(c, "%-*s  %s\n", w+1, f.label+":", f.value)
		}
	}
}

// absPath makes paths in JSON output unambiguous.
func absPath(p string) string {
	if p == "" || p == "-" {
		return p
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func fieldFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "field", Aliases: []string{"F"},
		Usage: "print only the value of one --json field `NAME` (e.g. jami_id, device_id), for scripts"}
}

// printResult prints r as JSON (--json), as one field's value (--field), or
// as text for people (text). r is a struct with json tags.
func printResult(c *ucli.Context, r any, text func()) error {
	if name := c.String("field"); name != "" {
		known := false
		t := reflect.TypeOf(r)
		for i := range t.NumField() {
			tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			known = known || tag == name
		}
		if !known {
			return cli.UsageErrorf("--field %s: no such field (see --json)", name)
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		v, ok := m[name]
		if !ok || v == "" {
			return cli.NotFoundf("%s: none", name)
		}
		if s, isStr := v.(string); isStr {
			cli.Printf(c, "%s\n", s)
			return nil
		}
		b, _ = json.Marshal(v)
		cli.Printf(c, "%s\n", b)
		return nil
	}
	if cli.JSON(c) {
		return cli.PrintJSON(c, r)
	}
	text()
	return nil
}
