package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/jackc/pgx/v5"
)

// CreateUser stores a new user with a fresh ID and CreatedAt; the ID and
// CreatedAt of u are ignored. It fails with EINVALID for a name or avatar
// URL that is not UTF-8 text without NUL characters.
func (db *DB) CreateUser(ctx context.Context, u hanashi.User) (hanashi.User, error) {
	if !textOK(u.Name) || !textOK(u.AvatarURL) {
		return hanashi.User{}, hanashi.Errorf(hanashi.EINVALID, "name and avatar URL must be text")
	}
	u.ID = hanashi.UserID(hanashi.NewID())
	u.CreatedAt = db.now()
	_, err := db.pool.Exec(ctx,
		`INSERT INTO users (id, name, avatar_url, guest, created_at) VALUES ($1, $2, $3, $4, $5)`,
		u.ID, u.Name, u.AvatarURL, u.Guest, u.CreatedAt)
	if err != nil {
		return hanashi.User{}, fmt.Errorf("postgres: create user: %w", err)
	}
	return u, nil
}

// User returns the user with the given id, or ENOTFOUND.
func (db *DB) User(ctx context.Context, uid hanashi.UserID) (hanashi.User, error) {
	row := db.pool.QueryRow(ctx,
		`SELECT id, name, avatar_url, guest, created_at FROM users WHERE id = $1`, id(uid))
	u, err := scanUser(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return hanashi.User{}, hanashi.Errorf(hanashi.ENOTFOUND, "user not found")
	} else if err != nil {
		return hanashi.User{}, fmt.Errorf("postgres: user: %w", err)
	}
	return u, nil
}

// scanUser reads the columns id, name, avatar_url, guest, created_at.
func scanUser(row pgx.Row) (hanashi.User, error) {
	var u hanashi.User
	var created time.Time
	if err := row.Scan(&u.ID, &u.Name, &u.AvatarURL, &u.Guest, &created); err != nil {
		return hanashi.User{}, err
	}
	u.CreatedAt = created.UTC()
	return u, nil
}

// CreateSession stores s. A zero s.CreatedAt is set to the current time.
// It fails with EINVALID for an empty token hash or an ExpiresAt that cannot
// be stored, ENOTFOUND for an unknown user and ECONFLICT for a token hash that
// is already stored.
func (db *DB) CreateSession(ctx context.Context, s hanashi.Session) error {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = db.now()
	}
	switch {
	case len(s.TokenHash) == 0:
		return hanashi.Errorf(hanashi.EINVALID, "session has no token hash")
	case !storable(s.CreatedAt) || !storable(s.ExpiresAt):
		return hanashi.Errorf(hanashi.EINVALID, "session time out of range")
	}
	// One statement: the user check and the insert see the same snapshot,
	// and ON CONFLICT waits for a concurrent insert of the same hash rather
	// than failing with a unique violation.
	var userFound, inserted bool
	err := db.pool.QueryRow(ctx, `
		WITH u AS (
			SELECT EXISTS (SELECT 1 FROM users WHERE id = $2) AS found
		), ins AS (
			INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
			SELECT $1::bytea, $2, $3::timestamptz, $4::timestamptz FROM u WHERE u.found
			ON CONFLICT (token_hash) DO NOTHING
			RETURNING 1
		)
		SELECT u.found, EXISTS (SELECT 1 FROM ins) FROM u`,
		s.TokenHash, id(s.User), stored(s.CreatedAt), stored(s.ExpiresAt)).Scan(&userFound, &inserted)
	switch {
	case err != nil:
		return fmt.Errorf("postgres: create session: %w", err)
	case !userFound:
		return fmt.Errorf("postgres: create session: %w", hanashi.Errorf(hanashi.ENOTFOUND, "user not found"))
	case !inserted:
		return fmt.Errorf("postgres: create session: %w", hanashi.Errorf(hanashi.ECONFLICT, "session token already in use"))
	}
	return nil
}

// SessionUser returns the owner of the unexpired session whose token hashes
// to tokenHash, or EUNAUTHORIZED.
func (db *DB) SessionUser(ctx context.Context, tokenHash []byte) (hanashi.User, error) {
	row := db.pool.QueryRow(ctx, `
		SELECT u.id, u.name, u.avatar_url, u.guest, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2`,
		tokenHash, db.now())
	u, err := scanUser(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return hanashi.User{}, hanashi.Errorf(hanashi.EUNAUTHORIZED, "session unknown or expired")
	} else if err != nil {
		return hanashi.User{}, fmt.Errorf("postgres: session user: %w", err)
	}
	return u, nil
}

// DeleteSession removes the session with the given token hash, if any.
func (db *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	return nil
}
