package archive

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/jamikit/jamikit/lib/identity"
)

// Top-level keys of the archive JSON (jamid src/jamidht/accountarchive.cpp).
const (
	keyAccountKey    = "ringAccountKey"
	keyAccountCert   = "ringAccountCert"
	keyCAKey         = "ringCaKey"
	keyEthKey        = "ethKey"
	keyCRL           = "ringAccountCRL"
	keyContacts      = "ringAccountContacts"
	keyConversations = "conversations"
	keyConvRequests  = "conversationsRequests"

	// 2023 exports copy the files these settings point to, base64'd.
	keyTLSCertFile = "TLS.certificateFile"
	keyTLSKeyFile  = "TLS.privateKeyFile"
	keyTLSCAList   = "TLS.certificateListFile"
)

// reserved names are never taken from, or written as, Config or Extra.
var reserved = map[string]bool{
	keyAccountKey: true, keyAccountCert: true, keyCAKey: true, keyEthKey: true, keyCRL: true,
	keyContacts: true, keyConversations: true, keyConvRequests: true,
	keyTLSCertFile: true, keyTLSKeyFile: true, keyTLSCAList: true,
}

// Unmarshal parses the JSON document of an archive (already decrypted and
// decompressed). Like jamid it fails on invalid JSON, duplicate keys and a
// missing or unreadable account key, and skips (with a Warning) optional
// entries it cannot read.
func Unmarshal(doc []byte) (*Archive, error) {
	root, err := parseJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if root.kind != jsonObject {
		return nil, fmt.Errorf("%w: the JSON document is a%s %s, not an object", ErrNotArchive, article(root.kind), root.kind)
	}
	a := &Archive{Format: FormatJSON}
	warn := func(key string, err error) {
		a.Warnings = append(a.Warnings, fmt.Sprintf("%s: %v (skipped)", key, err))
	}
	for _, m := range root.obj {
		v := m.val
		switch m.key {
		case keyAccountKey:
			b, err := b64Value(v)
			if err == nil {
				a.AccountKey, err = identity.ParsePrivateKey(b)
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, m.key, err)
			}
		case keyAccountCert:
			b, err := b64Value(v)
			if err == nil {
				a.AccountChain, err = identity.ParseCertificates(b)
			}
			if err != nil {
				// jamid 13.7 logs this and then dereferences a null
				// certificate: an import crashes the daemon (account.md §2.7).
				return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, m.key, err)
			}
		case keyCAKey:
			b, err := b64Value(v)
			if err == nil {
				a.CAKey, err = identity.ParsePrivateKey(b)
			}
			if err != nil {
				warn(m.key, err)
			}
		case keyEthKey:
			b, err := b64Value(v)
			if err != nil {
				warn(m.key, err)
				continue
			}
			a.EthKey = b
		case keyCRL:
			b, err := b64Value(v)
			if err == nil {
				b, err = parseCRL(b)
			}
			if err != nil {
				warn(m.key, err)
				continue
			}
			a.CRL = b
		case keyContacts:
			a.Contacts = unmarshalContacts(v, warn)
		case keyConversations, keyConvRequests:
			if v.kind != jsonObject {
				warn(m.key, fmt.Errorf("%s, not an object", v.kind))
				continue
			}
			out := make(map[string]json.RawMessage, len(v.obj))
			for _, c := range v.obj {
				out[c.key] = appendJSON(nil, c.val)
			}
			if m.key == keyConversations {
				a.Conversations = out
			} else {
				a.ConversationRequests = out
			}
		case keyTLSCertFile:
			// Readers ignore these; keep what parses, for information.
			if b, err := b64Value(v); err == nil {
				a.DeviceChain, _ = identity.ParseCertificates(b)
			}
		case keyTLSKeyFile:
			if b, err := b64Value(v); err == nil {
				a.DeviceKey, _ = identity.ParsePrivateKey(b)
			}
		case keyTLSCAList:
		default:
			if v.kind == jsonObject || v.kind == jsonArray {
				if a.Extra == nil {
					a.Extra = map[string]json.RawMessage{}
				}
				a.Extra[m.key] = appendJSON(nil, v)
				continue
			}
			s, _ := v.asString() // scalars always convert
			if a.Config == nil {
				a.Config = map[string]string{}
			}
			a.Config[m.key] = s
		}
	}
	if a.AccountKey == nil {
		return nil, fmt.Errorf("%w: no account private key (%s)", ErrNotArchive, keyAccountKey)
	}
	if len(a.AccountChain) == 0 {
		return nil, fmt.Errorf("%w: no account certificate (%s)", ErrCorrupt, keyAccountCert)
	}
	return a, nil
}

func article(k jsonKind) string {
	if k == jsonArray || k == jsonObject {
		return "n"
	}
	return ""
}

// b64Value decodes a base64 string value (jamid writes standard base64 with
// padding; unpadded input is accepted too).
func b64Value(v *jsonValue) ([]byte, error) {
	if v.kind != jsonString {
		return nil, fmt.Errorf("%s, not a base64 string", v.kind)
	}
	b, err := base64.StdEncoding.DecodeString(v.s)
	if err != nil {
		if b2, err2 := base64.RawStdEncoding.DecodeString(v.s); err2 == nil {
			return b2, nil
		}
		return nil, errors.New("invalid base64")
	}
	return b, nil
}

// parseCRL accepts a CRL in PEM or DER and returns the DER.
func parseCRL(b []byte) ([]byte, error) {
	crl, err := identity.ParseCRL(b)
	if err != nil {
		return nil, err
	}
	return crl.Raw, nil
}

