package hanashi

import (
	"context"
	"time"
)

// Store is the durable record of users and their identities, sessions,
// sign-in links, rooms and messages. It is the source of truth: the Broker
// only tells nodes that something new is in the Store, and every gap is
// filled from here. It is also how nodes learn of sessions ended on other
// nodes (see RevokedSessions), so that works without a Broker.
//
// Implementations are safe for concurrent use and must pass the conformance
// suite in package storetest. Errors meant for users are *Error values; a
// room that exists but is private to others is reported as ENOTFOUND, so that
// its existence is not revealed.
type Store interface {
	// CreateUser stores a new user with every field of u except ID and
	// CreatedAt, which are assigned by the store; Email is kept in normal
	// form (see NormalEmail). Users who sign in are made by SignIn; this is
	// for guests and tools.
	CreateUser(ctx context.Context, u User) (User, error)
	// User returns the user with the given id.
	User(ctx context.Context, id UserID) (User, error)

	// SignIn returns the user an identity belongs to, making or linking one
	// first if the identity is new, all in one transaction:
	//   - an identity seen before belongs to the user it was linked to;
	//   - a new identity whose e-mail the provider verified is linked to the
	//     user that already has an identity with the same verified address
	//     (compared in normal form), if any: verified addresses join the
	//     accounts of several providers, unverified ones never do;
	//   - otherwise a new user (not a guest) is made for it, named
	//     id.DisplayName(), with Email set only when it is verified.
	// Every sign-in records the identity's current e-mail claims, sets the
	// user's Email if it had none and the address is verified, and, when
	// id.Picture is not empty, makes it the user's ProviderAvatar. A disabled
	// user is refused with EFORBIDDEN and nothing changes. Provider and
	// Subject must not be empty (EINVALID). Concurrent sign-ins with the same
	// new identity, on any number of nodes, make exactly one user.
	SignIn(ctx context.Context, id Identity) (User, error)
	// UpdateProfile changes the fields of p that are not nil and returns the
	// user as now stored, or ENOTFOUND. Messages carry their author's
	// current name and avatar, so the change shows on old messages too.
	UpdateProfile(ctx context.Context, user UserID, p ProfileUpdate) (User, error)
	// ClaimGuest hands what guest posted to user, when a guest signs in, in
	// one transaction: guest's messages get user as their author, keeping
	// their rooms and seqs (one whose client id user already has loses its
	// client id; the others keep theirs, so a resend as user finds them);
	// guest's room memberships move to user, and so do guest's reactions,
	// mentions, read markers and followed threads (where user has the same
	// already, user's own stays, and of two read markers the further one);
	// guest's sessions end and are logged as revoked; and guest is disabled
	// for good. Rooms guest created
	// keep guest as their creator. It returns how many messages moved.
	//
	// guest must be a guest and user must not be (EINVALID, also for
	// guest == user); either unknown is ENOTFOUND; a disabled user, or a
	// guest an administrator disabled, is EFORBIDDEN. Claiming again into
	// the same user moves what is left, normally nothing, so a repeated call
	// is harmless; into another user it is ECONFLICT.
	ClaimGuest(ctx context.Context, guest, user UserID) (moved int, err error)
	// SetDisabled disables or enables a user, or ENOTFOUND. Disabling ends
	// all of the user's sessions, as DeleteUserSessions does. A claimed guest
	// cannot be enabled again (EINVALID).
	SetDisabled(ctx context.Context, user UserID, disabled bool) error

	// CreateSession stores a session; s.TokenHash must be unique (else
	// ECONFLICT). A zero s.CreatedAt becomes the current time. A disabled
	// user gets no session (EFORBIDDEN).
	CreateSession(ctx context.Context, s Session) error
	// SessionUser returns the user owning the unexpired session whose token
	// hashes to tokenHash, or EUNAUTHORIZED; also EUNAUTHORIZED when the
	// user is disabled.
	SessionUser(ctx context.Context, tokenHash []byte) (User, error)
	// DeleteSession removes a session and logs it as revoked. Removing a
	// missing one is not an error.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// DeleteUserSessions removes every session of user and logs each as
	// revoked ("sign out everywhere"). A user without sessions, or unknown,
	// is not an error.
	DeleteUserSessions(ctx context.Context, user UserID) error
	// RevokedSessions reads the revocation log: the token hashes of the
	// sessions that DeleteSession, DeleteUserSessions, SetDisabled and
	// ClaimGuest removed, on any node. Every entry has an id greater than
	// those of the entries committed before it, so a reader that asks for
	// the entries after the last id it has seen never misses one.
	//
	// With after >= 0 it returns the oldest entries (at most RevocationPage)
	// with an id greater than after, and the id of the last one returned, or
	// after itself when there is none: pass last as the next after. A full
	// page means more may be waiting. With after < 0 it returns no entries
	// and the id of the newest entry (0 for none): the place for a node
	// that starts up to begin reading from, since older revocations can have
	// no sockets on it. Each call is one indexed query, cheap enough to poll
	// several times a second. Entries are kept at least RevocationRetention.
	RevokedSessions(ctx context.Context, after int64) (hashes [][]byte, last int64, err error)

	// CreateLoginToken stores a sign-in link's token, with the current time
	// as its creation time, and purges tokens that expired more than
	// LoginTokenRetention ago. The hash and e-mail must not be empty and
	// ExpiresAt must be storable (else EINVALID); a hash stored before is
	// ECONFLICT.
	CreateLoginToken(ctx context.Context, t LoginToken) error
	// CountLoginTokens counts the tokens made at or after since for the
	// address email (compared in normal form) and for the client ip, used
	// or not, for rate limits that hold across nodes. since must lie within
	// LoginTokenRetention of the tokens' expiry for the counts to be whole.
	CountLoginTokens(ctx context.Context, email, ip string, since time.Time) (byEmail, byIP int, err error)
	// RedeemLoginToken spends the unexpired, unused token whose hash is
	// given and returns its address (in normal form). It is atomic: of any
	// number of concurrent calls for one token, on any number of nodes,
	// exactly one succeeds. An unknown, used or expired token is
	// EUNAUTHORIZED, with one message for all three.
	RedeemLoginToken(ctx context.Context, hash []byte) (email string, err error)

	// CreateRoom stores a new room; its creator becomes its first member.
	// A guest cannot create a room that forbids guests (EFORBIDDEN).
	//
	// With r.Parent set, the room is made inside the parent, which the
	// creator must be able to post in (the same checks and codes as Post;
	// a direct room cannot be a parent, EINVALID), and in the same
	// transaction a KindRoom event is posted into the parent's stream:
	// by the creator, with Child the new room and Body its name (empty for
	// a private room, whose name only its members may see). The returned
	// room's ParentSeq is that event's seq; the caller publishes it (read
	// it with Messages) as it publishes what Post stores. The new room's
	// visibility and membership follow its own settings, not the parent's.
	CreateRoom(ctx context.Context, r NewRoom) (Room, error)
	// Room returns the room as seen by viewer: ENOTFOUND if it does not exist
	// or is private and viewer is not a member.
	Room(ctx context.Context, id RoomID, viewer UserID) (Room, error)
	// Rooms lists the public rooms and the private rooms viewer is a member
	// of, ordered by id.
	Rooms(ctx context.Context, viewer UserID) ([]Room, error)
	// AddMember makes user a member of room on behalf of by. Anyone may join a
	// public room themselves; adding somebody else, or anybody to a private
	// room, takes a member. Adding an existing member is not an error. A
	// guest cannot become a member of a room that forbids guests
	// (EFORBIDDEN), even by being added. A new member's read marker starts
	// at the room's last seq. The members of a direct room are fixed
	// (EFORBIDDEN).
	AddMember(ctx context.Context, room RoomID, user, by UserID) error
	// RemoveMember ends user's membership. Leaving a room one is not a member
	// of is not an error, as long as the room is visible to user. Nobody
	// leaves a direct room (EFORBIDDEN).
	RemoveMember(ctx context.Context, room RoomID, user UserID) error
	// SetTopic changes the topic of room on behalf of by, who must be
	// allowed to by CheckTopicChange (ENOTFOUND for a room by cannot see,
	// EFORBIDDEN for one by is not a member of, or is a disabled user or a
	// guest kept out of), and returns the room as by now sees it. The
	// topic is stored as given: the caller checks it with CheckTopic.
	SetTopic(ctx context.Context, room RoomID, by UserID, topic string) (Room, error)
	// Members lists the members of room (their current names, avatars
	// and time zones),
	// in the order of their ids; none for an unknown room. Like Messages it
	// does not check visibility.
	Members(ctx context.Context, room RoomID) ([]Author, error)
	// DirectRoom returns the direct room whose members are exactly the
	// given users, making it if there is none: a private room of kind
	// RoomDirect, open to guests, named by DirectRoomName with the
	// members' names, with members[0] (the caller, whom the web layer puts
	// first) as CreatedBy and all of them members.
	// It is atomic: of any number of concurrent calls for one set of users,
	// on any number of nodes, one makes the room and all return it.
	// Duplicates in members count once; 2 to 9 users are needed
	// (EINVALID), every one of them known (ENOTFOUND). The room is
	// returned as members[0] sees it. A direct room has no moderator and
	// cannot contain nested rooms.
	DirectRoom(ctx context.Context, members []UserID) (Room, error)
	// SearchUsers returns the users, signed in and not disabled (neither
	// guests nor claimed guests), whose name starts with prefix when both
	// are compared as NameKey compares them (ASCII letters in any case),
	// ordered by that key, then name, then id (as bytes), at most limit of
	// them (clamped as UserSearchLimit says). An empty prefix matches
	// everybody; a prefix that is not text (invalid UTF-8, NUL) is
	// EINVALID. It is how people find each other to start a direct room.
	SearchUsers(ctx context.Context, prefix string, limit int) ([]Author, error)

	// Post stores a batch of events in one transaction and returns a result
	// per post, in the same order. The rules for each kind of event are in
	// chat.go; what follows holds for all of them. The transaction is durable (synced to
	// stable storage) when Post returns. Each message gets the next sequence
	// number of its room. A post whose (Author, ClientID) was stored before
	// is not stored again: its result carries the earlier message with
	// Created false. A post refused on its own carries Err and does not
	// affect the others: ENOTFOUND for an unknown room or author or a private
	// room the author is not a member of, ECONFLICT for a client id used in
	// another room, EFORBIDDEN for a disabled author or a guest in a room
	// that forbids guests, then what Post.Validate and the rules of the
	// post's kind refuse. The message returned for a new post carries its
	// Mentions. A non-nil error means nothing in the batch was
	// stored, with one exception a networked store cannot rule out: a commit
	// whose answer was lost with the connection. Posts are resent with the
	// same client ids, so a resend finds such a message instead of storing
	// it twice.
	Post(ctx context.Context, posts []Post) ([]PostResult, error)
	// Messages returns a page of a room's stream, every kind of event, in
	// ascending seq order: what a client that resumes after p.After missed.
	// Events carry their event fields (see Message), with the Body as
	// stored now: an edit replaces the body of its target, a deletion
	// empties the body of its target and of the target's edit events; the
	// events that did so follow in the stream. It does not check
	// visibility: callers check Room first.
	Messages(ctx context.Context, room RoomID, p Page) ([]Message, error)
	// History returns a page of a room's top-level messages (KindMessage
	// without Thread, and KindRoom links) in ascending seq order, each with
	// its current state folded in: body, EditedAt, Deleted (tombstones are
	// kept, with an empty body), Replies, LastReplyAt and Reactions, whose
	// Mine is for viewer. p pages by seq as for Messages, and Limit counts
	// messages, not seqs. It does not check visibility.
	History(ctx context.Context, room RoomID, viewer UserID, p Page) ([]Message, error)
	// ThreadMessages returns a page of the replies to root in room, folded
	// as History folds them, in ascending seq order; none if root is not a
	// message of room. It does not check visibility.
	ThreadMessages(ctx context.Context, room RoomID, root MessageID, viewer UserID, p Page) ([]Message, error)
	// HistoryMessage returns one message of room (KindMessage, a reply
	// too, or KindRoom) folded as History folds it, with Mine for viewer:
	// what a thread view shows above the replies. An id that is not such a
	// message of room, including an edit or a reaction event, is
	// ErrMessageNotFound. It does not check visibility.
	HistoryMessage(ctx context.Context, room RoomID, id MessageID, viewer UserID) (Message, error)
	// LastSeq returns the sequence number of the room's newest message (0 for
	// an empty room), or ENOTFOUND.
	LastSeq(ctx context.Context, room RoomID) (int64, error)
	// LastSeqs returns the sequence number of each room's newest message,
	// in the order of rooms: 0 for an empty room and for one that does not
	// exist. It is one query whatever the number of rooms, for a node that
	// checks every room it serves against the store (hub's sweep); callers
	// keep rooms to a few hundred per call.
	LastSeqs(ctx context.Context, rooms []RoomID) ([]int64, error)

	// MarkRead advances user's read marker in room to seq and returns the
	// marker as now stored. It never moves back: a seq below the marker
	// leaves it, and one beyond the room's last seq counts as the last seq.
	// An unknown room or user is ENOTFOUND, a negative seq EINVALID. It does
	// not check visibility.
	MarkRead(ctx context.Context, user UserID, room RoomID, seq int64) (int64, error)
	// MarkUnread sets user's read marker in room to just before seq, the
	// first message to be unread again, and returns the marker as now
	// stored: seq-1, or the room's last seq if seq is beyond it. Unlike
	// MarkRead it moves the marker either way ("mark unread" from a
	// message). An unknown room or user is ENOTFOUND, a seq below 1
	// EINVALID. It does not check visibility.
	MarkUnread(ctx context.Context, user UserID, room RoomID, seq int64) (int64, error)
	// Unread returns, for every room user is a member of, in the order of
	// the rooms' ids, the read marker and the unread and mention counts
	// (see UnreadCount). The counts are exact for the moment of the call,
	// on any node, however many posts and MarkReads run at once.
	Unread(ctx context.Context, user UserID) ([]UnreadCount, error)
	// FollowThread makes user follow the thread of root in room, or stop
	// following it. Following starts the thread's read marker at the room's
	// last seq if the user had none. An explicit choice holds: a user who
	// unfollowed is not made to follow again by replying. root must be a
	// top-level message of room (ENOTFOUND); an unknown user is ENOTFOUND.
	// It does not check visibility.
	FollowThread(ctx context.Context, user UserID, room RoomID, root MessageID, follow bool) error
	// MarkThreadRead advances user's read marker in the thread of root as
	// MarkRead does in a room (seqs are the room's). Only threads the user
	// follows or once followed have a marker; for the others it does
	// nothing.
	MarkThreadRead(ctx context.Context, user UserID, room RoomID, root MessageID, seq int64) error
	// UnreadThreads returns the threads user follows that have unread
	// replies (see UnreadThread), in rooms user may see, ordered by room
	// and root.
	UnreadThreads(ctx context.Context, user UserID) ([]UnreadThread, error)

	// Close releases the store's resources; in-flight calls may fail.
	Close() error
}

