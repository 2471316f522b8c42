package value

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// unhex decodes hex with spaces and newlines, and "quoted" ASCII runs, so
// captures can be pasted as they appear in opendht.md Appendix A.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var out []byte
	for len(s) > 0 {
		switch {
		case s[0] == '"':
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				t.Fatalf("unterminated quote in %q", s)
			}
			out = append(out, s[1:1+end]...)
			s = s[end+2:]
		case s[0] == ' ' || s[0] == '\n' || s[0] == '\t':
			s = s[1:]
		default:
			if len(s) < 2 {
				t.Fatalf("odd hex in %q", s)
			}
			b, err := hex.DecodeString(s[:2])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b...)
			s = s[2:]
		}
	}
	return out
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	blk, _ := pem.Decode(readFixture(t, "account-jami20230206.key"))
	if blk == nil {
		t.Fatal("no PEM in key fixture")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

// The announce of a real jamid 13.7.0 receipt: Unpack, Verify, and Pack must
// give the same 1696 bytes back.
func TestDaemonAnnounceRoundTrip(t *testing.T) {
	raw := readFixture(t, "announce-jami20230206.bin")
	v, err := Unpack(raw)
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != 0 || v.Type != 0 || v.Seq != 0 || v.UserType != "" || v.Recipient != nil || v.Priority != nil {
		t.Fatalf("unexpected header fields: %+v", v)
	}
	if len(v.Owner) != 550 || len(v.Signature) != 512 {
		t.Fatalf("owner %d bytes, sig %d bytes", len(v.Owner), len(v.Signature))
	}
	if got := v.OwnerID().String(); got != "d9b52ffb583b1ea8bed701d03c4aef1a936c5554" {
		t.Fatalf("owner id %s, want the Jami ID", got)
	}
	if err := v.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got := v.Pack(); !bytes.Equal(got, raw) {
		t.Fatalf("Pack differs from the daemon's bytes:\n got %x\nwant %x", got, raw)
	}
	if !bytes.Equal(v.RawBody(), v.PackToSign()) || !v.BodyCanonical() {
		t.Fatal("received body is not the canonical to-sign packing")
	}
	// The to-sign map starts map(4) "seq" 0 "owner" bin16(550).
	want := unhex(t, `84 a3 "seq" 00 a5 "owner" c5 02 26`)
	if !bytes.HasPrefix(v.PackToSign(), want) {
		t.Fatalf("to-sign prefix % x", v.PackToSign()[:12])
	}
	// The data is the DeviceAnnouncement {"dev": bin8(20), "pk": bin16}.
	dev := unhex(t, `82 a3 "dev" c4 14 c05576addc332921dfd4739e74becc109ad993cc a2 "pk" c5 02 26`)
	if !bytes.HasPrefix(v.Data, dev) {
		t.Fatalf("data prefix % x", v.Data[:40])
	}

	// A flipped data bit breaks the signature.
	bad := *v
	bad.Data = append([]byte{}, v.Data...)
	bad.Data[len(bad.Data)-1] ^= 1
	if err := bad.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered value: %v", err)
	}
}

// PKCS#1 v1.5 signatures are deterministic: signing the same body with the
// account key must give the daemon's exact signature and packed bytes.
func TestSignReproducesDaemon(t *testing.T) {
	raw := readFixture(t, "announce-jami20230206.bin")
	ref, err := Unpack(raw)
	if err != nil {
		t.Fatal(err)
	}
	v := &Value{ID: 0, Type: 0, Data: ref.Data}
	if err := v.Sign(fixtureKey(t)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v.Owner, ref.Owner) {
		t.Fatal("Sign's owner DER differs from GnuTLS's")
	}
	if !bytes.Equal(v.Signature, ref.Signature) {
		t.Fatal("signature differs from the daemon's")
	}
	if !bytes.Equal(v.Pack(), raw) {
		t.Fatal("packed value differs from the daemon's")
	}
	if err := v.Verify(); err != nil {
		t.Fatal(err)
	}
}

