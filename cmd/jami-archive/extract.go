package main

import (
	"errors"
	"fmt"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

func extractCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "extract",
		Usage:     "make a jamid account folder (a new device) from an archive",
		ArgsUsage: "FILE|-",
		Description: "Writes the account folder jamid 13.7 loads as-is, as it would after importing the archive:\n" +
			"a new device key and certificate signed by the account key, the device receipt in\n" +
			"config.yml, ring_device.key, ring_device.crt and archive.gz. The folder is created 0700,\n" +
			"all at once, and must not exist or be empty unless --force. Put it under jamid's data folder\n" +
			"(~/.local/share/jami/<any name>) before jamid starts.\n" +
			"The folder's archive keeps the input's password (as jamid's import does; with --key-file,\n" +
			"its key), unless --new-password-file / $JAMI_NEW_PASSWORD or --no-password say otherwise.\n" +
			"The archive's own account settings go into config.yml as jamid's import applies them\n" +
			"(Account.alias as alias, TURN.enable as turnEnabled, ...; only values other than jamid's\n" +
			"defaults). --config sets config.yml entries under jamid's YAML names and wins over them (e.g.\n" +
			"hostname=127.0.0.1:4222, upnpEnabled=false, turnEnabled=false). Prints the folder; JSON\n" +
			"fields: account_dir, archive, jami_id, device_id, device_short_id.\n\n" +
			"Examples:\n" +
			"  jami-archive extract backup.gz -o ~/.local/share/jami/restored --name laptop --password-file pw\n" +
			"  jami-archive extract clear.gz -o acct -c hostname=127.0.0.1:4222 -c upnpEnabled=false --json",
		Flags: []ucli.Flag{
			cli.OutputFlag("write the account folder `DIR`"),
			&ucli.StringFlag{Name: "name", Usage: "device `NAME` (Account.deviceName; default: jamid uses the host name)"},
			&ucli.StringSliceFlag{Name: "config", Aliases: []string{"c"},
				Usage: "set a config.yml entry, `KEY=VALUE` with jamid's YAML names (repeatable), e.g. hostname=127.0.0.1:4222"},
			cli.PasswordFileFlag(),
			keyFileFlag(),
			cli.NewPasswordFileFlag(),
			cli.NoPasswordFlag(),
			cli.ForceFlag(),
			cli.JSONFlag(),
		},
		Action: runExtract,
	}
}

type extractResult struct {
	AccountDir    string `json:"account_dir"`
	Archive       string `json:"archive"`
	JamiID        string `json:"jami_id"`
	DeviceID      string `json:"device_id"`
	DeviceShortID string `json:"device_short_id"`
}

func runExtract(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	dir, err := outputPath(c)
	if err != nil {
		return err
	}
	cfg, err := cli.KeyValues(c, "config")
	if err != nil {
		return err
	}
	s, err := openArchive(c, c.Args().First())
	if err != nil {
		return err
	}
	// As jamid's import: the folder's archive keeps the input's lock.
	data, _, err := encodeOutput(c, s, true)
	if err != nil {
		return err
	}
	f, err := account.Create(dir, s.Archive, nil, account.Options{
		DeviceName:      c.String("name"),
		Config:          cfg,
		Force:           c.Bool("force"),
		ArchiveData:     data,
		ArchiveSettings: true,
	})
	if err != nil {
		if errors.Is(err, account.ErrNotEmpty) {
			return err
		}
		return fmt.Errorf("%s: %w", dir, err)
	}
	res := extractResult{
		AccountDir:    f.Dir,
		Archive:       f.ArchivePath(),
		JamiID:        f.JamiID().String(),
		DeviceID:      f.DeviceID().String(),
		DeviceShortID: f.DeviceShortID().String(),
	}
	return cli.PrintResult(c, res, func() {
		cli.Infof(c, "wrote account folder %s: Jami ID %s, device %s", f.Dir, res.JamiID, res.DeviceID)
		cli.Printf(c, "%s\n", f.Dir)
	})
}
