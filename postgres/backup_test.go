package postgres_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/hanashi-chat/hanashi/postgres"
	"github.com/hanashi-chat/hanashi/storetest"
)

// pgBin is the directory of pg_dump and pg_restore: the one ./scripts/test
// names, or "" for the ones on PATH. Without either the test is skipped.
func pgBin(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(testpeer.EnvPGBin)
	if _, err := exec.LookPath(filepath.Join(dir, "pg_dump")); dir != "" && err == nil {
		return dir
	}
	if _, err := exec.LookPath("pg_dump"); err != nil {
		t.Skipf("skipped: no pg_dump in %s (%q) or on PATH", testpeer.EnvPGBin, dir)
	}
	return ""
}

// TestBackupRestore takes a backup with pg_dump while a writer posts,
// restores it into a new database with pg_restore and checks what the
// restored store must keep (see storetest.BackupRestore).
func TestBackupRestore(t *testing.T) {
	needPostgres(t)
	bin := pgBin(t)
	src, dst := testpeer.PostgresDB(t), testpeer.PostgresDB(t)
	out := filepath.Join(t.TempDir(), "backup.dump")
	storetest.BackupRestore(t, open(t, src),
		func() error { return postgres.Backup(t.Context(), src, bin, out) },
		func() hanashi.Store {
			if err := postgres.Restore(t.Context(), dst, bin, out); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			return open(t, dst)
		})
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v; want a file of mode 0600", out, fi.Mode(), err)
	}
}

// TestBackupRestoreRefusals checks that a backup is never written over a
// file and a restore never into a database that has tables.
func TestBackupRestoreRefusals(t *testing.T) {
	needPostgres(t)
	bin := pgBin(t)
	src := testpeer.PostgresDB(t)
	open(t, src)
	out := filepath.Join(t.TempDir(), "backup.dump")
	if err := postgres.Backup(t.Context(), src, bin, out); err != nil {
		t.Fatal(err)
	}
	if err := postgres.Backup(t.Context(), src, bin, out); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("Backup onto an existing file: %v, want an error that says it exists", err)
	}
	if err := postgres.Restore(t.Context(), src, bin, out); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Restore into a database with tables: %v, want an error that says it is not empty", err)
	}
}
