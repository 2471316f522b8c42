package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// folderArchive returns the archive file of a jamid account folder.
func folderArchive(dir string) (string, error) {
	p := filepath.Join(dir, "archive.gz")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s: not an account folder: %w", dir, err)
	}
	return p, nil
}
