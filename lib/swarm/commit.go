package swarm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
)

// SignatureHeader is the commit header jamid stores the device signature in
// (libgit2 git_commit_create_with_signature(…, "signature")), not gpgsig.
const SignatureHeader = "signature"

// Person is an author or committer line. Jami writes the display name, the
// 64-hex device ID as e-mail, the unix time and "+0000".
type Person struct {
	Name  string
	Email string
	// When is the unix time in seconds as libgit2 parses it.
	When int64
	// Offset is the time zone offset in minutes east of UTC (always 0 in
	// Jami commits).
	Offset int
	// NegativeZero records a "-0000" zone, which libgit2 keeps apart
	// from "+0000".
	NegativeZero bool
}

// Header is a commit header other than tree/parent/author/committer, with
// continuation lines folded back into Value joined by "\n".
type Header struct {
	Name  string
	Value string
}

// Commit is a parsed or to-be-written git commit object.
type Commit struct {
	// ID is the git object id of Raw (zero for a commit not yet encoded).
	ID        plumbing.Hash
	Tree      plumbing.Hash
	Parents   []plumbing.Hash
	Author    Person
	Committer Person
	// Headers holds the other headers in order, including `signature`.
	Headers []Header
	// Message is libgit2's raw message: everything after the empty line
	// that ends the headers.
	Message []byte
	// Raw is the object content as stored (without the "commit <len>\0"
	// prefix). Set by ParseCommit and Sign.
	Raw []byte
}

// HashObject returns the git object id of content of the given type.
func HashObject(t plumbing.ObjectType, content []byte) plumbing.Hash {
	return plumbing.ComputeHash(t, content)
}

// isSpace is git__isspace: the bytes libgit2 trims around names and e-mails.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == '\v'
}

func trimSpace(b []byte) string {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return string(b[i:j])
}

// ParseCommit parses a raw commit object the way libgit2 1.5 (commit_parse)
// does, which is what jamid uses to read tree, parents, author, committer
// and message. Header lines after the committer are kept in Headers.
func ParseCommit(raw []byte) (*Commit, error) {
	c := &Commit{Raw: raw, ID: HashObject(plumbing.CommitObject, raw)}
	buf := raw
	var err error
	if c.Tree, buf, err = parseOIDLine(buf, "tree "); err != nil {
		return nil, fmt.Errorf("commit: tree: %w", err)
	}
	for bytes.HasPrefix(buf, []byte("parent ")) {
		var p plumbing.Hash
		var rest []byte
		if p, rest, err = parseOIDLine(buf, "parent "); err != nil {
			// libgit2 stops at the first line that is not a valid parent
			// line and then requires an author line there.
			break
		}
		c.Parents = append(c.Parents, p)
		buf = rest
	}
	if c.Author, buf, err = parsePersonLine(buf, "author "); err != nil {
		return nil, fmt.Errorf("commit: author: %w", err)
	}
	// Extra author lines are ignored by libgit2 (some tools write them).
	for bytes.HasPrefix(buf, []byte("author ")) {
		if _, buf, err = parsePersonLine(buf, "author "); err != nil {
			return nil, fmt.Errorf("commit: author: %w", err)
		}
	}
	if c.Committer, buf, err = parsePersonLine(buf, "committer "); err != nil {
		return nil, fmt.Errorf("commit: committer: %w", err)
	}
	// Remaining headers up to the empty line. A line starting with a space
	// continues the previous header (git's folding).
	pos := len(raw) - len(buf)
	for pos < len(raw) {
		if raw[pos-1] == '\n' && raw[pos] == '\n' {
			break
		}
		eol := bytes.IndexByte(raw[pos:], '\n')
		line := raw[pos:]
		next := len(raw)
		if eol >= 0 {
			line = raw[pos : pos+eol]
			next = pos + eol + 1
		}
		if len(line) > 0 && line[0] == ' ' && len(c.Headers) > 0 {
			h := &c.Headers[len(c.Headers)-1]
			h.Value += "\n" + string(line[1:])
		} else {
			name, value, _ := bytes.Cut(line, []byte(" "))
			c.Headers = append(c.Headers, Header{Name: string(name), Value: string(value)})
		}
		pos = next
	}
	// The message starts after the empty line; a commit without one has an
	// empty message (libgit2 behaviour).
	if pos+1 <= len(raw) {
		c.Message = raw[pos+1:]
	} else {
		c.Message = []byte{}
	}
	return c, nil
}

