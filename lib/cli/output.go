package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// JSON reports whether machine output was asked for.
func JSON(c *ucli.Context) bool { return c.Bool("json") }

// Quiet reports -q, given before or after the command name.
func Quiet(c *ucli.Context) bool { return anyBool(c, "quiet") }

// Verbose reports -v, given before or after the command name.
func Verbose(c *ucli.Context) bool { return anyBool(c, "verbose") }

// anyBool is true when a boolean flag is set at any level of the command line;
// c.Bool alone would stop at the innermost command that defines the flag.
func anyBool(c *ucli.Context, name string) bool {
	for _, x := range c.Lineage() {
		if x.Bool(name) {
			return true
		}
	}
	return false
}

// Stdout is where data goes.
func Stdout(c *ucli.Context) io.Writer { return c.App.Writer }

// Stderr is where logs, progress and prompts go.
func Stderr(c *ucli.Context) io.Writer { return c.App.ErrWriter }

// PrintJSON writes one JSON object (a result), indented for people reading it.
func PrintJSON(c *ucli.Context, v any) error {
	enc := json.NewEncoder(Stdout(c))
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// PrintNDJSON writes one compact JSON object on one line (streams).
func PrintNDJSON(c *ucli.Context, v any) error {
	enc := json.NewEncoder(Stdout(c))
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Printf writes text data to stdout.
func Printf(c *ucli.Context, format string, args ...any) {
	fmt.Fprintf(Stdout(c), format, args...)
}

// Infof writes an informational line to stderr, unless -q.
func Infof(c *ucli.Context, format string, args ...any) {
	if Quiet(c) {
		return
	}
	fmt.Fprintf(Stderr(c), format+"\n", args...)
}

// Logger returns the process logger (stderr; debug with -v, errors only with -q).
func Logger(c *ucli.Context) *slog.Logger { return slog.Default() }

func setupLogging(c *ucli.Context) error {
	level := slog.LevelWarn
	if Verbose(c) {
		level = slog.LevelDebug
	} else if Quiet(c) {
		level = slog.LevelError
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level})))
	return nil
}

// StderrIsTerminal tells whether progress output may be drawn.
func StderrIsTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }
