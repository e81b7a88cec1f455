package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Post stores a batch of events in one transaction. See hanashi.Store for
// what each result means, and chat.go at the root for the rules of each
// kind of event.
//
// The batch costs one round trip whatever its size: its statements go out
// together in a pipeline, which PostgreSQL runs as one implicit transaction
// and commits, synchronously, when it reaches the end.
//
//  1. lockRooms locks the rows of the batch's rooms, in id order.
//  2. lockAuthors locks the rows of the batch's authors against a claim of
//     their messages (see ClaimGuest) until the batch commits.
//  3. postEvents, in a snapshot taken after the locks were granted, checks
//     every post, finds the events stored earlier under the same client
//     ids, gives the new events the next seqs of their rooms, inserts them,
//     makes the changes they stand for (edits, tombstones, reactions,
//     reply counts, thread follows, mentions) and advances the rooms'
//     counters, all from arrays of the posts' fields. It returns a row per
//     post. A batch of messages that mention nobody by name, the common
//     case, takes postMessages, the same statement without the steps only
//     other events need.
//
// postEvents handles the posts it is given as a set, so two posts that act
// on one message must not meet in it: a delete and a later edit of the same
// message, say, where the SQLite store, storing one post after the other,
// refuses the edit. The batch is therefore cut into segments (see
// segments), each stored by a statement of its own that sees what the
// segments before it did; a batch of ordinary messages is one segment, and
// more segments add statements to the pipeline, not round trips.
//
// Because the room is locked before anything is read, two nodes posting the
// same client id into one room queue on the lock, and the second finds the
// first's message. Into two different rooms they do not queue, and the
// second fails on UNIQUE (author_id, client_id); that and the other errors
// of a lost race end the transaction, which then runs again and finds the
// message. A seq is only ever taken by an event inserted in the same
// transaction, so seqs have no gaps. Everything an event changes (the
// message it edits, deletes, reacts to or replies to) is in the same room,
// so the room's lock also orders the changes of two nodes.
//
// Every event of the batch is stamped with the same CreatedAt: they commit
// together.
//
// As with any database across a network, a connection that breaks while the
// commit is under way leaves an error that cannot tell whether the batch was
// stored. Sending it again is safe for posts with a client id.
//
// A node cut off in the middle of sending its batch leaves a backend that
// holds the rooms' locks and waits for the rest. A batch that finds such a
// room gives up on the lock after lockTimeout, ends the sessions of the
// store's application that are stuck waiting on their client inside a
// transaction (see reapStuck), and runs again, within the same attempts and
// ctx; the failed attempt's implicit transaction rolled back, so nothing of
// it remains.
func (db *DB) Post(ctx context.Context, posts []hanashi.Post) ([]hanashi.PostResult, error) {
	results := make([]hanashi.PostResult, len(posts))
	if len(posts) == 0 {
		return results, nil
	}
	var err error
	for range postAttempts {
		err = db.post(ctx, posts, results)
		if err == nil || ctx.Err() != nil {
			break
		}
		if lockTimedOut(err) {
			if rerr := db.reapStuck(ctx); rerr != nil {
				err = fmt.Errorf("%w; %w", err, rerr)
				break
			}
		} else if !retryable(err) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: post: %w", err)
	}
	return results, nil
}

// postAttempts is how many times Post runs a batch that lost a race with
// another transaction (see retryable), or gave up waiting for a lock,
// before it gives up.
const postAttempts = 5

// retryable reports whether a batch that failed with err may simply run
// again: it lost a race with another transaction, or it never reached the
// server. A unique violation is a lost race only on the client id: two
// nodes stored the same one at once, and the next run finds the message.
// Any other (a duplicate seq, say) would be a bug, and is reported.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return pgconn.SafeToRetry(err)
	}
	switch pgErr.Code {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return true
	case "23505": // unique_violation
		return pgErr.ConstraintName == "messages_client_id"
	}
	return false
}

// lockRooms locks the rooms a batch posts into. FOR NO KEY UPDATE is the
// lock the UPDATE of last_seq needs anyway: it excludes other batches but
// not the foreign key checks of new members and messages. The locks are
// granted in the order of the ORDER BY, so batches sharing rooms queue
// instead of deadlocking.
const lockRooms = `SELECT id FROM rooms WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE`