// Appendix A: the unsigned value python3-opendht put.
const pythonPutValue = `82 a2 69 64 cf f8 1c 45 f2 3c 6c 7e 8f
	a3 64 61 74 81 a4 "body" 82 a4 "type" 00 a4 "data" c4 0e "python says hi"`

func TestUnsignedCapture(t *testing.T) {
	raw := unhex(t, pythonPutValue)
	v, err := Unpack(raw)
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != 17878241527452171919 || string(v.Data) != "python says hi" || v.Type != 0 || v.Owner != nil {
		t.Fatalf("%+v", v)
	}
	if !bytes.Equal(v.Pack(), raw) {
		t.Fatalf("Pack % x", v.Pack())
	}
	if err := v.Verify(); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("Verify on unsigned: %v", err)
	}
	built := &Value{ID: 17878241527452171919, Data: []byte("python says hi")}
	if !bytes.Equal(built.Pack(), raw) {
		t.Fatal("built value packs differently")
	}
}

// Layout rules of §5.1 on hand-built values: map sizes, key order, integer
// and string forms.
func TestPackLayout(t *testing.T) {
	to := wire.InfoHashOf([]byte("bob"))
	p := uint8(1)
	tests := []struct {
		name string
		v    Value
		want string
	}{
		{"unsigned with utype", Value{ID: 5, Type: 3, Data: []byte{1}, UserType: "text/plain"},
			`82 a2 "id" 05 a3 "dat" 81 a4 "body" 83 a4 "type" 03 a4 "data" c4 01 01 a5 "utype" aa "text/plain"`},
		{"big ids and types", Value{ID: 0x1_0000_0000, Type: 300},
			`82 a2 "id" cf 0000000100000000 a3 "dat" 81 a4 "body" 82 a4 "type" cd 012c a4 "data" c4 00`},
		{"uint8 and uint32 id", Value{ID: 200, Type: 128},
			`82 a2 "id" cc c8 a3 "dat" 81 a4 "body" 82 a4 "type" cc 80 a4 "data" c4 00`},
		{"priority", Value{ID: 70000, Priority: &p},
			`83 a2 "id" ce 00011170 a3 "dat" 81 a4 "body" 82 a4 "type" 00 a4 "data" c4 00 a1 "p" 01`},
		{"encrypted", Value{ID: 1, Cypher: []byte{9, 9}},
			`82 a2 "id" 01 a3 "dat" c4 02 09 09`},
		{"signed with recipient", Value{ID: 1, Seq: 256, Owner: []byte{0xaa}, Recipient: &to, Signature: []byte{0xbb}, Type: 0, Data: nil},
			`82 a2 "id" 01 a3 "dat" 82 a4 "body" 85 a3 "seq" cd 0100 a5 "owner" c4 01 aa a2 "to" c4 14 ` + hex.EncodeToString(to[:]) +
				` a4 "type" 00 a4 "data" c4 00 a3 "sig" c4 01 bb`},
		{"zero recipient is omitted", Value{ID: 1, Owner: []byte{0xaa}, Recipient: &wire.InfoHash{}, Signature: []byte{0xbb}},
			`82 a2 "id" 01 a3 "dat" 82 a4 "body" 84 a3 "seq" 00 a5 "owner" c4 01 aa a4 "type" 00 a4 "data" c4 00 a3 "sig" c4 01 bb`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.want)
			got := tc.v.Pack()
			if !bytes.Equal(got, want) {
				t.Fatalf("\n got % x\nwant % x", got, want)
			}
			// Round trip: what we pack we read back identically (the
			// owner 0xaa is not a key, so skip those).
			if len(tc.v.Owner) > 0 {
				return
			}
			back, err := Unpack(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.Pack(), got) {
				t.Fatal("repack differs")
			}
		})
	}
}

