package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Post stores a batch of messages in one transaction. See hanashi.Store for
// what each result means.
//
// The batch costs one round trip whatever its size: its three statements go
// out together in a pipeline, which PostgreSQL runs as one implicit
// transaction and commits, synchronously, when it reaches the end.
//
//  1. lockRooms locks the rows of the batch's rooms, in id order.
//  2. lockAuthors locks the rows of the batch's authors against a claim of
//     their messages (see ClaimGuest) until the batch commits.
//  3. postBatch, in a snapshot taken after the locks were granted, checks
//     every post, finds the messages stored earlier under the same client
//     ids, gives the new messages the next seqs of their rooms, inserts them
//     and advances the rooms' counters, all from arrays of the posts'
//     fields. It returns a row per post.
//
// Because the room is locked before anything is read, two nodes posting the
// same client id into one room queue on the lock, and the second finds the
// first's message. Into two different rooms they do not queue, and the
// second fails on UNIQUE (author_id, client_id); that and the other errors
// of a lost race end the transaction, which then runs again and finds the
// message. A seq is only ever taken by a message inserted in the same
// transaction, so seqs have no gaps.
//
// Every message of the batch is stamped with the same CreatedAt: they commit
// together.
//
// As with any database across a network, a connection that breaks while the
// commit is under way leaves an error that cannot tell whether the batch was
// stored. Sending it again is safe for posts with a client id.
func (db *DB) Post(ctx context.Context, posts []hanashi.Post) ([]hanashi.PostResult, error) {
	results := make([]hanashi.PostResult, len(posts))
	if len(posts) == 0 {
		return results, nil
	}
	var err error
	for range postAttempts {
		if err = db.post(ctx, posts, results); err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: post: %w", err)
	}
	return results, nil
}

// postAttempts is how many times Post runs a batch that lost a race with
// another transaction (see retryable) before it gives up.
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
// taken before postBatch reads, it makes a batch of the guest's either commit
// before the claim moves the guest's messages, or wait for the claim and see
// the guest disabled. Every other change of a user (a name, disabling) takes
// a weaker lock and does not wait for posts.
const lockAuthors = `SELECT 1 FROM users WHERE id = ANY($1::text[]) ORDER BY id FOR KEY SHARE`

// postBatch stores a batch. It takes the posts as arrays, one element per
// post: $1 room, $2 author, $3 client id (empty for none), $4 body, $5 the
// id for a new message, $6 whether the text could not be stored; and the
// time $7. It returns a row per post, in the order of the posts, whose outcome is one of
// created, stored (a retry of the message returned), conflict (client id used
// in another room), or why the post was refused: no_room, no_user, disabled,
// no_guests, invalid.
//
// What happens to a post follows the SQLite store exactly: a message stored
// before under the same client id, or by an earlier post of the batch,
// decides it; otherwise a refusal; otherwise it is new.
const postBatch = `
WITH p AS (
	SELECT x.room_id, x.author_id, nullif(x.client_id, '') AS client_id, x.body, x.id, x.bad, x.idx
	FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[])
		WITH ORDINALITY AS x (room_id, author_id, client_id, body, id, bad, idx)
),
-- Each post with why it would be refused as a new message and the message
-- its author stored before under its client id. Every lookup is a LATERAL
-- subquery with LIMIT 1, which the planner cannot turn into a join of whole
-- tables: it stays one probe of an index per post, whatever the statistics
-- say (a table that grew since it was last analyzed looks small).
checked AS (
	SELECT p.*, r.last_seq,
		CASE
			WHEN r.id IS NULL THEN 'no_room'
			WHEN r.private AND mb.user_id IS NULL THEN 'no_room'
			WHEN u.id IS NULL THEN 'no_user'
			WHEN u.disabled THEN 'disabled'
			WHEN u.guest AND NOT r.guests_allowed THEN 'no_guests'
			WHEN p.bad THEN 'invalid'
		END AS refusal,
		coalesce(u.name, '') AS author_name, coalesce(u.avatar_url, '') AS author_avatar,
		m.id AS old_id, m.room_id AS old_room, m.seq AS old_seq, m.body AS old_body,
		m.created_at AS old_created_at
	FROM p
	LEFT JOIN LATERAL (
		SELECT id, private, guests_allowed, last_seq FROM rooms WHERE id = p.room_id LIMIT 1
	) r ON true
	LEFT JOIN LATERAL (
		SELECT user_id FROM members WHERE room_id = p.room_id AND user_id = p.author_id LIMIT 1
	) mb ON true
	LEFT JOIN LATERAL (
		SELECT id, name, avatar_url, guest, disabled FROM users WHERE id = p.author_id LIMIT 1
	) u ON true
	LEFT JOIN LATERAL (
		SELECT id, room_id, seq, body, created_at FROM messages
		WHERE author_id = p.author_id AND client_id = p.client_id LIMIT 1
	) m ON true
),
-- Posts that would be new messages; nth > 1 marks a repeat of a client id
-- within the batch.
accepted AS (
	SELECT *, row_number() OVER (PARTITION BY author_id, client_id ORDER BY idx) AS nth
	FROM checked
	WHERE refusal IS NULL AND old_id IS NULL
),
-- The new messages, numbered on from their room's counter.
fresh AS (
	SELECT idx, room_id, author_id, client_id, body, id,
		last_seq + row_number() OVER (PARTITION BY room_id ORDER BY idx) AS seq
	FROM accepted
	WHERE client_id IS NULL OR nth = 1
),
inserted AS (
	INSERT INTO messages (id, room_id, seq, author_id, client_id, body, created_at)
	SELECT id, room_id, seq, author_id, client_id, body, $7::timestamptz FROM fresh
),
advanced AS (
	UPDATE rooms r SET last_seq = f.seq
	FROM (SELECT room_id, max(seq) AS seq FROM fresh GROUP BY room_id) f
	WHERE r.id = f.room_id
)
-- f is the post's own new message; b is a new message of an earlier post of
-- the batch with the same client id.
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
	coalesce(c.old_created_at, $7::timestamptz),
	c.author_name, c.author_avatar
FROM checked c
LEFT JOIN fresh f ON f.idx = c.idx
LEFT JOIN fresh b ON b.author_id = c.author_id AND b.client_id = c.client_id AND b.idx < c.idx
ORDER BY c.idx`

