package main

import (
	"context"
	"time"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/jamidht"
	ucli "github.com/urfave/cli/v2"
)

type announceResult struct {
	JamiID         string   `json:"jami_id"`
	DeviceID       string   `json:"device_id"`
	DeviceShortID  string   `json:"device_short_id"`
	AnnouncementID string   `json:"announcement_id"` // value id at the Jami ID (hex)
	CRLIDs         []string `json:"crl_ids"`
	Once           bool     `json:"once"`
}

func announceCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "announce",
		Usage:     "put an account's device on the DHT, as a Jami client does when it comes online",
		ArgsUsage: " ",
		Description: "Publishes what a Jami device publishes when its DHT node connects: its certificate chain\n" +
			"(device, account, CA; type 8, value id 1) at its public key id, the DeviceAnnouncement its\n" +
			"account signed (the receipt's announce, from config.yml) at the Jami ID, and the account's\n" +
			"revocation lists (--crl, and the CRL of an unencrypted archive) at the Jami ID, all as permanent\n" +
			"puts. Other clients then see the device with presence and can send it requests (request).\n\n" +
			"It prints the Jami ID and device, then keeps the values announced until interrupted (Ctrl-C or\n" +
			"SIGTERM, exit 130) or --timeout passes (exit 0); with --once it exits as soon as storing nodes\n" +
			"acknowledged the puts (the values then live 7 days for the certificate, 10 minutes for the\n" +
			"announcement). --account is a jamid account folder (with its receipt) or an archive with a\n" +
			"device key (the announcement is then signed afresh with the account key).\n\n" +
			"Examples:\n" +
			"  jami-dht announce --bootstrap 127.0.0.1:4222 --account ~/.local/share/jami/abcdef0123456789\n" +
			"  jami-dht announce --bootstrap 127.0.0.1:4222 --account alice --once --json",
		Flags: append(append(netFlags(0), accountFlags()...),
			&ucli.BoolFlag{Name: "once", Usage: "exit once the values are stored instead of keeping them announced"},
			&ucli.StringSliceFlag{Name: "crl", Usage: "also put the account's revocation list `FILE` (DER or PEM; repeatable)", TakesFile: true},
		),
		Action: announceAction,
	}
}

func announceAction(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	d, err := loadDevice(c)
	if err != nil {
		return err
	}
	for _, p := range c.StringSlice("crl") {
		b, err := readFileArg(p)
		if err != nil {
			return err
		}
		if err := d.AddCRL(b); err != nil {
			return cli.UsageErrorf("--crl %s: %v", p, err)
		}
	}
	once := c.Bool("once")
	ctx, cancel := opContext(c)
	defer cancel()
	if once && c.Duration("timeout") == 0 {
		// The puts themselves are bounded like put's.
		var cancel2 func()
		ctx, cancel2 = context.WithTimeout(ctx, 30*time.Second)
		defer cancel2()
	}
	s, err := joinSecure(ctx, c, d)
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := jamidht.Announce(ctx, s, d)
	if err != nil {
		return secureError("announce", err)
	}
	out := announceResult{
		JamiID: d.JamiID().String(), DeviceID: d.ID().String(), DeviceShortID: d.ShortID().String(),
		AnnouncementID: idHex(res.AnnouncementID), CRLIDs: []string{}, Once: once,
	}
	for _, id := range res.CRLIDs {
		out.CRLIDs = append(out.CRLIDs, idHex(id))
	}
	if cli.JSON(c) {
		if err := cli.PrintJSON(c, out); err != nil {
			return err
		}
	} else {
		cli.Printf(c, "account %s\ndevice  %s\n", out.JamiID, out.DeviceID)
		cli.Infof(c, "certificate at %s, announcement %s at %s, %d CRL(s)", out.DeviceShortID, out.AnnouncementID, out.JamiID, len(out.CRLIDs))
	}
	if once {
		return nil
	}
	cli.Infof(c, "announcing until interrupted")
	<-ctx.Done()
	if c.Context.Err() != nil {
		return c.Context.Err()
	}
	return nil // --timeout: the announce ran its course
}
