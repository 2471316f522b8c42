// Command jami-ns is the Jami name service: a client (lookup, reverse,
// register, checked as the daemon checks them) and a JamiNS server with the
// REST API the daemon uses, backed by a registrar contract on an embedded
// Ethereum chain or on a real node over JSON-RPC.
package main

import (
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

var tool = cli.Tool{
	Name:  "jami-ns",
	Usage: "look up, register and serve Jami names (JamiNS)",
	Description: "JamiNS maps a user name to a Jami ID (the SHA-1 of the account's public key) and back. A record\n" +
		"carries the account's public key and its signature over the name, so that a client can check\n" +
		"what a server answers without trusting it; lookup and reverse do, as the daemon does.\n\n" +
		"The client commands talk to --server (default the public " + defaultServer + ", or $JAMI_NS_URL).\n" +
		"serve runs a server the daemon can use (set the account's RingNS.uri to its URL). Its records live\n" +
		"in a registrar contract on an embedded Ethereum chain kept in --data (or in memory with\n" +
		"--ephemeral), or on a real node given with --rpc-url, --contract and --key-file.\n\n" +
		"Examples:\n" +
		"  jami-ns lookup alice\n" +
		"  jami-ns register alice --account ~/.local/share/jami/1a2b3c4d5e6f7a8b --server http://127.0.0.1:8080\n" +
		"  jami-ns serve --listen 127.0.0.1:8080 --data /var/lib/jami-ns\n" +
		"  jami-ns export --data /var/lib/jami-ns -o names.json",
	Commands: []*ucli.Command{
		lookupCommand(),
		reverseCommand(),
		registerCommand(),
		serveCommand(),
		exportCommand(),
		importCommand(),
	},
}

func main() { cli.Main(tool) }
