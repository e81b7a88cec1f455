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
