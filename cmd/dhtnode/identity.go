package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/secure"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
	"github.com/jamikit/jamikit/lib/identity"
	ucli "github.com/urfave/cli/v2"
)

// envPrivkeyPassword holds the password of an encrypted --privkey (OpenDHT
// takes it on the command line, --privkey-password; here it never is).
const envPrivkeyPassword = "DHTNODE_PRIVKEY_PASSWORD"

func privkeySecret() cli.Secret {
	return cli.Secret{FileFlag: "privkey-password-file", Env: envPrivkeyPassword, Prompt: "Private key password", Name: "private key password"}
}

func identityFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.BoolFlag{Name: "identity", Aliases: []string{"i"}, Usage: "generate a node identity (EC P-384 CA and RSA-4096 node certificate, as OpenDHT): enables s, e and decryption"},
		&ucli.StringFlag{Name: "save-identity", TakesFile: true, Usage: "with -i, save the identity as `PREFIX`.pem/.crt and PREFIX_ca.pem/.crt (keys 0600, encrypted with the --privkey-password-file password if given)"},
		&ucli.StringFlag{Name: "certificate", TakesFile: true, Usage: "load the node identity's certificate (chain) from `FILE` (PEM); needs --privkey"},
		&ucli.StringFlag{Name: "privkey", TakesFile: true, Usage: "load the node identity's private key from `FILE` (PEM or DER); needs --certificate"},
		&ucli.BoolFlag{Name: "force", Usage: "with --save-identity, overwrite existing files"},
		&ucli.StringFlag{Name: "privkey-password-file", TakesFile: true, Usage: "read the password of an encrypted --privkey (or the one --save-identity encrypts the keys with) from `FILE` (or $" + envPrivkeyPassword + "; --privkey also prompts on a terminal)"},
		// OpenDHT's --privkey-password takes the password itself: refused
		// with a pointer to the ways that keep it out of argv.
		&ucli.StringFlag{Name: "privkey-password", Hidden: true},
	}
}

