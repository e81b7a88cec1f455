// Package sqlite implements hanashi.Store on one SQLite file, for a
// deployment of a single node. It uses the pure-Go driver modernc.org/sqlite,
// so the server builds without cgo.
//
// SQLite allows one writer at a time, so the DB keeps two connection pools:
// one connection for writes, on which callers queue inside database/sql
// instead of spinning on SQLITE_BUSY, and a few read-only connections that
// WAL mode lets run beside the writer. Every write transaction starts with
// BEGIN IMMEDIATE, so it holds the write lock from its first statement and
// never fails half-way with a lock upgrade error.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hanashi-chat/hanashi"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ hanashi.Store = (*DB)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a hanashi.Store on an SQLite file. It is safe for concurrent use.
type DB struct {
	// Now returns the current time; it stamps CreatedAt and decides whether
	// a session has expired. Open sets it to time.Now. Tests may replace it,
	// but only before the DB is used by more than one goroutine.
	Now func() time.Time

	write       *sql.DB // exactly one connection
	read        *sql.DB // query_only connections
	postQueries *postQueries
}

// Open opens the SQLite database at path, creating the file and its parent
// directory if they are missing, and brings its schema up to date. The path
// must name a file: an in-memory database would not be shared between the
// reading and the writing connections.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: need the path of a file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	// The database holds sessions and private rooms: keep it to the server's
	// user. SQLite creates the -wal and -shm files with the mode of the
	// database file, so creating that one with 0600 covers all three.
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}

	write, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	db := &DB{Now: time.Now, write: write}
	// Migrate before the readers exist, so that the first connection sets the
	// journal mode to WAL and no reader sees a half-built schema.
	if err := db.migrate(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}

	if db.postQueries, err = preparePost(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}

	read, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		db.postQueries.close()
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		db.postQueries.close()
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	db.read = read
	return db, nil
}

// dsn returns the data source name of the database file at the absolute
// path abs. The driver runs the _pragma list on every connection it opens,
// which is the only way to configure all the connections of a pool.
func dsn(abs string, writer bool) string {
	q := url.Values{}
	// Wait for a lock rather than fail: readers meet the writer during
	// checkpoints, and another process (a backup, the sqlite3 shell) may hold
	// the database for a moment.
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(ON)")
	// WAL lets readers run while the writer commits.
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL makes every commit fsync the WAL. Post returns only after its
	// transaction has committed, and the server acknowledges a message only
	// after Post returns: with NORMAL an acknowledged message could vanish
	// in a power cut.
	q.Add("_pragma", "synchronous(FULL)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		// A read connection that writes would be a bug and would contend
		// with the writer for the lock: make it fail loudly instead.
		q.Set("_query_only", "1")
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String()
}

// Close closes both connection pools. In-flight calls may fail.
func (db *DB) Close() error {
	return errors.Join(db.read.Close(), db.postQueries.close(), db.write.Close())
}

// migrate applies the embedded migrations the database has not seen yet, all
// in one transaction, and records how far it got in PRAGMA user_version
// (which SQLite writes as part of the transaction). Migration n is the file
// migrations/NNN_*.sql whose number is n; numbers start at 1 with no gaps.
func (db *DB) migrate(ctx context.Context) error {
	names, err := migrationNames()
	if err != nil {
		return err
	}
	return db.inWriteTx(ctx, func(tx *sql.Tx) error {
		var version int
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
			return fmt.Errorf("migrate: read schema version: %w", err)
		}
		if version > len(names) {
			return schemaTooNew(version, len(names))
		}
		for i := version; i < len(names); i++ {
			script, err := migrations.ReadFile(names[i])
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			if _, err := tx.ExecContext(ctx, string(script)); err != nil {
				return fmt.Errorf("migrate: %s: %w", names[i], err)
			}
			// PRAGMA takes no parameters; i+1 is an int, so this is safe.
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
				return fmt.Errorf("migrate: %s: set schema version: %w", names[i], err)
			}
		}
		return nil
	})
}

// schemaTooNew is the error of a database whose schema version, the
// number of its newest migration, is one this build does not know: a newer
// hanashi migrated it, and this one must not guess at its tables.
func schemaTooNew(version, known int) error {
	return fmt.Errorf("database schema version %d is newer than this hanashi understands (%d): upgrade hanashi", version, known)
}

// migrationNames returns the embedded migrations in the order to apply
// them; the schema version of a database is how many it has seen.
func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// fs.Glob sorts, and the zero-padded numbers make that the order to apply.
	for i, name := range names {
		num, _, _ := strings.Cut(path.Base(name), "_")
		if n, err := strconv.Atoi(num); err != nil || n != i+1 {
			return nil, fmt.Errorf("migrate: %s: expected migration number %03d", name, i+1)
		}
	}
	return names, nil
}

// inWriteTx runs fn in a transaction on the writer connection and commits it
// if fn returns nil. Once commit returns, the transaction is in the fsynced
// WAL.
func (db *DB) inWriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback() // the error from fn is the one that matters
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// now returns db.Now() in UTC without its monotonic reading, rounded to what
// the database stores, so that a time returned right after a write equals the
// one read back later.
func (db *DB) now() time.Time {
	return fromNanos(db.Now().UnixNano())
}

// fromNanos turns a stored time back into a time.Time.
func fromNanos(n int64) time.Time {
	return time.Unix(0, n).UTC()
}

// toNanos turns a time into its stored form. Only the years 1678 to 2262 fit;
// callers check times that come from outside with storable first.
func toNanos(t time.Time) int64 {
	return t.UnixNano()
}

// storable reports whether t fits in unix nanoseconds, with a year to spare
// at both ends.
func storable(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1679 && y <= 2261
}
