package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/tests/toolbin"
)

// TestDemo runs `make demo`'s script with freshly built tools, so that the
// README's main set-up command cannot rot unnoticed.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("demo creates several RSA-4096 accounts")
	}
	bin, err := toolbin.Dir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(toolbin.Root(), "tests", "demo.sh"))
	cmd.Env = append(os.Environ(), "JAMIKIT_BIN="+bin, "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "demo: done") {
		t.Fatalf("demo did not finish:\n%s", out)
	}
}
