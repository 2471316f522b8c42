package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/identity"
	ucli "github.com/urfave/cli/v2"
)

type revokedDevice struct {
	DeviceID      string `json:"device_id"`
	DeviceShortID string `json:"device_short_id"`
	Serial        string `json:"serial"`
}

type revokeResult struct {
	JamiID     string          `json:"jami_id"`
	Revoked    []revokedDevice `json:"revoked"`
	CRLNumber  string          `json:"crl_number"`
	CRLEntries int             `json:"crl_entries"`
	Archive    string          `json:"archive"`
	CRL        string          `json:"crl,omitempty"`
}

func revokeCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "revoke",
		Usage:     "revoke devices of an account: update the account's revocation list (CRL)",
		ArgsUsage: "DEVICE...",
		Description: "Adds each DEVICE to the account's X.509 revocation list, as jamid's revokeDevice does: the CRL\n" +
			"is created (or extended), re-dated and re-numbered, signed by the account key with SHA-512, and\n" +
			"stored in the archive (ringAccountCRL). The archive (--account, or the archive.gz of an account\n" +
			"folder) is rewritten atomically with the same password. -o FILE also writes the CRL (DER; --pem\n" +
			"for PEM; '-' for stdout), e.g. to publish it on the DHT at the Jami ID.\n\n" +
			"A device is revoked by the serial number of its certificate. DEVICE is either the certificate\n" +
			"file (PEM or DER; its first certificate is used, so a ring_device.crt works), or the device ID\n" +
			"(64 hex) or short ID (40 hex), whose certificate is looked up in: the account folder's own\n" +
			"ring_device.crt, the device chain a jamid 13.7 export carries in the archive\n" +
			"(TLS.certificateFile), and jamid's certificate stores next to an account folder\n" +
			"(<folder>/certificates/ and <folder>/../certificates/). The certificate must have been issued\n" +
			"by the account; revoking a device twice is an error.\n\n" +
			"Examples:\n" +
			"  jami-keygen revoke --account alice.gz --password-file pw phone.crt\n" +
			"  jami-keygen revoke --account ~/.local/share/jami/alice 687d6bb3791c81226ccee62edf93bb4a413a0e478a2f1160be59854854ba9339\n" +
			"  jami-keygen revoke --account alice.gz --no-password -o alice.crl --json old-laptop.crt",
		Flags: []ucli.Flag{
			cli.AccountFlag(),
			cli.PasswordFileFlag(),
			cli.OutputFlag("also write the new CRL to `FILE` (DER; '-' for stdout)"),
			&ucli.BoolFlag{Name: "pem", Usage: "write the CRL as PEM"},
			cli.ForceFlag(),
			cli.JSONFlag(),
		},
		Action: runRevoke,
	}
}

