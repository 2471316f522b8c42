package swarm

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// golden.txt was produced by the real jsoncpp 1.9.5 (testdata/jsoncpp/gen.cc):
// writer output for ~600 byte strings (all single bytes, valid and broken
// UTF-8) and reader results for ~300 documents (comments, trailing commas,
// numbers, escapes, surrogates, nesting limits, mutations).
func TestJSONGoldenJsoncpp(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "jsoncpp", "golden.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		in, out, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("bad golden line %q", sc.Text())
		}
		mode, hx, _ := strings.Cut(in, " ")
		data, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatal(err)
		}
		n++
		switch mode {
		case "w":
			got := hex.EncodeToString(EncodeJSON(JSONValue{Kind: JSONObject, Obj: map[string]JSONValue{"body": JSONStr(string(data))}}))
			if got != out {
				w, _ := hex.DecodeString(out)
				t.Errorf("write %q: got %q want %q", data, mustUnhex(got), w)
			}
		case "r":
			if got := describeParse(data); got != out {
				t.Errorf("read %q:\n got %s\nwant %s", data, got, out)
			}
		}
	}
	if n < 800 {
		t.Fatalf("only %d golden cases", n)
	}
}

func mustUnhex(s string) []byte { b, _ := hex.DecodeString(s); return b }

// describeParse renders a parse result in gen.cc's output format.
func describeParse(doc []byte) string {
	v, err := ParseJSON(doc)
	if err != nil {
		return "err"
	}
	s := "ok " + hex.EncodeToString(EncodeJSON(v)) + " "
	if v.Kind != JSONObject {
		return s + "-"
	}
	m := map[string]JSONValue{}
	threw := false
	for k, x := range v.Obj {
		str, err := x.AsString()
		if err != nil {
			threw = true
			break
		}
		m[k] = JSONStr(str)
	}
	if threw {
		s += "throw"
	} else {
		s += hex.EncodeToString(EncodeJSON(JSONValue{Kind: JSONObject, Obj: m}))
	}
	if mv, ok := v.Obj["mode"]; ok {
		if i, err := mv.AsInt(); err != nil {
			s += " mode=throw"
		} else {
			s += fmt.Sprintf(" mode=%d", i)
		}
	}
	return s
}

func TestEncodeJSONObject(t *testing.T) {
	b, err := EncodeJSONObject(map[string]any{"type": "initial", "mode": 2, "invited": "x", "b": true, "u": uint64(1 << 63)})
	if err != nil || string(b) != `{"b":true,"invited":"x","mode":2,"type":"initial","u":9223372036854775808}` {
		t.Errorf("%s %v", b, err)
	}
	if _, err := EncodeJSONObject(map[string]any{"f": 1.5}); err == nil {
		t.Error("float accepted")
	}
	// Keys sort by bytes: uppercase before lowercase, "a" before "a-b".
	b, _ = EncodeJSONObject(map[string]any{"reply-to": "1", "react-to": "2", "body": "3", "Z": "4", "type": "t"})
	if string(b) != `{"Z":"4","body":"3","react-to":"2","reply-to":"1","type":"t"}` {
		t.Errorf("%s", b)
	}
	var keys []string
	for _, k := range []string{"a", "a-b", "ab", "a b"} {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "a,a b,a-b,ab" {
		t.Error(keys)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"mode":2,"type":"initial"}`, `{"body":"\ud83d\udc4d","react-to":"x","type":"text/plain"}`,
		`// c` + "\n" + `{"a":[1,2,],}`, `{"n":-1e400}`, `"\u00e9"`, `[[[[]]]]`, "\xef\xbb\xbf{}", `{"a":1}garbage`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		v, err := ParseJSON(doc)
		if err != nil {
			return
		}
		// What we parse, we can write; writing converges after one lossy
		// round (invalid UTF-8 → U+FFFD may merge keys), then re-parsing
		// the written form is a fixed point.
		out := EncodeJSON(v)
		for round := 0; round < 2; round++ {
			v2, err := ParseJSON(out)
			if err != nil {
				t.Fatalf("re-parse of %q: %v", out, err)
			}
			prev := out
			out = EncodeJSON(v2)
			if round == 1 && string(out) != string(prev) {
				t.Fatalf("not a fixed point: %q -> %q", prev, out)
			}
		}
	})
}
