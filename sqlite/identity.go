package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// SignIn returns the user of the identity id, linking it to the user with
// the same verified address or to a new user if it is new. See
// hanashi.Store. The write transaction holds the database's one write lock,
// so concurrent sign-ins simply queue.
func (db *DB) SignIn(ctx context.Context, id hanashi.Identity) (hanashi.User, error) {
	if id.Provider == "" || id.Subject == "" {
		return hanashi.User{}, hanashi.Errorf(hanashi.EINVALID, "identity without provider or subject")
	}
	email := hanashi.NormalEmail(id.Email)
	verified := id.EmailVerified && email != ""
	now := db.now()
	var u hanashi.User
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		var owner hanashi.UserID
		err := tx.QueryRowContext(ctx,
			`SELECT user_id FROM identities WHERE provider = ? AND subject = ?`, id.Provider, id.Subject).Scan(&owner)
		known := err == nil
		switch {
		case errors.Is(err, sql.ErrNoRows) && verified:
			// The oldest identity that vouches for the address decides, in
			// the unlikely case that two users have one.
			err = tx.QueryRowContext(ctx, `
				SELECT user_id FROM identities
				WHERE email = ? AND email_verified = 1
				ORDER BY created_at, provider, subject LIMIT 1`, email).Scan(&owner)
			if errors.Is(err, sql.ErrNoRows) {
				err = nil
			}
		case errors.Is(err, sql.ErrNoRows):
			err = nil
		}
		if err != nil {
			return err
		}

		if owner == "" {
			u = hanashi.User{
				ID:             hanashi.UserID(hanashi.NewID()),
				Name:           id.DisplayName(),
				ProviderAvatar: id.Picture,
				CreatedAt:      now,
			}
			if verified {
				u.Email = email
			}
			if err := insertUser(ctx, tx, u); err != nil {
				return err
			}
		} else {
			// A new picture replaces the old; a verified address fills an
			// empty Email but never replaces one.
			row := tx.QueryRowContext(ctx, `
				UPDATE users SET
					provider_avatar = CASE WHEN ?2 <> '' THEN ?2 ELSE provider_avatar END,
					email = CASE WHEN email = '' AND ?3 THEN ?4 ELSE email END
				WHERE id = ?1
				`+returningUser,
				owner, id.Picture, verified, email)
			if u, err = scanUser(row); err != nil {
				return err
			}
			if u.Disabled {
				return hanashi.ErrDisabled
			}
		}

		if known {
			_, err = tx.ExecContext(ctx,
				`UPDATE identities SET email = ?, email_verified = ? WHERE provider = ? AND subject = ?`,
				email, verified, id.Provider, id.Subject)
		} else {
			_, err = tx.ExecContext(ctx, `
				INSERT INTO identities (provider, subject, user_id, email, email_verified, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`,
				id.Provider, id.Subject, u.ID, email, verified, toNanos(now))
		}
		return err
	})
	if err != nil {
		return hanashi.User{}, fmt.Errorf("sqlite: sign in: %w", err)
	}
	return u, nil
}

// ClaimGuest moves what guest posted to user and retires guest. See
// hanashi.Store.
func (db *DB) ClaimGuest(ctx context.Context, guest, user hanashi.UserID) (int, error) {
	var moved int64
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		var g, u claimParty
		if err := g.read(ctx, tx, guest); err != nil {
			return err
		}
		if err := u.read(ctx, tx, user); err != nil {
			return err
		}
		if err := checkClaim(guest, user, g, u); err != nil {
			return err
		}
		// A client id the account already has would collide: the guest's
		// message keeps its place and loses its client id.
		_, err := tx.ExecContext(ctx, `
			UPDATE messages SET client_id = NULL
			WHERE author_id = ?1 AND client_id IN (
				SELECT client_id FROM messages WHERE author_id = ?2 AND client_id IS NOT NULL)`,
			guest, user)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE messages SET author_id = ? WHERE author_id = ?`, user, guest)
		if err != nil {
			return err
		}
		if moved, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO members (room_id, user_id)
			SELECT room_id, ?1 FROM members WHERE user_id = ?2
			ON CONFLICT DO NOTHING`, user, guest)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM members WHERE user_id = ?`, guest); err != nil {
			return err
		}
		if err := claimChat(ctx, tx, guest, user); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = 1, claimed_by = ? WHERE id = ?`, user, guest); err != nil {
			return err
		}
		return db.revokeUserSessions(ctx, tx, guest)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: claim guest: %w", err)
	}
	return int(moved), nil
}

// claimParty is what ClaimGuest needs to know of the guest and of the user.
type claimParty struct {
	guest, disabled bool
	claimedBy       sql.NullString
}

func (p *claimParty) read(ctx context.Context, tx *sql.Tx, id hanashi.UserID) error {
	err := tx.QueryRowContext(ctx, `SELECT guest, disabled, claimed_by FROM users WHERE id = ?`, id).
		Scan(&p.guest, &p.disabled, &p.claimedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return hanashi.ErrUserNotFound
	}
	return err
}

