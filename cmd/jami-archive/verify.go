package main

import (
	"fmt"
	"time"

	"github.com/jamikit/jamikit/lib/account"
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

func verifyCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "verify",
		Usage:     "check that archives decrypt, parse, and hold matching keys and a valid certificate chain",
		ArgsUsage: "FILE|DIR|- ...",
		Description: "For each archive: decrypts it, parses it as strictly as jamid, and checks that the account\n" +
			"key matches the account certificate, that the chain is account then CA and its signatures\n" +
			"and dates verify, that the account certificate may issue device certificates, and that the\n" +
			"CA key, Ethereum key, CRL and exported device certificate belong to the account. Prints\n" +
			"\"FILE: OK <jami id>\" per archive; exits 1 naming the first problem of the first bad archive.\n" +
			"All archives are read with the same password. JSON fields: file, ok, jami_id, format, problems.\n\n" +
			"Examples:\n" +
			"  jami-archive verify archive.gz --password-file pw\n" +
			"  jami-archive verify --json backups/*.gz --password-file pw",
		Flags: []ucli.Flag{
			cli.PasswordFileFlag(),
			keyFileFlag(),
			cli.JSONFlag(),
		},
		Action: runVerify,
	}
}

type verifyResult struct {
	File     string   `json:"file"`
	OK       bool     `json:"ok"`
	JamiID   string   `json:"jami_id,omitempty"`
	Format   string   `json:"format,omitempty"`
	Problems []string `json:"problems"`
}

func runVerify(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, -1); err != nil {
		return err
	}
	var first error
	for _, path := range c.Args().Slice() {
		r := verifyResult{File: path, Problems: []string{}}
		s, err := openArchive(c, path)
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
			if first == nil {
				first = err
			}
		} else {
			r.File, r.JamiID, r.Format = s.Path, s.Archive.JamiID().String(), s.Archive.Format.String()
			r.Problems = append(r.Problems, s.Archive.Problems(time.Now())...)
			r.Problems = append(r.Problems, folderProblems(s)...)
			if len(r.Problems) > 0 && first == nil {
				first = fmt.Errorf("%s: %s", s.Path, r.Problems[0])
			}
		}
		r.OK = len(r.Problems) == 0
		if cli.JSON(c) {
			if err := cli.PrintNDJSON(c, r); err != nil {
				return err
			}
		} else if r.OK {
			cli.Printf(c, "%s: OK %s\n", r.File, r.JamiID)
		}
	}
	return first
}

// folderProblems checks an account folder against its archive: the device
// chain and receipt as jamid checks them at load, and that both are of the
// same account.
func folderProblems(s *account.Source) []string {
	f := s.Folder
	if f == nil {
		return nil
	}
	var ps []string
	if f.JamiID() != s.Archive.JamiID() {
		ps = append(ps, fmt.Sprintf("%s: the device belongs to account %s, the archive to %s", f.Dir, f.JamiID(), s.Archive.JamiID()))
	}
	if err := f.Verify(time.Now()); err != nil {
		ps = append(ps, err.Error())
	}
	return ps
}
