// End-to-end tests: testscript scripts in testdata/script run the built tools,
// success and failure paths, as a shell user would.
package tests

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/tests/toolbin"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	code := m.Run()
	toolbin.Cleanup()
	os.Exit(code)
}

func TestScripts(t *testing.T) {
	bin, err := toolbin.Dir()
	if err != nil {
		t.Fatal(err)
	}
	fixtures := filepath.Join(toolbin.Root(), "tests", "testdata", "fixtures")
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", bin+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("FIXTURES", fixtures)
			env.Setenv("HOME", env.WorkDir)
			// Scripts must not inherit a password or account from the caller.
			for _, k := range []string{"JAMI_PASSWORD", "JAMI_ACCOUNT", "JAMI_BOOTSTRAP"} {
				env.Setenv(k, "")
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"perm":     cmdPerm,
			"freeport": cmdFreePort,
			"exits":    cmdExits,
		},
	})
}

// perm FILE MODE: the file's permission bits are MODE (octal).
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: perm FILE MODE")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	got := strings.TrimPrefix(fi.Mode().Perm().String(), "-")
	want := args[1]
	ok := fmtOctal(fi.Mode().Perm()) == want
	if ok == neg {
		ts.Fatalf("%s: mode %s (%s), want %s", args[0], fmtOctal(fi.Mode().Perm()), got, want)
	}
}

// exits N PROG [ARGS...]: runs PROG like exec and checks that it exits with
// status N (the house exit codes: 2 usage, 3 not found, 4 timeout); its
// stdout and stderr are kept for the next stdout/stderr checks.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || neg {
		ts.Fatalf("usage: exits N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

func fmtOctal(m os.FileMode) string {
	const digits = "01234567"
	v := uint32(m)
	return string([]byte{'0', digits[(v>>6)&7], digits[(v>>3)&7], digits[v&7]})
}
