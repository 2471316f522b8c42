package cli

import (
	"time"

	ucli "github.com/urfave/cli/v2"
)

// The common flags (CONVENTIONS.md): same name, same meaning, same variable in
// every tool. Each call returns a fresh flag so commands do not share state.

const (
	EnvAccount   = "JAMI_ACCOUNT"
	EnvPassword  = "JAMI_PASSWORD"
	EnvBootstrap = "JAMI_BOOTSTRAP"
	EnvNetwork   = "JAMI_NETWORK"
	// EnvNewPassword holds the password of an archive being written from
	// another one (NewArchivePassword).
	EnvNewPassword = "JAMI_NEW_PASSWORD"
)

func AccountFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "account", Aliases: []string{"a"}, Usage: "account: a jamid account `PATH` (folder) or an archive file", EnvVars: []string{EnvAccount}, TakesFile: true}
}

// PasswordFileFlag names the file holding the archive password. The password
// itself may also come from $JAMI_PASSWORD or a terminal prompt, never argv.
func PasswordFileFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "password-file", Usage: "read the archive password from `FILE` (first line; '-' for stdin); else $" + EnvPassword + ", else a prompt", TakesFile: true}
}

// NewPasswordFileFlag names the file holding the password of an archive
// being written (NewArchivePassword); --password-file is the input's.
func NewPasswordFileFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "new-password-file", TakesFile: true,
		Usage: "password for the archive written, from `FILE` (first line); else $" + EnvNewPassword + ", else a prompt"}
}

// NoPasswordFlag asks for an archive written without a password (NewPassword).
func NoPasswordFlag() *ucli.BoolFlag {
	return &ucli.BoolFlag{Name: "no-password", Usage: "write the archive without a password (gzip; private keys in clear)"}
}

func JSONFlag() *ucli.BoolFlag {
	return &ucli.BoolFlag{Name: "json", Usage: "machine output: JSON"}
}

func ForceFlag() *ucli.BoolFlag {
	return &ucli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "overwrite existing files"}
}

func OutputFlag(usage string) *ucli.StringFlag {
	return &ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: usage, TakesFile: true}
}

func BootstrapFlag() *ucli.StringSliceFlag {
	return &ucli.StringSliceFlag{Name: "bootstrap", Aliases: []string{"b"}, Usage: "DHT bootstrap node `HOST:PORT` (repeatable; default port 4222)", EnvVars: []string{EnvBootstrap}, Value: ucli.NewStringSlice("bootstrap.jami.net:4222")}
}

func NetworkFlag() *ucli.UintFlag {
	return &ucli.UintFlag{Name: "network", Aliases: []string{"n"}, Usage: "OpenDHT network id", EnvVars: []string{EnvNetwork}}
}

func PortFlag() *ucli.UintFlag {
	return &ucli.UintFlag{Name: "port", Aliases: []string{"p"}, Usage: "local UDP port (0: random)"}
}

func TimeoutFlag(def time.Duration) *ucli.DurationFlag {
	return &ucli.DurationFlag{Name: "timeout", Usage: "give up after this `DURATION`", Value: def}
}

var (
	verboseFlag = &ucli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "debug logs on stderr"}
	quietFlag   = &ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the result"}
)
