package web

// The user's stream (docs/protocol.md, "The user's stream"): after a change
// to rooms, memberships or profiles commits, the handlers here tell the
// connections that must know, on every node, through the hub. Like every
// signal these frames are best effort; clients read GET /api/v1/rooms and
// /unread again whenever they reconnect.

import (
	"context"
	"slices"

	"github.com/hanashi-chat/hanashi"
)

func authorOf(u hanashi.User) hanashi.Author {
	return hanashi.Author{ID: u.ID, Name: u.Name, AvatarURL: u.AvatarURL}
}

// streamRoom sends room, as viewer sees it, to viewer's connections.
func (s *Server) streamRoom(ctx context.Context, id hanashi.RoomID, viewer hanashi.UserID) {
	if s.cfg.Hub == nil {
		return
	}
	room, err := s.cfg.Store.Room(ctx, id, viewer)
	if err != nil {
		s.log.WarnContext(ctx, "reading a room for the user's stream failed", "room", id, "viewer", viewer, "err", err)
		return
	}
	s.cfg.Hub.ToUsers([]hanashi.UserID{viewer}, frameText(roomStreamFrame{Type: "room", Room: room}))
}

// roomCreated tells of a new room, as its creator saw it: a public one to
// everybody, a private one to its creator, its only member.
func (s *Server) roomCreated(room hanashi.Room) {
	if s.cfg.Hub == nil {
		return
	}
	creator := room.CreatedBy
	room.Member = true
	s.cfg.Hub.ToUsers([]hanashi.UserID{creator}, frameText(roomStreamFrame{Type: "room", Room: room}))
	if !room.Private {
		room.Member = false
		s.cfg.Hub.ToEveryone(frameText(roomStreamFrame{Type: "room", Room: room}), creator)
	}
}

// directRoomMade tells each member of a direct room of it. The store does
// not say whether the room is new: one without messages is told again,
// which costs little, and a client that has it already keeps it.
func (s *Server) directRoomMade(room hanashi.Room, members []hanashi.UserID) {
	if s.cfg.Hub == nil || room.LastSeq != 0 {
		return
	}
	members = slices.Clone(members)
	slices.Sort(members)
	room.Member = true
	s.cfg.Hub.ToUsers(slices.Compact(members), frameText(roomStreamFrame{Type: "room", Room: room}))
}

// memberChanged tells the subscribers of room that user joined it (member)
// or left it.
func (s *Server) memberChanged(room hanashi.RoomID, user hanashi.Author, member bool) {
	if s.cfg.Hub != nil {
		s.cfg.Hub.ToRoom(room, frameText(memberFrame{Type: "member", Room: room, User: user, Member: member}))
	}
}

// joined tells the new member and the room's subscribers that user is now
// a member of room.
func (s *Server) joined(ctx context.Context, room hanashi.RoomID, user hanashi.UserID) {
	if s.cfg.Hub == nil {
		return
	}
	s.streamRoom(ctx, room, user)
	u, err := s.cfg.Store.User(ctx, user)
	if err != nil {
		s.log.WarnContext(ctx, "reading a new member failed", "room", room, "member", user, "err", err)
		return
	}
	s.memberChanged(room, authorOf(u), true)
}

// left tells the user's connections that they left room, which is still
// visible to them when public and gone when private, and the room's
// subscribers that user is no longer a member.
func (s *Server) left(ctx context.Context, room hanashi.Room, user hanashi.User) {
	if s.cfg.Hub == nil {
		return
	}
	if room.Private {
		// A private room is readable by members only: the live streams
		// the user's sockets had open to it end, on every node.
		s.cfg.Hub.Revoke(user.ID, room.ID, frameText(roomFrame{Type: "unsubscribed", Room: room.ID}),
			frameText(roomFrame{Type: "room_gone", Room: room.ID}))
	} else {
		s.streamRoom(ctx, room.ID, user.ID)
	}
	s.memberChanged(room.ID, authorOf(user), false)
}

// roomChanged tells everybody who sees room (read by a member) of its new
// state: its members with member true, and for a public room everybody
// else connected with member false.
func (s *Server) roomChanged(ctx context.Context, room hanashi.Room) {
	if s.cfg.Hub == nil {
		return
	}
	members, err := s.cfg.Store.Members(ctx, room.ID)
	if err != nil {
		s.log.WarnContext(ctx, "reading the members of a changed room failed", "room", room.ID, "err", err)
		return
	}
	ids := make([]hanashi.UserID, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	room.Member = true
	s.cfg.Hub.ToUsers(ids, frameText(roomStreamFrame{Type: "room", Room: room}))
	if !room.Private {
		room.Member = false
		s.cfg.Hub.ToEveryone(frameText(roomStreamFrame{Type: "room", Room: room}), ids...)
	}
}

// profileChanged tells everybody connected of u's new name or avatar.
func (s *Server) profileChanged(u hanashi.User) {
	if s.cfg.Hub != nil {
		s.cfg.Hub.ToEveryone(frameText(profileFrame{Type: "profile", User: authorOf(u)}))
	}
}
