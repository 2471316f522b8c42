package cli

import (
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// permuteArgs lets flags follow positional arguments, as in most Unix
// tools: "tool cmd FILE --flag x" becomes "tool cmd --flag x FILE".
// urfave/cli v2 stops parsing flags at the first positional argument, which
// would leave "--flag x" as arguments. Only the leaf command's arguments are
// reordered; everything after "--" stays positional.
func permuteArgs(app *ucli.App, args []string) []string {
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args
	}
	cmds, flags := app.Commands, app.Flags
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return args
		}
		if isFlagArg(a) {
			if takesValue(flags, a) {
				i++
			}
			continue
		}
		var cmd *ucli.Command
		for _, c := range cmds {
			if c.HasName(a) {
				cmd = c
			}
		}
		if cmd == nil {
			return args
		}
		if len(cmd.Subcommands) > 0 {
			cmds, flags = cmd.Subcommands, cmd.Flags
			continue
		}
		out := append([]string(nil), args[:i+1]...)
		return append(out, reorderFlags(cmd.Flags, args[i+1:])...)
	}
	return args
}

func reorderFlags(flags []ucli.Flag, rest []string) []string {
	var fl, pos []string
	dashdash := false
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			dashdash = true
			pos = append(pos, rest[j+1:]...)
			break
		}
		if !isFlagArg(a) {
			pos = append(pos, a)
			continue
		}
		fl = append(fl, a)
		if takesValue(flags, a) && j+1 < len(rest) {
			fl = append(fl, rest[j+1])
			j++
		}
	}
	if dashdash {
		fl = append(fl, "--")
	}
	return append(fl, pos...)
}

// isFlagArg: "-x", "--xx", "--xx=v"; a lone "-" is an argument (stdin).
func isFlagArg(a string) bool { return len(a) > 1 && a[0] == '-' }

// takesValue reports whether the flag named by a ("--name" or "-n", without
// "=value") is known and expects a separate value argument.
func takesValue(flags []ucli.Flag, a string) bool {
	if strings.Contains(a, "=") {
		return false
	}
	name := strings.TrimLeft(a, "-")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				if d, ok := f.(ucli.DocGenerationFlag); ok {
					return d.TakesValue()
				}
				return false
			}
		}
	}
	return false
}
