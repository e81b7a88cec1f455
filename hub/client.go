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

// Client is one connection's view of the hub: its subscriptions, each a
// cursor in its room's log of message frames (log.go), and its own queue
// of the other frames (acks, errors, signals, backlogs), bounded together.
// Every method is safe for concurrent use except as noted.
//
// A connection's writer gets the frames in one of two ways: a goroutine of
// its own waits in Next, or, with a ready function given to NewClient,
// something is told when there is work and calls Take without waiting (an
// event loop serving many connections with a few goroutines, pacing its
// writes).
type Client struct {
	// What a room's wake-up and Push touch, together: a thousand
	// clients do not stay in the cache.
	mu     sync.Mutex
	size   int
	h      *Hub
	err    error
	frames [][]byte
	// endAfter, once set by CloseAfterQueued, ends the client as soon as
	// the writer has taken what is queued; nothing more is queued.
	endAfter error

	ready func()   // see NewClient; nil when the writer waits in Next
	spare [][]byte // the previous batch, reused once the writer is done
	// The subscriptions whose rooms have frames for the writer to take
	// from their logs (sub.flagged), and the list Take last worked on,
	// reused for the next.
	flagged []*sub
	taken   []*sub
	// The subscriptions: most clients have one, and an idle connection
	// should not pay for a map, so the first is kept apart (see subLocked).
	sub1 *sub
	more map[hanashi.RoomID]*sub

	// Signals (signal.go): whose connection this is, set once by SetUser
	// before the client subscribes, and whether it is away (guarded by
	// the hub's signals mutex).
	user hanashi.UserID
	away bool

	// The channels are made when first needed: most clients never need
	// some of them, and idle connections are many.
	wake  chan struct{} // something was queued (Next)
	space chan struct{} // the writer took frames (pushWait)
	done  chan struct{} // closed when err is set
}

// maxKeptBatch bounds the slices of frames a client keeps for reuse
// between batches, so that a burst does not stay pinned to a connection
// that then goes idle.
const maxKeptBatch = 32

// NewClient returns a client with an empty queue.
//
// If ready is nil, the client's writer waits for frames in Next. Otherwise
// ready is called whenever the writer has something to do: when the queue
// goes from empty to non-empty, when the writer should not wait any longer
// (the queue passed half full, or a backlog waits for room in it), and
// when the client ends. It is called with
// the client's lock held, and often a room's too: it must be quick and
// must not call the client.
//
// Such a writer paces itself, and the client relies on it: when TakeMore
// says so, the writer calls it again a while later (a flush period, say)
// without waiting for ready. Until then, the busy subscriptions (those
// that had more than one frame for the writer) stay with the writer, and
// their rooms' new frames do not call ready: a busy subscription costs
// its room nothing per message. A take that finds little for them puts
// them back to be woken by their rooms' next frames, as are the others
// right away: for a frame now and then, a wake-up is cheaper than a look.
func (h *Hub) NewClient(ready func()) *Client {
	c := &Client{h: h, ready: ready}
	if ready == nil {
		c.wake = make(chan struct{}, 1)
	}
	return c
}

// Subscriptions by room; c.mu must be held.

func (c *Client) subLocked(room hanashi.RoomID) *sub {
	if c.sub1 != nil && c.sub1.r.id == room {
		return c.sub1
	}
	return c.more[room]
}

func (c *Client) numSubsLocked() int {
	n := len(c.more)
	if c.sub1 != nil {
		n++
	}
	return n
}

func (c *Client) addSubLocked(s *sub) {
	switch {
	case c.sub1 == nil:
		c.sub1 = s
	case c.more == nil:
		c.more = map[hanashi.RoomID]*sub{s.r.id: s}
	default:
		c.more[s.r.id] = s
	}
}

func (c *Client) deleteSubLocked(room hanashi.RoomID) {
	if c.sub1 != nil && c.sub1.r.id == room {
		c.sub1.dropLocked()
		c.sub1 = nil
		return
	}
	if s := c.more[room]; s != nil {
		s.dropLocked()
	}
	delete(c.more, room)
	if len(c.more) == 0 {
		c.more = nil
	}
}

// sub is one client's subscription to one room.
type sub struct {
	c *Client
	r *room

	// Guarded by the room's mutex.
	buffering bool // the backlog is still being sent: hold live messages
	buf       []hanashi.Message
	armedAt   int32 // 1 + its index in r.armed; 0 when not armed
	typedAt   int64 // when typing was last passed on (unix ns), for the rate limit

	joined bool // counted in the user's presence (guarded by the hub's signals mutex)

	// Guarded by the client's mutex: where the subscription is in the
	// room's log and how many bytes of it it has read, the live messages
	// it leaves out (seq <= skip), how many frames were read from its
	// log since the writer last took (see TakeMore), whether it is in
	// c.flagged, and whether the client dropped it.
	at      cursor
	pos     int64
	skip    int64
	took    int32
	flagged bool
	gone    bool
}