// post runs the batch once, filling in results.
func (db *DB) post(ctx context.Context, posts []hanashi.Post, results []hanashi.PostResult) error {
	now := db.now()
	n := len(posts)
	var (
		rooms     = make([]int64, n)
		authors   = make([]string, n)
		clientIDs = make([]string, n)
		bodies    = make([]string, n)
		ids       = make([]string, n)
		bad       = make([]bool, n)
	)
	for i, p := range posts {
		rooms[i] = int64(p.Room)
		// An author id that is not text cannot be stored, so it finds
		// nothing, as it would in SQLite. A client id or a body that is not
		// text refuses the post (SQLite would store it; PostgreSQL cannot).
		authors[i] = id(p.Author)
		clientIDs[i], bodies[i] = p.ClientID, p.Body
		if !textOK(p.ClientID) {
			clientIDs[i], bad[i] = "", true
		}
		if !textOK(p.Body) {
			bodies[i], bad[i] = "", true
		}
		ids[i] = hanashi.NewSortableID(now)
	}

	b := &pgx.Batch{}
	b.Queue(lockRooms, rooms)
	b.Queue(lockAuthors, authors)
	b.Queue(postBatch, rooms, authors, clientIDs, bodies, ids, bad, now)
	br := db.pool.SendBatch(ctx, b)
	// The end of the transaction went out with the batch, so an error found
	// while reading the results cannot undo it; only a broken connection, or
	// a bug, makes one.
	err := readPostResults(br, posts, results)
	// Close reads on to the end of the pipeline, where the transaction
	// commits: only then is the batch stored.
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// readPostResults reads the results of the three statements of a batch.
func readPostResults(br pgx.BatchResults, posts []hanashi.Post, results []hanashi.PostResult) error {
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("lock rooms: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("lock authors: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		if i == len(posts) {
			return fmt.Errorf("more results than the %d posts", len(posts))
		}
		p := posts[i]
		var (
			outcome string
			m       = hanashi.Message{Room: p.Room, ClientID: p.ClientID, Author: hanashi.Author{ID: p.Author}}
			created time.Time
		)
		if err := rows.Scan(&outcome, &m.ID, &m.Seq, &m.Body, &created, &m.Author.Name, &m.Author.AvatarURL); err != nil {
			return err
		}
		m.CreatedAt = created.UTC()
		switch outcome {
		case "created":
			results[i] = hanashi.PostResult{Message: m, Created: true}
		case "stored":
			results[i] = hanashi.PostResult{Message: m}
		case "conflict":
			results[i] = hanashi.PostResult{Err: hanashi.Errorf(hanashi.ECONFLICT, "client id already used in another room")}
		case "no_room":
			results[i] = hanashi.PostResult{Err: errRoomNotFound()}
		case "no_user":
			results[i] = hanashi.PostResult{Err: errUserNotFound()}
		case "disabled":
			results[i] = hanashi.PostResult{Err: errDisabled()}
		case "no_guests":
			results[i] = hanashi.PostResult{Err: errNoGuests()}
		case "invalid":
			results[i] = hanashi.PostResult{Err: hanashi.Errorf(hanashi.EINVALID, "client id and body must be text without NUL characters")}
		default:
			return fmt.Errorf("post %d: outcome %q", i, outcome)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if i != len(posts) {
		return fmt.Errorf("%d results for %d posts", i, len(posts))
	}
	return nil
}

// Messages returns a page of room's messages in ascending seq order, with
// each author's current name and avatar. An unknown room has no messages.
func (db *DB) Messages(ctx context.Context, room hanashi.RoomID, p hanashi.Page) ([]hanashi.Message, error) {
	p = p.Clamp()
	const columns = `SELECT m.id, m.seq, coalesce(m.client_id, ''), m.author_id, u.name, u.avatar_url, m.body, m.created_at
		FROM messages m JOIN users u ON u.id = m.author_id`
	var rows pgx.Rows
	var err error
	if p.Before > 0 {
		// The newest Limit below Before: read them newest first, then
		// reverse the page.
		rows, err = db.pool.Query(ctx,
			columns+` WHERE m.room_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`, room, p.Before, p.Limit)
	} else {
		rows, err = db.pool.Query(ctx,
			columns+` WHERE m.room_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`, room, p.After, p.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: messages: %w", err)
	}
	defer rows.Close()
	msgs := []hanashi.Message{}
	for rows.Next() {
		m := hanashi.Message{Room: room}
		var created time.Time
		if err := rows.Scan(&m.ID, &m.Seq, &m.ClientID, &m.Author.ID, &m.Author.Name, &m.Author.AvatarURL, &m.Body, &created); err != nil {
			return nil, fmt.Errorf("postgres: messages: %w", err)
		}
		m.CreatedAt = created.UTC()
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: messages: %w", err)
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
		return 0, errRoomNotFound()
	} else if err != nil {
		return 0, fmt.Errorf("postgres: last seq: %w", err)
	}
	return seq, nil
}
