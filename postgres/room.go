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

// CreateRoom stores a new room and makes its creator its first member. It
// fails with ENOTFOUND if the creator does not exist, with EFORBIDDEN if a
// guest creates a room that forbids guests, and with EINVALID for a name that
// is not UTF-8 text without NUL characters.
func (db *DB) CreateRoom(ctx context.Context, nr hanashi.NewRoom) (hanashi.Room, error) {
	if !textOK(nr.Name) {
		return hanashi.Room{}, hanashi.Errorf(hanashi.EINVALID, "room name must be text")
	}
	r := hanashi.Room{
		Name:          nr.Name,
		Private:       nr.Private,
		GuestsAllowed: !nr.NoGuests,
		CreatedBy:     nr.Creator,
		CreatedAt:     db.now(),
		Parent:        nr.Parent,
		Member:        true,
	}
	if nr.Parent != 0 {
		return db.createNested(ctx, r)
	}
	// One statement, so one round trip and one implicit transaction. The
	// room is inserted only if its creator may create it, so a refused room
	// does not use up an id.
	var found bool
	var roomID *int64
	err := db.pool.QueryRow(ctx, `
		WITH u AS (
			SELECT guest FROM users WHERE id = $3
		), r AS (
			INSERT INTO rooms (name, private, guests_allowed, created_by, created_at)
			SELECT $1::text, $2::boolean, $5::boolean, $3::text, $4::timestamptz
			FROM u WHERE $5 OR NOT u.guest
			RETURNING id, created_by
		), m AS (
			INSERT INTO members (room_id, user_id) SELECT id, created_by FROM r
		), k AS (
			INSERT INTO read_markers (user_id, room_id, seq) SELECT created_by, id, 0 FROM r
		)
		SELECT EXISTS (SELECT 1 FROM u), (SELECT id FROM r)`,
		r.Name, r.Private, id(r.CreatedBy), r.CreatedAt, r.GuestsAllowed).Scan(&found, &roomID)
	switch {
	case err != nil:
	case !found:
		err = hanashi.ErrUserNotFound
	case roomID == nil:
		// The insert's condition mirrors hanashi.CheckGuest.
		err = hanashi.CheckGuest(true, r.GuestsAllowed)
	default:
		r.ID = hanashi.RoomID(*roomID)
	}
	if err != nil {
		return hanashi.Room{}, fmt.Errorf("postgres: create room: %w", err)
	}
	return r, nil
}

// createNested makes the room r inside r.Parent and posts the link to it
// into the parent's stream, in one transaction. The parent's row is locked
// first, as Post locks it, so the link takes the parent's next seq and
// becomes visible in seq order; the creator's row is locked as Post locks
// its authors (see lockAuthors). The refusals are those of the SQLite
// store, in the same order.
func (db *DB) createNested(ctx context.Context, r hanashi.Room) (hanashi.Room, error) {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		parent := hanashi.RoomAccess{Exists: true}
		err := tx.QueryRow(ctx, `
			SELECT r.private, r.guests_allowed, r.kind = 'direct', r.created_by,
				EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = $2)
			FROM rooms r WHERE r.id = $1 FOR NO KEY UPDATE`,
			r.Parent, id(r.CreatedBy)).Scan(&parent.Private, &parent.GuestsAllowed, &parent.Direct, &parent.CreatedBy, &parent.Member)
		if errors.Is(err, pgx.ErrNoRows) {
			parent = hanashi.RoomAccess{}
		} else if err != nil {
			return err
		}
		creator := hanashi.AuthorAccess{Exists: true}
		err = tx.QueryRow(ctx, `SELECT guest, disabled FROM users WHERE id = $1 FOR KEY SHARE`, id(r.CreatedBy)).Scan(&creator.Guest, &creator.Disabled)
		if errors.Is(err, pgx.ErrNoRows) {
			creator = hanashi.AuthorAccess{}
		} else if err != nil {
			return err
		}
		if err := hanashi.CheckNest(parent, creator); err != nil {
			return err
		}
		if err := hanashi.CheckGuest(creator.Guest, r.GuestsAllowed); err != nil {
			return err
		}
		body := r.Name
		if r.Private {
			body = "" // only the members of a private room see its name
		}
		return tx.QueryRow(ctx, `
			WITH child AS (
				INSERT INTO rooms (name, private, guests_allowed, created_by, created_at, parent_id, parent_seq)
				SELECT $1::text, $2::boolean, $3::boolean, $4::text, $5::timestamptz, $6::bigint, last_seq + 1
				FROM rooms WHERE id = $6::bigint
				RETURNING id, parent_seq
			), m AS (
				INSERT INTO members (room_id, user_id) SELECT id, $4::text FROM child
			), k AS (
				INSERT INTO read_markers (user_id, room_id, seq) SELECT $4::text, id, 0 FROM child
			), link AS (
				INSERT INTO messages (id, room_id, seq, author_id, body, created_at, kind, child_id)
				SELECT $7::text, $6::bigint, parent_seq, $4::text, $8::text, $5::timestamptz, 'room', id FROM child
			), advanced AS (
				UPDATE rooms SET last_seq = child.parent_seq FROM child WHERE rooms.id = $6::bigint
			)
			SELECT id, parent_seq FROM child`,
			r.Name, r.Private, r.GuestsAllowed, id(r.CreatedBy), r.CreatedAt, r.Parent,
			hanashi.NewSortableID(r.CreatedAt), body).Scan(&r.ID, &r.ParentSeq)
	})
	if err != nil {
		return hanashi.Room{}, fmt.Errorf("postgres: create room: %w", err)
	}
	return r, nil
}