func parseOIDLine(buf []byte, prefix string) (plumbing.Hash, []byte, error) {
	var h plumbing.Hash
	n := len(prefix) + 2*len(h) + 1
	if len(buf) < n || string(buf[:len(prefix)]) != prefix || buf[n-1] != '\n' {
		return h, buf, errors.New("malformed line")
	}
	if _, err := hex.Decode(h[:], buf[len(prefix):n-1]); err != nil {
		return h, buf, errors.New("bad object id")
	}
	return h, buf[n:], nil
}

// parsePersonLine follows git_signature__parse: the e-mail is between the
// last '<' and the last '>' of the line, name and e-mail are trimmed, a
// missing time is 0, a malformed zone is +0000.
func parsePersonLine(buf []byte, prefix string) (Person, []byte, error) {
	var p Person
	eol := bytes.IndexByte(buf, '\n')
	if eol < 0 {
		return p, buf, errors.New("no newline given")
	}
	line := buf[:eol]
	rest := buf[eol+1:]
	if len(line) <= len(prefix) || string(line[:len(prefix)]) != prefix {
		return p, buf, errors.New("expected prefix doesn't match actual")
	}
	line = line[len(prefix):]
	lt := bytes.LastIndexByte(line, '<')
	gt := bytes.LastIndexByte(line, '>')
	if lt < 0 || gt < 0 || gt <= lt {
		return p, buf, errors.New("malformed e-mail")
	}
	p.Name = trimSpace(line[:lt])
	p.Email = trimSpace(line[lt+1 : gt])
	if gt+2 < len(line) {
		t, end, ok := strntol64(line[gt+2:])
		if !ok {
			return p, buf, errors.New("invalid Unix timestamp")
		}
		p.When = t
		tzStart := gt + 2 + end + 1
		if tzStart < len(line) {
			tz := line[tzStart:]
			var off int64
			if tz[0] == '-' || tz[0] == '+' {
				v, _, ok := strntol64(tz[1:])
				if ok && v == int64(int32(v)) {
					off = v
				}
			}
			hours, mins := off/100, off%100
			if hours <= 14 && mins <= 59 {
				p.Offset = int(hours*60 + mins)
				if tz[0] == '-' {
					p.Offset = -p.Offset
					p.NegativeZero = p.Offset == 0
				}
			}
		}
	}
	return p, rest, nil
}

// strntol64 is libgit2's git__strntol64 in base 10: optional blanks and
// sign, at least one digit, overflow is an error. It returns the value and
// the number of bytes consumed.
func strntol64(b []byte) (int64, int, bool) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	var n int64
	ndig, ovfl := 0, false
	for ; i < len(b); i, ndig = i+1, ndig+1 {
		c := b[i]
		if c < '0' || c > '9' {
			break
		}
		v := int64(c - '0')
		if neg {
			v = -v
		}
		if ovfl {
			continue
		}
		nn := n * 10
		if nn/10 != n {
			ovfl = true
			continue
		}
		s := nn + v
		if (v > 0 && s < nn) || (v < 0 && s > nn) {
			ovfl = true
			continue
		}
		n = s
	}
	if ndig == 0 || ovfl {
		return 0, i, false
	}
	return n, i, true
}

// Header returns the value of the first header with that name.
func (c *Commit) Header(name string) (string, bool) {
	for _, h := range c.Headers {
		if h.Name == name {
			return h.Value, true
		}
	}
	return "", false
}

// AuthorDevice is the author e-mail, which Jami sets to the signing
// device's 64-hex ID.
func (c *Commit) AuthorDevice() string { return c.Author.Email }

// Time is the committer time jamid uses for ordering and as "timestamp".
func (c *Commit) Time() int64 { return c.Committer.When }

// TextMessage returns the message as git_commit_message() does: leading
// newlines trimmed. It is what jamid parses as JSON.
func (c *Commit) TextMessage() []byte {
	m := c.Message
	for len(m) > 0 && m[0] == '\n' {
		m = m[1:]
	}
	// libgit2 hands the message around as a C string.
	if i := bytes.IndexByte(m, 0); i >= 0 {
		m = m[:i]
	}
	return m
}

// IsMerge reports a commit with more than one parent; jamid 2023 calls such
// commits "merge" without looking at the message.
func (c *Commit) IsMerge() bool { return len(c.Parents) > 1 }

// writePerson is git_signature__writebuf: "%s%s <%s> %u %c%02d%02d\n".
// The time is printed through an unsigned 32-bit cast, as libgit2 does.
func writePerson(b *bytes.Buffer, header string, p Person) {
	off := p.Offset
	sign := byte('+')
	if off < 0 || p.NegativeZero {
		sign = '-'
	}
	if off < 0 {
		off = -off
	}
	b.WriteString(header)
	b.WriteString(p.Name)
	b.WriteString(" <")
	b.WriteString(p.Email)
	b.WriteString("> ")
	b.WriteString(strconv.FormatUint(uint64(uint32(p.When)), 10))
	b.WriteByte(' ')
	b.WriteByte(sign)
	fmt.Fprintf(b, "%02d%02d\n", off/60, off%60)
}

