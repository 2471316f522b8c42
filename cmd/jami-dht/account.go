package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht/secure"
	"github.com/jamikit/jamikit/lib/identity"
	"github.com/jamikit/jamikit/lib/jamidht"
	ucli "github.com/urfave/cli/v2"
)

// accountFlags are --account and the password of an archive account.
func accountFlags() []ucli.Flag {
	return []ucli.Flag{cli.AccountFlag(), cli.PasswordFileFlag()}
}

// loadDevice reads --account as the device a Jami client would run: a
// jamid account folder (device key, chain and the receipt whose signed
// announcement is published; the CRL of an unencrypted archive), or an
// archive that carries a device key (jamid 2023 exports), whose
// announcement is signed afresh with the account key.
func loadDevice(c *ucli.Context) (*jamidht.Device, error) {
	p := c.String("account")
	if p == "" {
		return nil, cli.UsageErrorf("%s: --account is required: a jamid account folder or an archive", c.Command.Name)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		f, err := account.Open(p)
		if err != nil {
			return nil, err
		}
		d, err := jamidht.FromFolder(f)
		if err != nil {
			return nil, err
		}
		// Only an unencrypted archive is read for its CRL: an Argon2
		// derivation (and a prompt) is not worth it for a lookup.
		if enc, err := f.ArchiveEncrypted(); err == nil && !enc {
			if a, err := f.Archive(nil); err == nil && len(a.CRL) > 0 {
				if err := d.AddCRL(a.CRL); err != nil {
					cli.Infof(c, "%s: ignoring the archive's CRL: %v", f.ArchivePath(), err)
				}
			}
		}
		return d, nil
	}
	s, err := account.OpenSource(p, cli.Stdin(c), account.Unlock{Password: cli.ArchivePassword(false).Bind(c)})
	if err != nil {
		return nil, err
	}
	a := s.Archive
	if a.DeviceKey == nil || len(a.DeviceChain) < 2 {
		return nil, fmt.Errorf("%s: the archive holds no device key (only jamid 2023 exports carry one): use an account folder, e.g. made with jami-keygen device -o DIR", p)
	}
	ann, err := account.Announcement(a.AccountKey, a.DeviceChain[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	d := &jamidht.Device{Identity: &secure.Identity{Key: a.DeviceKey, Chain: a.DeviceChain}, Announcement: ann}
	if err := d.Identity.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if len(a.CRL) > 0 {
		if err := d.AddCRL(a.CRL); err != nil {
			cli.Infof(c, "%s: ignoring the archive's CRL: %v", p, err)
		}
	}
	return d, nil
}

// joinSecure joins the DHT and wraps the client in a SecureDht with the
// device's identity (nil: verify only).
func joinSecure(ctx context.Context, c *ucli.Context, d *jamidht.Device) (*secure.DHT, error) {
	n, err := connect(ctx, c)
	if err != nil {
		return nil, err
	}
	var id *secure.Identity
	if d != nil {
		id = d.Identity
	}
	opt := secure.Options{}
	if cli.Verbose(c) {
		opt.Logger = cli.Logger(c)
	}
	return secure.New(n, id, opt), nil
}

// parseJamiID reads a Jami ID argument: 40 hex, optionally as a jami: URI.
func parseJamiID(what, s string) (identity.ShortID, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "jami:"), "ring:")
	id, err := identity.ParseShortID(t)
	if err != nil {
		return id, cli.UsageErrorf("%s %q: not a Jami ID (40 hexadecimal characters)", what, s)
	}
	return id, nil
}

// secureError is opError plus the secure layer's errors.
func secureError(what string, err error) error {
	if errors.Is(err, secure.ErrNoIdentity) {
		return cli.UsageErrorf("%s: --account is required", what)
	}
	return opError(what, err)
}

// readFileArg reads a file named by a flag, errors naming it.
func readFileArg(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err // *PathError names the file
	}
	return b, nil
}
