package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// emailLockClass is the first half of the two-integer advisory lock key that
// SignIn takes on a verified address (the second half is the address's
// hash), so that first sign-ins with one address, by different providers on
// different nodes, queue instead of each making a user. Two-integer keys are
// a key space of their own, apart from revokeLock and migrateLock. The
// number spells "mail" in ASCII.
const emailLockClass int32 = 0x6d61696c

// SignIn returns the user of the identity id, linking it to the user with
// the same verified address or to a new user if it is new. See
// hanashi.Store.
//
// Two first sign-ins of one identity at once both make a user, but only one
// links its identity: the other's INSERT waits for the first to commit, finds
// the identity taken, and its transaction runs again and finds it. Two with
// one verified address queue on emailLockClass, and the second finds the
// first's identity by its address.
func (db *DB) SignIn(ctx context.Context, id hanashi.Identity) (hanashi.User, error) {
	email := hanashi.NormalEmail(id.Email)
	switch {
	case id.Provider == "" || id.Subject == "":
		return hanashi.User{}, hanashi.Errorf(hanashi.EINVALID, "identity without provider or subject")
	case !textOK(id.Provider) || !textOK(id.Subject) || !textOK(email) || !textOK(id.Picture):
		return hanashi.User{}, hanashi.Errorf(hanashi.EINVALID, "identity fields must be text")
	}
	verified := id.EmailVerified && email != ""
	var u hanashi.User
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = db.signIn(ctx, tx, id, email, verified)
		return err
	})
	if err != nil {
		return hanashi.User{}, fmt.Errorf("postgres: sign in: %w", err)
	}
	return u, nil
}

