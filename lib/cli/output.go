package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"

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

// FieldFlag is --field/-F: print one field of the --json result, for scripts
// (PrintResult).
func FieldFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "field", Aliases: []string{"F"},
		Usage: "print only the value of one --json field `NAME` (e.g. jami_id, device_id), for scripts"}
}

// PrintResult prints a command's result r, a struct with json tags: with
// --field NAME (FieldFlag) only that field's value (a string as is, anything
// else as JSON; an unknown NAME is a usage error, an empty or absent value
// exits 3), with --json the whole object, else text() for people.
func PrintResult(c *ucli.Context, r any, text func()) error {
	if name := c.String("field"); name != "" {
		return printField(c, r, name)
	}
	if JSON(c) {
		return PrintJSON(c, r)
	}
	text()
	return nil
}

func printField(c *ucli.Context, r any, name string) error {
	known := false
	t := reflect.TypeOf(r)
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		known = known || tag == name
	}
	if !known {
		return UsageErrorf("--field %s: no such field (see --json)", name)
	}
	// Through JSON, so that the value is what --json shows (omitempty,
	// custom marshalers).
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	v, ok := m[name]
	if !ok || v == "" {
		return NotFoundf("%s: none", name)
	}
	if s, isStr := v.(string); isStr {
		Printf(c, "%s\n", s)
		return nil
	}
	b, _ = json.Marshal(v)
	Printf(c, "%s\n", b)
	return nil
}

// Field is one line of text output: a label and its value. (An array, so
// that tables of fields read as {"Label", value} literals.)
type Field [2]string

// PrintFields prints fields as aligned "Label:  value" lines, skipping empty
// values.
func PrintFields(c *ucli.Context, fields []Field) {
	w := 0
	for _, f := range fields {
		if f[1] != "" && len(f[0]) > w {
			w = len(f[0])
		}
	}
	for _, f := range fields {
		if f[1] != "" {
			Printf(c, "%-*s  %s\n", w+1, f[0]+":", f[1])
		}
	}
}
