// Package sqlrows reads result sets and pages of seqs the same way for both
// stores. Their drivers (database/sql for SQLite, pgx for PostgreSQL) share
// the shape of a result set but no type, so without it each store would
// spell out the same loops and paging again.
package sqlrows

import (
	"fmt"
	"slices"

	"github.com/hanashi-chat/hanashi"
)

// Rows is what *sql.Rows and pgx.Rows have in common. Closing them stays
// with the caller, whose drivers close differently.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Scan is the Scan of a row.
type Scan = func(dest ...any) error

// Each calls row for every row of rows and returns the first error, of row
// or of rows.
func Each(rows Rows, row func(scan Scan) error) error {
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Collect returns what scan reads of every row of rows: a slice that is
// not nil, so that an empty list encodes as [] rather than null.
func Collect[T any](rows Rows, scan func(scan Scan) (T, error)) ([]T, error) {
	out := []T{}
	err := Each(rows, func(s Scan) error {
		v, err := scan(s)
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Page returns what ends a query for page p of the rows whose column col
// is a seq, and its two arguments, which the caller's placeholders ph
// number (ph(0) for the first). The rows come in ascending seq order once
// Ordered has been applied to them: for p.Before, the newest Limit below
// Before, which the query reads newest first.
func Page(p hanashi.Page, col string, ph func(i int) string) (string, []any) {
	if p.Before > 0 {
		return fmt.Sprintf(` AND %s < %s ORDER BY %s DESC LIMIT %s`, col, ph(0), col, ph(1)), []any{p.Before, p.Limit}
	}
	return fmt.Sprintf(` AND %s > %s ORDER BY %s LIMIT %s`, col, ph(0), col, ph(1)), []any{p.After, p.Limit}
}

// Ordered puts the rows read for page p (see Page) in ascending seq order.
func Ordered[T any](p hanashi.Page, rows []T) []T {
	if p.Before > 0 {
		slices.Reverse(rows)
	}
	return rows
}

// Reactions reads rows of (message id, emoji, user, count, whether the
// viewer is among the users), ordered by message and then as
// Message.FoldReaction wants them, into the messages of byID.
func Reactions(rows Rows, byID map[hanashi.MessageID]*hanashi.Message) error {
	return Each(rows, func(scan Scan) error {
		var (
			id    hanashi.MessageID
			emoji string
			user  hanashi.UserID
			n     int
			mine  bool
		)
		if err := scan(&id, &emoji, &user, &n, &mine); err != nil {
			return err
		}
		byID[id].FoldReaction(emoji, n, mine, user)
		return nil
	})
}

// Revoked reads a page of the revocation log, rows of (id, token hash) in
// id order: the hashes, and the last id read (after if none).
func Revoked(rows Rows, after int64) ([][]byte, int64, error) {
	var hashes [][]byte
	last := after
	err := Each(rows, func(scan Scan) error {
		var h []byte
		err := scan(&last, &h)
		hashes = append(hashes, h)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return hashes, last, nil
}

// Author reads a row of (id, name, avatar URL), for Collect.
func Author(scan Scan) (hanashi.Author, error) {
	var a hanashi.Author
	err := scan(&a.ID, &a.Name, &a.AvatarURL)
	return a, err
}

// Member reads a row of (id, name, avatar URL, time zone), for Collect:
// a person in a members list.
func Member(scan Scan) (hanashi.Author, error) {
	var a hanashi.Author
	err := scan(&a.ID, &a.Name, &a.AvatarURL, &a.TimeZone)
	return a, err
}

// UnreadCount reads a row of (room, last read, last seq, unread, mentions),
// for Collect.
func UnreadCount(scan Scan) (hanashi.UnreadCount, error) {
	var c hanashi.UnreadCount
	err := scan(&c.Room, &c.LastRead, &c.LastSeq, &c.Unread, &c.Mentions)
	return c, err
}

// UnreadThread reads a row of (room, root, last read, unread), for Collect.
func UnreadThread(scan Scan) (hanashi.UnreadThread, error) {
	var t hanashi.UnreadThread
	err := scan(&t.Room, &t.Root, &t.LastRead, &t.Unread)
	return t, err
}