// lockAuthors locks the authors of a batch. FOR KEY SHARE is the lock the
// foreign key check of every new message takes anyway, so it costs little
// and excludes nothing but FOR UPDATE, which ClaimGuest takes on a guest:
// taken before postEvents reads, it makes a batch of the guest's either commit
// before the claim moves the guest's messages, or wait for the claim and see
// the guest disabled. Every other change of a user (a name, disabling) takes
// a weaker lock and does not wait for posts.
const lockAuthors = `SELECT 1 FROM users WHERE id = ANY($1::text[]) ORDER BY id FOR KEY SHARE`

// postEvents stores a segment of a batch. It takes the posts as arrays, one
// element per post: $1 room, $2 author, $3 client id (empty for none), $4
// body, $5 the id for a new event, $6 whether Post.Validate refused it, $7
// kind, $8 target, $9 thread, $10 emoji, $11 whether it mentions @room; the
// time $12; and the candidate names of its mentions (see
// hanashi.MentionNames), one element per name: $13 the post (its 1-based
// place in the segment), $14 which @ of the post, $15 the name's place in
// that @'s list (longer names come later), $16 the name's key. It returns
// a row per post, in the order of the posts, whose outcome is one of
// created, stored (a retry of the event returned), conflict (client id used
// in another room), or why the post was refused (see refusals).
//
// What happens to a post follows the SQLite store exactly: an event stored
// before under the same client id, or by an earlier post of the segment,
// decides it; otherwise a refusal of its room and author, of
// Post.Validate, then of its kind's rules; otherwise it is new.
//
// postMessages is the same statement without what only events other than
// messages, replies and mentions need, for segments of messages that
// mention nobody by name, the common case. It skips the work of a dozen
// empty steps and the arrays of fields such messages leave empty: it takes
// $1 to $6 as postEvents does, $7 whether each mentions @room, and the
// time $8.
var (
	postEvents   = postStatement(true)
	postMessages = postStatement(false)
)

