package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// directLockClass is the first half of the two-integer advisory lock key
// that DirectRoom takes on a set of members (the second half is the hash of
// their sorted ids), so that concurrent calls for one set, on any node,
// queue and make one room. The number spells "dirc" in ASCII.
const directLockClass int32 = 0x64697263

// History returns a page of room's top-level messages, folded. Two
// queries: the page, then the reactions of its messages.
func (db *DB) History(ctx context.Context, room hanashi.RoomID, viewer hanashi.UserID, p hanashi.Page) ([]hanashi.Message, error) {
	msgs, err := db.page(ctx, `m.room_id = $1 AND m.thread_id IS NULL AND m.kind IN ('message', 'room')`, []any{room}, p, true)
	if err == nil {
		err = db.foldReactions(ctx, msgs, viewer)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: history: %w", err)
	}
	return msgs, nil
}

// ThreadMessages returns a page of the replies to root, folded.
func (db *DB) ThreadMessages(ctx context.Context, room hanashi.RoomID, root hanashi.MessageID, viewer hanashi.UserID, p hanashi.Page) ([]hanashi.Message, error) {
	msgs, err := db.page(ctx, `m.thread_id = $1 AND m.room_id = $2 AND m.kind = 'message'`, []any{id(root), room}, p, true)
	if err == nil {
		err = db.foldReactions(ctx, msgs, viewer)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: thread messages: %w", err)
	}
	return msgs, nil
}

