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
	Name     string // what messages call it, e.g. "new password"; "" is "password"
}

// ArchivePassword is the secret of --password-file / $JAMI_PASSWORD.
func ArchivePassword(confirm bool) Secret {
	return Secret{FileFlag: "password-file", Env: EnvPassword, Prompt: "Archive password", Confirm: confirm}
}

// NewArchivePassword is the password of an archive being written from
// another one (--new-password-file / $JAMI_NEW_PASSWORD / a prompt with
// confirmation), when --password-file is the one the input is read with.
func NewArchivePassword() Secret {
	return Secret{FileFlag: "new-password-file", Env: EnvNewPassword, Prompt: "New archive password", Confirm: true, Name: "new password"}
}

func (s Secret) name() string {
	if s.Name == "" {
		return "password"
	}
	return s.Name
}

// Hint says how the secret can be given, for messages:
// "use --password-file, $JAMI_PASSWORD or a terminal".
func (s Secret) Hint() string {
	var ways []string
	if s.FileFlag != "" {
		ways = append(ways, "--"+s.FileFlag)
	}
	if s.Env != "" {
		ways = append(ways, "$"+s.Env)
	}
	if s.Prompt != "" {
		ways = append(ways, "a terminal")
	}
	if len(ways) == 1 {
		return "use " + ways[0]
	}
	return "use " + strings.Join(ways[:len(ways)-1], ", ") + " or " + ways[len(ways)-1]
}

// Bind ties the secret to a command line, for a library that asks for it
// only when it needs it (e.g. account.Unlock: only an encrypted archive
// needs a password).
func (s Secret) Bind(c *ucli.Context) BoundSecret { return BoundSecret{s, c} }

// BoundSecret is a Secret of one command line.
type BoundSecret struct {
	s Secret
	c *ucli.Context
}

// Given reports whether the secret was supplied without asking.
func (b BoundSecret) Given() bool { return b.s.Given(b.c) }

// Lookup reads the secret (file, environment, else a prompt); ok is false,
// with no error, when none can be had (nothing given, no terminal).
func (b BoundSecret) Lookup() (secret string, ok bool, err error) {
	v, err := b.s.Read(b.c)
	if errors.Is(err, ErrNoPassword) {
		return "", false, nil
	}
	return v, err == nil, err
}

// Hint is Secret.Hint.
func (b BoundSecret) Hint() string { return b.s.Hint() }

// NewPassword reads the password of a file being written (an archive): nil
// with --no-password (NoPasswordFlag); else the first of secrets that was
// given (its file flag or variable); else a prompt, with confirmation if
// secrets[0] asks for it, for secrets[0]. what names the file in messages
// ("archive", "new archive"). --no-password together with a secret's file
// flag is a usage error. An empty password is refused: jamid takes it as no
// password, which --no-password says explicitly.
func NewPassword(c *ucli.Context, what string, secrets ...Secret) (*string, error) {
	if c.Bool("no-password") {
		for _, s := range secrets {
			if s.FileFlag != "" && c.IsSet(s.FileFlag) {
				return nil, UsageErrorf("--no-password and --%s exclude each other", s.FileFlag)
			}
		}
		return nil, nil
	}
	s := secrets[0]
	for _, g := range secrets {
		if g.Given(c) {
			s = g
			break
		}
	}
	pw, err := s.Read(c)
	if errors.Is(err, ErrNoPassword) {
		return nil, fmt.Errorf("a password is needed for the %s: use --%s, $%s, a terminal, or --no-password", what, secrets[0].FileFlag, secrets[0].Env)
	}
	if err != nil {
		return nil, err
	}
	if pw == "" {
		return nil, fmt.Errorf("the %s is empty: use --no-password for an unencrypted %s", s.name(), what)
	}
	return &pw, nil
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
