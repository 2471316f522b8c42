package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"
)

func testApp(action ucli.ActionFunc, flags ...ucli.Flag) (*ucli.App, *bytes.Buffer, *bytes.Buffer) {
	app := Tool{Name: "t", Usage: "test tool", Commands: []*ucli.Command{{
		Name: "do", Usage: "do it", Flags: flags, Action: action,
		Description: "Examples:\n  t do",
	}}}.App()
	var out, errb bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errb
	return app, &out, &errb
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name string
		err  error
		args []string
		code int
		msg  string
	}{
		{"ok", nil, nil, ExitOK, ""},
		{"failure", errors.New("x.gz: wrong password"), nil, ExitFailure, "t: x.gz: wrong password\n"},
		{"notfound", NotFoundf("no value"), nil, ExitNotFound, "t: no value\n"},
		{"timeout", context.DeadlineExceeded, nil, ExitTimeout, "t: timed out: context deadline exceeded\n"},
		{"usage", nil, []string{"--nope"}, ExitUsage, ""},
		{"multiline", errors.New("a\n  b"), nil, ExitFailure, "t: a b\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err
			app, _, errb := testApp(func(*ucli.Context) error { return err })
			code := Run(app, append([]string{"t", "do"}, tc.args...))
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if tc.msg != "" && errb.String() != tc.msg {
				t.Fatalf("stderr %q, want %q", errb.String(), tc.msg)
			}
		})
	}
}

func TestNArgs(t *testing.T) {
	app, _, errb := testApp(func(c *ucli.Context) error { return NArgs(c, 1, 1) })
	if code := Run(app, []string{"t", "do"}); code != ExitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errb.String(), "expected 1 argument") {
		t.Fatalf("stderr %q", errb.String())
	}
	app, _, _ = testApp(func(c *ucli.Context) error { return NArgs(c, 1, 1) })
	if code := Run(app, []string{"t", "do", "x"}); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
}

func TestVerboseQuietAnyPosition(t *testing.T) {
	var got [2]bool
	action := func(c *ucli.Context) error { got = [2]bool{Verbose(c), Quiet(c)}; return nil }
	for _, args := range [][]string{{"t", "-v", "do"}, {"t", "do", "-v"}} {
		app, _, _ := testApp(action)
		Run(app, args)
		if !got[0] || got[1] {
			t.Fatalf("%v: verbose=%v quiet=%v", args, got[0], got[1])
		}
	}
}

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	pwfile := filepath.Join(dir, "pw")
	os.WriteFile(pwfile, []byte("s3cret\nignored\n"), 0o600)
	var got string
	var given bool
	action := func(c *ucli.Context) (err error) {
		s := ArchivePassword(false)
		given = s.Given(c)
		got, err = s.Read(c)
		return err
	}
	app, _, _ := testApp(action, PasswordFileFlag())
	if code := Run(app, []string{"t", "do", "--password-file", pwfile}); code != 0 || got != "s3cret" || !given {
		t.Fatalf("file: code %d got %q given %v", code, got, given)
	}
	t.Setenv(EnvPassword, "fromenv")
	app, _, _ = testApp(action, PasswordFileFlag())
	if code := Run(app, []string{"t", "do"}); code != 0 || got != "fromenv" {
		t.Fatalf("env: code %d got %q", code, got)
	}
	// An empty variable is not a password (only Given is asked: Read would
	// prompt when the tests run on a terminal).
	t.Setenv(EnvPassword, "")
	app, _, _ = testApp(func(c *ucli.Context) error { given = ArchivePassword(false).Given(c); return nil }, PasswordFileFlag())
	if code := Run(app, []string{"t", "do"}); code != 0 || given {
		t.Fatalf("empty env: code %d given %v", code, given)
	}
	app, _, errb := testApp(action, PasswordFileFlag())
	if code := Run(app, []string{"t", "do", "--password-file", filepath.Join(dir, "missing")}); code != ExitFailure ||
		!strings.Contains(errb.String(), "password file") {
		t.Fatalf("missing file: code %d stderr %q", code, errb.String())
	}
}

func TestDocsGenerated(t *testing.T) {
	app, _, _ := testApp(func(*ucli.Context) error { return nil })
	man, err := ManPage(app)
	if err != nil || !strings.Contains(man, "do it") || strings.Contains(man, "commit") {
		t.Fatalf("man page: %v\n%s", err, man)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		s, err := Completion(app, sh)
		if err != nil || !strings.Contains(s, "t") {
			t.Fatalf("%s: %v", sh, err)
		}
	}
	if _, err := Completion(app, "tcsh"); ExitCodeOf(context.Background(), err) != ExitUsage {
		t.Fatalf("unknown shell: %v", err)
	}
}

func TestFlagsAfterArguments(t *testing.T) {
	var args []string
	var out string
	var json bool
	action := func(c *ucli.Context) error {
		args, out, json = c.Args().Slice(), c.String("output"), c.Bool("json")
		return nil
	}
	cases := []struct {
		argv []string
		args []string
		out  string
		json bool
	}{
		{[]string{"t", "do", "a", "-o", "x", "b", "--json"}, []string{"a", "b"}, "x", true},
		{[]string{"t", "do", "--json", "a", "--output=y"}, []string{"a"}, "y", true},
		{[]string{"t", "-q", "do", "-", "-o", "z"}, []string{"-"}, "z", false},
		{[]string{"t", "do", "a", "--", "-o", "b"}, []string{"a", "-o", "b"}, "", false},
		{[]string{"t", "do", "-o", "-v", "a"}, []string{"a"}, "-v", false},
	}
	for _, tc := range cases {
		app, _, errb := testApp(action, OutputFlag("out"), JSONFlag())
		if code := Run(app, tc.argv); code != 0 {
			t.Fatalf("%q: exit %d: %s", tc.argv, code, errb)
		}
		if strings.Join(args, " ") != strings.Join(tc.args, " ") || out != tc.out || json != tc.json {
			t.Errorf("%q: args %q output %q json %v", tc.argv, args, out, json)
		}
	}
}
