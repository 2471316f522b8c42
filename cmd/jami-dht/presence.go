package main

import (
	"time"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/jamidht"
	ucli "github.com/urfave/cli/v2"
)

type presenceDevice struct {
	DeviceID      string `json:"device_id,omitempty"` // absent when no certificate was found
	DeviceShortID string `json:"device_short_id"`
	Verified      bool   `json:"verified"`
	Revoked       bool   `json:"revoked,omitempty"`
	Error         string `json:"error,omitempty"`
	ValueID       string `json:"value_id"` // the announcement's value id (hex)
}

type presenceResult struct {
	JamiID  string           `json:"jami_id"`
	Devices []presenceDevice `json:"devices"`
}

func presenceCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "presence",
		Usage:     "list the devices an account has announced on the DHT, each verified (exit 3 when none)",
		ArgsUsage: "JAMI_ID",
		Description: "Looks up the DeviceAnnouncements at JAMI_ID (40 hex, or jami:<40 hex>) as a Jami client does\n" +
			"before contacting an account: only announcements signed by that account count; for each device\n" +
			"the certificate chain is fetched from the DHT and verified (it must verify with the account\n" +
			"certificate as anchor, the account certificate must be JAMI_ID's, the announced key must be the\n" +
			"certificate's) and checked against the revocation lists found at JAMI_ID.\n\n" +
			"One line per device: the device id (what Jami shows), \"verified\", or why not. --json prints\n" +
			"{\"jami_id\", \"devices\": [{\"device_id\", \"device_short_id\", \"verified\", \"revoked\", \"error\",\n" +
			"\"value_id\"}]}. Exit status 3 when no verified device was found, 4 when --timeout ended the lookup.\n\n" +
			"Examples:\n" +
			"  jami-dht presence --bootstrap 127.0.0.1:4222 d9b52ffb583b1ea8bed701d03c4aef1a936c5554\n" +
			"  jami-dht presence --bootstrap 127.0.0.1:4222 --json jami:d9b52ffb583b1ea8bed701d03c4aef1a936c5554",
		Flags:  netFlags(30 * time.Second),
		Action: presenceAction,
	}
}

func presenceAction(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	id, err := parseJamiID("JAMI_ID", c.Args().First())
	if err != nil {
		return err
	}
	ctx, cancel := opContext(c)
	defer cancel()
	s, err := joinSecure(ctx, c, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	devs, err := jamidht.Presence(ctx, s, id)
	if err != nil {
		return opError("presence "+id.String(), err)
	}
	res := presenceResult{JamiID: id.String(), Devices: []presenceDevice{}}
	verified := 0
	for _, d := range devs {
		pd := presenceDevice{DeviceShortID: d.ShortID.String(), Verified: d.Verified(), Revoked: d.Revoked, ValueID: idHex(d.ValueID)}
		if d.Chain != nil {
			pd.DeviceID = d.ID.String()
		}
		if d.Err != nil {
			pd.Error = d.Err.Error()
		} else {
			verified++
		}
		res.Devices = append(res.Devices, pd)
	}
	if cli.JSON(c) {
		if err := cli.PrintJSON(c, res); err != nil {
			return err
		}
	} else {
		for _, d := range res.Devices {
			name := d.DeviceID
			if name == "" {
				name = d.DeviceShortID
			}
			if d.Verified {
				cli.Printf(c, "%s verified\n", name)
			} else {
				cli.Printf(c, "%s NOT verified: %s\n", name, d.Error)
			}
		}
	}
	if verified == 0 {
		if len(devs) > 0 {
			return cli.NotFoundf("%s: no verified device (%d announced)", id, len(devs))
		}
		return cli.NotFoundf("%s: no device announced", id)
	}
	return nil
}
