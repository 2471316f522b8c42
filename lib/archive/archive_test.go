package archive

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/identity"
)

// Vectors from spec/account-testvectors.json (archives made by jamid 13.7.0).
const (
	encFixture   = "testdata/archive-password-secret123.gz"
	plainFixture = "testdata/archive-nopassword.gz"

	encPassword  = "secret123"
	encJamiID    = "d9b52ffb583b1ea8bed701d03c4aef1a936c5554"
	plainJamiID  = "09f60d0223d13991c8329e4b6cde0eadd69553ab"
	vecSalt      = "dee334a6ef204c0b9b0577c68e52c6c1"
	vecNonce     = "483b70d73e81cb78a102604b"
	vecArgonRaw  = "932996ced1b6be6618cac4d13f4185822bc9a42644db35683c53c9f22fe2c7de"
	vecKey       = "d8f39c595b54503210951740f4cc0e01526bf514cc36b803fee950d64337a947"
	vecKeyB64    = "2POcWVtUUDIQlRdA9MwOAVJr9RTMNrgD/ulQ1kM3qUc="
	vecJSONLen   = 27246
	vecJSONSHA   = "dd158cc3f195835182329f9903c9951c550eef05d70f287327b41ee0b5c201cb"
	vecCAID      = "03c4642e5cf2fa652ef70169b2decc9001cc89d9"
	vecEthKey    = "c56135b9f8d4e6153fcdb34fd1b84ef73c80dc9add3b6c82fc98577cf0e4763f"
	vecSerial    = "adfdf762c16d694d"
	vecDevLongID = "687d6bb3791c81226ccee62edf93bb4a413a0e478a2f1160be59854854ba9339"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureKey is the vector's AES key: decrypting the fixture with it costs no Argon2.
func fixtureKey(t testing.TB) Key {
	k, err := ParseKey(vecKeyB64)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func plainArchive(t testing.TB) *Archive {
	t.Helper()
	a, err := Decode(readFixture(t, plainFixture), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func str(s string) *string { return &s }

func TestKDFVector(t *testing.T) {
	salt := unhex(t, vecSalt)
	raw := argon2Raw(encPassword, salt)
	if got := hex.EncodeToString(raw); got != vecArgonRaw {
		t.Fatalf("argon2i raw = %s, want %s", got, vecArgonRaw)
	}
	// DeriveKey is SHA-256 of that (its full path runs in TestDecodePassword).
	k := Key(sha256.Sum256(raw))
	if got := hex.EncodeToString(k[:]); got != vecKey {
		t.Fatalf("key = %s, want %s", got, vecKey)
	}
	if k.String() != vecKeyB64 {
		t.Fatalf("key base64 = %s, want %s", k, vecKeyB64)
	}
	if k2, err := ParseKey(vecKey); err != nil || k2 != k {
		t.Fatalf("ParseKey(hex) = %x, %v", k2, err)
	}
	if _, err := ParseKey("c2hvcnQ="); err == nil {
		t.Fatal("ParseKey accepted a short key")
	}
}

// TestDecodePassword runs the whole password path once (one Argon2 derivation).
func TestDecodePassword(t *testing.T) {
	a, err := ReadFile(encFixture, str(encPassword))
	if err != nil {
		t.Fatal(err)
	}
	if a.JamiID().String() != encJamiID {
		t.Fatalf("Jami ID %s, want %s", a.JamiID(), encJamiID)
	}
}

func TestEncryptedFixture(t *testing.T) {
	data := readFixture(t, encFixture)
	if !IsEncrypted(data) {
		t.Fatal("IsEncrypted = false")
	}
	salt, err := SaltOf(data)
	if err != nil || hex.EncodeToString(salt) != vecSalt {
		t.Fatalf("SaltOf = %x, %v", salt, err)
	}
	if got := hex.EncodeToString(data[SaltSize : SaltSize+NonceSize]); got != vecNonce {
		t.Fatalf("nonce %s, want %s", got, vecNonce)
	}
	// The layers, checked against the vector: zlib inside, the JSON's length and hash.
	plain, legacy, ok := open(fixtureKey(t), data)
	if !ok || legacy {
		t.Fatalf("open: ok=%v legacy=%v", ok, legacy)
	}
	if !bytes.HasPrefix(plain, []byte{0x78, 0x9c}) {
		t.Fatalf("plaintext starts %x, want 789c", plain[:2])
	}
	doc, err := inflate(plain)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(doc); len(doc) != vecJSONLen || hex.EncodeToString(sum[:]) != vecJSONSHA {
		t.Fatalf("JSON: %d bytes sha256 %x", len(doc), sum)
	}

	a, err := DecodeWithKey(data, fixtureKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.Format != FormatEncrypted || a.GzipWrapped || a.LegacyTag || !bytes.Equal(a.Salt, salt) {
		t.Fatalf("format %v wrapped %v legacy %v salt %x", a.Format, a.GzipWrapped, a.LegacyTag, a.Salt)
	}
	if a.JamiID().String() != encJamiID {
		t.Fatalf("Jami ID %s", a.JamiID())
	}
	if len(a.AccountChain) != 2 || identity.CertShortID(a.AccountChain[1]).String() != vecCAID {
		t.Fatalf("chain: %d certificates", len(a.AccountChain))
	}
	// The account certificate has the negative serial of the 2023 quirk.
	if a.AccountChain[0].SerialNumber.Sign() >= 0 {
		t.Fatalf("serial %v, want negative", a.AccountChain[0].SerialNumber)
	}
	if !strings.Contains(hex.EncodeToString(a.AccountChain[0].Raw), "0208"+vecSerial) {
		t.Fatal("serial bytes not found in the certificate")
	}
	if hex.EncodeToString(a.EthKey) != vecEthKey || a.CAKey == nil {
		t.Fatalf("ethKey %x, CA key %v", a.EthKey, a.CAKey != nil)
	}
	if a.Config["Account.alias"] != "alice" || a.Config["Account.displayName"] != "Alice" {
		t.Fatalf("config: %v", a.Config)
	}
	for _, k := range []string{keyTLSCertFile, keyTLSKeyFile, keyAccountKey} {
		if _, ok := a.Config[k]; ok {
			t.Fatalf("config holds %s", k)
		}
	}
	if len(a.DeviceChain) != 3 || identity.CertLongID(a.DeviceChain[0]).String() != vecDevLongID || a.DeviceKey == nil {
		t.Fatalf("exported device: %d certificates, key %v", len(a.DeviceChain), a.DeviceKey != nil)
	}
	if ps := a.Problems(time.Now()); len(ps) > 0 {
		t.Fatalf("problems: %q", ps)
	}

	// Re-encoding gives the daemon's document minus the TLS.*File copies.
	root, err := parseJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	var kept []jsonMember
	for _, m := range root.obj {
		if !strings.HasPrefix(m.key, "TLS.") || m.key == "TLS.password" {
			kept = append(kept, m)
		}
	}
	root.obj = kept
	m, err := Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if want := appendJSON(nil, root); !bytes.Equal(m, want) {
		t.Fatalf("Marshal differs from the daemon's document (%d vs %d bytes)", len(m), len(want))
	}
}

func TestPlainFixture(t *testing.T) {
	data := readFixture(t, plainFixture)
	if IsEncrypted(data) {
		t.Fatal("IsEncrypted = true")
	}
	a, err := Decode(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.JamiID().String() != plainJamiID || a.Format != FormatGzip || a.GzipWrapped {
		t.Fatalf("Jami ID %s format %v wrapped %v", a.JamiID(), a.Format, a.GzipWrapped)
	}
	if a.CAKey == nil || len(a.EthKey) != 32 || len(a.Config) != 0 || a.Contacts != nil {
		t.Fatalf("unexpected content: %+v", a)
	}
	if ps := a.Problems(time.Now()); len(ps) > 0 {
		t.Fatalf("problems: %q", ps)
	}
	// Byte-exact: Marshal reproduces the daemon's JSON, gzip its header.
	doc, _ := gunzip(data)
	m, err := Marshal(a)
	if err != nil || !bytes.Equal(m, doc) {
		t.Fatalf("Marshal differs from the daemon's document: %v", err)
	}
	gz, err := Encode(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gz[:10], data[:10]) || !bytes.Equal(gz[:10], unhex(t, "1f8b0800000000000003")) {
		t.Fatalf("gzip header %x, want %x", gz[:10], data[:10])
	}
}

func TestRoundTripWithKey(t *testing.T) {
	a := plainArchive(t)
	a.Config = map[string]string{"Account.alias": "Zoë 😀 \"q\"\n", "Account.hostname": "127.0.0.1:4222"}
	salt := unhex(t, vecSalt)
	key := fixtureKey(t)
	enc, err := EncodeWithKey(a, salt, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(enc, salt) || !IsEncrypted(enc) {
		t.Fatal("encrypted archive does not start with its salt")
	}
	// zlib inside, as compress() writes it.
	plain, _, ok := open(key, enc)
	if !ok || !bytes.HasPrefix(plain, []byte{0x78, 0x9c}) {
		t.Fatalf("inner data %x", plain[:2])
	}
	b, err := DecodeWithKey(enc, key)
	if err != nil {
		t.Fatal(err)
	}
	if b.Config["Account.alias"] != a.Config["Account.alias"] || b.JamiID() != a.JamiID() {
		t.Fatalf("round trip changed the archive: %q", b.Config)
	}
	m1, _ := Marshal(a)
	m2, _ := Marshal(b)
	if !bytes.Equal(m1, m2) {
		t.Fatal("round trip changed the document")
	}
	if !bytes.Contains(m1, []byte(`"Account.alias":"Zo\u00eb \ud83d\ude00 \"q\"\n"`)) {
		t.Fatalf("escaping: %s", m1[bytes.Index(m1, []byte("Account.alias")):][:60])
	}
	// Two encryptions never share a nonce.
	enc2, _ := EncodeWithKey(a, salt, key)
	if bytes.Equal(enc[SaltSize:SaltSize+NonceSize], enc2[SaltSize:SaltSize+NonceSize]) {
		t.Fatal("nonce reused")
	}
}

func TestAcceptedForms(t *testing.T) {
	a := plainArchive(t)
	doc, _ := Marshal(a)
	key := fixtureKey(t)
	salt := unhex(t, vecSalt)
	gcm, _ := newGCM(key)
	nonce := unhex(t, vecNonce)
	sealWith := func(inner, aad []byte) []byte {
		out := append(append([]byte(nil), salt...), nonce...)
		return gcm.Seal(out, nonce, inner, aad)
	}
	zdoc := zlibBytes(doc)
	cases := []struct {
		name    string
		data    []byte
		key     bool
		format  Format
		wrapped bool
		legacy  bool
	}{
		{"gzip", gzipBytes(doc), false, FormatGzip, false, false},
		{"plain JSON", doc, false, FormatJSON, false, false},
		{"plain JSON with whitespace", append(append([]byte("\n "), doc...), "\n"...), false, FormatJSON, false, false},
		{"gzip of gzip", gzipBytes(gzipBytes(doc)), false, FormatGzip, true, false},
		{"encrypted zlib", sealWith(zdoc, nil), true, FormatEncrypted, false, false},
		{"encrypted gzip inside", sealWith(gzipBytes(doc), nil), true, FormatEncrypted, false, false},
		{"gzip around encrypted", gzipBytes(sealWith(zdoc, nil)), true, FormatEncrypted, true, false},
		{"legacy GCM tag (plaintext as AAD)", sealWith(zdoc, zdoc), true, FormatEncrypted, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b *Archive
			var err error
			if c.key {
				b, err = DecodeWithKey(c.data, key)
			} else {
				b, err = Decode(c.data, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Format != c.format || b.GzipWrapped != c.wrapped || b.LegacyTag != c.legacy || b.JamiID() != a.JamiID() {
				t.Fatalf("format %v wrapped %v legacy %v id %s", b.Format, b.GzipWrapped, b.LegacyTag, b.JamiID())
			}
			if IsEncrypted(c.data) != c.key {
				t.Fatalf("IsEncrypted = %v", !c.key)
			}
		})
	}
}

// Keys, certificates and CRLs may be PEM or DER inside the base64.
func TestDERInside(t *testing.T) {
	a := plainArchive(t)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(a.AccountKey)
	var chain []byte
	for _, c := range a.AccountChain {
		chain = append(chain, c.Raw...)
	}
	doc := map[string]string{
		"ringAccountKey":  base64.StdEncoding.EncodeToString(keyDER),
		"ringAccountCert": base64.StdEncoding.EncodeToString(chain),
		"ringCaKey":       base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(a.CAKey)),
	}
	js, _ := json.Marshal(doc)
	b, err := Decode(js, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.JamiID() != a.JamiID() || len(b.AccountChain) != 2 || b.CAKey == nil || len(b.Warnings) != 0 {
		t.Fatalf("DER archive: id %s, %d certs, warnings %q", b.JamiID(), len(b.AccountChain), b.Warnings)
	}
}

func TestErrors(t *testing.T) {
	plain := readFixture(t, plainFixture)
	enc := readFixture(t, encFixture)
	doc, _ := gunzip(plain)
	key := fixtureKey(t)
	var wrong Key
	wrong[0] = 1

	check := func(name string, err, want error, contains string) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: error %v, want %v", name, err, want)
		} else if !strings.Contains(err.Error(), contains) {
			t.Errorf("%s: error %q does not say %q", name, err, contains)
		}
	}
	_, err := DecodeWithKey(enc, wrong)
	check("wrong key", err, ErrWrongPassword, "wrong password")
	_, err = Decode(plain, str("secret123"))
	check("password for gzip", err, ErrNotEncrypted, "not encrypted")
	_, err = Decode(doc, str("x"))
	check("password for JSON", err, ErrNotEncrypted, "not encrypted")
	_, err = DecodeWithKey(plain, key)
	check("key for gzip", err, ErrNotEncrypted, "not encrypted")
	_, err = Decode(enc, nil)
	check("no password", err, ErrPasswordRequired, "password")
	_, err = DecodeWithKey(enc[:len(enc)-100], key)
	check("truncated encrypted", err, ErrWrongPassword, "wrong")
	_, err = DecodeWithKey(enc[:40], key)
	check("very short encrypted", err, ErrCorrupt, "too short")
	tampered := append([]byte(nil), enc...)
	tampered[100] ^= 1
	_, err = DecodeWithKey(tampered, key)
	check("tampered", err, ErrWrongPassword, "wrong")
	_, err = Decode(plain[:len(plain)/2], nil)
	check("truncated gzip", err, ErrCorrupt, "truncated")
	badCRC := append([]byte(nil), plain...)
	badCRC[len(badCRC)-6] ^= 1
	_, err = Decode(badCRC, nil)
	check("gzip checksum", err, ErrCorrupt, "gzip")
	_, err = Decode([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), nil)
	check("text file", err, ErrNotArchive, "not")
	_, err = Decode([]byte("hello"), str("pw"))
	check("text file with password", err, ErrNotArchive, "text")
	_, err = Decode([]byte{0, 1, 2}, nil)
	check("short binary", err, ErrNotArchive, "binary")
	_, err = Decode([]byte(`{}`), nil)
	check("empty object", err, ErrNotArchive, "ringAccountKey")
	_, err = Decode([]byte(`[1]`), nil)
	check("array", err, ErrNotArchive, "not an object")
	_, err = Decode([]byte(`{"ringAccountKey":"a","ringAccountKey":"b"}`), nil)
	check("duplicate key", err, ErrCorrupt, "duplicate key")
	_, err = Decode(append(append([]byte(nil), doc...), `{}`...), nil)
	check("trailing data", err, ErrCorrupt, "after the top-level value")
	_, err = Decode(bytes.Replace(doc, []byte(`"ringAccountKey":"`), []byte(`"ringAccountKey":"QUJD`), 1), nil)
	check("bad account key", err, ErrCorrupt, "ringAccountKey")
	bad := *plainArchive(t)
	bad.AccountChain = []*x509.Certificate{{Raw: []byte("ABC")}}
	badDoc, _ := Marshal(&bad)
	_, err = Decode(badDoc, nil)
	check("bad account cert", err, ErrCorrupt, "ringAccountCert")
	_, err = Decode(gzipBytes([]byte("not json")), nil)
	check("gzip of text", err, ErrNotArchive, "not JSON")
	// Encrypted data whose inner layer is not compressed.
	gcm, _ := newGCM(key)
	salt := make([]byte, SaltSize)
	nonce := make([]byte, NonceSize)
	raw := gcm.Seal(append(append([]byte(nil), salt...), nonce...), nonce, doc, nil)
	_, err = DecodeWithKey(raw, key)
	check("uncompressed inside", err, ErrCorrupt, "decrypted data")

	// ReadFile names the file.
	dir := t.TempDir()
	p := filepath.Join(dir, "archive.gz")
	os.WriteFile(p, plain, 0o600)
	if _, err := ReadFile(p, str("x")); err == nil || !strings.HasPrefix(err.Error(), p+": ") {
		t.Errorf("ReadFile error %v does not start with the path", err)
	}
}

func TestSkippedEntries(t *testing.T) {
	a := plainArchive(t)
	doc, _ := Marshal(a)
	extra := `,"ringCaKey":"QUJD","ethKey":5,"ringAccountCRL":"QUJD",` +
		`"ringAccountContacts":{"zz":{"added":1},"0000000000000000000000000000000000000000":{"added":1},` +
		`"` + encJamiID + `":{"added":"x"},"` + plainJamiID + `":{"added":7,"confirmed":true,"conversationId":"c1","future":[1]}},` +
		`"conversations":{"c1":{"members":[{"uri":"` + plainJamiID + `"}],"id":"c1","created":5}},"custom":{"b":1,"a":[true,null]},` +
		`"Account.upnpEnabled":false,"Account.activeCallLimit":-1}`
	// Drop the original ringCaKey and ethKey so the bad ones are not duplicates.
	root, _ := parseJSON(doc)
	var kept []jsonMember
	for _, m := range root.obj {
		if m.key != keyCAKey && m.key != keyEthKey {
			kept = append(kept, m)
		}
	}
	root.obj = kept
	base := appendJSON(nil, root)
	js := append(base[:len(base)-1], extra...)
	b, err := Decode(js, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.CAKey != nil || b.EthKey != nil || b.CRL != nil {
		t.Fatal("bad optional entries were kept")
	}
	if len(b.Contacts) != 1 || !b.Contacts[plainJamiID].Confirmed || b.Contacts[plainJamiID].ConversationID != "c1" {
		t.Fatalf("contacts %+v", b.Contacts)
	}
	if len(b.Warnings) != 6 {
		t.Fatalf("warnings %q", b.Warnings)
	}
	if b.Config["Account.upnpEnabled"] != "false" || b.Config["Account.activeCallLimit"] != "-1" {
		t.Fatalf("config %q", b.Config)
	}
	if err := b.Verify(time.Now()); err == nil || !strings.Contains(err.Error(), "skipped") {
		t.Fatalf("Verify = %v, want the first skipped entry", err)
	}
	m, err := Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"conversations":{"c1":{"created":5,"id":"c1","members":[{"uri":"` + plainJamiID + `"}]}}`,
		`"custom":{"a":[true,null],"b":1}`,
		`"ringAccountContacts":{"` + plainJamiID + `":{"added":7,"confirmed":true,"conversationId":"c1","future":[1]}}`,
		`"Account.upnpEnabled":"false"`,
	} {
		if !bytes.Contains(m, []byte(want)) {
			t.Errorf("Marshal lacks %s", want)
		}
	}
}

func TestProblems(t *testing.T) {
	a := plainArchive(t)
	enc, err := DecodeWithKey(readFixture(t, encFixture), fixtureKey(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cases := []struct {
		name   string
		mutate func(b *Archive)
		want   string
	}{
		{"key of another account", func(b *Archive) { b.AccountKey = enc.AccountKey }, "does not match the account certificate"},
		{"reversed chain", func(b *Archive) { b.AccountChain = []*x509.Certificate{b.AccountChain[1], b.AccountChain[0]} }, "comes before"},
		{"CA of another account", func(b *Archive) { b.AccountChain = []*x509.Certificate{b.AccountChain[0], enc.AccountChain[1]} }, "not signed by the CA"},
		{"CA key of another account", func(b *Archive) { b.CAKey = enc.CAKey }, "ringCaKey"},
		{"bad eth key", func(b *Archive) { b.EthKey = bytes.Repeat([]byte{0xff}, 32) }, "ethKey"},
		{"expired", func(b *Archive) {}, "expired"},
		{"exported device of another account", func(b *Archive) { b.DeviceChain = enc.DeviceChain }, "not issued by this account"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := *a
			c.mutate(&b)
			at := now
			if c.name == "expired" {
				at = b.AccountChain[0].NotAfter.Add(time.Hour)
			}
			err := b.Verify(at)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Verify = %v, want %q", err, c.want)
			}
		})
	}
	// Without the CA certificate, the CA key is checked against the account certificate's signature.
	b := *a
	b.AccountChain = b.AccountChain[:1]
	if err := b.Verify(now); err != nil {
		t.Fatalf("chain without CA: %v", err)
	}
	b.CAKey = enc.CAKey
	if err := b.Verify(now); err == nil {
		t.Fatal("foreign CA key accepted")
	}
}

func TestWriteFile(t *testing.T) {
	a := plainArchive(t)
	p := filepath.Join(t.TempDir(), "out.gz")
	if err := WriteFile(p, a, nil, atomicfile.Options{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	if err := WriteFile(p, a, nil, atomicfile.Options{}); !errors.Is(err, atomicfile.ErrExists) {
		t.Fatalf("overwrite without Force: %v", err)
	}
	b, err := ReadFile(p, nil)
	if err != nil || b.JamiID() != a.JamiID() {
		t.Fatalf("read back: %v", err)
	}
}

func TestLegacyNeedsRightKey(t *testing.T) {
	// The legacy fallback must not turn a wrong key into garbage plaintext.
	a := plainArchive(t)
	doc, _ := Marshal(a)
	z := zlibBytes(doc)
	key := fixtureKey(t)
	block, _ := aes.NewCipher(key[:])
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, NonceSize)
	data := gcm.Seal(append(make([]byte, SaltSize), nonce...), nonce, z, z)
	var other Key
	if _, err := DecodeWithKey(data, other); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("legacy archive with another key: %v", err)
	}
}

func TestHasPasswordSetting(t *testing.T) {
	a := plainArchive(t)
	a.Config = map[string]string{ConfigHasPassword: "true", "Account.alias": "a"}
	gz, err := Encode(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(gz, nil)
	if err != nil || b.Config[ConfigHasPassword] != "false" || b.Config["Account.alias"] != "a" {
		t.Fatalf("gzip archive says %q (%v)", b.Config, err)
	}
	if a.Config[ConfigHasPassword] != "true" {
		t.Fatal("Encode changed its argument")
	}
	enc, err := EncodeWithKey(b, unhex(t, vecSalt), fixtureKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := DecodeWithKey(enc, fixtureKey(t)); err != nil || c.Config[ConfigHasPassword] != "true" {
		t.Fatalf("encrypted archive says %q (%v)", c.Config, err)
	}
	// Absent stays absent.
	a.Config = nil
	gz, _ = Encode(a, nil)
	if b, _ := Decode(gz, nil); b.Config != nil {
		t.Fatalf("setting added: %q", b.Config)
	}
}
