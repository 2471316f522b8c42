package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

func backupCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "backup",
		Usage: "write a timestamped, verified, encrypted backup of an account (for cron)",
		Description: "Reads the account's archive (--account: an archive file or a jamid account folder), writes\n" +
			"it into the --to folder as JAMIID-YYYYMMDDTHHMMSSZ.gz (UTC) encrypted with the account's\n" +
			"password (--password-file or $JAMI_PASSWORD; for an unencrypted account this password\n" +
			"encrypts the backup, or --no-password keeps it unencrypted), reads the file back and checks\n" +
			"it, and only then deletes the oldest backups of that account beyond --keep. Files are\n" +
			"written atomically (never a partial file), 0600, in a folder created 0700. Prints the path\n" +
			"written; on any failure exits non-zero with a one-line reason. Only files named like its\n" +
			"own backups of the same account are ever deleted. JSON fields: path, jami_id, encrypted,\n" +
			"kept, pruned.\n\n" +
			"Examples:\n" +
			"  jami-archive backup --account ~/.local/share/jami/1a2b3c4d --to ~/jami-backups --keep 7 --password-file ~/.jami-pw\n" +
			"  # crontab: 15 4 * * * JAMI_PASSWORD=... jami-archive backup -q --account /srv/jami/alice --to /backup/jami --keep 30",
		Flags: []ucli.Flag{
			cli.AccountFlag(),
			&ucli.StringFlag{Name: "to", Usage: "backup `DIR` (created 0700 if missing)", TakesFile: true},
			&ucli.IntFlag{Name: "keep", Usage: "keep the newest `N` backups of the account, delete older ones (0: keep all)"},
			cli.PasswordFileFlag(),
			cli.NoPasswordFlag(),
			cli.JSONFlag(),
		},
		Action: runBackup,
	}
}

type backupResult struct {
	Path      string   `json:"path"`
	JamiID    string   `json:"jami_id"`
	Encrypted bool     `json:"encrypted"`
	Kept      []string `json:"kept"`
	Pruned    []string `json:"pruned"`
}

// staleTemp is how old an unfinished temporary file of ours must be before
// a later run removes it (a run killed while writing leaves one behind).
const staleTemp = time.Hour

func runBackup(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 0); err != nil {
		return err
	}
	src, dir, keep := c.String("account"), c.String("to"), c.Int("keep")
	if src == "" {
		return cli.UsageErrorf("backup: --account is required (or $%s)", cli.EnvAccount)
	}
	if dir == "" {
		return cli.UsageErrorf("backup: --to is required")
	}
	if keep < 0 {
		return cli.UsageErrorf("backup: --keep must be 0 (keep all) or more")
	}
	if c.Bool("no-password") && c.IsSet("password-file") {
		return cli.UsageErrorf("--no-password and --password-file exclude each other")
	}

	s, pw, err := openBackupSource(c, src)
	if err != nil {
		return err
	}
	// With the account's own password, its key and salt are reused (no
	// second Argon2).
	data, key, err := s.Encode(pw)
	if err != nil {
		return err
	}
	// Check the bytes before they touch the disk...
	if err := sameArchive(s.Archive, data, key); err != nil {
		return fmt.Errorf("backup does not read back: %w", err)
	}
	if err := atomicfile.MkdirPrivate(dir); err != nil {
		return err
	}
	id := s.Archive.JamiID().String()
	path, err := writeBackup(dir, id, data)
	if err != nil {
		return err
	}
	// ...and after: what is on disk is what was checked.
	if err := readBack(path, data, s.Archive, key); err != nil {
		os.Remove(path)
		return fmt.Errorf("%s: backup does not read back, removed: %w", path, err)
	}
	res := backupResult{Path: path, JamiID: id, Encrypted: pw != nil, Kept: []string{}, Pruned: []string{}}
	if err := prune(dir, id, filepath.Base(path), keep, &res); err != nil {
		return fmt.Errorf("backup %s written, but pruning failed: %w", path, err)
	}
	if cli.JSON(c) {
		return cli.PrintJSON(c, res)
	}
	cli.Printf(c, "%s\n", path)
	return nil
}

