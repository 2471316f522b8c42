package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

// maxInput bounds what is read from a file or stdin: certificates, keys and
// archives are kilobytes; archive.MaxSize is already generous.
const maxInput = archive.MaxSize

func nameFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "name", Usage: "device `NAME` written to config.yml (Account.deviceName); default: the host name"}
}

func configFlag() ucli.Flag {
	return &ucli.StringSliceFlag{Name: "config", Aliases: []string{"c"},
		Usage: "set a config.yml entry of the account folder, `KEY=VALUE` with jamid's YAML names (repeatable), e.g. hostname=127.0.0.1:4222, upnpEnabled=false, turnEnabled=false"}
}

// accountPath is --account (or $JAMI_ACCOUNT); required.
func accountPath(c *ucli.Context) (string, error) {
	p := c.String("account")
	if p == "" {
		return "", cli.UsageErrorf("%s: --account is required: an archive file or a jamid account folder", c.Command.Name)
	}
	return p, nil
}

// unlocking is what unlocks an archive on this command line: the password
// (--password-file, $JAMI_PASSWORD, a prompt), asked only when encrypted.
func unlocking(c *ucli.Context) account.Unlock {
	return account.Unlock{Password: cli.ArchivePassword(false).Bind(c)}
}

// openAccount reads an account (an archive, or a jamid account folder and
// its archive) and unlocks its archive, which must have the account
// certificate (device and revoke sign with it).
func openAccount(c *ucli.Context, path string) (*account.Source, error) {
	s, err := account.OpenSource(path, cli.Stdin(c), unlocking(c))
	if err != nil {
		return nil, err
	}
	if s.Archive.AccountCert() == nil {
		return nil, fmt.Errorf("%s: archive has no account certificate", s.Path)
	}
	if s.Folder != nil && s.Archive.JamiID() != s.Folder.JamiID() {
		return nil, fmt.Errorf("%s: archive is for account %s, the folder for %s", s.Path, s.Archive.JamiID(), s.Folder.JamiID())
	}
	return s, nil
}

// defaultDeviceName is what jamid names a device: the host name.
func defaultDeviceName(c *ucli.Context) string {
	if c.IsSet("name") {
		return c.String("name")
	}
	h, _ := os.Hostname()
	return h
}

// absPath makes paths in JSON output unambiguous.
func absPath(p string) string {
	if p == "" || p == "-" {
		return p
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
