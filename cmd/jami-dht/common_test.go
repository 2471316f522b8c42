package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/lib/dht/value"
)

func TestParseWhere(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"id=42", "WHERE id=42"},
		{"WHERE id=0x2a", "WHERE id=42"},
		{"where  value_type=3 , user_type=text/plain", "WHERE value_type=3,user_type=text/plain"},
		{`user_type="a b"`, "WHERE user_type=a b"},
		{"owner_pk=aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d", "WHERE owner_pk_hash=aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"},
	} {
		w, err := parseWhere(c.in)
		if err != nil {
			t.Errorf("parseWhere(%q): %v", c.in, err)
			continue
		}
		got := ""
		if w != nil {
			got = w.String()
		}
		if got != c.want {
			t.Errorf("parseWhere(%q) = %q, want %q", c.in, got, c.want)
		}
		// What is accepted can be sent.
		if w != nil {
			if _, err := (value.Query{Where: *w}).Pack(); err != nil {
				t.Errorf("parseWhere(%q): cannot pack: %v", c.in, err)
			}
		}
	}
	for _, bad := range []string{"id", "id=", "color=red", "id=4d75", "id=-1", "value_type=70000", "seq=1", "owner_pk=abc", "id=1,,id=2", "WHERE"} {
		if w, err := parseWhere(bad); err == nil && (bad != "WHERE" || w != nil) {
			t.Errorf("parseWhere(%q) accepted: %v", bad, w)
		}
	}
}

func TestParseSelect(t *testing.T) {
	for in, want := range map[string]string{
		"id":               "SELECT id",
		"SELECT id,seq":    "SELECT id,seq",
		"select user_type": "SELECT user_type",
		"*":                "SELECT id,value_type,owner_public_key,seq,user_type", // OpenDHT's printed name
		"id, id":           "SELECT id",
	} {
		s, err := parseSelect(in)
		if err != nil || s.String() != want {
			t.Errorf("parseSelect(%q) = %q, %v; want %q", in, s, err, want)
		}
	}
	for _, bad := range []string{"", "color", "id,", "SELECT"} {
		if s, err := parseSelect(bad); err == nil {
			t.Errorf("parseSelect(%q) accepted: %v", bad, s)
		}
	}
}

func TestParseID(t *testing.T) {
	for in, want := range map[string]uint64{"42": 42, "0x2a": 42, "0X2A": 42, "18446744073709551615": ^uint64(0)} {
		if got, err := parseID(in); err != nil || got != want {
			t.Errorf("parseID(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "2a", "0x", "-1", "18446744073709551616"} {
		if _, err := parseID(bad); err == nil {
			t.Errorf("parseID(%q) accepted", bad)
		}
	}
}

func TestValueJSON(t *testing.T) {
	b, _ := json.Marshal(toJSON(&value.Value{ID: 0x2a, Type: 3, Data: []byte("hi"), UserType: "text/plain"}))
	if want := `{"id":"2a","type":3,"user_type":"text/plain","data":"aGk=","size":12}`; string(b) != want {
		t.Errorf("toJSON: %s, want %s", b, want)
	}
	// Empty data is still there (as ""), an encrypted value has only its cypher.
	b, _ = json.Marshal(toJSON(&value.Value{ID: 1}))
	if !strings.Contains(string(b), `"data":""`) {
		t.Errorf("toJSON of an empty value: %s", b)
	}
	b, _ = json.Marshal(toJSON(&value.Value{ID: 1, Cypher: []byte{1, 2}}))
	if want := `{"id":"1","type":0,"size":2,"encrypted":true,"cypher":"AQI="}`; string(b) != want {
		t.Errorf("toJSON of an encrypted value: %s, want %s", b, want)
	}
}

// Command-line expressions never make the parsers panic, and what they
// accept can always be sent.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"id=5", "WHERE value_type=3,user_type=\"x\"", "owner_pk=aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d", "SELECT id,seq", "*", "where", ",,="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if w, err := parseWhere(s); err == nil && w != nil {
			if _, err := (value.Query{Where: *w}).Pack(); err != nil {
				t.Fatalf("parseWhere(%q) accepted what cannot be packed: %v", s, err)
			}
		}
		if sel, err := parseSelect(s); err == nil {
			if _, err := (value.Query{Select: sel}).Pack(); err != nil {
				t.Fatalf("parseSelect(%q) accepted what cannot be packed: %v", s, err)
			}
		}
		parseID(s)
	})
}
