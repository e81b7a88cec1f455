package sqlite_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/sqlite"
	"github.com/hanashi-chat/hanashi/storetest"
)

// TestBackupRestore takes a backup while a writer posts, restores it into
// a new file and checks what the restored store must keep (see
// storetest.BackupRestore); the restored file passes integrity_check.
func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "data", "hanashi.db")
	out := filepath.Join(dir, "backup.db")
	restored := filepath.Join(dir, "restored", "hanashi.db")
	storetest.BackupRestore(t, open(t, src),
		func() error { return sqlite.Backup(t.Context(), src, out) },
		func() hanashi.Store {
			if err := sqlite.Restore(t.Context(), out, restored); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if err := sqlite.Check(t.Context(), restored); err != nil {
				t.Fatalf("Check of the restored database: %v", err)
			}
			return open(t, restored)
		})
	for _, name := range []string{out, restored} {
		if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want a file of mode 0600", name, fi.Mode(), err)
		}
	}
}

// TestBackupRestoreRefusals checks that neither command writes over a file,
// that a backup of a missing database fails instead of making an empty
// one, and that a damaged backup is not restored.
func TestBackupRestoreRefusals(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	src := filepath.Join(dir, "hanashi.db")
	// Closed: a backup needs no server running (nor its -wal and -shm
	// files).
	db, err := sqlite.Open(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "backup.db")
	if err := sqlite.Backup(ctx, src, out); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.Backup(ctx, src, out); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("Backup onto an existing file: %v, want an error that says it exists", err)
	}
	if err := sqlite.Backup(ctx, filepath.Join(dir, "missing.db"), filepath.Join(dir, "b2.db")); err == nil {
		t.Errorf("Backup of a missing database succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Errorf("Backup of a missing database created it")
	}
	if err := sqlite.Restore(ctx, out, src); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("Restore onto an existing database: %v, want an error that says it exists", err)
	}

	var b []byte
	// A backup with a page overwritten in the middle of the file.
	b, err = os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 3*4096 {
		t.Fatalf("backup is %d bytes, too small to damage a page in the middle", len(b))
	}
	for i := 4096; i < 2*4096; i++ {
		b[i] = 0xa5
	}
	damaged := filepath.Join(dir, "damaged.db")
	if err := os.WriteFile(damaged, b, 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "restored", "hanashi.db")
	if err := sqlite.Restore(ctx, damaged, target); err == nil {
		t.Errorf("Restore of a damaged backup succeeded")
	}
	if _, err := os.Stat(target); err == nil {
		t.Errorf("Restore of a damaged backup left a database at %s", target)
	}
}
