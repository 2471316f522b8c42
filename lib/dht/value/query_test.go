package value

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/lib/dht/wire"
)

// Every textual query in the fixture was parsed and printed by the real
// library (python3-opendht 2.4.12); ParseQuery + String must agree.
func TestParseQueryAgainstOpenDHT(t *testing.T) {
	var cases []struct{ In, Out, Err string }
	if err := json.Unmarshal(readFixture(t, "query-text-opendht-2.4.12.json"), &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 50 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		q, err := ParseQuery(c.In)
		if c.Err != "" {
			// OpenDHT: "Error parsing query. (WHERE) wrong token near: X"
			want := c.Err[strings.Index(c.Err, "(WHERE)"):]
			if err == nil || !errors.Is(err, ErrQuery) || !strings.HasSuffix(err.Error(), want) {
				t.Errorf("%q: got %v, want error %q", c.In, err, c.Err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.In, err)
			continue
		}
		if got := q.String(); got != c.Out {
			t.Errorf("%q:\n got %q\nwant %q", c.In, got, c.Out)
		}
	}
}

// The queries OpenDHT itself sends, in the bytes of opendht.md §3.3 / §6.
func TestQueryWire(t *testing.T) {
	var one Where
	one.ID(12345)
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"pagination SELECT id", Query{Select: Select{Fields: []Field{FieldID}}},
			`82 a1 "s" 91 01 a1 "w" 90`},
		{"permanent-put probe SELECT id,seq", Query{Select: Select{Fields: []Field{FieldID, FieldSeqNum}}},
			`82 a1 "s" 92 01 04 a1 "w" 90`},
		{"fetch one value", Query{Where: one},
			`82 a1 "s" 90 a1 "w" 91 82 a1 "f" 01 a1 "v" cd 3039`},
		{"all fields where type 5", Query{Select: Select{Fields: []Field{1, 2, 3, 4, 5}}, Where: Where{Filters: []FieldValue{{Field: FieldValueType, Int: 5}}}},
			`82 a1 "s" 95 01 02 03 04 05 a1 "w" 91 82 a1 "f" 02 a1 "v" 05`},
		{"owner and user type", Query{Where: Where{Filters: []FieldValue{
			{Field: FieldOwnerPk, Hash: wire.InfoHashOf([]byte("hello"))},
			{Field: FieldUserType, Blob: []byte("text/plain")}}}},
			`82 a1 "s" 90 a1 "w" 92 82 a1 "f" 03 a1 "v" c4 14 aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d
			 82 a1 "f" 05 a1 "v" c4 0a "text/plain"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.want)
			got, err := tc.q.Pack()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("\n got % x\nwant % x", got, want)
			}
			back, err := UnpackQuery(got)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := back.Pack()
			if !bytes.Equal(again, want) {
				t.Fatal("round trip differs")
			}
		})
	}
}

func TestQueryWireRejects(t *testing.T) {
	var w Where
	w.Seq(3)
	if _, err := (Query{Where: w}).Pack(); !errors.Is(err, ErrQuery) {
		t.Fatalf("seq filter packed: %v", err)
	}
	bad := []string{
		`82 a1 "s" 90 a1 "x" 90`, // no w
		`81 a1 "w" 90`,           // no s
		`82 a1 "s" 90 a1 "w" 91 82 a1 "f" 04 a1 "v" 01`,     // seq in w
		`82 a1 "s" 90 a1 "w" 91 82 a1 "f" 09 a1 "v" 01`,     // unknown field
		`82 a1 "s" 90 a1 "w" 91 82 a1 "f" 03 a1 "v" a1 "x"`, // owner not bin(20)
		`82 a1 "s" 90 a1 "w" 91 81 a1 "f" 01`,               // no v
		`82 a1 "s" a1 "x" a1 "w" 90`,                        // s not an array
		`82 a1 "s" 91 a1 "x" a1 "w" 90`,                     // s element not an int
		`92 90 90`,                                          // not a map
	}
	for _, b := range bad {
		if _, err := UnpackQuery(unhex(t, b)); !errors.Is(err, ErrQuery) {
			t.Errorf("%s: %v", b, err)
		}
	}
	// Tolerated: str user type, keys in another order, unknown keys,
	// any int in s.
	q, err := UnpackQuery(unhex(t, `83 a1 "w" 91 82 a1 "v" a3 "abc" a1 "f" 05 a1 "z" c0 a1 "s" 92 09 ff`))
	if err != nil {
		t.Fatal(err)
	}
	if string(q.Where.Filters[0].Blob) != "abc" || q.Select.Fields[0] != 9 || q.Select.Fields[1] != -1 {
		t.Fatalf("%+v", q)
	}
}

func TestWhereMatch(t *testing.T) {
	key := fixtureKey(t)
	signed := &Value{ID: 7, Type: 3, Seq: 2, UserType: "text/plain"}
	if err := signed.Sign(key); err != nil {
		t.Fatal(err)
	}
	unsigned := &Value{ID: 8, Type: 3}
	pk := signed.OwnerID()
	tests := []struct {
		q        string
		s, u     bool
		viaWire  bool
		wantText string
	}{
		{"WHERE id=7", true, false, true, ""},
		{"WHERE value_type=3", true, true, true, ""},
		{"WHERE value_type=65539", true, true, true, ""}, // uint16 truncation, as 2.4.12
		{"WHERE seq=2", true, false, false, ""},
		{"WHERE seq=0", false, true, false, ""},
		{"WHERE user_type=text/plain", true, false, true, ""},
		{"WHERE owner_pk=" + pk.String(), true, false, true, ""},
		{"WHERE owner_pk=0000000000000000000000000000000000000000", false, false, true, ""},
		{"WHERE value_type=3,id=8", false, true, true, ""},
		{"", true, true, true, ""},
	}
	for _, tc := range tests {
		q, err := ParseQuery(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if q.Where.Match(signed) != tc.s || q.Where.Match(unsigned) != tc.u {
			t.Errorf("%q: signed %v unsigned %v", tc.q, q.Where.Match(signed), q.Where.Match(unsigned))
		}
		if !tc.viaWire {
			continue
		}
		b, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnpackQuery(b)
		if err != nil {
			t.Fatal(err)
		}
		if back.Where.Match(signed) != tc.s || back.Where.Match(unsigned) != tc.u {
			t.Errorf("%q after wire: mismatch", tc.q)
		}
	}
}

func TestIsSatisfiedBy(t *testing.T) {
	mk := func(s string) Query {
		q, err := ParseQuery(s)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	cases := []struct {
		a, b string
		want bool
	}{
		{"SELECT id WHERE id=1,value_type=2", "SELECT id,seq WHERE id=1", true},
		{"SELECT id WHERE id=1", "SELECT id WHERE id=1,value_type=2", false},
		{"WHERE id=1", "SELECT id WHERE id=1", false},
		{"WHERE id=1", "WHERE id=1", true},
		{"SELECT id,seq", "SELECT id", false},
	}
	for _, c := range cases {
		if got := mk(c.a).IsSatisfiedBy(mk(c.b)); got != c.want {
			t.Errorf("%q by %q: %v", c.a, c.b, got)
		}
	}
	if !(Query{None: true}).IsSatisfiedBy(mk("SELECT id")) {
		t.Error("none query")
	}
}

// The "fileds" replies captured from the real dhtnode (opendht.md §3.3).
func TestFieldsWire(t *testing.T) {
	stored := &Value{ID: 777, Type: 5}
	cases := []struct {
		sel  []Field
		vals []*Value
		want string
	}{
		{[]Field{FieldID}, []*Value{{ID: 12345}}, `82 a1 "f" 91 01 a1 "v" 91 cd 3039`},
		{[]Field{FieldSeqNum, FieldID}, []*Value{{ID: 12345}}, `82 a1 "f" 92 01 04 a1 "v" 92 cd 3039 00`},
		{[]Field{1, 2, 3, 4, 5}, []*Value{stored},
			`82 a1 "f" 95 01 02 03 04 05 a1 "v" 95 cd 0309 05 c4 14 0000000000000000000000000000000000000000 00 a0`},
		{[]Field{FieldID, 9, FieldID}, []*Value{{ID: 1}, {ID: 2}}, `82 a1 "f" 91 01 a1 "v" 92 01 02`},
	}
	for _, c := range cases {
		want := unhex(t, c.want)
		got := PackFields(Select{Fields: c.sel}, c.vals)
		if !bytes.Equal(got, want) {
			t.Errorf("\n got % x\nwant % x", got, want)
			continue
		}
		fields, rows, err := UnpackFields(got)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(c.vals) {
			t.Fatalf("%d rows", len(rows))
		}
		for i, v := range c.vals {
			idx := IndexOf(v, Select{Fields: fields})
			for _, f := range fields {
				if !rows[i][f].Equal(idx[f]) {
					t.Errorf("row %d field %d: %+v vs %+v", i, f, rows[i][f], idx[f])
				}
			}
		}
	}
	if s := IndexOf(stored, Select{}).String(); s != "Index[Id:309,ValueType:5,Owner:0000000000000000000000000000000000000000,Seq:0,UserType:]" {
		t.Errorf("index text %q", s)
	}
}

func TestFieldsOwnerAndBadRows(t *testing.T) {
	v := &Value{ID: 1, Data: []byte("x")}
	if err := v.Sign(fixtureKey(t)); err != nil {
		t.Fatal(err)
	}
	b := PackFields(Select{Fields: []Field{FieldOwnerPk, FieldID}}, []*Value{v})
	// OpenDHT puts the full DER key in the cell; we read it back as the id.
	if !bytes.Contains(b, v.Owner) {
		t.Fatal("owner DER not in the cell")
	}
	_, rows, err := UnpackFields(b)
	if err != nil || len(rows) != 1 || rows[0][FieldOwnerPk].Hash != v.OwnerID() {
		t.Fatalf("%v %+v", err, rows)
	}
	// A bad row is skipped, the others kept; a short tail is ignored.
	_, rows, err = UnpackFields(unhex(t, `82 a1 "f" 91 01 a1 "v" 93 01 a1 "x" 03`))
	if err != nil || len(rows) != 2 || rows[0][FieldID].Int != 1 || rows[1][FieldID].Int != 3 {
		t.Fatalf("%v %+v", err, rows)
	}
	for _, bad := range []string{`81 a1 "v" 90`, `82 a1 "f" 90 a1 "v" 90`, `82 a1 "f" 91 01 a1 "v" 01`} {
		if _, _, err := UnpackFields(unhex(t, bad)); !errors.Is(err, ErrQuery) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