// Payload returns the unsigned commit text exactly as libgit2's
// git_commit_create_buffer builds it: tree, parents, author, committer, an
// empty line, the message. Headers other than those are not written (Jami
// commits have none). This is the byte string the device signs.
func (c *Commit) Payload() ([]byte, error) {
	if err := checkPerson(c.Author); err != nil {
		return nil, fmt.Errorf("author: %w", err)
	}
	if err := checkPerson(c.Committer); err != nil {
		return nil, fmt.Errorf("committer: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("tree ")
	b.WriteString(c.Tree.String())
	b.WriteByte('\n')
	for _, p := range c.Parents {
		b.WriteString("parent ")
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	writePerson(&b, "author ", c.Author)
	writePerson(&b, "committer ", c.Committer)
	b.WriteByte('\n')
	b.Write(c.Message)
	return b.Bytes(), nil
}

// checkPerson refuses what libgit2's git_signature_new refuses (angle
// brackets, empty after trimming) and what would corrupt the object
// (newlines, NUL, untrimmed values that libgit2 would have trimmed).
func checkPerson(p Person) error {
	for _, s := range []string{p.Name, p.Email} {
		if s == "" || trimSpace([]byte(s)) != s {
			return fmt.Errorf("empty or untrimmed name or e-mail %q", s)
		}
		if bytes.ContainsAny([]byte(s), "<>\n\x00") {
			return fmt.Errorf("name or e-mail %q contains <, >, newline or NUL", s)
		}
	}
	if p.Offset <= -24*60 || p.Offset >= 24*60 {
		return fmt.Errorf("time zone offset %d out of range", p.Offset)
	}
	return nil
}

// InsertSignatureHeader returns payload with "<field> <value>\n" inserted
// after the first "\n" of the first "\n\n" (libgit2
// git_commit_create_with_signature). Newlines in value become continuation
// lines ("\n ").
func InsertSignatureHeader(payload []byte, field, value string) ([]byte, error) {
	i := bytes.Index(payload, []byte("\n\n"))
	if i < 0 {
		return nil, errors.New("malformed commit contents: no end of headers")
	}
	i++
	var b bytes.Buffer
	b.Grow(len(payload) + len(field) + len(value) + 2)
	b.Write(payload[:i])
	b.WriteString(field)
	b.WriteByte(' ')
	b.WriteString(string(bytes.ReplaceAll([]byte(value), []byte("\n"), []byte("\n "))))
	b.WriteByte('\n')
	b.Write(payload[i:])
	return b.Bytes(), nil
}

// ErrNotSigned is returned by ExtractSignature for a commit without the
// header.
var ErrNotSigned = errors.New("commit is not signed")

// ExtractSignature mirrors libgit2's git_commit_extract_signature(…, field)
// on raw object bytes, quirks included: the object is read as a C string;
// lines are scanned up to (not including) the last one, including message
// lines; the first line that starts with field followed by a space is the
// header, continuation lines are joined with "\n"; the signed data is every
// other line. A line that starts with field but no space loses that prefix
// from the signed data (a libgit2 oddity no Jami writer triggers).
func ExtractSignature(raw []byte, field string) (sig, signed []byte, err error) {
	buf := raw
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	var out bytes.Buffer
	pos := 0
	for {
		nl := bytes.IndexByte(buf[pos:], '\n')
		if nl < 0 {
			break
		}
		h := pos + nl + 1
		if h >= len(buf) {
			break
		}
		if !bytes.HasPrefix(buf[pos:], []byte(field)) {
			out.Write(buf[pos:h])
			pos = h
			continue
		}
		hh := pos + len(field)
		if buf[hh] != ' ' {
			pos = hh
			continue
		}
		eol := hh + bytes.IndexByte(buf[hh:], '\n')
		var s bytes.Buffer
		s.Write(buf[hh+1 : eol])
		for eol+1 < len(buf) && buf[eol+1] == ' ' {
			s.WriteByte('\n')
			start := eol + 2
			e := bytes.IndexByte(buf[start:], '\n')
			if e < 0 {
				return nil, nil, errors.New("malformed header")
			}
			eol = start + e
			s.Write(buf[start:eol])
		}
		out.Write(buf[eol+1:])
		return s.Bytes(), out.Bytes(), nil
	}
	return nil, nil, ErrNotSigned
}
