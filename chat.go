package hanashi

// Team chat: what a room's stream carries besides messages, how the store
// folds it into history, and the rules every Store applies the same way.
//
// # The stream is events
//
// Every change visible in a room is an event with the room's next seq:
// a message (KindMessage, a reply when it has a Thread), an edit, a
// deletion, a reaction added or taken back, and the link to a room created
// inside this one (KindRoom). A client that resumes with its cursor
// (Store.Messages after its last seq) therefore sees every message and
// every change it missed, in order, and applies them as they come. The hub
// delivers events exactly as it delivered messages.
//
// Store.History and Store.ThreadMessages read the other way: they return
// messages only, each with the changes folded in (its current body,
// EditedAt, Deleted, Replies, LastReplyAt, Reactions). A client loads a page
// of history and then follows the stream from the room's last seq.
//
// # Posting events
//
// Post stores every kind of event (except KindRoom, which only CreateRoom
// makes). Besides the checks of a message (the room, the author, guests),
// each kind has rules, checked in this order, and a post that breaks one is
// refused on its own with the code given, without affecting the batch.
// rules.go has them as functions (CheckPoster for the room and the author,
// then Post.Validate, then CheckRef for the message a post refers to):
//
//   - Post.Validate: the fields the kind needs, and only those (EINVALID;
//     ETOOLARGE for a body over MaxBodyBytes).
//   - KindMessage with a Thread (a reply): the root must be a message of the
//     same room (else ENOTFOUND) that is not itself a reply (EINVALID) and
//     is not deleted (ECONFLICT). The root's Replies and LastReplyAt follow.
//   - KindEdit: the target must be a message of the same room (ENOTFOUND),
//     of KindMessage (EINVALID), by the same author (EFORBIDDEN), not
//     deleted (ECONFLICT). The event's Body is the new body; the target's
//     body and EditedAt change in the same transaction. Mentions are not
//     parsed again: an edit notifies nobody.
//   - KindDelete: the target must be a message of the same room
//     (ENOTFOUND) of KindMessage or KindRoom (EINVALID), by the same author
//     or deleted by the room's moderator, its creator (EFORBIDDEN; direct
//     rooms have no moderator), and not deleted already (ECONFLICT: deleting
//     twice makes no second event). The target becomes a tombstone: its
//     body and the bodies of its edit events are emptied, its reactions and
//     mentions removed. Its replies stay.
//   - KindReact and KindUnreact: the target must be a message of the same
//     room (ENOTFOUND) of KindMessage or KindRoom (EINVALID), not deleted
//     (ECONFLICT). Reacting with an emoji the author already reacted with,
//     or taking back one they did not, is ECONFLICT: every event changes
//     something. Anybody who may post in the room may react.
//
// Retries are found by (Author, ClientID) before any of this, as for
// messages, so a resent edit or reaction returns the event stored the first
// time with Created false instead of ECONFLICT. A batch behaves as if its
// posts were stored one after the other: a delete and a later edit of the
// same message in one batch refuse the edit.
//
// # Mentions
//
// See MentionNames. They are resolved at post time against the room's
// members and kept with the message; a user who is offline finds them in
// Store.Unread later.
//
// # Read markers and unread counts
//
// A read marker is, per user and room, the seq up to which the user has
// read. It only advances (Store.MarkRead). Joining a room (AddMember,
// CreateRoom, DirectRoom) sets it to the room's last seq, so what was said
// before one joined is not unread. Store.Unread counts per room the
// top-level messages (KindMessage without Thread, and KindRoom links) after
// the marker that are by others and not deleted, and, separately, the
// messages after the marker, replies included, that mention the user by
// name or @room, by others and not deleted. Both look at the newest
// UnreadWindow events (seqs) of a room only, so that the cost of a room is
// bounded; the events, not the numbers, as the numbering jumps after a
// restore (RestoreGap).
//
// Threads have markers of their own (Store.MarkThreadRead), kept for the
// threads a user follows: the author of a root and everyone who replies
// follow it from their first reply on, unless they unfollowed it
// (Store.FollowThread). Store.UnreadThreads counts the replies by others
// after the thread's marker.

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is what an event in a room's stream is.
type Kind string

