package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/lib/atomicfile"
	ucli "github.com/urfave/cli/v2"
)

func TestReadInput(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	os.WriteFile(small, []byte("12345"), 0o600)
	var name string
	var data []byte
	var err error
	read := func(path string, limit int) func(*ucli.Context) error {
		return func(c *ucli.Context) error { name, data, err = ReadInput(c, path, limit); return nil }
	}
	app, _, _ := testApp(read(small, 5))
	Run(app, []string{"t", "do"})
	if err != nil || name != small || string(data) != "12345" {
		t.Fatalf("file: %q %q %v", name, data, err)
	}
	app, _, _ = testApp(read(small, 4))
	Run(app, []string{"t", "do"})
	if err == nil || err.Error() != small+": larger than 0 MiB" {
		t.Fatalf("too large: %v", err)
	}
	app, _, _ = testApp(read("-", 10))
	app.Reader = strings.NewReader("from stdin")
	Run(app, []string{"t", "do"})
	if err != nil || name != "stdin" || string(data) != "from stdin" {
		t.Fatalf("stdin: %q %q %v", name, data, err)
	}
	app, _, _ = testApp(read(filepath.Join(dir, "missing"), 10))
	Run(app, []string{"t", "do"})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

func TestKeyValues(t *testing.T) {
	var got map[string]string
	action := func(c *ucli.Context) (err error) { got, err = KeyValues(c, "set"); return err }
	flag := func() ucli.Flag { return &ucli.StringSliceFlag{Name: "set"} }
	app, _, _ := testApp(action, flag())
	if code := Run(app, []string{"t", "do", "--set", "a=1", "--set", "b=x=y", "--set", "a=2", "--set", "e="}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if len(got) != 3 || got["a"] != "2" || got["b"] != "x=y" || got["e"] != "" {
		t.Fatalf("got %v", got)
	}
	app, _, _ = testApp(action, flag())
	if code := Run(app, []string{"t", "do"}); code != 0 || got != nil {
		t.Fatalf("none: exit %d, %v", code, got)
	}
	for _, bad := range []string{"novalue", "=1"} {
		app, _, errb := testApp(action, flag())
		if code := Run(app, []string{"t", "do", "--set", bad}); code != ExitUsage || !strings.Contains(errb.String(), "want KEY=VALUE") {
			t.Fatalf("%q: exit %d, %s", bad, code, errb)
		}
	}
}

func TestOutputFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	if err := CheckOutput(p, false); err != nil {
		t.Fatal(err)
	}
	write := func(data string, force bool) (string, error) {
		var err error
		app, out, _ := testApp(func(c *ucli.Context) error { err = WriteOutput(c, p, []byte(data), 0o640); return nil }, ForceFlag())
		args := []string{"t", "do"}
		if force {
			args = append(args, "--force")
		}
		Run(app, args)
		return out.String(), err
	}
	if _, err := write("one", false); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	if err := CheckOutput(p, false); !errors.Is(err, atomicfile.ErrExists) {
		t.Fatalf("exists: %v", err)
	}
	if _, err := write("two", false); !errors.Is(err, atomicfile.ErrExists) {
		t.Fatalf("no force: %v", err)
	}
	if err := CheckOutput(p, true); err != nil {
		t.Fatal(err)
	}
	if _, err := write("three", true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "three" {
		t.Fatalf("content %q", b)
	}
	if err := CheckOutput(dir, true); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Fatalf("folder: %v", err)
	}
	if err := CheckOutput("-", false); err != nil {
		t.Fatal(err)
	}
	p = "-"
	if out, err := write("to stdout", false); err != nil || out != "to stdout" {
		t.Fatalf("stdout %q %v", out, err)
	}
}

func TestNewPassword(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	pw, newpw, empty := file("pw", "old\n"), file("newpw", "new\n"), file("empty", "")
	t.Setenv(EnvPassword, "")
	t.Setenv(EnvNewPassword, "")
	run := func(args ...string) (*string, int, string) {
		var got *string
		app, _, errb := testApp(func(c *ucli.Context) (err error) {
			got, err = NewPassword(c, "new archive", NewArchivePassword(), ArchivePassword(false))
			return err
		}, NoPasswordFlag(), NewPasswordFileFlag(), PasswordFileFlag())
		code := Run(app, append([]string{"t", "do"}, args...))
		return got, code, errb.String()
	}
	if got, code, _ := run("--no-password"); code != 0 || got != nil {
		t.Fatalf("--no-password: %d %v", code, got)
	}
	if _, code, msg := run("--no-password", "--new-password-file", newpw); code != ExitUsage || !strings.Contains(msg, "--no-password and --new-password-file exclude each other") {
		t.Fatalf("exclusive: %d %s", code, msg)
	}
	if _, code, msg := run("--no-password", "--password-file", pw); code != ExitUsage || !strings.Contains(msg, "--password-file exclude") {
		t.Fatalf("exclusive: %d %s", code, msg)
	}
	// The first secret given wins, in the order passed.
	if got, code, _ := run("--password-file", pw, "--new-password-file", newpw); code != 0 || got == nil || *got != "new" {
		t.Fatalf("both: %d %v", code, got)
	}
	if got, code, _ := run("--password-file", pw); code != 0 || got == nil || *got != "old" {
		t.Fatalf("fallback: %d %v", code, got)
	}
	t.Setenv(EnvNewPassword, "fromenv")
	if got, code, _ := run("--password-file", pw); code != 0 || got == nil || *got != "fromenv" {
		t.Fatalf("env: %d %v", code, got)
	}
	t.Setenv(EnvNewPassword, "")
	if _, code, msg := run("--new-password-file", empty); code != ExitFailure || msg != "t: the new password is empty: use --no-password for an unencrypted new archive\n" {
		t.Fatalf("empty: %d %q", code, msg)
	}
	if _, code, msg := run("--password-file", empty); code != ExitFailure || !strings.Contains(msg, "t: the password is empty") {
		t.Fatalf("empty: %d %q", code, msg)
	}
}

func TestSecretHintAndLookup(t *testing.T) {
	if h := ArchivePassword(false).Hint(); h != "use --password-file, $JAMI_PASSWORD or a terminal" {
		t.Errorf("hint %q", h)
	}
	if h := (Secret{FileFlag: "key-file"}).Hint(); h != "use --key-file" {
		t.Errorf("hint %q", h)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	var got string
	var ok, given bool
	app, _, _ := testApp(func(c *ucli.Context) (err error) {
		b := ArchivePassword(false).Bind(c)
		given = b.Given()
		got, ok, err = b.Lookup()
		return err
	}, PasswordFileFlag())
	if code := Run(app, []string{"t", "do", "--password-file", pw}); code != 0 || !ok || !given || got != "s3cret" {
		t.Fatalf("lookup: %d %q %v %v", code, got, ok, given)
	}
}

func TestPrintResult(t *testing.T) {
	type result struct {
		ID    string   `json:"id"`
		Name  string   `json:"name,omitempty"`
		Items []string `json:"items"`
	}
	r := result{ID: "abc", Items: []string{"x"}}
	run := func(args ...string) (int, string, string) {
		app, out, errb := testApp(func(c *ucli.Context) error {
			return PrintResult(c, r, func() { PrintFields(c, []Field{{"ID", r.ID}, {"Name", r.Name}, {"Long label", "v"}}) })
		}, JSONFlag(), FieldFlag())
		code := Run(app, append([]string{"t", "do"}, args...))
		return code, out.String(), errb.String()
	}
	if code, out, _ := run(); code != 0 || out != "ID:          abc\nLong label:  v\n" {
		t.Fatalf("text: %d %q", code, out)
	}
	if code, out, _ := run("--json"); code != 0 || out != "{\n  \"id\": \"abc\",\n  \"items\": [\n    \"x\"\n  ]\n}\n" {
		t.Fatalf("json: %d %q", code, out)
	}
	if code, out, _ := run("--field", "id"); code != 0 || out != "abc\n" {
		t.Fatalf("field: %d %q", code, out)
	}
	if code, out, _ := run("-F", "items"); code != 0 || out != "[\"x\"]\n" {
		t.Fatalf("field: %d %q", code, out)
	}
	if code, _, msg := run("--field", "name"); code != ExitNotFound || msg != "t: name: none\n" {
		t.Fatalf("absent: %d %q", code, msg)
	}
	if code, _, msg := run("--field", "color"); code != ExitUsage || !strings.Contains(msg, "no such field") {
		t.Fatalf("unknown: %d %q", code, msg)
	}
}
