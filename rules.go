package hanashi

// The chat rules as pure functions over what a store read inside the
// transaction that acts (see chat.go for the rules in prose). Both stores
// call them, so a rule is written once: a store reads the facts, asks the
// rule, and writes. Where a store must decide inside SQL for speed (the
// PostgreSQL Post), its SQL mirrors these functions case for case, in the
// same order, and the storetest suite has a case for every refusal, so
// that the two cannot drift apart unnoticed.

import "slices"

// RoomAccess is what the rules know of a room and of one user's place in it.
// The zero value is a room that does not exist.
type RoomAccess struct {
	Exists        bool
	Private       bool
	GuestsAllowed bool
	Direct        bool // a direct room (RoomDirect): no moderator, fixed members
	CreatedBy     UserID
	// Member says whether the user is a member; the rules look at it only
	// for a private room, so a store may leave it unread for a public one.
	Member bool
}

// Access is what the rules know of r as the viewer it was read for sees it;
// the zero Room (no id) is a room that does not exist.
func (r Room) Access() RoomAccess {
	return RoomAccess{
		Exists:        r.ID != 0,
		Private:       r.Private,
		GuestsAllowed: r.GuestsAllowed,
		Direct:        r.Kind == RoomDirect,
		CreatedBy:     r.CreatedBy,
		Member:        r.Member,
	}
}

// AuthorAccess is what the rules know of the user who acts. The zero value
// is a user that does not exist.
type AuthorAccess struct {
	Exists   bool
	Guest    bool
	Disabled bool
}

// Target is a stored message as a post that refers to it finds it. The
// zero value is a message that does not exist.
type Target struct {
	Exists  bool
	Room    RoomID
	Author  UserID
	Kind    Kind
	Thread  MessageID // the root, for a reply
	Deleted bool
}

// The refusals of the chat rules, the same in every store.
var (
	ErrRoomNotFound    = Errorf(ENOTFOUND, "room not found")
	ErrUserNotFound    = Errorf(ENOTFOUND, "user not found")
	ErrDisabled        = Errorf(EFORBIDDEN, "this account is disabled")
	ErrNoGuests        = Errorf(EFORBIDDEN, "guests are not allowed in this room")
	ErrMessageNotFound = Errorf(ENOTFOUND, "message not found")
	ErrNotRoot         = Errorf(EINVALID, "replies go to a top-level message")
	ErrDeleted         = Errorf(ECONFLICT, "the message was deleted")
	ErrNotEditable     = Errorf(EINVALID, "only messages can be edited")
	ErrNotAuthor       = Errorf(EFORBIDDEN, "only its author may edit a message")
	ErrNotDeletable    = Errorf(EINVALID, "only messages can be deleted")
	ErrNotModerator    = Errorf(EFORBIDDEN, "only its author or the room's moderator may delete a message")
	ErrAlreadyDeleted  = Errorf(ECONFLICT, "the message is already deleted")
	ErrNoReactions     = Errorf(EINVALID, "only messages take reactions")
	ErrReacted         = Errorf(ECONFLICT, "already reacted with this emoji")
	ErrNotReacted      = Errorf(ECONFLICT, "no such reaction to take back")
	ErrDirectFixed     = Errorf(EFORBIDDEN, "the members of a direct room cannot change")
	ErrNestInDirect    = Errorf(EINVALID, "rooms cannot be made inside a direct room")
	ErrNotMember       = Errorf(EFORBIDDEN, "only members may add others to a room")
	ErrTopicNotMember  = Errorf(EFORBIDDEN, "only members may change a room's topic")
	ErrUnreadNotMember = Errorf(EFORBIDDEN, "only members may mark messages unread")
)

// CheckVisible refuses a room the user may not see: one that does not
// exist, or a private one they are not a member of. Both look the same
// (ENOTFOUND), so that a private room's existence does not leak.
func CheckVisible(r RoomAccess) error {
	if !r.Exists || r.Private && !r.Member {
		return ErrRoomNotFound
	}
	return nil
}

// CheckPoster says whether author a may post into room r at all, whatever
// the post: the room is visible to them, they exist, are not disabled, and
// are not a guest in a room that forbids guests. It is the first check of
// Post, before Post.Validate and CheckRef.
func CheckPoster(r RoomAccess, a AuthorAccess) error {
	switch {
	case CheckVisible(r) != nil:
		return ErrRoomNotFound
	case !a.Exists:
		return ErrUserNotFound
	case a.Disabled:
		return ErrDisabled
	case a.Guest && !r.GuestsAllowed:
		return ErrNoGuests
	}
	return nil
}