// The kinds of events. Post takes "" for KindMessage; the store returns the
// kind by name.
const (
	KindMessage Kind = "message" // a message; a reply if Thread is set
	KindEdit    Kind = "edit"    // Target's body is now Body
	KindDelete  Kind = "delete"  // Target is now a tombstone
	KindReact   Kind = "react"   // Author reacted to Target with Emoji
	KindUnreact Kind = "unreact" // Author took back their Emoji on Target
	KindRoom    Kind = "room"    // the room Child was created inside this one
)

// RoomKind distinguishes rooms that follow rules of their own.
type RoomKind string

// RoomDirect is the kind of direct-message rooms (see Store.DirectRoom).
const RoomDirect RoomKind = "direct"

// Reaction is one emoji on a message as Store.History folds it.
type Reaction struct {
	Emoji string `json:"emoji"`
	// Count is how many users reacted with Emoji.
	Count int `json:"count"`
	// Users are the first MaxReactionUsers of them, in the order in which
	// they reacted.
	Users []UserID `json:"users"`
	// Mine says whether the viewer the history was read for is one of them.
	Mine bool `json:"mine"`
}

// FoldReaction adds user to m's reaction emoji, as a store reads the
// reactions of a message: by emoji in the order in which each was first
// given, and their users in order up to MaxReactionUsers. A user of another
// emoji than the last one starts a Reaction with the emoji's count and
// whether the viewer is among its users.
func (m *Message) FoldReaction(emoji string, count int, mine bool, user UserID) {
	if k := len(m.Reactions); k == 0 || m.Reactions[k-1].Emoji != emoji {
		m.Reactions = append(m.Reactions, Reaction{Emoji: emoji, Count: count, Mine: mine})
	}
	r := &m.Reactions[len(m.Reactions)-1]
	r.Users = append(r.Users, user)
}

// Limits of team chat.
const (
	MaxEmojiBytes    = 64    // bytes in a reaction's emoji: the longest RGI emoji, a kiss with two skin tones, is 35
	MaxReactionUsers = 20    // users listed per Reaction
	MinDirectMembers = 2     // members of a direct room, the caller included
	MaxDirectMembers = 9     // members of a direct room, the caller included
	MaxMentionAts    = 20    // @s in a body that are looked at
	UnreadWindow     = 10000 // newest events of a room that Unread counts in
)

// RestoreGap is how far a restore advances the counters whose numbers
// clients hold: every room's sequence counter and the counter of room
// ids. Messages and rooms made after a backup began are lost with the
// database the backup replaces, but clients may have seen their numbers,
// and hold cursors past the backup's end: numbering resumes beyond
// anything handed out since the backup, so that no seq or room id a
// client saw names another message or room, and no cursor skips a new
// message. 2^32 is more than a room commits between two backups (136
// years at one message a second, 50 days at a thousand), and keeps the
// numbers below 2^53, where JavaScript's numbers are exact, for 2^21
// restores.
const RestoreGap = 1 << 32

// roomMention is the key of @room.
const roomMention = "room"

// UnreadCount is what Store.Unread reports for one room.
type UnreadCount struct {
	Room RoomID `json:"room"`
	// LastRead is the user's read marker in the room, LastSeq the room's
	// newest seq. When more than UnreadWindow events follow LastRead the
	// counts cover the newest UnreadWindow only; a client may show them as
	// "N+" when LastSeq-LastRead > UnreadWindow (which after a restore's
	// jump holds of counts that are whole).
	LastRead int64 `json:"last_read"`
	LastSeq  int64 `json:"last_seq"`
	// Unread counts the top-level messages after LastRead by others that
	// are not deleted; Mentions the messages after LastRead, replies
	// included, by others and not deleted, that mention the user or @room.
	Unread   int64 `json:"unread"`
	Mentions int64 `json:"mentions"`
}

