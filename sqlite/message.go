package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// Post stores a batch of messages in one write transaction, so the whole
// batch costs one fsync: the caller gathers concurrent sends into a batch and
// this is where that pays off. See hanashi.Store for what each result means.
//
// Every message of the batch is stamped with the same CreatedAt: they commit
// together.
func (db *DB) Post(ctx context.Context, posts []hanashi.Post) ([]hanashi.PostResult, error) {
	results := make([]hanashi.PostResult, len(posts))
	if len(posts) == 0 {
		return results, nil
	}
	now := db.now()
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		// For a context that can end, the driver starts a watcher goroutine
		// and installs a progress handler for every statement, hundreds per
		// batch. Each statement here is a short point read or write, and
		// database/sql still rolls the transaction back once ctx ends, so the
		// batch stops at its next statement anyway.
		ctx := context.WithoutCancel(ctx)
		// The statements of b are closed with tx.
		b := newBatch(ctx, tx, db.postQueries)
		for i, p := range posts {
			var err error
			if results[i], err = b.post(ctx, p, now); err != nil {
				return err
			}
		}
		return b.finish(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: post: %w", err)
	}
	return results, nil
}

// postQueries are the statements of Post. Open prepares them once on the
// writer connection, and each batch borrows them with Tx.StmtContext: that
// reuses the prepared statement rather than preparing six statements per
// transaction, which would cost a batch of one about as much as its insert.
type postQueries struct {
	findMessage *sql.Stmt
	insert      *sql.Stmt
	findRoom    *sql.Stmt
	findAuthor  *sql.Stmt
	findMember  *sql.Stmt
	updateSeq   *sql.Stmt
}

