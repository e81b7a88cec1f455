package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/sqlrows"
)

// topLevel selects the top-level messages of a room's stream: what History
// returns and Unread counts.
const topLevel = `m.thread_id IS NULL AND m.kind IN ('message', 'room')`

// History returns a page of room's top-level messages, folded. Two
// queries: the page, then the reactions of its messages.
func (db *DB) History(ctx context.Context, room hanashi.RoomID, viewer hanashi.UserID, p hanashi.Page) ([]hanashi.Message, error) {
	msgs, err := db.page(ctx, `messages m`, `m.room_id = ? AND `+topLevel, []any{room}, p, true)
	if err == nil {
		err = db.foldReactions(ctx, msgs, viewer)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: history: %w", err)
	}
	return msgs, nil
}

// ThreadMessages returns a page of the replies to root, folded.
func (db *DB) ThreadMessages(ctx context.Context, room hanashi.RoomID, root hanashi.MessageID, viewer hanashi.UserID, p hanashi.Page) ([]hanashi.Message, error) {
	// Without statistics SQLite may take the room's index and read the
	// whole room to find a thread.
	msgs, err := db.page(ctx, `messages m INDEXED BY messages_thread`,
		`m.thread_id = ? AND m.room_id = ? AND m.kind = 'message'`, []any{root, room}, p, true)
	if err == nil {
		err = db.foldReactions(ctx, msgs, viewer)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: thread messages: %w", err)
	}
	return msgs, nil
}

// HistoryMessage returns one message of room, folded: the message row by
// its primary key (a page of at most one), then its reactions.
func (db *DB) HistoryMessage(ctx context.Context, room hanashi.RoomID, id hanashi.MessageID, viewer hanashi.UserID) (hanashi.Message, error) {
	msgs, err := db.page(ctx, `messages m`, `m.id = ? AND m.room_id = ? AND m.kind IN ('message', 'room')`, []any{id, room}, hanashi.Page{Limit: 1}, true)
	if err == nil {
		err = db.foldReactions(ctx, msgs, viewer)
	}
	if err != nil {
		return hanashi.Message{}, fmt.Errorf("sqlite: history message: %w", err)
	}
	if len(msgs) == 0 {
		return hanashi.Message{}, hanashi.ErrMessageNotFound
	}
	return msgs[0], nil
}

// foldReactions sets the Reactions of msgs in one query: per message and
// emoji the first MaxReactionUsers users, the count and whether viewer is
// among them, emojis in the order of their first reaction.
func (db *DB) foldReactions(ctx context.Context, msgs []hanashi.Message, viewer hanashi.UserID) error {
	if len(msgs) == 0 {
		return nil
	}
	args := []any{viewer}
	byID := make(map[hanashi.MessageID]*hanashi.Message, len(msgs))
	for i := range msgs {
		args = append(args, msgs[i].ID)
		byID[msgs[i].ID] = &msgs[i]
	}
	args = append(args, hanashi.MaxReactionUsers)
	rows, err := db.read.QueryContext(ctx, `
		SELECT message_id, emoji, user_id, n, mine FROM (
			SELECT message_id, emoji, user_id, seq,
				row_number() OVER (PARTITION BY message_id, emoji ORDER BY seq) AS rn,
				count(*) OVER w AS n,
				max(user_id = ?1) OVER w AS mine,
				min(seq) OVER w AS first
			FROM reactions
			WHERE message_id IN (?`+strings.Repeat(`, ?`, len(msgs)-1)+`)
			WINDOW w AS (PARTITION BY message_id, emoji)
		)
		WHERE rn <= ?
		ORDER BY message_id, first, seq`, args...)
	if err != nil {
		return fmt.Errorf("reactions: %w", err)
	}
	defer rows.Close()
	if err := sqlrows.Reactions(rows, byID); err != nil {
		return fmt.Errorf("reactions: %w", err)
	}
	return nil
}

