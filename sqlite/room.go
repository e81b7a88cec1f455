package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/sqlrows"
)

// CreateRoom stores a new room and makes its creator its first member. It
// fails with ENOTFOUND if the creator does not exist, and with EFORBIDDEN if
// a guest creates a room that forbids guests. A room made inside a parent is
// linked from the parent's stream by a KindRoom event in the same
// transaction (see hanashi.Store).
func (db *DB) CreateRoom(ctx context.Context, nr hanashi.NewRoom) (hanashi.Room, error) {
	r := hanashi.Room{
		Name:          nr.Name,
		Private:       nr.Private,
		GuestsAllowed: !nr.NoGuests,
		CreatedBy:     nr.Creator,
		CreatedAt:     db.now(),
		Parent:        nr.Parent,
		Member:        true,
	}
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		if nr.Parent != 0 {
			if err := canNest(ctx, tx, nr.Parent, nr.Creator); err != nil {
				return err
			}
		}
		if guest, err := isGuest(ctx, tx, nr.Creator); err != nil {
			return err
		} else if err := hanashi.CheckGuest(guest, !nr.NoGuests); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `
			INSERT INTO rooms (name, private, guests_allowed, created_by, created_at, parent_id)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			r.Name, r.Private, r.GuestsAllowed, r.CreatedBy, toNanos(r.CreatedAt), sql.NullInt64{Int64: int64(r.Parent), Valid: r.Parent != 0}).Scan(&r.ID)
		if err != nil {
			return err
		}
		if err := join(ctx, tx, r.ID, r.CreatedBy); err != nil {
			return err
		}
		if nr.Parent == 0 {
			return nil
		}
		// The link in the parent's stream takes the parent's next seq.
		if err := tx.QueryRowContext(ctx,
			`UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq`, r.Parent).Scan(&r.ParentSeq); err != nil {
			return err
		}
		body := r.Name
		if r.Private {
			body = "" // only the members of a private room see its name
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO messages (id, room_id, seq, author_id, body, created_at, kind, child_id)
			VALUES (?, ?, ?, ?, ?, ?, 'room', ?)`,
			hanashi.NewSortableID(r.CreatedAt), r.Parent, r.ParentSeq, r.CreatedBy, body, toNanos(r.CreatedAt), r.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE rooms SET parent_seq = ? WHERE id = ?`, r.ParentSeq, r.ID)
		return err
	})
	if err != nil {
		return hanashi.Room{}, fmt.Errorf("sqlite: create room: %w", err)
	}
	return r, nil
}

// canNest checks that creator may create a room inside parent: as for
// posting in it (the same refusals, in the same order, as Post), and the
// parent must not be a direct room.
func canNest(ctx context.Context, tx *sql.Tx, parent hanashi.RoomID, creator hanashi.UserID) error {
	r, err := membership(ctx, tx, parent, creator)
	if err != nil {
		return err
	}
	a := hanashi.AuthorAccess{Exists: true}
	err = tx.QueryRowContext(ctx, `SELECT guest, disabled FROM users WHERE id = ?`, creator).Scan(&a.Guest, &a.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		a = hanashi.AuthorAccess{}
	} else if err != nil {
		return err
	}
	return hanashi.CheckNest(r, a)
}

// isGuest reports whether user is a guest, or fails with ENOTFOUND.
func isGuest(ctx context.Context, tx *sql.Tx, user hanashi.UserID) (bool, error) {
	var guest bool
	err := tx.QueryRowContext(ctx, `SELECT guest FROM users WHERE id = ?`, user).Scan(&guest)
	if errors.Is(err, sql.ErrNoRows) {
		return false, hanashi.ErrUserNotFound
	}
	return guest, err
}

// roomColumns are the columns scanRoom reads; the viewer is parameter ?1.
const roomColumns = `r.id, r.name, r.private, r.guests_allowed, r.created_by, r.created_at, r.last_seq,
	EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = ?1),
	r.kind, coalesce(r.parent_id, 0), r.parent_seq, r.topic`

// scanRoom reads roomColumns.
func scanRoom(scan func(dest ...any) error) (hanashi.Room, error) {
	var r hanashi.Room
	var created int64
	if err := scan(&r.ID, &r.Name, &r.Private, &r.GuestsAllowed, &r.CreatedBy, &created, &r.LastSeq, &r.Member,
		&r.Kind, &r.Parent, &r.ParentSeq, &r.Topic); err != nil {
		return hanashi.Room{}, err
	}
	r.CreatedAt = fromNanos(created)
	return r, nil
}

// Room returns the room as viewer sees it, or ENOTFOUND if it does not exist
// or is private and viewer is not a member.
func (db *DB) Room(ctx context.Context, id hanashi.RoomID, viewer hanashi.UserID) (hanashi.Room, error) {
	row := db.read.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms r WHERE r.id = ?2`, viewer, id)
	// No row reads as the zero Room, which does not exist.
	r, err := scanRoom(row.Scan)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return hanashi.Room{}, fmt.Errorf("sqlite: room: %w", err)
	}
	if err := hanashi.CheckVisible(r.Access()); err != nil {
		return hanashi.Room{}, err
	}
	return r, nil
}

