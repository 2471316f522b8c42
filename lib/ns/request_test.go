package ns

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRegistration(t *testing.T) {
	good := NewRegisterRequest(signed(t, "alice", "alice", owner(1)))
	body := func(mod func(*RegisterRequest)) string {
		q := good
		mod(&q)
		return string(q.Marshal())
	}
	cases := []struct {
		what     string
		name     string
		body     string
		unsigned bool
		status   int
		msg      string
	}{
		{"upper-case path name", "Alice", string(good.Marshal()), false, 400, MsgInvalidName},
		{"short name", "al", string(good.Marshal()), false, 400, MsgInvalidName},
		{"not JSON", "alice", "{", false, 400, MsgInvalidRequest},
		{"array", "alice", "[]", false, 400, MsgInvalidRequest},
		{"null", "alice", "null", false, 400, MsgInvalidRequest},
		{"trailing garbage", "alice", string(good.Marshal()) + "x", false, 400, MsgInvalidRequest},
		{"number addr", "alice", `{"addr":1,"owner":"` + good.Owner + `"}`, false, 400, MsgInvalidRequest},
		{"no addr", "alice", body(func(q *RegisterRequest) { q.Addr = "" }), false, 400, MsgInvalidAddr},
		{"zero addr", "alice", body(func(q *RegisterRequest) { q.Addr = strings.Repeat("0", 40) }), false, 400, MsgInvalidAddr},
		{"short addr", "alice", body(func(q *RegisterRequest) { q.Addr = q.Addr[2:] }), false, 400, MsgInvalidAddr},
		{"no owner", "alice", body(func(q *RegisterRequest) { q.Owner = "" }), false, 400, MsgNoOwner},
		{"zero owner", "alice", body(func(q *RegisterRequest) { q.Owner = "0x" + strings.Repeat("0", 40) }), false, 400, MsgNoOwner},
		{"unsigned", "alice", body(func(q *RegisterRequest) { q.PublicKey, q.Signature = "", "" }), false, 400, MsgNoPublicKey},
		{"signature only", "alice", body(func(q *RegisterRequest) { q.PublicKey = "" }), true, 400, MsgNoPublicKey},
		{"key only", "alice", body(func(q *RegisterRequest) { q.Signature = "" }), true, 400, MsgNoSignature},
		{"garbage key", "alice", body(func(q *RegisterRequest) { q.PublicKey = "AAAA" }), false, 401, MsgBadSignature},
		{"bob's key for alice's ID", "alice", body(func(q *RegisterRequest) {
			b := NewRegisterRequest(signed(t, "bob", "alice", owner(1)))
			q.PublicKey, q.Signature = b.PublicKey, b.Signature
		}), false, 401, MsgKeyMismatch},
		{"signature over another name", "alicf", string(good.Marshal()), false, 401, MsgBadSignature},
	}
	for _, c := range cases {
		_, err := ParseRegistration(c.name, []byte(c.body), c.unsigned)
		var re *RequestError
		if !errors.As(err, &re) || re.Status != c.status || re.Message != c.msg {
			t.Errorf("%s: %v, want %d %q", c.what, err, c.status, c.msg)
		}
	}
	if r, err := ParseRegistration("alice", []byte(body(func(q *RegisterRequest) { q.PublicKey, q.Signature = "", "" })), true); err != nil || r.Signed() {
		t.Errorf("unsigned with allowUnsigned: %+v, %v", r, err)
	}
	// Prefixes the reference accepts, and unknown members, are fine.
	if _, err := ParseRegistration("alice", []byte(`{"x":[1],"addr":"ring:0x`+good.Addr+`","owner":"0x`+strings.ToUpper(good.Owner)+`","signature":"`+good.Signature+`","publickey":"`+good.PublicKey+`"}`), false); err != nil {
		t.Errorf("prefixed addr/owner: %v", err)
	}
}

// FuzzParseRegistration: the request decoder never panics, and whatever it
// accepts is a complete, verified record.
func FuzzParseRegistration(f *testing.F) {
	v := loadVector(f)
	f.Add("alice_test", string(v.raw), false)
	f.Add("alice", string(NewRegisterRequest(signed(f, "alice", "alice", owner(1))).Marshal()), false)
	f.Add("alice", `{"addr":"`+v.Body.Addr+`","owner":"`+v.Body.Owner+`"}`, true)
	f.Add("alice", `{"addr":null,"owner":{},"signature":[],"publickey":1}`, false)
	f.Add("x", `"`, false)
	f.Add("alice_test", `{"addr":"jami:`+v.Body.Addr+`","owner":"0x`+v.Body.Owner+`","signature":"`+v.Body.Signature+`","publickey":"AAAA"}`, false)
	f.Fuzz(func(t *testing.T, name, body string, unsigned bool) {
		r, err := ParseRegistration(name, []byte(body), unsigned)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || re.Status < 400 || re.Status > 499 || re.Message == "" {
				t.Fatalf("error is not a 4xx RequestError: %v", err)
			}
			return
		}
		if !ValidName(r.Name) || r.Addr.IsZero() || r.Owner.IsZero() {
			t.Fatalf("accepted an incomplete record: %+v", r)
		}
		if r.Signed() {
			if err := r.Verify(); err != nil {
				t.Fatalf("accepted a record that does not verify: %v", err)
			}
		} else if !unsigned || r.PublicKey != "" || r.Signature != "" {
			t.Fatalf("accepted an unsigned record: %+v", r)
		}
	})
}
