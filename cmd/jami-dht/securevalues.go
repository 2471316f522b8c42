package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/secure"
	"github.com/jamikit/jamikit/lib/dht/types"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
	"github.com/jamikit/jamikit/lib/identity"
	"github.com/jamikit/jamikit/lib/jamidht"
	ucli "github.com/urfave/cli/v2"
)

// The secure side of put, get and listen: --sign, --encrypt-to, and
// get/listen with --account (decrypt) or --decode, through lib/dht/secure.

func decodeFlag() ucli.Flag {
	return &ucli.BoolFlag{Name: "decode", Usage: "show known Jami value types (announcements, requests, certificates, CRLs, ...) as readable JSON"}
}

// secureValueJSON is a value in --json output of get/listen through the
// secure layer: the fields of valueJSON (of the decrypted value when it was
// encrypted to us) plus what the checks found.
type secureValueJSON struct {
	valueJSON
	Decrypted bool            `json:"decrypted,omitempty"` // was encrypted to us and decrypted
	Verified  bool            `json:"verified"`            // signed with a valid signature (and decrypted, if encrypted)
	Error     string          `json:"error,omitempty"`     // why the value fails (forged, not for us)
	Kind      string          `json:"kind,omitempty"`      // --decode: the Jami type found
	Decoded   json.RawMessage `json:"decoded,omitempty"`   // --decode: the readable payload
}

// wantsSecure reports whether get/listen go through the secure layer.
func wantsSecure(c *ucli.Context) bool { return c.String("account") != "" || c.Bool("decode") }

// secureClient joins with the --account device's identity, if any.
func secureClient(ctx context.Context, c *ucli.Context) (*secure.DHT, error) {
	var d *jamidht.Device
	if c.String("account") != "" {
		var err error
		if d, err = loadDevice(c); err != nil {
			return nil, err
		}
	}
	return joinSecure(ctx, c, d)
}

// showResult prints one result of GetAll/ListenAll.
func showResult(c *ucli.Context, r secure.Result, expired bool) error {
	v := r.Value
	if v == nil {
		v = r.Raw
	}
	j := secureValueJSON{valueJSON: toJSON(v), Decrypted: r.Encrypted, Verified: r.Signed && r.Err == nil}
	j.Expired = expired
	if r.Err != nil {
		j.Error = r.Err.Error()
	}
	var decoded any
	if c.Bool("decode") && r.Err == nil && !v.IsEncrypted() {
		if d, kind, err := types.Decode(v); err == nil {
			decoded, j.Kind = d, kind
			if b, err := json.Marshal(d); err == nil {
				j.Decoded = b
			}
		}
	}
	if cli.JSON(c) {
		return cli.PrintNDJSON(c, j)
	}
	var sb strings.Builder
	if expired {
		sb.WriteString("expired ")
	}
	line := v.String()
	if decoded != nil && len(v.Data) > 0 {
		// The decoded form follows: the hex of the payload is noise here.
		line = strings.Replace(line, hex.EncodeToString(v.Data), fmt.Sprintf("<%d bytes>", len(v.Data)), 1)
	}
	sb.WriteString(line)
	if r.Signed && r.Err == nil {
		sb.WriteString(" signed by " + r.OwnerID.String())
	}
	if r.Encrypted {
		sb.WriteString(", encrypted to us")
	}
	if r.Err != nil {
		sb.WriteString(" [REJECTED: " + r.Err.Error() + "]")
	}
	if decoded != nil {
		sb.WriteString("\n  " + describe(j.Kind, decoded, r, j.Decoded))
	}
	_, err := fmt.Fprintln(cli.Stdout(c), sb.String())
	return err
}