// HistoryMessage returns one message of room, folded: the message row by
// its primary key (a page of at most one), then its reactions.
func (db *DB) HistoryMessage(ctx context.Context, room hanashi.RoomID, mid hanashi.MessageID, viewer hanashi.UserID) (hanashi.Message, error) {
	msgs, err := db.page(ctx, `m.id = $1 AND m.room_id = $2 AND m.kind IN ('message', 'room')`, []any{id(mid), room}, hanashi.Page{Limit: 1}, true)
	if err == nil {
		err = db.foldReactions(ctx, msgs, viewer)
	}
	if err != nil {
		return hanashi.Message{}, fmt.Errorf("postgres: history message: %w", err)
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
	ids := make([]string, len(msgs))
	byID := make(map[hanashi.MessageID]*hanashi.Message, len(msgs))
	for i := range msgs {
		ids[i] = string(msgs[i].ID)
		byID[msgs[i].ID] = &msgs[i]
	}
	rows, err := db.pool.Query(ctx, `
		SELECT message_id, emoji, user_id, n, mine FROM (
			SELECT message_id, emoji, user_id, seq,
				row_number() OVER (PARTITION BY message_id, emoji ORDER BY seq) AS rn,
				count(*) OVER w AS n,
				bool_or(user_id = $1) OVER w AS mine,
				min(seq) OVER w AS first
			FROM reactions
			WHERE message_id = ANY($2::text[])
			WINDOW w AS (PARTITION BY message_id, emoji)
		) x
		WHERE rn <= $3
		ORDER BY message_id, first, seq`, id(viewer), ids, hanashi.MaxReactionUsers)
	if err != nil {
		return fmt.Errorf("reactions: %w", err)
	}
	defer rows.Close()
	if err := sqlrows.Reactions(rows, byID); err != nil {
		return fmt.Errorf("reactions: %w", err)
	}
	return nil
}

// MarkRead advances user's read marker in room, in one statement. Two
// MarkReads at once, on any nodes, meet in the upsert on the marker's row,
// which keeps the greater seq.
func (db *DB) MarkRead(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64) (int64, error) {
	if seq < 0 {
		return 0, hanashi.Errorf(hanashi.EINVALID, "seq must not be negative")
	}
	m, err := db.setMarker(ctx, user, room, seq, "greatest(read_markers.seq, excluded.seq)")
	if err != nil {
		return 0, fmt.Errorf("postgres: mark read: %w", err)
	}
	return m, nil
}

// MarkUnread sets user's read marker in room to just before seq, in one
// statement.
func (db *DB) MarkUnread(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64) (int64, error) {
	if seq < 1 {
		return 0, hanashi.Errorf(hanashi.EINVALID, "seq must be a sequence number")
	}
	m, err := db.setMarker(ctx, user, room, seq-1, "excluded.seq")
	if err != nil {
		return 0, fmt.Errorf("postgres: mark unread: %w", err)
	}
	return m, nil
}

// setMarker stores user's read marker in room as seq (at most the room's
// last seq), or on a marker already there as the SQL expression update
// says, and returns the marker stored.
func (db *DB) setMarker(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64, update string) (int64, error) {
	var userFound, roomFound bool
	var marker *int64
	err := db.pool.QueryRow(ctx, `
		WITH r AS (
			SELECT id, last_seq FROM rooms WHERE id = $2
		), u AS (
			SELECT id FROM users WHERE id = $1
		), ins AS (
			INSERT INTO read_markers (user_id, room_id, seq)
			SELECT u.id, r.id, least($3::bigint, r.last_seq) FROM r, u
			ON CONFLICT (user_id, room_id) DO UPDATE SET seq = `+update+`
			RETURNING seq
		)
		SELECT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM r), (SELECT seq FROM ins)`,
		id(user), room, seq).Scan(&userFound, &roomFound, &marker)
	switch {
	case err != nil:
		return 0, err
	case !userFound:
		return 0, hanashi.ErrUserNotFound
	case !roomFound:
		return 0, hanashi.ErrRoomNotFound
	case marker == nil:
		return 0, errors.New("no marker stored")
	}
	return *marker, nil
}

// Unread counts, per room user is a member of, the unread messages and
// mentions in one statement, which reads one snapshot: since the messages
// of a room become visible in seq order, the counts are those of a prefix
// of every room's stream.
func (db *DB) Unread(ctx context.Context, user hanashi.UserID) ([]hanashi.UnreadCount, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT x.room_id, x.last_read, x.last_seq,
			(SELECT count(*) FROM messages m
				WHERE m.room_id = x.room_id AND m.thread_id IS NULL AND m.kind IN ('message', 'room')
				AND m.seq > x.low AND NOT m.deleted AND m.author_id <> $1),
			(SELECT count(*) FROM (
				SELECT mm.seq FROM message_mentions mm
					WHERE mm.user_id = $1 AND mm.room_id = x.room_id AND mm.seq > x.low
				UNION
				SELECT m.seq FROM messages m
					WHERE m.room_id = x.room_id AND m.mentions_room
					AND m.seq > x.low AND NOT m.deleted AND m.author_id <> $1) y)
		FROM (
			SELECT mb.room_id, coalesce(rm.seq, 0) AS last_read, r.last_seq,
				-- No more than the window's numbers after the marker; otherwise
				-- the window's oldest event (the numbers jump after a restore).
				CASE WHEN r.last_seq - coalesce(rm.seq, 0) <= $2 THEN coalesce(rm.seq, 0)
				ELSE coalesce((SELECT m.seq FROM messages m WHERE m.room_id = mb.room_id AND m.seq > coalesce(rm.seq, 0)
					ORDER BY m.seq DESC LIMIT 1 OFFSET $2), coalesce(rm.seq, 0)) END AS low
			FROM members mb
			JOIN rooms r ON r.id = mb.room_id
			LEFT JOIN read_markers rm ON rm.user_id = mb.user_id AND rm.room_id = mb.room_id
			WHERE mb.user_id = $1
		) x
		ORDER BY x.room_id`, id(user), int64(hanashi.UnreadWindow))
	if err != nil {
		return nil, fmt.Errorf("postgres: unread: %w", err)
	}
	defer rows.Close()
	counts, err := sqlrows.Collect(rows, sqlrows.UnreadCount)
	if err != nil {
		return nil, fmt.Errorf("postgres: unread: %w", err)
	}
	return counts, nil
}

// FollowThread makes user follow the thread of root, or stop following it,
// in one statement.
func (db *DB) FollowThread(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, root hanashi.MessageID, follow bool) error {
	var rootFound, userFound bool
	err := db.pool.QueryRow(ctx, `
		WITH t AS (
			SELECT id FROM messages
			WHERE id = $2 AND room_id = $3 AND kind = 'message' AND thread_id IS NULL
		), u AS (
			SELECT id FROM users WHERE id = $1
		), ins AS (
			INSERT INTO thread_follows (user_id, root_id, room_id, following, read_seq)
			SELECT u.id, t.id, r.id, $4::boolean, r.last_seq FROM rooms r, t, u WHERE r.id = $3
			ON CONFLICT (user_id, root_id) DO UPDATE SET following = excluded.following
		)
		SELECT EXISTS (SELECT 1 FROM t), EXISTS (SELECT 1 FROM u)`,
		id(user), id(root), room, follow).Scan(&rootFound, &userFound)
	switch {
	case err != nil:
	case !rootFound:
		err = hanashi.ErrMessageNotFound
	case !userFound:
		err = hanashi.ErrUserNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: follow thread: %w", err)
	}
	return nil
}

// MarkThreadRead advances user's read marker in the thread of root, if
// the user has one.
func (db *DB) MarkThreadRead(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, root hanashi.MessageID, seq int64) error {
	if seq < 0 {
		return hanashi.Errorf(hanashi.EINVALID, "seq must not be negative")
	}
	_, err := db.pool.Exec(ctx, `
		UPDATE thread_follows
		SET read_seq = greatest(read_seq, least($1::bigint, (SELECT last_seq FROM rooms WHERE id = $2)))
		WHERE user_id = $3 AND root_id = $4 AND room_id = $2`,
		seq, room, id(user), id(root))
	if err != nil {
		return fmt.Errorf("postgres: mark thread read: %w", err)
	}
	return nil
}

// UnreadThreads counts the unread replies of the threads user follows, in
// one statement.
func (db *DB) UnreadThreads(ctx context.Context, user hanashi.UserID) ([]hanashi.UnreadThread, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT room_id, root_id, read_seq, n FROM (
			SELECT tf.room_id, tf.root_id, tf.read_seq, root.seq AS root_seq,
				(SELECT count(*) FROM messages m
					WHERE m.thread_id = tf.root_id AND m.seq > tf.read_seq AND m.kind = 'message'
					AND NOT m.deleted AND m.author_id <> $1) AS n
			FROM thread_follows tf
			JOIN rooms r ON r.id = tf.room_id
			JOIN messages root ON root.id = tf.root_id
			WHERE tf.user_id = $1 AND tf.following
			AND (NOT r.private OR EXISTS (SELECT 1 FROM members mb WHERE mb.room_id = r.id AND mb.user_id = $1))
		) x
		WHERE n > 0
		ORDER BY room_id, root_seq`, id(user))
	if err != nil {
		return nil, fmt.Errorf("postgres: unread threads: %w", err)
	}
	defer rows.Close()
	threads, err := sqlrows.Collect(rows, sqlrows.UnreadThread)
	if err != nil {
		return nil, fmt.Errorf("postgres: unread threads: %w", err)
	}
	return threads, nil
}