// MarkRead advances user's read marker in room.
func (db *DB) MarkRead(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64) (int64, error) {
	if seq < 0 {
		return 0, hanashi.Errorf(hanashi.EINVALID, "seq must not be negative")
	}
	m, err := db.setMarker(ctx, user, room, seq, "max(seq, excluded.seq)")
	if err != nil {
		return 0, fmt.Errorf("sqlite: mark read: %w", err)
	}
	return m, nil
}

// MarkUnread sets user's read marker in room to just before seq.
func (db *DB) MarkUnread(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64) (int64, error) {
	if seq < 1 {
		return 0, hanashi.Errorf(hanashi.EINVALID, "seq must be a sequence number")
	}
	m, err := db.setMarker(ctx, user, room, seq-1, "excluded.seq")
	if err != nil {
		return 0, fmt.Errorf("sqlite: mark unread: %w", err)
	}
	return m, nil
}

// setMarker stores user's read marker in room as seq (at most the room's
// last seq), or on a marker already there as the SQL expression update
// says, and returns the marker stored.
func (db *DB) setMarker(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64, update string) (int64, error) {
	var marker int64
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, user); err != nil {
			return err
		}
		var last int64
		err := tx.QueryRowContext(ctx, `SELECT last_seq FROM rooms WHERE id = ?`, room).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			return hanashi.ErrRoomNotFound
		} else if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `
			INSERT INTO read_markers (user_id, room_id, seq) VALUES (?, ?, ?)
			ON CONFLICT (user_id, room_id) DO UPDATE SET seq = `+update+`
			RETURNING seq`, user, room, min(seq, last)).Scan(&marker)
	})
	return marker, err
}

// userExists fails with ENOTFOUND unless user exists.
func userExists(ctx context.Context, tx *sql.Tx, user hanashi.UserID) error {
	var ok bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)`, user).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return hanashi.ErrUserNotFound
	}
	return nil
}

// Unread counts, per room user is a member of, the unread messages and
// mentions in one query, which reads one snapshot of the database.
func (db *DB) Unread(ctx context.Context, user hanashi.UserID) ([]hanashi.UnreadCount, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT x.room_id, x.last_read, x.last_seq,
			(SELECT count(*) FROM messages m
				WHERE m.room_id = x.room_id AND `+topLevel+`
				AND m.seq > x.low AND m.deleted = 0 AND m.author_id <> ?1),
			(SELECT count(*) FROM (
				SELECT mm.seq FROM message_mentions mm
					WHERE mm.user_id = ?1 AND mm.room_id = x.room_id AND mm.seq > x.low
				UNION
				SELECT m.seq FROM messages m
					WHERE m.room_id = x.room_id AND m.mentions_room = 1
					AND m.seq > x.low AND m.deleted = 0 AND m.author_id <> ?1))
		FROM (
			SELECT mb.room_id, coalesce(rm.seq, 0) AS last_read, r.last_seq,
				-- No more than the window's numbers after the marker; otherwise
				-- the window's oldest event (the numbers jump after a restore).
				CASE WHEN r.last_seq - coalesce(rm.seq, 0) <= ?2 THEN coalesce(rm.seq, 0)
				ELSE coalesce((SELECT m.seq FROM messages m WHERE m.room_id = mb.room_id AND m.seq > coalesce(rm.seq, 0)
					ORDER BY m.seq DESC LIMIT 1 OFFSET ?2), coalesce(rm.seq, 0)) END AS low
			FROM members mb
			JOIN rooms r ON r.id = mb.room_id
			LEFT JOIN read_markers rm ON rm.user_id = mb.user_id AND rm.room_id = mb.room_id
			WHERE mb.user_id = ?1
		) x
		ORDER BY x.room_id`, user, hanashi.UnreadWindow)
	if err != nil {
		return nil, fmt.Errorf("sqlite: unread: %w", err)
	}
	defer rows.Close()
	counts, err := sqlrows.Collect(rows, sqlrows.UnreadCount)
	if err != nil {
		return nil, fmt.Errorf("sqlite: unread: %w", err)
	}
	return counts, nil
}

