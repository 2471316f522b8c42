package main

import (
	"fmt"
	"sync"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht/value"
	ucli "github.com/urfave/cli/v2"
)

func listenCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "listen",
		Usage:     "print the values at KEY as they arrive, and their expiries",
		ArgsUsage: "KEY",
		Description: "Listens on KEY: prints the values stored there now, then each new or changed value as the\n" +
			"storing nodes push it, one line each as dhtnode prints them, and \"expired Value[...]\" when a\n" +
			"value expires or is removed. --json prints one JSON object a line (NDJSON), the fields of get --json\n" +
			"plus \"expired\": true for expiries. The listen is refreshed on the 4 closest nodes every 20 s.\n\n" +
			"It runs until --count values arrived (exit 0), --timeout passed (exit 0, or 4 when --count\n" +
			"values had not arrived by then), or Ctrl-C/SIGTERM (exit 130).\n\n" +
			"--account and --decode work as in get: values encrypted to the device are decrypted, signers shown,\n" +
			"forged values marked REJECTED, Jami payloads decoded.\n\n" +
			"Examples:\n" +
			"  jami-dht listen --bootstrap 127.0.0.1:4222 hello\n" +
			"  jami-dht listen --bootstrap 127.0.0.1:4222 --json --count 1 --timeout 1m hello\n" +
			"  jami-dht listen --bootstrap 127.0.0.1:4222 --where user_type=text/plain hello\n" +
			"  jami-dht listen --bootstrap 127.0.0.1:4222 --decode d9b52ffb583b1ea8bed701d03c4aef1a936c5554",
		Flags: append(append(netFlags(0),
			&ucli.StringFlag{Name: "where", Aliases: []string{"w"}, Usage: "only values matching `EXPR` (e.g. 'value_type=3')"},
			&ucli.UintFlag{Name: "count", Aliases: []string{"c"}, Usage: "stop after `N` values (0: no limit)"},
			decodeFlag(),
		), accountFlags()...),
		Action: listenAction,
	}
}

func listenAction(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	where, err := parseWhere(c.String("where"))
	if err != nil {
		return err
	}
	if where != nil {
		if _, err := (value.Query{Where: *where}).Pack(); err != nil {
			return cli.UsageErrorf("--where: %v", err)
		}
	}
	key, err := parseKey(c, c.Args().First())
	if err != nil {
		return err
	}
	count := c.Uint("count")
	js := cli.JSON(c)

	ctx, cancel := opContext(c)
	defer cancel()
	if wantsSecure(c) {
		return listenSecure(ctx, c, key, where, count)
	}
	n, err := connect(ctx, c)
	if err != nil {
		return err
	}
	defer n.Close()

	var (
		mu      sync.Mutex
		got     uint
		reached = make(chan struct{})
		stop    sync.Once
		werr    error
	)
	_, err = n.Listen(ctx, key, where, func(vals []*value.Value, expired bool) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range vals {
			if count > 0 && got >= count {
				break
			}
			if js {
				j := toJSON(v)
				j.Expired = expired
				werr = cli.PrintNDJSON(c, j)
			} else if expired {
				_, werr = fmt.Fprintf(cli.Stdout(c), "expired %s\n", v)
			} else {
				_, werr = fmt.Fprintf(cli.Stdout(c), "%s\n", v)
			}
			if werr != nil {
				// stdout is gone (a closed pipe): nobody reads any more.
				stop.Do(func() { close(reached) })
				return false
			}
			if !expired {
				got++
			}
		}
		if count > 0 && got >= count {
			stop.Do(func() { close(reached) })
			return false
		}
		return true
	})
	if err != nil {
		return opError("listen", err)
	}
	select {
	case <-reached:
		return werr
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	if c.Context.Err() == nil && (count == 0 || got >= count) {
		// --timeout is how long to listen when no --count is wanted.
		return nil
	}
	if c.Context.Err() != nil {
		return c.Context.Err()
	}
	return fmt.Errorf("listen: %d of %d values before the timeout: %w", got, count, ctx.Err())
}
