package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht/wire"
	ucli "github.com/urfave/cli/v2"
)

type hashResult struct {
	Input string `json:"input"`
	Key   string `json:"key"`
}

func hashCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "hash",
		Usage:     "print the DHT key of a string (SHA-1, OpenDHT's InfoHash::get)",
		ArgsUsage: "STRING|-|@FILE...",
		Description: "Prints the key OpenDHT derives from each argument (InfoHash::get: SHA-1 of its bytes), one a\n" +
			"line: the key that jami-dht, dhtnode's console and Python's InfoHash.get use for a key that is not\n" +
			"40 hexadecimal characters. - hashes stdin, @FILE a file's content. Works offline.\n" +
			"--json prints one {\"input\", \"key\"} object a line.\n\n" +
			"Examples:\n" +
			"  jami-dht hash hello\n" +
			"  jami-dht hash @cert.pem",
		Flags:  []ucli.Flag{cli.JSONFlag()},
		Action: hashAction,
	}
}

func hashAction(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, -1); err != nil {
		return err
	}
	for _, arg := range c.Args().Slice() {
		data := []byte(arg)
		switch {
		case arg == "-":
			b, err := io.ReadAll(cli.Stdin(c))
			if err != nil {
				return fmt.Errorf("stdin: %w", err)
			}
			data = b
		case strings.HasPrefix(arg, "@"):
			b, err := os.ReadFile(arg[1:])
			if err != nil {
				return err
			}
			data = b
		}
		h := wire.InfoHashOf(data)
		if cli.JSON(c) {
			if err := cli.PrintNDJSON(c, hashResult{Input: arg, Key: h.String()}); err != nil {
				return err
			}
			continue
		}
		cli.Printf(c, "%s\n", h)
	}
	return nil
}
