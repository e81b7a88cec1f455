package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/jackc/pgx/v5"
)

// userColumns are the columns of users that scanUser reads, for a table
// aliased u.
const userColumns = `u.id, u.name, u.avatar_url, u.guest, u.email, u.disabled,
	u.avatar_upload, u.provider_avatar, u.time_zone, u.created_at`

// scanUser reads userColumns.
func scanUser(row pgx.Row) (hanashi.User, error) {
	var u hanashi.User
	var created time.Time
	err := row.Scan(&u.ID, &u.Name, &u.AvatarURL, &u.Guest, &u.Email, &u.Disabled,
		&u.AvatarUpload, &u.ProviderAvatar, &u.TimeZone, &created)
	if err != nil {
		return hanashi.User{}, err
	}
	u.CreatedAt = created.UTC()
	return u, nil
}

// CreateUser stores a new user with a fresh ID and CreatedAt; the ID and
// CreatedAt of u are ignored, and its Email is stored in normal form. It
// fails with EINVALID for a field that is not UTF-8 text without NUL
// characters.
func (db *DB) CreateUser(ctx context.Context, u hanashi.User) (hanashi.User, error) {
	u.Email = hanashi.NormalEmail(u.Email)
	if !textOK(u.Name) || !textOK(u.AvatarURL) || !textOK(u.Email) || !textOK(u.AvatarUpload) || !textOK(u.ProviderAvatar) || !textOK(u.TimeZone) {
		return hanashi.User{}, hanashi.Errorf(hanashi.EINVALID, "name, e-mail and avatars must be text")
	}
	u.ID = hanashi.UserID(hanashi.NewID())
	u.CreatedAt = db.now()
	if _, err := db.pool.Exec(ctx, insertUser, userArgs(u)...); err != nil {
		return hanashi.User{}, fmt.Errorf("postgres: create user: %w", err)
	}
	return u, nil
}

// insertUser stores the user userArgs lists.
const insertUser = `
	INSERT INTO users (id, name, avatar_url, guest, email, disabled, avatar_upload, provider_avatar, time_zone, created_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

func userArgs(u hanashi.User) []any {
	return []any{u.ID, u.Name, u.AvatarURL, u.Guest, u.Email, u.Disabled, u.AvatarUpload, u.ProviderAvatar, u.TimeZone, u.CreatedAt}
}

// User returns the user with the given id, or ENOTFOUND.
func (db *DB) User(ctx context.Context, uid hanashi.UserID) (hanashi.User, error) {
	row := db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id(uid))
	u, err := scanUser(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return hanashi.User{}, hanashi.ErrUserNotFound
	} else if err != nil {
		return hanashi.User{}, fmt.Errorf("postgres: user: %w", err)
	}
	return u, nil
}

// UpdateProfile changes the fields of p that are not nil and returns the
// user as stored, or ENOTFOUND. A field that is not UTF-8 text without NUL
// characters is EINVALID.
func (db *DB) UpdateProfile(ctx context.Context, uid hanashi.UserID, p hanashi.ProfileUpdate) (hanashi.User, error) {
	for _, f := range []*string{p.Name, p.AvatarUpload, p.AvatarURL, p.TimeZone} {
		if f != nil && !textOK(*f) {
			return hanashi.User{}, hanashi.Errorf(hanashi.EINVALID, "name, avatars and time zone must be text")
		}
	}
	// A NULL parameter (a nil field) leaves its column as it is.
	row := db.pool.QueryRow(ctx, `
		UPDATE users u SET
			name = coalesce($2::text, u.name),
			avatar_upload = coalesce($3::text, u.avatar_upload),
			avatar_url = coalesce($4::text, u.avatar_url),
			time_zone = coalesce($5::text, u.time_zone)
		WHERE u.id = $1
		RETURNING `+userColumns,
		id(uid), p.Name, p.AvatarUpload, p.AvatarURL, p.TimeZone)
	u, err := scanUser(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return hanashi.User{}, hanashi.ErrUserNotFound
	} else if err != nil {
		return hanashi.User{}, fmt.Errorf("postgres: update profile: %w", err)
	}
	return u, nil
}

// SetDisabled disables or enables user; disabling ends its sessions. It
// fails with ENOTFOUND for an unknown user and with EINVALID for enabling a
// claimed guest.
func (db *DB) SetDisabled(ctx context.Context, uid hanashi.UserID, disabled bool) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// The row lock comes before the revocation lock, as in ClaimGuest.
		var claimed bool
		err := tx.QueryRow(ctx, `UPDATE users SET disabled = $2 WHERE id = $1
			RETURNING claimed_by IS NOT NULL`, id(uid), disabled).Scan(&claimed)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return hanashi.ErrUserNotFound
		case err != nil:
			return err
		case claimed && !disabled:
			return hanashi.Errorf(hanashi.EINVALID, "a claimed guest cannot be enabled")
		case !disabled:
			return nil
		}
		return db.revoke(ctx, tx, byUser, id(uid))
	})
	if err != nil {
		return fmt.Errorf("postgres: set disabled: %w", err)
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
	// One statement: the user check and the insert see the same snapshot,
	// and ON CONFLICT waits for a concurrent insert of the same hash rather
	// than failing with a unique violation.
	var userFound, disabled, inserted bool
	err := db.pool.QueryRow(ctx, `
		WITH u AS (
			SELECT EXISTS (SELECT 1 FROM users WHERE id = $2) AS found,
				coalesce((SELECT disabled FROM users WHERE id = $2), false) AS disabled
		), ins AS (
			INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
			SELECT $1::bytea, $2, $3::timestamptz, $4::timestamptz FROM u WHERE u.found AND NOT u.disabled
			ON CONFLICT (token_hash) DO NOTHING
			RETURNING 1
		)
		SELECT u.found, u.disabled, EXISTS (SELECT 1 FROM ins) FROM u`,
		s.TokenHash, id(s.User), stored(s.CreatedAt), stored(s.ExpiresAt)).Scan(&userFound, &disabled, &inserted)
	switch {
	case err != nil:
		return fmt.Errorf("postgres: create session: %w", err)
	case !userFound:
		return fmt.Errorf("postgres: create session: %w", hanashi.ErrUserNotFound)
	case disabled:
		return fmt.Errorf("postgres: create session: %w", hanashi.ErrDisabled)
	case !inserted:
		return fmt.Errorf("postgres: create session: %w", hanashi.Errorf(hanashi.ECONFLICT, "session token already in use"))
	}
	return nil
}

// SessionUser returns the owner of the unexpired session whose token hashes
// to tokenHash, or EUNAUTHORIZED; a disabled owner is EUNAUTHORIZED too.
func (db *DB) SessionUser(ctx context.Context, tokenHash []byte) (hanashi.User, error) {
	row := db.pool.QueryRow(ctx, `
		SELECT `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled`,
		tokenHash, db.now())
	u, err := scanUser(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return hanashi.User{}, hanashi.Errorf(hanashi.EUNAUTHORIZED, "session unknown or expired")
	} else if err != nil {
		return hanashi.User{}, fmt.Errorf("postgres: session user: %w", err)
	}
	return u, nil
}

// DeleteSession removes the session with the given token hash, if any, and
// logs it as revoked.
func (db *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	if err := db.revokeNow(ctx, byToken, tokenHash); err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions removes every session of user and logs them as revoked.
func (db *DB) DeleteUserSessions(ctx context.Context, uid hanashi.UserID) error {
	if err := db.revokeNow(ctx, byUser, id(uid)); err != nil {
		return fmt.Errorf("postgres: delete user sessions: %w", err)
	}
	return nil
}