// UnreadThread is what Store.UnreadThreads reports for a followed thread
// with unread replies.
type UnreadThread struct {
	Room RoomID    `json:"room"`
	Root MessageID `json:"root"`
	// LastRead is the user's read marker in the thread, a seq of the room.
	LastRead int64 `json:"last_read"`
	// Unread counts the replies after LastRead by others, not deleted.
	Unread int64 `json:"unread"`
}

// Validate checks the fields of p that do not depend on stored state: the
// kind is one Post takes, the fields the kind needs are set and the others
// are empty, and the text is text (CheckBody, CheckEmoji). It returns an
// *Error with EINVALID, or ETOOLARGE for a body over MaxBodyBytes. Post
// applies it to every post that is not a retry; the web layer may call it
// first to answer sooner. One exception keeps what stores always did: a
// message (not an edit) may have a blank body, which entry points refuse
// with CheckBody themselves.
func (p Post) Validate() error {
	switch {
	case len(p.ClientID) > MaxClientIDLen:
		return Errorf(EINVALID, "client id must be at most %d bytes", MaxClientIDLen)
	case !isText(p.ClientID):
		return Errorf(EINVALID, "client id must be text without NUL characters")
	case !isText(string(p.Target)), !isText(string(p.Thread)):
		// An id that is not text names no message.
		return Errorf(EINVALID, "message ids must be text")
	}
	switch p.Kind {
	case "", KindMessage:
		if p.Target != "" || p.Emoji != "" {
			return Errorf(EINVALID, "a message has no target and no emoji")
		}
		// Stores have always taken a blank message; entry points refuse
		// them with CheckBody.
		return checkBodyText(p.Body)
	case KindEdit:
		if p.Target == "" || p.Thread != "" || p.Emoji != "" {
			return Errorf(EINVALID, "an edit needs a target and nothing but a body")
		}
		return CheckBody(p.Body)
	case KindDelete:
		if p.Target == "" || p.Thread != "" || p.Emoji != "" || p.Body != "" {
			return Errorf(EINVALID, "a delete needs a target and nothing else")
		}
	case KindReact, KindUnreact:
		if p.Target == "" || p.Thread != "" || p.Body != "" {
			return Errorf(EINVALID, "a reaction needs a target and an emoji and nothing else")
		}
		return CheckEmoji(p.Emoji)
	case KindRoom:
		return Errorf(EINVALID, "links to rooms are made by creating a room inside this one")
	default:
		return Errorf(EINVALID, "unknown kind %q", p.Kind)
	}
	return nil
}

// CheckBody checks the body of a message or an edit: not blank, at most
// MaxBodyBytes, UTF-8 without NUL characters (which PostgreSQL cannot
// store, and no store may differ).
func CheckBody(body string) error {
	if strings.TrimSpace(body) == "" {
		return Errorf(EINVALID, "body is empty")
	}
	return checkBodyText(body)
}

// checkBodyText is CheckBody without the check for a blank body.
func checkBodyText(body string) error {
	switch {
	case len(body) > MaxBodyBytes:
		return Errorf(ETOOLARGE, "body is larger than %d bytes", MaxBodyBytes)
	case !isText(body):
		return Errorf(EINVALID, "body must be text without NUL characters")
	}
	return nil
}

// CheckName checks a user or room name and returns it trimmed: 1 to
// MaxNameLen runes without control or invisible formatting characters.
// what names it in the error ("name", "room name").
func CheckName(what, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", Errorf(EINVALID, "%s is empty", what)
	case n > MaxNameLen:
		return "", Errorf(EINVALID, "%s is longer than %d characters", what, MaxNameLen)
	}
	for _, c := range name {
		if unicode.IsControl(c) || c == utf8.RuneError || unicode.Is(unicode.Cf, c) {
			return "", Errorf(EINVALID, "%s contains control or invisible formatting characters", what)
		}
	}
	return name, nil
}

