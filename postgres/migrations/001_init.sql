-- The first schema of Hanashi on PostgreSQL; the twin of sqlite's 001_init.sql.
--
-- Times are timestamptz, which keeps microseconds: the store truncates every
-- time it writes to the microsecond, so what it returns equals what it reads
-- back later.

CREATE TABLE users (
	id         text        NOT NULL PRIMARY KEY,
	name       text        NOT NULL,
	avatar_url text        NOT NULL DEFAULT '',
	guest      boolean     NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL
);

-- Only the SHA-256 of a session token is stored, so a copy of the database
-- does not hand out sessions.
CREATE TABLE sessions (
	token_hash bytea       NOT NULL PRIMARY KEY,
	user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_user_id ON sessions (user_id);

-- An identity column hands out increasing ids and never one twice, even
-- after a rollback or a delete: (room, seq) is a client's resume cursor and
-- must not point into another room.
-- last_seq is the room's sequence counter. Post locks the row, and advances
-- the counter in the same transaction that inserts the messages, so the
-- messages of a room commit in seq order.
CREATE TABLE rooms (
	id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       text        NOT NULL,
	private    boolean     NOT NULL DEFAULT false,
	created_by text        NOT NULL REFERENCES users (id),
	created_at timestamptz NOT NULL,
	last_seq   bigint      NOT NULL DEFAULT 0
);

CREATE TABLE members (
	room_id bigint NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	user_id text   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (room_id, user_id)
);

CREATE INDEX members_user_id ON members (user_id);

-- UNIQUE (room_id, seq) is both the guard against a duplicate sequence
-- number and the index every page of history is read through.
-- UNIQUE (author_id, client_id) makes a retried send idempotent; a NULL
-- client_id (none given) never collides. Message ids are time-ordered (see
-- hanashi.NewSortableID), so their index grows at one end.
CREATE TABLE messages (
	id         text        NOT NULL PRIMARY KEY,
	room_id    bigint      NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	seq        bigint      NOT NULL,
	author_id  text        NOT NULL REFERENCES users (id),
	client_id  text,
	body       text        NOT NULL,
	created_at timestamptz NOT NULL,
	CONSTRAINT messages_room_seq UNIQUE (room_id, seq),
	CONSTRAINT messages_client_id UNIQUE (author_id, client_id)
);
