package account

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// config.yml as jamid 13.7.0 writes it with yaml-cpp (account.md §3.3): a
// top-level map of scalars under their short YAML names, the receipt as a
// double-quoted string, its signature as !!binary, and the tls: map naming
// the device key and certificate files.

// Keys of config.yml that this package manages itself.
const (
	keyReceipt    = "ringAccountReceipt"
	keyReceiptSig = "ringAccountReceiptSignature"
	keyTLS        = "tls"
	keyUsername   = "username"
	keyDeviceName = "Account.deviceName"
	keyArchivePW  = "Account.archiveHasPassword"
	keyArchive    = "Account.archivePath"
)

// configDoc is the content of config.yml that matters here.
type configDoc struct {
	Values     map[string]string // top-level scalars except the receipt pair
	Order      []string          // their order in the file
	TLS        map[string]string // the tls: map
	Receipt    string
	ReceiptSig []byte
}

// marshalConfig writes config.yml the way yaml-cpp does: "key: value" lines
// in the given order, plain scalars where YAML allows them, double quotes
// otherwise, then the receipt, its signature and the tls map.
func marshalConfig(d *configDoc) []byte {
	var b strings.Builder
	for _, k := range d.Order {
		fmt.Fprintf(&b, "%s: %s\n", k, yamlScalar(d.Values[k]))
	}
	fmt.Fprintf(&b, "%s: %s\n", keyReceipt, yamlQuote(d.Receipt))
	fmt.Fprintf(&b, "%s: !!binary %s\n", keyReceiptSig, yamlQuote(base64.StdEncoding.EncodeToString(d.ReceiptSig)))
	b.WriteString(keyTLS + ":\n")
	for _, k := range []string{"certificate", "privateKey"} {
		fmt.Fprintf(&b, "  %s: %s\n", k, yamlScalar(d.TLS[k]))
	}
	return []byte(b.String())
}

// unmarshalConfig reads config.yml. Unknown keys are kept as strings; nested
// maps and sequences other than tls (jamid writes none at the top level in
// 13.7.0) are skipped.
func unmarshalConfig(data []byte) (*configDoc, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("not YAML: %w", firstLineErr(err))
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML map")
	}
	m := root.Content[0]
	d := &configDoc{Values: map[string]string{}, TLS: map[string]string{}}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		switch {
		case k.Value == keyTLS && v.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(v.Content); j += 2 {
				if v.Content[j].Kind == yaml.ScalarNode && v.Content[j+1].Kind == yaml.ScalarNode {
					d.TLS[v.Content[j].Value] = v.Content[j+1].Value
				}
			}
		case v.Kind != yaml.ScalarNode:
			continue
		case k.Value == keyReceipt:
			d.Receipt = v.Value
		case k.Value == keyReceiptSig:
			// yaml-cpp writes !!binary; accept a plain base64 string too.
			sig, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v.Value), ""))
			if err != nil {
				return nil, fmt.Errorf("%s: not base64", keyReceiptSig)
			}
			d.ReceiptSig = sig
		default:
			if _, dup := d.Values[k.Value]; !dup {
				d.Order = append(d.Order, k.Value)
			}
			d.Values[k.Value] = v.Value
		}
	}
	return d, nil
}

func firstLineErr(err error) error {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(s)
}

// validConfigKey accepts the key names jamid uses (letters, digits, '.', '_',
// '-'), which are all plain YAML scalars.
func validConfigKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return k[0] != '-'
}

// yamlScalar returns s as a plain YAML scalar when that reads back as the
// same string, else double-quoted.
func yamlScalar(s string) string {
	if plainSafe(s) {
		return s
	}
	return yamlQuote(s)
}

func plainSafe(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`") {
		return false
	}
	switch s {
	case "~", "null", "Null", "NULL":
		return false // read back as a null node
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	for _, r := range s {
		if !yamlPrintable(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// yamlPrintable is YAML's printable set minus the characters YAML 1.1
// readers take as line breaks (NEL, LS, PS) and the byte order mark.
func yamlPrintable(r rune) bool {
	switch {
	case r >= 0x20 && r <= 0x7e:
		return true
	case r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff:
		return false
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// yamlQuote writes a YAML double-quoted scalar (the style yaml-cpp uses for
// the receipt): backslash escapes for quotes, backslashes and control bytes.
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			switch {
			case r < 0x100 && !yamlPrintable(r):
				fmt.Fprintf(&b, `\x%02x`, r)
			case r < 0x10000 && !yamlPrintable(r):
				fmt.Fprintf(&b, `\u%04x`, r)
			case !yamlPrintable(r):
				fmt.Fprintf(&b, `\U%08x`, r)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
