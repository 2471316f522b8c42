// Command jami-keygen creates Jami accounts and devices exactly as jamid
// 13.7.0 does (keys, certificates, IDs, receipts, revocation lists) and
// prints or checks the identities in certificates, keys, archives and
// account folders.
package main

import (
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

var tool = cli.Tool{
	Name:  "jami-keygen",
	Usage: "create Jami accounts and devices, revoke devices, print and check Jami identities",
	Description: "A Jami account is three RSA-4096 keys: a self-signed \"Jami CA\", the account (\"Jami\"), whose key's\n" +
		"SHA-1 id is the Jami ID, and one key per device (\"Jami device\"), whose SHA-256 id is the device ID.\n" +
		"jami-keygen writes them with the certificate profile, receipts and revocation lists of jamid 13.7.0:\n" +
		"an account folder it writes is loaded by jamid as-is, an archive it writes is imported by jamid.\n\n" +
		"Passwords never come from the command line: --password-file FILE or $JAMI_PASSWORD, else a prompt.\n\n" +
		"Examples:\n" +
		"  jami-keygen new -o ~/.local/share/jami/alice --password-file pw --config hostname=127.0.0.1:4222\n" +
		"  jami-keygen device --account alice.gz --password-file pw -o ~/.local/share/jami/alice2\n" +
		"  jami-keygen id ~/.local/share/jami/alice\n" +
		"  jami-keygen show ring_device.crt",
	Commands: []*ucli.Command{
		newCommand(),
		deviceCommand(),
		revokeCommand(),
		idCommand(),
		showCommand(),
	},
}

func main() { cli.Main(tool) }
