package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// Post stores a batch of events in one write transaction, so the whole
// batch costs one fsync: the caller gathers concurrent sends into a batch and
// this is where that pays off. See hanashi.Store for what each result means,
// and chat.go at the root for the rules of each kind of event.
//
// The posts are stored one after the other, each seeing what the ones
// before it changed; that is the behaviour the PostgreSQL store reproduces.
// Every event of the batch is stamped with the same CreatedAt: they commit
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
		b := newBatch(tx, db.postQueries)
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
// writer connection, and each batch borrows those it uses with
// Tx.StmtContext: that reuses the prepared statement rather than preparing
// it again in every transaction, which would cost a batch of one about as
// much as its insert.
type postQueries struct {
	findMessage *sql.Stmt
	insert      *sql.Stmt
	findRoom    *sql.Stmt
	findAuthor  *sql.Stmt
	findMember  *sql.Stmt
	updateSeq   *sql.Stmt

	findTarget     *sql.Stmt
	findReaction   *sql.Stmt
	findNamed      *sql.Stmt
	insertMention  *sql.Stmt
	reply          *sql.Stmt
	followReplier  *sql.Stmt
	followRoot     *sql.Stmt
	edit           *sql.Stmt
	tombstone      *sql.Stmt
	wipeEdits      *sql.Stmt
	dropReactions  *sql.Stmt
	dropMentions   *sql.Stmt
	addReaction    *sql.Stmt
	removeReaction *sql.Stmt
}

