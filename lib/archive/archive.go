// Package archive reads and writes Jami account archives (archive.gz and the
// files exported by jamid), byte-compatible with jamid 13.7.0 / OpenDHT 2.4.12
// (spec/account.md §2):
//
//	JSON document (compact, sorted keys, keys and certificates as base64 of PEM)
//	  ├─ with a password:  salt(16) || AES-256-GCM(SHA-256(Argon2i(pw, salt)), zlib(JSON))
//	  └─ without:          gzip(JSON)
//
// The reader accepts every form jamid accepts: those two, a plain JSON file,
// any of them wrapped in one more gzip layer, zlib or gzip inside the
// encryption, PEM or DER inside the base64, and the legacy GCM tag of old
// OpenDHT versions. It is as strict as jamid where jamid is strict (duplicate
// JSON keys, a missing account key).
package archive

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/identity"
)

// Errors. Callers test them with errors.Is; messages are wrapped with details
// and, by ReadFile, with the file name ("archive.gz: wrong password").
var (
	// ErrWrongPassword: the AES-GCM tag did not verify. A tampered or
	// truncated encrypted archive gives the same error: GCM cannot tell.
	ErrWrongPassword = errors.New("wrong password")
	// ErrWrongKey is ErrWrongPassword for DecodeWithKey.
	ErrWrongKey = fmt.Errorf("wrong archive key: %w", ErrWrongPassword)
	// ErrPasswordRequired: the archive is encrypted and no password was given.
	ErrPasswordRequired = errors.New("archive is encrypted: a password is needed")
	// ErrNotEncrypted: a password was given for an unencrypted archive (jamid
	// refuses this too, feeding the JSON to AES).
	ErrNotEncrypted = errors.New("archive is not encrypted, but a password was given")
	// ErrNotArchive: the data is not an account archive at all.
	ErrNotArchive = errors.New("not an account archive")
	// ErrCorrupt: the data looks like an archive but is damaged (bad gzip,
	// zlib or JSON, truncated).
	ErrCorrupt = errors.New("corrupt archive")
)

// ConfigHasPassword is the account setting that tells jamid whether the
// archive is encrypted.
const ConfigHasPassword = "Account.archiveHasPassword"

// Format is how an archive is stored.
type Format int

const (
	FormatEncrypted Format = iota // salt || AES-GCM(zlib(JSON)): jamid's archive with a password
	FormatGzip                    // gzip(JSON): jamid's archive without a password
	FormatJSON                    // the bare JSON document (accepted by jamid without a password)
)

var formatNames = [...]string{"encrypted", "gzip", "json"}

func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat reads "encrypted", "gzip" or "json".
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if s == n {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("unknown archive format %q (encrypted, gzip or json)", s)
}

// Archive is the content of an account archive.
type Archive struct {
	AccountKey   *rsa.PrivateKey     // ringAccountKey (required)
	AccountChain []*x509.Certificate // ringAccountCert: account certificate first, then the CA
	CAKey        *rsa.PrivateKey     // ringCaKey, may be nil
	EthKey       []byte              // ethKey: 32-byte secp256k1 secret, may be nil
	CRL          []byte              // ringAccountCRL: DER X.509 CRL, may be nil

	// Config holds the account settings under their D-Bus names
	// ("Account.alias", "TURN.enable", ...). jamid reads every scalar as a
	// string; so does this package, and it writes strings only.
	Config map[string]string

	Contacts             map[string]Contact         // ringAccountContacts, key = 40-hex Jami ID
	Conversations        map[string]json.RawMessage // conversations: id -> ConvInfo, kept verbatim
	ConversationRequests map[string]json.RawMessage // conversationsRequests: id -> request, kept verbatim

	// Extra keeps top-level entries whose value is an object or an array
	// under a name this package does not know (jamid skips those); they are
	// written back unchanged.
	Extra map[string]json.RawMessage

	// A 2023 export also carries the exporting device's certificate chain
	// and private key (config keys TLS.certificateFile, TLS.privateKeyFile).
	// They are read for information and never written (HEAD drops them too).
	DeviceChain []*x509.Certificate
	DeviceKey   *rsa.PrivateKey

	// Set by the decoders: how the archive was stored.
	Format      Format
	Salt        []byte // encrypted archives: the salt (EncodeWithKey can reuse it, as HEAD does)
	GzipWrapped bool   // there was one more gzip layer around the archive
	LegacyTag   bool   // the GCM tag was in the pre-2.x OpenDHT form

	// Warnings lists entries that are present but unusable; jamid logs and
	// skips them ("Can't parse JSON entry"), and so does this package.
	Warnings []string
}

