package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/tests/toolbin"
)

// docFiles are the generated files of one tool and the command that makes each.
func docFiles(tool string) map[string][]string {
	return map[string][]string{
		filepath.Join("man", tool+".1"):                    {"man"},
		filepath.Join("completions", "bash", tool):         {"completion", "bash"},
		filepath.Join("completions", "zsh", "_"+tool):      {"completion", "zsh"},
		filepath.Join("completions", "fish", tool+".fish"): {"completion", "fish"},
	}
}

// TestDocsFresh fails when man pages or completions differ from what the
// command definitions generate: run `make docs` and commit.
func TestDocsFresh(t *testing.T) {
	tools := toolbin.Tools()
	if len(tools) == 0 {
		t.Fatal("no tools under cmd/")
	}
	for _, tool := range tools {
		exe, err := toolbin.Path(tool)
		if err != nil {
			t.Fatal(err)
		}
		for file, args := range docFiles(tool) {
			want, err := exec.Command(exe, args...).Output()
			if err != nil {
				t.Fatalf("%s %s: %v", tool, strings.Join(args, " "), err)
			}
			got, err := os.ReadFile(filepath.Join(toolbin.Root(), file))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s is stale or missing: run `make docs`", file)
			}
		}
	}
}

// TestHelpConventions: every visible command has a one-line purpose and at
// least one example in its help (CONVENTIONS.md).
func TestHelpConventions(t *testing.T) {
	for _, tool := range toolbin.Tools() {
		exe, err := toolbin.Path(tool)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(exe, "--help").Output()
		if err != nil {
			t.Fatalf("%s --help: %v", tool, err)
		}
		for _, cmd := range commandsIn(string(out)) {
			help, err := exec.Command(exe, cmd, "--help").Output()
			if err != nil {
				t.Errorf("%s %s --help: %v", tool, cmd, err)
				continue
			}
			if !strings.Contains(string(help), "Example") {
				t.Errorf("%s %s --help shows no example", tool, cmd)
			}
		}
		v, err := exec.Command(exe, "--version").Output()
		if err != nil || !strings.Contains(string(v), "commit") {
			t.Errorf("%s --version: %q %v", tool, v, err)
		}
	}
}

// commandsIn reads the COMMANDS section of a urfave/cli help text.
func commandsIn(help string) []string {
	var cmds []string
	in := false
	for _, line := range strings.Split(help, "\n") {
		switch {
		case strings.HasPrefix(line, "COMMANDS:"):
			in = true
		case in && strings.HasPrefix(line, "   ") && !strings.HasPrefix(line, "     "):
			f := strings.Fields(line)
			if len(f) > 0 {
				cmds = append(cmds, strings.TrimSuffix(f[0], ","))
			}
		case in && strings.TrimSpace(line) != "" && !strings.HasPrefix(line, " "):
			in = false
		}
	}
	return cmds
}
