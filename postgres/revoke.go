package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// revokeLock is the key of the advisory lock every transaction that appends
// to the revocation log takes first and holds until it commits. Readers
// remember the last id they read and ask for greater ones; without the lock,
// a transaction could take id 7, another id 8 and commit first, and a reader
// that saw 8 would never see 7. With it, ids are handed out (by the identity
// column's sequence, which caches no values) in the order their
// transactions commit. It is the migration lock plus one: the two never
// meet, and both sit in the one-bigint key space of advisory locks.
//
// Lock order: a transaction that locks a user's row (SetDisabled,
// ClaimGuest) does so before it takes this lock, and a session row is only
// deleted after it, so the three never wait for each other in a cycle.
const revokeLock int64 = migrateLock + 1

// The sessions a revocation ends: $1 is a token hash or a user id.
const (
	byToken = `token_hash = $1`
	byUser  = `user_id = $1`
)

// queueRevoke queues on b the statements that delete the sessions where
// holds and log them as revoked, and purge the entries older than
// hanashi.RevocationRetention; they must run in one transaction.
func (db *DB) queueRevoke(b *pgx.Batch, where string, arg any) {
	now := db.now()
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, revokeLock)
	b.Queue(`
		WITH d AS (DELETE FROM sessions WHERE `+where+` RETURNING token_hash)
		INSERT INTO revoked_sessions (token_hash, revoked_at) SELECT token_hash, $2::timestamptz FROM d`,
		arg, now)
	b.Queue(`DELETE FROM revoked_sessions WHERE revoked_at < $1`, now.Add(-hanashi.RevocationRetention))
}

// revoke ends sessions and logs them as revoked inside tx.
func (db *DB) revoke(ctx context.Context, tx pgx.Tx, where string, arg any) error {
	b := &pgx.Batch{}
	db.queueRevoke(b, where, arg)
	return tx.SendBatch(ctx, b).Close()
}

// revokeNow ends sessions and logs them as revoked in a transaction of their
// own: the statements go out together in a pipeline, which PostgreSQL runs
// as one implicit transaction, so it costs one round trip.
func (db *DB) revokeNow(ctx context.Context, where string, arg any) error {
	var err error
	for range txAttempts {
		b := &pgx.Batch{}
		db.queueRevoke(b, where, arg)
		if err = db.pool.SendBatch(ctx, b).Close(); err == nil || ctx.Err() != nil {
			break
		}
		var again bool
		if again, err = db.again(ctx, err); !again {
			break
		}
	}
	return err
}

// RevokedSessions returns the entries of the revocation log after the given
// id; see hanashi.Store and revokeLock.
func (db *DB) RevokedSessions(ctx context.Context, after int64) ([][]byte, int64, error) {
	if after < 0 {
		// The identity column never hands out an id at or below this one
		// again, even once the log is purged empty and this is 0.
		var last int64
		err := db.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM revoked_sessions`).Scan(&last)
		if err != nil {
			return nil, 0, fmt.Errorf("postgres: revoked sessions: %w", err)
		}
		return nil, last, nil
	}
	rows, err := db.pool.Query(ctx,
		`SELECT id, token_hash FROM revoked_sessions WHERE id > $1 ORDER BY id LIMIT $2`, after, hanashi.RevocationPage)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: revoked sessions: %w", err)
	}
	defer rows.Close()
	hashes, last, err := sqlrows.Revoked(rows, after)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: revoked sessions: %w", err)
	}
	return hashes, last, nil
}

// txAttempts is how many times a transaction that lost a race with another
// (see retryable and errRaced) runs before the store gives up.
const txAttempts = 5

// errRaced is returned inside a transaction that found another transaction
// had done its work first: it rolls back and runs again, and then finds that
// work done.
var errRaced = errors.New("lost a race with a concurrent transaction")

// inTx runs fn in a transaction and commits it if fn returns nil, running it
// again when it lost a race.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for range txAttempts {
		err = pgx.BeginFunc(ctx, db.pool, fn)
		if err == nil || ctx.Err() != nil {
			break
		}
		if errors.Is(err, errRaced) {
			continue
		}
		var again bool
		if again, err = db.again(ctx, err); !again {
			break
		}
	}
	return err
}
