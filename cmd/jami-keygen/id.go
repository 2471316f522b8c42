package main

import (
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/identity"
	ucli "github.com/urfave/cli/v2"
)

// idResult is the --json output of id.
type idResult struct {
	Kind          string `json:"kind"`
	JamiID        string `json:"jami_id,omitempty"`
	DeviceID      string `json:"device_id,omitempty"`
	DeviceShortID string `json:"device_short_id,omitempty"`
	CAID          string `json:"ca_id,omitempty"`
	EthAddress    string `json:"eth_address,omitempty"`
	ShortID       string `json:"short_id,omitempty"`
	LongID        string `json:"long_id,omitempty"`
}

func idCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "id",
		Usage:     "print the Jami ID and device IDs of a certificate, chain, key, archive or account folder",
		ArgsUsage: "[FILE|DIR|-]",
		Description: "Recognizes what FILE is (default: --account, else stdin) and prints the identifiers in it:\n" +
			"  account_folder  a jamid account folder: Jami ID, device ID and short ID, CA ID\n" +
			"  archive         an account archive (asks for the password if encrypted): Jami ID, CA ID, eth address\n" +
			"  certificate     one certificate (PEM or DER), by role: a device certificate gives its device IDs\n" +
			"  chain           and its account's Jami ID (issuer UID); an account certificate the Jami ID\n" +
			"  private_key     an RSA key (PEM or DER): taken as a device key (ring_device.key) for device_id\n" +
			"  public_key      and device_short_id; short_id/long_id are the key's SHA-1/SHA-256 ids either way\n" +
			"  crl             a revocation list: the Jami ID of the account that issued it\n" +
			"The Jami ID is the SHA-1 of the account key (40 hex), the device ID the SHA-256 of the device\n" +
			"key (64 hex, jamid's Account.deviceID), the device short ID its SHA-1 (40 hex).\n\n" +
			"Examples:\n" +
			"  jami-keygen id ~/.local/share/jami/1a2b3c4d5e6f7a8b\n" +
			"  jami-keygen id alice.gz --password-file pw --json\n" +
			"  jami-keygen id < ring_device.crt\n" +
			"  ID=$(jami-keygen id ~/.local/share/jami/1a2b3c4d5e6f7a8b --field device_id)",
		Flags: []ucli.Flag{
			cli.AccountFlag(),
			cli.PasswordFileFlag(),
			cli.JSONFlag(),
			cli.FieldFlag(),
		},
		Action: runID,
	}
}

func runID(c *ucli.Context) error {
	path, err := inputArg(c)
	if err != nil {
		return err
	}
	in, err := inspect(c, path)
	if err != nil {
		return err
	}
	r := idResult{Kind: in.kind}
	if len(in.certs) > 0 {
		ids := idsOf(in.certs)
		r.JamiID, r.DeviceID, r.DeviceShortID, r.CAID = ids.JamiID, ids.DeviceID, ids.DeviceShortID, ids.CAID
	}
	r.ShortID, r.LongID = keyIDs(in.pub)
	switch in.kind {
	case kindArchive:
		r.JamiID = in.arch.JamiID().String()
		if len(in.arch.EthKey) > 0 {
			r.EthAddress, _ = identity.EthAddress(in.arch.EthKey)
		}
	case kindPrivateKey, kindPublicKey:
		// A key file alone in Jami is a device key (ring_device.key); the
		// account key only lives inside archives.
		r.DeviceID, r.DeviceShortID = r.LongID, r.ShortID
	case kindCRL:
		r.JamiID = hexUID(identity.NameUID(in.crl.RawIssuer))
	}
	return cli.PrintResult(c, r, func() { printIDText(c, r) })
}

func printIDText(c *ucli.Context, r idResult) {
	cli.PrintFields(c, []cli.Field{
		{"Kind", r.Kind},
		{"Jami ID", r.JamiID},
		{"Device ID", r.DeviceID},
		{"Device short ID", r.DeviceShortID},
		{"CA ID", r.CAID},
		{"Eth address", r.EthAddress},
	})
	if r.JamiID == "" && r.DeviceID == "" && r.CAID == "" {
		// e.g. a certificate that is not Jami's: still show its key ids.
		cli.PrintFields(c, []cli.Field{{"Key short ID", r.ShortID}, {"Key long ID", r.LongID}})
	}
}