// postStatement builds postEvents, or postMessages when events is false.
func postStatement(events bool) string {
	var b strings.Builder
	now := "$12::timestamptz"
	if events {
		b.WriteString(`
WITH p AS (
	SELECT x.room_id, x.author_id, nullif(x.client_id, '') AS client_id, x.body, x.id, x.bad, x.kind,
		nullif(x.target_id, '') AS target_id, nullif(x.thread_id, '') AS thread_id, x.emoji, x.mentions_room,
		nullif(CASE WHEN x.kind = 'message' THEN x.thread_id ELSE x.target_id END, '') AS ref_id, x.idx
	FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[],
			$7::text[], $8::text[], $9::text[], $10::text[], $11::boolean[])
		WITH ORDINALITY AS x (room_id, author_id, client_id, body, id, bad,
			kind, target_id, thread_id, emoji, mentions_room, idx)
),`)
	} else {
		now = "$8::timestamptz"
		b.WriteString(`
WITH p AS (
	SELECT x.room_id, x.author_id, nullif(x.client_id, '') AS client_id, x.body, x.id, x.bad,
		'message'::text AS kind, NULL::text AS target_id, NULL::text AS thread_id, ''::text AS emoji,
		x.mentions_room, x.idx
	FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::boolean[])
		WITH ORDINALITY AS x (room_id, author_id, client_id, body, id, bad, mentions_room, idx)
),`)
	}
	b.WriteString(`
-- Each post with why it would be refused as a new event and the event its
-- author stored before under its client id. Every lookup is a LATERAL
-- subquery with LIMIT 1, which the planner cannot turn into a join of whole
-- tables: it stays one probe of an index per post, whatever the statistics
-- say (a table that grew since it was last analyzed looks small). t is the
-- message the post acts on or replies to; rx the reaction it adds or takes
-- back.
checked AS (
	SELECT p.*, r.last_seq,
		CASE
			WHEN r.id IS NULL THEN 'no_room'
			WHEN r.private AND mb.user_id IS NULL THEN 'no_room'
			WHEN u.id IS NULL THEN 'no_user'
			WHEN u.disabled THEN 'disabled'
			WHEN u.guest AND NOT r.guests_allowed THEN 'no_guests'
			WHEN p.bad THEN 'invalid'`)
	if events {
		b.WriteString(`
			WHEN p.ref_id IS NULL THEN NULL
			WHEN t.room_id IS NULL OR t.room_id <> p.room_id THEN 'no_message'
			WHEN p.kind = 'message' THEN CASE
				WHEN t.kind <> 'message' OR t.thread_id IS NOT NULL THEN 'not_root'
				WHEN t.deleted THEN 'deleted'
			END
			WHEN p.kind = 'edit' THEN CASE
				WHEN t.kind <> 'message' THEN 'not_editable'
				WHEN t.author_id <> p.author_id THEN 'not_author'
				WHEN t.deleted THEN 'deleted'
			END
			WHEN p.kind = 'delete' THEN CASE
				WHEN t.kind NOT IN ('message', 'room') THEN 'not_deletable'
				WHEN t.author_id <> p.author_id AND (r.kind = 'direct' OR r.created_by <> p.author_id) THEN 'not_moderator'
				WHEN t.deleted THEN 'already_deleted'
			END
			ELSE CASE
				WHEN t.kind NOT IN ('message', 'room') THEN 'no_reactions'
				WHEN t.deleted THEN 'deleted'
				WHEN p.kind = 'react' AND rx.found THEN 'reacted'
				WHEN p.kind = 'unreact' AND rx.found IS NULL THEN 'not_reacted'
			END
		END AS refusal,
		t.author_id AS t_author, t.seq AS t_seq,`)
	} else {
		b.WriteString(`
		END AS refusal,`)
	}
	b.WriteString(`
		coalesce(u.name, '') AS author_name, coalesce(u.avatar_url, '') AS author_avatar,
		m.id AS old_id, m.room_id AS old_room, m.seq AS old_seq, m.body AS old_body,
		m.created_at AS old_created_at, m.kind AS old_kind, m.target_id AS old_target,
		m.thread_id AS old_thread, m.emoji AS old_emoji, m.child_id AS old_child,
		m.mentions_room AS old_mentions_room, m.has_mentions AS old_has_mentions
	FROM p
	LEFT JOIN LATERAL (
		SELECT id, private, guests_allowed, last_seq, created_by, kind FROM rooms WHERE id = p.room_id LIMIT 1
	) r ON true
	LEFT JOIN LATERAL (
		SELECT user_id FROM members WHERE room_id = p.room_id AND user_id = p.author_id LIMIT 1
	) mb ON true
	LEFT JOIN LATERAL (
		SELECT id, name, avatar_url, guest, disabled FROM users WHERE id = p.author_id LIMIT 1
	) u ON true
	LEFT JOIN LATERAL (
		SELECT id, room_id, seq, body, created_at, kind, target_id, thread_id, emoji, child_id,
			mentions_room, has_mentions
		FROM messages
		WHERE author_id = p.author_id AND client_id = p.client_id LIMIT 1
	) m ON true`)
	if events {
		b.WriteString(`
	LEFT JOIN LATERAL (
		SELECT room_id, seq, author_id, kind, thread_id, deleted FROM messages WHERE id = p.ref_id LIMIT 1
	) t ON true
	LEFT JOIN LATERAL (
		SELECT true AS found FROM reactions
		WHERE message_id = p.target_id AND emoji = p.emoji AND user_id = p.author_id LIMIT 1
	) rx ON true`)
	}
	b.WriteString(`
),
-- Posts that would be new events; nth > 1 marks a repeat of a client id
-- within the segment.
accepted AS (
	SELECT *, row_number() OVER (PARTITION BY author_id, client_id ORDER BY idx) AS nth
	FROM checked
	WHERE refusal IS NULL AND old_id IS NULL
),
-- The new events, numbered on from their room's counter.
fresh AS (
	SELECT idx, room_id, author_id, client_id, body, id, kind, target_id, thread_id, emoji, mentions_room,`)
	if events {
		b.WriteString(`
		t_author, t_seq,`)
	}
	b.WriteString(`
		last_seq + row_number() OVER (PARTITION BY room_id ORDER BY idx) AS seq
	FROM accepted
	WHERE client_id IS NULL OR nth = 1
),`)
	if events {
		b.WriteString(`
-- Mentions: per @ of a new message, the longest candidate name that a
-- member of the room has, then every member with that name but the author.
cands AS (
	SELECT * FROM unnest($13::bigint[], $14::integer[], $15::integer[], $16::text[]) AS c (idx, at, ord, name)
),
matched AS (
	SELECT DISTINCT ON (c.idx, c.at) c.idx, c.name
	FROM cands c JOIN fresh f ON f.idx = c.idx
	WHERE EXISTS (
		SELECT 1 FROM users u JOIN members mb ON mb.user_id = u.id AND mb.room_id = f.room_id
		WHERE lower(u.name COLLATE "C") = c.name
	)
	ORDER BY c.idx, c.at, c.ord DESC
),
mentions AS (
	SELECT DISTINCT f.idx, f.room_id, f.seq, u.id AS user_id
	FROM matched x
	JOIN fresh f ON f.idx = x.idx
	JOIN users u ON lower(u.name COLLATE "C") = x.name
	JOIN members mb ON mb.room_id = f.room_id AND mb.user_id = u.id
	WHERE u.id <> f.author_id
),
mentioned AS (
	INSERT INTO message_mentions (room_id, seq, user_id) SELECT room_id, seq, user_id FROM mentions
),`)
	}
	b.WriteString(`
inserted AS (
	INSERT INTO messages (id, room_id, seq, author_id, client_id, body, created_at,
		kind, target_id, thread_id, emoji, mentions_room, has_mentions)
	SELECT id, room_id, seq, author_id, client_id, body, ` + now + `,
		kind, target_id, thread_id, emoji, mentions_room,`)
	if events {
		b.WriteString(`
		EXISTS (SELECT 1 FROM mentions x WHERE x.idx = f.idx)`)
	} else {
		b.WriteString(`
		false`)
	}
	b.WriteString(`
	FROM fresh f
),
advanced AS (
	UPDATE rooms r SET last_seq = f.seq
	FROM (SELECT room_id, max(seq) AS seq FROM fresh GROUP BY room_id) f
	WHERE r.id = f.room_id
)`)
	if events {
		b.WriteString(`,
-- What the events change. Segments keep any two of these from touching one
-- row, except replies, which are counted per root.
replied AS (
	UPDATE messages t SET reply_count = t.reply_count + f.n, last_reply_at = ` + now + `
	FROM (SELECT thread_id, count(*) AS n FROM fresh WHERE thread_id IS NOT NULL GROUP BY thread_id) f
	WHERE t.id = f.thread_id
),
followed AS (
	INSERT INTO thread_follows (user_id, root_id, room_id, following, read_seq)
	SELECT user_id, root_id, room_id, true, max(read_seq) FROM (
		SELECT author_id AS user_id, thread_id AS root_id, room_id, seq AS read_seq
		FROM fresh WHERE thread_id IS NOT NULL
		UNION ALL
		SELECT t_author, thread_id, room_id, 0 FROM fresh WHERE thread_id IS NOT NULL
	) x
	GROUP BY user_id, root_id, room_id
	ON CONFLICT (user_id, root_id) DO UPDATE SET read_seq = greatest(thread_follows.read_seq, excluded.read_seq)
),
edited AS (
	UPDATE messages t SET body = f.body, edited_at = ` + now + `
	FROM fresh f WHERE f.kind = 'edit' AND t.id = f.target_id
),
tombstoned AS (
	UPDATE messages t SET body = '', deleted = true, mentions_room = false, has_mentions = false
	FROM fresh f WHERE f.kind = 'delete' AND t.id = f.target_id
),
wiped AS (
	UPDATE messages t SET body = ''
	FROM fresh f WHERE f.kind = 'delete' AND t.target_id = f.target_id AND t.kind = 'edit'
),
unmentioned AS (
	DELETE FROM message_mentions x USING fresh f
	WHERE f.kind = 'delete' AND x.room_id = f.room_id AND x.seq = f.t_seq
),
cleared AS (
	DELETE FROM reactions x USING fresh f
	WHERE f.kind = 'delete' AND x.message_id = f.target_id
),
unreacted AS (
	DELETE FROM reactions x USING fresh f
	WHERE f.kind = 'unreact' AND x.message_id = f.target_id AND x.emoji = f.emoji AND x.user_id = f.author_id
),
reacted AS (
	INSERT INTO reactions (message_id, emoji, user_id, seq)
	SELECT target_id, emoji, author_id, seq FROM fresh WHERE kind = 'react'
	ON CONFLICT DO NOTHING
)`)
	}
	b.WriteString(`
-- f is the post's own new event; b is a new event of an earlier post of the
-- segment with the same client id.
SELECT
	CASE
		WHEN f.idx IS NOT NULL THEN 'created'
		WHEN coalesce(c.old_room, b.room_id) = c.room_id THEN 'stored'
		WHEN coalesce(c.old_room, b.room_id) IS NOT NULL THEN 'conflict'
		ELSE coalesce(c.refusal, 'unknown')
	END,
	coalesce(f.id, c.old_id, b.id, ''),
	coalesce(f.seq, c.old_seq, b.seq, 0),
	coalesce(f.body, c.old_body, b.body, ''),
	coalesce(c.old_created_at, ` + now + `),
	c.author_name, c.author_avatar,
	coalesce(f.kind, c.old_kind, b.kind, ''),
	coalesce(f.target_id, c.old_target, b.target_id, ''),
	coalesce(f.thread_id, c.old_thread, b.thread_id, ''),
	coalesce(f.emoji, c.old_emoji, b.emoji, ''),
	coalesce(c.old_child, 0),
	coalesce(f.mentions_room, c.old_mentions_room, b.mentions_room, false),
	CASE`)
	if events {
		b.WriteString(`
		WHEN f.idx IS NOT NULL THEN array(SELECT x.user_id FROM mentions x WHERE x.idx = f.idx)`)
	}
	b.WriteString(`
		WHEN c.old_has_mentions THEN array(
			SELECT mm.user_id FROM message_mentions mm WHERE mm.room_id = c.old_room AND mm.seq = c.old_seq)`)
	if events {
		b.WriteString(`
		WHEN b.idx IS NOT NULL THEN array(SELECT x.user_id FROM mentions x WHERE x.idx = b.idx)`)
	}
	b.WriteString(`
	END
FROM checked c
LEFT JOIN fresh f ON f.idx = c.idx
LEFT JOIN fresh b ON b.author_id = c.author_id AND b.client_id = c.client_id AND b.idx < c.idx
ORDER BY c.idx`)
	return b.String()
}

