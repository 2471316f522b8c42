package value

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// Field is Value::Field, the unit of SELECT and WHERE (opendht.md §6).
type Field int

const (
	FieldNone      Field = 0
	FieldID        Field = 1 // uint64
	FieldValueType Field = 2 // uint16
	FieldOwnerPk   Field = 3 // the owner's public key id
	FieldSeqNum    Field = 4 // uint16
	FieldUserType  Field = 5 // string
)

func (f Field) known() bool { return f >= FieldID && f <= FieldUserType }

// String is the name OpenDHT prints for a field in a SELECT.
func (f Field) String() string {
	switch f {
	case FieldID:
		return "id"
	case FieldValueType:
		return "value_type"
	case FieldOwnerPk:
		return "owner_public_key" // sic: the parser wants owner_pk
	case FieldSeqNum:
		return "seq"
	case FieldUserType:
		return "user_type"
	}
	return ""
}

// ErrQuery reports a query OpenDHT would refuse to parse or to pack.
var ErrQuery = errors.New("invalid query")

// FieldValue is one WHERE condition, or one cell of a field-query row.
// Int holds Id, ValueType and SeqNum; Hash holds OwnerPk (a public key id);
// Blob holds UserType.
type FieldValue struct {
	Field Field
	Int   uint64
	Hash  wire.InfoHash
	Blob  []byte
}

// Equal is FieldValue::operator==: only the part the field uses counts.
func (fv FieldValue) Equal(o FieldValue) bool {
	if fv.Field != o.Field {
		return false
	}
	switch fv.Field {
	case FieldID, FieldValueType, FieldSeqNum:
		return fv.Int == o.Int
	case FieldOwnerPk:
		return fv.Hash == o.Hash
	case FieldUserType:
		return string(fv.Blob) == string(o.Blob)
	case FieldNone:
		return true
	}
	return false
}

// Match is FieldValue::getLocalFilter applied to v. ValueType and SeqNum
// compare as uint16 (the filter constructors take uint16, so 2.4.12
// truncates the wire's uint64). Unknown fields match everything.
func (fv FieldValue) Match(v *Value) bool {
	switch fv.Field {
	case FieldID:
		return v.ID == fv.Int
	case FieldValueType:
		return v.Type == uint16(fv.Int)
	case FieldOwnerPk:
		return len(v.Owner) > 0 && v.OwnerID() == fv.Hash
	case FieldSeqNum:
		return v.Seq == uint16(fv.Int)
	case FieldUserType:
		return v.UserType == string(fv.Blob)
	}
	return true
}

func (fv FieldValue) appendPack(b []byte) ([]byte, error) {
	b = msgp.AppendMapHeader(b, 2)
	b = msgp.AppendStr(b, "f")
	b = msgp.AppendUint(b, uint64(uint8(fv.Field)))
	b = msgp.AppendStr(b, "v")
	switch fv.Field {
	case FieldID, FieldValueType:
		return msgp.AppendUint(b, fv.Int), nil
	case FieldOwnerPk:
		return msgp.AppendBin(b, fv.Hash[:]), nil
	case FieldUserType:
		return msgp.AppendBin(b, fv.Blob), nil
	}
	// 2.4.12 throws here, seq included: a WHERE on seq cannot travel.
	return nil, fmt.Errorf("%w: field %d cannot be sent in a WHERE", ErrQuery, fv.Field)
}

func unpackFieldValue(b []byte) (FieldValue, error) {
	fs, err := msgp.ReadMap(b)
	if err != nil {
		return FieldValue{}, err
	}
	rf := fs.Find("f")
	if rf == nil {
		return FieldValue{}, msgp.ErrType
	}
	f, err := asUint(rf, math.MaxUint32)
	if err != nil {
		return FieldValue{}, err
	}
	fv := FieldValue{Field: Field(f)}
	rv := fs.Find("v")
	if rv == nil {
		return FieldValue{}, msgp.ErrType
	}
	switch fv.Field {
	case FieldID, FieldValueType:
		fv.Int, err = asUint(rv, math.MaxUint64)
	case FieldOwnerPk:
		fv.Hash, err = asBin20(rv)
	case FieldUserType:
		fv.Blob, err = asBlob(rv)
	default:
		err = msgp.ErrType
	}
	return fv, err
}

// Select is the list of fields a query wants. Empty means whole values.
// Fields keeps the order they were added in, which is the order sent on
// the wire; Selection gives the sorted set replies use.
type Select struct {
	Fields []Field
}

// Add appends f unless already present.
func (s *Select) Add(f Field) *Select {
	if !slices.Contains(s.Fields, f) {
		s.Fields = append(s.Fields, f)
	}
	return s
}

