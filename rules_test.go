package hanashi

import "testing"

func TestCheckPoster(t *testing.T) {
	open := RoomAccess{Exists: true, GuestsAllowed: true}
	user := AuthorAccess{Exists: true}
	for _, c := range []struct {
		what string
		r    RoomAccess
		a    AuthorAccess
		want error
	}{
		{"ok", open, user, nil},
		{"no room", RoomAccess{}, user, ErrRoomNotFound},
		{"private, not a member", RoomAccess{Exists: true, Private: true}, user, ErrRoomNotFound},
		{"private, a member", RoomAccess{Exists: true, Private: true, Member: true, GuestsAllowed: true}, user, nil},
		{"no room before no user", RoomAccess{}, AuthorAccess{}, ErrRoomNotFound},
		{"no user", open, AuthorAccess{}, ErrUserNotFound},
		{"disabled", open, AuthorAccess{Exists: true, Disabled: true}, ErrDisabled},
		{"disabled before guest", RoomAccess{Exists: true}, AuthorAccess{Exists: true, Guest: true, Disabled: true}, ErrDisabled},
		{"guest", RoomAccess{Exists: true}, AuthorAccess{Exists: true, Guest: true}, ErrNoGuests},
	} {
		if got := CheckPoster(c.r, c.a); got != c.want {
			t.Errorf("CheckPoster(%s) = %v, want %v", c.what, got, c.want)
		}
	}
	if got := CheckNest(RoomAccess{Exists: true, Direct: true, Private: true, Member: true, GuestsAllowed: true}, user); got != ErrNestInDirect {
		t.Errorf("CheckNest(direct) = %v", got)
	}
}

func TestCheckRef(t *testing.T) {
	const alice, bob UserID = "alice", "bob"
	room := RoomAccess{Exists: true, CreatedBy: alice}
	msg := Target{Exists: true, Room: 1, Author: bob, Kind: KindMessage}
	gone := msg
	gone.Deleted = true
	reply := msg
	reply.Thread = "root"
	link := Target{Exists: true, Room: 1, Author: alice, Kind: KindRoom}
	edit := Target{Exists: true, Room: 1, Author: bob, Kind: KindEdit}
	for _, c := range []struct {
		what    string
		p       Post
		r       RoomAccess
		t       Target
		reacted bool
		want    error
	}{
		{"a message", Post{Room: 1, Author: bob}, room, Target{}, false, nil},
		{"a reply to nothing", Post{Room: 1, Author: bob, Thread: "x"}, room, Target{}, false, ErrMessageNotFound},
		{"a reply elsewhere", Post{Room: 2, Author: bob, Thread: "x"}, room, msg, false, ErrMessageNotFound},
		{"a reply to a reply", Post{Room: 1, Author: bob, Thread: "x"}, room, reply, false, ErrNotRoot},
		{"a reply to a link", Post{Room: 1, Author: bob, Thread: "x"}, room, link, false, ErrNotRoot},
		{"a reply to a deleted message", Post{Room: 1, Author: bob, Thread: "x"}, room, gone, false, ErrDeleted},
		{"an edit of a link", Post{Room: 1, Author: alice, Kind: KindEdit, Target: "x"}, room, link, false, ErrNotEditable},
		{"an edit by another", Post{Room: 1, Author: alice, Kind: KindEdit, Target: "x"}, room, gone, false, ErrNotAuthor},
		{"an edit of a deleted message", Post{Room: 1, Author: bob, Kind: KindEdit, Target: "x"}, room, gone, false, ErrDeleted},
		{"a delete of an edit", Post{Room: 1, Author: bob, Kind: KindDelete, Target: "x"}, room, edit, false, ErrNotDeletable},
		{"a delete by the moderator", Post{Room: 1, Author: alice, Kind: KindDelete, Target: "x"}, room, msg, false, nil},
		{"a delete by a member", Post{Room: 1, Author: "carol", Kind: KindDelete, Target: "x"}, room, gone, false, ErrNotModerator},
		{"a delete in a direct room", Post{Room: 1, Author: alice, Kind: KindDelete, Target: "x"}, RoomAccess{Exists: true, Direct: true, CreatedBy: alice}, msg, false, ErrNotModerator},
		{"a delete twice", Post{Room: 1, Author: alice, Kind: KindDelete, Target: "x"}, room, gone, false, ErrAlreadyDeleted},
		{"a reaction to an edit", Post{Room: 1, Author: bob, Kind: KindReact, Target: "x"}, room, edit, false, ErrNoReactions},
		{"a reaction to a deleted message", Post{Room: 1, Author: bob, Kind: KindUnreact, Target: "x"}, room, gone, true, ErrDeleted},
		{"a reaction twice", Post{Room: 1, Author: bob, Kind: KindReact, Target: "x"}, room, link, true, ErrReacted},
		{"a reaction taken back", Post{Room: 1, Author: bob, Kind: KindUnreact, Target: "x"}, room, link, true, nil},
		{"a reaction not there", Post{Room: 1, Author: bob, Kind: KindUnreact, Target: "x"}, room, msg, false, ErrNotReacted},
	} {
		if got := CheckRef(c.p, c.r, c.t, c.reacted); got != c.want {
			t.Errorf("CheckRef(%s) = %v, want %v", c.what, got, c.want)
		}
	}
}

func TestCheckMembers(t *testing.T) {
	pub := RoomAccess{Exists: true}
	for _, c := range []struct {
		what string
		got  error
		want error
	}{
		{"join a public room", CheckAdd(pub, true), nil},
		{"add to a public room as a non-member", CheckAdd(pub, false), ErrNotMember},
		{"add to a direct room", CheckAdd(RoomAccess{Exists: true, Direct: true, Private: true, Member: true}, false), ErrDirectFixed},
		{"join a private room", CheckAdd(RoomAccess{Exists: true, Private: true}, true), ErrRoomNotFound},
		{"leave a direct room", CheckLeave(RoomAccess{Exists: true, Direct: true, Private: true, Member: true}), ErrDirectFixed},
		{"leave no room", CheckLeave(RoomAccess{}), ErrRoomNotFound},
		{"a guest where guests are not allowed", CheckGuest(true, false), ErrNoGuests},
		{"a member where guests are not allowed", CheckGuest(false, false), nil},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	if set, err := DirectMembers([]UserID{"a", "b", "a"}); err != nil || len(set) != 2 || set[0] != "a" {
		t.Errorf("DirectMembers(a, b, a) = %v, %v", set, err)
	}
	if _, err := DirectMembers([]UserID{"a", "a"}); ErrorCode(err) != EINVALID {
		t.Errorf("DirectMembers(a, a) = %v, want %s", err, EINVALID)
	}
}