// refusals maps the outcomes of postEvents that refuse a post to their
// errors; "invalid" is the post's own error from Post.Validate.
var refusals = map[string]func() error{
	"no_room":         func() error { return hanashi.ErrRoomNotFound },
	"no_user":         func() error { return hanashi.ErrUserNotFound },
	"disabled":        func() error { return hanashi.ErrDisabled },
	"no_guests":       func() error { return hanashi.ErrNoGuests },
	"no_message":      func() error { return hanashi.ErrMessageNotFound },
	"not_root":        func() error { return hanashi.ErrNotRoot },
	"deleted":         func() error { return hanashi.ErrDeleted },
	"not_editable":    func() error { return hanashi.ErrNotEditable },
	"not_author":      func() error { return hanashi.ErrNotAuthor },
	"not_deletable":   func() error { return hanashi.ErrNotDeletable },
	"not_moderator":   func() error { return hanashi.ErrNotModerator },
	"already_deleted": func() error { return hanashi.ErrAlreadyDeleted },
	"no_reactions":    func() error { return hanashi.ErrNoReactions },
	"reacted":         func() error { return hanashi.ErrReacted },
	"not_reacted":     func() error { return hanashi.ErrNotReacted },
}

// segments cuts posts into runs that postEvents may store at once: a run
// ends before a post that acts on (Target) a message another post of the
// run refers to, or that refers to (Target or Thread) a message another
// post of the run acts on. Replies to one root may share a run.
func segments(posts []hanashi.Post) [][2]int {
	var (
		segs   [][2]int
		start  int
		acted  = map[hanashi.MessageID]bool{}
		thread = map[hanashi.MessageID]bool{}
	)
	for i, p := range posts {
		t, th := p.Target, p.Thread
		if t != "" && (acted[t] || thread[t]) || th != "" && acted[th] {
			segs = append(segs, [2]int{start, i})
			start = i
			clear(acted)
			clear(thread)
		}
		if t != "" {
			acted[t] = true
		}
		if th != "" {
			thread[th] = true
		}
	}
	return append(segs, [2]int{start, len(posts)})
}

