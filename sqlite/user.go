package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hanashi-chat/hanashi"
)

// CreateUser stores a new user with a fresh ID and CreatedAt; the ID and
// CreatedAt of u are ignored.
func (db *DB) CreateUser(ctx context.Context, u hanashi.User) (hanashi.User, error) {
	u.ID = hanashi.UserID(hanashi.NewID())
	u.CreatedAt = db.now()
	_, err := db.write.ExecContext(ctx,
		`INSERT INTO users (id, name, avatar_url, guest, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, u.Name, u.AvatarURL, u.Guest, toNanos(u.CreatedAt))
	if err != nil {
		return hanashi.User{}, fmt.Errorf("sqlite: create user: %w", err)
	}
	return u, nil
}

// User returns the user with the given id, or ENOTFOUND.
func (db *DB) User(ctx context.Context, id hanashi.UserID) (hanashi.User, error) {
	row := db.read.QueryRowContext(ctx,
		`SELECT id, name, avatar_url, guest, created_at FROM users WHERE id = ?`, id)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return hanashi.User{}, hanashi.Errorf(hanashi.ENOTFOUND, "user not found")
	} else if err != nil {
		return hanashi.User{}, fmt.Errorf("sqlite: user: %w", err)
	}
	return u, nil
}

// scanUser reads the columns id, name, avatar_url, guest, created_at.
func scanUser(row *sql.Row) (hanashi.User, error) {
	var u hanashi.User
	var created int64
	if err := row.Scan(&u.ID, &u.Name, &u.AvatarURL, &u.Guest, &created); err != nil {
		return hanashi.User{}, err
	}
	u.CreatedAt = fromNanos(created)
	return u, nil
}

// userExists reports whether the user id is stored.
func userExists(ctx context.Context, tx *sql.Tx, id hanashi.UserID) (bool, error) {
	var ok bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)`, id).Scan(&ok)
	return ok, err
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
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		// Checked here rather than mapped from constraint errors: the
		// transaction holds the write lock, so nothing can change in between.
		if ok, err := userExists(ctx, tx, s.User); err != nil {
			return err
		} else if !ok {
			return hanashi.Errorf(hanashi.ENOTFOUND, "user not found")
		}
		var taken bool
		err := tx.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM sessions WHERE token_hash = ?)`, s.TokenHash).Scan(&taken)
		if err != nil {
			return err
		} else if taken {
			return hanashi.Errorf(hanashi.ECONFLICT, "session token already in use")
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			s.TokenHash, s.User, toNanos(s.CreatedAt), toNanos(s.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// SessionUser returns the owner of the unexpired session whose token hashes
// to tokenHash, or EUNAUTHORIZED.
func (db *DB) SessionUser(ctx context.Context, tokenHash []byte) (hanashi.User, error) {
	row := db.read.QueryRowContext(ctx, `
		SELECT u.id, u.name, u.avatar_url, u.guest, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ?`,
		tokenHash, toNanos(db.now()))
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return hanashi.User{}, hanashi.Errorf(hanashi.EUNAUTHORIZED, "session unknown or expired")
	} else if err != nil {
		return hanashi.User{}, fmt.Errorf("sqlite: session user: %w", err)
	}
	return u, nil
}

// DeleteSession removes the session with the given token hash, if any.
func (db *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}
