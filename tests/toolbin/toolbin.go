// Package toolbin builds the jamikit tools once per test binary, so that
// end-to-end and interop tests run the real programs as a user would.
package toolbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

var (
	once sync.Once
	dir  string
	err  error
)

// Root is the repository root (the folder holding go.mod).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Dir builds every tool under cmd/ into a temporary folder and returns it.
// The folder is removed by Cleanup.
func Dir() (string, error) {
	once.Do(func() {
		dir, err = os.MkdirTemp("", "jamikit-bin-")
		if err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./cmd/...")
		cmd.Dir = Root()
		out, e := cmd.CombinedOutput()
		if e != nil {
			err = fmt.Errorf("building tools: %v\n%s", e, out)
		}
	})
	return dir, err
}

// Path returns the path of one built tool.
func Path(tool string) (string, error) {
	d, err := Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, tool), nil
}

// Tools lists the tool names (folders of cmd/).
func Tools() []string {
	ents, _ := os.ReadDir(filepath.Join(Root(), "cmd"))
	var names []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// Cleanup removes the built tools.
func Cleanup() {
	if dir != "" {
		os.RemoveAll(dir)
	}
}
