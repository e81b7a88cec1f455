-- Sign-in and identity on PostgreSQL; the twin of sqlite's 002_identity.sql:
-- who signs in as whom, e-mail sign-in links, the log of revoked sessions,
-- avatar sources, disabled users and rooms that keep guests out. Every
-- column added has a default that keeps the rows already stored as they
-- were: users enabled, rooms open to guests. (A constant default costs no
-- rewrite of the table since PostgreSQL 11.)

-- email is a verified address in normal form (hanashi.NormalEmail) or ''.
-- claimed_by is the account a guest's messages were claimed into; such a
-- guest is disabled for good.
ALTER TABLE users
	ADD COLUMN email           text    NOT NULL DEFAULT '',
	ADD COLUMN disabled        boolean NOT NULL DEFAULT false,
	ADD COLUMN avatar_upload   text    NOT NULL DEFAULT '',
	ADD COLUMN provider_avatar text    NOT NULL DEFAULT '',
	ADD COLUMN claimed_by      text    REFERENCES users (id);

ALTER TABLE rooms ADD COLUMN guests_allowed boolean NOT NULL DEFAULT true;

-- An identity at a provider, linked to one user. email is what the provider
-- said at the latest sign-in, in normal form; only verified addresses link a
-- new identity to an existing user, so only those are indexed.
CREATE TABLE identities (
	provider       text        NOT NULL,
	subject        text        NOT NULL,
	user_id        text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	email          text        NOT NULL DEFAULT '',
	email_verified boolean     NOT NULL DEFAULT false,
	created_at     timestamptz NOT NULL,
	CONSTRAINT identities_pkey PRIMARY KEY (provider, subject)
);

CREATE INDEX identities_user_id ON identities (user_id);
CREATE INDEX identities_verified_email ON identities (email) WHERE email_verified;

-- E-mail sign-in links. As with sessions, only the SHA-256 of the token is
-- stored. used_at is set when the link is spent; used and expired tokens stay
-- a while (hanashi.LoginTokenRetention), so that the rate limits count them.
CREATE TABLE login_tokens (
	token_hash bytea       NOT NULL PRIMARY KEY,
	email      text        NOT NULL,
	ip         text        NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz
);

CREATE INDEX login_tokens_email ON login_tokens (email, created_at);
CREATE INDEX login_tokens_ip ON login_tokens (ip, created_at);
CREATE INDEX login_tokens_expires_at ON login_tokens (expires_at);

-- The revocation log: the token hash of every session that was deleted,
-- which every node polls to close the sockets of those sessions. A node's
-- place in the log is the last id it read, so ids must become visible in
-- the order they are handed out; an identity column alone does not do that
-- (a transaction that took id 7 may commit after one that took id 8). Every
-- writer therefore takes the revocation lock (see revokeLock in revoke.go)
-- before it inserts, and holds it to its commit.
CREATE TABLE revoked_sessions (
	id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	token_hash bytea       NOT NULL,
	revoked_at timestamptz NOT NULL
);

CREATE INDEX revoked_sessions_revoked_at ON revoked_sessions (revoked_at);