// describe is the one-line summary --decode prints under a value.
func describe(kind string, d any, r secure.Result, js []byte) string {
	from := ""
	if r.Signed {
		from = " from " + r.OwnerID.String()
	}
	switch p := d.(type) {
	case *types.DeviceAnnouncement:
		dev := p.Dev.String()
		if p.PK != nil {
			dev = identity.LongIDOfSPKI(p.PK).String() + " (short id " + p.Dev.String() + ")"
		}
		return kind + from + ", device " + dev
	case *types.Certificate:
		ids := make([]string, 0, len(p.Chain))
		for _, x := range p.Chain {
			ids = append(ids, identity.CertShortID(x).String())
		}
		return fmt.Sprintf("%s chain of %d: %s", kind, len(p.Chain), strings.Join(ids, " <- "))
	case *types.TrustRequest:
		what := "request"
		if p.Confirm {
			what = "acceptance"
		}
		return fmt.Sprintf("%s (%s)%s: service %s, conversation %q, payload %q", kind, what, from, p.Service, p.ConversationID, p.Payload)
	}
	return kind + from + " " + string(js)
}

// encryptTargets resolves --encrypt-to: @FILE (a certificate), a 64-hex
// device id (certificate at OpenDHT ≥ 3.5's location or in the cache), or
// 40 hex: a device or node public key id whose certificate is on the DHT,
// else a Jami ID, whose verified devices are all targets.
func encryptTargets(ctx context.Context, c *ucli.Context, s *secure.DHT, to string) ([]*rsa.PublicKey, []string, error) {
	switch {
	case strings.HasPrefix(to, "@"):
		b, err := readFileArg(to[1:])
		if err != nil {
			return nil, nil, err
		}
		certs, err := identity.ParseCertificates(b)
		if err != nil || len(certs) == 0 {
			return nil, nil, cli.UsageErrorf("--encrypt-to %s: not a certificate", to)
		}
		pub, ok := certs[0].PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, nil, cli.UsageErrorf("--encrypt-to %s: not an RSA key", to)
		}
		return []*rsa.PublicKey{pub}, []string{identity.CertShortID(certs[0]).String()}, nil
	case len(to) == 64:
		long, err := identity.ParseLongID(to)
		if err != nil {
			return nil, nil, cli.UsageErrorf("--encrypt-to %q: not a device id", to)
		}
		chain, err := s.FindCertificateByLongID(ctx, long)
		if errors.Is(err, secure.ErrNotFound) {
			return nil, nil, cli.NotFoundf("--encrypt-to %s: no certificate for that device id on the DHT (OpenDHT 2.4.12 peers publish it at the device short id: give the 40-hex short id, or @CERT)", to)
		}
		if err != nil {
			return nil, nil, opError("certificate lookup", err)
		}
		return leafKey(chain, to)
	}
	h, err := parseJamiID("--encrypt-to", to)
	if err != nil {
		return nil, nil, cli.UsageErrorf("--encrypt-to %q: want a Jami ID, a device id (40 or 64 hex) or @CERT", to)
	}
	chain, err := s.FindCertificate(ctx, wire.InfoHash(h))
	if err == nil {
		return leafKey(chain, to)
	}
	if !errors.Is(err, secure.ErrNotFound) {
		return nil, nil, opError("certificate lookup", err)
	}
	devs, err := jamidht.Presence(ctx, s, h)
	if err != nil {
		return nil, nil, opError("presence "+h.String(), err)
	}
	var keys []*rsa.PublicKey
	var names []string
	for _, d := range devs {
		if d.Verified() {
			keys, names = append(keys, d.Key), append(names, d.ShortID.String())
		} else {
			cli.Infof(c, "skipping device %s: %v", d.ShortID, d.Err)
		}
	}
	if len(keys) == 0 {
		return nil, nil, cli.NotFoundf("--encrypt-to %s: no certificate and no verified device of that account on the DHT", to)
	}
	return keys, names, nil
}

func leafKey(chain []*x509.Certificate, name string) ([]*rsa.PublicKey, []string, error) {
	pub, ok := chain[0].PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, nil, fmt.Errorf("--encrypt-to %s: not an RSA key", name)
	}
	return []*rsa.PublicKey{pub}, []string{identity.CertShortID(chain[0]).String()}, nil
}