// signIn is one attempt of SignIn.
func (db *DB) signIn(ctx context.Context, tx pgx.Tx, id hanashi.Identity, email string, verified bool) (hanashi.User, error) {
	now := db.now()
	var owner string
	err := tx.QueryRow(ctx,
		`SELECT user_id FROM identities WHERE provider = $1 AND subject = $2`, id.Provider, id.Subject).Scan(&owner)
	known := err == nil
	if errors.Is(err, pgx.ErrNoRows) {
		err = nil
		if verified {
			// Under READ COMMITTED, the query after the lock sees what the
			// transaction that held it committed.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, emailLockClass, email); err != nil {
				return hanashi.User{}, err
			}
			// The oldest identity that vouches for the address decides, in
			// the unlikely case that two users have one.
			err = tx.QueryRow(ctx, `
				SELECT user_id FROM identities
				WHERE email = $1 AND email_verified
				ORDER BY created_at, provider, subject LIMIT 1`, email).Scan(&owner)
			if errors.Is(err, pgx.ErrNoRows) {
				err = nil
			}
		}
	}
	if err != nil {
		return hanashi.User{}, err
	}

	var u hanashi.User
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
		if _, err := tx.Exec(ctx, insertUser, userArgs(u)...); err != nil {
			return hanashi.User{}, err
		}
	} else {
		// A new picture replaces the old; a verified address fills an empty
		// Email but never replaces one.
		row := tx.QueryRow(ctx, `
			UPDATE users u SET
				provider_avatar = CASE WHEN $2 <> '' THEN $2 ELSE u.provider_avatar END,
				email = CASE WHEN u.email = '' AND $3 THEN $4 ELSE u.email END
			WHERE u.id = $1
			RETURNING `+userColumns,
			owner, id.Picture, verified, email)
		if u, err = scanUser(row); err != nil {
			return hanashi.User{}, err
		}
		if u.Disabled {
			return hanashi.User{}, hanashi.ErrDisabled
		}
	}

	if known {
		_, err := tx.Exec(ctx,
			`UPDATE identities SET email = $3, email_verified = $4 WHERE provider = $1 AND subject = $2`,
			id.Provider, id.Subject, email, verified)
		return u, err
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO identities (provider, subject, user_id, email, email_verified, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (provider, subject) DO NOTHING`,
		id.Provider, id.Subject, u.ID, email, verified, now)
	if err != nil {
		return hanashi.User{}, err
	}
	if tag.RowsAffected() == 0 {
		return hanashi.User{}, errRaced
	}
	return u, nil
}

// ClaimGuest moves what guest posted to user and retires guest. See
// hanashi.Store.
//
// The guest's row is locked FOR UPDATE first. Post locks its authors' rows
// FOR KEY SHARE before it reads anything, so a batch of the guest's either
// committed before the claim reads the messages, or waits for the claim and
// then finds the guest disabled: no message of the guest's is left behind.
// A post of user's that takes a client id at the same time as the claim
// moves a message with it makes the claim fail on UNIQUE (author_id,
// client_id) and run again.
func (db *DB) ClaimGuest(ctx context.Context, guest, user hanashi.UserID) (int, error) {
	var moved int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var g, u claimParty
		if err := g.read(ctx, tx, guest, " FOR UPDATE"); err != nil {
			return err
		}
		if err := u.read(ctx, tx, user, ""); err != nil {
			return err
		}
		if err := checkClaim(guest, user, g, u); err != nil {
			return err
		}
		b := &pgx.Batch{}
		// A client id the account already has would collide: the guest's
		// message keeps its place and loses its client id.
		b.Queue(`
			UPDATE messages SET client_id = NULL
			WHERE author_id = $1 AND client_id IN (
				SELECT client_id FROM messages WHERE author_id = $2 AND client_id IS NOT NULL)`,
			id(guest), id(user))
		b.Queue(`UPDATE messages SET author_id = $2 WHERE author_id = $1`, id(guest), id(user)).Exec(
			func(tag pgconn.CommandTag) error {
				moved = tag.RowsAffected()
				return nil
			})
		b.Queue(`
			INSERT INTO members (room_id, user_id)
			SELECT room_id, $2 FROM members WHERE user_id = $1
			ON CONFLICT DO NOTHING`, id(guest), id(user))
		b.Queue(`DELETE FROM members WHERE user_id = $1`, id(guest))
		queueClaimChat(b, id(guest), id(user))
		b.Queue(`UPDATE users SET disabled = true, claimed_by = $2 WHERE id = $1`, id(guest), id(user))
		db.queueRevoke(b, byUser, id(guest))
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: claim guest: %w", err)
	}
	return int(moved), nil
}

// claimParty is what ClaimGuest needs to know of the guest and of the user.
type claimParty struct {
	guest, disabled bool
	claimedBy       *string
}

// read reads the user id, with the row lock lock ("" for none).
func (p *claimParty) read(ctx context.Context, tx pgx.Tx, uid hanashi.UserID, lock string) error {
	err := tx.QueryRow(ctx, `SELECT guest, disabled, claimed_by FROM users WHERE id = $1`+lock, id(uid)).
		Scan(&p.guest, &p.disabled, &p.claimedBy)
	if errors.Is(err, pgx.ErrNoRows) {
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
	case g.claimedBy != nil && *g.claimedBy != string(user):
		return hanashi.Errorf(hanashi.ECONFLICT, "this guest was claimed by another account")
	case g.disabled && g.claimedBy == nil:
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
	case !textOK(email) || !textOK(t.IP):
		return hanashi.Errorf(hanashi.EINVALID, "login token e-mail and IP must be text")
	case !storable(t.ExpiresAt):
		return hanashi.Errorf(hanashi.EINVALID, "login token time out of range")
	}
	now := db.now()
	// One statement. The purge does not see the row inserted beside it; a
	// token that is born long expired goes with the next one.
	var inserted bool
	err := db.pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO login_tokens (token_hash, email, ip, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (token_hash) DO NOTHING
			RETURNING 1
		), purge AS (
			DELETE FROM login_tokens WHERE expires_at < $6
		)
		SELECT EXISTS (SELECT 1 FROM ins)`,
		t.Hash, email, t.IP, now, stored(t.ExpiresAt), now.Add(-hanashi.LoginTokenRetention)).Scan(&inserted)
	if err == nil && !inserted {
		err = hanashi.Errorf(hanashi.ECONFLICT, "login token already in use")
	}
	if err != nil {
		return fmt.Errorf("postgres: create login token: %w", err)
	}
	return nil
}