func unmarshalContacts(v *jsonValue, warn func(string, error)) map[string]Contact {
	if v.kind != jsonObject {
		warn(keyContacts, fmt.Errorf("%s, not an object", v.kind))
		return nil
	}
	out := make(map[string]Contact, len(v.obj))
	for _, m := range v.obj {
		where := keyContacts + "." + m.key
		// jamid drops entries whose key is not a valid non-zero hash.
		id, err := identity.ParseShortID(m.key)
		if err != nil || id.IsZero() {
			warn(where, errors.New("not a Jami ID"))
			continue
		}
		c, err := unmarshalContact(m.val)
		if err != nil {
			warn(where, err)
			continue
		}
		out[id.String()] = c
	}
	return out
}

func unmarshalContact(v *jsonValue) (Contact, error) {
	var c Contact
	if v.kind != jsonObject {
		return c, fmt.Errorf("%s, not an object", v.kind)
	}
	for _, m := range v.obj {
		var err error
		switch m.key {
		case "added":
			c.Added, err = m.val.asInt()
		case "removed":
			c.Removed, err = m.val.asInt()
		case "addedMs":
			c.AddedMs, err = m.val.asInt()
		case "removedMs":
			c.RemovedMs, err = m.val.asInt()
		case "confirmed":
			c.Confirmed, err = m.val.asBool()
		case "banned":
			c.Banned, err = m.val.asBool()
		case "conversationId":
			c.ConversationID, err = m.val.asString()
		default:
			if c.Extra == nil {
				c.Extra = map[string]json.RawMessage{}
			}
			c.Extra[m.key] = appendJSON(nil, m.val)
		}
		if err != nil {
			return c, fmt.Errorf("%s: %v", m.key, err)
		}
	}
	return c, nil
}

// Marshal returns the JSON document as jamid writes it: compact, keys in
// byte-wise order, keys and certificates as base64 of PEM, the certificate
// chain account first, string config values, no TLS.*File copies.
func Marshal(a *Archive) ([]byte, error) {
	if a.AccountKey == nil {
		return nil, errors.New("archive has no account key")
	}
	if len(a.AccountChain) == 0 {
		return nil, errors.New("archive has no account certificate")
	}
	root := &jsonValue{kind: jsonObject}
	add := func(k string, v *jsonValue) { root.obj = append(root.obj, jsonMember{k, v}) }
	b64 := func(b []byte) *jsonValue { return jsonStr(base64.StdEncoding.EncodeToString(b)) }

	add(keyAccountKey, b64(identity.EncodeKeyPEM(a.AccountKey)))
	add(keyAccountCert, b64(identity.EncodeCertsPEM(a.AccountChain...)))
	if a.CAKey != nil {
		add(keyCAKey, b64(identity.EncodeKeyPEM(a.CAKey)))
	}
	if a.EthKey != nil {
		add(keyEthKey, b64(a.EthKey))
	}
	if a.CRL != nil {
		add(keyCRL, b64(a.CRL))
	}
	if len(a.Contacts) > 0 {
		obj := &jsonValue{kind: jsonObject}
		for _, id := range sortedKeys(a.Contacts) {
			cv, err := marshalContact(a.Contacts[id])
			if err != nil {
				return nil, fmt.Errorf("contact %s: %w", id, err)
			}
			obj.obj = append(obj.obj, jsonMember{id, cv})
		}
		add(keyContacts, obj)
	}
	for _, sec := range []struct {
		key string
		m   map[string]json.RawMessage
	}{{keyConversations, a.Conversations}, {keyConvRequests, a.ConversationRequests}} {
		if len(sec.m) == 0 {
			continue
		}
		obj := &jsonValue{kind: jsonObject}
		for _, id := range sortedKeys(sec.m) {
			v, err := parseJSON(sec.m[id])
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", sec.key, id, err)
			}
			obj.obj = append(obj.obj, jsonMember{id, v})
		}
		add(sec.key, obj)
	}
	for _, k := range sortedKeys(a.Config) {
		if !reserved[k] {
			add(k, jsonStr(a.Config[k]))
		}
	}
	for _, k := range sortedKeys(a.Extra) {
		if _, inConfig := a.Config[k]; reserved[k] || inConfig {
			continue
		}
		v, err := parseJSON(a.Extra[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		add(k, v)
	}
	return appendJSON(nil, root), nil
}

// marshalContact writes the 2023 fields (removed, confirmed and banned only
// when set), the HEAD millisecond fields when known, and unknown fields.
func marshalContact(c Contact) (*jsonValue, error) {
	v := &jsonValue{kind: jsonObject}
	add := func(k string, x *jsonValue) { v.obj = append(v.obj, jsonMember{k, x}) }
	add("added", jsonInt(c.Added))
	if c.Removed != 0 {
		add("removed", jsonInt(c.Removed))
	}
	if c.AddedMs != 0 {
		add("addedMs", jsonInt(c.AddedMs))
	}
	if c.RemovedMs != 0 {
		add("removedMs", jsonInt(c.RemovedMs))
	}
	if c.Confirmed {
		add("confirmed", jsonBoolean(true))
	}
	if c.Banned {
		add("banned", jsonBoolean(true))
	}
	add("conversationId", jsonStr(c.ConversationID))
	known := map[string]bool{"added": true, "removed": true, "addedMs": true, "removedMs": true, "confirmed": true, "banned": true, "conversationId": true}
	for _, k := range sortedKeys(c.Extra) {
		if known[k] {
			continue
		}
		x, err := parseJSON(c.Extra[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		add(k, x)
	}
	return v, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
