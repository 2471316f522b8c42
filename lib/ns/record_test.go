package ns

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// vector is nameservice-testvector.json: a registration captured from the
// Debian jamid 13.7.0 (OpenDHT 2.4.12) on loopback.
type vector struct {
	RequestPath string            `json:"request_path"`
	Body        RegisterRequest   `json:"body"`
	Derived     map[string]any    `json:"derived"`
	Expected    map[string]string `json:"expected_lookup_response_for_GET_/name/alice_test"`
	raw         []byte
}

func loadVector(t testing.TB) vector {
	t.Helper()
	b, err := os.ReadFile("testdata/nameservice-testvector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Body json.RawMessage `json:"body"`
	}
	json.Unmarshal(b, &raw)
	// The file is indented; jamid's body is compact, members in the same order.
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw.Body); err != nil {
		t.Fatal(err)
	}
	v.raw = buf.Bytes()
	return v
}

func TestNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"abc": true, "ab": false, strings.Repeat("a", 32): true, strings.Repeat("a", 33): false,
		"alice_test": true, "a-b_c-0123456789": true, "Alice": false, "al ice": false, "al/ice": false,
		"été": false, "": false, "a.b": false, "abc\x00": false,
	} {
		if ValidName(name) != ok {
			t.Errorf("ValidName(%q) = %v", name, !ok)
		}
	}
	for in, want := range map[string]string{
		"Alice_TEST-été": "alice_test-été", "alicE": "alice", "alice": "alice", "été-X": "été-x", "": "",
	} {
		if got := CanonicalName(in); got != want {
			t.Errorf("CanonicalName(%q) = %q, want %q", in, got, want)
		}
	}
	for _, n := range []string{"abc", strings.Repeat("z", 32), "é"} {
		b, err := NameBytes32(n)
		if err != nil {
			t.Fatal(err)
		}
		if b[len(n)-1] == 0 || (len(n) < 32 && b[len(n)] != 0) {
			t.Errorf("%q: not left-aligned and zero-padded: %x", n, b)
		}
		if got := NameFromBytes32(b); got != n {
			t.Errorf("round trip %q -> %q", n, got)
		}
	}
	if _, err := NameBytes32(strings.Repeat("é", 17)); err == nil {
		t.Error("34 bytes of UTF-8 fit in a bytes32")
	}
}

func TestAddresses(t *testing.T) {
	const id = "c327740ddd80d9ca2489862f60272aa7ee928aeb"
	for _, s := range []string{id, "0x" + id, "0X" + strings.ToUpper(id), "jami:" + id, "ring:0x" + id, " " + id + " "} {
		a, err := ParseJamiID(s)
		if err != nil || a.String() != id || a.Hex() != "0x"+id {
			t.Errorf("ParseJamiID(%q) = %v, %v", s, a, err)
		}
	}
	for _, s := range []string{"", id[1:], id + "0", "zz" + id[2:], strings.Repeat("0", 40), "0x" + strings.Repeat("0", 40), "jami:jami:" + id, "0x0x" + id[4:]} {
		if _, err := ParseJamiID(s); err == nil {
			t.Errorf("ParseJamiID(%q) accepted", s)
		}
	}
	if _, err := ParseOwner("jami:" + id); err == nil {
		t.Error("owner with jami: accepted")
	}
	if _, err := ParseOwner(strings.Repeat("0", 40)); !errors.Is(err, ErrInvalidOwner) {
		t.Errorf("zero owner: %v", err)
	}
	// EIP-55 mixed case is read, and written back lowercase.
	a, err := ParseOwner("0x93E8233e4c8a673e3b205c856ac3b4c7cd1186F7")
	if err != nil || a.Hex() != "0x93e8233e4c8a673e3b205c856ac3b4c7cd1186f7" {
		t.Errorf("ParseOwner mixed case = %s, %v", a.Hex(), err)
	}
}

