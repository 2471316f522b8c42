package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/identity"
	ucli "github.com/urfave/cli/v2"
)

func deviceCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "device",
		Usage:     "create a new device of an account: a device certificate signed by the account key",
		ArgsUsage: " ",
		Description: "Reads the account (--account: an archive, or a jamid account folder whose archive.gz is used),\n" +
			"generates a device key (or certifies --device-key) and signs its certificate with the account key,\n" +
			"as jamid does when an account is imported on a new device. With -o DIR it writes a complete account\n" +
			"folder for the new device (the archive is copied unchanged, so its password stays the same; its\n" +
			"account settings go into config.yml as jamid's import applies them, under --name and --config); with\n" +
			"--cert FILE --key FILE it writes the certificate chain (device, account, CA) and the device key.\n" +
			"Prints the device ID (64 hex, jamid's Account.deviceID) and short ID.\n\n" +
			"Examples:\n" +
			"  jami-keygen device --account alice.gz --password-file pw -o ~/.local/share/jami/alice-phone\n" +
			"  jami-keygen device --account ~/.local/share/jami/alice --cert phone.crt --key phone.key --json\n" +
			"  jami-keygen device --account alice.gz --no-password --device-key old.key -o acc2",
		Flags: []ucli.Flag{
			cli.AccountFlag(),
			cli.PasswordFileFlag(),
			cli.OutputFlag("write an account folder for the new device to `DIR` (created 0700)"),
			&ucli.StringFlag{Name: "cert", TakesFile: true, Usage: "write the device certificate chain (PEM: device, account, CA) to `FILE`"},
			&ucli.StringFlag{Name: "key", TakesFile: true, Usage: "write the device private key (PEM PKCS#8, 0600) to `FILE`"},
			&ucli.StringFlag{Name: "device-key", TakesFile: true, Usage: "certify the RSA key in `FILE` instead of generating one"},
			nameFlag(),
			configFlag(),
			cli.ForceFlag(),
			cli.JSONFlag(),
			cli.FieldFlag(),
		},
		Action: runDevice,
	}
}

func runDevice(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	path, err := accountPath(c)
	if err != nil {
		return err
	}
	dir, certOut, keyOut := c.String("output"), c.String("cert"), c.String("key")
	if dir == "" && certOut == "" && keyOut == "" {
		return cli.UsageErrorf("device: nothing to write: give -o DIR (account folder) and/or --cert FILE --key FILE")
	}
	if (certOut == "") != (keyOut == "") {
		return cli.UsageErrorf("device: --cert and --key go together (a certificate without its key is useless)")
	}
	if dir == "-" || keyOut == "-" || certOut == "-" {
		return cli.UsageErrorf("device: -o, --cert and --key take a path, not stdout")
	}
	cfg, err := cli.KeyValues(c, "config")
	if err != nil {
		return err
	}
	if dir == "" && (len(cfg) > 0 || c.IsSet("name")) {
		return cli.UsageErrorf("device: --config and --name set config.yml of an account folder: add -o DIR")
	}
	force := c.Bool("force")
	if dir != "" {
		if err := account.CheckTarget(dir, force); err != nil {
			return err
		}
	}
	for _, f := range []string{certOut, keyOut} {
		if f != "" {
			if err := cli.CheckOutput(f, force); err != nil {
				return err
			}
		}
	}
	s, err := openAccount(c, path)
	if err != nil {
		return err
	}
	a, acc := s.Archive, s.Archive.AccountCert()

	var dev *identity.Device
	if kf := c.String("device-key"); kf != "" {
		b, err := os.ReadFile(kf)
		if err != nil {
			return err
		}
		k, err := identity.ParsePrivateKey(b)
		if err != nil {
			return fmt.Errorf("%s: %w", kf, err)
		}
		dev, err = identity.NewDeviceFromKey(k, a.AccountKey, acc, time.Now())
		if err != nil {
			return fmt.Errorf("%s: %w", s.Path, err)
		}
	} else {
		cli.Infof(c, "generating an RSA-4096 device key...")
		if dev, err = identity.NewDevice(a.AccountKey, acc); err != nil {
			return fmt.Errorf("%s: %w", s.Path, err)
		}
	}

	res := newResult{
		JamiID:        a.JamiID().String(),
		DeviceID:      dev.ID().String(),
		DeviceShortID: dev.ShortID().String(),
	}
	if dir != "" {
		f, err := account.Create(dir, a, s.Password, account.Options{
			DeviceName:      defaultDeviceName(c),
			Config:          cfg,
			Force:           force,
			Device:          dev,
			ArchiveData:     s.Data,
			ArchiveSettings: true,
		})
		if err != nil {
			return err
		}
		res.DeviceName, res.AccountDir = f.DeviceName(), absPath(dir)
	}
	if certOut != "" {
		// Key first: a certificate on disk without its key would be useless.
		if err := cli.WriteOutput(c, keyOut, identity.EncodeKeyPEM(dev.Key), 0o600); err != nil {
			return err
		}
		chain := append([]*x509.Certificate{dev.Cert}, a.AccountChain...)
		if err := cli.WriteOutput(c, certOut, identity.EncodeCertsPEM(chain...), 0o644); err != nil {
			return err
		}
		res.Certificate, res.Key = absPath(certOut), absPath(keyOut)
	}
	return printNew(c, res)
}
