package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLock is the key of the advisory lock that migrations run under.
// Advisory locks are per database, so only nodes sharing one wait for each
// other. The number spells "hanashi" in ASCII.
const migrateLock int64 = 0x68616e61736869

// Migrate brings the schema of the database at url up to date and returns,
// for deployments that migrate before rolling out new nodes. Open does the
// same, so calling Migrate first is optional.
func Migrate(ctx context.Context, url string) error {
	// Parsed as Open parses it, so that the URL may carry pool settings.
	poolCfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	cfg := poolCfg.ConnConfig
	configure(cfg)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: migrate %s: %w", name(cfg), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := migrate(ctx, conn); err != nil {
		return fmt.Errorf("postgres: migrate %s: %w", name(cfg), err)
	}
	return nil
}

// migrationNames returns the embedded migrations in the order to apply
// them. Migration n is the file migrations/NNN_*.sql whose number is n;
// numbers start at 1 with no gaps.
func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// fs.Glob sorts, and the zero-padded numbers make that the order to apply.
	for i, file := range names {
		num, _, _ := strings.Cut(path.Base(file), "_")
		if n, err := strconv.Atoi(num); err != nil || n != i+1 {
			return nil, fmt.Errorf("migrate: %s: expected migration number %03d", file, i+1)
		}
	}
	return names, nil
}

// migrate applies the embedded migrations the database has not seen yet,
// each in a transaction of its own, without the timeouts of the session's
// guards (see liftTimeouts), that also records its number in
// schema_migrations. Every transaction first takes the migration lock, and
// only then reads the version, so that nodes starting together apply each
// migration once: the ones that waited find it done. A database migrated by
// a newer build is refused: this build does not know its schema.
func migrate(ctx context.Context, conn *pgx.Conn) error {
	names, err := migrationNames()
	if err != nil {
		return err
	}
	for {
		done, err := migrateStep(ctx, conn, names)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// schemaTooNew is the error of a database whose schema version, its
// newest row in schema_migrations, is one this build does not know: a newer
// hanashi migrated it, and this one must not guess at its tables. During a
// rolling update the newer nodes migrate first (see "Upgrades" in
// docs/operations.md); an older node started after that stops here.
func schemaTooNew(version, known int) error {
	return fmt.Errorf("database schema version %d is newer than this hanashi understands (%d): upgrade hanashi", version, known)
}

// migrateStep applies the first migration the database lacks, in one
// transaction, and reports whether there was none left to apply.
func migrateStep(ctx context.Context, conn *pgx.Conn, names []string) (done bool, err error) {
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Before the lock, which waits for as long as another node
		// migrates.
		if _, err := tx.Exec(ctx, liftTimeouts); err != nil {
			return fmt.Errorf("migrate: lift timeouts: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		// Looked for before it is created, so that a role without the right
		// to create tables can open a database that is up to date; and
		// created under the lock, because two CREATE TABLE IF NOT EXISTS at
		// once can still collide in the catalog.
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
			return fmt.Errorf("migrate: find schema_migrations: %w", err)
		}
		if !exists {
			if _, err := tx.Exec(ctx, `CREATE TABLE schema_migrations (
				version    integer     NOT NULL PRIMARY KEY,
				applied_at timestamptz NOT NULL DEFAULT now()
			)`); err != nil {
				return fmt.Errorf("migrate: create schema_migrations: %w", err)
			}
		}
		var version int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
			return fmt.Errorf("migrate: read schema version: %w", err)
		}
		switch {
		case version > len(names):
			return schemaTooNew(version, len(names))
		case version == len(names):
			done = true
			return nil
		}
		file := names[version]
		script, err := migrations.ReadFile(file)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		// Without arguments, Exec sends the script as a simple query, which
		// may hold several statements.
		if _, err := tx.Exec(ctx, string(script)); err != nil {
			return fmt.Errorf("migrate: %s: %w", file, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version+1); err != nil {
			return fmt.Errorf("migrate: %s: record version: %w", file, err)
		}
		return nil
	})
	return done, err
}
