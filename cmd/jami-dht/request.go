package main

import (
	"errors"
	"time"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht/types"
	"github.com/jamikit/jamikit/lib/jamidht"
	ucli "github.com/urfave/cli/v2"
)

type requestSent struct {
	DeviceID      string `json:"device_id,omitempty"`
	DeviceShortID string `json:"device_short_id"`
	Inbox         string `json:"inbox,omitempty"`
	ValueID       string `json:"value_id,omitempty"` // absent when not sent
	Error         string `json:"error,omitempty"`
}

type requestResult struct {
	From           string        `json:"from"`
	To             string        `json:"to"`
	ConversationID string        `json:"conversation_id"`
	Confirm        bool          `json:"confirm"`
	Devices        []requestSent `json:"devices"`
}

func requestCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "request",
		Usage:     "send a contact (trust) request to every device of an account",
		ArgsUsage: " ",
		Description: "Sends what Jami's \"add contact\" sends: a TrustRequest (value type 4, service cx.ring) signed by\n" +
			"our device and encrypted to each verified device of --to (found as presence finds them), put in\n" +
			"that device's inbox, SHA-1(\"inbox:\" + device short id). The payload is --message (jamid puts\n" +
			"the sender's vCard there); --conversation names the conversation the contact is invited to;\n" +
			"--confirm sends an acceptance instead of a request. Our device certificate is announced too (as a\n" +
			"Jami client online always has it on the DHT): the recipient identifies the sender account from it.\n\n" +
			"Prints one line per device the request went to. --json prints {\"from\", \"to\", \"conversation_id\",\n" +
			"\"confirm\", \"devices\": [{\"device_id\", \"device_short_id\", \"inbox\", \"value_id\", \"error\"}]}.\n" +
			"Exit status 3 when --to has no verified device.\n\n" +
			"Examples:\n" +
			"  jami-dht request --bootstrap 127.0.0.1:4222 --account alice --to d9b52ffb583b1ea8bed701d03c4aef1a936c5554\n" +
			"  jami-dht request --bootstrap 127.0.0.1:4222 --account alice --to d9b52ffb583b1ea8bed701d03c4aef1a936c5554 --message 'Hi, it is Alice'",
		Flags: append(append(netFlags(30*time.Second), accountFlags()...),
			&ucli.StringFlag{Name: "to", Usage: "the `JAMI_ID` to send the request to"},
			&ucli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "payload `TEXT` (a vCard in Jami)"},
			&ucli.StringFlag{Name: "conversation", Usage: "conversation `ID` the contact is invited to"},
			&ucli.BoolFlag{Name: "confirm", Usage: "send an acceptance (confirm=true) instead of a request"},
		),
		Action: requestAction,
	}
}

func requestAction(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	if c.String("to") == "" {
		return cli.UsageErrorf("--to JAMI_ID is required")
	}
	to, err := parseJamiID("--to", c.String("to"))
	if err != nil {
		return err
	}
	d, err := loadDevice(c)
	if err != nil {
		return err
	}
	tr := &types.TrustRequest{Service: types.ServiceJami, ConversationID: c.String("conversation"),
		Payload: []byte(c.String("message")), Confirm: c.Bool("confirm")}
	ctx, cancel := opContext(c)
	defer cancel()
	s, err := joinSecure(ctx, c, d)
	if err != nil {
		return err
	}
	defer s.Close()
	sent, err := jamidht.SendTrustRequest(ctx, s, to, tr)
	res := requestResult{From: d.JamiID().String(), To: to.String(), ConversationID: tr.ConversationID, Confirm: tr.Confirm, Devices: []requestSent{}}
	for _, x := range sent {
		r := requestSent{DeviceShortID: x.Device.ShortID.String()}
		if x.Device.Chain != nil {
			r.DeviceID = x.Device.ID.String()
		}
		switch {
		case x.Device.Err != nil:
			r.Error = x.Device.Err.Error()
		case x.Err != nil:
			r.Error = x.Err.Error()
		default:
			r.Inbox = jamidht.InboxKey(x.Device.ShortID).String()
			r.ValueID = idHex(x.ValueID)
		}
		res.Devices = append(res.Devices, r)
	}
	if cli.JSON(c) && len(res.Devices) > 0 {
		if perr := cli.PrintJSON(c, res); perr != nil {
			return perr
		}
	} else if !cli.JSON(c) {
		for _, r := range res.Devices {
			name := r.DeviceID
			if name == "" {
				name = r.DeviceShortID
			}
			if r.Error != "" {
				cli.Infof(c, "%s: not sent: %s", name, r.Error)
			} else {
				cli.Printf(c, "sent to %s (inbox %s, value %s)\n", name, r.Inbox, r.ValueID)
			}
		}
	}
	if errors.Is(err, jamidht.ErrNoDevice) {
		return cli.NotFoundf("%s: no verified device to send the request to", to)
	}
	if err != nil {
		return opError("request", err)
	}
	return nil
}
