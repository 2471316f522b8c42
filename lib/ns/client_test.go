package ns

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClient(t *testing.T) {
	ts := newTestServer(t, Options{})
	c := &Client{Server: ts.URL + "/", UserAgent: "jami-ns-test"}
	ctx := context.Background()
	alice := signed(t, "alice", "alice", owner(1))

	if _, err := c.LookupName(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lookup before: %v", err)
	}
	if err := c.Register(ctx, alice); err != nil {
		t.Fatal(err)
	}
	info, err := c.LookupName(ctx, "ALICE")
	if err != nil {
		t.Fatal(err)
	}
	id, ver, err := info.Check("ALICE")
	if err != nil || id != alice.Addr || ver != SignatureValid {
		t.Errorf("Check = %s %v %v", id, ver, err)
	}
	if n, err := c.LookupAddr(ctx, alice.Addr); err != nil || n != "alice" {
		t.Errorf("LookupAddr = %q %v", n, err)
	}
	if _, err := c.LookupAddr(ctx, owner(3)); !errors.Is(err, ErrNotFound) {
		t.Errorf("LookupAddr unknown: %v", err)
	}

	regErr := func(r Record) *RegisterError {
		t.Helper()
		var re *RegisterError
		if err := c.Register(ctx, r); !errors.As(err, &re) {
			t.Fatalf("Register: %v", err)
		}
		return re
	}
	if re := regErr(signed(t, "bob", "alice", owner(2))); re.Status != 403 || !re.Taken() || !strings.Contains(re.Error(), "already taken (owner 0x0101") {
		t.Errorf("taken: %d %v", re.Status, re)
	}
	if re := regErr(signed(t, "alice", "other", owner(1))); !strings.Contains(re.Error(), "already has a name: alice") {
		t.Errorf("addr taken: %v", re)
	}
	forged := signed(t, "bob", "bob", owner(2))
	forged.Addr = alice.Addr
	if re := regErr(forged); re.Status != 401 || re.Taken() || !strings.Contains(re.Error(), MsgKeyMismatch) {
		t.Errorf("forged: %d %v", re.Status, re)
	}
	if ts.log.Len() == 0 || !strings.Contains(ts.log.String(), `"jami-ns-test"`) {
		t.Errorf("access log misses the user agent:\n%s", ts.log)
	}
}

