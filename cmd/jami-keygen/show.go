package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/identity"
	ucli "github.com/urfave/cli/v2"
)

type certInfo struct {
	Role               string    `json:"role"`
	Subject            string    `json:"subject"`
	Issuer             string    `json:"issuer"`
	Serial             string    `json:"serial"`
	NotBefore          time.Time `json:"not_before"`
	NotAfter           time.Time `json:"not_after"`
	Key                string    `json:"key"`
	ShortID            string    `json:"short_id"`
	LongID             string    `json:"long_id"`
	SignatureAlgorithm string    `json:"signature_algorithm"`
	CA                 bool      `json:"ca"`
	IssuedBy           string    `json:"issued_by"`                 // "next", "self" or "unknown" (issuer not in the chain)
	SignatureError     string    `json:"signature_error,omitempty"` // when issued_by is next or self
	ProfileIssues      []string  `json:"profile_issues"`            // departures from jamid's certificate profile
}

type crlEntry struct {
	Serial string    `json:"serial"`
	Time   time.Time `json:"revoked_at"`
}

type crlInfo struct {
	Issuer     string     `json:"issuer"`
	JamiID     string     `json:"jami_id,omitempty"`
	Number     string     `json:"number,omitempty"`
	ThisUpdate time.Time  `json:"this_update"`
	NextUpdate time.Time  `json:"next_update"`
	Revoked    []crlEntry `json:"revoked"`
}

type showResult struct {
	Kind          string     `json:"kind"`
	JamiID        string     `json:"jami_id,omitempty"`
	DeviceID      string     `json:"device_id,omitempty"`
	DeviceShortID string     `json:"device_short_id,omitempty"`
	CAID          string     `json:"ca_id,omitempty"`
	Key           string     `json:"key,omitempty"`
	ShortID       string     `json:"short_id,omitempty"`
	LongID        string     `json:"long_id,omitempty"`
	Certificates  []certInfo `json:"certificates,omitempty"`
	// Verified: every certificate is in date, issued by the next one, and
	// the last is self-signed (the whole chain up to the Jami CA).
	Verified    *bool  `json:"verified,omitempty"`
	VerifyError string `json:"verify_error,omitempty"`
	// DeviceAccepted: jamid's own check of a device chain (account
	// certificate as the only anchor, MEDIUM profile, CRLs applied).
	DeviceAccepted *bool  `json:"device_accepted,omitempty"`
	DeviceError    string `json:"device_error,omitempty"`
	Revoked        bool   `json:"revoked"`
	// ReceiptValid: account folders only, the device receipt in config.yml.
	ReceiptValid *bool      `json:"receipt_valid,omitempty"`
	ReceiptError string     `json:"receipt_error,omitempty"`
	CRLs         []*crlInfo `json:"crls,omitempty"`
}

func showCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "show",
		Usage:     "decode a certificate chain: subjects, issuers, IDs, validity, whether it verifies",
		ArgsUsage: "[FILE|DIR|-]",
		Description: "Decodes the certificates of FILE (default: --account, else stdin): a PEM or DER chain such as\n" +
			"ring_device.crt, an account folder (its ring_device.crt, plus its receipt), or an archive (its\n" +
			"account chain and CRL; asks for the password if encrypted). For each certificate: role, subject,\n" +
			"issuer, serial, validity, key and IDs, signature check against the next certificate, and how it\n" +
			"departs from the certificate profile jamid 13.7 writes. Then whether the chain verifies up to its\n" +
			"self-signed CA, and, for a device chain, whether jamid would accept it (the account certificate\n" +
			"as the only anchor, RSA >= 2048, no SHA-1, dates, CA constraints, revocation by --crl or a CRL in\n" +
			"the file). Keys and CRLs are described too. The exit status is 0 whatever the verdict.\n\n" +
			"Examples:\n" +
			"  jami-keygen show ~/.local/share/jami/1a2b3c4d5e6f7a8b/ring_device.crt\n" +
			"  jami-keygen show ~/.local/share/jami/1a2b3c4d5e6f7a8b --crl alice.crl --json\n" +
			"  jami-keygen show alice.gz --password-file pw",
		Flags: []ucli.Flag{
			cli.AccountFlag(),
			cli.PasswordFileFlag(),
			&ucli.StringSliceFlag{Name: "crl", TakesFile: true, Usage: "apply the revocation list in `FILE` (DER or PEM; repeatable)"},
			cli.JSONFlag(),
		},
		Action: runShow,
	}
}

