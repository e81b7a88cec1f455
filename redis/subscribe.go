package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hanashi-chat/hanashi"
	goredis "github.com/redis/go-redis/v9"
)

// maxArgs bounds the channels named in one SUBSCRIBE or UNSUBSCRIBE.
const maxArgs = 1000

// session is one subscription connection. It lives from one connection
// attempt until the first error: go-redis would quietly reconnect a PubSub
// and resubscribe it, but then nobody would call Missed, so a session that
// sees any error is thrown away and the next one starts from scratch.
//
// Two goroutines drive it. The writer (the goroutine running
// Broker.subscriptions) alone sends SUBSCRIBE, UNSUBSCRIBE and PING; the
// reader alone calls Receive. Redis answers a connection's commands in
// order, so when the reply to the PING sent after a batch of SUBSCRIBEs
// arrives, the whole batch is in force: that is how a batch is confirmed.
// The same PING, sent every HealthInterval, finds connections that died
// without an error.
type session struct {
	ps   *goredis.PubSub
	wake chan struct{} // capacity 1: the writer has work
	done chan struct{} // closed by Broker.fail
	once sync.Once
	err  error // why the session ended; set before done is closed

	// expected counts subscribe confirmations still due. One more than we
	// asked for means go-redis has reconnected and resubscribed on its own.
	expected atomic.Int64

	pongMu   sync.Mutex
	pongWant string        // payload of the PING in flight
	pongCh   chan struct{} // closed when its reply arrives

	// Guarded by Broker.mu. A room is in state once a SUBSCRIBE for it has
	// been sent (false) or confirmed (true); dirty rooms may need a
	// SUBSCRIBE or UNSUBSCRIBE; waiting holds Subscribe calls waiting for
	// the next batch, inflight those waiting for the batch being confirmed.
	state    map[hanashi.RoomID]bool
	dirty    map[hanashi.RoomID]struct{}
	waiting  map[hanashi.RoomID][]chan struct{}
	inflight []chan struct{}
}

// await returns a channel that is closed when the current subscription of
// room id is confirmed (or the session ends), or nil when it is confirmed
// already. Broker.mu must be held.
func (s *session) await(id hanashi.RoomID) <-chan struct{} {
	confirmed, sent := s.state[id]
	if confirmed {
		return nil
	}
	ch := make(chan struct{})
	if sent {
		s.inflight = append(s.inflight, ch)
		return ch
	}
	s.waiting[id] = append(s.waiting[id], ch)
	s.touch(id)
	return ch
}

// touch tells the writer that room id may need a SUBSCRIBE or an
// UNSUBSCRIBE. Broker.mu must be held.
func (s *session) touch(id hanashi.RoomID) {
	s.dirty[id] = struct{}{}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *session) pong(payload string) {
	s.pongMu.Lock()
	defer s.pongMu.Unlock()
	if s.pongCh != nil && payload == s.pongWant {
		close(s.pongCh)
		s.pongCh = nil
	}
}

func release(waiters []chan struct{}) {
	for _, ch := range waiters {
		close(ch)
	}
}

// fail ends s with err unless it has ended already.
func (b *Broker) fail(ctx context.Context, s *session, err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
		if ctx.Err() == nil {
			b.setReady(fmt.Errorf("redis: %w: %w", errDown, err))
		}
	})
}

// subscriptions keeps a subscription connection up until ctx ends,
// reconnecting with backoff.
func (b *Broker) subscriptions(ctx context.Context) {
	defer b.wg.Done()
	failures := 0 // attempts since the last connection that came up
	for {
		up, err := b.connect(ctx, failures > 0)
		if ctx.Err() != nil {
			return
		}
		switch {
		case up:
			failures = 0
			b.log.Warn("redis connection lost; reconnecting", "err", err)
		case failures == 0:
			b.log.Warn("cannot connect to redis; retrying", "err", err)
		default:
			b.log.Debug("cannot connect to redis; retrying", "err", err, "attempt", failures+1)
		}
		failures++
		select {
		case <-time.After(b.backoff(failures)):
		case <-ctx.Done():
			return
		}
	}
}

// backoff returns the wait after the given number of consecutive failures
// (at least 1): MinBackoff doubled for each, capped at MaxBackoff, of which
// a random part of up to half is taken off.
func (b *Broker) backoff(failures int) time.Duration {
	d := b.cfg.MaxBackoff
	if failures <= 32 {
		if e := b.cfg.MinBackoff << (failures - 1); e > 0 && e < d {
			d = e
		}
	}
	return d/2 + rand.N(d/2+1)
}

