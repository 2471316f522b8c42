package main

import (
	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/identity"
	ucli "github.com/urfave/cli/v2"
)

// newResult is the --json output of new and device.
type newResult struct {
	JamiID        string `json:"jami_id"`
	DeviceID      string `json:"device_id,omitempty"`
	DeviceShortID string `json:"device_short_id,omitempty"`
	DeviceName    string `json:"device_name,omitempty"`
	AccountDir    string `json:"account_dir,omitempty"`
	Archive       string `json:"archive,omitempty"`
	Encrypted     *bool  `json:"encrypted,omitempty"`
	CAID          string `json:"ca_id,omitempty"`
	EthAddress    string `json:"eth_address,omitempty"`
	Certificate   string `json:"certificate,omitempty"`
	Key           string `json:"key,omitempty"`
}

func newCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "new",
		Usage:     "create a new account: an account folder jamid loads as-is, and/or an archive",
		ArgsUsage: " ",
		Description: "Generates the CA, account and device keys (RSA-4096, in parallel) and an Ethereum key, and issues\n" +
			"the certificates with jamid's profile. With -o DIR it writes a complete jamid account folder:\n" +
			"ring_device.key and ring_device.crt (device, account, CA), config.yml with the signed device\n" +
			"receipt and the --config settings, and archive.gz. Put DIR under jamid's data folder\n" +
			"($XDG_DATA_HOME/jami, ~/.local/share/jami) and jamid loads the account at its next start.\n" +
			"With --archive FILE it writes the account archive, which jamid imports (Account.archivePath).\n" +
			"The archive is encrypted with the password (--password-file, $JAMI_PASSWORD or a prompt),\n" +
			"or written as gzip with --no-password. Prints the Jami ID and, with -o, the device ID.\n\n" +
			"Examples:\n" +
			"  jami-keygen new -o ~/.local/share/jami/alice --password-file pw\n" +
			"  jami-keygen new -o acc --no-password --name laptop --config hostname=127.0.0.1:4222 --config upnpEnabled=false --json\n" +
			"  jami-keygen new --archive alice.gz --password-file pw --archive-config Account.alias=alice",
		Flags: []ucli.Flag{
			cli.OutputFlag("write a jamid account folder `DIR` (created 0700; must be absent or empty unless --force)"),
			&ucli.StringFlag{Name: "archive", TakesFile: true, Usage: "write the account archive to `FILE` (0600)"},
			cli.PasswordFileFlag(),
			cli.NoPasswordFlag(),
			nameFlag(),
			configFlag(),
			&ucli.StringSliceFlag{Name: "archive-config", Usage: "set an account setting inside the archive, `KEY=VALUE` with jamid's D-Bus names (repeatable), e.g. Account.alias=alice; jamid applies them when it imports the archive"},
			cli.ForceFlag(),
			cli.JSONFlag(),
			cli.FieldFlag(),
		},
		Action: runNew,
	}
}

func runNew(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	dir, file := c.String("output"), c.String("archive")
	if dir == "" && file == "" {
		return cli.UsageErrorf("new: nothing to write: give -o DIR (account folder) and/or --archive FILE")
	}
	if dir == "-" || file == "-" {
		return cli.UsageErrorf("new: -o and --archive take a path, not stdout")
	}
	cfg, err := cli.KeyValues(c, "config")
	if err != nil {
		return err
	}
	if dir == "" && (len(cfg) > 0 || c.IsSet("name")) {
		return cli.UsageErrorf("new: --config and --name set config.yml of the account folder: add -o DIR (use --archive-config for settings inside the archive)")
	}
	archCfg, err := cli.KeyValues(c, "archive-config")
	if err != nil {
		return err
	}
	force := c.Bool("force")
	if dir != "" {
		if err := account.CheckTarget(dir, force); err != nil {
			return err
		}
	}
	if file != "" {
		if err := cli.CheckOutput(file, force); err != nil {
			return err
		}
	}
	pw, err := cli.NewPassword(c, "archive", cli.ArchivePassword(true))
	if err != nil {
		return err
	}

	var acc *identity.Account
	var dev *identity.Device
	cli.Infof(c, "generating RSA-4096 keys...")
	if dir != "" {
		acc, dev, err = identity.NewAccountAndDevice()
	} else {
		acc, err = identity.NewAccount()
	}
	if err != nil {
		return err
	}
	arch := &archive.Archive{
		AccountKey:   acc.AccountKey,
		AccountChain: acc.Chain(),
		CAKey:        acc.CAKey,
		EthKey:       acc.EthKey,
		Config:       archCfg,
	}
	data, err := archive.Encode(arch, pw)
	if err != nil {
		return err
	}

	enc := pw != nil
	res := newResult{JamiID: acc.JamiID().String(), CAID: identity.CertShortID(acc.CACert).String(), Encrypted: &enc}
	if res.EthAddress, err = identity.EthAddress(acc.EthKey); err != nil {
		return err
	}
	if dir != "" {
		f, err := account.Create(dir, arch, pw, account.Options{
			DeviceName:  defaultDeviceName(c),
			Config:      cfg,
			Force:       force,
			Device:      dev,
			ArchiveData: data,
		})
		if err != nil {
			return err
		}
		res.DeviceID, res.DeviceShortID = f.DeviceID().String(), f.DeviceShortID().String()
		res.DeviceName, res.AccountDir = f.DeviceName(), absPath(dir)
	}
	if file != "" {
		if err := cli.WriteOutput(c, file, data, 0o600); err != nil {
			return err
		}
		res.Archive = absPath(file)
	}
	return printNew(c, res)
}

func printNew(c *ucli.Context, r newResult) error {
	return cli.PrintResult(c, r, func() { printNewText(c, r) })
}

func printNewText(c *ucli.Context, r newResult) {
	archive := r.Archive
	if archive != "" && r.Encrypted != nil {
		if *r.Encrypted {
			archive += " (encrypted)"
		} else {
			archive += " (unencrypted)"
		}
	}
	cli.PrintFields(c, []cli.Field{
		{"Jami ID", r.JamiID},
		{"Device ID", r.DeviceID},
		{"Device short ID", r.DeviceShortID},
		{"Device name", r.DeviceName},
		{"Account folder", r.AccountDir},
		{"Archive", archive},
		{"Certificate", r.Certificate},
		{"Key", r.Key},
	})
}