func runShow(c *ucli.Context) error {
	path, err := inputArg(c)
	if err != nil {
		return err
	}
	var crls []*x509.RevocationList
	for _, p := range c.StringSlice("crl") {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		crl, err := identity.ParseCRL(b)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		crls = append(crls, crl)
	}
	in, err := inspect(c, path)
	if err != nil {
		return err
	}
	if in.crl != nil {
		crls = append(crls, in.crl)
	}
	if in.folder != nil {
		// The account's CRL is in its archive: applied when the archive can
		// be read without asking (unencrypted, or a password was given).
		if arch := folderArchive(c, in.folder); arch != nil {
			in.arch = arch
		}
	}
	if in.arch != nil && len(in.arch.CRL) > 0 {
		if crl, err := identity.ParseCRL(in.arch.CRL); err == nil {
			crls = append(crls, crl)
		}
	}
	now := time.Now()
	r := showResult{Kind: in.kind}
	if len(in.certs) > 0 {
		ids := idsOf(in.certs)
		r.JamiID, r.DeviceID, r.DeviceShortID, r.CAID = ids.JamiID, ids.DeviceID, ids.DeviceShortID, ids.CAID
		for i, cert := range in.certs {
			r.Certificates = append(r.Certificates, describeCert(cert, in.certs[i+1:]))
		}
		ok := true
		if err := identity.VerifyChainAt(in.certs, now); err != nil {
			ok, r.VerifyError = false, err.Error()
		}
		r.Verified = &ok
		if identity.RoleOf(in.certs[0]) == identity.RoleDevice && len(in.certs) > 1 {
			ok := true
			if err := identity.VerifyDeviceChainAt(in.certs, now, crls...); err != nil {
				ok, r.DeviceError = false, err.Error()
			}
			r.DeviceAccepted = &ok
			for _, crl := range crls {
				if identity.CRLIssuedBy(crl, in.certs[1]) && identity.IsRevoked(crl, in.certs[0]) {
					r.Revoked = true
				}
			}
		}
	} else if in.pub != nil {
		r.Key = keyString(in.pub)
		r.ShortID, r.LongID = keyIDs(in.pub)
	}
	if in.folder != nil {
		ok := true
		if err := account.VerifyReceipt(in.folder.Receipt, in.folder.ReceiptSig, in.folder.AccountCert(), in.folder.Device.Cert); err != nil {
			ok, r.ReceiptError = false, err.Error()
		}
		r.ReceiptValid = &ok
	}
	if in.arch != nil && in.folder == nil {
		r.JamiID = in.arch.JamiID().String()
	}
	for _, crl := range crls {
		r.CRLs = append(r.CRLs, describeCRL(crl))
	}
	if cli.JSON(c) {
		return cli.PrintJSON(c, r)
	}
	printShow(c, &r)
	return nil
}

func describeCert(c *x509.Certificate, rest []*x509.Certificate) certInfo {
	role := identity.RoleOf(c)
	info := certInfo{
		Role:               role.String(),
		Subject:            nameString(c.RawSubject),
		Issuer:             nameString(c.RawIssuer),
		Serial:             identity.SerialString(c.SerialNumber),
		NotBefore:          c.NotBefore.UTC(),
		NotAfter:           c.NotAfter.UTC(),
		Key:                keyString(c.PublicKey),
		ShortID:            identity.CertShortID(c).String(),
		LongID:             identity.CertLongID(c).String(),
		SignatureAlgorithm: c.SignatureAlgorithm.String(),
		CA:                 identity.IsCA(c),
		IssuedBy:           "unknown",
		ProfileIssues:      []string{},
	}
	var parent *x509.Certificate
	switch {
	case len(rest) > 0:
		parent, info.IssuedBy = rest[0], "next"
	case identity.IsSelfIssued(c):
		parent, info.IssuedBy = c, "self"
	}
	if parent != nil {
		if err := identity.VerifyIssued(c, parent); err != nil {
			info.SignatureError = err.Error()
		}
	}
	if role != identity.RoleUnknown {
		info.ProfileIssues = append(info.ProfileIssues, identity.ProfileIssues(c, role)...)
	} else {
		info.ProfileIssues = append(info.ProfileIssues, "not a Jami certificate: self-signed but not a CA")
	}
	return info
}