// CheckEmoji checks a reaction's emoji: 1 to MaxEmojiBytes bytes of UTF-8
// with no space or control characters. Anything else is up to the client:
// a Unicode emoji, a sequence of them, or a short name such as ":tada:".
func CheckEmoji(emoji string) error {
	if emoji == "" || len(emoji) > MaxEmojiBytes || !utf8.ValidString(emoji) {
		return Errorf(EINVALID, "emoji must be 1 to %d bytes of text", MaxEmojiBytes)
	}
	for _, r := range emoji {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Errorf(EINVALID, "emoji must not contain spaces or control characters")
		}
	}
	return nil
}

func isText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// MentionNames finds the mentions in a message's body. The syntax:
//
//   - A mention is an @ at the start of the body or after a character that
//     is not a letter, a digit or '_' (so user@example.com mentions
//     nobody), followed by a member's display name. Only the first
//     MaxMentionAts @s count.
//   - @room (in any case), followed by the end of the body, a space or a
//     punctuation character, mentions everybody in the room.
//   - Names compare equal when they are equal after ASCII letters are
//     lowered (NameKey), so @ALICE mentions alice, but Ålice only as Ålice.
//     Names may contain spaces and punctuation ("@Ann Lee", "@J. Doe"); the
//     name must end at the end of the body, before a space, or before a
//     punctuation or symbol character.
//   - When several names fit after one @, the longest that names a member of
//     the room wins: with members "Ann" and "Ann Lee", "@Ann Lee" mentions
//     Ann Lee and "@Ann Leers" mentions Ann. Every member with the winning
//     name is mentioned. Names of users who are not members mention nobody.
//
// MentionNames does the part that needs no store: it returns, per @ that
// counts, the keys (see NameKey) of every name that may follow it, shortest
// first, and whether the body mentions @room. A store resolves each list to
// its longest key that is the key of a member's name.
func MentionNames(body string) (names [][]string, room bool) {
	for i := 0; i < len(body) && len(names) < MaxMentionAts; i++ {
		if body[i] != '@' {
			continue
		}
		if i > 0 {
			prev, _ := utf8.DecodeLastRuneInString(body[:i])
			if prev == '_' || unicode.IsLetter(prev) || unicode.IsDigit(prev) {
				continue
			}
		}
		keys := mentionKeys(body[i+1:])
		if len(keys) == 0 {
			continue
		}
		if keys[0] == roomMention {
			room = true
			continue
		}
		names = append(names, keys)
	}
	return names, room
}

// mentionKeys returns the keys of the names that may start s: its prefixes
// of 1 to MaxNameLen runes that end before a space, a punctuation or symbol
// character, or the end of the line, and do not end with a space.
func mentionKeys(s string) []string {
	var keys []string
	n := 0
	for j, r := range s {
		stop := r == '\n' || unicode.IsControl(r)
		if j == 0 && (stop || unicode.IsSpace(r)) {
			return nil
		}
		if stop || unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) {
			keys = appendKey(keys, s[:j])
		}
		if stop || n == MaxNameLen {
			return keys
		}
		n++
	}
	return appendKey(keys, s)
}

func appendKey(keys []string, name string) []string {
	if name == "" || strings.HasSuffix(name, " ") {
		return keys
	}
	k := NameKey(name)
	if len(keys) > 0 && keys[len(keys)-1] == k {
		return keys
	}
	return append(keys, k)
}

// NameKey is how names compare in mentions: with the ASCII letters A to Z
// lowered and everything else kept, as SQLite's lower() does, and as
// PostgreSQL's lower() does under the "C" collation.
func NameKey(name string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, name)
}

// DirectRoomName is the name a direct room is made with: its members'
// names, in NameKey order, joined by ", ", cut to MaxNameLen runes (the
// last one an ellipsis when cut). It is fixed when the room is made;
// clients show the other members' current names instead (Store.Members).
func DirectRoomName(names []string) string {
	names = slices.Clone(names)
	slices.SortFunc(names, func(a, b string) int {
		if c := strings.Compare(NameKey(a), NameKey(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	s := strings.Join(names, ", ")
	if utf8.RuneCountInString(s) <= MaxNameLen {
		return s
	}
	r := []rune(s)[:MaxNameLen-1]
	return strings.TrimRight(string(r), ", ") + "…"
}