// post runs the batch once, filling in results.
func (db *DB) post(ctx context.Context, posts []hanashi.Post, results []hanashi.PostResult) error {
	now := db.now()
	n := len(posts)
	rooms := make([]int64, n)
	authors := make([]string, n)
	invalid := make([]error, n)
	for i, p := range posts {
		rooms[i] = int64(p.Room)
		// An author id that is not text cannot be stored, so it finds
		// nothing, as it would in SQLite.
		authors[i] = id(p.Author)
		invalid[i] = p.Validate()
	}
	b := &pgx.Batch{}
	b.Queue(lockRooms, rooms)
	b.Queue(lockAuthors, authors)
	segs := segments(posts)
	for _, seg := range segs {
		queueSegment(b, posts[seg[0]:seg[1]], authors[seg[0]:seg[1]], invalid[seg[0]:seg[1]], now)
	}
	br := db.pool.SendBatch(ctx, b)
	// The end of the transaction went out with the batch, so an error found
	// while reading the results cannot undo it; only a broken connection, or
	// a bug, makes one.
	err := readPostResults(br, posts, results, invalid, segs)
	// Close reads on to the end of the pipeline, where the transaction
	// commits: only then is the batch stored.
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// queueSegment queues the statement that stores one segment: postEvents,
// or postMessages if that is enough.
func queueSegment(b *pgx.Batch, posts []hanashi.Post, authors []string, invalid []error, now time.Time) {
	n := len(posts)
	var (
		rooms     = make([]int64, n)
		clientIDs = make([]string, n)
		bodies    = make([]string, n)
		ids       = make([]string, n)
		bad       = make([]bool, n)
		kinds     = make([]string, n)
		targets   = make([]string, n)
		threads   = make([]string, n)
		emojis    = make([]string, n)
		roomMent  = make([]bool, n)

		candPost  []int64
		candAt    []int32
		candOrd   []int32
		candNames []string
		// events: the segment needs postEvents, for it holds an event
		// other than a message, a reply, or a mention by name.
		events bool
	)
	for i, p := range posts {
		if p.Kind != "" && p.Kind != hanashi.KindMessage || p.Thread != "" {
			events = true
		}
		rooms[i] = int64(p.Room)
		ids[i] = hanashi.NewSortableID(now)
		kinds[i] = string(p.Kind)
		if p.Kind == "" {
			kinds[i] = string(hanashi.KindMessage)
		}
		if invalid[i] != nil {
			// Refused whatever the store holds; only a client id that
			// can be stored is looked up, for a retry. Text PostgreSQL
			// cannot take would fail the whole batch.
			bad[i] = true
			if textOK(p.ClientID) {
				clientIDs[i] = p.ClientID
			}
			continue
		}
		clientIDs[i], bodies[i] = p.ClientID, p.Body
		targets[i], threads[i], emojis[i] = string(p.Target), string(p.Thread), p.Emoji
		if kinds[i] == string(hanashi.KindMessage) {
			names, room := hanashi.MentionNames(p.Body)
			roomMent[i] = room
			events = events || len(names) > 0
			for at, keys := range names {
				for ord, k := range keys {
					candPost = append(candPost, int64(i+1))
					candAt = append(candAt, int32(at))
					candOrd = append(candOrd, int32(ord))
					candNames = append(candNames, k)
				}
			}
		}
	}
	if !events {
		b.Queue(postMessages, rooms, authors, clientIDs, bodies, ids, bad, roomMent, now)
		return
	}
	b.Queue(postEvents, rooms, authors, clientIDs, bodies, ids, bad, kinds, targets, threads, emojis, roomMent, now,
		candPost, candAt, candOrd, candNames)
}

// readPostResults reads the results of the statements of a batch.
func readPostResults(br pgx.BatchResults, posts []hanashi.Post, results []hanashi.PostResult, invalid []error, segs [][2]int) error {
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("lock rooms: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("lock authors: %w", err)
	}
	for _, seg := range segs {
		if err := readSegment(br, posts, results, invalid, seg[0], seg[1]); err != nil {
			return err
		}
	}
	return nil
}

// readSegment reads the rows postEvents or postMessages returned for posts[from:to].
func readSegment(br pgx.BatchResults, posts []hanashi.Post, results []hanashi.PostResult, invalid []error, from, to int) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	i := from
	for rows.Next() {
		if i == to {
			return fmt.Errorf("more results than the %d posts", to-from)
		}
		p := posts[i]
		var (
			outcome  string
			m        = hanashi.Message{Room: p.Room, ClientID: p.ClientID, Author: hanashi.Author{ID: p.Author}}
			created  time.Time
			mentions []string
		)
		err := rows.Scan(&outcome, &m.ID, &m.Seq, &m.Body, &created, &m.Author.Name, &m.Author.AvatarURL,
			&m.Kind, &m.Target, &m.Thread, &m.Emoji, &m.Child, &m.MentionsRoom, &mentions)
		if err != nil {
			return err
		}
		m.CreatedAt = created.UTC()
		m.Mentions = userIDs(mentions)
		switch outcome {
		case "created":
			results[i] = hanashi.PostResult{Message: m, Created: true}
		case "stored":
			results[i] = hanashi.PostResult{Message: m}
		case "conflict":
			results[i] = hanashi.PostResult{Err: hanashi.Errorf(hanashi.ECONFLICT, "client id already used in another room")}
		case "invalid":
			results[i] = hanashi.PostResult{Err: invalid[i]}
		default:
			refusal, ok := refusals[outcome]
			if !ok {
				return fmt.Errorf("post %d: outcome %q", i, outcome)
			}
			results[i] = hanashi.PostResult{Err: refusal()}
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if i != to {
		return fmt.Errorf("%d results for %d posts", i-from, to-from)
	}
	return nil
}

// userIDs turns the mentions read from the database into
// Message.Mentions: nil for none, else in the order of the ids.
func userIDs(s []string) []hanashi.UserID {
	if len(s) == 0 {
		return nil
	}
	ids := make([]hanashi.UserID, len(s))
	for i, id := range s {
		ids[i] = hanashi.UserID(id)
	}
	slices.Sort(ids)
	return ids
}

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
	query := `SELECT ` + eventColumns + ` FROM messages m JOIN users u ON u.id = m.author_id WHERE ` + where
	if p.Before > 0 {
		// The newest Limit below Before: read them newest first, then
		// reverse the page.
		query += fmt.Sprintf(` AND m.seq < $%d ORDER BY m.seq DESC LIMIT $%d`, n+1, n+2)
		args = append(args, p.Before, p.Limit)
	} else {
		query += fmt.Sprintf(` AND m.seq > $%d ORDER BY m.seq LIMIT $%d`, n+1, n+2)
		args = append(args, p.After, p.Limit)
	}
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	msgs := []hanashi.Message{}
	for rows.Next() {
		m, err := scanEvent(rows.Scan, fold)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
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
	seqs := make([]int64, len(rooms))
	if len(rooms) == 0 {
		return seqs, nil
	}
	ids := make([]int64, len(rooms))
	for i, id := range rooms {
		ids[i] = int64(id)
	}
	rows, err := db.pool.Query(ctx, `SELECT id, last_seq FROM rooms WHERE id = ANY($1::bigint[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: last seqs: %w", err)
	}
	defer rows.Close()
	last := make(map[hanashi.RoomID]int64, len(rooms))
	for rows.Next() {
		var id hanashi.RoomID
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, fmt.Errorf("postgres: last seqs: %w", err)
		}
		last[id] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: last seqs: %w", err)
	}
	for i, id := range rooms {
		seqs[i] = last[id]
	}
	return seqs, nil
}
