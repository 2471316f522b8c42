// Command dhtnode runs OpenDHT nodes: a drop-in for OpenDHT 2.4.12's
// dhtnode, with the same options where they make sense and the same
// interactive console commands and output, plus --nodes N, a private
// network of N nodes in one process.
package main

import (
	"os"

	"github.com/jamikit/jamikit/lib/cli"
)

func main() { os.Exit(cli.Run(newApp(), getoptArgs(os.Args))) }
