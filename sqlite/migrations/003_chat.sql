-- Team chat: events in the stream (edits, deletions, reactions, links to
-- nested rooms), threads, mentions, read markers, thread following, direct
-- rooms and nested rooms. See chat.go at the root for the rules.
--
-- messages holds every event of a room's stream. Besides the fields of
-- the event it keeps, on a message's own row, its folded state: body (the
-- current one), edited_at, deleted, reply_count and last_reply_at. Rows are
-- never deleted: a deleted message is a tombstone with an empty body.
-- has_mentions says that message_mentions has rows for the message, so
-- that reading a page does not probe that table for every event.
ALTER TABLE messages ADD COLUMN kind          TEXT    NOT NULL DEFAULT 'message';
ALTER TABLE messages ADD COLUMN target_id     TEXT;
ALTER TABLE messages ADD COLUMN thread_id     TEXT;
ALTER TABLE messages ADD COLUMN emoji         TEXT    NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN child_id      INTEGER;
ALTER TABLE messages ADD COLUMN mentions_room INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN has_mentions  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_at     INTEGER;
ALTER TABLE messages ADD COLUMN deleted       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN reply_count   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN last_reply_at INTEGER;

-- A thread view pages through its replies, a deletion finds the edits of
-- its target, and Unread counts @room mentions: each through an index that
-- holds only those rows. Queries repeat the WHERE of the index word for
-- word, which is how SQLite knows it may use it. History and the unread
-- count of top-level messages read through UNIQUE (room_id, seq) and skip
-- the other events: an index of the top-level messages alone would save
-- them little and was measured to cost every Post about a tenth.
CREATE INDEX messages_thread ON messages (thread_id, seq) WHERE thread_id IS NOT NULL;
CREATE INDEX messages_target ON messages (target_id) WHERE target_id IS NOT NULL;
CREATE INDEX messages_mentions_room ON messages (room_id, seq) WHERE mentions_room = 1;

-- Mentions compare names with the ASCII letters lowered (hanashi.NameKey),
-- which is what lower() does.
CREATE INDEX users_name_key ON users (lower(name));

-- kind is 'direct' for direct rooms, '' otherwise. parent_id and parent_seq
-- place a nested room's link in its parent's stream.
ALTER TABLE rooms ADD COLUMN kind       TEXT    NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN parent_id  INTEGER REFERENCES rooms (id);
ALTER TABLE rooms ADD COLUMN parent_seq INTEGER NOT NULL DEFAULT 0;

-- The current reactions, one row per message, emoji and user; seq is that
-- of the react event, which orders emojis and users in History.
CREATE TABLE reactions (
	message_id TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	emoji      TEXT    NOT NULL,
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	PRIMARY KEY (message_id, emoji, user_id)
) STRICT, WITHOUT ROWID;

-- The members a message mentions by name, its author excepted; @room is
-- messages.mentions_room. A deletion removes them.
CREATE TABLE message_mentions (
	room_id INTEGER NOT NULL,
	seq     INTEGER NOT NULL,
	user_id TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (room_id, seq, user_id),
	FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX message_mentions_user ON message_mentions (user_id, room_id, seq);

-- A user's read marker in a room: the seq up to which they have read.
CREATE TABLE read_markers (
	user_id TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	seq     INTEGER NOT NULL,
	PRIMARY KEY (user_id, room_id)
) STRICT, WITHOUT ROWID;

-- What has been said so far counts as read by the members of the time.
INSERT INTO read_markers (user_id, room_id, seq)
SELECT m.user_id, m.room_id, r.last_seq FROM members m JOIN rooms r ON r.id = m.room_id;

-- The threads a user follows (following = 1) or stopped following (0),
-- with their read marker in each, a seq of the room.
CREATE TABLE thread_follows (
	user_id   TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	root_id   TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	room_id   INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	following INTEGER NOT NULL,
	read_seq  INTEGER NOT NULL,
	PRIMARY KEY (user_id, root_id)
) STRICT, WITHOUT ROWID;