// roomColumns are the columns scanRoom reads; the viewer is parameter $1.
const roomColumns = `r.id, r.name, r.private, r.guests_allowed, r.created_by, r.created_at, r.last_seq,
	EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = $1),
	r.kind, coalesce(r.parent_id, 0), r.parent_seq, r.topic`

// scanRoom reads roomColumns.
func scanRoom(scan func(dest ...any) error) (hanashi.Room, error) {
	var r hanashi.Room
	var created time.Time
	if err := scan(&r.ID, &r.Name, &r.Private, &r.GuestsAllowed, &r.CreatedBy, &created, &r.LastSeq, &r.Member,
		&r.Kind, &r.Parent, &r.ParentSeq, &r.Topic); err != nil {
		return hanashi.Room{}, err
	}
	r.CreatedAt = created.UTC()
	return r, nil
}

// Room returns the room as viewer sees it, or ENOTFOUND if it does not exist
// or is private and viewer is not a member.
func (db *DB) Room(ctx context.Context, rid hanashi.RoomID, viewer hanashi.UserID) (hanashi.Room, error) {
	row := db.pool.QueryRow(ctx, `SELECT `+roomColumns+` FROM rooms r WHERE r.id = $2`, id(viewer), rid)
	// No row reads as the zero Room, which does not exist.
	r, err := scanRoom(row.Scan)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return hanashi.Room{}, fmt.Errorf("postgres: room: %w", err)
	}
	if err := hanashi.CheckVisible(r.Access()); err != nil {
		return hanashi.Room{}, err
	}
	return r, nil
}

