// Package hub is a node's fan-out: it commits sends in groups, hands
// committed messages to the Broker, keeps this node's room subscriptions, and
// feeds each connection's bounded queue — resuming a client from its cursor
// without a gap or a duplicate. It knows neither SQL nor HTTP: the Store and
// Broker contracts and a frame encoder are all it sees.
//
// Lock order: Hub.mu, then room.mu, then Client.mu. Nothing that holds a
// later lock acquires an earlier one. The signals' mutex (signal.go) comes
// before room.mu and is never held with Hub.mu.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/outage"
)

// Encoder turns what the hub sends into ready-to-write frames. A message
// frame is encoded once per room and shared by every subscriber.
type Encoder interface {
	Message(m hanashi.Message) []byte
	Subscribed(room hanashi.RoomID, seq int64) []byte
}

// Config holds the hub's dependencies and limits.
type Config struct {
	Store   hanashi.Store
	Broker  hanashi.Broker
	Encoder Encoder
	Logger  *slog.Logger

	// QueueBytes bounds each client's queue of unsent frames; a client
	// whose queue would exceed it is dropped as too slow. Default 1 MiB.
	QueueBytes int
	// ReorderWait is how long a room waits for a missing sequence number
	// to arrive from the broker before reading it from the store.
	// Default 200ms.
	ReorderWait time.Duration
	// MaxBatch bounds how many sends are committed in one transaction.
	// Default 512.
	MaxBatch int
	// CommitTimeout bounds how long a send waits for its commit, from the
	// moment the hub accepts it: past it the send fails with EUNAVAILABLE
	// ("not known to be stored; send it again with the same client id"),
	// so that a client of a node cut off from its store resends on
	// another node instead of waiting. Default 5s.
	CommitTimeout time.Duration
	// SweepInterval is how often the hub compares the last seq of every
	// room it serves with the store's (see sweep). Default 500ms.
	SweepInterval time.Duration
}

// Hub is safe for concurrent use.
type Hub struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	rooms map[hanashi.RoomID]*room

	sig signals // typing, presence and read echoes (signal.go)

	// Failures of the store, logged quietly (see package outage): commits,
	// and the reads that fill rooms.
	commitFailures *outage.Log
	readFailures   *outage.Log
	// lastCommitErr is the error of the latest commit that failed, and
	// when, unless a commit succeeded since (see CommitErr).
	commitMu      sync.Mutex
	lastCommitErr error
	lastCommitAt  time.Time

	stats stats // counters for monitoring (stats.go)

	posts chan *postReq
	// closing guards stopped: once Close holds it, no post can enter the
	// channel any more, so the committer's final drain misses nothing.
	closing sync.RWMutex
	stopped bool
	stop    chan struct{}
	done    chan struct{} // closed when the committer has returned

	sweepDone chan struct{} // closed when the sweep has returned
}

// New starts a hub; Close stops it.
func New(cfg Config) *Hub {
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = 1 << 20
	}
	if cfg.ReorderWait <= 0 {
		cfg.ReorderWait = 200 * time.Millisecond
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.CommitTimeout <= 0 {
		cfg.CommitTimeout = 5 * time.Second
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		cfg:            cfg,
		log:            cfg.Logger,
		rooms:          make(map[hanashi.RoomID]*room),
		commitFailures: outage.New(cfg.Logger, "commits", 0),
		readFailures:   outage.New(cfg.Logger, "reads of rooms from the store", 0),
		posts:          make(chan *postReq, 4*cfg.MaxBatch),
		stop:           make(chan struct{}),
		done:           make(chan struct{}),
		sweepDone:      make(chan struct{}),
	}
	h.sig.node = hanashi.NewID()
	go h.commit()
	go h.sweep()
	return h
}