// Check refuses answers the daemon would refuse, and more.
func TestClientCheck(t *testing.T) {
	alice := signed(t, "alice", "alice", owner(1))
	good := NameInfo{Name: "alice", Addr: alice.Addr.Hex(), PublicKey: alice.PublicKey, Signature: alice.Signature}
	if _, v, err := good.Check("alice"); err != nil || v != SignatureValid {
		t.Fatal(v, err)
	}
	bad := map[string]NameInfo{
		"upper-case addr":     {Name: "alice", Addr: "0x" + strings.ToUpper(alice.Addr.String()), PublicKey: alice.PublicKey, Signature: alice.Signature},
		"addr without 0x":     {Name: "alice", Addr: alice.Addr.String(), PublicKey: alice.PublicKey, Signature: alice.Signature},
		"other name":          {Name: "alicf", Addr: alice.Addr.Hex(), PublicKey: alice.PublicKey, Signature: alice.Signature},
		"key of another ID":   {Name: "alice", Addr: owner(4).Hex(), PublicKey: alice.PublicKey, Signature: alice.Signature},
		"signature only":      {Name: "alice", Addr: alice.Addr.Hex(), Signature: alice.Signature},
		"bob's signature":     {Name: "alice", Addr: alice.Addr.Hex(), PublicKey: alice.PublicKey, Signature: signed(t, "bob", "alice", owner(1)).Signature},
		"zero addr":           {Name: "alice", Addr: Address{}.Hex()},
		"signature over name": {Name: "", Addr: alice.Addr.Hex(), PublicKey: alice.PublicKey, Signature: signed(t, "alice", "alicf", owner(1)).Signature},
	}
	for what, info := range bad {
		if _, _, err := info.Check("alice"); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
	unsigned := NameInfo{Name: "alice", Addr: alice.Addr.Hex()}
	if _, v, err := unsigned.Check("alice"); err != nil || v != Unsigned {
		t.Errorf("unsigned: %v %v", v, err)
	}
}

// The client maps every status as the daemon does.
func TestClientStatusMapping(t *testing.T) {
	var status int
	var body string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	defer ts.Close()
	c := &Client{Server: ts.URL}
	ctx := context.Background()
	r := signed(t, "alice", "alice", owner(1))
	for _, tc := range []struct {
		status int
		body   string
		ok     bool
		taken  bool
		want   string
	}{
		{200, `{"success":true}`, true, false, ""},
		{200, `{"success":false}`, false, false, "did not confirm"},
		{200, `not json`, false, false, "did not confirm"},
		{400, `{"success":false,"error":"invalid name"}`, false, false, "refused the request: invalid name"},
		{401, `{}`, false, false, "refused the signature"},
		{409, ``, false, true, "already taken"},
		{500, `{"error":"server error"}`, false, false, "server error (500)"},
		{502, `<html>`, false, false, "server error (502)"},
	} {
		status, body = tc.status, tc.body
		err := c.Register(ctx, r)
		if tc.ok != (err == nil) {
			t.Errorf("%d %s: %v", tc.status, tc.body, err)
			continue
		}
		if err == nil {
			continue
		}
		var re *RegisterError
		if !errors.As(err, &re) || re.Taken() != tc.taken || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d %s: %v (taken %v)", tc.status, tc.body, err, re != nil && re.Taken())
		}
	}
	status, body = 500, `{"error":"server error"}`
	var se *StatusError
	if _, err := c.LookupName(ctx, "alice"); !errors.As(err, &se) || se.Status != 500 || se.Message != "server error" {
		t.Errorf("lookup 500: %v", err)
	}
	status, body = 200, `{"name":"alice"}`
	if _, err := c.LookupName(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("200 without addr: %v", err)
	}
}

func TestJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, recs, err := OpenJournal(path)
	if err != nil || len(recs) != 0 {
		t.Fatal(recs, err)
	}
	a, b := signed(t, "alice", "alice", owner(1)), signed(t, "bob", "bob", owner(2))
	for _, r := range []Record{a, b, a} {
		if err := j.Append(r, Receipt{Tx: "0x01", Block: 3, Applied: true}); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v", fi.Mode())
	}
	// A crash in the middle of an append leaves a line without its end.
	data, _ := os.ReadFile(path)
	os.WriteFile(path, append(data, `{"name":"carol","addr":"0x`...), 0o600)
	j, recs, err = OpenJournal(path)
	if err != nil || len(recs) != 2 || recs[0] != a || recs[1] != b {
		t.Fatalf("after torn tail: %d records, %v", len(recs), err)
	}
	c := signed(t, "carol", "carol", owner(3))
	if err := j.Append(c, Receipt{}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if _, recs, err = OpenJournal(path); err != nil || len(recs) != 3 || recs[2] != c {
		t.Fatalf("after append: %d records, %v", len(recs), err)
	}
	// The journal reads as a dump too.
	data, _ = os.ReadFile(path)
	if recs, err := ReadDump(data); err != nil || len(recs) != 3 {
		t.Errorf("ReadDump(journal) = %d, %v", len(recs), err)
	}
	// A damaged line that is not the last is an error, not silently dropped.
	os.WriteFile(path, append([]byte("garbage\n"), data...), 0o600)
	if _, _, err := OpenJournal(path); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("damaged journal: %v", err)
	}
}