// dropLocked marks a subscription the client no longer has: what its
// room's log holds for it is not sent, not even frames that came before
// (a subscription started again from a cursor must not be followed by the
// old one's frames). c.mu must be held.
func (s *sub) dropLocked() {
	s.gone = true
	if s.flagged {
		s.flagged = false
		s.c.flagged = deleteSub(s.c.flagged, s)
	}
	s.at = cursor{}
}

// A subscription past its backlog is armed (in r.armed), flagged (in
// c.flagged), or briefly neither while Take moves it from the second to
// the first: never both, so each frame wakes the writer at most once.

// hold keeps a live message for the subscription while its backlog is
// being sent. r.mu is held.
func (s *sub) hold(m hanashi.Message) {
	if len(s.buf) >= maxBuffered {
		s.c.fail(ErrTooSlow)
		return
	}
	s.buf = append(s.buf, m)
}

// flag tells the client that s has frames in its room's log: the writer
// is told if it had nothing to do. Called by the room, with r.mu held.
func (c *Client) flag(s *sub) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flagLocked(s)
}

func (c *Client) flagLocked(s *sub) {
	if c.err != nil || c.endAfter != nil || s.gone || s.flagged {
		return
	}
	idle := c.idleLocked()
	s.flagged = true
	c.flagged = append(c.flagged, s)
	if idle || c.ready == nil {
		c.signalLocked()
	}
}

// idleLocked reports whether the writer has nothing to take.
func (c *Client) idleLocked() bool { return len(c.frames) == 0 && len(c.flagged) == 0 }

// moveLogLocked moves the flagged subscriptions' frames from their logs
// to the queue, so that a frame queued next comes after them, in the order
// things happened.
func (c *Client) moveLogLocked() {
	n := 0
	for _, s := range c.flagged {
		var frames, bytes int
		c.frames, frames, bytes = s.read(c.frames)
		c.size += bytes
		n += frames
		s.took += int32(frames)
	}
	if n > 0 {
		c.h.stats.deliveries.Add(uint64(n))
	}
}

// checkLag fails the client as too slow if what it has not taken, s's
// lag behind its room's log (which ends at end) and its own queue, passes
// QueueBytes by more than the newest frame; past half of it, the writer is
// told to hurry. Called by the room, with r.mu held.
func (c *Client) checkLag(s *sub, end, newest int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || c.endAfter != nil || s.gone {
		return
	}
	limit := int64(c.h.cfg.QueueBytes)
	switch unsent := end - s.pos + int64(c.size); {
	case unsent > limit && unsent > newest:
		c.failLocked(ErrTooSlow)
	case unsent > limit/2 && c.ready != nil:
		c.ready()
	}
}

