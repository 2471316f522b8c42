package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jamikit/jamikit/lib/atomicfile"
	ucli "github.com/urfave/cli/v2"
)

// Stdin is where data arguments given as "-" are read from.
func Stdin(c *ucli.Context) io.Reader { return c.App.Reader }

// ReadInput reads a FILE argument, or stdin for "-", refusing more than
// limit bytes (a device or a wrong file, not the small input a tool wants).
// name is what messages call the input: the path, or "stdin".
func ReadInput(c *ucli.Context, path string, limit int) (name string, data []byte, err error) {
	var r io.Reader
	name = path
	if path == "-" {
		r, name = Stdin(c), "stdin"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return path, nil, err
		}
		defer f.Close()
		r = f
	}
	data, err = io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return name, nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > limit {
		return name, nil, fmt.Errorf("%s: larger than %d MiB", name, limit>>20)
	}
	return name, data, nil
}

// KeyValues reads the repeated KEY=VALUE values of a string-slice flag
// (nil when the flag was not given). A value without "=" or with an empty
// KEY is a usage error; a later KEY wins.
func KeyValues(c *ucli.Context, flag string) (map[string]string, error) {
	vals := c.StringSlice(flag)
	if len(vals) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(vals))
	for _, kv := range vals {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, UsageErrorf("--%s %q: want KEY=VALUE", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

// CheckOutput fails early, before any costly work (key generation, Argon2),
// when WriteOutput would refuse path: a folder, or an existing file without
// --force. "-" (stdout) is always fine.
func CheckOutput(path string, force bool) error {
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

// WriteOutput writes data to path atomically with mode perm, replacing an
// existing file only with --force (ForceFlag); "-" writes to stdout.
func WriteOutput(c *ucli.Context, path string, data []byte, perm os.FileMode) error {
	if path == "-" {
		_, err := Stdout(c).Write(data)
		return err
	}
	return atomicfile.WriteFile(path, data, atomicfile.Options{Perm: perm, Force: c.Bool("force")})
}
