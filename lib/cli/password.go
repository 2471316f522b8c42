package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// ErrNoPassword is returned when a password is needed and none can be had.
var ErrNoPassword = errors.New("a password is needed: use --password-file, $" + EnvPassword + " or a terminal")

// Secret says where one secret comes from. Passwords never come from argv:
// only a file, an environment variable or an interactive prompt.
type Secret struct {
	FileFlag string // name of the flag holding a file path, e.g. "password-file"
	Env      string // environment variable holding the secret itself
	Prompt   string // prompt shown on the terminal, e.g. "Archive password"
	Confirm  bool   // ask twice on a terminal (new passwords)
}

// ArchivePassword is the secret of --password-file / $JAMI_PASSWORD.
func ArchivePassword(confirm bool) Secret {
	return Secret{FileFlag: "password-file", Env: EnvPassword, Prompt: "Archive password", Confirm: confirm}
}

// Given reports whether the secret was supplied non-interactively.
func (s Secret) Given(c *ucli.Context) bool {
	if s.FileFlag != "" && c.IsSet(s.FileFlag) {
		return true
	}
	_, ok := s.fromEnv()
	return ok
}

// fromEnv reads the environment variable. An empty variable counts as unset,
// so that `JAMI_PASSWORD= tool ...` (or a harness clearing it) does not
// supply an empty password; an empty password can still come from a file.
func (s Secret) fromEnv() (string, bool) {
	if s.Env == "" {
		return "", false
	}
	v := os.Getenv(s.Env)
	return v, v != ""
}

// Read returns the secret: from the file flag, else the environment, else a
// prompt on the controlling terminal. The file's first line is the secret
// (a trailing newline is not part of it).
func (s Secret) Read(c *ucli.Context) (string, error) {
	if s.FileFlag != "" && c.IsSet(s.FileFlag) {
		return readSecretFile(c, c.String(s.FileFlag))
	}
	if v, ok := s.fromEnv(); ok {
		return v, nil
	}
	return s.prompt()
}

func readSecretFile(c *ucli.Context, path string) (string, error) {
	var r io.Reader
	if path == "-" {
		r = c.App.Reader
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("password file: %w", err)
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("password file %s: %w", path, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (s Secret) prompt() (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", ErrNoPassword
	}
	defer tty.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return "", ErrNoPassword
	}
	ask := func(p string) (string, error) {
		fmt.Fprintf(tty, "%s: ", p)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		return string(b), err
	}
	pw, err := ask(s.Prompt)
	if err != nil {
		return "", err
	}
	if s.Confirm {
		again, err := ask(s.Prompt + " (again)")
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", errors.New("passwords do not match")
		}
	}
	return pw, nil
}
