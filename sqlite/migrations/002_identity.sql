-- Sign-in and identity: who signs in as whom, e-mail sign-in links, the log
-- of revoked sessions, avatar sources, disabled users and rooms that keep
-- guests out. Every column added has a default that keeps the rows already
-- stored as they were: users enabled, rooms open to guests.

-- email is a verified address in normal form (hanashi.NormalEmail) or ''.
-- claimed_by is the account a guest's messages were claimed into; such a
-- guest is disabled for good.
ALTER TABLE users ADD COLUMN email           TEXT    NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled        INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN avatar_upload   TEXT    NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN provider_avatar TEXT    NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN claimed_by      TEXT    REFERENCES users (id);

ALTER TABLE rooms ADD COLUMN guests_allowed INTEGER NOT NULL DEFAULT 1;

-- An identity at a provider, linked to one user. email is what the provider
-- said at the latest sign-in, in normal form; only verified addresses link a
-- new identity to an existing user, so only those are indexed.
CREATE TABLE identities (
	provider       TEXT    NOT NULL,
	subject        TEXT    NOT NULL,
	user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	email          TEXT    NOT NULL DEFAULT '',
	email_verified INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL,
	PRIMARY KEY (provider, subject)
) STRICT;

CREATE INDEX identities_user_id ON identities (user_id);
CREATE INDEX identities_verified_email ON identities (email) WHERE email_verified = 1;

-- E-mail sign-in links. As with sessions, only the SHA-256 of the token is
-- stored. used_at is set when the link is spent; used and expired tokens stay
-- a while (hanashi.LoginTokenRetention), so that the rate limits count them.
CREATE TABLE login_tokens (
	token_hash BLOB    NOT NULL PRIMARY KEY,
	email      TEXT    NOT NULL,
	ip         TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
) STRICT;

CREATE INDEX login_tokens_email ON login_tokens (email, created_at);
CREATE INDEX login_tokens_ip ON login_tokens (ip, created_at);
CREATE INDEX login_tokens_expires_at ON login_tokens (expires_at);

-- The revocation log: the token hash of every session that was deleted,
-- which every node polls to close the sockets of those sessions.
-- AUTOINCREMENT so that ids keep growing after old entries are purged: a
-- node's place in the log is the last id it read. With one writer, ids are
-- also committed in order.
CREATE TABLE revoked_sessions (
	id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	token_hash BLOB    NOT NULL,
	revoked_at INTEGER NOT NULL
) STRICT;

CREATE INDEX revoked_sessions_revoked_at ON revoked_sessions (revoked_at);
