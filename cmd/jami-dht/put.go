package main

import (
	"time"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/value"
	ucli "github.com/urfave/cli/v2"
)

type putResult struct {
	Key       string `json:"key"`
	ID        string `json:"id"`
	Type      uint16 `json:"type"`
	Size      int    `json:"size"`
	Permanent bool   `json:"permanent"`
	// --sign / --encrypt-to
	Signed      bool    `json:"signed,omitempty"`
	Seq         *uint16 `json:"seq,omitempty"`
	Owner       string  `json:"owner,omitempty"`        // signing device's public key id
	EncryptedTo string  `json:"encrypted_to,omitempty"` // recipient's public key id
}

func putCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "put",
		Usage:     "store a value at KEY on the DHT and print its id",
		ArgsUsage: "KEY DATA|-|@FILE",
		Description: "Stores DATA at KEY on the 8 nodes closest to KEY and prints the value id (hexadecimal) once a\n" +
			"storing node acknowledged it. DATA is the argument's bytes, - for stdin, or @FILE for a file's\n" +
			"content; at most 64 KiB (OpenDHT's limit). The value is unsigned, of --type (0, user data, by\n" +
			"default: it lives 10 minutes on the storing nodes).\n\n" +
			"With --permanent the node stays up and keeps the value announced (refreshed before it expires)\n" +
			"until interrupted (Ctrl-C or SIGTERM, exit 130).\n\n" +
			"Storing nodes acknowledge even values their policies reject, as in OpenDHT: check with get.\n\n" +
			"--sign signs the value with the device key of --account (SecureDht::putSigned: a put with an --id\n" +
			"we already own bumps its seq, an edit the storing nodes accept). --encrypt-to signs it and encrypts it\n" +
			"to a recipient (putEncrypted): @CERT (a certificate file), a device id (64 hex), a public key id\n" +
			"whose certificate is on the DHT (40 hex: a device short id or a dhtnode -i node), or a Jami ID: then\n" +
			"one value per verified device of the account is put, and each id printed. Only the recipient can\n" +
			"read it: others see an encrypted value (type, owner and data hidden).\n\n" +
			"Examples:\n" +
			"  jami-dht put --bootstrap 127.0.0.1:4222 hello world\n" +
			"  jami-dht put --bootstrap 127.0.0.1:4222 --utype text/plain aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d @note.txt\n" +
			"  tar c dir | jami-dht put --bootstrap 127.0.0.1:4222 --id 0x2a backup -\n" +
			"  jami-dht put --bootstrap 127.0.0.1:4222 --account alice --sign hello 'signed by alice\\'s device'\n" +
			"  jami-dht put --bootstrap 127.0.0.1:4222 --account alice --encrypt-to d9b52ffb583b1ea8bed701d03c4aef1a936c5554 hello secret",
		Flags: append(append(netFlags(30*time.Second),
			&ucli.UintFlag{Name: "type", Usage: "value type `N` (0 user data, 1 DHT message, 3 IM, 4 trust request, 5 ICE, 8 certificate)"},
			&ucli.StringFlag{Name: "id", Usage: "value `ID` (decimal, or hexadecimal with 0x; default random); a put with an existing id and other data is refused by storing nodes"},
			&ucli.StringFlag{Name: "utype", Usage: "user type `STRING` of the value (e.g. text/plain)"},
			&ucli.BoolFlag{Name: "permanent", Usage: "keep the value announced until interrupted"},
			&ucli.BoolFlag{Name: "sign", Usage: "sign the value with the --account device key"},
			&ucli.StringFlag{Name: "encrypt-to", Usage: "sign and encrypt the value to `TARGET`: a Jami ID (each device), a device id, or @CERT"},
		), accountFlags()...),
		Action: putAction,
	}
}

func putAction(c *ucli.Context) error {
	if err := cli.NArgs(c, 2, 2); err != nil {
		return err
	}
	if c.Uint("type") > 0xffff {
		return cli.UsageErrorf("--type %d: value types are 16-bit", c.Uint("type"))
	}
	v := &value.Value{Type: uint16(c.Uint("type")), UserType: c.String("utype")}
	if s := c.String("id"); s != "" {
		id, err := parseID(s)
		if err != nil {
			return cli.UsageErrorf("--id %v", err)
		}
		if id == 0 {
			return cli.UsageErrorf("--id 0: value ids are non-zero")
		}
		v.ID = id
	}
	key, err := parseKey(c, c.Args().Get(0))
	if err != nil {
		return err
	}
	data, name, err := readData(c, c.Args().Get(1))
	if err != nil {
		return err
	}
	v.Data = data
	if v.Size() > value.MaxValueSize {
		return cli.UsageErrorf("%s: value of %d bytes, OpenDHT stores at most %d", name, v.Size(), value.MaxValueSize)
	}

	ctx, cancel := opContext(c)
	defer cancel()
	perm := c.Bool("permanent")
	if c.Bool("sign") || c.String("encrypt-to") != "" {
		if c.String("account") == "" {
			return cli.UsageErrorf("--sign and --encrypt-to need --account (the signing device)")
		}
		return putSecure(ctx, c, key, v, perm)
	}
	if c.String("account") != "" {
		return cli.UsageErrorf("--account is only used with --sign or --encrypt-to")
	}
	n, err := connect(ctx, c)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.Put(ctx, key, v, dht.PutOptions{Permanent: perm}); err != nil {
		return opError("put", err)
	}
	res := putResult{Key: key.String(), ID: idHex(v.ID), Type: v.Type, Size: v.Size(), Permanent: perm}
	if cli.JSON(c) {
		if err := cli.PrintJSON(c, res); err != nil {
			return err
		}
	} else {
		cli.Printf(c, "%s\n", res.ID)
	}
	if !perm {
		return nil
	}
	// The announce goes on in the engine: only a signal ends it.
	cli.Infof(c, "announcing value %s at %s until interrupted", res.ID, res.Key)
	<-c.Context.Done()
	return c.Context.Err()
}
