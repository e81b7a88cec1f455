// Package durable puts files in place so that they survive a crash: a
// file written beside its target is synced, renamed over the target's
// name and its directory synced, so the name holds either nothing or the
// whole file. Backups and restores use it, so that a half-written copy is
// never taken for a backup.
package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Partial returns the name to write the new file out under until it is
// complete, out + ".partial", for Rename to put in place. out must not
// exist; a partial file that an interrupted attempt left is removed.
func Partial(out string) (string, error) {
	if _, err := os.Lstat(out); err == nil {
		return "", fmt.Errorf("%s exists; name a new file", out)
	}
	tmp := out + ".partial"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return tmp, nil
}

// Rename syncs the file tmp, renames it to dst and syncs dst's directory.
// tmp and dst must be in one file system, as files in one directory are.
func Rename(tmp, dst string) error {
	if err := Sync(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return Sync(filepath.Dir(dst))
}

// Sync flushes the file or directory at path to disk.
func Sync(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
