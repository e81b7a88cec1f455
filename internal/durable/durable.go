// Package durable puts files in place so that they survive a crash: a
// file written beside its target is synced, renamed over the target's
// name and its directory synced, so the name holds either nothing or the
// whole file. Backups and restores use it, so that a half-written copy is
// never taken for a backup.
package durable

import (
	"os"
	"path/filepath"
)

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