// openBackupSource reads the account's archive. For an encrypted archive
// the password unlocks it and encrypts the backup; for an unencrypted one
// a given password only encrypts the backup.
func openBackupSource(c *ucli.Context, src string) (*account.Source, *string, error) {
	s, err := account.ReadSource(src, cli.Stdin(c))
	if err != nil {
		return nil, nil, err
	}
	if s.Encrypted() {
		if err := s.Unlock(unlocking(c)); err != nil {
			return nil, nil, err
		}
		if c.Bool("no-password") {
			return s, nil, nil
		}
		return s, s.Password, nil
	}
	// Unencrypted: the password is not the archive's, so it is not handed
	// to Unlock (which would refuse it, as jamid does).
	if err := s.Unlock(account.Unlock{}); err != nil {
		return nil, nil, err
	}
	if c.Bool("no-password") {
		return s, nil, nil
	}
	secret := cli.ArchivePassword(false)
	if !secret.Given(c) {
		return nil, nil, fmt.Errorf("%s is not encrypted: give the backup a password with --password-file or $%s, or use --no-password", s.Path, cli.EnvPassword)
	}
	pw, err := secret.Read(c)
	if err != nil {
		return nil, nil, err
	}
	if pw == "" {
		return nil, nil, errors.New("the password is empty: use --no-password for an unencrypted backup")
	}
	return s, &pw, nil
}

// sameArchive decodes data (with key when encrypted) and compares its
// document with the original's.
func sameArchive(orig *archive.Archive, data []byte, key *archive.Key) error {
	var b *archive.Archive
	var err error
	if key != nil {
		b, err = archive.DecodeWithKey(data, *key)
	} else {
		b, err = archive.Decode(data, nil)
	}
	if err != nil {
		return err
	}
	// The writer sets Account.archiveHasPassword to the format it wrote;
	// compare the rest.
	if v, ok := b.Config[archive.ConfigHasPassword]; ok {
		if _, had := orig.Config[archive.ConfigHasPassword]; had {
			cp := *orig
			cp.Config = make(map[string]string, len(orig.Config))
			for k, v := range orig.Config {
				cp.Config[k] = v
			}
			cp.Config[archive.ConfigHasPassword] = v
			orig = &cp
		}
	}
	m1, err := archive.Marshal(orig)
	if err != nil {
		return err
	}
	m2, err := archive.Marshal(b)
	if err != nil {
		return err
	}
	if !bytes.Equal(m1, m2) {
		return errors.New("content differs from the account's archive")
	}
	return nil
}

func readBack(path string, data []byte, orig *archive.Archive, key *archive.Key) error {
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return errors.New("file differs from what was written")
	}
	return sameArchive(orig, got, key)
}

const stampLayout = "20060102T150405Z"

// backupName matches our own backups of one account: JAMIID-STAMP.gz.
func backupName(id string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(id) + `-\d{8}T\d{6}Z\.gz$`)
}

// writeBackup writes the backup under a new timestamped name. Two runs in
// the same second would collide; the later one waits for the next second
// rather than overwrite or invent another naming scheme.
func writeBackup(dir, id string, data []byte) (string, error) {
	for try := 0; ; try++ {
		path := filepath.Join(dir, id+"-"+time.Now().UTC().Format(stampLayout)+".gz")
		err := atomicfile.WriteFile(path, data, atomicfile.Options{Perm: 0o600})
		if err == nil || !errors.Is(err, atomicfile.ErrExists) || try == 2 {
			return path, err
		}
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	}
}

// prune keeps the backup just written and the newest others of the account
// (names sort by time), keep in all, and removes the rest; it also removes
// our own temporary files left by a killed run. Nothing else in dir is
// touched. The new backup is never removed, even if the clock went back.
func prune(dir, id, current string, keep int, res *backupResult) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	re := backupName(id)
	tmp := regexp.MustCompile(`^\.` + regexp.QuoteMeta(id) + `-\d{8}T\d{6}Z\.gz\.tmp\d+$`)
	ours := []string{current}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		switch {
		case e.Name() == current:
		case re.MatchString(e.Name()):
			ours = append(ours, e.Name())
		case tmp.MatchString(e.Name()):
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ours[1:])))
	for i, name := range ours {
		p := filepath.Join(dir, name)
		if keep == 0 || i < keep {
			res.Kept = append(res.Kept, p)
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		res.Pruned = append(res.Pruned, p)
	}
	return nil
}