func preparePost(ctx context.Context, db *sql.DB) (*postQueries, error) {
	q := &postQueries{}
	for _, st := range []struct {
		s     **sql.Stmt
		query string
	}{
		{&q.findMessage, `SELECT id, room_id, seq, body, created_at FROM messages WHERE author_id = ? AND client_id = ?`},
		{&q.insert, `INSERT INTO messages (id, room_id, seq, author_id, client_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (author_id, client_id) DO NOTHING`},
		{&q.findRoom, `SELECT private, guests_allowed, last_seq FROM rooms WHERE id = ?`},
		{&q.findAuthor, `SELECT name, avatar_url, guest, disabled FROM users WHERE id = ?`},
		{&q.findMember, `SELECT EXISTS (SELECT 1 FROM members WHERE room_id = ? AND user_id = ?)`},
		{&q.updateSeq, `UPDATE rooms SET last_seq = ? WHERE id = ?`},
	} {
		s, err := db.PrepareContext(ctx, st.query)
		if err != nil {
			q.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*st.s = s
	}
	return q, nil
}

func (q *postQueries) all() []*sql.Stmt {
	return []*sql.Stmt{q.findMessage, q.insert, q.findRoom, q.findAuthor, q.findMember, q.updateSeq}
}

func (q *postQueries) close() error {
	var errs []error
	for _, s := range q.all() {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// batch is the state of one Post transaction. It caches what it has read of
// rooms, authors and memberships: the transaction holds the write lock, so
// none of it can change before commit, and a batch of a hundred posts into a
// few rooms needs only a few of those reads.
type batch struct {
	postQueries // bound to the transaction

	rooms   map[hanashi.RoomID]*batchRoom
	authors map[hanashi.UserID]*batchAuthor // nil value: no such user
	members map[memberKey]bool
}

// batchAuthor is an author as the batch sees it.
type batchAuthor struct {
	hanashi.Author
	guest, disabled bool
}

// batchRoom is a room as the batch sees it. lastSeq is the room's counter,
// advanced in memory for each message and written back once by finish: one
// UPDATE per room instead of one per message.
type batchRoom struct {
	exists        bool
	private       bool
	guestsAllowed bool
	lastSeq       int64
	dirty         bool
}

type memberKey struct {
	room hanashi.RoomID
	user hanashi.UserID
}

func newBatch(ctx context.Context, tx *sql.Tx, q *postQueries) *batch {
	return &batch{
		postQueries: postQueries{
			findMessage: tx.StmtContext(ctx, q.findMessage),
			insert:      tx.StmtContext(ctx, q.insert),
			findRoom:    tx.StmtContext(ctx, q.findRoom),
			findAuthor:  tx.StmtContext(ctx, q.findAuthor),
			findMember:  tx.StmtContext(ctx, q.findMember),
			updateSeq:   tx.StmtContext(ctx, q.updateSeq),
		},
		rooms:   make(map[hanashi.RoomID]*batchRoom),
		authors: make(map[hanashi.UserID]*batchAuthor),
		members: make(map[memberKey]bool),
	}
}

// post stores one post, or finds the message an earlier post with the same
// client id stored. A refusal is reported in the result; the error is only for
// failures that abort the whole batch.
//
// The common case, a new message, costs one INSERT: the earlier message is
// looked for only when the insert hits UNIQUE (author_id, client_id) or the
// post is refused (a retry of a send that succeeded must get its message
// back even if the author has since left the room).
func (b *batch) post(ctx context.Context, p hanashi.Post, now time.Time) (hanashi.PostResult, error) {
	refusal, err := b.check(ctx, p)
	if err != nil {
		return hanashi.PostResult{}, err
	}
	if refusal != nil {
		return b.retry(ctx, p, refusal)
	}
	room := b.rooms[p.Room]
	m := hanashi.Message{
		ID:        hanashi.MessageID(hanashi.NewSortableID(now)),
		Room:      p.Room,
		Seq:       room.lastSeq + 1,
		ClientID:  p.ClientID,
		Author:    b.authors[p.Author].Author,
		Body:      p.Body,
		CreatedAt: now,
	}
	res, err := b.insert.ExecContext(ctx, m.ID, m.Room, m.Seq, m.Author.ID, nullString(m.ClientID), m.Body, toNanos(m.CreatedAt))
	if err != nil {
		return hanashi.PostResult{}, fmt.Errorf("insert message: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return hanashi.PostResult{}, fmt.Errorf("insert message: %w", err)
	} else if n == 0 {
		return b.retry(ctx, p, nil)
	}
	room.lastSeq = m.Seq
	room.dirty = true
	return hanashi.PostResult{Message: m, Created: true}, nil
}

// check returns why p would be refused as a new message, or nil. It leaves
// the room and the author of an accepted post in the batch's caches.
func (b *batch) check(ctx context.Context, p hanashi.Post) (refusal error, err error) {
	room, err := b.room(ctx, p.Room)
	if err != nil || !room.exists {
		return errRoomNotFound(), err
	}
	if room.private {
		if member, err := b.member(ctx, p.Room, p.Author); err != nil || !member {
			return errRoomNotFound(), err
		}
	}
	author, err := b.author(ctx, p.Author)
	switch {
	case err != nil || author == nil:
		return errUserNotFound(), err
	case author.disabled:
		return errDisabled(), nil
	case author.guest && !room.guestsAllowed:
		return errNoGuests(), nil
	}
	return nil, nil
}

// retry returns the result of a post that was not stored as a new message:
// the earlier message with its client id, ECONFLICT if that is in another
// room, or else refusal.
func (b *batch) retry(ctx context.Context, p hanashi.Post, refusal error) (hanashi.PostResult, error) {
	if p.ClientID != "" {
		m, found, err := b.stored(ctx, p.Author, p.ClientID)
		switch {
		case err != nil:
			return hanashi.PostResult{}, err
		case found && m.Room != p.Room:
			return hanashi.PostResult{Err: hanashi.Errorf(hanashi.ECONFLICT, "client id already used in another room")}, nil
		case found:
			return hanashi.PostResult{Message: m}, nil
		}
	}
	if refusal == nil {
		// The insert conflicted, so the message must be there.
		return hanashi.PostResult{}, fmt.Errorf("insert of client id %q by %s conflicted, but no message has it", p.ClientID, p.Author)
	}
	return hanashi.PostResult{Err: refusal}, nil
}

// finish writes the advanced sequence counters back to the rooms.
func (b *batch) finish(ctx context.Context) error {
	for id, r := range b.rooms {
		if !r.dirty {
			continue
		}
		if _, err := b.updateSeq.ExecContext(ctx, r.lastSeq, id); err != nil {
			return fmt.Errorf("update last_seq: %w", err)
		}
	}
	return nil
}

// stored returns the message author stored earlier with clientID, if any. It
// also finds one stored earlier in this batch.
func (b *batch) stored(ctx context.Context, author hanashi.UserID, clientID string) (hanashi.Message, bool, error) {
	m := hanashi.Message{ClientID: clientID}
	var created int64
	err := b.findMessage.QueryRowContext(ctx, author, clientID).Scan(&m.ID, &m.Room, &m.Seq, &m.Body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return hanashi.Message{}, false, nil
	} else if err != nil {
		return hanashi.Message{}, false, fmt.Errorf("find message: %w", err)
	}
	m.CreatedAt = fromNanos(created)
	a, err := b.author(ctx, author)
	if err != nil {
		return hanashi.Message{}, false, err
	}
	if a == nil {
		// The foreign key on messages.author_id rules this out.
		return hanashi.Message{}, false, fmt.Errorf("message %s has no author %s", m.ID, author)
	}
	m.Author = a.Author
	return m, true, nil
}

// room returns the batch's view of room id.
func (b *batch) room(ctx context.Context, id hanashi.RoomID) (*batchRoom, error) {
	if r, ok := b.rooms[id]; ok {
		return r, nil
	}
	r := &batchRoom{exists: true}
	err := b.findRoom.QueryRowContext(ctx, id).Scan(&r.private, &r.guestsAllowed, &r.lastSeq)
	if errors.Is(err, sql.ErrNoRows) {
		r = &batchRoom{}
	} else if err != nil {
		return nil, fmt.Errorf("find room: %w", err)
	}
	b.rooms[id] = r
	return r, nil
}

// author returns the current name and avatar of user id and whether it is a
// guest or disabled, or nil if there is no such user.
func (b *batch) author(ctx context.Context, id hanashi.UserID) (*batchAuthor, error) {
	if a, ok := b.authors[id]; ok {
		return a, nil
	}
	a := &batchAuthor{Author: hanashi.Author{ID: id}}
	err := b.findAuthor.QueryRowContext(ctx, id).Scan(&a.Name, &a.AvatarURL, &a.guest, &a.disabled)
	if errors.Is(err, sql.ErrNoRows) {
		a = nil
	} else if err != nil {
		return nil, fmt.Errorf("find author: %w", err)
	}
	b.authors[id] = a
	return a, nil
}

// member reports whether user is a member of room.
func (b *batch) member(ctx context.Context, room hanashi.RoomID, user hanashi.UserID) (bool, error) {
	k := memberKey{room, user}
	if m, ok := b.members[k]; ok {
		return m, nil
	}
	var m bool
	if err := b.findMember.QueryRowContext(ctx, room, user).Scan(&m); err != nil {
		return false, fmt.Errorf("find member: %w", err)
	}
	b.members[k] = m
	return m, nil
}

// nullString stores an empty client id as NULL: a post without one is never
// a retry of another, and NULLs do not collide in UNIQUE (author_id, client_id).
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// Messages returns a page of room's messages in ascending seq order, with
// each author's current name and avatar. An unknown room has no messages.
func (db *DB) Messages(ctx context.Context, room hanashi.RoomID, p hanashi.Page) ([]hanashi.Message, error) {
	p = p.Clamp()
	const columns = `SELECT m.id, m.seq, coalesce(m.client_id, ''), m.author_id, u.name, u.avatar_url, m.body, m.created_at
		FROM messages m JOIN users u ON u.id = m.author_id`
	var rows *sql.Rows
	var err error
	if p.Before > 0 {
		// The newest Limit below Before: read them newest first, then
		// reverse the page.
		rows, err = db.read.QueryContext(ctx,
			columns+` WHERE m.room_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`, room, p.Before, p.Limit)
	} else {
		rows, err = db.read.QueryContext(ctx,
			columns+` WHERE m.room_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`, room, p.After, p.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: messages: %w", err)
	}
	defer rows.Close()
	msgs := []hanashi.Message{}
	for rows.Next() {
		m := hanashi.Message{Room: room}
		var created int64
		if err := rows.Scan(&m.ID, &m.Seq, &m.ClientID, &m.Author.ID, &m.Author.Name, &m.Author.AvatarURL, &m.Body, &created); err != nil {
			return nil, fmt.Errorf("sqlite: messages: %w", err)
		}
		m.CreatedAt = fromNanos(created)
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: messages: %w", err)
	}
	if p.Before > 0 {
		slices.Reverse(msgs)
	}
	return msgs, nil
}

// LastSeq returns the seq of room's newest message, 0 for an empty room, or
// ENOTFOUND.
func (db *DB) LastSeq(ctx context.Context, room hanashi.RoomID) (int64, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, `SELECT last_seq FROM rooms WHERE id = ?`, room).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errRoomNotFound()
	} else if err != nil {
		return 0, fmt.Errorf("sqlite: last seq: %w", err)
	}
	return seq, nil
}
