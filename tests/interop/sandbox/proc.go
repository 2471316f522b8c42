package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a background process started by this package inside a namespace. The
// test process is its parent and reaps it, so its PID cannot be recycled while
// Proc may still signal it.
type Proc struct {
	Name string // label used in messages
	Log  string // file receiving its stdout and stderr

	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// spawn starts argv inside namespace ns with exactly env (nil: an empty environment),
// detached in its own session, stdin /dev/null, output appended to logPath.
//
// `ip netns exec` joins the namespace and then execs argv without forking, so the PID
// we hold is the program's own. Pdeathsig makes the kernel kill it should the test
// binary die without running its cleanups (e.g. a panic or `go test -timeout`).
func spawn(ns, name, dir, logPath string, env []string, argv ...string) (*Proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	args := append([]string{"netns", "exec", ns}, argv...)
	cmd := exec.Command(ipPath(), args...)
	cmd.Dir = dir
	if env == nil {
		env = []string{}
	}
	cmd.Env = env
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Proc{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Alive reports whether the process still runs.
func (p *Proc) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// ExitError is the result of the process' Wait once it has exited (nil while it runs).
func (p *Proc) ExitError() error {
	if p.Alive() {
		return nil
	}
	return p.waitErr
}

// Stop sends SIGTERM, then SIGKILL after grace, and waits for the exit. It only ever
// signals the PID this Proc started (still unreaped, so not recycled). Idempotent.
func (p *Proc) Stop(grace time.Duration) error {
	p.stopOnce.Do(func() {
		if !p.Alive() {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			return
		case <-time.After(grace):
		}
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		select {
		case <-p.done:
			p.stopErr = fmt.Errorf("%s (pid %d) ignored SIGTERM for %v: %w", p.Name, p.Pid(), grace, ErrKilled)
		case <-time.After(10 * time.Second):
			p.stopErr = fmt.Errorf("%s (pid %d) survived SIGKILL", p.Name, p.Pid())
		}
	})
	return p.stopErr
}

// Kill sends SIGKILL at once (crash simulation) and waits for the exit.
func (p *Proc) Kill() error {
	if !p.Alive() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) survived SIGKILL", p.Name, p.Pid())
	}
}

// netnsInode is the inode of a process' network namespace.
func netnsInode(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// Tail returns the last n lines of a log file ("" if unreadable).
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	b = ansiEscape.ReplaceAll(bytes.TrimRight(b, "\n"), nil)
	lines := strings.Split(string(b), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d earlier lines in %s]", len(lines)-n, path)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// ansiEscape matches the colour codes jamid writes even into a file.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

var errStopped = errors.New("stopped")

// ErrKilled (wrapped) means a process did not end on SIGTERM within the grace period
// and was SIGKILLed; it is gone.
var ErrKilled = errors.New("killed with SIGKILL")

// fileSize is the size of path, -1 if it cannot be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}
