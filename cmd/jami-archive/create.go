package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/identity"
	ucli "github.com/urfave/cli/v2"
)

func createCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "create",
		Usage: "make an archive from an account folder, or from an account's key and certificate files",
		Description: "With --from DIR: exports the archive of a jamid account folder (as made by jamid or by\n" +
			"jami-keygen new -o DIR) after checking that the folder's device and the archive are of the\n" +
			"same account; --password-file / $JAMI_PASSWORD (or --key-file) unlock the folder's archive,\n" +
			"and the new archive keeps that password unless --new-password-file or --no-password is given.\n\n" +
			"Otherwise builds an archive from the account's files, as jami-keygen or GnuTLS tools write them:\n" +
			"--key (account private key, PEM or DER) and --cert (the account certificate followed by\n" +
			"the CA certificate; a device chain device, account, CA works too), optionally --ca-key,\n" +
			"--eth-key (32-byte secret: hex, base64 or raw; a new one is made when absent, as jamid\n" +
			"always has one) and --crl. The archive is checked like verify does before it is written,\n" +
			"encrypted with --new-password-file / $JAMI_NEW_PASSWORD, or --password-file /\n" +
			"$JAMI_PASSWORD, or a prompt; --no-password writes it unencrypted. Prints the file written.\n" +
			"JSON fields: archive, jami_id, encrypted.\n\n" +
			"Examples:\n" +
			"  jami-archive create --from ~/.local/share/jami/1a2b3c4d -o alice.gz --password-file pw\n" +
			"  jami-archive create --key account.key --cert account.crt --ca-key ca.key -o archive.gz --password-file pw\n" +
			"  jami-archive create --key account.key --cert account.crt --no-password --archive-config Account.alias=alice -o clear.gz",
		Flags: []ucli.Flag{
			cli.OutputFlag("write the archive to `FILE`"),
			&ucli.StringFlag{Name: "from", Usage: "jamid account folder `DIR` to export", TakesFile: true},
			&ucli.StringFlag{Name: "key", Usage: "account private key `FILE` (PEM or DER)", TakesFile: true},
			&ucli.StringFlag{Name: "cert", Usage: "account certificate chain `FILE`: account then CA (PEM or DER)", TakesFile: true},
			&ucli.StringFlag{Name: "ca-key", Usage: "CA private key `FILE` (optional; jamid uses it to renew certificates)", TakesFile: true},
			&ucli.StringFlag{Name: "eth-key", Usage: "Ethereum secret `FILE`: 32 bytes as hex, base64 or raw (default: a new one)", TakesFile: true},
			&ucli.StringFlag{Name: "crl", Usage: "revocation list `FILE` signed by the account (PEM or DER)", TakesFile: true},
			archiveConfigFlag(),
			cli.PasswordFileFlag(),
			keyFileFlag(),
			cli.NewPasswordFileFlag(),
			cli.NoPasswordFlag(),
			cli.ForceFlag(),
			cli.JSONFlag(),
		},
		Action: runCreate,
	}
}

type writeResult struct {
	Archive   string `json:"archive"`
	JamiID    string `json:"jami_id"`
	Encrypted bool   `json:"encrypted"`
}

func runCreate(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	out, err := outputPath(c)
	if err != nil {
		return err
	}
	if c.IsSet("from") {
		for _, f := range []string{"key", "cert", "ca-key", "eth-key", "crl"} {
			if c.IsSet(f) {
				return cli.UsageErrorf("create: --from and --%s exclude each other", f)
			}
		}
		return createFromFolder(c, out)
	}
	if c.IsSet("key-file") {
		return cli.UsageErrorf("create: --key-file unlocks the archive of --from; the account's key file is --key")
	}
	if !c.IsSet("key") || !c.IsSet("cert") {
		return cli.UsageErrorf("create: --from DIR, or --key and --cert, are required")
	}
	a, err := archiveFromFiles(c)
	if err != nil {
		return err
	}
	if cfg, err := cli.KeyValues(c, "archive-config"); err != nil {
		return err
	} else if cfg != nil {
		a.Config = cfg
	}
	if err := a.Verify(time.Now()); err != nil {
		return err
	}
	// No archive is read here: --password-file / $JAMI_PASSWORD may give the
	// password too.
	pw, err := cli.NewPassword(c, "new archive", cli.NewArchivePassword(), cli.ArchivePassword(false))
	if err != nil {
		return err
	}
	data, err := archive.Encode(a, pw)
	if err != nil {
		return err
	}
	return writeArchive(c, out, a, data, pw != nil)
}