// Members lists the members of room in the order of their ids (compared
// as bytes, whatever the database's collation).
func (db *DB) Members(ctx context.Context, room hanashi.RoomID) ([]hanashi.Author, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT u.id, u.name, u.avatar_url, u.time_zone FROM members m JOIN users u ON u.id = m.user_id
		WHERE m.room_id = $1 ORDER BY u.id COLLATE "C"`, room)
	if err != nil {
		return nil, fmt.Errorf("postgres: members: %w", err)
	}
	defer rows.Close()
	members, err := sqlrows.Collect(rows, sqlrows.Member)
	if err != nil {
		return nil, fmt.Errorf("postgres: members: %w", err)
	}
	return members, nil
}

// SearchUsers finds signed-in users by the start of their name. The key
// is that of users_name_key (lower() under the "C" collation, which lowers
// ASCII letters only), so the range starts in the index; left and length
// count characters, as the prefix does.
func (db *DB) SearchUsers(ctx context.Context, prefix string, limit int) ([]hanashi.Author, error) {
	if !textOK(prefix) {
		return nil, hanashi.Errorf(hanashi.EINVALID, "a name to search for must be text")
	}
	rows, err := db.pool.Query(ctx, `
		SELECT id, name, avatar_url FROM users
		WHERE lower(name COLLATE "C") >= $1 AND left(lower(name COLLATE "C"), length($1)) = $1
			AND NOT guest AND NOT disabled
		ORDER BY lower(name COLLATE "C"), name COLLATE "C", id COLLATE "C" LIMIT $2`,
		hanashi.NameKey(prefix), hanashi.UserSearchLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: search users: %w", err)
	}
	defer rows.Close()
	users, err := sqlrows.Collect(rows, sqlrows.Author)
	if err != nil {
		return nil, fmt.Errorf("postgres: search users: %w", err)
	}
	return users, nil
}

// DirectRoom finds or makes the direct room of members. Calls for one set
// of members queue on an advisory lock (see directLockClass), so under READ
// COMMITTED the second finds the room the first made.
func (db *DB) DirectRoom(ctx context.Context, members []hanashi.UserID) (hanashi.Room, error) {
	set, err := hanashi.DirectMembers(members)
	if err != nil {
		return hanashi.Room{}, err
	}
	ids := make([]string, len(set))
	for i, u := range set {
		ids[i] = id(u)
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	var r hanashi.Room
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`,
			directLockClass, strings.Join(sorted, " ")); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT name FROM users WHERE id = ANY($1::text[])`, ids)
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(names) != len(ids) {
			return hanashi.ErrUserNotFound
		}
		// The direct rooms of the first member, whose members are as many
		// as the set and all in it.
		var found hanashi.RoomID
		err = tx.QueryRow(ctx, `
			SELECT r.id FROM members m0 JOIN rooms r ON r.id = m0.room_id
			WHERE m0.user_id = $1 AND r.kind = 'direct'
			AND (SELECT count(*) FROM members m WHERE m.room_id = r.id) = $2
			AND (SELECT count(*) FROM members m WHERE m.room_id = r.id AND m.user_id = ANY($3::text[])) = $2
			ORDER BY r.id LIMIT 1`, ids[0], len(ids), ids).Scan(&found)
		if err == nil {
			r, err = scanRoom(tx.QueryRow(ctx, `SELECT `+roomColumns+` FROM rooms r WHERE r.id = $2`, ids[0], found).Scan)
			return err
		} else if !errors.Is(err, pgx.ErrNoRows) {
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
		return tx.QueryRow(ctx, `
			WITH r AS (
				INSERT INTO rooms (name, private, guests_allowed, created_by, created_at, kind)
				VALUES ($1, true, true, $2, $3, 'direct') RETURNING id
			), m AS (
				INSERT INTO members (room_id, user_id) SELECT r.id, u FROM r, unnest($4::text[]) AS u
			), k AS (
				INSERT INTO read_markers (user_id, room_id, seq) SELECT u, r.id, 0 FROM r, unnest($4::text[]) AS u
			)
			SELECT id FROM r`, r.Name, ids[0], r.CreatedAt, ids).Scan(&r.ID)
	})
	if err != nil {
		return hanashi.Room{}, fmt.Errorf("postgres: direct room: %w", err)
	}
	return r, nil
}
