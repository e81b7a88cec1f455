package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/sqlrows"
)

// userColumns are the columns of users that scanUser reads, for a table
// aliased u; returningUser are the same for a RETURNING clause, where SQLite
// takes no alias.
const (
	userColumns = `u.id, u.name, u.avatar_url, u.guest, u.email, u.disabled,
	u.avatar_upload, u.provider_avatar, u.time_zone, u.created_at`
	returningUser = `RETURNING id, name, avatar_url, guest, email, disabled,
	avatar_upload, provider_avatar, time_zone, created_at`
)

// scanUser reads userColumns or returningUser.
func scanUser(row interface{ Scan(dest ...any) error }) (hanashi.User, error) {
	var u hanashi.User
	var created int64
	err := row.Scan(&u.ID, &u.Name, &u.AvatarURL, &u.Guest, &u.Email, &u.Disabled,
		&u.AvatarUpload, &u.ProviderAvatar, &u.TimeZone, &created)
	if err != nil {
		return hanashi.User{}, err
	}
	u.CreatedAt = fromNanos(created)
	return u, nil
}

// CreateUser stores a new user with a fresh ID and CreatedAt; the ID and
// CreatedAt of u are ignored, and its Email is stored in normal form.
func (db *DB) CreateUser(ctx context.Context, u hanashi.User) (hanashi.User, error) {
	u.ID = hanashi.UserID(hanashi.NewID())
	u.CreatedAt = db.now()
	u.Email = hanashi.NormalEmail(u.Email)
	if err := insertUser(ctx, db.write, u); err != nil {
		return hanashi.User{}, fmt.Errorf("sqlite: create user: %w", err)
	}
	return u, nil
}

// insertUser stores u as it is.
func insertUser(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, u hanashi.User) error {
	_, err := ex.ExecContext(ctx, `
		INSERT INTO users (id, name, avatar_url, guest, email, disabled, avatar_upload, provider_avatar, time_zone, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Name, u.AvatarURL, u.Guest, u.Email, u.Disabled, u.AvatarUpload, u.ProviderAvatar, u.TimeZone, toNanos(u.CreatedAt))
	return err
}

// User returns the user with the given id, or ENOTFOUND.
func (db *DB) User(ctx context.Context, id hanashi.UserID) (hanashi.User, error) {
	row := db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return hanashi.User{}, hanashi.ErrUserNotFound
	} else if err != nil {
		return hanashi.User{}, fmt.Errorf("sqlite: user: %w", err)
	}
	return u, nil
}

// UpdateProfile changes the fields of p that are not nil and returns the
// user as stored, or ENOTFOUND.
func (db *DB) UpdateProfile(ctx context.Context, id hanashi.UserID, p hanashi.ProfileUpdate) (hanashi.User, error) {
	// A NULL parameter leaves its column as it is.
	row := db.write.QueryRowContext(ctx, `
		UPDATE users SET
			name = coalesce(?2, name),
			avatar_upload = coalesce(?3, avatar_upload),
			avatar_url = coalesce(?4, avatar_url),
			time_zone = coalesce(?5, time_zone)
		WHERE id = ?1
		`+returningUser,
		id, nullable(p.Name), nullable(p.AvatarUpload), nullable(p.AvatarURL), nullable(p.TimeZone))
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return hanashi.User{}, hanashi.ErrUserNotFound
	} else if err != nil {
		return hanashi.User{}, fmt.Errorf("sqlite: update profile: %w", err)
	}
	return u, nil
}

// nullable turns a field of a ProfileUpdate into a parameter: NULL for nil.
func nullable(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

// SetDisabled disables or enables user; disabling ends its sessions. It
// fails with ENOTFOUND for an unknown user and with EINVALID for enabling a
// claimed guest.
func (db *DB) SetDisabled(ctx context.Context, user hanashi.UserID, disabled bool) error {
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		var claimed bool
		err := tx.QueryRowContext(ctx, `SELECT claimed_by IS NOT NULL FROM users WHERE id = ?`, user).Scan(&claimed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return hanashi.ErrUserNotFound
		case err != nil:
			return err
		case claimed && !disabled:
			return hanashi.Errorf(hanashi.EINVALID, "a claimed guest cannot be enabled")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = ? WHERE id = ?`, disabled, user); err != nil {
			return err
		}
		if disabled {
			return db.revokeUserSessions(ctx, tx, user)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: set disabled: %w", err)
	}
	return nil
}

