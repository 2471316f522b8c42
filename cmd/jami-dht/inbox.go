package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht/types"
	"github.com/jamikit/jamikit/lib/jamidht"
	ucli "github.com/urfave/cli/v2"
)

type inboxMessage struct {
	Kind          string          `json:"kind"`           // TrustRequest, ImMessage, DeviceSync, ... ("" unknown)
	From          string          `json:"from,omitempty"` // sender's Jami ID
	FromDevice    string          `json:"from_device,omitempty"`
	FromDeviceSID string          `json:"from_device_short_id"`
	Verified      bool            `json:"verified"`
	Error         string          `json:"error,omitempty"`
	ValueID       string          `json:"value_id"`
	Type          uint16          `json:"type"`
	Payload       json.RawMessage `json:"payload,omitempty"` // the decoded value (--decode form)
}

func inboxCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "inbox",
		Usage:     "print the trust requests and messages sent to an account's device, decrypted and verified",
		ArgsUsage: " ",
		Description: "Listens on the device's inbox, SHA-1(\"inbox:\" + device short id), where Jami peers put\n" +
			"contact (trust) requests, their acceptances, pre-swarm text messages and device syncs, each\n" +
			"encrypted to the device. Every value is decrypted with the device key, its signature checked, and\n" +
			"its sender identified as jamid does: the signing device's certificate is fetched from the DHT, its\n" +
			"chain verified, and the sender account is the device certificate's issuer.\n\n" +
			"One line per value, e.g.\n" +
			"  TrustRequest from 09f60d02... (device 02bc734e...): conversation 6a3f..., payload \"Hi\"\n" +
			"--json prints one JSON object a line: {\"kind\", \"from\", \"from_device\", \"from_device_short_id\",\n" +
			"\"verified\", \"error\", \"value_id\", \"type\", \"payload\"}. It runs until --count values arrived\n" +
			"(exit 0), --timeout passed (exit 0, or 4 when --count values had not arrived), or Ctrl-C (130).\n\n" +
			"Examples:\n" +
			"  jami-dht inbox --bootstrap 127.0.0.1:4222 --account bob\n" +
			"  jami-dht inbox --bootstrap 127.0.0.1:4222 --account bob --json --count 1 --timeout 2m",
		Flags: append(append(netFlags(0), accountFlags()...),
			&ucli.UintFlag{Name: "count", Aliases: []string{"c"}, Usage: "stop after `N` values (0: no limit)"},
		),
		Action: inboxAction,
	}
}

func inboxAction(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	d, err := loadDevice(c)
	if err != nil {
		return err
	}
	count := c.Uint("count")
	ctx, cancel := opContext(c)
	defer cancel()
	s, err := joinSecure(ctx, c, d)
	if err != nil {
		return err
	}
	defer s.Close()
	cli.Infof(c, "listening on the inbox of device %s (%s)", d.ShortID(), jamidht.InboxKey(d.ShortID()))
	var got uint
	var werr error
	err = jamidht.Inbox(ctx, s, func(m *jamidht.Message) bool {
		werr = printInbox(c, m)
		got++
		return werr == nil && (count == 0 || got < count)
	})
	switch {
	case werr != nil:
		return werr
	case err == nil:
		return nil // --count reached
	case c.Context.Err() != nil:
		return c.Context.Err()
	case errors.Is(err, context.DeadlineExceeded):
		if count > 0 && got < count {
			return fmt.Errorf("inbox: %d of %d values before the timeout: %w", got, count, err)
		}
		return nil
	}
	return secureError("inbox", err)
}

func printInbox(c *ucli.Context, m *jamidht.Message) error {
	j := inboxMessage{Kind: m.Kind, FromDeviceSID: m.FromDevice.String(), Verified: m.Verified(), ValueID: idHex(m.Value.ID), Type: m.Value.Type}
	if m.FromDeviceChain != nil {
		j.FromDevice = m.FromDeviceID.String()
		j.From = m.FromAccount.String()
	}
	if m.Err != nil {
		j.Error = m.Err.Error()
	}
	if m.Payload != nil {
		b, err := json.Marshal(m.Payload)
		if err != nil {
			return err
		}
		j.Payload = b
	}
	if cli.JSON(c) {
		return cli.PrintNDJSON(c, j)
	}
	from := j.From
	if from == "" {
		from = "unknown account"
	}
	dev := j.FromDevice
	if dev == "" {
		dev = j.FromDeviceSID
	}
	kind := j.Kind
	if kind == "" {
		kind = fmt.Sprintf("value of type %d", j.Type)
	}
	line := fmt.Sprintf("%s from %s (device %s)", kind, from, dev)
	switch p := m.Payload.(type) {
	case *types.TrustRequest:
		if p.Confirm {
			line = "TrustRequest acceptance" + line[len("TrustRequest"):]
		}
		line += fmt.Sprintf(": conversation %q, payload %q", p.ConversationID, p.Payload)
	case *types.ImMessage:
		line += fmt.Sprintf(": %q", p.Msg)
	}
	if !j.Verified {
		line += " [NOT verified: " + j.Error + "]"
	}
	_, err := fmt.Fprintln(cli.Stdout(c), line)
	return err
}