// checkClaim returns why guest may not be claimed into user, or nil.
func checkClaim(guest, user hanashi.UserID, g, u claimParty) error {
	switch {
	case guest == user, !g.guest:
		return hanashi.Errorf(hanashi.EINVALID, "only a guest can be claimed")
	case u.guest:
		return hanashi.Errorf(hanashi.EINVALID, "a guest cannot claim another guest")
	case u.disabled:
		return hanashi.ErrDisabled
	case g.claimedBy.Valid && g.claimedBy.String != string(user):
		return hanashi.Errorf(hanashi.ECONFLICT, "this guest was claimed by another account")
	case g.disabled && !g.claimedBy.Valid:
		return hanashi.Errorf(hanashi.EFORBIDDEN, "this guest is disabled")
	}
	return nil
}

// CreateLoginToken stores a sign-in link's token and purges the tokens that
// expired more than hanashi.LoginTokenRetention ago.
func (db *DB) CreateLoginToken(ctx context.Context, t hanashi.LoginToken) error {
	email := hanashi.NormalEmail(t.Email)
	switch {
	case len(t.Hash) == 0 || email == "":
		return hanashi.Errorf(hanashi.EINVALID, "login token without hash or e-mail")
	case !storable(t.ExpiresAt):
		return hanashi.Errorf(hanashi.EINVALID, "login token time out of range")
	}
	now := db.now()
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		var taken bool
		err := tx.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM login_tokens WHERE token_hash = ?)`, t.Hash).Scan(&taken)
		if err != nil {
			return err
		} else if taken {
			return hanashi.Errorf(hanashi.ECONFLICT, "login token already in use")
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO login_tokens (token_hash, email, ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			t.Hash, email, t.IP, toNanos(now), toNanos(t.ExpiresAt))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM login_tokens WHERE expires_at < ?`,
			toNanos(now.Add(-hanashi.LoginTokenRetention)))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create login token: %w", err)
	}
	return nil
}

// CountLoginTokens counts the tokens made at or after since for email and
// for ip.
func (db *DB) CountLoginTokens(ctx context.Context, email, ip string, since time.Time) (byEmail, byIP int, err error) {
	from := clampNanos(since)
	err = db.read.QueryRowContext(ctx, `
		SELECT
			(SELECT count(*) FROM login_tokens WHERE email = ?1 AND created_at >= ?3),
			(SELECT count(*) FROM login_tokens WHERE ip = ?2 AND created_at >= ?3)`,
		hanashi.NormalEmail(email), ip, from).Scan(&byEmail, &byIP)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: count login tokens: %w", err)
	}
	return byEmail, byIP, nil
}

// RedeemLoginToken spends a token once and returns its address. The one
// UPDATE both checks and spends it, and the single writer runs one at a time,
// so only the first of many concurrent calls finds the token unused.
func (db *DB) RedeemLoginToken(ctx context.Context, hash []byte) (string, error) {
	now := toNanos(db.now())
	var email string
	err := db.write.QueryRowContext(ctx, `
		UPDATE login_tokens SET used_at = ?1
		WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
		RETURNING email`, now, hash).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errBadLoginToken()
	} else if err != nil {
		return "", fmt.Errorf("sqlite: redeem login token: %w", err)
	}
	return email, nil
}

// errBadLoginToken is the one error for a token that is unknown, used or
// expired, so the answer does not tell which.
func errBadLoginToken() error {
	return hanashi.Errorf(hanashi.EUNAUTHORIZED, "sign-in link unknown, used or expired")
}

// clampNanos is toNanos for a time given by a caller to compare against:
// times beyond what can be stored become the smallest or largest value.
func clampNanos(t time.Time) int64 {
	switch {
	case storable(t):
		return toNanos(t)
	case t.Before(time.Now()):
		return math.MinInt64
	}
	return math.MaxInt64
}

// claimChat hands guest's reactions, mentions, read markers and thread
// follows to user, inside ClaimGuest. Where user has the same already (a
// reaction with the same emoji, a marker in the same room), user's own wins,
// except that the further read marker is kept; a mention of user in what is
// now user's own message goes, as a user never mentions themselves.
func claimChat(ctx context.Context, tx *sql.Tx, guest, user hanashi.UserID) error {
	for _, q := range []string{
		`UPDATE OR IGNORE reactions SET user_id = ?2 WHERE user_id = ?1`,
		`DELETE FROM reactions WHERE user_id = ?1`,
		`UPDATE OR IGNORE message_mentions SET user_id = ?2 WHERE user_id = ?1`,
		`DELETE FROM message_mentions WHERE user_id = ?1`,
		`DELETE FROM message_mentions WHERE user_id = ?2 AND EXISTS (
			SELECT 1 FROM messages m WHERE m.room_id = message_mentions.room_id AND m.seq = message_mentions.seq
			AND m.author_id = ?2)`,
		`INSERT INTO read_markers (user_id, room_id, seq) SELECT ?2, room_id, seq FROM read_markers WHERE user_id = ?1
			ON CONFLICT (user_id, room_id) DO UPDATE SET seq = max(seq, excluded.seq)`,
		`DELETE FROM read_markers WHERE user_id = ?1`,
		`INSERT INTO thread_follows (user_id, root_id, room_id, following, read_seq)
			SELECT ?2, root_id, room_id, following, read_seq FROM thread_follows WHERE user_id = ?1
			ON CONFLICT (user_id, root_id) DO NOTHING`,
		`DELETE FROM thread_follows WHERE user_id = ?1`,
	} {
		if _, err := tx.ExecContext(ctx, q, guest, user); err != nil {
			return err
		}
	}
	return nil
}
