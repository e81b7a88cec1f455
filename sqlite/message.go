package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/sqlrows"
)

// eventColumns are the columns of an event that scanEvent reads, for the
// messages m joined with their authors u. The mentions come as the ids
// separated by spaces (ids have none), read only for the messages that
// have some.
const eventColumns = `m.id, m.room_id, m.seq, coalesce(m.client_id, ''), m.author_id, u.name, u.avatar_url, m.body,
	m.created_at, m.kind, coalesce(m.target_id, ''), coalesce(m.thread_id, ''), m.emoji, coalesce(m.child_id, 0),
	m.mentions_room, CASE WHEN m.has_mentions THEN coalesce((SELECT group_concat(mm.user_id, ' ')
		FROM message_mentions mm WHERE mm.room_id = m.room_id AND mm.seq = m.seq), '') ELSE '' END,
	m.edited_at, m.deleted, m.reply_count, m.last_reply_at`

// scanEvent reads eventColumns; with fold it sets the folded state of the
// message too.
func scanEvent(scan func(dest ...any) error, fold bool) (hanashi.Message, error) {
	var (
		m                 hanashi.Message
		created           int64
		mentions          string
		edited, lastReply sql.NullInt64
		deleted           bool
		replies           int
	)
	err := scan(&m.ID, &m.Room, &m.Seq, &m.ClientID, &m.Author.ID, &m.Author.Name, &m.Author.AvatarURL, &m.Body,
		&created, &m.Kind, &m.Target, &m.Thread, &m.Emoji, &m.Child,
		&m.MentionsRoom, &mentions, &edited, &deleted, &replies, &lastReply)
	if err != nil {
		return hanashi.Message{}, err
	}
	m.CreatedAt = fromNanos(created)
	m.Mentions = splitMentions(mentions)
	if fold {
		m.EditedAt = timePtr(edited)
		m.Deleted = deleted
		m.Replies = replies
		m.LastReplyAt = timePtr(lastReply)
	}
	return m, nil
}

// splitMentions turns the user ids of eventColumns into Message.Mentions.
func splitMentions(s string) []hanashi.UserID {
	if s == "" {
		return nil
	}
	f := strings.Fields(s)
	ids := make([]hanashi.UserID, len(f))
	for i, id := range f {
		ids[i] = hanashi.UserID(id)
	}
	slices.Sort(ids)
	return ids
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

// Messages returns a page of room's stream in ascending seq order, with
// each author's current name and avatar. An unknown room has none.
func (db *DB) Messages(ctx context.Context, room hanashi.RoomID, p hanashi.Page) ([]hanashi.Message, error) {
	msgs, err := db.page(ctx, `messages m`, `m.room_id = ?`, []any{room}, p, false)
	if err != nil {
		return nil, fmt.Errorf("sqlite: messages: %w", err)
	}
	return msgs, nil
}

// page reads a page of the events of from (messages m, with an index to
// use, if the choice matters) that match where (with its args), in
// ascending seq order, folded or not.
func (db *DB) page(ctx context.Context, from, where string, args []any, p hanashi.Page, fold bool) ([]hanashi.Message, error) {
	p = p.Clamp()
	end, pageArgs := sqlrows.Page(p, "m.seq", func(int) string { return "?" })
	query := `SELECT ` + eventColumns + ` FROM ` + from + ` JOIN users u ON u.id = m.author_id WHERE ` + where + end
	rows, err := db.read.QueryContext(ctx, query, append(args, pageArgs...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	msgs, err := sqlrows.Collect(rows, func(scan sqlrows.Scan) (hanashi.Message, error) { return scanEvent(scan, fold) })
	if err != nil {
		return nil, err
	}
	return sqlrows.Ordered(p, msgs), nil
}

// LastSeq returns the seq of room's newest message, 0 for an empty room, or
// ENOTFOUND.
func (db *DB) LastSeq(ctx context.Context, room hanashi.RoomID) (int64, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, `SELECT last_seq FROM rooms WHERE id = ?`, room).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, hanashi.ErrRoomNotFound
	} else if err != nil {
		return 0, fmt.Errorf("sqlite: last seq: %w", err)
	}
	return seq, nil
}

// LastSeqs returns the seq of each room's newest message, in the order of
// rooms; 0 for an empty or unknown room.
func (db *DB) LastSeqs(ctx context.Context, rooms []hanashi.RoomID) ([]int64, error) {
	if len(rooms) == 0 {
		return []int64{}, nil // json_each would read "null" as one element
	}
	ids, err := json.Marshal(rooms)
	if err != nil {
		return nil, fmt.Errorf("sqlite: last seqs: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT coalesce(r.last_seq, 0) FROM json_each(?) AS x
		LEFT JOIN rooms r ON r.id = x.value ORDER BY x.key`, string(ids))
	if err != nil {
		return nil, fmt.Errorf("sqlite: last seqs: %w", err)
	}
	seqs := make([]int64, 0, len(rooms))
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: last seqs: %w", err)
		}
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: last seqs: %w", err)
	}
	return seqs, nil
}
