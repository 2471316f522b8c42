package account

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/lib/archive"
)

// The key of testdata/jamid-folder/archive.gz (password "secret123"), as
// jamid's HEAD "key" scheme takes it.
const jamidArchiveKey = "2POcWVtUUDIQlRdA9MwOAVJr9RTMNrgD/ulQ1kM3qUc="

// fakePassword is a PasswordSource for tests.
type fakePassword struct {
	given bool
	pw    string
	ok    bool
	err   error
	asked int
}

func (f *fakePassword) Given() bool { return f.given }
func (f *fakePassword) Lookup() (string, bool, error) {
	f.asked++
	return f.pw, f.ok, f.err
}
func (f *fakePassword) Hint() string { return "use the test's password" }

func keyOf(s string) func() (archive.Key, error) {
	return func() (archive.Key, error) { return archive.ParseKey(s) }
}

func TestReadSource(t *testing.T) {
	dir := filepath.Join("testdata", "jamid-folder")
	s, err := ReadSource(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Folder == nil || s.Folder.Dir != dir || s.Path != filepath.Join(dir, ArchiveFile) || !s.Encrypted() {
		t.Fatalf("folder: %+v", s)
	}
	clear := readFile(t, filepath.Join("testdata", "archive-nopassword.gz"))
	s, err = ReadSource("-", bytes.NewReader(clear))
	if err != nil || s.Path != "stdin" || s.Folder != nil || !bytes.Equal(s.Data, clear) || s.Encrypted() {
		t.Fatalf("stdin: %+v %v", s, err)
	}
	if _, err := ReadSource(filepath.Join("testdata", "missing.gz"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := ReadSource("testdata", nil); !errors.Is(err, ErrNotAccount) {
		t.Fatalf("not an account folder: %v", err)
	}
}

func TestUnlockUnencrypted(t *testing.T) {
	clear := readFile(t, filepath.Join("testdata", "archive-nopassword.gz"))
	s := NewSource("clear.gz", clear)
	pw := &fakePassword{}
	if err := s.Unlock(Unlock{Password: pw}); err != nil {
		t.Fatal(err)
	}
	if s.Archive == nil || s.Key != nil || s.Password != nil || pw.asked != 0 {
		t.Fatalf("unlocked %+v, asked %d", s, pw.asked)
	}
	// A password given for an unencrypted archive is refused, as jamid
	// does; for data that is no archive at all, that is what is said.
	s = NewSource("clear.gz", clear)
	err := s.Unlock(Unlock{Password: &fakePassword{given: true, pw: "x", ok: true}})
	if !errors.Is(err, archive.ErrNotEncrypted) || !strings.HasPrefix(err.Error(), "clear.gz: ") {
		t.Fatalf("password for clear: %v", err)
	}
	s = NewSource("notes.txt", []byte("hello\n"))
	if err := s.Unlock(Unlock{Password: &fakePassword{given: true, pw: "x", ok: true}}); !errors.Is(err, archive.ErrNotArchive) {
		t.Fatalf("text: %v", err)
	}
	// An unreadable password file is reported as such.
	readErr := errors.New("password file: unreadable")
	s = NewSource("clear.gz", clear)
	if err := s.Unlock(Unlock{Password: &fakePassword{given: true, err: readErr}}); err != readErr {
		t.Fatalf("read error: %v", err)
	}
	s = NewSource("clear.gz", clear)
	if err := s.Unlock(Unlock{Key: keyOf(jamidArchiveKey)}); !errors.Is(err, archive.ErrNotEncrypted) {
		t.Fatalf("key for clear: %v", err)
	}
}

func TestUnlockWithKey(t *testing.T) {
	s, err := ReadSource(filepath.Join("testdata", "jamid-folder", ArchiveFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	pw := &fakePassword{given: true, pw: "never asked", ok: true}
	if err := s.Unlock(Unlock{Key: keyOf(jamidArchiveKey), Password: pw}); err != nil {
		t.Fatal(err)
	}
	if s.Archive.JamiID().String() != jamidID || s.Key == nil || s.Key.String() != jamidArchiveKey || s.Password != nil || pw.asked != 0 {
		t.Fatalf("unlocked %s key %v pw %v asked %d", s.Archive.JamiID(), s.Key, s.Password, pw.asked)
	}
	// Same lock: same salt and key, no Argon2.
	data, err := s.EncodeSameLock()
	if err != nil {
		t.Fatal(err)
	}
	if salt, _ := archive.SaltOf(data); !bytes.Equal(salt, s.Archive.Salt) {
		t.Fatal("EncodeSameLock: new salt")
	}
	if a, err := archive.DecodeWithKey(data, *s.Key); err != nil || a.JamiID() != s.Archive.JamiID() {
		t.Fatalf("EncodeSameLock: %v", err)
	}
	data, err = s.EncodeAsStored()
	if err != nil || !archive.IsEncrypted(data) {
		t.Fatalf("EncodeAsStored: %v", err)
	}
	// nil: gzip.
	data, key, err := s.Encode(nil)
	if err != nil || key != nil || archive.IsEncrypted(data) {
		t.Fatalf("Encode(nil): %v %v", key, err)
	}

	s.Archive = nil
	other := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	err = s.Unlock(Unlock{Key: keyOf(other)})
	if !errors.Is(err, archive.ErrWrongKey) || err.Error() != s.Path+": wrong archive key: wrong password" {
		t.Fatalf("wrong key: %v", err)
	}
	keyErr := errors.New("key file: unreadable")
	if err := s.Unlock(Unlock{Key: func() (archive.Key, error) { return archive.Key{}, keyErr }}); err != keyErr {
		t.Fatalf("key error: %v", err)
	}
}

func TestUnlockNoPassword(t *testing.T) {
	s := NewSource("enc.gz", readFile(t, filepath.Join("testdata", "jamid-folder", ArchiveFile)))
	err := s.Unlock(Unlock{Password: &fakePassword{}})
	if !errors.Is(err, archive.ErrPasswordRequired) || err.Error() != "enc.gz: archive is encrypted: a password is needed: use the test's password" {
		t.Fatalf("no password: %v", err)
	}
	if err := s.Unlock(Unlock{}); !errors.Is(err, archive.ErrPasswordRequired) {
		t.Fatalf("no source: %v", err)
	}
	readErr := errors.New("password file: unreadable")
	if err := s.Unlock(Unlock{Password: &fakePassword{given: true, err: readErr}}); err != readErr {
		t.Fatalf("read error: %v", err)
	}
}

// One Argon2 derivation for the password, one for a different new password;
// the same password again costs none.
func TestUnlockPasswordReusesKey(t *testing.T) {
	s := NewSource("enc.gz", readFile(t, filepath.Join("testdata", "jamid-folder", ArchiveFile)))
	if err := s.Unlock(Unlock{Password: &fakePassword{pw: "wrong", ok: true}}); err == nil || err.Error() != "enc.gz: wrong password" {
		t.Fatalf("wrong password: %v", err)
	}
	if err := s.Unlock(Unlock{Password: &fakePassword{pw: "secret123", ok: true}}); err != nil {
		t.Fatal(err)
	}
	if s.Key == nil || s.Key.String() != jamidArchiveKey || s.Password == nil || *s.Password != "secret123" {
		t.Fatalf("key %v password %v", s.Key, s.Password)
	}
	same := "secret123"
	data, key, err := s.Encode(&same)
	if err != nil || key == nil || *key != *s.Key {
		t.Fatalf("same password: %v %v", key, err)
	}
	if salt, _ := archive.SaltOf(data); !bytes.Equal(salt, s.Archive.Salt) {
		t.Fatal("same password: new salt")
	}
	if _, err := archive.DecodeWithKey(data, *key); err != nil {
		t.Fatal(err)
	}
	other := "other"
	data, key, err = s.Encode(&other)
	if err != nil || key == nil || *key == *s.Key {
		t.Fatalf("other password: %v %v", key, err)
	}
	if salt, _ := archive.SaltOf(data); bytes.Equal(salt, s.Archive.Salt) {
		t.Fatal("other password: salt reused")
	}
	if _, err := archive.DecodeWithKey(data, *key); err != nil {
		t.Fatalf("other password: key does not open the result: %v", err)
	}
}

// A bare JSON document is written back as one by EncodeAsStored, and as
// gzip (jamid's form without a password) by EncodeSameLock.
func TestEncodeAsStoredJSON(t *testing.T) {
	a, err := archive.Decode(readFile(t, filepath.Join("testdata", "archive-nopassword.gz")), nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := archive.EncodeFormat(a, archive.FormatJSON, archive.Key{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSource("doc.json", doc)
	if err := s.Unlock(Unlock{}); err != nil {
		t.Fatal(err)
	}
	if data, err := s.EncodeAsStored(); err != nil || !bytes.Equal(data, doc) {
		t.Fatalf("EncodeAsStored: %v", err)
	}
	data, err := s.EncodeSameLock()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := archive.Decode(data, nil); err != nil || b.Format != archive.FormatGzip {
		t.Fatalf("EncodeSameLock: %v", err)
	}
}

func TestCheckTarget(t *testing.T) {
	dir := t.TempDir()
	if err := CheckTarget(filepath.Join(dir, "new"), false); err != nil {
		t.Fatal(err)
	}
	if err := CheckTarget(dir, false); err != nil {
		t.Fatalf("empty: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "f"), nil, 0o600)
	if err := CheckTarget(dir, false); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("not empty: %v", err)
	}
	if err := CheckTarget(dir, true); err != nil {
		t.Fatalf("force: %v", err)
	}
	if err := CheckTarget(filepath.Join(dir, "f"), true); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("file: %v", err)
	}
}
