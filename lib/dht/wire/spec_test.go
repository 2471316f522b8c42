package wire

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

// unhex decodes hex with spaces, newlines and "quoted ASCII" segments, the
// notation of opendht.md Appendix A.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var out []byte
	for len(s) > 0 {
		switch c := s[0]; {
		case c == '"':
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				t.Fatalf("unterminated quote in %q", s)
			}
			out = append(out, s[1:1+end]...)
			s = s[end+2:]
		case c == ' ' || c == '\n' || c == '\t':
			s = s[1:]
		default:
			b, err := hex.DecodeString(s[:2])
			if err != nil {
				t.Fatalf("bad hex %q: %v", s[:2], err)
			}
			out = append(out, b...)
			s = s[2:]
		}
	}
	return out
}

func fill(b byte, n int) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, n)) }

// appendixA holds the captures of opendht.md Appendix A. The placeholders
// the spec leaves (<id>, <key>, <target>, <32 bytes>) are filled with
// arbitrary bytes; everything else is the captured bytes.
var appendixA = []struct {
	name string
	hex  string
	kind Kind
}{
	{"ping", `85 a1 61 81 a2 69 64 c4 14 0ddefa198473dce35756bf85afa28a1c32e10681
	   a1 71 a4 70 69 6e 67  a1 74 65  a1 79 a1 71  a1 76 a4 52 4e 47 31`, KindPing},
	{"pong", `84 a1 72 82 a2 69 64 c4 14 f44709180297b546e381b4935c1a3d0ad4fa2053
	            a2 73 61 c4 04 7f 00 00 01
	   a1 74 65  a1 79 a1 72  a1 76 a4 52 4e 47 31`, KindReply},
	{"find", `85 a1 61 83 a2 69 64 c4 14 ` + fill(0x11, 20) + ` a6 "target" c4 14 ` + fill(0x22, 20) + ` a1 77 92 02 0a
	   a1 71 a4 "find" a1 74 ce ea 3f 02 ad a1 79 a1 71 a1 76 a4 "RNG1"`, KindFind},
	{"put", `85 a1 61 85 a2 69 64 c4 14 ` + fill(0x11, 20) + ` a1 68 c4 14 ` + fill(0x33, 20) + `
	   a6 "values" 91 82 a2 69 64 cf f8 1c 45 f2 3c 6c 7e 8f
	                     a3 64 61 74 81 a4 "body" 82 a4 "type" 00 a4 "data" c4 0e "python says hi"
	   a1 63 ce 6b 02 53 52
	   a5 "token" c4 20 ` + fill(0x44, 32) + `
	   a1 71 a3 "put" a1 74 ce ea 3f 02 af a1 79 a1 71 a1 76 a4 "RNG1"`, KindPut},
	{"update-refreshed", `85 a1 61 84 a2 69 64 c4 14 ` + fill(0x55, 20) + ` a3 73 69 64 05 a5 "token" c4 20 ` + fill(0x66, 32) + ` a2 72 65 91 cd 03 09
	   a1 79 a1 71 a1 76 a4 "RNG1" a1 71 a6 "update" a1 74 ce 83 0a 94 38`, KindUpdate},
	// §3.9 example, rebuilt from its field list in 2.4.12's sendError order.
	{"error-401", `85 a1 65 92 cd 01 91 b4 "Put with wrong token" a1 72 81 a2 69 64 c4 14 ` + fill(0x77, 20) + `
	   a1 74 70 a1 79 a1 65 a1 76 a4 "RNG1"`, KindError},
}

func TestAppendixA(t *testing.T) {
	for _, c := range appendixA {
		t.Run(c.name, func(t *testing.T) {
			b := unhex(t, c.hex)
			m, err := Decode(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if m.Kind != c.kind {
				t.Fatalf("kind %v, want %v", m.Kind, c.kind)
			}
			out, err := m.AppendBinary(nil)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if !bytes.Equal(out, b) {
				t.Fatalf("re-encoding differs\n got %x\nwant %x", out, b)
			}
		})
	}
}

func TestAppendixAFields(t *testing.T) {
	get := func(name string) *Message {
		for _, c := range appendixA {
			if c.name == name {
				m, err := Decode(unhex(t, c.hex))
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
		}
		t.Fatalf("no capture %s", name)
		return nil
	}
	ping := get("ping")
	if ping.TID != 101 || string(ping.UA) != "RNG1" || ping.ID.String() != "0ddefa198473dce35756bf85afa28a1c32e10681" {
		t.Errorf("ping: %+v", ping)
	}
	pong := get("pong")
	if pong.Addr != netip.MustParseAddr("127.0.0.1") || pong.TID != 101 {
		t.Errorf("pong: %+v", pong)
	}
	find := get("find")
	if find.Want != Want4|Want6 || find.TID != 0xea3f02ad || find.Target[0] != 0x22 {
		t.Errorf("find: %+v", find)
	}
	put := get("put")
	if len(put.Values) != 1 || !put.HasCreated || put.Created != 0x6b025352 || len(put.Token) != 32 || put.TID != 0xea3f02af {
		t.Errorf("put: %+v", put)
	}
	if !bytes.Contains(put.Values[0], []byte("python says hi")) || put.Values[0][0] != 0x82 {
		t.Errorf("put value: %x", put.Values[0])
	}
	upd := get("update-refreshed")
	if upd.SID != 5 || len(upd.Refreshed) != 1 || upd.Refreshed[0] != 0x309 || upd.TID != 0x830a9438 {
		t.Errorf("update: %+v", upd)
	}
	e := get("error-401")
	if e.ErrCode != 401 || string(e.ErrText) != ErrTextPutWrongToken || e.TID != 112 {
		t.Errorf("error: %+v", e)
	}
}
