package avatar_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/avatar"
)

// sandbox is a parent directory holding a sentinel file and an avatar
// directory, with traps inside the avatar directory that lead out of it.
type sandbox struct {
	parent   string
	dir      *avatar.Dir
	saved    string      // a name Save returned
	sentinel os.FileInfo // the file that must never be opened
}

const sentinelText = "SENTINEL: outside the avatar directory"

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	parent := t.TempDir()
	for _, name := range []string{"secret", "x", "passwd", "0123456789abcdef0123456789abcdef.png"} {
		if err := os.WriteFile(filepath.Join(parent, name), []byte(sentinelText), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sentinel, err := os.Stat(filepath.Join(parent, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := avatar.OpenDir(filepath.Join(parent, "avatars"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	saved, err := d.Save([]byte("avatar"))
	if err != nil {
		t.Fatal(err)
	}
	// Traps: names of the valid form that are a link out of the directory
	// or a directory.
	if err := os.Symlink(filepath.Join(parent, "secret"), filepath.Join(d.Path(), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret", filepath.Join(d.Path(), "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(d.Path(), "cccccccccccccccccccccccccccccccc.png"), 0o700); err != nil {
		t.Fatal(err)
	}
	return &sandbox{parent: parent, dir: d, saved: saved, sentinel: sentinel}
}

// check fails unless name is opened only when it is the saved avatar, and
// then opens that very file, inside the directory.
func (s *sandbox) check(t *testing.T, name string) {
	f, err := s.dir.Open(name)
	if err != nil {
		if code := hanashi.ErrorCode(err); code != hanashi.ENOTFOUND {
			t.Fatalf("Open(%q) = %v, want not found", name, err)
		}
		if name == s.saved {
			t.Fatalf("Open(%q) = %v, the saved avatar", name, err)
		}
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	switch {
	case os.SameFile(fi, s.sentinel) || strings.Contains(string(b), "SENTINEL"):
		t.Fatalf("Open(%q) opened a file outside the directory", name)
	case name != s.saved:
		t.Fatalf("Open(%q) opened something, only %q exists", name, s.saved)
	case !fi.Mode().IsRegular():
		t.Fatalf("Open(%q) opened a %v", name, fi.Mode())
	}
	rel, err := filepath.Rel(s.dir.Path(), f.Name())
	if err != nil || rel != filepath.Base(rel) || rel == ".." {
		t.Fatalf("Open(%q) opened %s, not a file right inside %s", name, f.Name(), s.dir.Path())
	}
	want, err := os.Stat(filepath.Join(s.dir.Path(), s.saved))
	if err != nil || !os.SameFile(fi, want) {
		t.Fatalf("Open(%q) opened a file other than the saved one", name)
	}
}

// traversals are names that try to leave the directory, or to open
// something in it that Save did not make.
var traversals = []string{
	"", ".", "..", "/", "\\",
	"../x", "..\\x", "../secret", "../../../../../../etc/passwd", "/etc/passwd",
	"%2e%2e/x", "%2e%2e%2fsecret", "..%2fsecret", "..%5csecret", "%252e%252e%252f",
	"..;/secret", "....//secret", ".../secret", "./../secret",
	"x\x00.png", "../secret\x00.png", "0123456789abcdef0123456789abcdef.png\x00",
	"\u2024\u2024/secret", "\uff0e\uff0e/secret", "\u2025/secret", "．．／secret",
	"../0123456789abcdef0123456789abcdef.png",
	"..\\0123456789abcdef0123456789abcdef.png",
	"avatars/../secret", "C:\\Windows\\win.ini", "\\\\server\\share\\x",
	"0123456789ABCDEF0123456789ABCDEF.png", // upper case is not a name Save makes
	"0123456789abcdef0123456789abcdef.PNG",
	"0123456789abcdef0123456789abcdef.png/",
	"/0123456789abcdef0123456789abcdef.png",
	"0123456789abcdef0123456789abcdef.png.html",
	"0123456789abcdef0123456789abcde.png",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png", // a link to the sentinel
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.png", // a relative link to it
	"cccccccccccccccccccccccccccccccc.png", // a directory
	strings.Repeat("../", 2000) + "secret",
	strings.Repeat("a", 5000),
}

func TestDirTraversal(t *testing.T) {
	s := newSandbox(t)
	for _, name := range traversals {
		s.check(t, name)
		if err := s.dir.Remove(name); hanashi.ErrorCode(err) != hanashi.ENOTFOUND {
			t.Errorf("Remove(%q) = %v, want not found", name, err)
		}
	}
	s.check(t, s.saved)
	if _, err := os.Stat(filepath.Join(s.parent, "secret")); err != nil {
		t.Fatalf("the sentinel is gone: %v", err)
	}
}

// FuzzOpen shows that no name opens or removes anything but what Save
// stored: every name but the saved one is not found, the saved one opens
// that file, and the files outside the directory are never opened nor
// removed.
func FuzzOpen(f *testing.F) {
	for _, name := range traversals {
		f.Add(name)
	}
	s := newSandbox(f)
	f.Add(s.saved)
	f.Fuzz(func(t *testing.T, name string) {
		s.check(t, name)
		if name != s.saved {
			err := s.dir.Remove(name)
			if code := hanashi.ErrorCode(err); code != hanashi.ENOTFOUND {
				t.Fatalf("Remove(%q) = %v", name, err)
			}
		}
		for _, n := range []string{"secret", "x", "passwd", "0123456789abcdef0123456789abcdef.png"} {
			if b, err := os.ReadFile(filepath.Join(s.parent, n)); err != nil || string(b) != sentinelText {
				t.Fatalf("after Remove(%q), %s outside the directory is changed or gone: %v", name, n, err)
			}
		}
		if b, err := os.ReadFile(filepath.Join(s.dir.Path(), s.saved)); err != nil || string(b) != "avatar" {
			t.Fatalf("after Remove(%q), the saved avatar is changed or gone: %v", name, err)
		}
	})
}

func TestDirSaveOpenRemove(t *testing.T) {
	d, err := avatar.OpenDir(filepath.Join(t.TempDir(), "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	png := []byte("\x89PNG pretend")
	name, err := d.Save(png)
	if err != nil {
		t.Fatal(err)
	}
	if !avatar.ValidName(name) {
		t.Fatalf("Save gave %q, which ValidName refuses", name)
	}
	fi, err := os.Stat(filepath.Join(d.Path(), name))
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m&^0o644 != 0 || m&0o600 != 0o600 {
		t.Errorf("mode %v, want 0644 (less the umask)", m)
	}
	f, err := d.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, png) {
		t.Errorf("read %q, want %q", got, png)
	}
	entries, _ := os.ReadDir(d.Path())
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want 1 (no temporary file left)", len(entries))
	}
	if err := d.Remove(name); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(name); hanashi.ErrorCode(err) != hanashi.ENOTFOUND {
		t.Errorf("Open after Remove = %v, want not found", err)
	}
	if err := d.Remove(name); hanashi.ErrorCode(err) != hanashi.ENOTFOUND {
		t.Errorf("second Remove = %v, want not found", err)
	}
}

func TestDirNamesAreUnique(t *testing.T) {
	d, err := avatar.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var mu sync.Mutex
	seen := make(map[string]bool)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			name, err := d.Save([]byte("x"))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[name] {
				t.Errorf("name %s given twice", name)
			}
			seen[name] = true
		})
	}
	wg.Wait()
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"0123456789abcdef0123456789abcdef.png":      true,
		"ffffffffffffffffffffffffffffffff.png":      true,
		"0123456789abcdef0123456789abcdeg.png":      false,
		"0123456789abcdef0123456789abcdef.png ":     false,
		".tmp-0123456789abcdef0123456789abcdef.png": false,
		"0123456789abcdef0123456789abcdef0.png":     false,
		"0123456789abcdef0123456789abcdefxpng":      false,
	} {
		if got := avatar.ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}
