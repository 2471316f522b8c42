package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht"
	ucli "github.com/urfave/cli/v2"
)

type pingResult struct {
	Host  string  `json:"host"`
	Addr  string  `json:"addr"`
	ID    string  `json:"id"`
	RTTms float64 `json:"rtt_ms"`
}

func pingCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "ping",
		Usage:     "ping DHT nodes and print their node ids",
		ArgsUsage: "HOST[:PORT]...",
		Description: "Sends an OpenDHT ping to each HOST (port 4222 when absent; [v6]:port for IPv6) and prints\n" +
			"\"ADDRESS NODE-ID RTT\" for each answer. A request is sent 3 times over about 8 s, as OpenDHT does,\n" +
			"before the node counts as not answering. --json prints one object a line: {\"host\", \"addr\",\n" +
			"\"id\", \"rtt_ms\"}. No bootstrap is needed.\n\n" +
			"Exit status 4 when a node did not answer (or --timeout passed), 1 when a name does not resolve.\n\n" +
			"Examples:\n" +
			"  jami-dht ping 127.0.0.1:4222\n" +
			"  jami-dht ping --json bootstrap.jami.net",
		Flags: []ucli.Flag{
			cli.NetworkFlag(),
			cli.PortFlag(),
			cli.TimeoutFlag(15 * time.Second),
			cli.JSONFlag(),
		},
		Action: pingAction,
	}
}

// resolveHost resolves "host[:port]" as OpenDHT's bootstrap does: the port
// defaults to 4222, IPv6 literals go in brackets.
func resolveHost(ctx context.Context, hostport string) ([]netip.AddrPort, error) {
	host, port := hostport, strconv.Itoa(dht.DefaultPort)
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	} else if len(hostport) > 1 && hostport[0] == '[' && hostport[len(hostport)-1] == ']' {
		host = hostport[1 : len(hostport)-1]
	}
	pn, err := net.LookupPort("udp", port)
	if err != nil || pn == 0 {
		return nil, fmt.Errorf("%s: bad port %q", hostport, port)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(ip.Unmap(), uint16(pn))}, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hostport, err)
	}
	out := make([]netip.AddrPort, 0, len(ips))
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(pn)))
	}
	return out, nil
}

func pingAction(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, -1); err != nil {
		return err
	}
	ctx, cancel := opContext(c)
	defer cancel()
	n, err := newNode(c)
	if err != nil {
		return err
	}
	defer n.Close()

	var firstErr error
	fail := func(err error) {
		fmt.Fprintf(cli.Stderr(c), "%s: %v\n", c.App.Name, err)
		if firstErr == nil {
			firstErr = err
		}
	}
	for _, host := range c.Args().Slice() {
		addrs, err := resolveHost(ctx, host)
		if err != nil {
			fail(err)
			continue
		}
		for _, a := range addrs {
			start := time.Now()
			id, err := n.Ping(ctx, a)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("ping %s: %w", a, ctx.Err())
				}
				// The request went unanswered through its retransmissions.
				fail(cli.Errorf(cli.ExitTimeout, "ping %s: no answer", a))
				continue
			}
			rtt := time.Since(start)
			r := pingResult{Host: host, Addr: a.String(), ID: id.String(), RTTms: float64(rtt.Microseconds()) / 1000}
			if cli.JSON(c) {
				if err := cli.PrintNDJSON(c, r); err != nil {
					return err
				}
			} else {
				cli.Printf(c, "%s %s %.3f ms\n", r.Addr, r.ID, r.RTTms)
			}
		}
	}
	if firstErr != nil {
		// Each failure was reported above; the exit status is the first's.
		var ee *cli.ExitError
		if errors.As(firstErr, &ee) {
			return cli.Errorf(ee.Code, "")
		}
		return cli.Errorf(cli.ExitFailure, "")
	}
	return nil
}
