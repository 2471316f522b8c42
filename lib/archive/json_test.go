package archive

import (
	"strings"
	"testing"
)

func TestParseJSONStrict(t *testing.T) {
	good := []string{
		`{}`, ` {"a":1} `, `[]`, `{"a":[1,-0.5e+3,true,false,null,"x"]}`, `{"a":{"a":1}}`,
		`{"s":"\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\"}`, "{\"raw\":\"\xff\"}",
	}
	for _, s := range good {
		if _, err := parseJSON([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	// Invalid UTF-8 reads as U+FFFD, byte by byte, as jsoncpp writes it back.
	if v := mustParse(t, "\"a\xff\xfeb\""); v.s != "a\ufffd\ufffdb" {
		t.Errorf("invalid UTF-8 read as %q", v.s)
	}
	bad := []struct{ in, why string }{
		{"{\"\xff\":1,\"\xfe\":2}", "duplicate key"},
		{`{"a":1,"a":2}`, "duplicate key"},
		{`{"x":{"a":1,"a":1}}`, "duplicate key"},
		{`{"a":1}{}`, "after the top-level value"},
		{`{"a":1,}`, "expected a string"},
		{`{'a':1}`, "expected a string"},
		{`{"a":1 // c` + "\n}", "expected ','"},
		{`{"a":01}`, "expected ','"},
		{`{"a":1.}`, "malformed number"},
		{`{"a":.5}`, "unexpected character"},
		{`{"a":tru}`, "unexpected character"},
		{"{\"a\":\"\x01\"}", "control character"},
		{`{"a":"\x"}`, "invalid escape"},
		{`{"a":"\ud83d"}`, "unpaired surrogate"},
		{`{"a":"\ud83d\u0041"}`, "invalid surrogate"},
		{`{"a":"\u12"}`, "escape"},
		{`{"a":"abc`, "unterminated"},
		{``, "unexpected end"},
		{strings.Repeat("[", maxJSONDepth+1), "nesting"},
	}
	for _, c := range bad {
		_, err := parseJSON([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.why)
		}
	}
}

func TestJSONWriterStyle(t *testing.T) {
	// jsoncpp's StreamWriter with indentation "": compact, sorted, \u escapes
	// in lowercase hex for every non-ASCII code point, '/' and DEL as they are.
	in := `{ "b" : [ 1 , 2.50 ] , "a" : "é€😀/\u007f\u001f\n", "B": null, "": {} }`
	got := string(appendJSON(nil, mustParse(t, in)))
	want := `{"":{},"B":null,"a":"\u00e9\u20ac\ud83d\ude00/` + "\x7f" + `\u001f\n","b":[1,2.50]}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// Invalid UTF-8 becomes U+FFFD, as in jsoncpp.
	if got := string(appendJSONString(nil, "a\xffb")); got != `"a\ufffdb"` {
		t.Fatalf("invalid UTF-8: %s", got)
	}
	// Byte-wise key order: uppercase before lowercase, shorter prefix first.
	if got := string(appendJSON(nil, mustParse(t, `{"ab":1,"a":2,"Z":3,"é":4}`))); got != `{"Z":3,"a":2,"ab":1,"\u00e9":4}` {
		t.Fatalf("key order: %s", got)
	}
}

func mustParse(t *testing.T, s string) *jsonValue {
	t.Helper()
	v, err := parseJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestJSONConversions(t *testing.T) {
	v := mustParse(t, `[null,true,false,12,1.5e3,"s",[]]`)
	ints := []int64{0, 1, 0, 12, 1500}
	for i, want := range ints {
		if got, err := v.arr[i].asInt(); err != nil || got != want {
			t.Errorf("asInt(%d) = %d, %v", i, got, err)
		}
	}
	if _, err := v.arr[5].asInt(); err == nil {
		t.Error("asInt of a string succeeded")
	}
	if s, _ := v.arr[3].asString(); s != "12" {
		t.Errorf("asString(12) = %q", s)
	}
	if s, _ := v.arr[1].asString(); s != "true" {
		t.Errorf("asString(true) = %q", s)
	}
	if _, err := v.arr[6].asString(); err == nil {
		t.Error("asString of an array succeeded")
	}
	if b, err := v.arr[3].asBool(); err != nil || !b {
		t.Errorf("asBool(12) = %v, %v", b, err)
	}
}
