package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hanashi-chat/hanashi/internal/durable"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Backup writes a backup of the database at dbURL to the new file out
// with pg_dump --format=custom, while nodes keep using the database:
// pg_dump reads everything in one repeatable-read transaction, so the
// backup holds every transaction committed before it began, each room's
// sequence counter with its messages, and blocks no writer (only schema
// changes, such as a migration, wait for it). pgBin is the directory of
// pg_dump, or "" to find it on PATH; it must be of the server's major
// version or later. The dump goes to a file beside out and is renamed
// into place once pg_dump has succeeded; out must not exist yet.
func Backup(ctx context.Context, dbURL, pgBin, out string) error {
	tmp, err := durable.Partial(out)
	if err != nil {
		return fmt.Errorf("postgres: backup: %w", err)
	}
	defer os.Remove(tmp) // gone once renamed
	// The dump holds sessions and private rooms: keep it to the user.
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("postgres: backup: %w", err)
	}
	f.Close()
	if err := pgTool(ctx, pgBin, dbURL, "pg_dump", "--format=custom", "--file="+tmp); err != nil {
		return fmt.Errorf("postgres: backup: %w", err)
	}
	if err := durable.Rename(tmp, out); err != nil {
		return fmt.Errorf("postgres: backup: %w", err)
	}
	return nil
}

// Restore loads the backup file in, written by Backup (pg_dump
// --format=custom), into the database at dbURL, which must be empty, with
// pg_restore in one transaction: it succeeds whole or leaves the database
// empty. Ownership and privileges are not restored: the tables belong to
// the role of dbURL, the one the nodes connect as. Restore then brings the
// schema up to date, and refuses a backup of a newer build's schema.
func Restore(ctx context.Context, dbURL, pgBin, in string) error {
	if _, err := os.Stat(in); err != nil {
		return fmt.Errorf("postgres: restore: %w", err)
	}
	if err := mustBeEmpty(ctx, dbURL); err != nil {
		return fmt.Errorf("postgres: restore: %w", err)
	}
	if err := pgTool(ctx, pgBin, dbURL, "pg_restore", "--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges", in); err != nil {
		return fmt.Errorf("postgres: restore: %w", err)
	}
	if err := Migrate(ctx, dbURL); err != nil {
		return err
	}
	return nil
}

// mustBeEmpty returns an error unless the database at dbURL has no
// relations (tables, sequences, views) outside PostgreSQL's own schemas.
func mustBeEmpty(ctx context.Context, dbURL string) error {
	poolCfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return err
	}
	cfg := poolCfg.ConnConfig
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", name(cfg), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'`).Scan(&n)
	if err != nil {
		return fmt.Errorf("%s: %w", name(cfg), err)
	}
	if n > 0 {
		return fmt.Errorf("database %s is not empty (%d tables, indexes or sequences): restore needs an empty database, such as one made by createdb", name(cfg), n)
	}
	return nil
}

// pgTool runs the PostgreSQL client program tool (pg_dump, pg_restore),
// from the directory pgBin or else from PATH, on the database at dbURL,
// with args. The password travels in PGPASSWORD, not on the command line,
// where other users could read it; settings that only pgx knows (the
// pool's) are left out of the URL, which libpq would refuse.
func pgTool(ctx context.Context, pgBin, dbURL, tool string, args ...string) error {
	conninfo, password, err := libpqURL(dbURL)
	if err != nil {
		return err
	}
	path := tool
	if pgBin != "" {
		path = filepath.Join(pgBin, tool)
	}
	if path, err = exec.LookPath(path); err != nil {
		return fmt.Errorf("%s not found (install PostgreSQL's client programs, or name their directory with -pg-bin): %w", tool, err)
	}
	cmd := exec.CommandContext(ctx, path, append([]string{"--dbname=" + conninfo}, args...)...)
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", tool, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// pgxOnly are the URL parameters that pgx reads and libpq does not know.
var pgxOnly = []string{"statement_cache_capacity", "description_cache_capacity", "default_query_exec_mode", "prefer_simple_protocol"}

// libpqURL returns dbURL for libpq's programs: without its password, which
// it returns apart, and without the parameters only pgx understands. A
// key=value connection string is returned as it is.
func libpqURL(dbURL string) (conninfo, password string, err error) {
	if !strings.HasPrefix(dbURL, "postgres://") && !strings.HasPrefix(dbURL, "postgresql://") {
		return dbURL, "", nil
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", "", errors.New("the database URL does not parse")
	}
	if u.User != nil {
		password, _ = u.User.Password()
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	for _, k := range pgxOnly {
		q.Del(k)
	}
	u.RawQuery = q.Encode()
	return u.String(), password, nil
}