// Push queues a frame without waiting. When the queue is full the client
// fails with ErrTooSlow and Push reports false; the caller never waits for
// a slow client.
func (c *Client) Push(frame []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || c.endAfter != nil {
		return false
	}
	c.moveLogLocked()
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
		if c.endAfter != nil {
			c.mu.Unlock()
			return c.endAfter
		}
		if c.size == 0 || c.size+len(frame) <= c.h.cfg.QueueBytes/2 {
			c.enqueueLocked(frame)
			c.mu.Unlock()
			return nil
		}
		if c.space == nil {
			c.space = make(chan struct{}, 1)
		}
		if c.ready != nil {
			c.ready() // a backlog waits: the writer should not
		}
		space, done := c.space, c.doneLocked()
		c.mu.Unlock()
		select {
		case <-space:
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *Client) enqueueLocked(frame []byte) {
	idle := c.idleLocked()
	c.frames = append(c.frames, frame)
	c.size += len(frame)
	// With a ready function, the writer is told when it gets something
	// to do, and again when the queue passes half full: a writer that
	// paces its writes should hurry before the client overflows.
	half := c.h.cfg.QueueBytes / 2
	if c.ready == nil || idle || c.size > half && c.size-len(frame) <= half {
		c.signalLocked()
	}
}

// signalLocked tells the writer that it has work.
func (c *Client) signalLocked() {
	if c.ready != nil {
		c.ready()
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Next waits for queued frames and takes all of them, so the writer can put
// them on the wire with one write. The returned slice is valid until the
// next call. It returns the client's error once the client has failed or
// been closed; frames still queued then are dropped. Next is for clients
// made without a ready function.
func (c *Client) Next(ctx context.Context) ([][]byte, error) {
	for {
		batch, err := c.Take()
		if err != nil || len(batch) > 0 {
			return batch, err
		}
		c.mu.Lock()
		done := c.doneLocked()
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Take takes every queued frame without waiting, possibly none, so the
// writer can put them on the wire with one write; the returned slice is
// valid until the next call to Take or Next. It returns the client's error
// once the client has failed or been closed; frames still queued then are
// dropped. A client made with a ready function signals again when the
// next frame is queued, except for busy subscriptions (see TakeMore).
// Take must not be called concurrently with itself or Next.
func (c *Client) Take() ([][]byte, error) {
	frames, _, err := c.TakeMore()
	return frames, err
}

// TakeMore is Take for a writer that paces itself (see NewClient): more
// reports that some of the client's subscriptions are busy, and wait for
// the writer to come back rather than for their rooms to call ready.
func (c *Client) TakeMore() (_ [][]byte, more bool, _ error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, false, c.err
	}
	if c.idleLocked() {
		c.mu.Unlock()
		return nil, false, nil
	}
	if c.endAfter == nil {
		c.moveLogLocked()
	}
	batch := c.frames
	clear(c.spare)
	c.frames = c.spare[:0]
	if cap(c.frames) > maxKeptBatch {
		c.frames = nil
	}
	c.size = 0
	// A busy subscription stays flagged for a writer that paces itself:
	// it comes back (see NewClient). The others are armed again, to be
	// woken by their rooms' next frames; or flagged again if one came
	// meanwhile. A client that ends keeps none, so that its end tells
	// the writer (failLocked).
	space, end := c.space, c.endAfter
	taken, busy := c.taken[:0], c.flagged[:0]
	for _, s := range c.flagged {
		if s.took > 1 && c.ready != nil && end == nil {
			busy = append(busy, s)
		} else {
			s.flagged = false
			taken = append(taken, s)
		}
		s.took = 0
	}
	clear(c.flagged[len(busy):])
	c.flagged = busy
	c.spare, c.taken = batch, taken
	more = len(busy) > 0
	c.mu.Unlock()
	for i, s := range taken {
		s.rearm()
		taken[i] = nil
	}
	if space != nil {
		select {
		case space <- struct{}{}:
		default:
		}
	}
	if end != nil {
		// The last frames are the writer's now; it writes them before it
		// finds the error and sends its close frame.
		c.Close(end)
	}
	return batch, more, nil
}

// rearm puts a subscription that Take read back on its room's list of
// those woken by the next frame, or flags it again if a frame came since.
func (s *sub) rearm() {
	r, c := s.r, s.c
	r.mu.Lock()
	defer r.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case s.gone || c.err != nil || c.endAfter != nil:
	case s.caughtUp():
		r.arm(s)
	default:
		c.flagLocked(s)
	}
}

// Trim lets go of the slices the client keeps for reuse between batches,
// except those holding queued frames or flagged subscriptions. A writer
// calls it now and then, so that a connection gone idle does not pin the
// slices of its last burst (a new subscriber's presence frames, say).
func (c *Client) Trim() {
	c.mu.Lock()
	if len(c.frames) == 0 {
		c.frames = nil
	}
	if len(c.flagged) == 0 {
		c.flagged = nil
	}
	c.spare, c.taken = nil, nil
	c.mu.Unlock()
}

// Done is closed when the client has failed or been closed; Err says why.
func (c *Client) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.doneLocked()
}

func (c *Client) doneLocked() chan struct{} {
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

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
	if c.err != nil {
		return
	}
	c.err = err
	if err == ErrTooSlow {
		c.h.stats.overflows.Add(1)
	}
	// Nothing is read from the logs any more: let go of their frames now
	// rather than when the connection closes, which may take a while.
	if c.sub1 != nil {
		c.sub1.at = cursor{}
	}
	for _, s := range c.more {
		s.at = cursor{}
	}
	if c.done != nil {
		close(c.done)
	}
	// A writer with something to take has been told already and will
	// find the error when it takes it.
	if c.ready == nil || c.idleLocked() {
		c.signalLocked()
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
	first, more := c.sub1, c.more
	if first != nil {
		first.dropLocked()
	}
	for _, s := range more {
		s.dropLocked()
	}
	c.sub1, c.more = nil, nil
	c.frames, c.spare, c.flagged = nil, nil, nil
	c.mu.Unlock()
	if first != nil {
		first.remove()
	}
	for _, s := range more {
		s.remove()
	}
	c.h.closeSignals(c)
}

// CloseAfterQueued is Close for a client whose queued frames must still
// reach the writer, such as the last acks when the server shuts down:
// nothing more is queued from now on, and the client closes (with err, or
// ErrClosed when nil) once the writer has taken what is queued, so that
// the writer puts those frames on the wire before it learns of the end.
func (c *Client) CloseAfterQueued(err error) {
	if err == nil {
		err = ErrClosed
	}
	c.mu.Lock()
	if c.err == nil && c.endAfter == nil {
		c.moveLogLocked()
	}
	if c.err == nil && c.endAfter == nil && len(c.frames) > 0 {
		c.endAfter = err
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.Close(err)
}

// deleteSub removes s from list, not keeping the order.
func deleteSub(list []*sub, s *sub) []*sub {
	for i, x := range list {
		if x == s {
			last := len(list) - 1
			list[i] = list[last]
			list[last] = nil
			return list[:last]
		}
	}
	return list
}