// FollowThread makes user follow the thread of root, or stop following it.
func (db *DB) FollowThread(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, root hanashi.MessageID, follow bool) error {
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		var ok bool
		err := tx.QueryRowContext(ctx, `
			SELECT EXISTS (SELECT 1 FROM messages m
				WHERE m.id = ? AND m.room_id = ? AND m.kind = 'message' AND m.thread_id IS NULL)`,
			root, room).Scan(&ok)
		if err != nil {
			return err
		}
		if !ok {
			return hanashi.ErrMessageNotFound
		}
		if err := userExists(ctx, tx, user); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO thread_follows (user_id, root_id, room_id, following, read_seq)
			SELECT ?, ?, id, ?, last_seq FROM rooms WHERE id = ?
			ON CONFLICT (user_id, root_id) DO UPDATE SET following = excluded.following`,
			user, root, follow, room)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: follow thread: %w", err)
	}
	return nil
}

// MarkThreadRead advances user's read marker in the thread of root, if
// the user has one.
func (db *DB) MarkThreadRead(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, root hanashi.MessageID, seq int64) error {
	if seq < 0 {
		return hanashi.Errorf(hanashi.EINVALID, "seq must not be negative")
	}
	_, err := db.write.ExecContext(ctx, `
		UPDATE thread_follows
		SET read_seq = max(read_seq, min(?1, (SELECT last_seq FROM rooms WHERE id = ?2)))
		WHERE user_id = ?3 AND root_id = ?4 AND room_id = ?2`,
		seq, room, user, root)
	if err != nil {
		return fmt.Errorf("sqlite: mark thread read: %w", err)
	}
	return nil
}

// UnreadThreads counts the unread replies of the threads user follows, in
// one query.
func (db *DB) UnreadThreads(ctx context.Context, user hanashi.UserID) ([]hanashi.UnreadThread, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT room_id, root_id, read_seq, n FROM (
			SELECT tf.room_id, tf.root_id, tf.read_seq, root.seq AS root_seq,
				(SELECT count(*) FROM messages m
					WHERE m.thread_id = tf.root_id AND m.seq > tf.read_seq AND m.kind = 'message'
					AND m.deleted = 0 AND m.author_id <> ?1) AS n
			FROM thread_follows tf
			JOIN rooms r ON r.id = tf.room_id
			JOIN messages root ON root.id = tf.root_id
			WHERE tf.user_id = ?1 AND tf.following = 1
			AND (r.private = 0 OR EXISTS (SELECT 1 FROM members mb WHERE mb.room_id = r.id AND mb.user_id = ?1))
		)
		WHERE n > 0
		ORDER BY room_id, root_seq`, user)
	if err != nil {
		return nil, fmt.Errorf("sqlite: unread threads: %w", err)
	}
	defer rows.Close()
	threads, err := sqlrows.Collect(rows, sqlrows.UnreadThread)
	if err != nil {
		return nil, fmt.Errorf("sqlite: unread threads: %w", err)
	}
	return threads, nil
}

