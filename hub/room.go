package hub

import (
	"context"
	"sync"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// Bounds on what a room keeps while waiting for missing sequence numbers.
// Dropping past them is safe: the store is the record and a fill reads
// whatever was dropped.
const (
	maxEarly   = 10000 // arrivals before the room knows its last seq
	maxPending = 10000 // out-of-order arrivals awaiting a gap fill
	fillPage   = 1000  // messages read from the store per query
)

// room is one room's live stream on this node. It hands subscribers every
// message exactly once and in seq order, whatever order (or loss) the broker
// delivers in: duplicates are dropped, and a gap that the broker does not
// fill within ReorderWait is read from the store. Only the store can tell
// a gap from a jump in the numbering (after a restore): what it reads
// there is delivered as it is.
type room struct {
	h       *Hub
	id      hanashi.RoomID
	ready   chan struct{} // closed when init is done
	initErr error         // set before ready is closed
	refs    int           // guarded by h.mu

	mu      sync.Mutex
	live    bool  // init done: last is meaningful
	last    int64 // highest seq handed to subscribers
	early   []hanashi.Message
	pending map[int64]hanashi.Message
	subs    map[*sub]struct{}
	// The live stream's frames (log.go): the log's last chunk, the
	// entries of it whose frames letGo has dropped (those below freed),
	// the bytes appended since the room started, the subscriptions that
	// have read all of it and wait to be woken by the next frame, those
	// still sending a backlog (which hold live messages in sub.buf
	// instead), and when to next check the subscribers' lag.
	tail      *logChunk
	freed     int32
	logBytes  int64
	armed     []*sub
	buffering []*sub
	sweepAt   int64
	fillTimer *time.Timer
	filling   bool
	// behind is the store's last seq at the latest sweep (sweep.go).
	behind int64
	// missed records a Missed that no fill could take yet (before init, or
	// while a fill whose read may predate it runs): one runs as soon as it
	// can.
	missed bool
	closed bool
	sig    *roomSignals // presence and probes (signal.go); nil until needed
}

var _ hanashi.Subscriber = (*room)(nil)

func newRoom(h *Hub, id hanashi.RoomID) *room {
	return &room{
		h:       h,
		id:      id,
		ready:   make(chan struct{}),
		pending: make(map[int64]hanashi.Message),
		subs:    make(map[*sub]struct{}),
		tail:    &logChunk{},
	}
}

// init subscribes at the broker first and only then reads the last seq, so
// nothing committed after that read can slip past: it arrives through the
// broker or shows up as a gap.
func (r *room) init() {
	defer close(r.ready)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.h.cfg.Broker.Subscribe(ctx, r.id, r); err != nil {
		r.h.log.Error("broker subscribe failed", "room", r.id, "err", err)
		r.initErr = hanashi.Errorf(hanashi.EUNAVAILABLE, "cannot subscribe right now, try again")
		return
	}
	r.h.probe(r.id) // who is present, on other nodes
	last, err := r.h.cfg.Store.LastSeq(ctx, r.id)
	if err != nil {
		if hanashi.ErrorCode(err) == hanashi.EINTERNAL {
			r.h.log.Error("reading last seq failed", "room", r.id, "err", err)
			err = hanashi.Errorf(hanashi.EUNAVAILABLE, "cannot subscribe right now, try again")
		}
		r.initErr = err
		return // release unsubscribes
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live = true
	r.last = last
	early := r.early
	r.early = nil
	r.accept(early)
	if r.missed {
		r.scheduleFill(0)
	}
}

// Deliver is called by the broker with committed messages; signals come
// through DeliverSignal (signal.go).
func (r *room) Deliver(msgs []hanashi.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
	case !r.live:
		if len(r.early)+len(msgs) <= maxEarly {
			r.early = append(r.early, msgs...)
		}
	default:
		r.accept(msgs)
	}
}

// Missed is called by the broker when it may have lost messages.
func (r *room) Missed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Presence claims may be lost too: ask again, but not from within
	// the broker's delivery.
	go r.h.probe(r.id)
	if !r.live || r.filling {
		r.missed = true
		return
	}
	r.scheduleFill(0)
}

// accept takes arrivals in any order. r.mu must be held.
func (r *room) accept(msgs []hanashi.Message) {
	for _, m := range msgs {
		switch {
		case m.Seq <= r.last:
			// Already handed out.
		case m.Seq == r.last+1:
			r.deliver(m)
		case len(r.pending) < maxPending:
			r.pending[m.Seq] = m
		}
	}
	for len(r.pending) > 0 {
		m, ok := r.pending[r.last+1]
		if !ok {
			break
		}
		r.deliver(m)
	}
	if len(r.pending) > 0 {
		r.scheduleFill(r.h.cfg.ReorderWait)
	}
}

