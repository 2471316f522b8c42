// Command jami-dht runs an ephemeral OpenDHT node that bootstraps, does one
// operation (put, get, listen, ping, nodes) and exits: the tool for looking
// at and debugging values on the Jami DHT, byte-compatible with OpenDHT
// 2.4.12 peers.
package main

import (
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

var tool = cli.Tool{
	Name:  "jami-dht",
	Usage: "put, get and listen to values on the Jami DHT (OpenDHT 2.4.12), signed and encrypted; announce accounts, find their devices, send and receive contact requests",
	Description: "Each command starts an ephemeral DHT node on a random UDP port, bootstraps it (--bootstrap,\n" +
		"default bootstrap.jami.net:4222), does one operation and exits.\n\n" +
		"KEY is 40 hexadecimal characters, used as is; any other string is hashed with SHA-1 as OpenDHT's\n" +
		"InfoHash::get does (jami-dht says so on stderr), so \"hello\" is the key Python's InfoHash.get(\"hello\")\n" +
		"and dhtnode's \"g hello\" use. Value ids are printed in hexadecimal, as dhtnode prints them; where an\n" +
		"id is read (--id, WHERE id=), a 0x prefix marks hexadecimal, else it is decimal as in OpenDHT.\n\n" +
		"Exit status: 0 success, 1 failure, 2 usage error, 3 nothing found, 4 timed out, 130 interrupted.\n\n" +
		"Examples:\n" +
		"  jami-dht put --bootstrap 127.0.0.1:4222 hello 'world'\n" +
		"  jami-dht get --bootstrap 127.0.0.1:4222 hello\n" +
		"  jami-dht get --bootstrap 127.0.0.1:4222 --raw hello > value.bin\n" +
		"  jami-dht listen --bootstrap 127.0.0.1:4222 --json hello\n" +
		"  jami-dht presence --bootstrap 127.0.0.1:4222 d9b52ffb583b1ea8bed701d03c4aef1a936c5554\n" +
		"  jami-dht ping 127.0.0.1:4222",
	Commands: []*ucli.Command{
		putCommand(),
		getCommand(),
		listenCommand(),
		announceCommand(),
		presenceCommand(),
		requestCommand(),
		inboxCommand(),
		pingCommand(),
		nodesCommand(),
		hashCommand(),
	},
}

func main() { cli.Main(tool) }
