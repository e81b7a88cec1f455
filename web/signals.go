package web

import (
	"context"

	"github.com/hanashi-chat/hanashi"
)

// signal handles the ephemeral frames of a connection: typing, presence
// and read markers. Nothing here is stored except the read marker.
func (c *conn) signal(ctx context.Context, f *inFrame) {
	c.sendError(hanashi.Errorf(hanashi.EINVALID, "%s frames are not supported yet", f.Type), f.ClientID, hanashi.RoomID(f.Room))
}

// markRead advances user's read marker in room and tells the user's other
// connections, on every node. Both the WebSocket "read" frame and
// PUT /api/v1/rooms/{id}/read come here.
func (s *Server) markRead(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64) (int64, error) {
	return s.cfg.Store.MarkRead(ctx, user, room, seq)
}
