// Package cli is what every jamikit tool shares: the application frame (exit
// codes, error printing, signals), the common flags of CONVENTIONS.md, text and
// JSON output, password input and the generation of man pages and completions.
//
// It imports no domain package, and no domain package imports it: the tools in
// cmd/ are where the two meet.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	ucli "github.com/urfave/cli/v2"
)

// Exit codes shared by every tool (CONVENTIONS.md).
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitNotFound    = 3
	ExitTimeout     = 4
	ExitInterrupted = 130
)

// Set at build time with -ldflags "-X github.com/jamikit/jamikit/lib/cli.Version=… -X …Commit=…".
var (
	Version = ""
	Commit  = ""
)

// VersionString is what --version prints after the tool name.
func VersionString() string {
	v := Version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	c := Commit
	if c == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return v + " (commit " + c + ")"
}

// ExitError carries an exit code with an error. Its message is printed as
// "tool: message" on stderr.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode implements urfave/cli's ExitCoder.
func (e *ExitError) ExitCode() int { return e.Code }

// Errorf returns an error that makes the tool exit with code.
func Errorf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// UsageErrorf is a command-line mistake: exit 2.
func UsageErrorf(format string, args ...any) error { return Errorf(ExitUsage, format, args...) }

// NotFoundf is a lookup that completed and found nothing: exit 3.
func NotFoundf(format string, args ...any) error { return Errorf(ExitNotFound, format, args...) }

// Tool describes one jamikit program.
type Tool struct {
	Name        string
	Usage       string // one line
	Description string
	Commands    []*ucli.Command
	Flags       []ucli.Flag // global flags besides -v/-q
}

// App builds the urfave/cli application with the shared behaviour: version,
// verbosity flags, completion and man generation, usage errors exiting 2.
func (t Tool) App() *ucli.App {
	app := &ucli.App{
		Name:                 t.Name,
		Usage:                t.Usage,
		Description:          t.Description,
		Version:              VersionString(),
		Commands:             append(t.Commands, completionCommand(), manCommand()),
		Flags:                append(append([]ucli.Flag{}, t.Flags...), verboseFlag, quietFlag),
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Suggest:              true,
		Writer:               os.Stdout,
		ErrWriter:            os.Stderr,
		Reader:               os.Stdin,
		OnUsageError:         onUsageError,
		// Errors are printed once, by Run, in the house format.
		ExitErrHandler: func(*ucli.Context, error) {},
		Before:         setupLogging,
	}
	// -v is --verbose here, as in every Unix tool; --version has no short form.
	ucli.VersionFlag = &ucli.BoolFlag{Name: "version", Usage: "print the version and exit"}
	prepareCommands(app.Commands)
	return app
}

// prepareCommands gives every command the house usage-error handling, and every
// leaf command -v/-q of its own, so that "tool cmd -v" works like "tool -v cmd".
func prepareCommands(cmds []*ucli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = onUsageError
		}
		if len(c.Subcommands) == 0 && !c.Hidden {
			c.Flags = append(c.Flags,
				&ucli.BoolFlag{Name: verboseFlag.Name, Aliases: verboseFlag.Aliases, Usage: verboseFlag.Usage},
				&ucli.BoolFlag{Name: quietFlag.Name, Aliases: quietFlag.Aliases, Usage: quietFlag.Usage})
			before := c.Before
			c.Before = func(ctx *ucli.Context) error {
				if err := setupLogging(ctx); err != nil {
					return err
				}
				if before != nil {
					return before(ctx)
				}
				return nil
			}
		}
		prepareCommands(c.Subcommands)
	}
}

func onUsageError(_ *ucli.Context, err error, _ bool) error {
	return &ExitError{Code: ExitUsage, Err: err}
}

// Main runs the tool with the process arguments and exits.
func Main(t Tool) { os.Exit(Run(t.App(), os.Args)) }

// Run runs app with args and returns the exit code. SIGINT and SIGTERM cancel
// the context handed to commands, which then stop cleanly; the tool exits 130.
func Run(app *ucli.App, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := app.RunContext(ctx, permuteArgs(app, args))
	code := ExitCodeOf(ctx, err)
	if err != nil {
		msg := err.Error()
		switch {
		case code == ExitInterrupted:
			msg = "interrupted"
		case code == ExitTimeout && errors.Is(err, context.DeadlineExceeded) && !strings.Contains(msg, "timed out"):
			msg = "timed out: " + msg
		}
		if msg != "" {
			fmt.Fprintf(errWriter(app), "%s: %s\n", app.Name, firstLine(msg))
		}
	}
	return code
}

// ExitCodeOf maps an error to an exit code.
func ExitCodeOf(ctx context.Context, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ExitTimeout
	}
	var ec ucli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return ExitFailure
}

func errWriter(app *ucli.App) io.Writer {
	if app.ErrWriter != nil {
		return app.ErrWriter
	}
	return os.Stderr
}

// Errors are one line: a multi-line message (e.g. from a library) is folded.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// NArgs checks the number of positional arguments.
func NArgs(c *ucli.Context, min, max int) error {
	n := c.NArg()
	if n < min || (max >= 0 && n > max) {
		want := fmt.Sprintf("%d", min)
		switch {
		case max < 0:
			want = fmt.Sprintf("at least %d", min)
		case max != min:
			want = fmt.Sprintf("%d to %d", min, max)
		}
		return UsageErrorf("%s: expected %s argument(s), got %d (usage: %s %s)", c.Command.FullName(), want, n, c.Command.HelpName, c.Command.ArgsUsage)
	}
	return nil
}
