package avatar

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/hanashi-chat/hanashi"
)

// Dir keeps processed avatars as files in one directory. Every name it
// gives out and accepts is 32 lower-case hex digits (128 random bits) and
// ".png"; any other name is not found, so no name can reach outside the
// directory, and the files are opened through an os.Root besides, which
// refuses paths and symbolic links that lead out of it.
//
// A name is never reused, so what is stored under one never changes and may
// be cached forever. Several nodes can share a Dir on a shared file system:
// names do not collide and a file appears whole or not at all.
//
// Dir is safe for concurrent use.
type Dir struct {
	root *os.Root
}

// nameLen is the length of a stored name: 32 hex digits and ".png".
const nameLen = 32 + len(".png")

// OpenDir opens the directory at path, creating it (mode 0750) if needed.
// Close releases it.
func OpenDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("avatar: creating the avatar directory: %w", err)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("avatar: opening the avatar directory: %w", err)
	}
	return &Dir{root: root}, nil
}

// Close releases the directory. Files opened from it stay usable.
func (d *Dir) Close() error { return d.root.Close() }

// Path is the directory's path as given to OpenDir.
func (d *Dir) Path() string { return d.root.Name() }

// Save stores png (the output of Process) under a new name and returns the
// name. It writes a temporary file and renames it into place, so readers
// never see part of a file. The file's mode is 0644: avatars are public,
// and a reverse proxy running as another user may serve the directory.
func (d *Dir) Save(png []byte) (name string, err error) {
	name = newName()
	tmp := ".tmp-" + name
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("avatar: saving: %w", err)
	}
	defer func() {
		if err != nil {
			d.root.Remove(tmp)
		}
	}()
	_, err = f.Write(png)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.root.Rename(tmp, name)
	}
	if err != nil {
		return "", fmt.Errorf("avatar: saving: %w", err)
	}
	return name, nil
}

// Open opens the avatar stored under name for reading. A name Save did not
// make, or one no longer stored, fails with ENOTFOUND.
func (d *Dir) Open(name string) (*os.File, error) {
	if !d.stored(name) {
		return nil, errNotFound
	}
	f, err := d.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("avatar: opening %s: %w", name, err)
	}
	return f, nil
}

// Remove deletes the avatar stored under name. A name Save did not make, or
// one no longer stored, fails with ENOTFOUND.
func (d *Dir) Remove(name string) error {
	if !d.stored(name) {
		return errNotFound
	}
	err := d.root.Remove(name)
	if errors.Is(err, fs.ErrNotExist) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("avatar: removing %s: %w", name, err)
	}
	return nil
}

// stored reports whether name is a valid name and a regular file in the
// directory: not a directory, and not a symbolic link, wherever it leads
// (Save makes neither).
func (d *Dir) stored(name string) bool {
	if !ValidName(name) {
		return false
	}
	fi, err := d.root.Lstat(name)
	return err == nil && fi.Mode().IsRegular()
}

var errNotFound = hanashi.Errorf(hanashi.ENOTFOUND, "avatar not found")

// ValidName reports whether name has the form of a name Save makes: 32
// lower-case hex digits and ".png", nothing else. Such a name has no
// separator, no dot but the one before "png", and cannot be "." or "..".
func ValidName(name string) bool {
	if len(name) != nameLen || name[32:] != ".png" {
		return false
	}
	for i := range 32 {
		if c := name[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func newName() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand documents it).
	return hex.EncodeToString(b[:]) + ".png"
}