// putSecure is put --sign / --encrypt-to.
func putSecure(ctx context.Context, c *ucli.Context, key wire.InfoHash, v *value.Value, perm bool) error {
	d, err := loadDevice(c)
	if err != nil {
		return err
	}
	s, err := joinSecure(ctx, c, d)
	if err != nil {
		return err
	}
	defer s.Close()
	opt := dht.PutOptions{Permanent: perm}
	var results []putResult
	if to := c.String("encrypt-to"); to != "" {
		keys, names, err := encryptTargets(ctx, c, s, to)
		if err != nil {
			return err
		}
		for i, k := range keys {
			w := *v
			if err := s.PutEncrypted(ctx, key, k, &w, opt); err != nil {
				return opError("put", err)
			}
			results = append(results, putResult{Key: key.String(), ID: idHex(w.ID), Type: w.Type, Size: v.Size(), Permanent: perm,
				Signed: true, Owner: d.ShortID().String(), EncryptedTo: names[i]})
		}
	} else {
		if err := s.PutSigned(ctx, key, v, opt); err != nil {
			return opError("put", err)
		}
		results = append(results, putResult{Key: key.String(), ID: idHex(v.ID), Type: v.Type, Size: v.Size(), Permanent: perm,
			Signed: true, Seq: &v.Seq, Owner: d.ShortID().String()})
	}
	for _, r := range results {
		if cli.JSON(c) {
			if err := cli.PrintNDJSON(c, r); err != nil {
				return err
			}
		} else {
			cli.Printf(c, "%s\n", r.ID)
			if r.EncryptedTo != "" {
				cli.Infof(c, "value %s signed by %s, encrypted to %s", r.ID, r.Owner, r.EncryptedTo)
			} else {
				cli.Infof(c, "value %s signed by %s (seq %d)", r.ID, r.Owner, *r.Seq)
			}
		}
	}
	if !perm {
		return nil
	}
	cli.Infof(c, "announcing until interrupted")
	<-c.Context.Done()
	return c.Context.Err()
}

// getSecure is get with --account or --decode: every value is shown with
// what the secure layer found (signed by whom, decrypted, or rejected).
func getSecure(ctx context.Context, c *ucli.Context, key wire.InfoHash, q *value.Query) error {
	s, err := secureClient(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := s.GetAll(ctx, key, q)
	for _, r := range res {
		if perr := showResult(c, r, false); perr != nil {
			return perr
		}
	}
	if err != nil && len(res) == 0 {
		return opError("get "+key.String(), err)
	}
	if len(res) == 0 {
		return cli.NotFoundf("%s: no value found", key)
	}
	return nil
}

// listenSecure is listen with --account or --decode.
func listenSecure(ctx context.Context, c *ucli.Context, key wire.InfoHash, where *value.Where, count uint) error {
	s, err := secureClient(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	type batch struct {
		res     []secure.Result
		expired bool
	}
	// Printing happens here, not in the client's callback.
	ch := make(chan batch, 64)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err = s.ListenAll(lctx, key, where, func(res []secure.Result, expired bool) bool {
		select {
		case ch <- batch{res, expired}:
			return true
		case <-lctx.Done():
			return false
		}
	})
	if err != nil {
		return opError("listen", err)
	}
	var got uint
	for {
		select {
		case b := <-ch:
			for _, r := range b.res {
				if err := showResult(c, r, b.expired); err != nil {
					return err
				}
				if !b.expired {
					got++
				}
				if count > 0 && got >= count {
					return nil
				}
			}
		case <-ctx.Done():
			if c.Context.Err() != nil {
				return c.Context.Err()
			}
			if count > 0 && got < count {
				return fmt.Errorf("listen: %d of %d values before the timeout: %w", got, count, ctx.Err())
			}
			return nil
		}
	}
}