// CheckNest says whether a may create a room inside parent: as for posting
// into it (CheckPoster, whose refusals come first), and the parent must not
// be a direct room.
func CheckNest(parent RoomAccess, a AuthorAccess) error {
	if err := CheckPoster(parent, a); err != nil {
		return err
	}
	if parent.Direct {
		return ErrNestInDirect
	}
	return nil
}

// CheckGuest says whether a user who is a guest (or not) may be in a room
// that allows guests (or not): asked of the user added to a room, and of
// the creator of a new room, who may not lock themselves out.
func CheckGuest(guest, guestsAllowed bool) error {
	if guest && !guestsAllowed {
		return ErrNoGuests
	}
	return nil
}

// CheckAdd says whether by may add a user to room r (r as by sees it,
// self when by adds themselves): anyone may join a visible room, adding
// another takes a member, and the members of a direct room never change.
// Whether the user added may be in the room is CheckGuest's rule, asked
// of them afterwards.
func CheckAdd(r RoomAccess, self bool) error {
	switch {
	case CheckVisible(r) != nil:
		return ErrRoomNotFound
	case r.Direct:
		return ErrDirectFixed
	case !self && !r.Member:
		return ErrNotMember
	}
	return nil
}

// CheckLeave says whether a user may leave room r (as they see it).
func CheckLeave(r RoomAccess) error {
	switch {
	case CheckVisible(r) != nil:
		return ErrRoomNotFound
	case r.Direct:
		return ErrDirectFixed
	}
	return nil
}

// CheckTopicChange says whether author a may change the topic of room r (as
// they see it, Member read for public rooms too): as for posting into it
// (CheckPoster, whose refusals come first), and only a member may.
func CheckTopicChange(r RoomAccess, a AuthorAccess) error {
	if err := CheckPoster(r, a); err != nil {
		return err
	}
	if !r.Member {
		return ErrTopicNotMember
	}
	return nil
}

// Ref is the message p refers to: its Target, or for a reply its Thread;
// "" for a message that is not a reply.
func (p Post) Ref() MessageID {
	if p.Kind == "" || p.Kind == KindMessage {
		return p.Thread
	}
	return p.Target
}

// CheckRef applies the rules of p's kind (see chat.go) to t, the message p
// refers to (p.Ref) as it is now, in room r where p goes. reacted says
// whether p.Author has reacted to t with p.Emoji; it matters to reactions
// only. A post that refers to nothing passes. It comes after CheckPoster
// and Post.Validate.
func CheckRef(p Post, r RoomAccess, t Target, reacted bool) error {
	if p.Ref() == "" {
		return nil
	}
	if !t.Exists || t.Room != p.Room {
		return ErrMessageNotFound
	}
	notMessage := t.Kind != KindMessage && t.Kind != KindRoom
	switch p.Kind {
	case "", KindMessage:
		switch {
		case t.Kind != KindMessage || t.Thread != "":
			return ErrNotRoot
		case t.Deleted:
			return ErrDeleted
		}
	case KindEdit:
		switch {
		case t.Kind != KindMessage:
			return ErrNotEditable
		case t.Author != p.Author:
			return ErrNotAuthor
		case t.Deleted:
			return ErrDeleted
		}
	case KindDelete:
		switch {
		case notMessage:
			return ErrNotDeletable
		case t.Author != p.Author && !IsModerator(r, p.Author):
			return ErrNotModerator
		case t.Deleted:
			return ErrAlreadyDeleted
		}
	case KindReact, KindUnreact:
		switch {
		case notMessage:
			return ErrNoReactions
		case t.Deleted:
			return ErrDeleted
		case p.Kind == KindReact && reacted:
			return ErrReacted
		case p.Kind == KindUnreact && !reacted:
			return ErrNotReacted
		}
	}
	return nil
}

// IsModerator says whether user moderates room r: its creator, unless it
// is a direct room, which has no moderator.
func IsModerator(r RoomAccess, user UserID) bool {
	return !r.Direct && r.CreatedBy == user
}

// DirectMembers checks the members of a direct room (MinDirectMembers to
// MaxDirectMembers, the caller included) and returns them without
// duplicates, in their first order, members[0] first.
func DirectMembers(members []UserID) ([]UserID, error) {
	var set []UserID
	for _, u := range members {
		if !slices.Contains(set, u) {
			set = append(set, u)
		}
	}
	if len(set) < MinDirectMembers || len(set) > MaxDirectMembers {
		return nil, Errorf(EINVALID, "a direct room has %d to %d members", MinDirectMembers, MaxDirectMembers)
	}
	return set, nil
}