// Members lists the members of room in the order of their ids.
func (db *DB) Members(ctx context.Context, room hanashi.RoomID) ([]hanashi.Author, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT u.id, u.name, u.avatar_url, u.time_zone FROM members m JOIN users u ON u.id = m.user_id
		WHERE m.room_id = ? ORDER BY u.id`, room)
	if err != nil {
		return nil, fmt.Errorf("sqlite: members: %w", err)
	}
	defer rows.Close()
	members, err := sqlrows.Collect(rows, sqlrows.Member)
	if err != nil {
		return nil, fmt.Errorf("sqlite: members: %w", err)
	}
	return members, nil
}

// SearchUsers finds signed-in users by the start of their name. lower()
// is the key of users_name_key, so the range starts in the index; substr
// and length count characters, as the prefix does.
func (db *DB) SearchUsers(ctx context.Context, prefix string, limit int) ([]hanashi.Author, error) {
	if !utf8.ValidString(prefix) || strings.IndexByte(prefix, 0) >= 0 {
		return nil, hanashi.Errorf(hanashi.EINVALID, "a name to search for must be text")
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT id, name, avatar_url FROM users INDEXED BY users_name_key
		WHERE lower(name) >= ?1 AND substr(lower(name), 1, length(?1)) = ?1 AND NOT guest AND NOT disabled
		ORDER BY lower(name), name, id LIMIT ?2`, hanashi.NameKey(prefix), hanashi.UserSearchLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: search users: %w", err)
	}
	defer rows.Close()
	users, err := sqlrows.Collect(rows, sqlrows.Author)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search users: %w", err)
	}
	return users, nil
}

// DirectRoom finds or makes the direct room of members. The write
// transaction holds the database's one write lock, so concurrent calls
// queue, and the second finds the room the first made.
func (db *DB) DirectRoom(ctx context.Context, members []hanashi.UserID) (hanashi.Room, error) {
	set, err := hanashi.DirectMembers(members)
	if err != nil {
		return hanashi.Room{}, err
	}
	var r hanashi.Room
	err = db.inWriteTx(ctx, func(tx *sql.Tx) error {
		var names []string
		for _, u := range set {
			var name string
			err := tx.QueryRowContext(ctx, `SELECT name FROM users WHERE id = ?`, u).Scan(&name)
			if errors.Is(err, sql.ErrNoRows) {
				return hanashi.ErrUserNotFound
			} else if err != nil {
				return err
			}
			names = append(names, name)
		}
		args := []any{set[0], len(set)}
		for _, u := range set {
			args = append(args, u)
		}
		// The direct rooms of the first member, whose members are as many
		// as the set and all in it.
		var id hanashi.RoomID
		err := tx.QueryRowContext(ctx, `
			SELECT r.id FROM members m0 JOIN rooms r ON r.id = m0.room_id
			WHERE m0.user_id = ?1 AND r.kind = 'direct'
			AND (SELECT count(*) FROM members m WHERE m.room_id = r.id) = ?2
			AND (SELECT count(*) FROM members m WHERE m.room_id = r.id
				AND m.user_id IN (?`+strings.Repeat(`, ?`, len(set)-1)+`)) = ?2
			ORDER BY r.id LIMIT 1`, args...).Scan(&id)
		if err == nil {
			r, err = scanRoom(tx.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms r WHERE r.id = ?2`, set[0], id).Scan)
			return err
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		r = hanashi.Room{
			Name:          hanashi.DirectRoomName(names),
			Private:       true,
			GuestsAllowed: true,
			CreatedBy:     set[0],
			CreatedAt:     db.now(),
			Kind:          hanashi.RoomDirect,
			Member:        true,
		}
		err = tx.QueryRowContext(ctx, `
			INSERT INTO rooms (name, private, guests_allowed, created_by, created_at, kind)
			VALUES (?, 1, 1, ?, ?, 'direct') RETURNING id`,
			r.Name, r.CreatedBy, toNanos(r.CreatedAt)).Scan(&r.ID)
		if err != nil {
			return err
		}
		for _, u := range set {
			if err := join(ctx, tx, r.ID, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return hanashi.Room{}, fmt.Errorf("sqlite: direct room: %w", err)
	}
	return r, nil
}

// join makes user a member of room, with the read marker at the room's
// last seq, unless user is a member already.
func join(ctx context.Context, tx *sql.Tx, room hanashi.RoomID, user hanashi.UserID) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO members (room_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, room, user)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO read_markers (user_id, room_id, seq) SELECT ?, id, last_seq FROM rooms WHERE id = ?
		ON CONFLICT (user_id, room_id) DO UPDATE SET seq = max(seq, excluded.seq)`, user, room)
	return err
}