func describeCRL(crl *x509.RevocationList) *crlInfo {
	info := &crlInfo{
		Issuer:     nameString(crl.RawIssuer),
		JamiID:     hexUID(identity.NameUID(crl.RawIssuer)),
		ThisUpdate: crl.ThisUpdate.UTC(),
		NextUpdate: crl.NextUpdate.UTC(),
		Revoked:    []crlEntry{},
	}
	if crl.Number != nil {
		info.Number = identity.SerialString(crl.Number)
	}
	for _, e := range crl.RevokedCertificateEntries {
		info.Revoked = append(info.Revoked, crlEntry{Serial: identity.SerialString(e.SerialNumber), Time: e.RevocationTime.UTC()})
	}
	return info
}

// nameString prints a DER name in its encoded order ("CN=Jami, UID=…"),
// which Go's pkix.Name.String reverses.
func nameString(der []byte) string {
	rdns, err := identity.ParseName(der)
	if err != nil {
		return "(unparsable name)"
	}
	short := map[string]string{"2.5.4.3": "CN", "0.9.2342.19200300.100.1.1": "UID", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C"}
	var parts []string
	for _, rdn := range rdns {
		for _, a := range rdn {
			k := short[a.Type.String()]
			if k == "" {
				k = a.Type.String()
			}
			parts = append(parts, k+"="+a.Value)
		}
	}
	return strings.Join(parts, ", ")
}

func yesNo(b *bool, why string) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return "yes"
	case why != "":
		return "NO: " + why
	}
	return "NO"
}

func printShow(c *ucli.Context, r *showResult) {
	const tf = "2006-01-02 15:04:05 UTC"
	for i, ci := range r.Certificates {
		cli.Printf(c, "Certificate %d: %s\n", i+1, ci.Role)
		sig := "issuer not in the chain"
		switch ci.IssuedBy {
		case "next":
			sig = fmt.Sprintf("by certificate %d", i+2)
		case "self":
			sig = "self-signed"
		}
		if ci.IssuedBy != "unknown" {
			if ci.SignatureError != "" {
				sig += ": BAD: " + ci.SignatureError
			} else {
				sig += ": ok"
			}
		}
		profile := "as jamid writes it"
		if len(ci.ProfileIssues) > 0 {
			profile = strings.Join(ci.ProfileIssues, "; ")
		}
		fields := []cli.Field{
			{"  Subject", ci.Subject},
			{"  Issuer", ci.Issuer},
			{"  Serial", ci.Serial},
			{"  Valid", ci.NotBefore.Format(tf) + " to " + ci.NotAfter.Format(tf)},
			{"  Key", ci.Key + ", short ID " + ci.ShortID},
			{"  Long ID", ci.LongID},
			{"  Signature", ci.SignatureAlgorithm + ", " + sig},
			{"  Profile", profile},
		}
		cli.PrintFields(c, fields)
	}
	for _, crl := range r.CRLs {
		cli.Printf(c, "CRL of %s\n", crl.Issuer)
		fields := []cli.Field{
			{"  Number", crl.Number},
			{"  Updated", crl.ThisUpdate.Format(tf) + ", next " + crl.NextUpdate.Format(tf)},
		}
		for _, e := range crl.Revoked {
			fields = append(fields, cli.Field{"  Revoked", "serial " + e.Serial + " at " + e.Time.Format(tf)})
		}
		cli.PrintFields(c, fields)
	}
	revoked := ""
	if r.DeviceAccepted != nil {
		revoked = "no"
		if r.Revoked {
			revoked = "YES"
		}
	}
	cli.PrintFields(c, []cli.Field{
		{"Kind", r.Kind},
		{"Key", r.Key},
		{"Key short ID", r.ShortID},
		{"Key long ID", r.LongID},
		{"Jami ID", r.JamiID},
		{"Device ID", r.DeviceID},
		{"Device short ID", r.DeviceShortID},
		{"CA ID", r.CAID},
		{"Chain verifies", yesNo(r.Verified, r.VerifyError)},
		{"jamid accepts device", yesNo(r.DeviceAccepted, r.DeviceError)},
		{"Revoked", revoked},
		{"Receipt valid", yesNo(r.ReceiptValid, r.ReceiptError)},
	})
}

// folderArchive reads the archive of an account folder if that needs no
// prompt; nil otherwise (show works without it).
func folderArchive(c *ucli.Context, f *account.Folder) *archive.Archive {
	s, err := f.Source()
	if err != nil {
		return nil
	}
	if s.Encrypted() != cli.ArchivePassword(false).Given(c) {
		return nil
	}
	if err := s.Unlock(unlocking(c)); err != nil || s.Archive.JamiID() != f.JamiID() {
		return nil
	}
	return s.Archive
}
