package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/hanashi-chat/hanashi/internal/durable"
)

// Backup writes a consistent copy of the database file at path to the new
// file out, while servers keep using the database. The copy is one read
// transaction's snapshot (VACUUM INTO on a read-only connection): in WAL
// mode writers go on committing beside it, and every transaction committed
// before it began is in the copy, with the rooms' sequence counters and the
// client ids that make resends idempotent. The copy is written next to out
// and renamed into place once it is complete and synced, so out is never
// a half-written backup; out must not exist yet. The copy is checked with
// PRAGMA integrity_check before Backup returns.
func Backup(ctx context.Context, path, out string) error {
	src, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	// A read-only connection would create a missing file: look first.
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	dst, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	// (VACUUM INTO would refuse to write over the partial file of an
	// interrupted backup: Partial removes it.)
	tmp, err := durable.Partial(dst)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer os.Remove(tmp) // gone once renamed

	read, err := sql.Open("sqlite", readOnlyDSN(src))
	if err != nil {
		return fmt.Errorf("sqlite: backup %s: %w", src, err)
	}
	defer read.Close()
	// VACUUM INTO reads through one read transaction and writes the other
	// file. (The store's own readers run with query_only, which refuses it.)
	if _, err := read.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("sqlite: backup %s: %w", src, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := Check(ctx, tmp); err != nil {
		return fmt.Errorf("sqlite: backup %s: the copy: %w", src, err)
	}
	if err := durable.Rename(tmp, dst); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}

// Restore makes the database file at path from the backup file in (one
// that Backup wrote, or any copy of a database of this store), checking
// the backup first, and brings its schema up to date. There must be no
// file at path: Restore never writes over a database.
func Restore(ctx context.Context, in, path string) error {
	dst, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	for _, p := range []string{dst, dst + "-wal", dst + "-shm", dst + "-journal"} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("sqlite: restore: %s exists; restore needs a place without a database", p)
		}
	}
	if _, err := os.Stat(in); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	if err := Check(ctx, in); err != nil {
		return fmt.Errorf("sqlite: restore %s: %w", in, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	tmp := dst + ".partial"
	if err := copyFile(in, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	if err := durable.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	// Open migrates, and refuses a backup of a newer build's schema.
	db, err := Open(ctx, dst)
	if err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	return db.Close()
}

// Check opens the database file at path read-only and runs PRAGMA
// integrity_check on it, and checks that its schema version is one this
// build understands. It changes nothing, so it may check a backup or the
// live database of a running server.
func Check(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", readOnlyDSN(abs))
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity_check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return fmt.Errorf("integrity_check: %w", err)
		}
		problems = append(problems, line)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity_check: %w", err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fmt.Errorf("integrity_check: %s", strings.Join(problems, "; "))
	}
	var version int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	if version > len(names) {
		return schemaTooNew(version, len(names))
	}
	return nil
}

// readOnlyDSN opens the file at the absolute path abs for reading only:
// unlike dsn's connections it sets no journal mode, so that it may read a
// copy without turning it into a WAL database.
func readOnlyDSN(abs string) string {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String()
}

// copyFile copies the file src to the new file dst, private to the user.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