// TestVector checks the real daemon's registration: with the trailing NUL
// it sent, without it, and broken in each way a verifier must notice.
func TestVector(t *testing.T) {
	v := loadVector(t)
	name := strings.TrimPrefix(v.RequestPath, "/name/")

	raw, _ := base64.StdEncoding.DecodeString(v.Body.PublicKey)
	if len(raw) != 801 || raw[800] != 0 {
		t.Fatalf("vector key: %d bytes, want 801 ending in NUL", len(raw))
	}
	_, id, err := ParsePublicKey(v.Body.PublicKey)
	if err != nil || id.String() != v.Body.Addr || id.String() != v.Derived["jami_id_is_sha1_of_spki_der"] {
		t.Fatalf("key id %s, %v; want %s", id, err, v.Body.Addr)
	}

	r, err := ParseRegistration(name, v.raw, false)
	if err != nil {
		t.Fatalf("vector refused: %v", err)
	}
	if r.Name != "alice_test" || r.PublicKey != v.Body.PublicKey || r.Owner.String() != v.Body.Owner {
		t.Errorf("record %+v", r)
	}
	// What we would post for this record is byte for byte what jamid posted.
	if got := NewRegisterRequest(r).Marshal(); string(got) != string(v.raw) || len(got) != 1884 {
		t.Errorf("body differs from jamid's (%d bytes):\n%s\n%s", len(got), got, v.raw)
	}

	noNUL := v.Body
	noNUL.PublicKey = base64.StdEncoding.EncodeToString(raw[:800])
	if _, err := noNUL.Check(name, false); err != nil {
		t.Errorf("without NUL: %v", err)
	}

	bad := func(what string, q RegisterRequest, name string, status int, msg string) {
		t.Helper()
		_, err := q.Check(name, false)
		var re *RequestError
		if !errors.As(err, &re) || re.Status != status || re.Message != msg {
			t.Errorf("%s: got %v, want %d %s", what, err, status, msg)
		}
	}
	sig, _ := base64.StdEncoding.DecodeString(v.Body.Signature)
	sig[100] ^= 1
	flipped := v.Body
	flipped.Signature = base64.StdEncoding.EncodeToString(sig)
	bad("flipped signature byte", flipped, name, 401, MsgBadSignature)
	bad("upper-case name", v.Body, "Alice_Test", 400, MsgInvalidName)
	bad("other name", v.Body, "alice_tesu", 401, MsgBadSignature)
	other := v.Body
	other.Addr = "d9b52ffb583b1ea8bed701d03c4aef1a936c5554"
	bad("key of another Jami ID", other, name, 401, MsgKeyMismatch)
	// The signature covers the lowercase name: "Alice_Test" does not verify.
	pub, _, _ := ParsePublicKey(v.Body.PublicKey)
	if err := VerifyName(pub, "Alice_Test", v.Body.Signature); err == nil {
		t.Error("signature verifies over Alice_Test")
	}
	if err := VerifyName(pub, "alice_test", v.Body.Signature); err != nil {
		t.Error(err)
	}
}

func TestSignAndVerify(t *testing.T) {
	r := signed(t, "alice", "Alice-2", owner(7))
	if r.Name != "alice-2" {
		t.Errorf("name %q not lowercased", r.Name)
	}
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(r.PublicKey)
	if !strings.HasPrefix(string(raw), "-----BEGIN PUBLIC KEY-----\n") || !strings.HasSuffix(string(raw), "-----END PUBLIC KEY-----\n\x00") {
		t.Errorf("publickey is not PEM + NUL as jamid 13.7.0 sends it: %q", raw)
	}
	// Keys that are no RSA public key, or too small, are refused.
	for _, pk := range []string{"", "!!", base64.StdEncoding.EncodeToString([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")),
		base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))} {
		if _, _, err := ParsePublicKey(pk); !errors.Is(err, ErrKeyInvalid) {
			t.Errorf("ParsePublicKey(%q) = %v", pk, err)
		}
	}
	swapped := r
	swapped.Signature = signed(t, "bob", "alice-2", owner(7)).Signature
	if err := swapped.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Errorf("bob's signature with alice's key: %v", err)
	}
}
