package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jamikit/jamikit/tests/toolbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	toolbin.Cleanup()
	os.Exit(code)
}

// testTimeout bounds one interop test (a few jamid accounts, Argon2 derivations).
const testTimeout = 4 * time.Minute

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// tool is one built jamikit program.
type tool struct {
	t    *testing.T
	name string
	path string
}

func newTool(t *testing.T, name string) *tool {
	t.Helper()
	p, err := toolbin.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s was not built (is cmd/%s there?): %v", name, name, err)
	}
	return &tool{t: t, name: name, path: p}
}

// run executes the tool with env added to a clean environment: no JAMI_* variable
// of the caller, HOME in a temp dir, and no controlling terminal (its own session),
// so that it can never prompt for a password. A non-zero exit fails the test.
func (tl *tool) run(ctx context.Context, env []string, args ...string) string {
	tl.t.Helper()
	out, errOut, err := tl.exec(ctx, env, args...)
	if err != nil {
		tl.t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", tl.name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (tl *tool) exec(ctx context.Context, env []string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, tl.path, args...)
	var e []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JAMI_") && !strings.HasPrefix(kv, "HOME=") {
			e = append(e, kv)
		}
	}
	cmd.Env = append(append(e, "HOME="+tl.t.TempDir()), env...)
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var o, eb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &eb
	err = cmd.Run()
	return o.String(), eb.String(), err
}

// runJSON runs the tool and decodes its stdout as JSON into v.
func (tl *tool) runJSON(ctx context.Context, env []string, v any, args ...string) {
	tl.t.Helper()
	out := tl.run(ctx, env, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		tl.t.Fatalf("%s %s: output is not the expected JSON (%v):\n%s", tl.name, strings.Join(args, " "), err, out)
	}
}

// archiveInfo is the part of `jami-archive show --json` the tests check.
type archiveInfo struct {
	JamiID     string         `json:"jami_id"`
	Encrypted  *bool          `json:"encrypted"`
	EthAddress string         `json:"eth_address"`
	Devices    []deviceInfo   `json:"devices"`
	Config     map[string]any `json:"config"`
}

type deviceInfo struct {
	DeviceID string `json:"device_id"`
}

// show runs `jami-archive show --json FILE` (password, if any, via $JAMI_PASSWORD).
func show(ctx context.Context, t *testing.T, file string, password *string) archiveInfo {
	t.Helper()
	var env []string
	if password != nil {
		env = append(env, "JAMI_PASSWORD="+*password)
	}
	var info archiveInfo
	newTool(t, "jami-archive").runJSON(ctx, env, &info, "show", "--json", file)
	if info.Encrypted == nil {
		t.Fatalf("jami-archive show --json %s: no \"encrypted\" field", file)
	}
	return info
}

// keygenInfo is `jami-keygen new --json`.
type keygenInfo struct {
	JamiID        string `json:"jami_id"`
	DeviceID      string `json:"device_id"`
	DeviceShortID string `json:"device_short_id"`
	AccountDir    string `json:"account_dir"`
	Archive       string `json:"archive"`
}

// passwordFile writes pw into a private temp file and returns its path.
func passwordFile(t *testing.T, pw string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// isGzip: an unencrypted archive is gzip; an encrypted one is salt||AES-GCM.
func isGzip(t *testing.T, file string) bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.HasPrefix(b, []byte{0x1f, 0x8b})
}