// acceptStored takes a page of the store's messages in seq order, read
// after a seq at or below r.last. The store hands out no seq twice and
// keeps every one it hands out, so the page's messages after r.last are
// the next ones even where their numbering jumps, as it does once after a
// restore (hanashi.RestoreGap): they are delivered as they come, where
// accept would wait forever for the seqs of the jump. r.mu must be held.
func (r *room) acceptStored(msgs []hanashi.Message) {
	for _, m := range msgs {
		if m.Seq > r.last {
			r.deliver(m)
		}
	}
	for seq := range r.pending {
		if seq <= r.last {
			delete(r.pending, seq) // came through the page
		}
	}
	r.accept(nil) // what waited for the page's messages
}

// deliver hands the next message to every subscriber, encoded once: it
// appends the frame to the log and wakes the subscriptions that wait for
// it; the others read it when their writers next take what they have.
// Subscriptions still sending their backlog hold the message instead.
func (r *room) deliver(m hanashi.Message) {
	delete(r.pending, m.Seq)
	r.last = m.Seq
	if len(r.subs) == 0 {
		return
	}
	for _, s := range r.buffering {
		s.hold(m)
	}
	frame := r.h.cfg.Encoder.Message(m)
	r.appendLog(m.Seq, frame)
	for i, s := range r.armed {
		s.armedAt = 0
		s.c.flag(s)
		r.armed[i] = nil
	}
	r.armed = r.armed[:0]
	if r.logBytes >= r.sweepAt {
		r.sweep(len(frame))
	}
}

// arm puts s on the list of subscriptions woken by the next frame. r.mu
// must be held.
func (r *room) arm(s *sub) {
	if s.armedAt == 0 {
		r.armed = append(r.armed, s)
		s.armedAt = int32(len(r.armed))
		r.letGo()
	}
}

// disarm takes s off that list. r.mu must be held.
func (r *room) disarm(s *sub) {
	if s.armedAt == 0 {
		return
	}
	i, last := s.armedAt-1, len(r.armed)-1
	r.armed[i] = r.armed[last]
	r.armed[i].armedAt = i + 1
	r.armed[last] = nil
	r.armed = r.armed[:last]
	s.armedAt = 0
}

// sweep checks every subscription's lag behind the log, a few times per
// queue's worth of frames: a client whose unsent frames (its lag and its
// own queue) pass QueueBytes fails as too slow, one past half of it is
// told to hurry. newest is the size of the frame just appended: a client
// fails only if it is behind by more than that one frame, as a queue
// takes one frame of any size. r.mu must be held.
func (r *room) sweep(newest int) {
	limit := int64(r.h.cfg.QueueBytes)
	r.sweepAt = r.logBytes + max(limit/4, 1)
	for s := range r.subs {
		if !s.buffering {
			s.c.checkLag(s, r.logBytes, int64(newest))
		}
	}
}

// scheduleFill arranges for a read from the store after d unless one is
// already due. r.mu must be held.
func (r *room) scheduleFill(d time.Duration) {
	if r.closed || r.filling || r.fillTimer != nil {
		return
	}
	r.fillTimer = time.AfterFunc(d, r.fill)
}

// fill reads from the store everything after the last delivered seq.
func (r *room) fill() {
	r.mu.Lock()
	r.fillTimer = nil
	if r.closed || r.filling || !r.live {
		r.mu.Unlock()
		return
	}
	r.filling = true
	r.missed = false
	after := r.last
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for {
		var msgs []hanashi.Message
		msgs, err = r.h.cfg.Store.Messages(ctx, r.id, hanashi.Page{After: after, Limit: fillPage})
		if err != nil {
			break
		}
		r.mu.Lock()
		r.acceptStored(msgs)
		after = r.last
		r.mu.Unlock()
		if len(msgs) < fillPage {
			break
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.filling = false
	if err != nil {
		r.h.readFailures.Fail(1, err, "op", "fill", "room", r.id)
		r.scheduleFill(time.Second)
		return
	}
	r.h.readFailures.OK()
	if r.missed {
		r.scheduleFill(0)
	} else if len(r.pending) > 0 {
		r.scheduleFill(r.h.cfg.ReorderWait)
	}
}

func (r *room) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.stopSignals()
	if r.fillTimer != nil {
		r.fillTimer.Stop()
		r.fillTimer = nil
	}
	r.pending = nil
	r.early = nil
}
