// Package atomicfile writes files so that a reader, a crash or a full disk never
// leaves a half-written file behind: data goes to a temporary file in the same
// directory, is synced, and is renamed over the destination only when complete.
//
// It lives outside lib/cli because domain packages (account folders, backups)
// need the same guarantee and must not import the CLI layer.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is returned when the destination exists and overwriting was not asked for.
var ErrExists = errors.New("file exists (use --force to overwrite)")

// Options say how a file is written.
type Options struct {
	Perm  fs.FileMode // permission bits of the new file (0600 for secrets)
	Force bool        // replace an existing file
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte, opt Options) error {
	return Write(path, opt, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write streams content produced by fill into path atomically. If fill fails,
// nothing is left on disk.
func Write(path string, opt Options, fill func(io.Writer) error) (err error) {
	if opt.Perm == 0 {
		opt.Perm = 0o644
	}
	if !opt.Force {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s: %w", path, ErrExists)
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if err = tmp.Chmod(opt.Perm); err != nil {
		return err
	}
	if err = fill(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if !opt.Force {
		// Link fails if the destination appeared meanwhile; rename would clobber it.
		if err = os.Link(tmpName, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				err = fmt.Errorf("%s: %w", path, ErrExists)
			}
			return err
		}
		os.Remove(tmpName)
	} else if err = os.Rename(tmpName, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// MkdirPrivate creates dir (and parents) with mode 0700, for folders that hold keys.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some filesystems refuse fsync on directories; the rename is done either way.
	_ = d.Sync()
	return nil
}