// connect runs one session until it fails or ctx ends. It reports whether
// the session came up (all rooms subscribed) and why it ended.
func (b *Broker) connect(ctx context.Context, again bool) (up bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &session{
		ps:      b.client.Subscribe(sctx),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		state:   make(map[hanashi.RoomID]bool),
		dirty:   make(map[hanashi.RoomID]struct{}),
		waiting: make(map[hanashi.RoomID][]chan struct{}),
	}
	b.mu.Lock()
	b.sess = s
	// Whatever was published while no connection was up is lost for
	// these rooms: they get Missed once subscribed again.
	for id, r := range b.rooms {
		r.missed = true
		s.dirty[id] = struct{}{}
	}
	b.mu.Unlock()

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		b.read(sctx, s)
	}()
	up, err = b.write(sctx, s, again)
	b.fail(ctx, s, err)
	cancel()
	s.ps.Close() // ends the reader's Receive
	<-readerDone

	b.mu.Lock()
	b.sess = nil
	// The next session subscribes these rooms and reports Missed.
	for _, w := range s.waiting {
		release(w)
	}
	release(s.inflight)
	b.mu.Unlock()
	return up, s.err
}

// write is the session's writer: it subscribes and unsubscribes rooms in
// batches, confirms each batch with a PING, and pings every HealthInterval.
func (b *Broker) write(ctx context.Context, s *session, again bool) (up bool, err error) {
	health := time.NewTicker(b.cfg.HealthInterval)
	defer health.Stop()
	var seq uint64
	due := true // a PING is due
	for {
		subs, unsubs := b.batch(s)
		if !up || len(subs) > 0 || len(unsubs) > 0 || due {
			chans := make([]string, 0, len(subs)+1)
			if !up {
				chans = append(chans, b.resyncChan)
			}
			for _, id := range subs {
				chans = append(chans, b.channel(id))
			}
			if err := b.sendSubs(ctx, s, chans, unsubs); err != nil {
				return up, err
			}
			seq++
			if err := b.ping(ctx, s, seq, up); err != nil {
				return up, err
			}
			// Missed only now: a subscriber's catch-up read must start
			// after the subscription is in force.
			for _, r := range b.confirm(s, subs) {
				r.reportMissed()
			}
			if !up {
				up = true
				b.setReady(nil)
				if again {
					b.log.Info("redis connection restored", "rooms", len(subs))
				} else {
					b.log.Info("connected to redis", "rooms", len(subs))
				}
			}
			due = false
		}
		select {
		case <-s.wake:
		case <-health.C:
			due = true
		case <-s.done:
			return up, s.err
		case <-ctx.Done():
			return up, ctx.Err()
		}
	}
}

// batch takes the rooms whose subscription must change. Broker.mu must not
// be held.
func (b *Broker) batch(s *session) (subs, unsubs []hanashi.RoomID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id := range s.dirty {
		_, want := b.rooms[id]
		_, have := s.state[id]
		switch {
		case want && !have:
			s.state[id] = false
			subs = append(subs, id)
			s.inflight = append(s.inflight, s.waiting[id]...)
		case !want && have:
			delete(s.state, id)
			unsubs = append(unsubs, id)
			release(s.waiting[id])
		default:
			// Nothing to change: confirmed already (a SUBSCRIBE is only sent
			// once the previous batch is confirmed), or gone.
			release(s.waiting[id])
		}
		delete(s.waiting, id)
	}
	clear(s.dirty)
	return subs, unsubs
}

// sendSubs writes SUBSCRIBE for chans and UNSUBSCRIBE for the rooms in unsubs.
func (b *Broker) sendSubs(ctx context.Context, s *session, chans []string, unsubs []hanashi.RoomID) error {
	for len(chans) > 0 {
		n := min(len(chans), maxArgs)
		s.expected.Add(int64(n))
		if err := s.ps.Subscribe(ctx, chans[:n]...); err != nil {
			return fmt.Errorf("subscribing: %w", err)
		}
		chans = chans[n:]
	}
	for len(unsubs) > 0 {
		n := min(len(unsubs), maxArgs)
		names := make([]string, n)
		for i, id := range unsubs[:n] {
			names[i] = b.channel(id)
		}
		if err := s.ps.Unsubscribe(ctx, names...); err != nil {
			return fmt.Errorf("unsubscribing: %w", err)
		}
		unsubs = unsubs[n:]
	}
	return nil
}