// Close stops accepting posts and waits until those already accepted are
// committed and published, or ctx ends.
func (h *Hub) Close(ctx context.Context) error {
	h.closing.Lock()
	if !h.stopped {
		h.stopped = true
		close(h.stop)
	}
	h.closing.Unlock()
	<-h.sweepDone
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Why a post was not stored. Each is EUNAVAILABLE: the sender may send
// it again, with the same client id, here or on another node; if the
// store did commit it after all, the resend finds it and is acknowledged
// with the same seq.
var (
	// errStopped is returned for posts after Close.
	errStopped = hanashi.Errorf(hanashi.EUNAVAILABLE, "server is shutting down")
	// errNotStored: the store failed the commit.
	errNotStored = hanashi.Errorf(hanashi.EUNAVAILABLE, "could not store the message, send it again")
	// errCommitTimeout: no commit within CommitTimeout.
	errCommitTimeout = hanashi.Errorf(hanashi.EUNAVAILABLE, "could not store the message in time, send it again")
)

// acquire returns room id, initialised and subscribed at the broker, with
// one more reference held by the caller.
func (h *Hub) acquire(ctx context.Context, id hanashi.RoomID) (*room, error) {
	h.mu.Lock()
	r := h.rooms[id]
	if r == nil {
		r = newRoom(h, id)
		h.rooms[id] = r
		go r.init()
	}
	r.refs++
	h.mu.Unlock()

	select {
	case <-r.ready:
	case <-ctx.Done():
		h.release(r)
		return nil, ctx.Err()
	}
	if r.initErr != nil {
		h.release(r)
		return nil, r.initErr
	}
	return r, nil
}

// release drops a reference; the last one unsubscribes the room.
func (h *Hub) release(r *room) {
	h.mu.Lock()
	r.refs--
	last := r.refs == 0
	if last && h.rooms[r.id] == r {
		delete(h.rooms, r.id)
	}
	h.mu.Unlock()
	if !last {
		return
	}
	go func() {
		<-r.ready
		r.close()
		if r.initErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.cfg.Broker.Unsubscribe(ctx, r.id, r); err != nil {
			h.log.Warn("broker unsubscribe failed", "room", r.id, "err", err)
		}
	}()
}

// Post commits one message together with whatever other posts are waiting
// (group commit), publishes it to the broker and returns it once it is
// durable. A resend of an already stored (Author, ClientID) returns the
// stored message.
func (h *Hub) Post(ctx context.Context, p hanashi.Post) (hanashi.Message, error) {
	res, err := h.PostResult(ctx, p)
	if err == nil {
		err = res.Err
	}
	return res.Message, err
}

// PostResult is Post for callers that must tell a new message from a
// resend (res.Created): the HTTP API answers them with different statuses.
// A refusal of the post is res.Err; err is for the hub or ctx failing.
func (h *Hub) PostResult(ctx context.Context, p hanashi.Post) (res hanashi.PostResult, err error) {
	req := &postReq{post: p, done: make(chan struct{}), deadline: time.Now().Add(h.cfg.CommitTimeout)}
	h.closing.RLock()
	if h.stopped {
		h.closing.RUnlock()
		return hanashi.PostResult{}, errStopped
	}
	select {
	case h.posts <- req:
	case <-ctx.Done():
		h.closing.RUnlock()
		return hanashi.PostResult{}, ctx.Err()
	}
	h.closing.RUnlock()
	h.stats.received.Add(1)
	select {
	case <-req.done:
		return req.res, nil
	case <-ctx.Done():
		return hanashi.PostResult{}, ctx.Err()
	}
}

// Publish hands messages that some other path has already committed (a
// room's link in its parent's stream, which Store.CreateRoom stores) to
// the broker, and through it to the subscribers on this node and every
// other, as the committer does for posts. A failure is logged and
// returned; the messages are stored all the same, and subscribers read them
// from the store when the next message shows the gap, or when they resume.
func (h *Hub) Publish(ctx context.Context, msgs []hanashi.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := h.cfg.Broker.Publish(ctx, msgs); err != nil {
		h.log.Warn("publish failed", "messages", len(msgs), "err", err)
		return err
	}
	return nil
}

// PostAsync is Post for callers that must not wait for the commit: it
// returns once the post is queued (waiting while the queue is full), and
// done is called from the committer with the outcome. done must not block.
// On an error done is not called.
func (h *Hub) PostAsync(ctx context.Context, p hanashi.Post, done func(hanashi.Message, error)) error {
	req := &postReq{post: p, callback: done, deadline: time.Now().Add(h.cfg.CommitTimeout)}
	h.closing.RLock()
	defer h.closing.RUnlock()
	if h.stopped {
		return errStopped
	}
	select {
	case h.posts <- req:
		h.stats.received.Add(1)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type postReq struct {
	post     hanashi.Post
	deadline time.Time // accepted + CommitTimeout
	res      hanashi.PostResult
	done     chan struct{}                // closed when res is set (Post)
	callback func(hanashi.Message, error) // called when res is set (PostAsync)
}

func (r *postReq) finish(res hanashi.PostResult) {
	r.res = res
	if r.callback != nil {
		r.callback(res.Message, res.Err)
	}
	if r.done != nil {
		close(r.done)
	}
}

// commit is the group committer: while one batch is being written and
// synced, the next one gathers in the channel, so one fsync serves many
// sends. It publishes after the commit, never before.
func (h *Hub) commit() {
	defer close(h.done)
	batch := make([]*postReq, 0, h.cfg.MaxBatch)
	posts := make([]hanashi.Post, 0, h.cfg.MaxBatch)
	pub := make([]hanashi.Message, 0, h.cfg.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case req := <-h.posts:
			batch = append(batch, req)
		case <-h.stop:
			// Nothing enters posts after stop (see closing): drain it.
			select {
			case req := <-h.posts:
				batch = append(batch, req)
			default:
				return
			}
		}
	gather:
		for len(batch) < h.cfg.MaxBatch {
			select {
			case req := <-h.posts:
				batch = append(batch, req)
			default:
				break gather
			}
		}

		// A send whose time is up fails without a try: its sender is told
		// at once and may send it again elsewhere. The batch's transaction
		// gets the time its oldest send has left.
		now := time.Now()
		live, deadline := batch[:0], time.Time{}
		for _, req := range batch {
			if !now.Before(req.deadline) {
				req.finish(hanashi.PostResult{Err: errCommitTimeout})
				continue
			}
			if deadline.IsZero() || req.deadline.Before(deadline) {
				deadline = req.deadline
			}
			live = append(live, req)
		}
		if expired := len(batch) - len(live); expired > 0 {
			h.commitFailed(expired, context.DeadlineExceeded)
		}
		batch = live
		if len(batch) == 0 {
			continue
		}
		posts = posts[:0]
		for _, req := range batch {
			posts = append(posts, req.post)
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		results, err := h.cfg.Store.Post(ctx, posts)
		if err == nil && len(results) != len(posts) {
			err = errors.New("store returned a wrong number of results")
		}
		if err != nil {
			cancel()
			h.commitFailed(len(posts), err)
			fail := hanashi.PostResult{Err: errNotStored}
			if errors.Is(err, context.DeadlineExceeded) {
				fail.Err = errCommitTimeout
			}
			for _, req := range batch {
				req.finish(fail)
			}
			continue
		}
		h.commitOK()
		// Resends are published again: if the node that stored them died
		// before publishing, this is what makes other nodes see them live.
		pub = pub[:0]
		for _, res := range results {
			if res.Err == nil {
				pub = append(pub, res.Message)
			}
		}
		if len(pub) > 0 {
			if err := h.cfg.Broker.Publish(ctx, pub); err != nil {
				// The messages are committed; subscribers find the gap
				// and read them from the store.
				h.log.Warn("publish failed", "messages", len(pub), "err", err)
			}
		}
		cancel()
		h.stats.acked.Add(uint64(len(pub))) // pub is what succeeded
		for i, req := range batch {
			req.finish(results[i])
		}
	}
}

// commitFailed records n sends that a failed commit left unstored.
func (h *Hub) commitFailed(n int, err error) {
	h.commitFailures.Fail(n, err)
	h.commitMu.Lock()
	h.lastCommitErr, h.lastCommitAt = err, time.Now()
	h.commitMu.Unlock()
}

// commitOK records a commit that succeeded.
func (h *Hub) commitOK() {
	if h.commitFailures.Down() {
		h.commitMu.Lock()
		h.lastCommitErr = nil
		h.commitMu.Unlock()
	}
	h.commitFailures.OK()
}

// commitErrFor is how long a failed commit keeps CommitErr failing when no
// commit follows it.
const commitErrFor = 5 * time.Second

// CommitErr reports whether this node can commit, for its readiness: an
// error while the latest commit failed, up to commitErrFor ago, and no
// commit has succeeded since. A node whose store answers pings but refuses
// writes (a read-only failover, a full disk) is not ready; one whose
// clients have gone elsewhere gets a fresh chance after commitErrFor.
func (h *Hub) CommitErr() error {
	h.commitMu.Lock()
	defer h.commitMu.Unlock()
	if h.lastCommitErr == nil || time.Since(h.lastCommitAt) > commitErrFor {
		return nil
	}
	return fmt.Errorf("commits failing: %w", h.lastCommitErr)
}
