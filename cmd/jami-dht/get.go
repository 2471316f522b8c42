package main

import (
	"time"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/value"
	ucli "github.com/urfave/cli/v2"
)

type getResult struct {
	Key    string      `json:"key"`
	Values []valueJSON `json:"values"`
}

type queryResult struct {
	Key  string    `json:"key"`
	Rows []rowJSON `json:"rows"`
}

func getCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "get",
		Usage:     "print the values stored at KEY (exit 3 when there are none)",
		ArgsUsage: "KEY",
		Description: "Looks KEY up on the DHT and prints each value found, one line each, as dhtnode prints them:\n" +
			"  Value[id:4d75d7fda62d7132 data(text/plain):\"world\"]\n" +
			"(the data is shown quoted for text/plain, in hexadecimal under 1 KiB, else as a size).\n" +
			"--raw writes the data bytes instead (several values: one after the other; pick one with\n" +
			"--where id=...). --json prints {\"key\", \"values\": [{\"id\", \"type\", \"user_type\", \"data\" (base64),\n" +
			"\"size\", \"signed\", \"seq\", \"owner\", \"to\", \"encrypted\", \"cypher\"}]}.\n\n" +
			"--where filters on the storing nodes, in OpenDHT's WHERE syntax: id=N, value_type=N,\n" +
			"owner_pk=<40 hex>, user_type=STR, comma-separated (all must hold). --select asks only for some\n" +
			"fields (id, value_type, owner_pk, seq, user_type, or *): the nodes answer with rows of fields,\n" +
			"printed as dhtnode's \"q\" prints them (Index[Id:...,ValueType:...]).\n\n" +
			"With --account (a jamid account folder) values encrypted to that device are decrypted, and every\n" +
			"signed value is verified and shown with its signer (\"signed by <public key id>\"), forged ones\n" +
			"marked REJECTED. --decode shows known Jami payloads readably under each value (DeviceAnnouncement,\n" +
			"TrustRequest, Certificate, CRL, ImMessage, IceCandidates, PeerConnectionRequest, DeviceSync);\n" +
			"with --json each value then also has \"verified\", \"decrypted\", \"error\", \"kind\", \"decoded\".\n\n" +
			"Exit status 3 when the lookup completed and found nothing, 4 when --timeout ended it first.\n\n" +
			"Examples:\n" +
			"  jami-dht get --bootstrap 127.0.0.1:4222 hello\n" +
			"  jami-dht get --bootstrap 127.0.0.1:4222 --where 'user_type=text/plain' --json hello\n" +
			"  jami-dht get --bootstrap 127.0.0.1:4222 --where id=0x4d75d7fda62d7132 --raw hello > value.bin\n" +
			"  jami-dht get --bootstrap 127.0.0.1:4222 --select id,seq aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\n" +
			"  jami-dht get --bootstrap 127.0.0.1:4222 --decode d9b52ffb583b1ea8bed701d03c4aef1a936c5554\n" +
			"  jami-dht get --bootstrap 127.0.0.1:4222 --account bob --decode 1bc5eb95fe1a939fdfe1bc81c99528c7a165453a",
		Flags: append(append(netFlags(30*time.Second),
			&ucli.StringFlag{Name: "where", Aliases: []string{"w"}, Usage: "only values matching `EXPR` (e.g. 'id=0x2a,user_type=text/plain')"},
			&ucli.StringFlag{Name: "select", Aliases: []string{"s"}, Usage: "ask only for the fields `LIST` (id,value_type,owner_pk,seq,user_type or *)"},
			&ucli.BoolFlag{Name: "raw", Usage: "write the values' data bytes to stdout"},
			decodeFlag(),
		), accountFlags()...),
		Action: getAction,
	}
}

func getAction(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	raw, js := c.Bool("raw"), cli.JSON(c)
	if raw && js {
		return cli.UsageErrorf("--raw and --json exclude each other")
	}
	where, err := parseWhere(c.String("where"))
	if err != nil {
		return err
	}
	var q value.Query
	if where != nil {
		q.Where = *where
	}
	if c.IsSet("select") {
		if raw {
			return cli.UsageErrorf("--raw and --select exclude each other (a selection has no data)")
		}
		if q.Select, err = parseSelect(c.String("select")); err != nil {
			return err
		}
	}
	if _, err := q.Pack(); err != nil {
		return cli.UsageErrorf("query %s: %v", q, err)
	}
	key, err := parseKey(c, c.Args().First())
	if err != nil {
		return err
	}

	ctx, cancel := opContext(c)
	defer cancel()
	if wantsSecure(c) {
		if raw || !q.Select.Empty() {
			return cli.UsageErrorf("--account and --decode exclude --raw and --select")
		}
		return getSecure(ctx, c, key, &q)
	}
	if !q.Select.Empty() {
		if err := nodeOnly(c, "--select"); err != nil {
			return err
		}
	}
	n, err := connect(ctx, c)
	if err != nil {
		return err
	}
	defer n.Close()

	if !q.Select.Empty() {
		res := queryResult{Key: key.String(), Rows: []rowJSON{}}
		found := 0
		err := n.(*dht.Node).Query(ctx, key, q, func(rows []value.FieldIndex) bool {
			for _, r := range rows {
				found++
				if js {
					res.Rows = append(res.Rows, rowToJSON(r))
				} else {
					cli.Printf(c, "%s\n", r)
				}
			}
			return true
		})
		return finishGet(c, err, found > 0, res, js, key.String())
	}

	res := getResult{Key: key.String(), Values: []valueJSON{}}
	found := 0
	err = n.GetFunc(ctx, key, &q, func(vals []*value.Value) bool {
		for _, v := range vals {
			found++
			switch {
			case js:
				res.Values = append(res.Values, toJSON(v))
			case raw:
				if v.IsEncrypted() {
					cli.Infof(c, "value %s is encrypted: its cypher is written", idHex(v.ID))
					c.App.Writer.Write(v.Cypher)
				} else {
					c.App.Writer.Write(v.Data)
				}
			default:
				cli.Printf(c, "%s\n", v)
			}
		}
		return true
	})
	return finishGet(c, err, found > 0, res, js, key.String())
}

// finishGet prints the JSON result (also a partial one when --timeout cut
// the lookup short) and picks the exit status.
func finishGet(c *ucli.Context, err error, found bool, res any, js bool, key string) error {
	if js && (err == nil || found) {
		if perr := cli.PrintJSON(c, res); perr != nil {
			return perr
		}
	}
	if err != nil {
		return opError("get "+key, err)
	}
	if !found {
		return cli.NotFoundf("%s: no value found", key)
	}
	return nil
}
