// Package redis provides the Broker for several nodes that share one Redis
// server: a node delivers what it publishes to its own subscribers at once
// and passes it to the other nodes through Redis pub/sub.
//
// Redis only wakes nodes up; the Store is the record. Whenever messages may
// have been lost on the way — the subscription connection dropped or went
// silent, or a backlog of unpublished messages had to be cut — subscribers
// learn it through Missed (or through a gap in a room's sequence numbers)
// and read the store. Nothing is lost silently.
//
// # Wire format
//
// Room r's messages and signals travel on the channel Prefix+"room:"+r;
// signals to nodes (room 0) on Prefix+"room:0". Each payload is the JSON
// object {"node": <instance id>, "msgs": [<hanashi.Message>...]} holding
// one run of consecutive messages of one room from one Publish call, or of
// signals from one PublishSignals call. A signal travels as a message with
// Seq 0 whose fields carry the signal's: Kind its kind, ClientID its Node,
// Author its User, Child its About and Body its Payload. That is the form
// of earlier releases, which carried signals as such messages, so nodes of
// the previous release and this one read each other's payloads during a
// rolling upgrade; a receiver hands the messages of a payload with Seq 0
// to DeliverSignal, the others to Deliver, in order. A broker ignores
// payloads carrying its own instance id: its local subscribers got those
// messages and signals from Publish and PublishSignals already.
//
// The channel Prefix+"resync" carries {"node": <instance id>}: that node had
// to drop messages it could not publish, so every other node calls Missed on
// all its subscribers.
//
// # Publishing
//
// Publish never waits for Redis. One goroutine pipelines queued payloads to
// Redis; what fails stays queued, in order, and is sent again, with capped
// exponential backoff, until Redis takes it. The queue is bounded by
// Config.MaxBacklog messages. When it grows past that, only the newest
// message of each room is kept: a receiver that then sees seq N after seq M
// < N-1 fills the gap from the store. If one message per room still takes
// more than half the bound, the whole queue is dropped and a resync notice
// is published instead once Redis is back. Signals (PublishSignals) share
// the queue, which keeps them in order with messages, but they are never
// sent late: those that fail to publish, or that a backlog over its bound
// holds, are dropped.
//
// # Subscribing
//
// One connection carries all of a node's subscriptions. It is pinged every
// Config.HealthInterval; a PING unanswered within Config.ReadyTimeout makes
// Ready fail until the answer comes; one unanswered within
// Config.HealthTimeout, a
// read or write error, or anything else that makes go-redis open a new
// connection ends it. The broker then reconnects with capped, jittered
// exponential backoff, subscribes every room again, waits until Redis has
// confirmed that, and only then calls Missed on every subscriber — so
// nothing published after a subscriber's catch-up read can slip between.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hanashi-chat/hanashi"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

var _ hanashi.Broker = (*Broker)(nil)