// Contact is one entry of ringAccountContacts (jami_contact.h).
type Contact struct {
	Added          int64  // Unix seconds
	Removed        int64  // Unix seconds, 0 = never
	AddedMs        int64  // HEAD: milliseconds, 0 = absent
	RemovedMs      int64  // HEAD: milliseconds, 0 = absent
	Confirmed      bool   // the peer accepted
	Banned         bool   // blocked (meaningful when removed)
	ConversationID string // "" when none
	// Extra keeps fields this package does not know, verbatim.
	Extra map[string]json.RawMessage
}

// Active reports whether the contact is current (added after any removal),
// preferring the millisecond fields as HEAD does.
func (c Contact) Active() bool {
	if c.AddedMs != 0 || c.RemovedMs != 0 {
		return c.AddedMs > c.RemovedMs
	}
	return c.Added > c.Removed
}

// JamiID is the short id (SHA-1 of the SPKI) of the account key, or of the
// account certificate when the key is missing.
func (a *Archive) JamiID() identity.ShortID {
	if a.AccountKey != nil {
		if id, err := identity.ShortIDOf(&a.AccountKey.PublicKey); err == nil {
			return id
		}
	}
	if len(a.AccountChain) > 0 {
		return identity.CertShortID(a.AccountChain[0])
	}
	return identity.ShortID{}
}

// AccountCert is the first certificate of the chain, or nil.
func (a *Archive) AccountCert() *x509.Certificate {
	if len(a.AccountChain) == 0 {
		return nil
	}
	return a.AccountChain[0]
}

// CACert is the second certificate of the chain, or nil.
func (a *Archive) CACert() *x509.Certificate {
	if len(a.AccountChain) < 2 {
		return nil
	}
	return a.AccountChain[1]
}

// Decode reads an archive. pw == nil means no password: the data must be
// gzip or plain JSON. With a password the data must be encrypted.
func Decode(data []byte, pw *string) (*Archive, error) {
	payload, wrapped, err := unwrap(data)
	if err != nil {
		return nil, err
	}
	if pw == nil {
		return decodePlain(payload, wrapped)
	}
	if err := checkEncrypted(payload); err != nil {
		return nil, err
	}
	key := DeriveKey(*pw, payload[:SaltSize])
	return decodeEncrypted(payload, wrapped, key, ErrWrongPassword)
}

// DecodeWithKey reads an encrypted archive with an already derived key
// (DeriveKey, or HEAD's "key" scheme): no Argon2 cost.
func DecodeWithKey(data []byte, key Key) (*Archive, error) {
	payload, wrapped, err := unwrap(data)
	if err != nil {
		return nil, err
	}
	if err := checkEncrypted(payload); err != nil {
		return nil, err
	}
	return decodeEncrypted(payload, wrapped, key, ErrWrongKey)
}

// SaltOf returns the salt of an encrypted archive, to derive its key once.
func SaltOf(data []byte) ([]byte, error) {
	payload, _, err := unwrap(data)
	if err != nil {
		return nil, err
	}
	if err := checkEncrypted(payload); err != nil {
		return nil, err
	}
	return append([]byte(nil), payload[:SaltSize]...), nil
}

// IsEncrypted reports whether data is an encrypted archive (salt ||
// AES-GCM), possibly inside one gzip layer, rather than gzip or JSON.
func IsEncrypted(data []byte) bool {
	payload, _, err := unwrap(data)
	return err == nil && classify(payload) == kindBinary && len(payload) >= minEncrypted
}

// Encode writes an archive as jamid 13.7 does: with a password, fresh salt,
// Argon2i, zlib and AES-GCM; without (pw == nil), gzip.
func Encode(a *Archive, pw *string) ([]byte, error) {
	if pw == nil {
		return EncodeFormat(a, FormatGzip, Key{}, nil)
	}
	salt := NewSalt()
	return EncodeWithKey(a, salt, DeriveKey(*pw, salt))
}

// EncodeWithKey encrypts with a derived key and the salt it was derived
// with (the salt is stored in clear at the start of the file).
func EncodeWithKey(a *Archive, salt []byte, key Key) ([]byte, error) {
	return EncodeFormat(a, FormatEncrypted, key, salt)
}

// EncodeFormat writes the archive in the given format; key and salt are used
// only for FormatEncrypted. A setting Account.archiveHasPassword in the
// archive (2023 exports carry it, HEAD always writes it) is written to match
// the format: jamid applies it on import, and a stale "true" on an
// unencrypted archive would make the account ask for a password it has not.
func EncodeFormat(a *Archive, f Format, key Key, salt []byte) ([]byte, error) {
	if v, ok := a.Config[ConfigHasPassword]; ok {
		if want := strconv.FormatBool(f == FormatEncrypted); v != want {
			cp := *a
			cp.Config = make(map[string]string, len(a.Config))
			for k, v := range a.Config {
				cp.Config[k] = v
			}
			cp.Config[ConfigHasPassword] = want
			a = &cp
		}
	}
	doc, err := Marshal(a)
	if err != nil {
		return nil, err
	}
	switch f {
	case FormatEncrypted:
		return seal(key, salt, zlibBytes(doc))
	case FormatGzip:
		return gzipBytes(doc), nil
	case FormatJSON:
		return doc, nil
	}
	return nil, fmt.Errorf("unknown archive format %d", int(f))
}