// Empty reports a select of whole values.
func (s Select) Empty() bool { return len(s.Fields) == 0 }

// Selection is Select::getSelection: the fields sorted and de-duplicated.
func (s Select) Selection() []Field {
	out := slices.Clone(s.Fields)
	slices.Sort(out)
	return slices.Compact(out)
}

// String is OpenDHT's text: "SELECT *" or "SELECT id,seq".
func (s Select) String() string {
	if s.Empty() {
		return "SELECT *"
	}
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.String()
	}
	return "SELECT " + strings.Join(names, ",")
}

// IsSatisfiedBy is Select::isSatisfiedBy: an empty select needs an empty
// one; otherwise every field of s must be in o.
func (s Select) IsSatisfiedBy(o Select) bool {
	if s.Empty() {
		return o.Empty()
	}
	for _, f := range s.Fields {
		if !slices.Contains(o.Fields, f) {
			return false
		}
	}
	return true
}

// Where is a conjunction of conditions.
type Where struct {
	Filters []FieldValue
}

// Add appends fv unless an equal condition is present.
func (w *Where) Add(fv FieldValue) *Where {
	for _, o := range w.Filters {
		if o.Equal(fv) {
			return w
		}
	}
	w.Filters = append(w.Filters, fv)
	return w
}

// ID, ValueType, Owner, Seq and UserType add the matching condition.
func (w *Where) ID(id uint64) *Where { return w.Add(FieldValue{Field: FieldID, Int: id}) }
func (w *Where) ValueType(t uint16) *Where {
	return w.Add(FieldValue{Field: FieldValueType, Int: uint64(t)})
}
func (w *Where) Owner(pkid wire.InfoHash) *Where {
	return w.Add(FieldValue{Field: FieldOwnerPk, Hash: pkid})
}
func (w *Where) Seq(s uint16) *Where { return w.Add(FieldValue{Field: FieldSeqNum, Int: uint64(s)}) }
func (w *Where) UserType(ut string) *Where {
	return w.Add(FieldValue{Field: FieldUserType, Blob: []byte(ut)})
}

// Empty reports a where without conditions.
func (w Where) Empty() bool { return len(w.Filters) == 0 }

// Match reports whether v satisfies every condition.
func (w Where) Match(v *Value) bool {
	for _, f := range w.Filters {
		if !f.Match(v) {
			return false
		}
	}
	return true
}

// IsSatisfiedBy is Where::isSatisfiedBy: o's conditions are a subset of w's.
func (w Where) IsSatisfiedBy(o Where) bool {
	for _, f := range o.Filters {
		if !slices.ContainsFunc(w.Filters, f.Equal) {
			return false
		}
	}
	return true
}

// String is OpenDHT's text: "" or "WHERE id=5,user_type=foo".
func (w Where) String() string {
	if w.Empty() {
		return ""
	}
	var sb strings.Builder
	sb.WriteString("WHERE ")
	for i, f := range w.Filters {
		if i > 0 {
			sb.WriteByte(',')
		}
		switch f.Field {
		case FieldID:
			sb.WriteString("id=" + strconv.FormatUint(f.Int, 10))
		case FieldValueType:
			sb.WriteString("value_type=" + strconv.FormatUint(f.Int, 10))
		case FieldOwnerPk:
			sb.WriteString("owner_pk_hash=" + f.Hash.String())
		case FieldSeqNum:
			sb.WriteString("seq=" + strconv.FormatUint(f.Int, 10))
		case FieldUserType:
			sb.WriteString("user_type=" + string(f.Blob))
		}
	}
	return sb.String()
}

// Query is a Select and a Where. None marks the "any query" used
// internally by OpenDHT; it is never sent.
type Query struct {
	Select Select
	Where  Where
	None   bool
}

// IsSatisfiedBy is Query::isSatisfiedBy: whether answers to o also answer q.
func (q Query) IsSatisfiedBy(o Query) bool {
	return q.None || (q.Where.IsSatisfiedBy(o.Where) && q.Select.IsSatisfiedBy(o.Select))
}

// Empty reports a query with neither SELECT nor WHERE, which requests
// carry no "q" for.
func (q Query) Empty() bool { return q.Select.Empty() && q.Where.Empty() }

// String is OpenDHT's Query text: "Query[SELECT id WHERE id=5]".
func (q Query) String() string { return "Query[" + q.Select.String() + " " + q.Where.String() + "]" }

// Pack returns the wire form {"s": [field...], "w": [{"f","v"}...]} as
// 2.4.12 sends it in the "q" argument of get and listen. Conditions on seq
// (or unknown fields) cannot be packed, as in OpenDHT.
func (q Query) Pack() ([]byte, error) { return q.AppendPack(nil) }