// loadIdentity returns the identity the options ask for, or nil.
func loadIdentity(c *ucli.Context) (*secure.Identity, error) {
	gen := c.Bool("identity")
	certFile, keyFile := c.String("certificate"), c.String("privkey")
	switch {
	case gen && (certFile != "" || keyFile != ""):
		return nil, cli.UsageErrorf("-i and --certificate/--privkey exclude each other")
	case (certFile == "") != (keyFile == ""):
		return nil, cli.UsageErrorf("--certificate and --privkey go together")
	case c.IsSet("save-identity") && !gen:
		return nil, cli.UsageErrorf("--save-identity needs -i")
	case c.IsSet("privkey-password"):
		return nil, cli.UsageErrorf("--privkey-password: passwords are not taken on the command line: use --privkey-password-file FILE or $%s", envPrivkeyPassword)
	case c.IsSet("privkey-password-file") && keyFile == "" && !c.IsSet("save-identity"):
		return nil, cli.UsageErrorf("--privkey-password-file needs --privkey or --save-identity")
	}
	if gen {
		ni, err := secure.GenerateNodeIdentity("")
		if err != nil {
			return nil, fmt.Errorf("generating the identity: %w", err)
		}
		if p := c.String("save-identity"); p != "" {
			// As OpenDHT with --privkey-password: the saved keys are
			// encrypted when a password is given (never prompted for).
			var pw *string
			if privkeySecret().Given(c) {
				v, err := privkeySecret().Read(c)
				if err != nil {
					return nil, err
				}
				pw = &v
			}
			if err := saveIdentity(p, ni, pw, c.Bool("force")); err != nil {
				return nil, err
			}
		}
		return &ni.Identity, nil
	}
	if certFile == "" {
		return nil, nil
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyData, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	var pw *string
	if secure.KeyEncrypted(keyData) {
		p, err := privkeySecret().Read(c)
		if errors.Is(err, cli.ErrNoPassword) {
			return nil, fmt.Errorf("%s: the private key is encrypted: %s", keyFile, privkeySecret().Hint())
		}
		if err != nil {
			return nil, err
		}
		pw = &p
	}
	chain, err := identity.ParseCertificates(certPEM)
	if err != nil || len(chain) == 0 {
		return nil, fmt.Errorf("%s: not a certificate: %v", certFile, err)
	}
	key, err := secure.ParseKey(keyData, pw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	id := &secure.Identity{Key: key, Chain: chain}
	if err := id.Validate(); err != nil {
		return nil, fmt.Errorf("%s and %s: the certificate does not match the private key", certFile, keyFile)
	}
	return id, nil
}

// saveIdentity writes --save-identity's four files, as OpenDHT names them.
func saveIdentity(prefix string, ni *secure.NodeIdentity, pw *string, force bool) error {
	key, err := secure.EncodeKeyFile(ni.Key, pw)
	if err != nil {
		return err
	}
	caKey, err := secure.EncodeKeyFile(ni.CAKey, pw)
	if err != nil {
		return err
	}
	files := []struct {
		path string
		data []byte
		perm os.FileMode
	}{
		{prefix + ".pem", key, 0o600},
		{prefix + ".crt", identity.EncodeCertsPEM(ni.Chain...), 0o644},
		{prefix + "_ca.pem", caKey, 0o600},
		{prefix + "_ca.crt", identity.EncodeCertsPEM(ni.Chain[1]), 0o644},
	}
	if !force {
		for _, f := range files {
			if _, err := os.Lstat(f.path); err == nil {
				return fmt.Errorf("%s: %w", f.path, atomicfile.ErrExists)
			}
		}
	}
	for _, f := range files {
		if err := atomicfile.WriteFile(f.path, f.data, atomicfile.Options{Perm: f.perm, Force: force}); err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return nil
}

// announce publishes the node's certificate, as a SecureDht with a
// certificate does when it starts; the put is permanent, so it stays
// announced (and reaches nodes met later) until the node stops.
func announce(ctx context.Context, s *secure.DHT, log *slog.Logger) {
	if s.Identity() == nil {
		return
	}
	go func() {
		if err := s.AnnounceCertificate(ctx); err != nil && ctx.Err() == nil {
			// Logged only, as OpenDHT does: a lone node has no one to
			// announce to yet.
			log.Debug("certificate announce", "err", err)
		}
	}()
}

// publicKeyLine is the banner line of a node with an identity.
func publicKeyLine(s *secure.DHT) string {
	if s == nil || s.Identity() == nil {
		return ""
	}
	return "Public key ID " + s.ID().String() + "\n"
}

// withPublicKeyLine puts the public key line after the first line of an
// "ll" text, where OpenDHT prints it.
func withPublicKeyLine(text string, s *secure.DHT) string {
	pk := publicKeyLine(s)
	if pk == "" {
		return text
	}
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		return text[:i+1] + pk + text[i+1:]
	}
	return text + "\n" + pk
}

// putSigned is the console's "s": output as OpenDHT's, including its
// doubled unit ("took 8.57 mss)").
func (con *console) putSigned(key wire.InfoHash, word string) {
	if con.sec.Identity() == nil {
		con.out.print("An identity is required to perform this operation (run with -i)\n")
		return
	}
	v := &value.Value{Type: value.TypeUserData, Data: []byte(word), UserType: "text/plain"}
	con.do(func() {
		start := time.Now()
		err := con.sec.PutSigned(con.ctx, key, v, dht.PutOptions{})
		if con.done() {
			return
		}
		con.out.printf("Put signed: %s (took %ss)\n", outcome(err, "success"), printDuration(time.Since(start)))
	})
}

// putEncrypted is the console's "e": the recipient is a public key id
// whose certificate is looked up on the DHT. OpenDHT prints no closing
// parenthesis here.
func (con *console) putEncrypted(key wire.InfoHash, rest string) {
	if con.sec.Identity() == nil {
		con.out.print("An identity is required to perform this operation (run with -i)\n")
		return
	}
	dest, rest := next(rest)
	word, _ := next(rest)
	to := looseHash(dest)
	v := &value.Value{Type: value.TypeUserData, Data: []byte(word), UserType: "text/plain"}
	con.do(func() {
		start := time.Now()
		err := con.sec.PutEncryptedTo(con.ctx, key, to, v, dht.PutOptions{})
		if con.done() {
			return
		}
		if err != nil {
			con.logs.logger().Warn("put encrypted", "to", to, "err", err)
		}
		con.out.printf("Put encrypted: %s (took %s\n", outcome(err, "success"), printDuration(time.Since(start)))
	})
}
