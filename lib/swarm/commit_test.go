package swarm

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func openFixture(t testing.TB, name string) *Repo {
	t.Helper()
	r, err := Open(filepath.Join("testdata", name+".git"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Every fixture commit parses to the recorded fields, its signature
// extraction gives the recorded payload, and it verifies with Alice's device
// certificate.
func TestFixtureCommitsParse(t *testing.T) {
	v := loadVectors(t)
	alice := loadIdentity(t, "alice")
	for name, repo := range v.Repos {
		r := openFixture(t, name)
		for _, vc := range repo.Commits {
			raw, err := r.ReadObject(plumbing.NewHash(vc.ID), plumbing.CommitObject)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) != vc.RawLen || sha256hex(raw) != vc.RawSHA256 {
				t.Errorf("%s: raw object differs from the vector", vc.ID)
			}
			c, err := ParseCommit(raw)
			if err != nil {
				t.Fatalf("%s: %v", vc.ID, err)
			}
			if c.ID.String() != vc.ID || c.Tree.String() != vc.Tree {
				t.Errorf("%s: id/tree %s %s", vc.ID, c.ID, c.Tree)
			}
			var parents []string
			for _, p := range c.Parents {
				parents = append(parents, p.String())
			}
			if strings.Join(parents, ",") != strings.Join(vc.Parents, ",") {
				t.Errorf("%s: parents %v, want %v", vc.ID, parents, vc.Parents)
			}
			for _, p := range []Person{c.Author, c.Committer} {
				if p.Name != vc.AuthorName || p.Email != vc.AuthorDevice || p.When != vc.Time || p.Offset != 0 || p.NegativeZero {
					t.Errorf("%s: person %+v", vc.ID, p)
				}
			}
			if string(c.Message) != vc.Message || string(c.TextMessage()) != vc.Message {
				t.Errorf("%s: message %q", vc.ID, c.Message)
			}
			if h, _ := c.Header(SignatureHeader); h != vc.SignatureB64 || len(c.Headers) != 1 {
				t.Errorf("%s: headers %v", vc.ID, c.Headers)
			}
			sig, payload, err := Signature(raw)
			if err != nil {
				t.Fatalf("%s: %v", vc.ID, err)
			}
			if base64.StdEncoding.EncodeToString(sig) != vc.SignatureB64 {
				t.Errorf("%s: extracted signature differs", vc.ID)
			}
			if len(payload) != vc.PayloadLen || sha256hex(payload) != vc.PayloadSHA256 {
				t.Errorf("%s: payload differs from the vector (len %d)", vc.ID, len(payload))
			}
			if err := VerifyCommit(raw, alice.device); err != nil {
				t.Errorf("%s: %v", vc.ID, err)
			}
			if err := VerifyCommit(raw, loadIdentity(t, "bob").device); err == nil {
				t.Errorf("%s: verifies with Bob's certificate", vc.ID)
			}
		}
	}
}

// Regenerating each fixture commit from its fields with Alice's throwaway
// key reproduces the commit id: payload layout, signature (deterministic
// PKCS#1 v1.5) and header placement are byte-identical to jamid's.
func TestFixtureCommitsRegenerate(t *testing.T) {
	v := loadVectors(t)
	alice := loadIdentity(t, "alice")
	for _, repo := range v.Repos {
		for _, vc := range repo.Commits {
			c := &Commit{
				Tree:      plumbing.NewHash(vc.Tree),
				Author:    Person{Name: vc.AuthorName, Email: vc.AuthorDevice, When: vc.Time},
				Committer: Person{Name: vc.AuthorName, Email: vc.AuthorDevice, When: vc.Time},
				Message:   []byte(vc.Message),
			}
			for _, p := range vc.Parents {
				c.Parents = append(c.Parents, plumbing.NewHash(p))
			}
			payload, err := c.Payload()
			if err != nil {
				t.Fatal(err)
			}
			if sha256hex(payload) != vc.PayloadSHA256 {
				t.Errorf("%s: payload differs", vc.ID)
			}
			if err := c.Sign(alice.key); err != nil {
				t.Fatal(err)
			}
			if c.ID.String() != vc.ID {
				t.Errorf("regenerated %s, want %s", c.ID, vc.ID)
			}
			if sha256hex(c.Raw) != vc.RawSHA256 {
				t.Errorf("%s: raw bytes differ", vc.ID)
			}
			if h, _ := c.Header(SignatureHeader); h != vc.SignatureB64 {
				t.Errorf("%s: signature differs", vc.ID)
			}
		}
	}
}

func TestParseCommitLibgit2Leniency(t *testing.T) {
	tree := strings.Repeat("a", 40)
	for _, tc := range []struct {
		name, raw string
		ok        bool
		check     func(*Commit) bool
	}{
		{"minimal", "tree " + tree + "\nauthor A <e> 1 +0000\ncommitter A <e> 2 +0000\n\nmsg", true,
			func(c *Commit) bool { return c.Time() == 2 && string(c.Message) == "msg" }},
		{"no empty line", "tree " + tree + "\nauthor A <e> 1 +0000\ncommitter A <e> 2 +0000\n", true,
			func(c *Commit) bool { return len(c.Message) == 0 }},
		{"no time", "tree " + tree + "\nauthor A <e>\ncommitter  B  < f > \n\nx", true,
			func(c *Commit) bool { return c.Committer.Name == "B" && c.Committer.Email == "f" && c.Time() == 0 }},
		{"last angle brackets", "tree " + tree + "\nauthor A <x> <e> 1 +0000\ncommitter A <e> 2 +0000\n\n", true,
			func(c *Commit) bool { return c.Author.Email == "e" && c.Author.Name == "A <x>" }},
		{"bad zone is zero", "tree " + tree + "\nauthor A <e> 1 +zz\ncommitter A <e> 2 -0130\n\n", true,
			func(c *Commit) bool { return c.Author.Offset == 0 && c.Committer.Offset == -90 }},
		{"extra author", "tree " + tree + "\nauthor A <e> 1 +0000\nauthor B <f> 1 +0000\ncommitter A <e> 2 +0000\n\n", true,
			func(c *Commit) bool { return c.Author.Email == "e" }},
		{"folded header", "tree " + tree + "\nauthor A <e> 1 +0000\ncommitter A <e> 2 +0000\ngpgsig a\n b\n\nm", true,
			func(c *Commit) bool { v, _ := c.Header("gpgsig"); return v == "a\nb" && string(c.Message) == "m" }},
		{"leading newlines in message", "tree " + tree + "\nauthor A <e> 1 +0000\ncommitter A <e> 2 +0000\n\n\n\n{}", true,
			func(c *Commit) bool { return string(c.TextMessage()) == "{}" && string(c.Message) == "\n\n{}" }},
		{"bad parent stops parents", "tree " + tree + "\nparent xyz\nauthor A <e> 1 +0000\ncommitter A <e> 2 +0000\n\n", false, nil},
		{"no tree", "author A <e> 1 +0000\ncommitter A <e> 2 +0000\n\n", false, nil},
		{"bad time", "tree " + tree + "\nauthor A <e> x\ncommitter A <e> 2 +0000\n\n", false, nil},
		{"no committer", "tree " + tree + "\nauthor A <e> 1 +0000\n\n", false, nil},
		{"angle order", "tree " + tree + "\nauthor A >e< 1 +0000\ncommitter A <e> 2 +0000\n\n", false, nil},
	} {
		c, err := ParseCommit([]byte(tc.raw))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if err == nil && !tc.check(c) {
			t.Errorf("%s: unexpected parse %+v", tc.name, c)
		}
	}
}

func TestExtractSignatureQuirks(t *testing.T) {
	for _, tc := range []struct {
		name, raw, sig, signed string
		err                    bool
	}{
		{"normal", "tree x\nsignature abc\n\nmsg", "abc", "tree x\n\nmsg", false},
		{"continuation", "tree x\nsignature a\n b\n c\n\nmsg", "a\nb\nc", "tree x\n\nmsg", false},
		{"first of two", "tree x\nsignature a\nsignature b\n\nmsg", "a", "tree x\nsignature b\n\nmsg", false},
		// libgit2 keeps scanning message lines.
		{"in message", "tree x\n\nsignature zz\nend", "zz", "tree x\n\nend", false},
		// ...but never the last line.
		{"last line", "tree x\n\nsignature zz", "", "", true},
		// A longer header name loses the "signature" prefix from the payload.
		{"prefix only", "tree x\nsignaturex y\n\nm", "", "", true},
		{"prefix then real", "tree x\nsignatures y\nsignature s\n\nm", "s", "tree x\ns y\n\nm", false},
		{"nul truncates", "tree x\nsignature a\n\nm\x00signature b\n", "a", "tree x\n\nm", false},
		{"unsigned", "tree x\n\nmsg", "", "", true},
	} {
		sig, signed, err := ExtractSignature([]byte(tc.raw), SignatureHeader)
		if (err != nil) != tc.err {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if err == nil && (string(sig) != tc.sig || string(signed) != tc.signed) {
			t.Errorf("%s: got sig %q signed %q", tc.name, sig, signed)
		}
	}
}

func TestPayloadRefusesBadPeople(t *testing.T) {
	base := Commit{Author: Person{Name: "A", Email: "e"}, Committer: Person{Name: "A", Email: "e"}}
	for _, p := range []Person{{Name: "a<b", Email: "e"}, {Name: "", Email: "e"}, {Name: " a", Email: "e"}, {Name: "a", Email: "e\n"}, {Name: "a", Email: "e", Offset: 24 * 60}} {
		c := base
		c.Author = p
		if _, err := c.Payload(); err == nil {
			t.Errorf("accepted %+v", p)
		}
	}
	c := base
	c.Author.When = 1 << 32 // libgit2 prints the time through (unsigned)
	c.Author.Offset = -330
	pl, err := c.Payload()
	if err != nil || !bytes.Contains(pl, []byte("author A <e> 0 -0530\n")) {
		t.Errorf("payload %q, %v", pl, err)
	}
}

func TestInsertSignatureHeader(t *testing.T) {
	out, err := InsertSignatureHeader([]byte("tree x\nauthor y\n\nbody\n\nmore"), "signature", "a\nb")
	if err != nil || string(out) != "tree x\nauthor y\nsignature a\n b\n\nbody\n\nmore" {
		t.Errorf("%q %v", out, err)
	}
	if _, err := InsertSignatureHeader([]byte("tree x\n"), "signature", "a"); err == nil {
		t.Error("no header end accepted")
	}
}

func TestCertificateChain(t *testing.T) {
	v := loadVectors(t)
	for name, want := range v.Identities {
		id := loadIdentity(t, name)
		if len(id.chain) != 3 {
			t.Fatalf("%s: chain of %d", name, len(id.chain))
		}
		dev, acct, ca := id.chain[0], id.chain[1], id.chain[2]
		if DeviceID(dev) != want.DeviceID || AccountURI(acct) != want.AccountURI || AccountURI(ca) != want.CAID {
			t.Errorf("%s: ids %s %s %s", name, DeviceID(dev), AccountURI(acct), AccountURI(ca))
		}
		if IssuerUID(dev) != want.AccountURI || SubjectUID(dev) != want.DeviceShortID || SubjectUID(acct) != want.AccountURI {
			t.Errorf("%s: UIDs %q %q %q", name, IssuerUID(dev), SubjectUID(dev), SubjectUID(acct))
		}
		if !IsDeviceCert(dev, want.AccountURI) || IsDeviceCert(acct, want.AccountURI) {
			t.Errorf("%s: device/account classification", name)
		}
		if err := CheckDeviceChain(dev, id.chain[1:], dev.NotBefore); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := CheckDeviceChain(dev, id.chain[1:], dev.NotAfter.AddDate(0, 0, 1)); err == nil {
			t.Errorf("%s: expired chain accepted", name)
		}
	}
	alice, bob := loadIdentity(t, "alice"), loadIdentity(t, "bob")
	if err := CheckDeviceChain(alice.device, bob.chain[1:], alice.device.NotBefore); err == nil {
		t.Error("Alice's device accepted under Bob's account")
	}
}
