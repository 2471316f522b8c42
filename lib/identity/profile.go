package identity

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Role is the place of a certificate in a Jami identity.
type Role int

const (
	RoleUnknown Role = iota
	RoleCA           // self-signed "Jami CA"
	RoleAccount      // "Jami", a CA signed by the Jami CA; its key is the Jami ID
	RoleDevice       // "Jami device", signed by the account, no extensions
)

func (r Role) String() string {
	switch r {
	case RoleCA:
		return "ca"
	case RoleAccount:
		return "account"
	case RoleDevice:
		return "device"
	}
	return "unknown"
}

// RoleOf guesses a certificate's role from its structure (not its common
// name): a self-issued CA is the Jami CA, another CA an account, a
// certificate that is not a CA a device.
func RoleOf(c *x509.Certificate) Role {
	switch {
	case IsCA(c) && IsSelfIssued(c):
		return RoleCA
	case IsCA(c):
		return RoleAccount
	case !IsSelfIssued(c):
		return RoleDevice
	}
	return RoleUnknown
}

// NameAttr is one attribute of a distinguished name as encoded, with its
// ASN.1 string tag (19 PrintableString, 12 UTF8String, ...).
type NameAttr struct {
	Type  asn1.ObjectIdentifier
	Tag   int
	Value string
}

// RDN is one relative distinguished name (a SET of attributes).
type RDN []NameAttr

// ParseName decodes a DER Name keeping the RDN structure and string tags,
// which crypto/x509 flattens away.
func ParseName(der []byte) ([]RDN, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("malformed name")
	}
	var rdns []RDN
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) {
			return nil, errors.New("malformed RDN")
		}
		var rdn RDN
		for !set.Empty() {
			var atv cryptobyte.String
			var oid asn1.ObjectIdentifier
			var val cryptobyte.String
			var tag cbasn1.Tag
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&oid) ||
				!atv.ReadAnyASN1(&val, &tag) || !atv.Empty() {
				return nil, errors.New("malformed name attribute")
			}
			rdn = append(rdn, NameAttr{Type: oid, Tag: int(tag), Value: string(val)})
		}
		rdns = append(rdns, rdn)
	}
	return rdns, nil
}

// NameUID returns the UID attribute of a DER name ("" when absent). In a
// Jami certificate the subject UID is the key's short id, and a device
// certificate's issuer UID is the Jami ID.
func NameUID(der []byte) string {
	rdns, err := ParseName(der)
	if err != nil {
		return ""
	}
	for _, rdn := range rdns {
		for _, a := range rdn {
			if a.Type.Equal(oidUserID) {
				return a.Value
			}
		}
	}
	return ""
}

// SerialString prints a serial number as signed hex, as openssl does
// (2023 certificates often have negative serials).
func SerialString(n *big.Int) string {
	if n.Sign() < 0 {
		return "-" + new(big.Int).Neg(n).Text(16)
	}
	return n.Text(16)
}

// ProfileIssues lists how c departs from the certificate jamid 13.7.0 would
// write for role (account.md §1.2). Empty means the same profile, byte layout
// included, apart from the random and key-dependent values.
func ProfileIssues(c *x509.Certificate, role Role) []string {
	var issues []string
	add := func(f string, a ...any) { issues = append(issues, fmt.Sprintf(f, a...)) }

	if c.Version != 3 {
		add("version %d, want 3", c.Version)
	}
	if c.SignatureAlgorithm != x509.SHA384WithRSA {
		add("signature algorithm %v, want SHA384-RSA", c.SignatureAlgorithm)
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		add("%v key, want RSA", c.PublicKeyAlgorithm)
	} else if pub.N.BitLen() != KeyBits || pub.E != 65537 {
		add("RSA key of %d bits, e=%d; want %d bits, e=65537", pub.N.BitLen(), pub.E, KeyBits)
	}
	if n := serialLen(c); n < 1 || n > 8 {
		add("serial of %d bytes, want at most 8", n)
	}
	if d := c.NotAfter.Sub(c.NotBefore); d != Validity {
		add("validity of %v, want %v", d, Validity)
	}
	var cn string
	switch role {
	case RoleCA:
		cn = CNCA
	case RoleAccount:
		cn = CNAccount
	case RoleDevice:
		cn = CNDevice
	default:
		add("unknown role")
	}
	want, _ := jamiSubject(cn, CertShortID(c))
	if !bytes.Equal(c.RawSubject, want) {
		add("subject %q is not CN=%q then UID=<short id>, both PrintableString", c.Subject, cn)
	}
	switch role {
	case RoleCA, RoleAccount:
		if role == RoleCA && !IsSelfIssued(c) {
			add("CA certificate is not self-signed")
		}
		sid := CertShortID(c)
		ski, _ := asn1.Marshal(sid[:])
		wantExt := []struct {
			oid      asn1.ObjectIdentifier
			critical bool
			value    []byte
			name     string
		}{
			{oidSubjectKeyID, false, ski, "subjectKeyIdentifier = short id"},
			{oidBasicConstraints, true, basicConstraintsCA, "critical basicConstraints CA:TRUE"},
			{oidKeyUsage, true, keyUsageCA, "critical keyUsage keyCertSign+cRLSign"},
		}
		if len(c.Extensions) != len(wantExt) {
			add("%d extensions, want 3 (SKI, basicConstraints, keyUsage)", len(c.Extensions))
		}
		for i, w := range wantExt {
			if i >= len(c.Extensions) {
				break
			}
			e := c.Extensions[i]
			if !e.Id.Equal(w.oid) || e.Critical != w.critical || !bytes.Equal(e.Value, w.value) {
				add("extension %d is %v (critical %v), want %s", i+1, e.Id, e.Critical, w.name)
			}
		}
	case RoleDevice:
		if len(c.Extensions) != 0 {
			var ids []string
			for _, e := range c.Extensions {
				ids = append(ids, e.Id.String())
			}
			add("extensions %s, want none", strings.Join(ids, ", "))
		}
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(oidAuthorityKeyID) {
			add("has an authority key identifier (GnuTLS writes none)")
		}
	}
	return issues
}

// serialLen is the number of content bytes of the DER serial number.
func serialLen(c *x509.Certificate) int {
	tbs := cryptobyte.String(c.RawTBSCertificate)
	var inner, serial cryptobyte.String
	if !tbs.ReadASN1(&inner, cbasn1.SEQUENCE) ||
		!inner.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!inner.ReadASN1(&serial, cbasn1.INTEGER) {
		return 0
	}
	return len(serial)
}
