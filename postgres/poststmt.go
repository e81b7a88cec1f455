package postgres

import "strings"

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
// The refusals are the chat rules of the root (hanashi.CheckPoster and
// hanashi.CheckRef), mirrored case for case and in their order, and
// storetest's ChatRules checks every one of them against both stores.
// Deciding in Go instead would take a second round trip, with the rooms
// locked in between: a prototype of that lost about a third to a half of
// the posts per second of BenchmarkPost with 100 posters in batches of 16
// (about 630 to 740 against 890 to 1560 on a loaded two-core machine),
// and matched it with one poster.
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
		-- The chat rules, mirroring rules.go at the root case for case and in
		-- the same order: hanashi.CheckPoster, Post.Validate, hanashi.CheckRef.
		-- storetest's ChatRules has a case for every refusal.
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
				-- hanashi.IsModerator: the creator of a room that is not direct.
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
