// Command jami-archive reads, writes, verifies, converts and backs up Jami
// account archives (archive.gz), byte-compatible with jamid 13.7.0.
package main

import (
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

var tool = cli.Tool{
	Name:  "jami-archive",
	Usage: "read, write, verify, convert and back up Jami account archives (archive.gz)",
	Description: "An account archive holds a Jami account's keys and certificates, and, when jamid exported it,\n" +
		"its settings, contacts and conversations. With a password it is encrypted (Argon2i, AES-256-GCM);\n" +
		"without, it is a gzip file. jami-archive reads every form jamid 13.7 reads and writes the same bytes.\n\n" +
		"Passwords never come from the command line: --password-file FILE or $JAMI_PASSWORD for the\n" +
		"archive being read, --new-password-file FILE or $JAMI_NEW_PASSWORD for one being written,\n" +
		"else a prompt on the terminal.\n\n" +
		"Examples:\n" +
		"  jami-archive show archive.gz --password-file pw\n" +
		"  jami-archive verify archive.gz --password-file pw\n" +
		"  jami-archive backup --account ~/.local/share/jami/1a2b3c --to ~/backups --keep 7 --password-file pw",
	Commands: []*ucli.Command{
		showCommand(),
		verifyCommand(),
		createCommand(),
		passwdCommand(),
		convertCommand(),
		extractCommand(),
		backupCommand(),
	},
}

func main() { cli.Main(tool) }