func preparePost(ctx context.Context, db *sql.DB) (*postQueries, error) {
	q := &postQueries{}
	for _, st := range []struct {
		s     **sql.Stmt
		query string
	}{
		{&q.findMessage, `SELECT ` + eventColumns + ` FROM messages m JOIN users u ON u.id = m.author_id
			WHERE m.author_id = ? AND m.client_id = ?`},
		{&q.insert, `INSERT INTO messages (id, room_id, seq, author_id, client_id, body, created_at,
				kind, target_id, thread_id, emoji, mentions_room, has_mentions)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (author_id, client_id) DO NOTHING`},
		{&q.findRoom, `SELECT private, guests_allowed, last_seq, created_by, kind = 'direct' FROM rooms WHERE id = ?`},
		{&q.findAuthor, `SELECT name, avatar_url, guest, disabled FROM users WHERE id = ?`},
		{&q.findMember, `SELECT EXISTS (SELECT 1 FROM members WHERE room_id = ? AND user_id = ?)`},
		{&q.updateSeq, `UPDATE rooms SET last_seq = ? WHERE id = ?`},

		{&q.findTarget, `SELECT room_id, seq, author_id, kind, coalesce(thread_id, ''), deleted FROM messages WHERE id = ?`},
		{&q.findReaction, `SELECT EXISTS (SELECT 1 FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?)`},
		// Users by name first, then membership: a room may have far more
		// members than there are users with a name.
		{&q.findNamed, `SELECT lower(u.name), u.id FROM users u INDEXED BY users_name_key
			WHERE lower(u.name) IN (SELECT value FROM json_each(?2))
			AND EXISTS (SELECT 1 FROM members mb WHERE mb.room_id = ?1 AND mb.user_id = u.id)`},
		{&q.insertMention, `INSERT INTO message_mentions (room_id, seq, user_id) VALUES (?, ?, ?)`},
		{&q.reply, `UPDATE messages SET reply_count = reply_count + 1, last_reply_at = ? WHERE id = ?`},
		{&q.followReplier, `INSERT INTO thread_follows (user_id, root_id, room_id, following, read_seq) VALUES (?, ?, ?, 1, ?)
			ON CONFLICT (user_id, root_id) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq)`},
		{&q.followRoot, `INSERT INTO thread_follows (user_id, root_id, room_id, following, read_seq) VALUES (?, ?, ?, 1, 0)
			ON CONFLICT (user_id, root_id) DO NOTHING`},
		{&q.edit, `UPDATE messages SET body = ?, edited_at = ? WHERE id = ?`},
		{&q.tombstone, `UPDATE messages SET body = '', deleted = 1, mentions_room = 0, has_mentions = 0 WHERE id = ?`},
		{&q.wipeEdits, `UPDATE messages SET body = '' WHERE target_id = ? AND kind = 'edit'`},
		{&q.dropReactions, `DELETE FROM reactions WHERE message_id = ?`},
		{&q.dropMentions, `DELETE FROM message_mentions WHERE room_id = ? AND seq = ?`},
		{&q.addReaction, `INSERT INTO reactions (message_id, emoji, user_id, seq) VALUES (?, ?, ?, ?)`},
		{&q.removeReaction, `DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?`},
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
	return []*sql.Stmt{
		q.findMessage, q.insert, q.findRoom, q.findAuthor, q.findMember, q.updateSeq,
		q.findTarget, q.findReaction, q.findNamed, q.insertMention, q.reply, q.followReplier, q.followRoot,
		q.edit, q.tombstone, q.wipeEdits, q.dropReactions, q.dropMentions, q.addReaction, q.removeReaction,
	}
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
// none of it can change before commit except through the batch itself, and
// a batch of a hundred posts into a few rooms needs only a few of those
// reads. Messages acted on are read afresh every time, since earlier posts
// of the batch may have changed them.
type batch struct {
	tx    *sql.Tx
	q     *postQueries
	stmts map[*sql.Stmt]*sql.Stmt // the statements of q bound to tx

	rooms   map[hanashi.RoomID]*batchRoom
	authors map[hanashi.UserID]*batchAuthor
	members map[memberKey]bool
}

// batchAuthor is an author as the batch sees it.
type batchAuthor struct {
	hanashi.Author
	hanashi.AuthorAccess
}

// batchRoom is a room as the batch sees it. lastSeq is the room's counter,
// advanced in memory for each event and written back once by finish: one
// UPDATE per room instead of one per event.
// Its Member is not set: memberships are cached apart, per author.
type batchRoom struct {
	hanashi.RoomAccess
	lastSeq int64
	dirty   bool
}

type memberKey struct {
	room hanashi.RoomID
	user hanashi.UserID
}

// target is a message that a post acts on or replies to, with its seq.
type target struct {
	hanashi.Target
	seq int64
}

func newBatch(tx *sql.Tx, q *postQueries) *batch {
	return &batch{
		tx:      tx,
		q:       q,
		stmts:   make(map[*sql.Stmt]*sql.Stmt),
		rooms:   make(map[hanashi.RoomID]*batchRoom),
		authors: make(map[hanashi.UserID]*batchAuthor),
		members: make(map[memberKey]bool),
	}
}

// stmt returns s bound to the batch's transaction; statements are closed
// with it.
func (b *batch) stmt(ctx context.Context, s *sql.Stmt) *sql.Stmt {
	if t, ok := b.stmts[s]; ok {
		return t
	}
	t := b.tx.StmtContext(ctx, s)
	b.stmts[s] = t
	return t
}

func (b *batch) exec(ctx context.Context, s *sql.Stmt, args ...any) error {
	_, err := b.stmt(ctx, s).ExecContext(ctx, args...)
	return err
}

// post stores one post, or finds the event an earlier post with the same
// client id stored. A refusal is reported in the result; the error is only for
// failures that abort the whole batch.
//
// The common case, a new message, costs one INSERT: the earlier event is
// looked for only when the insert hits UNIQUE (author_id, client_id) or the
// post is refused (a retry of a send that succeeded must get its event
// back even if the author has since left the room, or its reaction is now
// there).
func (b *batch) post(ctx context.Context, p hanashi.Post, now time.Time) (hanashi.PostResult, error) {
	if p.Kind == "" {
		p.Kind = hanashi.KindMessage
	}
	refusal, err := b.check(ctx, p)
	if err != nil {
		return hanashi.PostResult{}, err
	}
	if refusal == nil {
		refusal = p.Validate()
	}
	var t target
	if refusal == nil {
		if t, refusal, err = b.checkRef(ctx, p); err != nil {
			return hanashi.PostResult{}, err
		}
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
		Kind:      p.Kind,
		Target:    p.Target,
		Thread:    p.Thread,
		Emoji:     p.Emoji,
	}
	if m.Kind == hanashi.KindMessage {
		if m.Mentions, m.MentionsRoom, err = b.mentions(ctx, p); err != nil {
			return hanashi.PostResult{}, err
		}
	}
	res, err := b.stmt(ctx, b.q.insert).ExecContext(ctx, m.ID, m.Room, m.Seq, m.Author.ID, nullString(m.ClientID), m.Body,
		toNanos(m.CreatedAt), m.Kind, nullString(string(m.Target)), nullString(string(m.Thread)), m.Emoji,
		m.MentionsRoom, len(m.Mentions) > 0)
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
	if err := b.apply(ctx, m, t); err != nil {
		return hanashi.PostResult{}, err
	}
	return hanashi.PostResult{Message: m, Created: true}, nil
}

// check returns why p would be refused as a new event by its room or its
// author (hanashi.CheckPoster), or nil. It leaves the room and the author
// in the batch's caches.
func (b *batch) check(ctx context.Context, p hanashi.Post) (refusal error, err error) {
	room, err := b.room(ctx, p.Room)
	if err != nil {
		return nil, err
	}
	access := room.RoomAccess
	if access.Exists && access.Private {
		if access.Member, err = b.member(ctx, p.Room, p.Author); err != nil {
			return nil, err
		}
	}
	author, err := b.author(ctx, p.Author)
	if err != nil {
		return nil, err
	}
	return hanashi.CheckPoster(access, author.AuthorAccess), nil
}

// checkRef reads the message p refers to, which it returns, and applies
// the rules of p's kind to it (hanashi.CheckRef).
func (b *batch) checkRef(ctx context.Context, p hanashi.Post) (target, error, error) {
	ref := p.Ref()
	if ref == "" {
		return target{}, nil, nil
	}
	t, err := b.target(ctx, ref)
	if err != nil {
		return target{}, nil, err
	}
	var reacted bool
	if (p.Kind == hanashi.KindReact || p.Kind == hanashi.KindUnreact) && t.Exists && t.Room == p.Room {
		if err := b.stmt(ctx, b.q.findReaction).QueryRowContext(ctx, p.Target, p.Emoji, p.Author).Scan(&reacted); err != nil {
			return t, nil, fmt.Errorf("find reaction: %w", err)
		}
	}
	return t, hanashi.CheckRef(p, b.rooms[p.Room].RoomAccess, t.Target, reacted), nil
}

// target reads the message id as it is now.
func (b *batch) target(ctx context.Context, id hanashi.MessageID) (target, error) {
	t := target{Target: hanashi.Target{Exists: true}}
	err := b.stmt(ctx, b.q.findTarget).QueryRowContext(ctx, id).Scan(&t.Room, &t.seq, &t.Author, &t.Kind, &t.Thread, &t.Deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return target{}, nil
	} else if err != nil {
		return target{}, fmt.Errorf("find target: %w", err)
	}
	return t, nil
}

// mentions resolves the mentions of a message p (see hanashi.MentionNames)
// against the members of its room.
func (b *batch) mentions(ctx context.Context, p hanashi.Post) ([]hanashi.UserID, bool, error) {
	names, room := hanashi.MentionNames(p.Body)
	if len(names) == 0 {
		return nil, room, nil
	}
	var keys []string
	for _, ks := range names {
		keys = append(keys, ks...)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	arg, err := json.Marshal(keys)
	if err != nil {
		return nil, false, err
	}
	rows, err := b.stmt(ctx, b.q.findNamed).QueryContext(ctx, p.Room, string(arg))
	if err != nil {
		return nil, false, fmt.Errorf("find mentioned: %w", err)
	}
	defer rows.Close()
	named := map[string][]hanashi.UserID{}
	for rows.Next() {
		var key string
		var id hanashi.UserID
		if err := rows.Scan(&key, &id); err != nil {
			return nil, false, fmt.Errorf("find mentioned: %w", err)
		}
		named[key] = append(named[key], id)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("find mentioned: %w", err)
	}
	var users []hanashi.UserID
	for _, ks := range names {
		// The longest name that fits wins.
		for i := len(ks) - 1; i >= 0; i-- {
			if ids, ok := named[ks[i]]; ok {
				users = append(users, ids...)
				break
			}
		}
	}
	users = slices.DeleteFunc(users, func(u hanashi.UserID) bool { return u == p.Author })
	if len(users) == 0 {
		return nil, room, nil
	}
	slices.Sort(users)
	return slices.Compact(users), room, nil
}

// apply makes the changes a new event m stands for, beside storing it: t is
// the message it acts on or replies to.
func (b *batch) apply(ctx context.Context, m hanashi.Message, t target) error {
	var err error
	switch m.Kind {
	case hanashi.KindMessage:
		for _, u := range m.Mentions {
			if err = b.exec(ctx, b.q.insertMention, m.Room, m.Seq, u); err != nil {
				break
			}
		}
		if err == nil && m.Thread != "" {
			err = b.exec(ctx, b.q.reply, toNanos(m.CreatedAt), m.Thread)
			if err == nil {
				err = b.exec(ctx, b.q.followReplier, m.Author.ID, m.Thread, m.Room, m.Seq)
			}
			if err == nil && t.Author != m.Author.ID {
				err = b.exec(ctx, b.q.followRoot, t.Author, m.Thread, m.Room)
			}
		}
	case hanashi.KindEdit:
		err = b.exec(ctx, b.q.edit, m.Body, toNanos(m.CreatedAt), m.Target)
	case hanashi.KindDelete:
		err = b.exec(ctx, b.q.tombstone, m.Target)
		if err == nil {
			err = b.exec(ctx, b.q.wipeEdits, m.Target)
		}
		if err == nil {
			err = b.exec(ctx, b.q.dropReactions, m.Target)
		}
		if err == nil {
			err = b.exec(ctx, b.q.dropMentions, t.Room, t.seq)
		}
	case hanashi.KindReact:
		err = b.exec(ctx, b.q.addReaction, m.Target, m.Emoji, m.Author.ID, m.Seq)
	case hanashi.KindUnreact:
		err = b.exec(ctx, b.q.removeReaction, m.Target, m.Emoji, m.Author.ID)
	}
	if err != nil {
		return fmt.Errorf("apply %s: %w", m.Kind, err)
	}
	return nil
}

// retry returns the result of a post that was not stored as a new event:
// the earlier event with its client id, ECONFLICT if that is in another
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
		if err := b.exec(ctx, b.q.updateSeq, r.lastSeq, id); err != nil {
			return fmt.Errorf("update last_seq: %w", err)
		}
	}
	return nil
}

// stored returns the event author stored earlier with clientID, as it is
// now, if any. It also finds one stored earlier in this batch.
func (b *batch) stored(ctx context.Context, author hanashi.UserID, clientID string) (hanashi.Message, bool, error) {
	m, err := scanEvent(b.stmt(ctx, b.q.findMessage).QueryRowContext(ctx, author, clientID).Scan, false)
	if errors.Is(err, sql.ErrNoRows) {
		return hanashi.Message{}, false, nil
	} else if err != nil {
		return hanashi.Message{}, false, fmt.Errorf("find message: %w", err)
	}
	return m, true, nil
}

// room returns the batch's view of room id.
func (b *batch) room(ctx context.Context, id hanashi.RoomID) (*batchRoom, error) {
	if r, ok := b.rooms[id]; ok {
		return r, nil
	}
	r := &batchRoom{RoomAccess: hanashi.RoomAccess{Exists: true}}
	err := b.stmt(ctx, b.q.findRoom).QueryRowContext(ctx, id).Scan(&r.Private, &r.GuestsAllowed, &r.lastSeq, &r.CreatedBy, &r.Direct)
	if errors.Is(err, sql.ErrNoRows) {
		r = &batchRoom{}
	} else if err != nil {
		return nil, fmt.Errorf("find room: %w", err)
	}
	b.rooms[id] = r
	return r, nil
}

// author returns the current name and avatar of user id and what the rules
// need to know of them.
func (b *batch) author(ctx context.Context, id hanashi.UserID) (*batchAuthor, error) {
	if a, ok := b.authors[id]; ok {
		return a, nil
	}
	a := &batchAuthor{Author: hanashi.Author{ID: id}, AuthorAccess: hanashi.AuthorAccess{Exists: true}}
	err := b.stmt(ctx, b.q.findAuthor).QueryRowContext(ctx, id).Scan(&a.Name, &a.AvatarURL, &a.Guest, &a.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		a = &batchAuthor{Author: hanashi.Author{ID: id}}
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
	if err := b.stmt(ctx, b.q.findMember).QueryRowContext(ctx, room, user).Scan(&m); err != nil {
		return false, fmt.Errorf("find member: %w", err)
	}
	b.members[k] = m
	return m, nil
}

// nullString stores an empty string as NULL: a post without a client id is
// never a retry of another, since NULLs do not collide in UNIQUE
// (author_id, client_id); and an event without a target or thread has none.
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