// createFromFolder exports the archive of an account folder.
func createFromFolder(c *ucli.Context, out string) error {
	dir := c.String("from")
	if fi, err := os.Stat(dir); err != nil {
		return err
	} else if !fi.IsDir() {
		return cli.UsageErrorf("--from %s: not a folder (to rewrite an archive file, use convert or passwd)", dir)
	}
	s, err := openArchive(c, dir)
	if err != nil {
		return err
	}
	a := s.Archive
	if s.Folder.JamiID() != a.JamiID() {
		return fmt.Errorf("%s: the device belongs to account %s, but %s holds account %s", dir, s.Folder.JamiID(), s.Path, a.JamiID())
	}
	if cfg, err := cli.KeyValues(c, "archive-config"); err != nil {
		return err
	} else if cfg != nil {
		if a.Config == nil {
			a.Config = map[string]string{}
		}
		for k, v := range cfg {
			a.Config[k] = v
		}
	}
	if err := a.Verify(time.Now()); err != nil {
		return fmt.Errorf("%s: %w", s.Path, err)
	}
	data, encrypted, err := encodeOutput(c, s, false)
	if err != nil {
		return err
	}
	return writeArchive(c, out, a, data, encrypted)
}

// writeArchive writes and reports an archive.
func writeArchive(c *ucli.Context, out string, a *archive.Archive, data []byte, encrypted bool) error {
	if err := cli.WriteOutput(c, out, data, 0o600); err != nil {
		return err
	}
	if out == "-" {
		return nil
	}
	return cli.PrintResult(c, writeResult{Archive: out, JamiID: a.JamiID().String(), Encrypted: encrypted}, func() {
		cli.Infof(c, "%s", describe(out, a, encrypted))
		cli.Printf(c, "%s\n", out)
	})
}

func archiveFromFiles(c *ucli.Context) (*archive.Archive, error) {
	read := func(flag string) ([]byte, error) {
		b, err := os.ReadFile(c.String(flag))
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		return b, nil
	}
	b, err := read("key")
	if err != nil {
		return nil, err
	}
	key, err := identity.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.String("key"), err)
	}
	if b, err = read("cert"); err != nil {
		return nil, err
	}
	certs, err := identity.ParseCertificates(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.String("cert"), err)
	}
	// The account certificate is the one of the key; what follows is its issuer chain.
	start := -1
	for i, cert := range certs {
		if identity.KeyMatches(key, cert) {
			start = i
			break
		}
	}
	if start < 0 {
		id, _ := identity.ShortIDOf(&key.PublicKey)
		return nil, fmt.Errorf("%s: no certificate matches the key %s (key id %s)", c.String("cert"), c.String("key"), id)
	}
	a := &archive.Archive{AccountKey: key, AccountChain: certs[start:]}
	if c.IsSet("ca-key") {
		if b, err = read("ca-key"); err != nil {
			return nil, err
		}
		if a.CAKey, err = identity.ParsePrivateKey(b); err != nil {
			return nil, fmt.Errorf("%s: %w", c.String("ca-key"), err)
		}
	}
	if c.IsSet("eth-key") {
		if b, err = read("eth-key"); err != nil {
			return nil, err
		}
		if a.EthKey, err = parseEthKey(b); err != nil {
			return nil, fmt.Errorf("%s: %w", c.String("eth-key"), err)
		}
	} else {
		if a.EthKey, err = identity.NewEthKey(); err != nil {
			return nil, err
		}
		cli.Infof(c, "no --eth-key: the archive gets a new Ethereum key")
	}
	if c.IsSet("crl") {
		if b, err = read("crl"); err != nil {
			return nil, err
		}
		crl, err := identity.ParseCRL(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.String("crl"), err)
		}
		a.CRL = crl.Raw
	}
	return a, nil
}

// parseEthKey accepts 64 hex digits (optionally 0x), base64 of 32 bytes, or
// the 32 raw bytes.
func parseEthKey(b []byte) ([]byte, error) {
	var k []byte
	s := strings.TrimPrefix(strings.TrimSpace(string(b)), "0x")
	if h, err := hex.DecodeString(s); err == nil && len(h) == identity.EthKeySize {
		k = h
	} else if d, err := base64.StdEncoding.DecodeString(s); err == nil && len(d) == identity.EthKeySize {
		k = d
	} else if len(b) == identity.EthKeySize {
		k = b
	} else {
		return nil, errors.New("not a 32-byte Ethereum secret (hex, base64 or raw)")
	}
	if _, err := identity.EthAddress(k); err != nil {
		return nil, err
	}
	return k, nil
}
