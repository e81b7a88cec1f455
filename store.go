package hanashi

import (
	"context"
	"time"
)

// Store is the durable record of users, sessions, rooms and messages. It is
// the source of truth: the Broker only tells nodes that something new is in
// the Store, and every gap is filled from here.
//
// Implementations are safe for concurrent use and must pass the conformance
// suite in package storetest. Errors meant for users are *Error values; a
// room that exists but is private to others is reported as ENOTFOUND, so that
// its existence is not revealed.
type Store interface {
	// CreateUser stores a new user. ID and CreatedAt are assigned by the store.
	CreateUser(ctx context.Context, u User) (User, error)
	// User returns the user with the given id.
	User(ctx context.Context, id UserID) (User, error)

	// CreateSession stores a session; s.TokenHash must be unique.
	CreateSession(ctx context.Context, s Session) error
	// SessionUser returns the user owning the unexpired session whose token
	// hashes to tokenHash, or EUNAUTHORIZED.
	SessionUser(ctx context.Context, tokenHash []byte) (User, error)
	// DeleteSession removes a session. Removing a missing one is not an error.
	DeleteSession(ctx context.Context, tokenHash []byte) error

	// CreateRoom stores a new room; its creator becomes its first member.
	CreateRoom(ctx context.Context, r NewRoom) (Room, error)
	// Room returns the room as seen by viewer: ENOTFOUND if it does not exist
	// or is private and viewer is not a member.
	Room(ctx context.Context, id RoomID, viewer UserID) (Room, error)
	// Rooms lists the public rooms and the private rooms viewer is a member
	// of, ordered by id.
	Rooms(ctx context.Context, viewer UserID) ([]Room, error)
	// AddMember makes user a member of room on behalf of by. Anyone may join a
	// public room themselves; adding somebody else, or anybody to a private
	// room, takes a member. Adding an existing member is not an error.
	AddMember(ctx context.Context, room RoomID, user, by UserID) error
	// RemoveMember ends user's membership. Leaving a room one is not a member
	// of is not an error, as long as the room is visible to user.
	RemoveMember(ctx context.Context, room RoomID, user UserID) error

	// Post stores a batch of messages in one transaction and returns a result
	// per post, in the same order. The transaction is durable (synced to
	// stable storage) when Post returns. Each message gets the next sequence
	// number of its room. A post whose (Author, ClientID) was stored before
	// is not stored again: its result carries the earlier message with
	// Created false. A post refused on its own (unknown room, not a member,
	// client id reused in another room) carries Err and does not affect the
	// others. A non-nil error means nothing in the batch was stored, with
	// one exception a networked store cannot rule out: a commit whose answer
	// was lost with the connection. Posts are resent with the same client
	// ids, so a resend finds such a message instead of storing it twice.
	Post(ctx context.Context, posts []Post) ([]PostResult, error)
	// Messages returns a page of a room's messages in ascending seq order.
	// It does not check visibility: callers check Room first.
	Messages(ctx context.Context, room RoomID, p Page) ([]Message, error)
	// LastSeq returns the sequence number of the room's newest message (0 for
	// an empty room), or ENOTFOUND.
	LastSeq(ctx context.Context, room RoomID) (int64, error)

	// Close releases the store's resources; in-flight calls may fail.
	Close() error
}

// NewRoom is what a user supplies to create a room.
type NewRoom struct {
	Name    string
	Private bool
	Creator UserID
}

// Post is one message to be stored.
type Post struct {
	Room     RoomID
	Author   UserID
	ClientID string
	Body     string
}

// PostResult is the outcome of one Post in a batch.
type PostResult struct {
	Message Message
	Created bool  // false when an earlier post with the same client id was found
	Err     error // non-nil when this post was refused; Message is then zero
}

// Page selects messages by sequence number. With Before > 0 it is the newest
// Limit messages with Seq < Before; otherwise the oldest Limit messages with
// Seq > After. Limit is clamped to [1, MaxPageLimit]; 0 means DefaultPageLimit.
type Page struct {
	After  int64
	Before int64
	Limit  int
}

// Paging limits.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 1000
)

// Clamp returns p with Limit in [1, MaxPageLimit].
func (p Page) Clamp() Page {
	switch {
	case p.Limit <= 0:
		p.Limit = DefaultPageLimit
	case p.Limit > MaxPageLimit:
		p.Limit = MaxPageLimit
	}
	return p
}

// SessionLifetime is how long a session lasts without being renewed.
const SessionLifetime = 30 * 24 * time.Hour
