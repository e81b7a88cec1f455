package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// eventColumns are the columns of an event that scanEvent reads, for the
// messages m joined with their authors u. The mentions are read only for
// the messages that have some.
const eventColumns = `m.id, m.room_id, m.seq, coalesce(m.client_id, ''), m.author_id, u.name, u.avatar_url, m.body,
	m.created_at, m.kind, coalesce(m.target_id, ''), coalesce(m.thread_id, ''), m.emoji, coalesce(m.child_id, 0),
	m.mentions_room, CASE WHEN m.has_mentions THEN array(SELECT mm.user_id
		FROM message_mentions mm WHERE mm.room_id = m.room_id AND mm.seq = m.seq) END,
	m.edited_at, m.deleted, m.reply_count, m.last_reply_at`

// scanEvent reads eventColumns; with fold it sets the folded state of the
// message too.
func scanEvent(scan func(dest ...any) error, fold bool) (hanashi.Message, error) {
	var (
		m                 hanashi.Message
		created           time.Time
		mentions          []string
		edited, lastReply *time.Time
		deleted           bool
		replies           int
	)
	err := scan(&m.ID, &m.Room, &m.Seq, &m.ClientID, &m.Author.ID, &m.Author.Name, &m.Author.AvatarURL, &m.Body,
		&created, &m.Kind, &m.Target, &m.Thread, &m.Emoji, &m.Child,
		&m.MentionsRoom, &mentions, &edited, &deleted, &replies, &lastReply)
	if err != nil {
		return hanashi.Message{}, err
	}
	m.CreatedAt = created.UTC()
	m.Mentions = userIDs(mentions)
	if fold {
		m.EditedAt = utcPtr(edited)
		m.Deleted = deleted
		m.Replies = replies
		m.LastReplyAt = utcPtr(lastReply)
	}
	return m, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Messages returns a page of room's stream in ascending seq order, with
// each author's current name and avatar. An unknown room has none.
func (db *DB) Messages(ctx context.Context, room hanashi.RoomID, p hanashi.Page) ([]hanashi.Message, error) {
	msgs, err := db.page(ctx, `m.room_id = $1`, []any{room}, p, false)
	if err != nil {
		return nil, fmt.Errorf("postgres: messages: %w", err)
	}
	return msgs, nil
}

// page reads a page of the events that match where (with its args, which
// it numbers $1 on), in ascending seq order, folded or not.
func (db *DB) page(ctx context.Context, where string, args []any, p hanashi.Page, fold bool) ([]hanashi.Message, error) {
	p = p.Clamp()
	n := len(args)
	end, pageArgs := sqlrows.Page(p, "m.seq", func(i int) string { return fmt.Sprintf("$%d", n+1+i) })
	query := `SELECT ` + eventColumns + ` FROM messages m JOIN users u ON u.id = m.author_id WHERE ` + where + end
	rows, err := db.pool.Query(ctx, query, append(args, pageArgs...)...)
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
	err := db.pool.QueryRow(ctx, `SELECT last_seq FROM rooms WHERE id = $1`, room).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, hanashi.ErrRoomNotFound
	} else if err != nil {
		return 0, fmt.Errorf("postgres: last seq: %w", err)
	}
	return seq, nil
}

// LastSeqs returns the seq of each room's newest message, in the order of
// rooms; 0 for an empty or unknown room.
func (db *DB) LastSeqs(ctx context.Context, rooms []hanashi.RoomID) ([]int64, error) {
	ids := make([]int64, len(rooms))
	for i, id := range rooms {
		ids[i] = int64(id)
	}
	rows, err := db.pool.Query(ctx, `SELECT coalesce(r.last_seq, 0)
		FROM unnest($1::bigint[]) WITH ORDINALITY AS x (id, i) LEFT JOIN rooms r ON r.id = x.id
		ORDER BY x.i`, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: last seqs: %w", err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("postgres: last seqs: %w", err)
	}
	return seqs, nil
}