// AppendPack appends Pack() to b.
func (q Query) AppendPack(b []byte) ([]byte, error) {
	b = msgp.AppendMapHeader(b, 2)
	b = msgp.AppendStr(b, "s")
	b = msgp.AppendArrayHeader(b, len(q.Select.Fields))
	for _, f := range q.Select.Fields {
		if f < 0 {
			return nil, fmt.Errorf("%w: field %d", ErrQuery, f)
		}
		b = msgp.AppendUint(b, uint64(f))
	}
	b = msgp.AppendStr(b, "w")
	b = msgp.AppendArrayHeader(b, len(q.Where.Filters))
	for _, fv := range q.Where.Filters {
		var err error
		if b, err = fv.appendPack(b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// MarshalMsgpack makes a Query usable in vmihailenco/msgpack structs.
func (q Query) MarshalMsgpack() ([]byte, error) { return q.Pack() }

// UnmarshalMsgpack is UnpackQuery into q.
func (q *Query) UnmarshalMsgpack(b []byte) error {
	nq, err := UnpackQuery(b)
	if err != nil {
		return err
	}
	*q = nq
	return nil
}

// UnpackQuery reads the "q" argument with 2.4.12's rules: a map with both
// "w" and "s"; "w" an array of {"f": uint, "v": ...} where only fields
// 1, 2, 3 and 5 parse; "s" an array of ints (any int is accepted, as the
// C++ enum conversion does). Any error makes OpenDHT drop the whole
// message.
func UnpackQuery(b []byte) (Query, error) {
	var q Query
	fs, err := msgp.ReadMap(b)
	if err != nil {
		return q, fmt.Errorf("%w: %v", ErrQuery, err)
	}
	rw, rs := fs.Find("w"), fs.Find("s")
	if rw == nil || rs == nil {
		return q, fmt.Errorf("%w: needs both \"s\" and \"w\"", ErrQuery)
	}
	ws, err := asArray(rw)
	if err != nil {
		return q, fmt.Errorf("%w: w: %v", ErrQuery, err)
	}
	for _, e := range ws {
		fv, err := unpackFieldValue(e)
		if err != nil {
			return Query{}, fmt.Errorf("%w: w: %v", ErrQuery, err)
		}
		// Appended as received: msgpack-c fills the vector directly,
		// duplicates included.
		q.Where.Filters = append(q.Where.Filters, fv)
	}
	ss, err := asArray(rs)
	if err != nil {
		return Query{}, fmt.Errorf("%w: s: %v", ErrQuery, err)
	}
	for _, e := range ss {
		f, err := asInt(e)
		if err != nil {
			return Query{}, fmt.Errorf("%w: s: %v", ErrQuery, err)
		}
		q.Select.Fields = append(q.Select.Fields, Field(f))
	}
	return q, nil
}

// --- text form ----------------------------------------------------------------

// trimSpaces is OpenDHT's trim_str: spaces only, not other white space.
func trimSpaces(s string) string { return strings.Trim(s, " ") }

// isCSpace is C isspace in the "C" locale (what istream skips).
func isCSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// firstWord is "istream >> std::string": skip white space, read up to the
// next white space. rest is what follows the word.
func firstWord(s string) (word, rest string) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isCSpace(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

// ParseSelect parses "SELECT f1,f2" (or "select"; "*" or nothing means
// all) exactly as 2.4.12 does: only the first white-space-separated word
// after the keyword is read, so "SELECT id, seq" selects only id, and
// unknown names are ignored.
func ParseSelect(s string) Select {
	var sel Select
	kw, rest := firstWord(s)
	if kw != "SELECT" && kw != "select" {
		return sel
	}
	list, _ := firstWord(rest)
	for _, name := range strings.Split(list, ",") {
		switch trimSpaces(name) {
		case "id":
			sel.Add(FieldID)
		case "value_type":
			sel.Add(FieldValueType)
		case "owner_pk":
			sel.Add(FieldOwnerPk)
		case "seq":
			sel.Add(FieldSeqNum)
		case "user_type":
			sel.Add(FieldUserType)
		}
	}
	return sel
}

// parseCUint is "istringstream >> uint64_t" with libstdc++: leading white
// space, an optional sign (a minus negates modulo 2^64), decimal digits,
// and anything after the digits ignored. ok is false when no digits were
// read (v = 0) or on overflow (v = max).
func parseCUint(s string) (v uint64, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	overflow := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			overflow = true
		}
		v = v*10 + d
	}
	if i == start {
		return 0, false
	}
	if overflow {
		return math.MaxUint64, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseHashLoose is InfoHash(std::string_view): fewer than 40 characters or
// a non-hex character among the first 40 give the zero hash; anything after
// the first 40 is ignored.
func parseHashLoose(s string) wire.InfoHash {
	if len(s) < 2*wire.HashLen {
		return wire.InfoHash{}
	}
	h, err := wire.ParseInfoHash(s[:2*wire.HashLen])
	if err != nil {
		return wire.InfoHash{}
	}
	return h
}

// ParseWhere parses "WHERE id=5,value_type=3,owner_pk=<hex>,seq=2,
// user_type=foo" (or "where") as 2.4.12 does: the rest of the line after
// the keyword, split on commas; an entry without a value is skipped; an
// unknown field with a value is an error; numbers are read like C++
// streams; user_type may be double-quoted.
func ParseWhere(s string) (Where, error) {
	var w Where
	kw, rest := firstWord(s)
	if kw != "WHERE" && kw != "where" {
		return w, nil
	}
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	for _, cond := range strings.Split(rest, ",") {
		parts := strings.SplitN(trimSpaces(cond), "=", 3)
		name := trimSpaces(parts[0])
		val := ""
		if len(parts) > 1 {
			val = trimSpaces(parts[1])
		}
		if val == "" {
			continue
		}
		n, ok := parseCUint(val)
		str := val
		if !ok && len(val) > 1 && val[0] == '"' && val[len(val)-1] == '"' {
			str = val[1 : len(val)-1]
		}
		switch name {
		case "id":
			w.ID(n)
		case "value_type":
			w.ValueType(uint16(n))
		case "owner_pk":
			w.Owner(parseHashLoose(str))
		case "seq":
			w.Seq(uint16(n))
		case "user_type":
			w.UserType(str)
		default:
			return Where{}, fmt.Errorf("%w: (WHERE) wrong token near: %s", ErrQuery, name)
		}
	}
	return w, nil
}

// ParseQuery parses "[SELECT ...] [WHERE ...]" as Query(std::string_view):
// the text is cut at the first "WHERE" or "where".
func ParseQuery(s string) (Query, error) {
	pos := len(s)
	if i := strings.Index(s, "WHERE"); i >= 0 {
		pos = i
	}
	if i := strings.Index(s, "where"); i >= 0 && i < pos {
		pos = i
	}
	w, err := ParseWhere(s[pos:])
	if err != nil {
		return Query{}, err
	}
	return Query{Select: ParseSelect(s[:pos]), Where: w}, nil
}

// --- field query results ("fileds") ------------------------------------------

// FieldIndex is one row of a field query (FieldValueIndex): for each
// selected field, the value's content.
type FieldIndex map[Field]FieldValue

// IndexOf is FieldValueIndex(v, s): the selected fields of v (all five
// when s is empty). OwnerPk is the owner's public key id (zero if unsigned).
func IndexOf(v *Value, s Select) FieldIndex {
	fields := s.Selection()
	if s.Empty() {
		fields = []Field{FieldID, FieldValueType, FieldOwnerPk, FieldSeqNum, FieldUserType}
	}
	idx := FieldIndex{}
	for _, f := range fields {
		switch f {
		case FieldID:
			idx[f] = FieldValue{Field: f, Int: v.ID}
		case FieldValueType:
			idx[f] = FieldValue{Field: f, Int: uint64(v.Type)}
		case FieldOwnerPk:
			idx[f] = FieldValue{Field: f, Hash: v.OwnerID()}
		case FieldSeqNum:
			idx[f] = FieldValue{Field: f, Int: uint64(v.Seq)}
		case FieldUserType:
			idx[f] = FieldValue{Field: f, Blob: []byte(v.UserType)}
		default:
			idx[f] = FieldValue{}
		}
	}
	return idx
}

// ContainedIn is FieldValueIndex::containedIn: every field of i is in o.
func (i FieldIndex) ContainedIn(o FieldIndex) bool {
	if len(i) > len(o) {
		return false
	}
	for f := range i {
		if _, ok := o[f]; !ok {
			return false
		}
	}
	return true
}

// String is OpenDHT's "Index[Id:5,ValueType:0,...]" text (fields in order,
// id in hex).
func (i FieldIndex) String() string {
	fields := make([]Field, 0, len(i))
	for f := range i {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	var sb strings.Builder
	sb.WriteString("Index[")
	for n, f := range fields {
		if n > 0 {
			sb.WriteByte(',')
		}
		fv := i[f]
		switch f {
		case FieldID:
			sb.WriteString("Id:" + strconv.FormatUint(fv.Int, 16))
		case FieldValueType:
			sb.WriteString("ValueType:" + strconv.FormatUint(fv.Int, 10))
		case FieldOwnerPk:
			sb.WriteString("Owner:" + fv.Hash.String())
		case FieldSeqNum:
			sb.WriteString("Seq:" + strconv.FormatUint(fv.Int, 10))
		case FieldUserType:
			sb.WriteString("UserType:" + string(fv.Blob))
		}
	}
	sb.WriteByte(']')
	return sb.String()
}

// PackFields returns the "fileds" map a storing node sends for a get with
// a SELECT: {"f": [sorted fields], "v": [per value, per field]}. Like
// 2.4.12 (and HEAD) OwnerPk carries the owner's full SPKI DER, or bin(20)
// zeros when unsigned. Unknown selected fields, for which 2.4.12 would
// write a malformed array, are left out.
func PackFields(s Select, vals []*Value) []byte {
	var fields []Field
	for _, f := range s.Selection() {
		if f.known() {
			fields = append(fields, f)
		}
	}
	b := msgp.AppendMapHeader(nil, 2)
	b = msgp.AppendStr(b, "f")
	b = msgp.AppendArrayHeader(b, len(fields))
	for _, f := range fields {
		b = msgp.AppendUint(b, uint64(f))
	}
	b = msgp.AppendStr(b, "v")
	b = msgp.AppendArrayHeader(b, len(fields)*len(vals))
	for _, v := range vals {
		for _, f := range fields {
			switch f {
			case FieldID:
				b = msgp.AppendUint(b, v.ID)
			case FieldValueType:
				b = msgp.AppendUint(b, uint64(v.Type))
			case FieldOwnerPk:
				if len(v.Owner) > 0 {
					b = msgp.AppendBin(b, v.Owner)
				} else {
					b = msgp.AppendBin(b, make([]byte, wire.HashLen))
				}
			case FieldSeqNum:
				b = msgp.AppendUint(b, uint64(v.Seq))
			case FieldUserType:
				b = msgp.AppendStr(b, v.UserType)
			}
		}
	}
	return b
}

// UnpackFields reads a "fileds" map. "f" is required and is read as a
// sorted set; rows whose cells do not parse are skipped, as 2.4.12 does.
// Unlike 2.4.12 (which reads only bin(20)), an OwnerPk cell holding a
// public key (what OpenDHT actually sends) is accepted and reduced to its
// key id. An empty "f" is an error (2.4.12 divides by zero there).
func UnpackFields(b []byte) ([]Field, []FieldIndex, error) {
	fs, err := msgp.ReadMap(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: fileds: %v", ErrQuery, err)
	}
	rf := fs.Find("f")
	if rf == nil {
		return nil, nil, fmt.Errorf("%w: fileds without \"f\"", ErrQuery)
	}
	elems, err := asArray(rf)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: fileds.f: %v", ErrQuery, err)
	}
	var fields []Field
	for _, e := range elems {
		f, err := asInt(e)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: fileds.f: %v", ErrQuery, err)
		}
		fields = append(fields, Field(f))
	}
	slices.Sort(fields)
	fields = slices.Compact(fields)
	if len(fields) == 0 {
		return nil, nil, fmt.Errorf("%w: fileds with empty \"f\"", ErrQuery)
	}
	rv := fs.Find("v")
	if rv == nil {
		return fields, nil, nil
	}
	cells, err := asArray(rv)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: fileds.v: %v", ErrQuery, err)
	}
	var rows []FieldIndex
rows:
	for r := 0; r+len(fields) <= len(cells); r += len(fields) {
		idx := FieldIndex{}
		for j, f := range fields {
			fv, err := unpackCell(f, cells[r+j])
			if err != nil {
				continue rows
			}
			idx[f] = fv
		}
		rows = append(rows, idx)
	}
	return fields, rows, nil
}

func unpackCell(f Field, c []byte) (FieldValue, error) {
	fv := FieldValue{Field: f}
	var err error
	switch f {
	case FieldID, FieldValueType, FieldSeqNum:
		fv.Int, err = asUint(c, math.MaxUint64)
	case FieldOwnerPk:
		if fv.Hash, err = asBin20(c); err != nil {
			var blob []byte
			if blob, err = asBlob(c); err == nil {
				var der []byte
				if der, _, err = parseOwner(blob); err == nil {
					fv.Hash = wire.InfoHashOf(der)
				}
			}
		}
	case FieldUserType:
		fv.Blob, err = asBlob(c)
	default:
		err = msgp.ErrType
	}
	return fv, err
}
