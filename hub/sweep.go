package hub

import (
	"context"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// sweepChunk bounds the rooms one sweep query asks about.
const sweepChunk = 500

// sweep is the hub's anti-entropy: every SweepInterval it reads the
// store's last seq of every room this node serves, and a room that was
// behind the store at one sweep and still is at the next reads what it
// misses from the store (fill), and hands it to its subscribers in order,
// once. It catches what no broker carried: a message whose node died, or
// lost its broker, between the commit and the publish. Nothing else would
// deliver it until a later message of the room showed the gap.
//
// A room is filled only when it is behind twice, because it is normally
// behind for a moment: a message is committed before its publish arrives.
// A message so lost reaches every subscriber within two intervals and a
// query (about one second by default); the cost is one query per
// sweepChunk rooms per interval.
func (h *Hub) sweep() {
	defer close(h.sweepDone)
	t := time.NewTicker(h.cfg.SweepInterval)
	defer t.Stop()
	var (
		rooms []*room
		ids   []hanashi.RoomID
	)
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		for _, r := range h.rooms {
			rooms = append(rooms, r)
		}
		h.mu.Unlock()
		for len(rooms) > 0 {
			chunk := rooms[:min(sweepChunk, len(rooms))]
			rooms = rooms[len(chunk):]
			ids = ids[:0]
			for _, r := range chunk {
				ids = append(ids, r.id)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*h.cfg.SweepInterval)
			seqs, err := h.cfg.Store.LastSeqs(ctx, ids)
			cancel()
			if err != nil {
				h.readFailures.Fail(1, err, "op", "sweep")
				break
			}
			h.readFailures.OK()
			for i, r := range chunk {
				r.checkStored(seqs[i])
			}
		}
		clear(rooms[:cap(rooms)]) // pin no room that goes away
		rooms = rooms[:0]
	}
}

// checkStored takes the store's last seq of the room, read by a sweep: a
// room that the previous sweep found behind the store and that has not
// caught up since reads the store now.
func (r *room) checkStored(stored int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || !r.live {
		return
	}
	if r.behind > r.last {
		r.scheduleFill(0)
	}
	r.behind = stored
}
