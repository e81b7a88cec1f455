package postgres

import (
	"context"
	"fmt"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/sqlrows"
)

// What an operator's commands read ("hanashi user list", "hanashi room
// list"), beside the Store: everything, as seen by nobody in particular.

// AllUsers returns every user, guests and disabled ones too, oldest first.
func (db *DB) AllUsers(ctx context.Context) ([]hanashi.User, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.created_at, u.id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: all users: %w", err)
	}
	defer rows.Close()
	users, err := sqlrows.Collect(rows, func(scan sqlrows.Scan) (hanashi.User, error) {
		return scanUser(scanner(scan))
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: all users: %w", err)
	}
	return users, nil
}

// AllRooms returns every room, private and direct ones too, with its
// count of members, ordered by id; Member is false in each.
func (db *DB) AllRooms(ctx context.Context) ([]hanashi.RoomListing, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT `+roomColumns+`, (SELECT count(*) FROM members m WHERE m.room_id = r.id)
		FROM rooms r ORDER BY r.id`, "")
	if err != nil {
		return nil, fmt.Errorf("postgres: all rooms: %w", err)
	}
	defer rows.Close()
	rooms, err := sqlrows.Collect(rows, func(scan sqlrows.Scan) (l hanashi.RoomListing, err error) {
		l.Room, err = scanRoom(func(dest ...any) error { return scan(append(dest, &l.Members)...) })
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: all rooms: %w", err)
	}
	return rooms, nil
}

// scanner makes a row's Scan function a value with a Scan method.
type scanner sqlrows.Scan

func (s scanner) Scan(dest ...any) error { return s(dest...) }
