// Package postgres implements hanashi.Store on PostgreSQL, for deployments
// of one node or of many nodes sharing one database. It uses pgx through a
// pgxpool connection pool.
//
// Every node has its own DB, and they may all write to the same room at
// once. Correctness across nodes rests on row locks, not on anything held
// in memory: Post locks the rooms of its batch (always in id order, so two
// batches never deadlock on them) and only then looks for earlier messages
// and reads the rooms' sequence counters. The lock is held until commit, so
// the messages of a room become visible in seq order, which is what lets a
// reader on another node fill any gap from the store. The same goes for the
// rest: a claim of a guest's messages locks the guest's row, which Post's
// lock on its authors waits for (see ClaimGuest); first sign-ins with one
// verified address queue on an advisory lock on the address (see SignIn);
// calls for the direct room of one set of users queue on an advisory lock
// on the set (see DirectRoom); a room made inside another locks the parent
// as Post does, to post the link to it; read markers only ever move forward
// in an upsert that keeps the greater seq (see MarkRead); and every
// deletion of sessions takes one advisory lock before it logs them as
// revoked, so that the log's ids become visible in order (see revokeLock).
//
// Each connection runs with READ COMMITTED as its default isolation, the
// level Post is written for: a statement that follows the lock must see
// what the previous holder of the lock committed. A connection whose
// server or database turns synchronous_commit off has it turned back on for
// the session, because Post promises that its batch is durable once it
// returns.
//
// Every session also runs with guards against a client that stops talking
// in the middle of a transaction, as a node cut off from the database does
// (see guard.go): short TCP keepalives on both ends, an idle-in-transaction
// timeout, a statement timeout, on PostgreSQL 17 and later a transaction
// timeout, and a lock timeout, after which Post ends the sessions of the
// store's application name that are stuck waiting on their client, and
// runs its batch again (see Post). Migrations run without the timeouts. A
// URL that sets any of these, or application_name, keeps its value.
//
// The store behaves as the SQLite one does, to the error code, with two
// differences PostgreSQL imposes: times keep microseconds, not nanoseconds,
// and text it cannot store (NUL characters, invalid UTF-8) is refused with
// EINVALID. It needs PostgreSQL 12 or later.
package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hanashi-chat/hanashi"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ hanashi.Store = (*DB)(nil)

// DB is a hanashi.Store on a PostgreSQL database. It is safe for concurrent
// use, and several DBs, in one process or in many, may share a database.
type DB struct {
	// Now returns the current time; it stamps CreatedAt and decides whether
	// a session has expired. Open sets it to time.Now. Tests may replace it,
	// but only before the DB is used by more than one goroutine.
	Now func() time.Time

	pool *pgxpool.Pool
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as pgx accepts them, including pgxpool's pool_*
// settings) and brings its schema up to date, waiting for any other node
// that is migrating the same database.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx leaves the password out of its parse errors.
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return open(ctx, cfg)
}

// open is Open with the pool's configuration parsed.
func open(ctx context.Context, cfg *pgxpool.Config) (*DB, error) {
	configure(cfg.ConnConfig)
	cfg.AfterConnect = afterConnect
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", name(cfg.ConnConfig), err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", name(cfg.ConnConfig), err)
	}
	err = migrate(ctx, conn.Conn())
	conn.Release()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", name(cfg.ConnConfig), err)
	}
	return &DB{Now: time.Now, pool: pool}, nil
}

// configure sets what every connection of the store relies on, guards
// included (see guard). The settings travel in the startup message, so
// they cost no round trip.
func configure(cfg *pgx.ConnConfig) {
	// A database whose default is REPEATABLE READ or SERIALIZABLE would make
	// Post fail and retry whenever two nodes write to one room at once.
	cfg.RuntimeParams["default_transaction_isolation"] = "read committed"
	// pgx prepares every statement once per connection. Planning Post's
	// statement afresh for each batch (a custom plan) costs as much as
	// running it for a batch of a few posts; the generic plan is as good,
	// because the statement fixes its own shape (see postEvents), and every
	// other query is a lookup by key.
	cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	guard(cfg)
}

// afterConnect makes the settings of a new connection that cannot travel in
// the startup message, in one round trip: see afterConnectQuery.
func afterConnect(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, afterConnectQuery(conn.Config())); err != nil {
		return fmt.Errorf("set synchronous_commit and transaction_timeout: %w", err)
	}
	return nil
}

// name says which database cfg points at, without the password, for errors.
func name(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// Ping checks that the database answers, for a readiness probe.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool's connections. It waits for the calls in flight to
// give their connections back.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// now returns db.Now() in UTC without its monotonic reading, truncated to
// the microseconds PostgreSQL keeps (pgx truncates too), so that a time
// returned right after a write equals the one read back later.
func (db *DB) now() time.Time {
	return stored(db.Now())
}

// stored returns t as it comes back from a timestamptz column.
func stored(t time.Time) time.Time {
	return t.Round(0).UTC().Truncate(time.Microsecond)
}

// storable reports whether the store accepts t. PostgreSQL could keep far
// more, but the range is the one the SQLite store has, so that the two
// accept the same sessions.
func storable(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1679 && y <= 2261
}

// textOK reports whether PostgreSQL can store s in a text column: it must
// be valid UTF-8 without NUL characters. Anything else is refused by the
// server with an error that would fail a whole batch, so it is caught first.
func textOK(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// id returns s as a key to look up: an identifier that is not storable text
// cannot have been stored, so it becomes "", which no row has.
func id[T ~string](s T) string {
	if !textOK(string(s)) {
		return ""
	}
	return string(s)
}
