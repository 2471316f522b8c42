package main

import (
	"github.com/jamikit/jamikit/lib/account"
)

// openFolder reads a jamid account folder (config.yml, device key and
// chain); its archive is at f.ArchivePath().
func openFolder(dir string) (*account.Folder, error) {
	return account.Open(dir)
}
