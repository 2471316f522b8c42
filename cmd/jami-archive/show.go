package main

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/identity"
	ucli "github.com/urfave/cli/v2"
)

func showCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "show",
		Usage:     "print what an archive holds: Jami ID, devices, contacts, conversations, settings",
		ArgsUsage: "FILE|DIR|-",
		Description: "Decrypts (when needed) and prints the archive's account: Jami ID, Ethereum address,\n" +
			"certificates, the device whose keys a 2023 export carries, revoked devices, contacts,\n" +
			"conversations, conversation requests and settings. FILE may be an account folder (its\n" +
			"archive.gz) or - for stdin. Private keys are printed only with --private.\n\n" +
			"JSON fields: file, format (encrypted|gzip|json), encrypted, jami_id, eth_address, ca_id,\n" +
			"account_certificate, ca_certificate, has_ca_key, has_eth_key, revoked_serials, devices,\n" +
			"contacts, conversations, conversation_requests, config, warnings, private (with --private).\n\n" +
			"Examples:\n" +
			"  jami-archive show archive.gz --password-file pw\n" +
			"  JAMI_PASSWORD=secret jami-archive show --json archive.gz | jq -r .jami_id\n" +
			"  jami-archive show --private --json backup.gz --password-file pw",
		Flags: []ucli.Flag{
			cli.PasswordFileFlag(),
			keyFileFlag(),
			&ucli.BoolFlag{Name: "private", Usage: "also print the private keys (account, CA, Ethereum, exported device) and the archive key"},
			cli.JSONFlag(),
		},
		Action: runShow,
	}
}

type certInfo struct {
	Subject   string    `json:"subject"`
	ID        string    `json:"id"` // short id of the certificate's key
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	IsCA      bool      `json:"is_ca"`
}

type deviceInfo struct {
	DeviceID      string    `json:"device_id"`       // 64 hex, jamid's Account.deviceID
	DeviceShortID string    `json:"device_short_id"` // 40 hex, certificate UID
	Name          string    `json:"name,omitempty"`
	Serial        string    `json:"serial"`
	NotAfter      time.Time `json:"not_after"`
	Source        string    `json:"source"` // where the archive holds it
	Revoked       bool      `json:"revoked"`
}

type contactInfo struct {
	JamiID         string `json:"jami_id"`
	Status         string `json:"status"` // active, removed, banned
	Added          int64  `json:"added"`
	Removed        int64  `json:"removed,omitempty"`
	Confirmed      bool   `json:"confirmed"`
	Banned         bool   `json:"banned"`
	ConversationID string `json:"conversation_id"`
}

type conversationInfo struct {
	ID      string   `json:"id"`
	Created int64    `json:"created"`
	Removed int64    `json:"removed,omitempty"`
	Erased  int64    `json:"erased,omitempty"`
	Members []string `json:"members"`
}

type requestInfo struct {
	ConversationID string `json:"conversation_id"`
	From           string `json:"from"`
	Received       int64  `json:"received"`
	Declined       int64  `json:"declined,omitempty"`
}

type privateInfo struct {
	AccountKey string `json:"account_key"`          // PEM
	CAKey      string `json:"ca_key,omitempty"`     // PEM
	EthKey     string `json:"eth_key,omitempty"`    // hex
	DeviceKey  string `json:"device_key,omitempty"` // PEM, the exported device's key
	ArchiveKey string `json:"archive_key,omitempty"`
}

type showResult struct {
	File                 string             `json:"file"`
	Format               string             `json:"format"`
	Encrypted            bool               `json:"encrypted"`
	JamiID               string             `json:"jami_id"`
	EthAddress           string             `json:"eth_address,omitempty"`
	CAID                 string             `json:"ca_id,omitempty"`
	AccountCertificate   *certInfo          `json:"account_certificate"`
	CACertificate        *certInfo          `json:"ca_certificate,omitempty"`
	HasCAKey             bool               `json:"has_ca_key"`
	HasEthKey            bool               `json:"has_eth_key"`
	RevokedSerials       []string           `json:"revoked_serials"`
	Devices              []deviceInfo       `json:"devices"`
	Contacts             []contactInfo      `json:"contacts"`
	Conversations        []conversationInfo `json:"conversations"`
	ConversationRequests []requestInfo      `json:"conversation_requests"`
	Config               map[string]string  `json:"config"`
	Warnings             []string           `json:"warnings,omitempty"`
	Private              *privateInfo       `json:"private,omitempty"`
}

