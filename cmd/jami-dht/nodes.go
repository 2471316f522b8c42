package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/wire"
	ucli "github.com/urfave/cli/v2"
)

type nodeJSON struct {
	ID         string `json:"id"`
	Addr       string `json:"addr"`
	State      string `json:"state"` // good, dubious or expired
	CommonBits *int   `json:"common_bits,omitempty"`
	Synced     *bool  `json:"synced,omitempty"`
}

type nodesResult struct {
	Node  string     `json:"node"`          // our ephemeral node's id
	Key   string     `json:"key,omitempty"` // with --key
	Nodes []nodeJSON `json:"nodes"`
}

func nodesCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "nodes",
		Usage:     "list the DHT nodes a bootstrap reveals, or those closest to a key",
		ArgsUsage: " ",
		Description: "Bootstraps, looks up the node's own id (as an OpenDHT node does once connected), and prints\n" +
			"the nodes of its routing tables, one \"NODE-ID ADDRESS STATE\" line each: good (answered us),\n" +
			"dubious (only heard of) or expired (stopped answering).\n\n" +
			"With --key KEY: looks KEY up and prints the nodes of that search instead, closest to KEY first,\n" +
			"\"COMMON-BITS NODE-ID ADDRESS STATE [synced]\": the nodes a put stores on (the first 8 synced) and a\n" +
			"get asks. --json prints {\"node\", \"key\", \"nodes\": [{\"id\", \"addr\", \"state\", \"common_bits\", \"synced\"}]}.\n\n" +
			"Examples:\n" +
			"  jami-dht nodes --bootstrap 127.0.0.1:4222\n" +
			"  jami-dht nodes --bootstrap 127.0.0.1:4222 --key hello --json",
		Flags: append(netFlags(30*time.Second),
			&ucli.StringFlag{Name: "key", Aliases: []string{"k"}, Usage: "list the nodes closest to `KEY`"},
		),
		Action: nodesAction,
	}
}

func stateOf(s dht.NodeState) string {
	switch {
	case s.Expired:
		return "expired"
	case s.Good:
		return "good"
	}
	return "dubious"
}

func nodesAction(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	if err := nodeOnly(c, "nodes"); err != nil {
		return err
	}
	var key wire.InfoHash
	byKey := c.IsSet("key")
	if byKey {
		var err error
		if key, err = parseKey(c, c.String("key")); err != nil {
			return err
		}
	}
	ctx, cancel := opContext(c)
	defer cancel()
	n, err := joinDHT(ctx, c)
	if err != nil {
		return err
	}
	defer n.Close()
	target := n.ID()
	if byKey {
		target = key
	}
	// The lookup walks toward target, learning the nodes on the way.
	if _, err := n.Get(ctx, target, nil); err != nil {
		return opError("lookup", err)
	}
	res := nodesResult{Node: n.ID().String(), Nodes: []nodeJSON{}}
	var lines []string
	if byKey {
		res.Key = key.String()
		srs, err := n.Searches(ctx)
		if err != nil {
			return err
		}
		for _, s := range srs {
			if s.Key != key {
				continue
			}
			for _, sn := range s.Nodes {
				bits, synced := wire.CommonBits(key, sn.ID), sn.Synced
				res.Nodes = append(res.Nodes, nodeJSON{ID: sn.ID.String(), Addr: sn.Addr.String(), State: stateOf(sn.NodeState), CommonBits: &bits, Synced: &synced})
				line := []string{fmt.Sprintf("%3d", bits), sn.ID.String(), sn.Addr.String(), stateOf(sn.NodeState)}
				if synced {
					line = append(line, "synced")
				}
				lines = append(lines, strings.Join(line, " "))
			}
		}
	} else {
		for _, v6 := range []bool{false, true} {
			buckets, err := n.RoutingTable(ctx, v6)
			if err != nil {
				return err
			}
			for _, b := range buckets {
				for _, s := range b.Nodes {
					res.Nodes = append(res.Nodes, nodeJSON{ID: s.ID.String(), Addr: s.Addr.String(), State: stateOf(s)})
					lines = append(lines, s.ID.String()+" "+s.Addr.String()+" "+stateOf(s))
				}
			}
		}
	}
	if cli.JSON(c) {
		if err := cli.PrintJSON(c, res); err != nil {
			return err
		}
	} else {
		for _, l := range lines {
			cli.Printf(c, "%s\n", l)
		}
	}
	if len(res.Nodes) == 0 {
		return cli.NotFoundf("no node found")
	}
	return nil
}