// ping sends PING seq and waits up to HealthTimeout for its reply. On a
// connection that is up, a reply that takes longer than ReadyTimeout makes
// Ready fail until it comes.
func (b *Broker) ping(ctx context.Context, s *session, seq uint64, up bool) error {
	payload := strconv.FormatUint(seq, 10)
	ch := make(chan struct{})
	s.pongMu.Lock()
	s.pongWant, s.pongCh = payload, ch
	s.pongMu.Unlock()
	if err := s.ps.Ping(ctx, payload); err != nil {
		return fmt.Errorf("sending PING: %w", err)
	}
	t := time.NewTimer(b.cfg.HealthTimeout)
	defer t.Stop()
	var slow <-chan time.Time
	if up {
		st := time.NewTimer(b.cfg.ReadyTimeout)
		defer st.Stop()
		slow = st.C
	}
	var late *error // the error Ready reports while the reply is late
	for {
		select {
		case <-ch:
			if late != nil {
				// Unless the session failed meanwhile (and said why).
				b.notReady.CompareAndSwap(late, nil)
			}
			return nil
		case <-slow:
			err := fmt.Errorf("redis: %w: no reply to PING within %v", errDown, b.cfg.ReadyTimeout)
			late = &err
			b.notReady.Store(late)
			slow = nil
		case <-t.C:
			return fmt.Errorf("no reply to PING within %v", b.cfg.HealthTimeout)
		case <-s.done:
			return s.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// confirm records that the rooms in subs are subscribed, releases the
// Subscribe calls waiting for that, and returns the rooms owed a Missed.
func (b *Broker) confirm(s *session, subs []hanashi.RoomID) []*room {
	b.mu.Lock()
	defer b.mu.Unlock()
	var missed []*room
	for _, id := range subs {
		s.state[id] = true
		if r := b.rooms[id]; r != nil && r.missed {
			r.missed = false
			missed = append(missed, r)
		}
	}
	release(s.inflight)
	s.inflight = nil
	return missed
}

// read is the session's reader.
func (b *Broker) read(ctx context.Context, s *session) {
	for {
		msg, err := s.ps.Receive(ctx)
		if err != nil {
			b.fail(ctx, s, fmt.Errorf("receiving: %w", err))
			return
		}
		switch m := msg.(type) {
		case *goredis.Message:
			b.receive(m)
		case *goredis.Pong:
			s.pong(m.Payload)
		case *goredis.Subscription:
			if m.Kind == "subscribe" && s.expected.Add(-1) < 0 {
				b.fail(ctx, s, errors.New("go-redis replaced the connection on its own"))
				return
			}
		}
	}
}

// payload is what travels on a room's channel.
type payload struct {
	Node string            `json:"node"`
	Msgs []hanashi.Message `json:"msgs"`
}

// notice is what travels on the resync channel.
type notice struct {
	Node string `json:"node"`
}

// receive hands a message from Redis to the local subscriber.
func (b *Broker) receive(m *goredis.Message) {
	if m.Channel == b.resyncChan {
		var n notice
		if err := json.Unmarshal([]byte(m.Payload), &n); err != nil {
			b.log.Warn("ignoring a malformed resync notice", "err", err)
			return
		}
		if n.Node != b.id {
			b.missAll()
		}
		return
	}
	rest, ok := strings.CutPrefix(m.Channel, b.roomPrefix)
	n, err := strconv.ParseInt(rest, 10, 64)
	if !ok || err != nil {
		b.log.Warn("ignoring a message on an unknown channel", "channel", m.Channel)
		return
	}
	id := hanashi.RoomID(n)
	var p payload
	if err := json.Unmarshal([]byte(m.Payload), &p); err != nil {
		b.log.Warn("ignoring a malformed payload", "channel", m.Channel, "err", err)
		return
	}
	if p.Node == b.id {
		return // the local subscriber had it from Publish
	}
	msgs := p.Msgs[:0]
	for _, msg := range p.Msgs {
		if msg.Room == id {
			msgs = append(msgs, msg)
		}
	}
	if len(msgs) == 0 {
		return
	}
	b.mu.RLock()
	r := b.rooms[id]
	b.mu.RUnlock()
	if r != nil {
		r.deliverWire(msgs)
	}
}

// missAll calls Missed on every subscriber.
func (b *Broker) missAll() {
	b.mu.RLock()
	rooms := make([]*room, 0, len(b.rooms))
	for _, r := range b.rooms {
		rooms = append(rooms, r)
	}
	b.mu.RUnlock()
	for _, r := range rooms {
		r.reportMissed()
	}
}