// Config configures a Broker. Only URL is required.
type Config struct {
	// URL of the Redis server, e.g. redis://user:password@host:6379/0 or
	// rediss:// for TLS.
	URL string
	// Prefix starts the name of every channel, so that several deployments
	// can share one server. Default "hanashi:". Nodes of one deployment
	// must use the same prefix.
	Prefix string
	// Logger receives warnings when the connection to Redis is lost and
	// notices when it is back; nothing is logged per message.
	Logger *slog.Logger

	// HealthInterval is how often the subscription connection is pinged.
	// Default 250ms: a PING is a few bytes, and a Redis that hangs with
	// its socket open (a stopped process, a partition) is found only by
	// a PING that gets no answer.
	HealthInterval time.Duration
	// ReadyTimeout is how long a PING may go unanswered before Ready
	// fails, so that the node's readiness probe tells the truth within
	// about a second. The connection is kept: a late answer makes the
	// broker ready again at once. Default 600ms.
	ReadyTimeout time.Duration
	// HealthTimeout is how long a PING (and a subscription) may go
	// unanswered before the connection counts as dead, and the broker
	// reconnects and has every room read the store. Longer than
	// ReadyTimeout: a Redis that is only slow for a moment should not
	// cost every room a read. Default 3s.
	HealthTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnection (and
	// republishing) attempts, which doubles after every failure; a random
	// part of up to half of it spreads the nodes out. Defaults 100ms and 5s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxBacklog bounds the messages kept for Redis while publishing fails
	// (see the package documentation). Default 10000.
	MaxBacklog int
	// FlushTimeout bounds how long Close tries to publish what is still
	// queued. Default 2s.
	FlushTimeout time.Duration
}

// Broker is a hanashi.Broker on Redis pub/sub. It is safe for concurrent use.
//
// Lock order: Broker.mu before room.mu. The publisher's and a session's
// own mutexes are only ever held alone. Subscribers are called with only
// their room.mu held, never Broker.mu.
type Broker struct {
	cfg    Config
	log    *slog.Logger
	id     string // instance id in every payload
	client *goredis.Client

	roomPrefix string
	resyncChan string

	cancel    context.CancelFunc // stops the subscription goroutines
	stopPub   chan struct{}      // closed by Close: the publisher flushes and stops
	enc       encoder            // the publisher's
	cancelPub context.CancelFunc // ends the publisher's flush
	wg        sync.WaitGroup
	notReady  atomic.Pointer[error] // nil when the subscription connection is up

	mu     sync.RWMutex
	closed bool
	rooms  map[hanashi.RoomID]*room
	sess   *session // the current subscription connection; nil between connections

	pub publisher
}

// room is one room's local subscriber.
type room struct {
	// mu serialises calls to sub, as the contract requires. It is held while
	// calling it, and while replacing it so that a replaced or unsubscribed
	// subscriber gets nothing afterwards.
	mu  sync.Mutex
	sub hanashi.Subscriber // written with Broker.mu and mu held; nil once removed

	// missed, guarded by Broker.mu, asks for a call to Missed once the
	// current connection has confirmed the room's subscription.
	missed bool
}

var (
	errConnecting = fmt.Errorf("redis: %w", hanashi.Errorf(hanashi.EUNAVAILABLE, "connecting to Redis"))
	errClosed     = fmt.Errorf("redis: %w", hanashi.Errorf(hanashi.EUNAVAILABLE, "broker closed"))
	errDown       = hanashi.Errorf(hanashi.EUNAVAILABLE, "no connection to Redis")
)

// New returns a broker for the Redis server at cfg.URL. It fails only when
// the configuration is invalid: when Redis cannot be reached, the broker
// starts anyway, reports why in Ready and keeps trying to connect in the
// background. Close stops it.
func New(cfg Config) (*Broker, error) {
	opt, err := goredis.ParseURL(cfg.URL)
	if err != nil {
		// A *url.Error repeats the URL, password included; keep only why.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redis: invalid URL: %w", err)
	}
	// Maintenance notifications let go-redis move a connection to another
	// endpoint on its own; the subscription connection must only ever be
	// replaced by us, who know to resubscribe and report Missed.
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	// We retry with our own backoff, and must notice a failure quickly to
	// report it in Ready and keep Close short.
	opt.DialerRetries = 1

	if cfg.Prefix == "" {
		cfg.Prefix = "hanashi:"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = 250 * time.Millisecond
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = 3 * time.Second
	}
	if cfg.ReadyTimeout <= 0 || cfg.ReadyTimeout > cfg.HealthTimeout {
		cfg.ReadyTimeout = min(600*time.Millisecond, cfg.HealthTimeout)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = 10000
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = 2 * time.Second
	}

	// go-redis logs through one logger for the whole process; what it says
	// (failed dials, mostly) the broker also reports, so it goes in at
	// debug level, structured like the rest.
	goredis.SetLogger(libraryLogger{cfg.Logger})

	id := hanashi.NewID()
	b := &Broker{
		cfg:        cfg,
		log:        cfg.Logger.With("broker", id),
		id:         id,
		client:     goredis.NewClient(opt),
		roomPrefix: cfg.Prefix + "room:",
		resyncChan: cfg.Prefix + "resync",
		rooms:      make(map[hanashi.RoomID]*room),
		stopPub:    make(chan struct{}),
	}
	b.pub.init(cfg.MaxBacklog)
	b.enc.init(id)
	b.notReady.Store(&errConnecting)
	ctx, cancel := context.WithCancel(context.Background())
	pctx, pcancel := context.WithCancel(context.Background())
	b.cancel, b.cancelPub = cancel, pcancel
	b.wg.Add(2)
	go b.subscriptions(ctx)
	go b.publish(pctx)
	return b, nil
}

// Ready reports whether the subscription connection is up and healthy, and
// if not, why. It never blocks.
func (b *Broker) Ready() error {
	if err := b.notReady.Load(); err != nil {
		return *err
	}
	return nil
}

func (b *Broker) setReady(err error) {
	if err == nil {
		b.notReady.Store(nil)
		return
	}
	b.notReady.Store(&err)
}

// channel is the Redis channel of room id.
func (b *Broker) channel(id hanashi.RoomID) string {
	return b.roomPrefix + strconv.FormatInt(int64(id), 10)
}

// Publish delivers msgs to this node's subscribers before it returns and
// queues them for the other nodes; it never waits for Redis, so ctx is not
// used. It does not keep msgs: the caller may reuse the slice.
func (b *Broker) Publish(ctx context.Context, msgs []hanashi.Message) error {
	return b.publishRuns(runsOf(slices.Clone(msgs), func(m hanashi.Message) hanashi.RoomID { return m.Room },
		func(room hanashi.RoomID, run []hanashi.Message) pending { return pending{room: room, msgs: run} }))
}

// runsOf cuts items into runs of consecutive items of one room, each
// handed over at once.
func runsOf[T any](items []T, roomOf func(T) hanashi.RoomID, run func(hanashi.RoomID, []T) pending) []pending {
	runs := make([]pending, 0, 1)
	for i := 0; i < len(items); {
		j := i + 1
		for j < len(items) && roomOf(items[j]) == roomOf(items[i]) {
			j++
		}
		runs = append(runs, run(roomOf(items[i]), items[i:j:j]))
		i = j
	}
	return runs
}

// publishRuns delivers runs to this node's subscribers and queues them for the
// other nodes.
func (b *Broker) publishRuns(runs []pending) error {
	if len(runs) == 0 {
		return nil
	}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return errClosed
	}
	local := make([]*room, len(runs))
	for i, run := range runs {
		local[i] = b.rooms[run.room]
	}
	b.mu.RUnlock()
	for i, r := range local {
		if r != nil {
			r.deliverRun(runs[i])
		}
	}
	b.pub.add(b.log, runs)
	return nil
}