func runRevoke(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, -1); err != nil {
		return err
	}
	path, err := accountPath(c)
	if err != nil {
		return err
	}
	out := c.String("output")
	if out != "" {
		if err := cli.CheckOutput(out, c.Bool("force")); err != nil {
			return err
		}
		if out == "-" && cli.JSON(c) {
			return cli.UsageErrorf("revoke: -o - and --json both write to stdout")
		}
	}
	s, err := openAccount(c, path)
	if err != nil {
		return err
	}
	a, acc := s.Archive, s.Archive.AccountCert()
	var prev *x509.RevocationList
	if len(a.CRL) > 0 {
		if prev, err = identity.ParseCRL(a.CRL); err != nil {
			return fmt.Errorf("%s: ringAccountCRL: %w", s.Path, err)
		}
		if !identity.CRLIssuedBy(prev, acc) {
			return fmt.Errorf("%s: ringAccountCRL is not signed by the account", s.Path)
		}
	}

	res := revokeResult{JamiID: a.JamiID().String(), Archive: absPath(s.Path)}
	var certs []*x509.Certificate
	seen := map[string]bool{}
	for _, arg := range c.Args().Slice() {
		dev, err := findDevice(c, s, arg)
		if err != nil {
			return err
		}
		if err := identity.VerifyIssued(dev, acc); err != nil || identity.RoleOf(dev) != identity.RoleDevice {
			return fmt.Errorf("%s: not a device certificate of account %s", arg, res.JamiID)
		}
		serial := identity.SerialString(dev.SerialNumber)
		if prev != nil && identity.IsRevoked(prev, dev) {
			return fmt.Errorf("%s: device %s is already revoked (serial %s)", arg, identity.CertLongID(dev), serial)
		}
		if seen[serial] {
			continue
		}
		seen[serial] = true
		certs = append(certs, dev)
		res.Revoked = append(res.Revoked, revokedDevice{
			DeviceID:      identity.CertLongID(dev).String(),
			DeviceShortID: identity.CertShortID(dev).String(),
			Serial:        serial,
		})
	}

	der, err := identity.RevokeCRL(prev, acc, a.AccountKey, certs, time.Now())
	if err != nil {
		return err
	}
	crl, err := identity.ParseCRL(der)
	if err != nil {
		return err
	}
	res.CRLNumber, res.CRLEntries = identity.SerialString(crl.Number), len(crl.RevokedCertificateEntries)

	// The archive, written back the way it was stored: same password (and
	// salt and derived key, so no second Argon2), same format.
	a.CRL = der
	data, err := s.EncodeAsStored()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.Path, data, atomicfile.Options{Perm: 0o600, Force: true}); err != nil {
		return err
	}
	if out != "" {
		b := der
		if c.Bool("pem") {
			b = identity.EncodeCRLPEM(der)
		}
		if err := cli.WriteOutput(c, out, b, 0o644); err != nil {
			return fmt.Errorf("archive updated, but: %w", err)
		}
		res.CRL = absPath(out)
	}
	if cli.JSON(c) {
		return cli.PrintJSON(c, res)
	}
	if out == "-" {
		for _, r := range res.Revoked {
			cli.Infof(c, "revoked device %s (serial %s)", r.DeviceID, r.Serial)
		}
		return nil
	}
	fields := []cli.Field{{"Jami ID", res.JamiID}}
	for _, r := range res.Revoked {
		fields = append(fields, cli.Field{"Revoked device", r.DeviceID + " (serial " + r.Serial + ")"})
	}
	fields = append(fields,
		cli.Field{"CRL", fmt.Sprintf("number %s, %d revoked", res.CRLNumber, res.CRLEntries)},
		cli.Field{"Archive", res.Archive + " (updated)"},
		cli.Field{"CRL file", res.CRL})
	cli.PrintFields(c, fields)
	return nil
}

// findDevice resolves DEVICE: a certificate file ("-" for stdin), or a device
// ID or short ID looked up where jamid keeps device certificates.
func findDevice(c *ucli.Context, s *account.Source, arg string) (*x509.Certificate, error) {
	if fi, err := os.Stat(arg); arg == "-" || (err == nil && !fi.IsDir()) {
		name, data, err := cli.ReadInput(c, arg, maxInput)
		if err != nil {
			return nil, err
		}
		certs, err := identity.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return certs[0], nil
	}
	match, err := idMatcher(arg)
	if err != nil {
		return nil, err
	}
	var cands []*x509.Certificate
	var looked []string
	if s.Folder != nil {
		cands = append(cands, s.Folder.Chain[0])
		looked = append(looked, filepath.Join(s.Folder.Dir, "ring_device.crt"))
	}
	if len(s.Archive.DeviceChain) > 0 {
		cands = append(cands, s.Archive.DeviceChain[0])
		looked = append(looked, s.Path+" (TLS.certificateFile)")
	}
	for _, cert := range cands {
		if match(cert) {
			return cert, nil
		}
	}
	if s.Folder != nil {
		for _, store := range []string{filepath.Join(s.Folder.Dir, "certificates"), filepath.Join(filepath.Dir(filepath.Clean(s.Folder.Dir)), "certificates")} {
			ents, err := os.ReadDir(store)
			if err != nil {
				continue
			}
			looked = append(looked, store)
			for _, e := range ents {
				if e.IsDir() {
					continue
				}
				data, err := os.ReadFile(filepath.Join(store, e.Name()))
				if err != nil {
					continue
				}
				certs, err := identity.ParseCertificates(data)
				if err != nil {
					continue
				}
				for _, cert := range certs {
					if match(cert) {
						return cert, nil
					}
				}
			}
		}
	}
	where := "nowhere: --account is an archive without a device chain"
	if len(looked) > 0 {
		where = strings.Join(looked, ", ")
	}
	return nil, cli.NotFoundf("device %s: certificate not found (looked in %s); give its certificate file instead", arg, where)
}

// idMatcher reads a device ID (64 hex) or short ID (40 hex).
func idMatcher(orig string) (func(*x509.Certificate) bool, error) {
	s := strings.ToLower(orig)
	if long, err := identity.ParseLongID(s); err == nil {
		return func(c *x509.Certificate) bool { return identity.CertLongID(c) == long }, nil
	}
	if short, err := identity.ParseShortID(s); err == nil {
		return func(c *x509.Certificate) bool { return identity.CertShortID(c) == short }, nil
	}
	return nil, errors.New(orig + ": no such file, and not a device ID (64 hex) or short ID (40 hex)")
}