// ReadFile reads and decodes an archive file; errors start with the path.
func ReadFile(path string, pw *string) (*Archive, error) {
	data, err := ReadBytes(path)
	if err != nil {
		return nil, err
	}
	a, err := Decode(data, pw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// ReadBytes reads a file that should hold an archive, refusing anything
// larger than MaxSize (a device or a wrong file, not an archive).
func ReadBytes(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, path)
}

// ReadAll reads what should be an archive from r (e.g. stdin), refusing
// more than MaxSize bytes; errors start with name.
func ReadAll(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: %w: larger than %d MiB", name, ErrNotArchive, MaxSize>>20)
	}
	return data, nil
}

// WriteFile encodes and writes an archive atomically; the file is 0600
// unless opt.Perm says otherwise. An existing file is kept unless opt.Force.
func WriteFile(path string, a *Archive, pw *string, opt atomicfile.Options) error {
	data, err := Encode(a, pw)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if opt.Perm == 0 {
		opt.Perm = 0o600
	}
	return atomicfile.WriteFile(path, data, opt)
}

// unwrap removes the optional outer gzip layer: jamid gunzips any file that
// starts with the gzip magic before looking further (account.md §2.3).
func unwrap(data []byte) (payload []byte, wrapped bool, err error) {
	if !isGzip(data) {
		return data, false, nil
	}
	out, err := gunzip(data)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return out, true, nil
}

type payloadKind int

const (
	kindGzip   payloadKind = iota // a (second) gzip layer: unencrypted
	kindJSON                      // text starting like a JSON document
	kindText                      // other text: not an archive
	kindBinary                    // anything else: maybe salt || ciphertext
)

// classify guesses what a payload is without a password. Encrypted data is
// uniformly random, so in anything longer than a few dozen bytes it contains
// control characters, which JSON and text files never do (jsoncpp accepts
// invalid UTF-8 in strings, so this does not test UTF-8 validity).
func classify(p []byte) payloadKind {
	if isGzip(p) {
		return kindGzip
	}
	for _, c := range p {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return kindBinary
		}
	}
	t := bytes.TrimLeft(p, " \t\r\n")
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return kindJSON
	}
	return kindText
}

// checkEncrypted refuses, before any key derivation, what cannot be an
// encrypted archive.
func checkEncrypted(payload []byte) error {
	switch classify(payload) {
	case kindGzip, kindJSON:
		return ErrNotEncrypted
	case kindText:
		return fmt.Errorf("%w: a text file", ErrNotArchive)
	}
	if len(payload) < minEncrypted {
		return fmt.Errorf("%w: %d bytes is too short for an encrypted archive", ErrCorrupt, len(payload))
	}
	return nil
}

func decodePlain(payload []byte, wrapped bool) (*Archive, error) {
	f := FormatJSON
	switch classify(payload) {
	case kindGzip:
		out, err := gunzip(payload)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		payload, f = out, FormatGzip
		if classify(payload) != kindJSON {
			return nil, fmt.Errorf("%w: the gzip data is not a JSON document", ErrNotArchive)
		}
	case kindJSON:
		if wrapped {
			f = FormatGzip
			wrapped = false
		}
	case kindText:
		return nil, fmt.Errorf("%w: not JSON, gzip or encrypted data", ErrNotArchive)
	default:
		if len(payload) < minEncrypted {
			return nil, fmt.Errorf("%w: unknown binary data", ErrNotArchive)
		}
		return nil, ErrPasswordRequired
	}
	a, err := Unmarshal(payload)
	if err != nil {
		return nil, err
	}
	a.Format, a.GzipWrapped = f, wrapped
	return a, nil
}

func decodeEncrypted(payload []byte, wrapped bool, key Key, wrongKey error) (*Archive, error) {
	plain, legacy, ok := open(key, payload)
	if !ok {
		return nil, wrongKey
	}
	doc, err := inflate(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: decrypted data: %v", ErrCorrupt, err)
	}
	a, err := Unmarshal(doc)
	if err != nil {
		return nil, err
	}
	a.Format, a.GzipWrapped, a.LegacyTag = FormatEncrypted, wrapped, legacy
	a.Salt = append([]byte(nil), payload[:SaltSize]...)
	return a, nil
}