// The reader accepts what OpenDHT's accepts: str for bin, arrays of bytes,
// signed-int encodings of non-negative numbers, unknown keys, non-str keys,
// keys in any order (first occurrence wins).
func TestUnpackTolerance(t *testing.T) {
	tests := []struct {
		name string
		in   string
		data string
		typ  uint16
		id   uint64
		ut   string
	}{
		{"str data, str utype as bin", `82 a3 "dat" 81 a4 "body" 83 a4 "data" a2 "hi" a5 "utype" c4 01 "u" a4 "type" 07 a2 "id" 09`, "hi", 7, 9, "u"},
		{"array data", `82 a2 "id" 01 a3 "dat" 81 a4 "body" 82 a4 "type" 00 a4 "data" 92 41 cc 42`, "AB", 0, 1, ""},
		{"int8 forms", `82 a2 "id" d0 05 a3 "dat" 81 a4 "body" 82 a4 "type" d1 00 02 a4 "data" c4 00`, "", 2, 5, ""},
		{"unknown and non-str keys", `84 01 02 a2 "id" 01 a1 "x" 93 01 02 03 a3 "dat" 82 a4 "body" 83 a1 "z" c0 a4 "type" 00 a4 "data" c4 00 a3 "zzz" 80`, "", 0, 1, ""},
		{"duplicate keys: first wins", `83 a2 "id" 01 a2 "id" 02 a3 "dat" 81 a4 "body" 82 a4 "type" 00 a4 "data" c4 00`, "", 0, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Unpack(unhex(t, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(v.Data) != tc.data || v.Type != tc.typ || v.ID != tc.id || v.UserType != tc.ut {
				t.Fatalf("%+v", v)
			}
		})
	}
}

func TestUnpackRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not a map", `92 01 02`},
		{"map of one", `81 a2 "id" 01`},
		{"no id", `82 a1 "x" 01 a3 "dat" c4 00`},
		{"negative id", `82 a2 "id" ff a3 "dat" c4 00`},
		{"no dat", `82 a2 "id" 01 a1 "x" 01`},
		{"dat is str", `82 a2 "id" 01 a3 "dat" a1 "x"`},
		{"no body", `82 a2 "id" 01 a3 "dat" 81 a1 "x" 01`},
		{"no data", `82 a2 "id" 01 a3 "dat" 81 a4 "body" 81 a4 "type" 00`},
		{"no type", `82 a2 "id" 01 a3 "dat" 81 a4 "body" 81 a4 "data" c4 00`},
		{"type too big", `82 a2 "id" 01 a3 "dat" 81 a4 "body" 82 a4 "type" ce 00010000 a4 "data" c4 00`},
		{"array byte too big", `82 a2 "id" 01 a3 "dat" 81 a4 "body" 82 a4 "type" 00 a4 "data" 91 cd 0100`},
		{"owner without seq", `82 a2 "id" 01 a3 "dat" 82 a4 "body" 83 a5 "owner" c4 01 00 a4 "type" 00 a4 "data" c4 00 a3 "sig" c4 00`},
		{"owner not a key", `82 a2 "id" 01 a3 "dat" 82 a4 "body" 84 a3 "seq" 00 a5 "owner" c4 01 00 a4 "type" 00 a4 "data" c4 00 a3 "sig" c4 00`},
		{"bool id", `82 a2 "id" c3 a3 "dat" c4 00`},
		{"truncated", `82 a2 "id" 01 a3 "dat" c4 05 00`},
		{"huge declared map", `82 a2 "id" 01 a3 "dat" df ffffffff`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Unpack(unhex(t, tc.in)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

// Signed-value rules that need a real key: seq and sig are required, "to"
// must be bin(20), PEM owners are accepted and re-packed as DER.
func TestUnpackSignedRules(t *testing.T) {
	raw := readFixture(t, "announce-jami20230206.bin")
	ref, _ := Unpack(raw)
	to := wire.InfoHashOf([]byte("x"))

	v := &Value{ID: 7, Type: 4, Data: []byte("d"), Seq: 3, Recipient: &to, UserType: "ut"}
	if err := v.Sign(fixtureKey(t)); err != nil {
		t.Fatal(err)
	}
	back, err := Unpack(v.Pack())
	if err != nil {
		t.Fatal(err)
	}
	if back.Recipient == nil || *back.Recipient != to || back.Seq != 3 || back.UserType != "ut" {
		t.Fatalf("%+v", back)
	}
	if err := back.Verify(); err != nil {
		t.Fatal(err)
	}

	// Owner given as PEM: accepted, kept as DER, signature still checks.
	pemOwner := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ref.Owner})
	body := msgp.AppendMapHeader(nil, 4)
	body = msgp.AppendStr(body, "seq")
	body = msgp.AppendUint(body, 0)
	body = msgp.AppendStr(body, "owner")
	body = msgp.AppendBin(body, pemOwner)
	body = msgp.AppendStr(body, "type")
	body = msgp.AppendUint(body, 0)
	body = msgp.AppendStr(body, "data")
	body = msgp.AppendBin(body, ref.Data)
	pk := msgp.AppendMapHeader(nil, 2)
	pk = msgp.AppendStr(pk, "id")
	pk = msgp.AppendUint(pk, 0)
	pk = msgp.AppendStr(pk, "dat")
	pk = msgp.AppendMapHeader(pk, 2)
	pk = msgp.AppendStr(pk, "body")
	pk = append(pk, body...)
	pk = msgp.AppendStr(pk, "sig")
	pk = msgp.AppendBin(pk, ref.Signature)
	pv, err := Unpack(pk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pv.Owner, ref.Owner) || pv.BodyCanonical() {
		t.Fatal("PEM owner not normalised to DER")
	}
	if err := pv.Verify(); err != nil {
		t.Fatalf("verify over canonical re-pack: %v", err)
	}
	if !bytes.Equal(pv.Pack(), raw) {
		t.Fatal("re-pack of the PEM variant is not the canonical value")
	}

	// "to" as str, or of the wrong length, is refused (InfoHash is strict).
	for _, bad := range [][]byte{msgp.AppendStr(nil, string(to[:])), msgp.AppendBin(nil, to[:19])} {
		b := msgp.AppendMapHeader(nil, 5)
		b = msgp.AppendStr(b, "seq")
		b = msgp.AppendUint(b, 0)
		b = msgp.AppendStr(b, "owner")
		b = msgp.AppendBin(b, ref.Owner)
		b = msgp.AppendStr(b, "to")
		b = append(b, bad...)
		b = msgp.AppendStr(b, "type")
		b = msgp.AppendUint(b, 0)
		b = msgp.AppendStr(b, "data")
		b = msgp.AppendBin(b, nil)
		w := msgp.AppendMapHeader(nil, 2)
		w = msgp.AppendStr(w, "id")
		w = msgp.AppendUint(w, 1)
		w = msgp.AppendStr(w, "dat")
		w = msgp.AppendMapHeader(w, 2)
		w = msgp.AppendStr(w, "body")
		w = append(w, b...)
		w = msgp.AppendStr(w, "sig")
		w = msgp.AppendBin(w, []byte{1})
		if _, err := Unpack(w); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad to accepted: %v", err)
		}
	}

	// Missing sig with an owner.
	nosig := bytes.Replace(raw, unhex(t, `a3 "sig"`), unhex(t, `a3 "sog"`), 1)
	if _, err := Unpack(nosig); !errors.Is(err, ErrInvalid) {
		t.Fatalf("missing sig accepted: %v", err)
	}
}

func TestSignEncrypted(t *testing.T) {
	v := &Value{ID: 1, Cypher: []byte{1}}
	if err := v.Sign(fixtureKey(t)); !errors.Is(err, ErrEncrypted) {
		t.Fatal(err)
	}
}

func TestContentEquals(t *testing.T) {
	a := &Value{ID: 1, Data: []byte("x"), Seq: 1}
	b := &Value{ID: 1, Data: []byte("x"), Seq: 2}
	if !a.Equal(b) {
		t.Fatal("seq must not count in equality")
	}
	b.Data = []byte("y")
	if a.Equal(b) {
		t.Fatal("data must count")
	}
	if a.Size() != 1 {
		t.Fatal(a.Size())
	}
}