// Rooms lists the public rooms and the private rooms viewer is a member of,
// ordered by id.
func (db *DB) Rooms(ctx context.Context, viewer hanashi.UserID) ([]hanashi.Room, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT `+roomColumns+`
		FROM rooms r
		WHERE r.private = 0
		   OR EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = ?1)
		ORDER BY r.id`, viewer)
	if err != nil {
		return nil, fmt.Errorf("sqlite: rooms: %w", err)
	}
	defer rows.Close()
	rooms, err := sqlrows.Collect(rows, scanRoom)
	if err != nil {
		return nil, fmt.Errorf("sqlite: rooms: %w", err)
	}
	return rooms, nil
}

// membership reads, inside tx, what AddMember and RemoveMember need to know
// of room and user. ok is false if the room does not exist.
func membership(ctx context.Context, tx *sql.Tx, room hanashi.RoomID, user hanashi.UserID) (hanashi.RoomAccess, error) {
	a := hanashi.RoomAccess{Exists: true}
	err := tx.QueryRowContext(ctx, `
		SELECT r.private, r.guests_allowed, EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = ?),
			r.kind = 'direct', r.created_by
		FROM rooms r WHERE r.id = ?`, user, room).Scan(&a.Private, &a.GuestsAllowed, &a.Member, &a.Direct, &a.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return hanashi.RoomAccess{}, nil
	}
	return a, err
}

// AddMember makes user a member of room on behalf of by. Anyone may join a
// public room; adding another user takes a member, and so does joining a
// private room. It fails with ENOTFOUND if the room is not visible to by or
// user does not exist, and with EFORBIDDEN if by may see the room but not add
// others to it, or if user is a guest and the room forbids guests.
func (db *DB) AddMember(ctx context.Context, room hanashi.RoomID, user, by hanashi.UserID) error {
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		a, err := membership(ctx, tx, room, by)
		if err != nil {
			return err
		}
		if err := hanashi.CheckAdd(a, user == by); err != nil {
			return err
		}
		if guest, err := isGuest(ctx, tx, user); err != nil {
			return err
		} else if err := hanashi.CheckGuest(guest, a.GuestsAllowed); err != nil {
			return err
		}
		return join(ctx, tx, room, user)
	})
	if err != nil {
		return fmt.Errorf("sqlite: add member: %w", err)
	}
	return nil
}

// RemoveMember ends user's membership of room. It fails with ENOTFOUND if
// the room is not visible to user.
func (db *DB) RemoveMember(ctx context.Context, room hanashi.RoomID, user hanashi.UserID) error {
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		a, err := membership(ctx, tx, room, user)
		if err != nil {
			return err
		}
		if err := hanashi.CheckLeave(a); err != nil || !a.Member {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM members WHERE room_id = ? AND user_id = ?`, room, user)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: remove member: %w", err)
	}
	return nil
}

// SetTopic changes the topic of room on behalf of by, a member allowed to
// by hanashi.CheckTopicChange, and returns the room as by now sees it.
func (db *DB) SetTopic(ctx context.Context, room hanashi.RoomID, by hanashi.UserID, topic string) (hanashi.Room, error) {
	var r hanashi.Room
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		access, err := membership(ctx, tx, room, by)
		if err != nil {
			return err
		}
		a := hanashi.AuthorAccess{Exists: true}
		err = tx.QueryRowContext(ctx, `SELECT guest, disabled FROM users WHERE id = ?`, by).Scan(&a.Guest, &a.Disabled)
		if errors.Is(err, sql.ErrNoRows) {
			a = hanashi.AuthorAccess{}
		} else if err != nil {
			return err
		}
		if err := hanashi.CheckTopicChange(access, a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rooms SET topic = ? WHERE id = ?`, topic, room); err != nil {
			return err
		}
		r, err = scanRoom(tx.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms r WHERE r.id = ?2`, by, room).Scan)
		return err
	})
	if err != nil {
		return hanashi.Room{}, fmt.Errorf("sqlite: set topic: %w", err)
	}
	return r, nil
}