// CreateSession stores s. A zero s.CreatedAt is set to the current time.
// It fails with EINVALID for an empty token hash or an ExpiresAt that cannot
// be stored, ENOTFOUND for an unknown user, EFORBIDDEN for a disabled one and
// ECONFLICT for a token hash that is already stored.
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
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = ?`, s.User).Scan(&disabled)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return hanashi.ErrUserNotFound
		case err != nil:
			return err
		case disabled:
			return hanashi.ErrDisabled
		}
		var taken bool
		err = tx.QueryRowContext(ctx,
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
// to tokenHash, or EUNAUTHORIZED; a disabled owner is EUNAUTHORIZED too.
func (db *DB) SessionUser(ctx context.Context, tokenHash []byte) (hanashi.User, error) {
	row := db.read.QueryRowContext(ctx, `
		SELECT `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0`,
		tokenHash, toNanos(db.now()))
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return hanashi.User{}, hanashi.Errorf(hanashi.EUNAUTHORIZED, "session unknown or expired")
	} else if err != nil {
		return hanashi.User{}, fmt.Errorf("sqlite: session user: %w", err)
	}
	return u, nil
}

// DeleteSession removes the session with the given token hash, if any, and
// logs it as revoked.
func (db *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		return db.revoke(ctx, tx, `DELETE FROM sessions WHERE token_hash = ? RETURNING token_hash`, tokenHash)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions removes every session of user and logs them as revoked.
func (db *DB) DeleteUserSessions(ctx context.Context, user hanashi.UserID) error {
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		return db.revokeUserSessions(ctx, tx, user)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete user sessions: %w", err)
	}
	return nil
}

// revokeUserSessions deletes the sessions of user and logs them as revoked.
func (db *DB) revokeUserSessions(ctx context.Context, tx *sql.Tx, user hanashi.UserID) error {
	return db.revoke(ctx, tx, `DELETE FROM sessions WHERE user_id = ? RETURNING token_hash`, user)
}

// revoke runs deleteSessions, a DELETE from sessions that returns the token
// hashes it deleted, and appends those to the revocation log. It purges the
// entries older than hanashi.RevocationRetention on the way.
//
// SQLite cannot use DELETE ... RETURNING as the source of an INSERT, so the
// hashes pass through Go; there are few of them (a user's sessions).
func (db *DB) revoke(ctx context.Context, tx *sql.Tx, deleteSessions string, args ...any) error {
	rows, err := tx.QueryContext(ctx, deleteSessions, args...)
	if err != nil {
		return err
	}
	var hashes [][]byte
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return err
		}
		hashes = append(hashes, h)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(hashes) == 0 {
		return nil
	}
	now := db.now()
	for _, h := range hashes {
		_, err := tx.ExecContext(ctx, `INSERT INTO revoked_sessions (token_hash, revoked_at) VALUES (?, ?)`, h, toNanos(now))
		if err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM revoked_sessions WHERE revoked_at < ?`,
		toNanos(now.Add(-hanashi.RevocationRetention)))
	return err
}

// RevokedSessions returns the entries of the revocation log after the given
// id; see hanashi.Store. With a single writer, ids are committed in the
// order they are handed out, so reading by id misses nothing.
func (db *DB) RevokedSessions(ctx context.Context, after int64) ([][]byte, int64, error) {
	if after < 0 {
		var last int64
		// AUTOINCREMENT never hands out an id at or below this one again,
		// even once the log is purged empty and this is 0.
		err := db.read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM revoked_sessions`).Scan(&last)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite: revoked sessions: %w", err)
		}
		return nil, last, nil
	}
	rows, err := db.read.QueryContext(ctx,
		`SELECT id, token_hash FROM revoked_sessions WHERE id > ? ORDER BY id LIMIT ?`, after, hanashi.RevocationPage)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: revoked sessions: %w", err)
	}
	defer rows.Close()
	hashes, last, err := sqlrows.Revoked(rows, after)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: revoked sessions: %w", err)
	}
	return hashes, last, nil
}
