package hub

// A client's subscriptions to rooms: subscribing from a cursor without a
// gap or a duplicate (backlog from the store, then the live stream), and
// ending a subscription.

import (
	"context"

	"github.com/hanashi-chat/hanashi"
)

// remove detaches the subscription from its room and releases the room.
// Callers have already removed it from the client's map, so it runs once.
func (s *sub) remove() {
	r := s.r
	r.mu.Lock()
	if _, ok := r.subs[s]; ok {
		delete(r.subs, s)
		s.c.h.stats.subscriptions.Add(-1)
	}
	if s.buffering {
		s.buffering = false
		r.buffering = deleteSub(r.buffering, s)
	}
	r.disarm(s)
	r.letGo() // s may have been the last one behind
	s.buf = nil
	r.mu.Unlock()
	s.c.h.leaveSignals(s)
	s.c.h.release(s.r)
}

// Unsubscribe stops the client's subscription to room, if any, and reports
// whether there was one.
func (c *Client) Unsubscribe(room hanashi.RoomID) bool {
	c.mu.Lock()
	s := c.subLocked(room)
	c.deleteSubLocked(room)
	c.mu.Unlock()
	if s == nil {
		return false
	}
	s.remove()
	return true
}

// Subscribe starts the client's subscription to room. With after nil the
// client gets only new messages; otherwise first every stored message with
// seq > *after, then the live stream, with no gap and no duplicate, then a
// subscribed frame. The caller has checked that the client may read room.
//
// It works in the order that cannot lose a message: attach to the live
// stream first (buffering it), note the last seq L the stream had handed
// out, send the backlog up to L from the store, then the buffered live
// messages, which all come after L. Subscribing to a room already
// subscribed restarts it from the new cursor.
func (c *Client) Subscribe(ctx context.Context, id hanashi.RoomID, after *int64) error {
	c.Unsubscribe(id)
	r, err := c.h.acquire(ctx, id)
	if err != nil {
		return err
	}
	// Attach to the room before registering with the client, so a
	// concurrent Close always finds the subscription attached.
	s := &sub{c: c, r: r, buffering: true}
	r.mu.Lock()
	r.subs[s] = struct{}{}
	r.buffering = append(r.buffering, s)
	c.h.stats.subscriptions.Add(1)
	last := r.last
	r.mu.Unlock()

	c.mu.Lock()
	switch {
	case c.err != nil:
		err = c.err
	case c.numSubsLocked() >= MaxRooms:
		err = hanashi.Errorf(hanashi.EINVALID, "subscribed to too many rooms (at most %d)", MaxRooms)
	default:
		c.addSubLocked(s)
	}
	c.mu.Unlock()
	if err != nil {
		s.remove()
		return err
	}
	c.h.joinSignals(ctx, s)

	cursor := last
	if after != nil {
		cursor = max(*after, 0)
	}
	replayed, err := c.sendBacklog(ctx, id, &cursor, last)
	if err != nil {
		c.dropSub(id, s)
		return err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range s.buf {
		if m.Seq > cursor {
			if c.Push(c.h.cfg.Encoder.Message(m)) {
				replayed++
			}
			cursor = m.Seq
		}
	}
	c.h.stats.resumed(after != nil, replayed)
	s.buf = nil
	s.buffering = false
	r.buffering = deleteSub(r.buffering, s)
	// The backlog went past what the room has handed out: the room reads
	// the rest from the store for its other subscribers (this one skips
	// what it has).
	if cursor > r.last {
		r.scheduleFill(0)
	}
	// Live from here: the log's next frame is the first after r.last.
	c.mu.Lock()
	if !s.gone && c.err == nil {
		s.at, s.pos, s.skip = r.logEnd(), r.logBytes, cursor
		r.arm(s)
	}
	c.mu.Unlock()
	c.Push(c.h.cfg.Encoder.Subscribed(id, max(r.last, cursor)))
	r.sendPresence(c)
	return nil
}

// sendBacklog queues the stored messages after *cursor, advancing it, at
// the pace the client reads them. It reads at least up to last, the seq
// the live stream had handed out when the subscription attached, and on
// to the end of the page that passes it: the store may be ahead of what
// this node was told (a message whose node died between its commit and
// its publish; see sweep), and what the client reads is the store's
// truth. With nothing to read up to last it reads nothing. It returns how
// many messages it queued.
func (c *Client) sendBacklog(ctx context.Context, id hanashi.RoomID, cursor *int64, last int64) (queued int, err error) {
	for *cursor < last {
		msgs, err := c.h.cfg.Store.Messages(ctx, id, hanashi.Page{After: *cursor, Limit: fillPage})
		if err != nil {
			return queued, err
		}
		for _, m := range msgs {
			if err := c.pushWait(ctx, c.h.cfg.Encoder.Message(m)); err != nil {
				return queued, err
			}
			queued++
			*cursor = m.Seq
		}
		if len(msgs) < fillPage {
			return queued, nil // the store's end
		}
	}
	return queued, nil
}

// dropSub removes s if it is still the client's subscription to id.
func (c *Client) dropSub(id hanashi.RoomID, s *sub) {
	c.mu.Lock()
	mine := c.subLocked(id) == s
	if mine {
		c.deleteSubLocked(id)
	}
	c.mu.Unlock()
	if mine {
		s.remove()
	}
}
