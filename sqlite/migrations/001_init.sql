-- The first schema of Hanashi.
--
-- Times are INTEGER unix nanoseconds in UTC, the one representation that
-- round-trips a Go time.Time exactly. Booleans are INTEGER 0 or 1. Tables are
-- STRICT so a wrong type is an error instead of a silently coerced value.

CREATE TABLE users (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	avatar_url TEXT    NOT NULL DEFAULT '',
	guest      INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
) STRICT;

-- Only the SHA-256 of a session token is stored, so a copy of the database
-- does not hand out sessions.
CREATE TABLE sessions (
	token_hash BLOB    NOT NULL PRIMARY KEY,
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);

-- AUTOINCREMENT so that the id of a deleted room is never handed out again:
-- (room, seq) is a client's resume cursor and must not point into another room.
-- last_seq is the room's sequence counter; Post advances it in the same
-- transaction that inserts the messages.
CREATE TABLE rooms (
	id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	name       TEXT    NOT NULL,
	private    INTEGER NOT NULL DEFAULT 0,
	created_by TEXT    NOT NULL REFERENCES users (id),
	created_at INTEGER NOT NULL,
	last_seq   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE members (
	room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	user_id TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (room_id, user_id)
) STRICT;

CREATE INDEX members_user_id ON members (user_id);

-- A rowid table, so new rows append at one end; UNIQUE (room_id, seq) is both
-- the guard against a duplicate sequence number and the index every page of
-- history is read through. UNIQUE (author_id, client_id) makes a retried send
-- idempotent; a NULL client_id (none given) never collides. Message ids are
-- time-ordered (see hanashi.NewSortableID), so their index also grows at one end.
-- (Clustering by (room_id, seq) WITHOUT ROWID was measured: it makes a batch
-- into several rooms write more pages, not fewer.)
CREATE TABLE messages (
	id         TEXT    NOT NULL PRIMARY KEY,
	room_id    INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	author_id  TEXT    NOT NULL REFERENCES users (id),
	client_id  TEXT,
	body       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (room_id, seq),
	UNIQUE (author_id, client_id)
) STRICT;