func runShow(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	s, err := openArchive(c, c.Args().First())
	if err != nil {
		return err
	}
	r := summarize(s)
	if c.Bool("private") {
		r.Private = privateOf(s)
	}
	if cli.JSON(c) {
		return cli.PrintJSON(c, r)
	}
	printShow(cli.Stdout(c), r)
	return nil
}

func summarize(s *account.Source) *showResult {
	a := s.Archive
	r := &showResult{
		File:                 s.Path,
		Format:               a.Format.String(),
		Encrypted:            a.Format == archive.FormatEncrypted,
		JamiID:               a.JamiID().String(),
		HasCAKey:             a.CAKey != nil,
		HasEthKey:            a.EthKey != nil,
		RevokedSerials:       []string{},
		Devices:              []deviceInfo{},
		Contacts:             []contactInfo{},
		Conversations:        []conversationInfo{},
		ConversationRequests: []requestInfo{},
		Config:               map[string]string{},
		Warnings:             append([]string(nil), a.Warnings...),
	}
	if a.EthKey != nil {
		r.EthAddress, _ = identity.EthAddress(a.EthKey)
	}
	if cert := a.AccountCert(); cert != nil {
		r.AccountCertificate = certInfoOf(cert)
	}
	if ca := a.CACert(); ca != nil {
		r.CACertificate = certInfoOf(ca)
		r.CAID = r.CACertificate.ID
	}
	revoked := map[string]bool{}
	if serials, err := a.RevokedSerials(); err == nil {
		for _, s := range serials {
			str := identity.SerialString(s)
			r.RevokedSerials = append(r.RevokedSerials, str)
			revoked[str] = true
		}
	}
	device := func(d *x509.Certificate, name, source string) {
		serial := identity.SerialString(d.SerialNumber)
		r.Devices = append(r.Devices, deviceInfo{
			DeviceID:      identity.CertLongID(d).String(),
			DeviceShortID: identity.CertShortID(d).String(),
			Name:          name,
			Serial:        serial,
			NotAfter:      d.NotAfter.UTC(),
			Source:        source,
			Revoked:       revoked[serial],
		})
	}
	if f := s.Folder; f != nil {
		device(f.Device.Cert, f.DeviceName(), "account folder (ring_device.crt)")
		if f.JamiID() != a.JamiID() {
			r.Warnings = append(r.Warnings, fmt.Sprintf("the folder's device belongs to account %s, not to the archive's", f.JamiID()))
		}
	}
	if len(a.DeviceChain) > 0 && (s.Folder == nil || !a.DeviceChain[0].Equal(s.Folder.Device.Cert)) {
		device(a.DeviceChain[0], "", "exporting device (TLS.certificateFile)")
	}
	for _, id := range sortedKeys(a.Contacts) {
		ct := a.Contacts[id]
		status := "active"
		if !ct.Active() {
			status = "removed"
			if ct.Banned {
				status = "banned"
			}
		}
		r.Contacts = append(r.Contacts, contactInfo{JamiID: id, Status: status, Added: ct.Added, Removed: ct.Removed,
			Confirmed: ct.Confirmed, Banned: ct.Banned, ConversationID: ct.ConversationID})
	}
	for _, id := range sortedKeys(a.Conversations) {
		// ConvInfo (jamid conversation.h); unknown or mistyped fields are left out.
		var ci struct {
			Created int64 `json:"created"`
			Removed int64 `json:"removed"`
			Erased  int64 `json:"erased"`
			Members []struct {
				URI string `json:"uri"`
			} `json:"members"`
		}
		json.Unmarshal(a.Conversations[id], &ci)
		info := conversationInfo{ID: id, Created: ci.Created, Removed: ci.Removed, Erased: ci.Erased, Members: []string{}}
		for _, m := range ci.Members {
			info.Members = append(info.Members, m.URI)
		}
		r.Conversations = append(r.Conversations, info)
	}
	for _, id := range sortedKeys(a.ConversationRequests) {
		var rq struct {
			From     string `json:"from"`
			Received int64  `json:"received"`
			Declined int64  `json:"declined"`
		}
		json.Unmarshal(a.ConversationRequests[id], &rq)
		r.ConversationRequests = append(r.ConversationRequests, requestInfo{ConversationID: id, From: rq.From, Received: rq.Received, Declined: rq.Declined})
	}
	for k, v := range a.Config {
		r.Config[k] = v
	}
	return r
}

func certInfoOf(c *x509.Certificate) *certInfo {
	return &certInfo{
		Subject:   nameString(c.RawSubject),
		ID:        identity.CertShortID(c).String(),
		Serial:    identity.SerialString(c.SerialNumber),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		IsCA:      identity.IsCA(c),
	}
}