// NewRoom is what a user supplies to create a room.
type NewRoom struct {
	Name    string
	Private bool
	// NoGuests makes a room that guests may not join or post in. The zero
	// value allows them, so a room created without a word about guests is
	// open to them, as rooms were before guests could be kept out.
	NoGuests bool
	Creator  UserID
	// Parent, if not 0, is the room to create the room inside (see
	// Store.CreateRoom).
	Parent RoomID
}

// Post is one event to be stored: a message unless Kind says otherwise.
// Which fields each kind takes is in chat.go (and Post.Validate).
type Post struct {
	Room     RoomID
	Author   UserID
	ClientID string
	Body     string
	Kind     Kind      // "" for KindMessage; KindRoom cannot be posted
	Target   MessageID // edit, delete, react, unreact: the message acted on
	Thread   MessageID // a reply: the thread's root
	Emoji    string    // react, unreact
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

// Limits of Store.SearchUsers.
const (
	DefaultUserSearch = 20
	MaxUserSearch     = 100
)

// UserSearchLimit clamps the limit of Store.SearchUsers to [1,
// MaxUserSearch]; 0 or less means DefaultUserSearch.
func UserSearchLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultUserSearch
	case limit > MaxUserSearch:
		return MaxUserSearch
	}
	return limit
}

// SessionLifetime is how long a session lasts without being renewed.
const SessionLifetime = 30 * 24 * time.Hour