func TestDumpRoundTrip(t *testing.T) {
	recs := []Record{signed(t, "alice", "alice", owner(1)), {Name: "legacy", Addr: owner(5), Owner: owner(6)}}
	var sb strings.Builder
	if err := WriteDump(&sb, recs); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sb.String(), "[\n{\"name\":\"alice\",\"addr\":\"0x") || strings.Contains(sb.String(), `"tx"`) ||
		!strings.Contains(sb.String(), `{"name":"legacy","addr":"0x0505050505050505050505050505050505050505","owner":"0x0606060606060606060606060606060606060606"}`) {
		t.Errorf("dump:\n%s", sb.String())
	}
	got, err := ReadDump([]byte(sb.String()))
	if err != nil || len(got) != 2 || got[0] != recs[0] || got[1] != recs[1] {
		t.Errorf("round trip: %+v %v", got, err)
	}
	var empty strings.Builder
	WriteDump(&empty, nil)
	if empty.String() != "[]\n" {
		t.Errorf("empty dump %q", empty.String())
	}
	for _, bad := range []string{"[{", `[{"name":"x","addr":"zz","owner":"01"}]`, `{"name":"x"}`} {
		if _, err := ReadDump([]byte(bad)); err == nil {
			t.Errorf("ReadDump(%q) accepted", bad)
		}
	}
}

// FuzzReadDump: dump and journal files are untrusted input.
func FuzzReadDump(f *testing.F) {
	f.Add([]byte("[]"))
	f.Add([]byte(`[{"name":"alice","addr":"0x0101010101010101010101010101010101010101","owner":"0x0202020202020202020202020202020202020202"}]`))
	f.Add([]byte("{\"name\":\"a\"}\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ReadDump(data)
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.Addr.IsZero() || r.Owner.IsZero() {
				t.Fatalf("zero address accepted: %+v", r)
			}
		}
	})
}

// FuzzNameInfoCheck: a lookup answer is untrusted input; checking it never
// panics, and whatever passes as signed is a record that verifies.
func FuzzNameInfoCheck(f *testing.F) {
	v := loadVector(f)
	f.Add([]byte(`{"name":"alice_test","addr":"0x`+v.Body.Addr+`","publickey":"`+v.Body.PublicKey+`","signature":"`+v.Body.Signature+`"}`), "alice_test")
	f.Add([]byte(`{"name":"a","addr":"0x0101010101010101010101010101010101010101"}`), "A")
	f.Add([]byte(`{"addr":"0X01"}`), "")
	f.Fuzz(func(t *testing.T, answer []byte, asked string) {
		var info NameInfo
		if json.Unmarshal(answer, &info) != nil {
			return
		}
		id, ver, err := info.Check(asked)
		if err != nil {
			return
		}
		if id.IsZero() || info.Addr != id.Hex() {
			t.Fatalf("accepted addr %q as %s", info.Addr, id)
		}
		if ver == SignatureValid {
			r := Record{Name: CanonicalName(asked), Addr: id, PublicKey: info.PublicKey, Signature: info.Signature}
			if r.Verify() != nil {
				t.Fatal("accepted a record that does not verify")
			}
		}
	})
}

// FuzzOpenJournal: a journal damaged in any way is refused or read, never a
// panic; what is read can be appended to.
func FuzzOpenJournal(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte(`{"name":"alice","addr":"0x0101010101010101010101010101010101010101","owner":"0x0202020202020202020202020202020202020202","tx":"0x01","block":3}` + "\n{\"na"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "journal.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, recs, err := OpenJournal(path)
		if err != nil {
			return
		}
		defer j.Close()
		r := Record{Name: "zzz-fuzz", Addr: Address{1}, Owner: Address{2}}
		had := j.Has(r.Name)
		if err := j.Append(r, Receipt{}); err != nil {
			t.Fatal(err)
		}
		j.Close()
		j2, again, err := OpenJournal(path)
		if err != nil {
			t.Fatalf("journal unreadable after an append: %v", err)
		}
		j2.Close()
		if want := len(recs) + map[bool]int{false: 1}[had]; len(again) != want {
			t.Fatalf("%d records, then %d", len(recs), len(again))
		}
	})
}
