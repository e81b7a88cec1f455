package storetest

// A case for every refusal of the chat rules (rules.go at the root), each
// checked to the exact error the root rule function returns, so that a
// store whose SQL mirrors a rule (the PostgreSQL Post) cannot drift from
// the Go of the other: the two stores run the same cases. Where several
// rules would refuse a post, the case checks that the first one in the
// order of the rules wins.

import (
	"testing"

	"github.com/hanashi-chat/hanashi"
)

// sameError reports whether err is the refusal want: the same code and
// message, wrapped or not.
func sameError(err, want error) bool {
	return hanashi.ErrorCode(err) == hanashi.ErrorCode(want) && hanashi.ErrorMessage(err) == hanashi.ErrorMessage(want)
}

// wantError reports an error unless err is the refusal want (nil: none).
func wantError(t *testing.T, err, want error, format string, args ...any) {
	t.Helper()
	if !sameError(err, want) {
		t.Errorf(format+": error %v, want %v", append(args, err, want)...)
	}
}

// testChatRules posts one post per rule and checks its refusal.
func testChatRules(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	f := newChat(t, s)
	alice, bob, carol := f.alice.ID, f.bob.ID, f.carol.ID
	dave := newUser(t, s, "dave")
	banned := newUser(t, s, "banned")
	if err := s.AddMember(ctx, f.room.ID, banned.ID, banned.ID); err != nil {
		t.Fatal(err)
	}
	guest, err := s.CreateUser(ctx, hanashi.User{Name: "guest", Guest: true})
	if err != nil {
		t.Fatal(err)
	}
	other := newRoom(t, s, alice, "other", false)
	priv := newRoom(t, s, alice, "private", true)
	noGuests, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "no guests", NoGuests: true, Creator: alice})
	if err != nil {
		t.Fatal(err)
	}
	dm, err := s.DirectRoom(ctx, []hanashi.UserID{alice, bob})
	if err != nil {
		t.Fatal(err)
	}
	child, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "child", Creator: alice, Parent: f.room.ID})
	if err != nil {
		t.Fatal(err)
	}
	var link hanashi.Message
	for _, m := range allMessages(t, s, f.room.ID) {
		if m.Seq == child.ParentSeq {
			link = m
		}
	}
	if link.Kind != hanashi.KindRoom {
		t.Fatalf("no link to the child room at seq %d", child.ParentSeq)
	}

	m := f.post(t, hanashi.Post{Author: bob, Body: "bob's"})
	reply := f.post(t, hanashi.Post{Author: carol, Thread: m.ID, Body: "a reply"})
	edit := f.post(t, hanashi.Post{Author: bob, Kind: hanashi.KindEdit, Target: m.ID, Body: "bob's, edited"})
	gone := f.post(t, hanashi.Post{Author: bob, Body: "to be deleted"})
	f.post(t, hanashi.Post{Author: bob, Kind: hanashi.KindDelete, Target: gone.ID})
	goneReply := f.post(t, hanashi.Post{Author: carol, Thread: m.ID, Body: "a reply to be deleted"})
	f.post(t, hanashi.Post{Author: carol, Kind: hanashi.KindDelete, Target: goneReply.ID})
	f.post(t, hanashi.Post{Author: carol, Kind: hanashi.KindReact, Target: m.ID, Emoji: "👍"})
	elsewhere := f.post(t, hanashi.Post{Room: other.ID, Author: alice, Body: "elsewhere"})
	dmBob := f.post(t, hanashi.Post{Room: dm.ID, Author: bob, Body: "in the direct room"})
	if err := s.SetDisabled(ctx, banned.ID, true); err != nil {
		t.Fatal(err)
	}
	unknown := hanashi.MessageID(hanashi.NewID())

	for _, c := range []struct {
		rule string
		p    hanashi.Post
		want error
	}{
		// CheckPoster.
		{"an unknown room", hanashi.Post{Room: f.room.ID + 1000, Author: bob, Body: "x"}, hanashi.ErrRoomNotFound},
		{"a private room by a non-member", hanashi.Post{Room: priv.ID, Author: dave.ID, Body: "x"}, hanashi.ErrRoomNotFound},
		{"a direct room by a non-member", hanashi.Post{Room: dm.ID, Author: carol, Body: "x"}, hanashi.ErrRoomNotFound},
		{"an unknown user", hanashi.Post{Author: hanashi.UserID(hanashi.NewID()), Body: "x"}, hanashi.ErrUserNotFound},
		{"a disabled user", hanashi.Post{Author: banned.ID, Body: "x"}, hanashi.ErrDisabled},
		{"a guest where guests are not allowed", hanashi.Post{Room: noGuests.ID, Author: guest.ID, Body: "x"}, hanashi.ErrNoGuests},
		{"CheckPoster before Validate", hanashi.Post{Author: banned.ID, Kind: "shout"}, hanashi.ErrDisabled},
		{"CheckPoster before CheckRef", hanashi.Post{Author: banned.ID, Kind: hanashi.KindEdit, Target: m.ID, Body: "x"}, hanashi.ErrDisabled},
		{"Validate before CheckRef", hanashi.Post{Author: bob, Kind: hanashi.KindEdit, Target: unknown, Body: " "}, hanashi.CheckBody(" ")},

		// CheckRef: what a post may point at.
		{"a reply to an unknown message", hanashi.Post{Author: bob, Thread: unknown, Body: "x"}, hanashi.ErrMessageNotFound},
		{"a reply across rooms", hanashi.Post{Author: bob, Thread: elsewhere.ID, Body: "x"}, hanashi.ErrMessageNotFound},
		{"an edit across rooms", hanashi.Post{Author: alice, Kind: hanashi.KindEdit, Target: elsewhere.ID, Body: "x"}, hanashi.ErrMessageNotFound},
		{"a delete of an unknown message", hanashi.Post{Author: bob, Kind: hanashi.KindDelete, Target: unknown}, hanashi.ErrMessageNotFound},
		{"a reaction across rooms", hanashi.Post{Author: alice, Kind: hanashi.KindReact, Target: elsewhere.ID, Emoji: "x"}, hanashi.ErrMessageNotFound},
		{"a reply to a reply", hanashi.Post{Author: bob, Thread: reply.ID, Body: "x"}, hanashi.ErrNotRoot},
		{"a reply to a link", hanashi.Post{Author: bob, Thread: link.ID, Body: "x"}, hanashi.ErrNotRoot},
		{"a reply to an edit", hanashi.Post{Author: bob, Thread: edit.ID, Body: "x"}, hanashi.ErrNotRoot},
		{"a reply to a deleted reply: not a root first", hanashi.Post{Author: bob, Thread: goneReply.ID, Body: "x"}, hanashi.ErrNotRoot},
		{"a reply to a deleted message", hanashi.Post{Author: bob, Thread: gone.ID, Body: "x"}, hanashi.ErrDeleted},

		// CheckRef: who may edit what.
		{"an edit of a link", hanashi.Post{Author: alice, Kind: hanashi.KindEdit, Target: link.ID, Body: "x"}, hanashi.ErrNotEditable},
		{"an edit of an edit", hanashi.Post{Author: bob, Kind: hanashi.KindEdit, Target: edit.ID, Body: "x"}, hanashi.ErrNotEditable},
		{"an edit by the moderator", hanashi.Post{Author: alice, Kind: hanashi.KindEdit, Target: m.ID, Body: "x"}, hanashi.ErrNotAuthor},
		{"an edit of another's deleted message: author first", hanashi.Post{Author: carol, Kind: hanashi.KindEdit, Target: gone.ID, Body: "x"}, hanashi.ErrNotAuthor},
		{"an edit of a deleted message", hanashi.Post{Author: bob, Kind: hanashi.KindEdit, Target: gone.ID, Body: "x"}, hanashi.ErrDeleted},

		// CheckRef: who may delete what.
		{"a delete of an edit", hanashi.Post{Author: bob, Kind: hanashi.KindDelete, Target: edit.ID}, hanashi.ErrNotDeletable},
		{"a delete by another member", hanashi.Post{Author: carol, Kind: hanashi.KindDelete, Target: m.ID}, hanashi.ErrNotModerator},
		{"a delete of a link by another member", hanashi.Post{Author: bob, Kind: hanashi.KindDelete, Target: link.ID}, hanashi.ErrNotModerator},
		{"a delete in a direct room by its creator", hanashi.Post{Room: dm.ID, Author: alice, Kind: hanashi.KindDelete, Target: dmBob.ID}, hanashi.ErrNotModerator},
		{"a delete of another's deleted message: moderator first", hanashi.Post{Author: carol, Kind: hanashi.KindDelete, Target: gone.ID}, hanashi.ErrNotModerator},
		{"a delete of a deleted message", hanashi.Post{Author: bob, Kind: hanashi.KindDelete, Target: gone.ID}, hanashi.ErrAlreadyDeleted},
		{"a delete of a deleted message by the moderator", hanashi.Post{Author: alice, Kind: hanashi.KindDelete, Target: gone.ID}, hanashi.ErrAlreadyDeleted},

		// CheckRef: reactions.
		{"a reaction to an edit", hanashi.Post{Author: bob, Kind: hanashi.KindReact, Target: edit.ID, Emoji: "x"}, hanashi.ErrNoReactions},
		{"a reaction taken back from an edit", hanashi.Post{Author: bob, Kind: hanashi.KindUnreact, Target: edit.ID, Emoji: "x"}, hanashi.ErrNoReactions},
		{"a reaction to a deleted message", hanashi.Post{Author: bob, Kind: hanashi.KindReact, Target: gone.ID, Emoji: "x"}, hanashi.ErrDeleted},
		{"a reaction taken back from a deleted message", hanashi.Post{Author: bob, Kind: hanashi.KindUnreact, Target: gone.ID, Emoji: "x"}, hanashi.ErrDeleted},
		{"a reaction twice", hanashi.Post{Author: carol, Kind: hanashi.KindReact, Target: m.ID, Emoji: "👍"}, hanashi.ErrReacted},
		{"a reaction taken back that is not there", hanashi.Post{Author: bob, Kind: hanashi.KindUnreact, Target: m.ID, Emoji: "👍"}, hanashi.ErrNotReacted},

		// What the rules allow, checked last since it changes the room.
		{"a reaction to a link", hanashi.Post{Author: bob, Kind: hanashi.KindReact, Target: link.ID, Emoji: "x"}, nil},
		{"a reaction to a reply", hanashi.Post{Author: bob, Kind: hanashi.KindReact, Target: reply.ID, Emoji: "x"}, nil},
		{"a delete of a reply by the moderator", hanashi.Post{Author: alice, Kind: hanashi.KindDelete, Target: reply.ID}, nil},
		{"a delete of a link by its author", hanashi.Post{Author: alice, Kind: hanashi.KindDelete, Target: link.ID}, nil},
		{"a delete by the moderator", hanashi.Post{Author: alice, Kind: hanashi.KindDelete, Target: m.ID}, nil},
	} {
		p := c.p
		if p.Room == 0 {
			p.Room = f.room.ID
		}
		p.ClientID = f.clientID()
		res := post(t, s, p)
		wantError(t, res.Err, c.want, "%s", c.rule)
		if created := c.want == nil; res.Created != created {
			t.Errorf("%s: Created = %v, want %v", c.rule, res.Created, created)
		}
	}

	// The rules of rooms and their members.
	for _, c := range []struct {
		rule string
		err  error
		want error
	}{
		{"CheckAdd: an unknown room", s.AddMember(ctx, f.room.ID+1000, dave.ID, dave.ID), hanashi.ErrRoomNotFound},
		{"CheckAdd: a private room by a non-member", s.AddMember(ctx, priv.ID, dave.ID, dave.ID), hanashi.ErrRoomNotFound},
		{"CheckAdd: a direct room", s.AddMember(ctx, dm.ID, carol, alice), hanashi.ErrDirectFixed},
		{"CheckAdd: another by a non-member", s.AddMember(ctx, other.ID, carol, dave.ID), hanashi.ErrNotMember},
		{"CheckAdd: an unknown user", s.AddMember(ctx, other.ID, hanashi.UserID(hanashi.NewID()), alice), hanashi.ErrUserNotFound},
		{"CheckGuest: a guest where guests are not allowed", s.AddMember(ctx, noGuests.ID, guest.ID, alice), hanashi.ErrNoGuests},
		{"CheckLeave: an unknown room", s.RemoveMember(ctx, f.room.ID+1000, bob), hanashi.ErrRoomNotFound},
		{"CheckLeave: a private room by a non-member", s.RemoveMember(ctx, priv.ID, dave.ID), hanashi.ErrRoomNotFound},
		{"CheckLeave: a direct room", s.RemoveMember(ctx, dm.ID, bob), hanashi.ErrDirectFixed},
		{"CheckLeave: a room one is not in", s.RemoveMember(ctx, other.ID, dave.ID), nil},
		{"CheckNest: inside a direct room", createErr(t, s, hanashi.NewRoom{Name: "x", Creator: alice, Parent: dm.ID}), hanashi.ErrNestInDirect},
		{"CheckNest: inside a private room by a non-member", createErr(t, s, hanashi.NewRoom{Name: "x", Creator: dave.ID, Parent: priv.ID}), hanashi.ErrRoomNotFound},
		{"CheckNest: by a disabled user", createErr(t, s, hanashi.NewRoom{Name: "x", Creator: banned.ID, Parent: f.room.ID}), hanashi.ErrDisabled},
		{"CheckGuest: a room without guests by a guest", createErr(t, s, hanashi.NewRoom{Name: "x", Creator: guest.ID, NoGuests: true}), hanashi.ErrNoGuests},
		{"CheckGuest: a nested room without guests by a guest", createErr(t, s, hanashi.NewRoom{Name: "x", Creator: guest.ID, NoGuests: true, Parent: f.room.ID}), hanashi.ErrNoGuests},
	} {
		wantError(t, c.err, c.want, "%s", c.rule)
	}
}

// createErr is the error of CreateRoom(nr).
func createErr(t *testing.T, s hanashi.Store, nr hanashi.NewRoom) error {
	_, err := s.CreateRoom(t.Context(), nr)
	return err
}
