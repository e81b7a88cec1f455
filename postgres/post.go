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
		var again bool
		if again, err = db.again(ctx, err); !again {
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

// refusals maps the outcomes of postEvents that refuse a post to the
// refusals of the root rules they mirror; "invalid" is the post's own error
// from Post.Validate.
var refusals = map[string]error{
	"no_room":         hanashi.ErrRoomNotFound,
	"no_user":         hanashi.ErrUserNotFound,
	"disabled":        hanashi.ErrDisabled,
	"no_guests":       hanashi.ErrNoGuests,
	"no_message":      hanashi.ErrMessageNotFound,
	"not_root":        hanashi.ErrNotRoot,
	"deleted":         hanashi.ErrDeleted,
	"not_editable":    hanashi.ErrNotEditable,
	"not_author":      hanashi.ErrNotAuthor,
	"not_deletable":   hanashi.ErrNotDeletable,
	"not_moderator":   hanashi.ErrNotModerator,
	"already_deleted": hanashi.ErrAlreadyDeleted,
	"no_reactions":    hanashi.ErrNoReactions,
	"reacted":         hanashi.ErrReacted,
	"not_reacted":     hanashi.ErrNotReacted,
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
			results[i] = hanashi.PostResult{Err: refusal}
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
