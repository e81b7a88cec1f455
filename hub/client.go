package hub

import (
	"context"
	"errors"

	"sync"

	"github.com/hanashi-chat/hanashi"
)

// MaxRooms is how many rooms one client can be subscribed to at once.
const MaxRooms = 1000

// Why a client ends. The web package maps them to WebSocket close codes.
var (
	// ErrTooSlow: the client's queue overflowed; it should resume from its
	// cursor.
	ErrTooSlow = errors.New("client too slow")
	// ErrClosed: Close was called.
	ErrClosed = errors.New("client closed")
)

// maxBuffered bounds the live messages a subscription holds while its
// backlog is being sent.
const maxBuffered = 10000

// Client is one connection's view of the hub: its subscriptions and its
// bounded queue of frames waiting to be written. Subscribe, Unsubscribe and
// Next are meant to be called from the connection's own goroutines; every
// method is safe for concurrent use.
type Client struct {
	h *Hub

	mu     sync.Mutex
	frames [][]byte
	spare  [][]byte // the previous batch, reused once the writer is done
	size   int
	err    error
	subs   map[hanashi.RoomID]*sub

	wake  chan struct{} // something was queued
	space chan struct{} // the writer took frames
	done  chan struct{} // closed when err is set
}

// NewClient returns a client with an empty queue.
func (h *Hub) NewClient() *Client {
	return &Client{
		h:     h,
		subs:  make(map[hanashi.RoomID]*sub),
		wake:  make(chan struct{}, 1),
		space: make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
}

// sub is one client's subscription to one room. Its fields are guarded by
// the room's mutex.
type sub struct {
	c         *Client
	r         *room
	buffering bool // the backlog is still being sent: hold live messages
	buf       []hanashi.Message
	skip      int64 // drop live messages with seq <= skip
}

// offer hands a live message to the subscription. r.mu is held.
func (s *sub) offer(m hanashi.Message, frame []byte) {
	switch {
	case m.Seq <= s.skip:
	case s.buffering:
		if len(s.buf) >= maxBuffered {
			s.c.fail(ErrTooSlow)
			return
		}
		s.buf = append(s.buf, m)
	default:
		s.c.Push(frame)
	}
}

// Push queues a frame without waiting. When the queue is full the client
// fails with ErrTooSlow and Push reports false; the caller never waits for
// a slow client.
func (c *Client) Push(frame []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false
	}
	if c.size > 0 && c.size+len(frame) > c.h.cfg.QueueBytes {
		c.failLocked(ErrTooSlow)
		return false
	}
	c.enqueueLocked(frame)
	return true
}

// pushWait queues a frame, waiting while the queue is more than half full:
// the backlog is paced by the client's own speed.
func (c *Client) pushWait(ctx context.Context, frame []byte) error {
	for {
		c.mu.Lock()
		if c.err != nil {
			c.mu.Unlock()
			return c.err
		}
		if c.size == 0 || c.size+len(frame) <= c.h.cfg.QueueBytes/2 {
			c.enqueueLocked(frame)
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		select {
		case <-c.space:
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *Client) enqueueLocked(frame []byte) {
	c.frames = append(c.frames, frame)
	c.size += len(frame)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Next waits for queued frames and takes all of them, so the writer can put
// them on the wire with one write. The returned slice is valid until the
// next call. It returns the client's error once the client has failed or
// been closed; frames still queued then are dropped.
func (c *Client) Next(ctx context.Context) ([][]byte, error) {
	for {
		c.mu.Lock()
		if c.err != nil {
			c.mu.Unlock()
			return nil, c.err
		}
		if len(c.frames) > 0 {
			batch := c.frames
			clear(c.spare)
			c.frames, c.spare = c.spare[:0], batch
			c.size = 0
			c.mu.Unlock()
			select {
			case c.space <- struct{}{}:
			default:
			}
			return batch, nil
		}
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Done is closed when the client has failed or been closed; Err says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client ended, or nil while it is running.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// fail ends the client without touching rooms, so it is safe to call with a
// room's lock held.
func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLocked(err)
}

func (c *Client) failLocked(err error) {
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

// Close ends the client (with err, or ErrClosed when nil, unless it already
// ended) and drops all its subscriptions.
func (c *Client) Close(err error) {
	if err == nil {
		err = ErrClosed
	}
	c.mu.Lock()
	c.failLocked(err)
	subs := c.subs
	c.subs = make(map[hanashi.RoomID]*sub)
	c.frames = nil
	c.spare = nil
	c.mu.Unlock()
	for _, s := range subs {
		s.remove()
	}
}

// remove detaches the subscription from its room and releases the room.
// Callers have already removed it from the client's map, so it runs once.
func (s *sub) remove() {
	s.r.mu.Lock()
	delete(s.r.subs, s)
	s.buf = nil
	s.r.mu.Unlock()
	s.c.h.release(s.r)
}

// Unsubscribe stops the client's subscription to room, if any, and reports
// whether there was one.
func (c *Client) Unsubscribe(room hanashi.RoomID) bool {
	c.mu.Lock()
	s := c.subs[room]
	delete(c.subs, room)
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
	last := r.last
	r.mu.Unlock()

	c.mu.Lock()
	switch {
	case c.err != nil:
		err = c.err
	case len(c.subs) >= MaxRooms:
		err = hanashi.Errorf(hanashi.EINVALID, "subscribed to too many rooms (at most %d)", MaxRooms)
	default:
		c.subs[id] = s
	}
	c.mu.Unlock()
	if err != nil {
		s.remove()
		return err
	}

	cursor := last
	if after != nil {
		cursor = max(*after, 0)
	}
	if err := c.sendBacklog(ctx, id, &cursor, last); err != nil {
		c.dropSub(id, s)
		return err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range s.buf {
		if m.Seq > cursor {
			c.Push(c.h.cfg.Encoder.Message(m))
			cursor = m.Seq
		}
	}
	s.buf = nil
	s.buffering = false
	s.skip = cursor
	c.Push(c.h.cfg.Encoder.Subscribed(id, r.last))
	return nil
}

// sendBacklog queues the stored messages in (*cursor, last], advancing
// *cursor, at the pace the client reads them.
func (c *Client) sendBacklog(ctx context.Context, id hanashi.RoomID, cursor *int64, last int64) error {
	for *cursor < last {
		msgs, err := c.h.cfg.Store.Messages(ctx, id, hanashi.Page{After: *cursor, Limit: fillPage})
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			return nil // nothing stored up to last: the live stream covers it
		}
		for _, m := range msgs {
			if m.Seq > last {
				return nil
			}
			if err := c.pushWait(ctx, c.h.cfg.Encoder.Message(m)); err != nil {
				return err
			}
			*cursor = m.Seq
		}
	}
	return nil
}

// dropSub removes s if it is still the client's subscription to id.
func (c *Client) dropSub(id hanashi.RoomID, s *sub) {
	c.mu.Lock()
	mine := c.subs[id] == s
	if mine {
		delete(c.subs, id)
	}
	c.mu.Unlock()
	if mine {
		s.remove()
	}
}
