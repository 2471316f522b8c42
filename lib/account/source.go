package account

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/jamikit/jamikit/lib/archive"
)

// Source is an account as a tool is given it: an archive file, an archive
// on stdin, or a jamid account folder and its archive. ReadSource reads it;
// Unlock decodes the archive, asking for a secret only when the archive is
// encrypted; the Encode methods write it again, reusing the key it was
// unlocked with rather than running Argon2 a second time.
type Source struct {
	Path     string           // the archive file (a folder's archive.gz), or "stdin"; errors start with it
	Folder   *Folder          // the account folder, when one was given
	Data     []byte           // the archive's bytes as read
	Archive  *archive.Archive // set by Unlock
	Password *string          // the password Unlock used (nil: none, or a key was given)
	Key      *archive.Key     // the AES key: given, or derived from Password; nil for an unencrypted archive
}

// ReadSource reads the account at path: an archive file, a jamid account
// folder (then its archive, Folder.ArchivePath), or "-" for stdin. The
// archive is decoded by Unlock.
func ReadSource(path string, stdin io.Reader) (*Source, error) {
	if path == "-" {
		data, err := archive.ReadAll(stdin, "stdin")
		if err != nil {
			return nil, err
		}
		return NewSource("stdin", data), nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		f, err := Open(path)
		if err != nil {
			return nil, err
		}
		return f.Source()
	}
	data, err := archive.ReadBytes(path)
	if err != nil {
		return nil, err
	}
	return NewSource(path, data), nil
}

// NewSource is an archive already read; name is what messages call it.
func NewSource(name string, data []byte) *Source { return &Source{Path: name, Data: data} }

// Source reads the folder's archive.
func (f *Folder) Source() (*Source, error) {
	data, err := archive.ReadBytes(f.ArchivePath())
	if err != nil {
		return nil, err
	}
	s := NewSource(f.ArchivePath(), data)
	s.Folder = f
	return s, nil
}

// Encrypted reports whether the archive needs a password (or key).
func (s *Source) Encrypted() bool { return archive.IsEncrypted(s.Data) }

// Unlock says how Source.Unlock gets the secret of an encrypted archive.
// Both are asked for only when needed, so that nothing is prompted for an
// unencrypted archive.
type Unlock struct {
	// Key, when set, gives the archive's AES key itself (jamid's "key"
	// scheme, e.g. from a key file) instead of a password.
	Key func() (archive.Key, error)
	// Password is where the password comes from; nil: nowhere.
	Password PasswordSource
}

// PasswordSource is where a password comes from. lib/cli's
// Secret.Bind gives one for a command line.
type PasswordSource interface {
	// Given reports whether a password was supplied without asking (a
	// file, an environment variable).
	Given() bool
	// Lookup returns the password, asking for it if it can; ok is false,
	// with no error, when none can be had.
	Lookup() (pw string, ok bool, err error)
	// Hint says how to give one, for the error when none was, e.g.
	// "use --password-file, $JAMI_PASSWORD or a terminal".
	Hint() string
}

// Unlock decodes the archive:
//   - with u.Key when it is set (an unencrypted archive is then an error);
//   - else, for an unencrypted archive, without a secret; a password given
//     anyway is an error, as in jamid (it is read first, so that an
//     unreadable password file is reported as such);
//   - else with the password, whose derived key is kept (Key) for the
//     Encode methods and for showing.
//
// Errors about the archive start with s.Path; errors from u's callbacks
// are returned as they are.
func (s *Source) Unlock(u Unlock) error {
	fail := func(err error) error { return fmt.Errorf("%s: %w", s.Path, err) }
	if u.Key != nil {
		key, err := u.Key()
		if err != nil {
			return err
		}
		if s.Archive, err = archive.DecodeWithKey(s.Data, key); err != nil {
			return fail(err)
		}
		s.Key = &key
		return nil
	}
	given := u.Password != nil && u.Password.Given()
	if !s.Encrypted() {
		var pw *string
		if given {
			p, _, err := u.Password.Lookup()
			if err != nil {
				return err
			}
			// Decode refuses a password for unencrypted data, saying
			// whether it is an archive at all.
			pw = &p
		}
		a, err := archive.Decode(s.Data, pw)
		if err != nil {
			return fail(err)
		}
		if pw != nil { // cannot happen: Decode needs encrypted data for a password
			return fail(archive.ErrNotEncrypted)
		}
		s.Archive = a
		return nil
	}
	var pw string
	ok := false
	var err error
	if u.Password != nil {
		if pw, ok, err = u.Password.Lookup(); err != nil {
			return err
		}
	}
	if !ok {
		if u.Password == nil {
			return fail(archive.ErrPasswordRequired)
		}
		return fail(fmt.Errorf("%w: %s", archive.ErrPasswordRequired, u.Password.Hint()))
	}
	// Derive once and keep the key: writers reuse it, show prints it.
	salt, err := archive.SaltOf(s.Data)
	if err != nil {
		return fail(err)
	}
	key := archive.DeriveKey(pw, salt)
	if s.Archive, err = archive.DecodeWithKey(s.Data, key); err != nil {
		if errors.Is(err, archive.ErrWrongPassword) {
			err = archive.ErrWrongPassword // a password was given, not a key
		}
		return fail(err)
	}
	s.Password, s.Key = &pw, &key
	return nil
}

// OpenSource is ReadSource then Unlock.
func OpenSource(path string, stdin io.Reader, u Unlock) (*Source, error) {
	s, err := ReadSource(path, stdin)
	if err != nil {
		return nil, err
	}
	if err := s.Unlock(u); err != nil {
		return nil, err
	}
	return s, nil
}

// Encode encodes the (unlocked, possibly changed) archive with pw, or as
// gzip when pw is nil, with a fresh salt as jamid 13.7 does at every save;
// but when pw is the password the source was unlocked with, its key and salt
// are reused, which saves an Argon2 derivation (HEAD jamid reuses the salt
// too). key is the AES key of the result (nil for gzip), e.g. to read it
// back.
func (s *Source) Encode(pw *string) (data []byte, key *archive.Key, err error) {
	a := s.Archive
	if pw == nil {
		data, err = archive.Encode(a, nil)
		return data, nil, err
	}
	salt := a.Salt
	key = s.Key
	if key == nil || s.Password == nil || *s.Password != *pw || len(salt) != archive.SaltSize {
		salt = archive.NewSalt()
		k := archive.DeriveKey(*pw, salt)
		key = &k
	}
	data, err = archive.EncodeWithKey(a, salt, *key)
	return data, key, err
}

// EncodeSameLock encodes the archive locked as it was read: encrypted with
// the same key and salt (whether the key was given or derived from the
// password), or as gzip when it was not encrypted (jamid's two forms).
func (s *Source) EncodeSameLock() ([]byte, error) {
	if s.Key != nil {
		return archive.EncodeWithKey(s.Archive, s.Archive.Salt, *s.Key)
	}
	return archive.Encode(s.Archive, nil)
}

// EncodeAsStored encodes the archive in the form it was read in (a bare
// JSON document stays one), with the same key and salt: to write the file
// back in place.
func (s *Source) EncodeAsStored() ([]byte, error) {
	var key archive.Key
	if s.Key != nil {
		key = *s.Key
	}
	return archive.EncodeFormat(s.Archive, s.Archive.Format, key, s.Archive.Salt)
}
