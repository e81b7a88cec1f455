// Package hanashi holds the domain of the Hanashi chat server: users, rooms,
// messages, the error vocabulary, and the two contracts every deployment
// plugs an implementation into — Store (the durable record) and Broker (the
// wake-up signal between nodes).
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
	ProviderAvatar string    `json:"provider_avatar,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// Author is the part of a User that travels with every message.
type Author struct {
	ID        UserID `json:"id"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
}

// Room is a place where messages are posted in order.
type Room struct {
	ID      RoomID `json:"id"`
	Name    string `json:"name"`
	Private bool   `json:"private"`
	// GuestsAllowed says whether guests may join the room and post in it.
	GuestsAllowed bool      `json:"guests_allowed"`
	CreatedBy     UserID    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
	// LastSeq is the sequence number of the newest message in the room (0 when
	// empty) at the time the room was read.
	LastSeq int64 `json:"last_seq"`
	// Member reports whether the user the room was read for is a member.
	Member bool `json:"member"`
}

// Message is one post in a room. Seq is assigned by the Store inside the
// transaction that stores the message: per room it starts at 1 and grows by
// one with every message, with no gaps. (Room, Seq) is the resume cursor.
type Message struct {
	ID        MessageID `json:"id"`
	Room      RoomID    `json:"room"`
	Seq       int64     `json:"seq"`
	ClientID  string    `json:"client_id"`
	Author    Author    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
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
