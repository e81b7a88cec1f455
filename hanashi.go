// Package hanashi holds the domain of the Hanashi chat server: users, rooms,
// messages, the error vocabulary, and the two contracts every deployment
// plugs an implementation into — Store (the durable record) and Broker (the
// wake-up call between nodes for committed messages, and the carrier of
// their ephemeral signals).
//
// The rules of team chat (the events of a room's stream, the history they
// fold into, mentions, read markers and unread counts) are set out at the
// top of chat.go; every Store applies them the same way.
//
// The package imports only the standard library. Implementations live in
// subpackages named after what they depend on (sqlite, inmem, ...), and only
// cmd/hanashi chooses between them.
package hanashi

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

// UserID identifies a user. It is opaque and not guessable.
type UserID string

// RoomID identifies a room.
type RoomID int64

// MessageID identifies a message across all rooms.
type MessageID string

// User is a person or a guest who can post.
//
// A user has up to three sources for an avatar, which the web layer tries in
// order (an upload, the provider's picture, Gravatar by Email, initials) to
// compute AvatarURL. The store keeps the sources and the result as they are
// given; it never resolves one into the other.
type User struct {
	ID   UserID `json:"id"`
	Name string `json:"name"`
	// AvatarURL is the resolved URL that messages carry as their author's
	// avatar; "" for none.
	AvatarURL string `json:"avatar_url"`
	Guest     bool   `json:"guest"`
	// Email is a verified address in normal form (see NormalEmail), or ""
	// when no identity of the user ever vouched for one.
	Email string `json:"email,omitempty"`
	// Disabled users cannot sign in, their sessions do not authenticate and
	// they cannot post. A guest whose messages were claimed into an account
	// is disabled for good.
	Disabled bool `json:"disabled,omitempty"`
	// AvatarUpload is the stored file name of the avatar the user uploaded,
	// or "" for none.
	AvatarUpload string `json:"avatar_upload,omitempty"`
	// ProviderAvatar is the picture URL the identity provider gave at the
	// user's latest sign-in that came with one, or "".
	ProviderAvatar string `json:"provider_avatar,omitempty"`
	// TimeZone is the IANA name of the user's time zone ("Asia/Tokyo"), as
	// their client reports it, or "" when unknown (see CheckTimeZone).
	TimeZone  string    `json:"time_zone"`
	CreatedAt time.Time `json:"created_at"`
}

// Author is the part of a User that travels with every message.
type Author struct {
	ID        UserID `json:"id"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
	// TimeZone is set where people are listed as people (Store.Members),
	// not on the author of every message.
	TimeZone string `json:"time_zone,omitempty"`
}

// RoomListing is a room as an operator's listing shows it ("hanashi room
// list"): any room, private ones too, with how many members it has.
type RoomListing struct {
	Room
	Members int `json:"members"`
}

// Room is a place where messages are posted in order.
type Room struct {
	ID   RoomID `json:"id"`
	Name string `json:"name"`
	// Topic says what the room is for: plain text on one line, up to
	// MaxTopicLen runes, "" for none (see CheckTopic). Members change it.
	Topic   string `json:"topic"`
	Private bool   `json:"private"`
	// GuestsAllowed says whether guests may join the room and post in it.
	GuestsAllowed bool `json:"guests_allowed"`
	// CreatedBy made the room. Outside direct rooms the creator is also the
	// room's moderator, who may delete anybody's messages (see KindDelete).
	CreatedBy UserID    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Kind is RoomDirect for a direct-message room (see Store.DirectRoom)
	// and "" for any other.
	Kind RoomKind `json:"kind,omitempty"`
	// Parent is the room this one was created in, or 0; ParentSeq is then
	// the seq of the KindRoom event that links to it in the parent's stream.
	Parent    RoomID `json:"parent,omitempty"`
	ParentSeq int64  `json:"parent_seq,omitempty"`
	// LastSeq is the sequence number of the newest message (0 when empty)
	// at the time the room was read.
	LastSeq int64 `json:"last_seq"`
	// Member reports whether the user the room was read for is a member.
	Member bool `json:"member"`
}

// Message is one event in a room's stream: a message, or a change to one
// (see Kind and chat.go). Seq is assigned by the Store inside the
// transaction that stores the event: per room it starts at 1 and grows by
// one with every event, with no gaps. (Room, Seq) is the resume cursor, so a
// client that resumes learns of every message and every change it missed,
// in order.
//
// The fields up to Mentions are those of the event and never change, except
// Body (see Store.Messages) and Author's name and avatar, which are the
// author's current ones. The fields from EditedAt on are the folded state of
// a message, set only by Store.History and Store.ThreadMessages.
type Message struct {
	ID        MessageID `json:"id"`
	Room      RoomID    `json:"room"`
	Seq       int64     `json:"seq"`
	ClientID  string    `json:"client_id"`
	Author    Author    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	// Kind is what the event is; the store never returns "".
	Kind Kind `json:"kind"`
	// Target is the message an edit, delete, react or unreact acts on.
	Target MessageID `json:"target,omitempty"`
	// Thread is, for a reply, the root message of its thread.
	Thread MessageID `json:"thread,omitempty"`
	// Emoji is the reaction a react or unreact adds or takes back.
	Emoji string `json:"emoji,omitempty"`
	// Child is the room a KindRoom event links to.
	Child RoomID `json:"child,omitempty"`
	// Mentions are the users a message mentions by name (other than its
	// author), in the order of their ids; MentionsRoom says it mentions
	// @room. See MentionNames for the syntax.
	Mentions     []UserID `json:"mentions,omitempty"`
	MentionsRoom bool     `json:"mentions_room,omitempty"`

	// EditedAt is when the message was last edited, nil if never.
	EditedAt *time.Time `json:"edited_at,omitempty"`
	// Deleted marks a tombstone: the message was deleted and its Body is "".
	Deleted bool `json:"deleted,omitempty"`
	// Replies counts the replies of a thread's root, deleted ones too, and
	// LastReplyAt is when the newest was posted (nil without replies).
	Replies     int        `json:"replies,omitempty"`
	LastReplyAt *time.Time `json:"last_reply_at,omitempty"`
	// Reactions are the message's reactions, one per emoji, in the order
	// in which each emoji was first added.
	Reactions []Reaction `json:"reactions,omitempty"`
}

// Session is a signed-in browser or client. The token itself is never
// stored; only its SHA-256 hash is.
type Session struct {
	TokenHash []byte
	User      UserID
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Limits on what users may send. They are part of the domain because every
// entry point (HTTP, WebSocket, later webhooks) must agree on them.
const (
	MaxNameLen     = 64    // runes in a user or room name
	MaxBodyBytes   = 16384 // bytes in a message body
	MaxClientIDLen = 128   // bytes in a client-chosen message id
)

// idEncoding's alphabet is in ASCII order, so IDs sort as their bytes do.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a random 128-bit identifier in lower-case Crockford base32.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand documents it).
	return idEncoding.EncodeToString(b[:])
}

// NewSortableID returns an identifier like NewID whose first 48 bits are t
// in milliseconds, so IDs made later sort later. Stores use it for rows
// written in bulk: random IDs land all over a primary-key index and dirty a
// page each, time-ordered ones append to it. The other 80 bits are random,
// so the IDs are still not guessable.
func NewSortableID(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	rand.Read(b[6:]) // never fails (crypto/rand documents it).
	return idEncoding.EncodeToString(b[:])
}