// nameString prints a Jami certificate name in its own order, with UID by
// name: "CN=Jami, UID=<40 hex>" (pkix.Name.String would show UID as an OID).
func nameString(der []byte) string {
	rdns, err := identity.ParseName(der)
	if err != nil {
		return "?"
	}
	var parts []string
	for _, rdn := range rdns {
		for _, at := range rdn {
			label := at.Type.String()
			switch label {
			case "2.5.4.3":
				label = "CN"
			case "0.9.2342.19200300.100.1.1":
				label = "UID"
			case "2.5.4.10":
				label = "O"
			}
			parts = append(parts, label+"="+at.Value)
		}
	}
	return strings.Join(parts, ", ")
}

func privateOf(s *account.Source) *privateInfo {
	a := s.Archive
	p := &privateInfo{AccountKey: string(identity.EncodeKeyPEM(a.AccountKey))}
	if a.CAKey != nil {
		p.CAKey = string(identity.EncodeKeyPEM(a.CAKey))
	}
	if a.EthKey != nil {
		p.EthKey = hex.EncodeToString(a.EthKey)
	}
	if a.DeviceKey != nil {
		p.DeviceKey = string(identity.EncodeKeyPEM(a.DeviceKey))
	}
	if s.Key != nil {
		p.ArchiveKey = s.Key.String()
	}
	return p
}

func printShow(w io.Writer, r *showResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	row("file", "%s", r.File)
	row("format", "%s", r.Format)
	row("jami_id", "%s", r.JamiID)
	if r.EthAddress != "" {
		row("eth_address", "%s", r.EthAddress)
	}
	cert := func(name string, ci *certInfo) {
		if ci != nil {
			row(name, "%s, serial %s, valid %s to %s", ci.Subject, ci.Serial, ci.NotBefore.Format(time.DateOnly), ci.NotAfter.Format(time.DateOnly))
		}
	}
	cert("account_cert", r.AccountCertificate)
	cert("ca_cert", r.CACertificate)
	row("ca_key", "%s", yes(r.HasCAKey))
	row("eth_key", "%s", yes(r.HasEthKey))
	row("revoked", "%d device certificate(s)%s", len(r.RevokedSerials), listSuffix(r.RevokedSerials))
	row("devices", "%d", len(r.Devices))
	for _, d := range r.Devices {
		revoked := ""
		if d.Revoked {
			revoked = ", revoked"
		}
		name := ""
		if d.Name != "" {
			name = " " + strconv.Quote(d.Name)
		}
		row("", "%s%s (short %s), %s%s", d.DeviceID, name, d.DeviceShortID, d.Source, revoked)
	}
	row("contacts", "%d", len(r.Contacts))
	for _, ct := range r.Contacts {
		extra := ""
		if ct.Confirmed {
			extra += ", confirmed"
		}
		if ct.ConversationID != "" {
			extra += ", conversation " + ct.ConversationID
		}
		row("", "%s %s since %s%s", ct.JamiID, ct.Status, unixDate(ct.Added), extra)
	}
	row("conversations", "%d", len(r.Conversations))
	for _, cv := range r.Conversations {
		row("", "%s created %s, %d member(s)", cv.ID, unixDate(cv.Created), len(cv.Members))
	}
	row("conversation_requests", "%d", len(r.ConversationRequests))
	for _, rq := range r.ConversationRequests {
		row("", "%s from %s, received %s", rq.ConversationID, rq.From, unixDate(rq.Received))
	}
	row("config", "%d setting(s)", len(r.Config))
	for _, k := range sortedKeys(r.Config) {
		row("", "%s = %s", k, r.Config[k])
	}
	for _, wn := range r.Warnings {
		row("warning", "%s", wn)
	}
	tw.Flush()
	if p := r.Private; p != nil {
		fmt.Fprintf(w, "\naccount key:\n%s", p.AccountKey)
		if p.CAKey != "" {
			fmt.Fprintf(w, "CA key:\n%s", p.CAKey)
		}
		if p.EthKey != "" {
			fmt.Fprintf(w, "eth key: %s\n", p.EthKey)
		}
		if p.DeviceKey != "" {
			fmt.Fprintf(w, "exported device key:\n%s", p.DeviceKey)
		}
		if p.ArchiveKey != "" {
			fmt.Fprintf(w, "archive key: %s\n", p.ArchiveKey)
		}
	}
}

func listSuffix(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return ": " + strings.Join(l, ", ")
}

func unixDate(sec int64) string {
	if sec == 0 {
		return "-"
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