// deliverRun hands a run of messages, or of signals, to the subscriber.
func (r *room) deliverRun(p pending) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sub == nil {
		return
	}
	if len(p.msgs) > 0 {
		r.sub.Deliver(p.msgs)
	}
	for _, s := range p.sigs {
		r.sub.DeliverSignal(s)
	}
}

func (r *room) reportMissed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sub != nil {
		r.sub.Missed()
	}
}

// Subscribe makes sub the receiver of room's messages. While connected to
// Redis it returns once Redis has confirmed the subscription, or with an
// error (and nothing subscribed) when ctx ends first. While not connected it
// returns nil at once: sub gets Missed once the connection is back and the
// subscription confirmed.
func (b *Broker) Subscribe(ctx context.Context, id hanashi.RoomID, sub hanashi.Subscriber) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errClosed
	}
	r := b.rooms[id]
	if r != nil {
		r.mu.Lock()
		r.sub = sub
		r.mu.Unlock()
	} else {
		r = &room{sub: sub}
		b.rooms[id] = r
	}
	s := b.sess
	if s == nil {
		// The next connection subscribes the room and reports Missed.
		r.missed = true
		b.mu.Unlock()
		return nil
	}
	done := s.await(id)
	b.mu.Unlock()
	if done == nil {
		return nil // already confirmed
	}
	select {
	case <-done:
		// Confirmed, or the connection failed first; then the next one
		// subscribes the room and reports Missed.
		return nil
	case <-ctx.Done():
		b.unsubscribe(id, sub)
		return fmt.Errorf("redis: subscribing to room %d: %w", id, ctx.Err())
	}
}

// Unsubscribe stops deliveries to sub for room, unless sub has been
// replaced. Once a room has no subscriber, this node unsubscribes its
// channel in the background.
func (b *Broker) Unsubscribe(ctx context.Context, id hanashi.RoomID, sub hanashi.Subscriber) error {
	b.unsubscribe(id, sub)
	return nil
}

func (b *Broker) unsubscribe(id hanashi.RoomID, sub hanashi.Subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.rooms[id]
	if r == nil || r.sub != sub {
		return
	}
	delete(b.rooms, id)
	// A delivery that found r before the delete must not reach sub after
	// Unsubscribe returns.
	r.mu.Lock()
	r.sub = nil
	r.mu.Unlock()
	if b.sess != nil {
		b.sess.touch(id)
	}
}

// Close stops all deliveries and the background work, after trying for up
// to Config.FlushTimeout to publish what is still queued. Later calls to
// Subscribe and Publish fail with hanashi.EUNAVAILABLE.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	for id, r := range b.rooms {
		r.mu.Lock()
		r.sub = nil
		r.mu.Unlock()
		delete(b.rooms, id)
	}
	b.mu.Unlock()
	b.setReady(errClosed)
	b.cancel()
	close(b.stopPub)
	flushing := time.AfterFunc(b.cfg.FlushTimeout, b.cancelPub)
	b.wg.Wait()
	flushing.Stop()
	b.cancelPub()
	b.setReady(errClosed)
	if err := b.client.Close(); err != nil {
		return fmt.Errorf("redis: closing the client: %w", err)
	}
	return nil
}

// libraryLogger hands go-redis's log lines to slog at debug level.
type libraryLogger struct{ log *slog.Logger }

func (l libraryLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