// Rooms lists the public rooms and the private rooms viewer is a member of,
// ordered by id.
func (db *DB) Rooms(ctx context.Context, viewer hanashi.UserID) ([]hanashi.Room, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT `+roomColumns+`
		FROM rooms r
		WHERE NOT r.private
		   OR EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = $1)
		ORDER BY r.id`, id(viewer))
	if err != nil {
		return nil, fmt.Errorf("postgres: rooms: %w", err)
	}
	defer rows.Close()
	rooms, err := sqlrows.Collect(rows, scanRoom)
	if err != nil {
		return nil, fmt.Errorf("postgres: rooms: %w", err)
	}
	return rooms, nil
}

// AddMember makes user a member of room on behalf of by. Anyone may join a
// public room; adding another user takes a member, and so does joining a
// private room. It fails with ENOTFOUND if the room is not visible to by or
// user does not exist, and with EFORBIDDEN if by may see the room but not add
// others to it, or if user is a guest and the room forbids guests.
func (db *DB) AddMember(ctx context.Context, room hanashi.RoomID, user, by hanashi.UserID) error {
	// One statement reads what the decision needs and inserts the member
	// when the rules allow it (its WHERE mirrors hanashi.CheckAdd and
	// CheckGuest); the Go code then names the refusal with the rules
	// themselves. Both see the same snapshot.
	// A new member's read marker starts at the room's last seq.
	a := hanashi.RoomAccess{Exists: true}
	var userFound, userGuest bool
	err := db.pool.QueryRow(ctx, `
		WITH c AS (
			SELECT r.private, r.guests_allowed, r.kind = 'direct' AS direct, r.last_seq,
				EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = $3) AS member,
				EXISTS (SELECT 1 FROM users u WHERE u.id = $2) AS user_found,
				coalesce((SELECT u.guest FROM users u WHERE u.id = $2), false) AS user_guest
			FROM rooms r WHERE r.id = $1
		), ins AS (
			INSERT INTO members (room_id, user_id)
			SELECT $1::bigint, $2::text FROM c
			WHERE c.user_found AND (c.guests_allowed OR NOT c.user_guest) AND NOT c.direct
				AND (c.member OR (NOT c.private AND $4::boolean))
			ON CONFLICT DO NOTHING
			RETURNING room_id, user_id
		), mark AS (
			INSERT INTO read_markers (user_id, room_id, seq)
			SELECT ins.user_id, ins.room_id, c.last_seq FROM ins, c
			ON CONFLICT (user_id, room_id) DO UPDATE SET seq = greatest(read_markers.seq, excluded.seq)
		)
		SELECT private, guests_allowed, member, user_found, user_guest, direct FROM c`,
		room, id(user), id(by), user == by).Scan(&a.Private, &a.GuestsAllowed, &a.Member, &userFound, &userGuest, &a.Direct)
	if errors.Is(err, pgx.ErrNoRows) {
		a, err = hanashi.RoomAccess{}, nil
	}
	if err == nil {
		err = hanashi.CheckAdd(a, user == by)
	}
	if err == nil && !userFound {
		err = hanashi.ErrUserNotFound
	}
	if err == nil {
		err = hanashi.CheckGuest(userGuest, a.GuestsAllowed)
	}
	if err != nil {
		return fmt.Errorf("postgres: add member: %w", err)
	}
	return nil
}

// RemoveMember ends user's membership of room. It fails with ENOTFOUND if
// the room is not visible to user.
func (db *DB) RemoveMember(ctx context.Context, room hanashi.RoomID, user hanashi.UserID) error {
	// Deleting is harmless when the room is not visible to user: user is
	// then not a member, so there is nothing to delete.
	a := hanashi.RoomAccess{Exists: true}
	err := db.pool.QueryRow(ctx, `
		WITH c AS (
			SELECT r.private, r.kind = 'direct' AS direct,
				EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = $2) AS member
			FROM rooms r WHERE r.id = $1
		), del AS (
			DELETE FROM members WHERE room_id = $1 AND user_id = $2 AND NOT (SELECT direct FROM c)
		)
		SELECT private, member, direct FROM c`,
		room, id(user)).Scan(&a.Private, &a.Member, &a.Direct)
	if errors.Is(err, pgx.ErrNoRows) {
		a, err = hanashi.RoomAccess{}, nil
	}
	if err == nil {
		err = hanashi.CheckLeave(a)
	}
	if err != nil {
		return fmt.Errorf("postgres: remove member: %w", err)
	}
	return nil
}

// SetTopic changes the topic of room on behalf of by, a member allowed to
// by hanashi.CheckTopicChange, and returns the room as by now sees it. A
// topic that is not UTF-8 text without NUL characters is EINVALID.
func (db *DB) SetTopic(ctx context.Context, room hanashi.RoomID, by hanashi.UserID, topic string) (hanashi.Room, error) {
	if !textOK(topic) {
		return hanashi.Room{}, hanashi.Errorf(hanashi.EINVALID, "topic must be text")
	}
	var r hanashi.Room
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		access := hanashi.RoomAccess{Exists: true}
		err := tx.QueryRow(ctx, `
			SELECT r.private, r.guests_allowed, r.kind = 'direct', r.created_by,
				EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = $2)
			FROM rooms r WHERE r.id = $1 FOR NO KEY UPDATE`,
			room, id(by)).Scan(&access.Private, &access.GuestsAllowed, &access.Direct, &access.CreatedBy, &access.Member)
		if errors.Is(err, pgx.ErrNoRows) {
			access = hanashi.RoomAccess{}
		} else if err != nil {
			return err
		}
		a := hanashi.AuthorAccess{Exists: true}
		err = tx.QueryRow(ctx, `SELECT guest, disabled FROM users WHERE id = $1`, id(by)).Scan(&a.Guest, &a.Disabled)
		if errors.Is(err, pgx.ErrNoRows) {
			a = hanashi.AuthorAccess{}
		} else if err != nil {
			return err
		}
		if err := hanashi.CheckTopicChange(access, a); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE rooms SET topic = $2 WHERE id = $1`, room, topic); err != nil {
			return err
		}
		r, err = scanRoom(tx.QueryRow(ctx, `SELECT `+roomColumns+` FROM rooms r WHERE r.id = $2`, id(by), room).Scan)
		return err
	})
	if err != nil {
		return hanashi.Room{}, fmt.Errorf("postgres: set topic: %w", err)
	}
	return r, nil
}
