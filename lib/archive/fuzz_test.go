package archive

import (
	"bytes"
	"encoding/json"
	"testing"
)

// fuzzKey is fixed so that the encrypted-envelope target never runs Argon2.
var fuzzKey = Key{0: 0x42, 31: 0x24}

// FuzzDecode: the whole reader without a password (gzip, JSON, base64, PEM,
// DER, X.509). Whatever it accepts must survive a write/read round trip.
func FuzzDecode(f *testing.F) {
	plain := readFixture(f, plainFixture)
	doc, _ := gunzip(plain)
	f.Add(plain)
	f.Add(doc)
	f.Add(readFixture(f, encFixture)[:200])
	f.Add([]byte(`{"ringAccountKey":"QUJD"}`))
	f.Add([]byte(`{"ringAccountContacts":{"a":1},"x":[1,{"y":null}]}`))
	f.Add(gzipBytes([]byte(`{"a":"\u00e9"}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Decode(data, nil)
		if err != nil {
			return
		}
		out, err := Encode(a, nil)
		if err != nil {
			t.Fatalf("decoded archive does not encode: %v", err)
		}
		b, err := Decode(out, nil)
		if err != nil {
			t.Fatalf("re-encoded archive does not decode: %v", err)
		}
		if a.JamiID() != b.JamiID() {
			t.Fatal("round trip changed the Jami ID")
		}
		m1, _ := Marshal(a)
		m2, _ := Marshal(b)
		if !bytes.Equal(m1, m2) {
			t.Fatal("round trip changed the document")
		}
	})
}

// FuzzParseJSON: the strict parser never panics; what it accepts is valid
// JSON for encoding/json too, and writing is a fixed point.
func FuzzParseJSON(f *testing.F) {
	doc, _ := gunzip(readFixture(f, plainFixture))
	for _, s := range []string{
		`{}`, `{"a":1,"a":2}`, `{"s":"\ud83d\ude00\u00e9"}`, `[1,-2.5e-3,true,null]`,
		`{"a":{"b":[{"c":"\\\""}]}}`, "{\"x\":\"\xff\"}", `{"a":"\ud83d"}`, string(doc),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseJSON(data)
		if err != nil {
			return
		}
		if !json.Valid(bytes.ToValidUTF8(data, []byte("?"))) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		out := appendJSON(nil, v)
		v2, err := parseJSON(out)
		if err != nil {
			t.Fatalf("output %q does not parse: %v", out, err)
		}
		if out2 := appendJSON(nil, v2); !bytes.Equal(out, out2) {
			t.Fatalf("writer not idempotent: %q vs %q", out, out2)
		}
		for _, c := range out {
			if c >= 0x80 {
				t.Fatalf("output has a non-ASCII byte: %q", out)
			}
		}
	})
}

// FuzzDecodeWithKey: the encrypted envelope (salt, nonce, GCM, legacy tag,
// zlib/gzip) with a fixed pre-derived key.
func FuzzDecodeWithKey(f *testing.F) {
	a, err := Decode(readFixture(f, plainFixture), nil)
	if err != nil {
		f.Fatal(err)
	}
	salt := bytes.Repeat([]byte{7}, SaltSize)
	enc, err := EncodeWithKey(a, salt, fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	small, _ := seal(fuzzKey, salt, zlibBytes([]byte(`{"ringAccountKey":"QUJD"}`)))
	notZlib, _ := seal(fuzzKey, salt, []byte(`{}`))
	gz, _ := seal(fuzzKey, salt, gzipBytes([]byte(`{"a":1}`)))
	f.Add(enc)
	f.Add(gzipBytes(enc))
	f.Add(small)
	f.Add(notZlib)
	f.Add(gz)
	f.Add(enc[:minEncrypted])
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeWithKey(data, fuzzKey)
		if err != nil {
			return
		}
		if a.Format != FormatEncrypted || len(a.Salt) != SaltSize {
			t.Fatalf("decoded with format %v, salt %x", a.Format, a.Salt)
		}
		if _, err := Marshal(a); err != nil {
			t.Fatalf("decoded archive does not marshal: %v", err)
		}
	})
}