// CountLoginTokens counts the tokens made at or after since for email and
// for ip.
func (db *DB) CountLoginTokens(ctx context.Context, email, ip string, since time.Time) (byEmail, byIP int, err error) {
	err = db.pool.QueryRow(ctx, `
		SELECT
			(SELECT count(*) FROM login_tokens WHERE email = $1 AND created_at >= $3),
			(SELECT count(*) FROM login_tokens WHERE ip = $2 AND created_at >= $3)`,
		id(hanashi.NormalEmail(email)), id(ip), clamp(since)).Scan(&byEmail, &byIP)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: count login tokens: %w", err)
	}
	return byEmail, byIP, nil
}

// RedeemLoginToken spends a token once and returns its address. The one
// UPDATE both checks and spends it: a concurrent redemption waits for the
// row lock of the first, then checks the row again under READ COMMITTED,
// finds it used and updates nothing.
func (db *DB) RedeemLoginToken(ctx context.Context, hash []byte) (string, error) {
	var email string
	err := db.pool.QueryRow(ctx, `
		UPDATE login_tokens SET used_at = $1
		WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
		RETURNING email`, db.now(), hash).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", hanashi.Errorf(hanashi.EUNAUTHORIZED, "sign-in link unknown, used or expired")
	} else if err != nil {
		return "", fmt.Errorf("postgres: redeem login token: %w", err)
	}
	return email, nil
}

// clamp returns t as a time to compare stored times with, brought into the
// range the store accepts, as the SQLite store does.
func clamp(t time.Time) time.Time {
	switch {
	case storable(t):
		return stored(t)
	case t.Before(time.Now()):
		return time.Date(1679, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(2261, 12, 31, 0, 0, 0, 0, time.UTC)
}

// queueClaimChat queues, inside ClaimGuest, the statements that hand
// guest's reactions, mentions, read markers and thread follows to user.
// Where user has the same already (a reaction with the same emoji, a marker
// in the same room), user's own wins, except that the further read marker
// is kept; a mention of user in what is now user's own message goes, as a
// user never mentions themselves. The same as the SQLite store does.
func queueClaimChat(b *pgx.Batch, guest, user string) {
	b.Queue(`UPDATE reactions x SET user_id = $2 WHERE x.user_id = $1 AND NOT EXISTS (
		SELECT 1 FROM reactions y WHERE y.message_id = x.message_id AND y.emoji = x.emoji AND y.user_id = $2)`, guest, user)
	b.Queue(`DELETE FROM reactions WHERE user_id = $1`, guest)
	b.Queue(`UPDATE message_mentions x SET user_id = $2 WHERE x.user_id = $1 AND NOT EXISTS (
		SELECT 1 FROM message_mentions y WHERE y.room_id = x.room_id AND y.seq = x.seq AND y.user_id = $2)`, guest, user)
	b.Queue(`DELETE FROM message_mentions WHERE user_id = $1`, guest)
	b.Queue(`DELETE FROM message_mentions x WHERE x.user_id = $1 AND EXISTS (
		SELECT 1 FROM messages m WHERE m.room_id = x.room_id AND m.seq = x.seq AND m.author_id = $1)`, user)
	b.Queue(`INSERT INTO read_markers (user_id, room_id, seq) SELECT $2::text, room_id, seq FROM read_markers WHERE user_id = $1
		ON CONFLICT (user_id, room_id) DO UPDATE SET seq = greatest(read_markers.seq, excluded.seq)`, guest, user)
	b.Queue(`DELETE FROM read_markers WHERE user_id = $1`, guest)
	b.Queue(`INSERT INTO thread_follows (user_id, root_id, room_id, following, read_seq)
		SELECT $2::text, root_id, room_id, following, read_seq FROM thread_follows WHERE user_id = $1
		ON CONFLICT (user_id, root_id) DO NOTHING`, guest, user)
	b.Queue(`DELETE FROM thread_follows WHERE user_id = $1`, guest)
}
