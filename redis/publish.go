package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hanashi-chat/hanashi"
	goredis "github.com/redis/go-redis/v9"
)

const (
	maxPipeline    = 1000            // payloads per round trip
	publishTimeout = 5 * time.Second // for one pipeline
)

// pending is one run of consecutive messages of one room from one Publish
// call, or of signals from one PublishSignals call: it becomes one payload.
// Exactly one of msgs and sigs is set.
type pending struct {
	room hanashi.RoomID
	msgs []hanashi.Message
	sigs []hanashi.Signal
}

func (p pending) len() int { return len(p.msgs) + len(p.sigs) }

// publisher is the queue between Publish and Redis. It is safe for
// concurrent use.
type publisher struct {
	max  int           // bound on queued messages and signals
	wake chan struct{} // capacity 1: the queue is not empty

	mu     sync.Mutex
	queue  []pending // oldest first
	n      int       // messages and signals in queue
	resync bool      // messages were dropped: publish a resync notice
}

func (p *publisher) init(max int) {
	p.max = max
	p.wake = make(chan struct{}, 1)
}

// add queues runs after what is queued.
func (p *publisher) add(log *slog.Logger, runs []pending) {
	p.mu.Lock()
	p.queue = append(p.queue, runs...)
	for _, r := range runs {
		p.n += r.len()
	}
	p.bound(log)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// take removes up to max payloads from the front of the queue, and the
// resync request.
func (p *publisher) take(max int) (items []pending, resync bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := min(max, len(p.queue))
	items = append([]pending(nil), p.queue[:k]...)
	clear(p.queue[:k]) // let the sent messages go
	p.queue = p.queue[k:]
	if len(p.queue) == 0 {
		p.queue = nil
	}
	for _, it := range items {
		p.n -= it.len()
	}
	resync, p.resync = p.resync, false
	return items, resync
}

// requeue puts back what failed, in front of what was queued meanwhile.
// Signals are dropped instead: late, they would mislead.
func (p *publisher) requeue(log *slog.Logger, failed []pending, resync bool) {
	failed = dropSignals(failed)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = append(failed, p.queue...)
	for _, it := range failed {
		p.n += it.len()
	}
	p.resync = p.resync || resync
	p.bound(log)
}

// dropSignals returns the runs of messages alone, reusing runs.
func dropSignals(runs []pending) []pending {
	kept := runs[:0]
	for _, r := range runs {
		if len(r.msgs) > 0 {
			kept = append(kept, r)
		}
	}
	return kept
}

func (p *publisher) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// bound keeps the queue within max messages. Past it, only the message with
// the highest seq of each room is kept: enough for a receiver to notice the
// gap and read the rest from the store; signals are all dropped.
// If that still takes more than half the bound, everything is dropped and a
// resync notice is due instead; the half keeps the work per queued message
// constant. p.mu must be held.
func (p *publisher) bound(log *slog.Logger) {
	if p.n <= p.max {
		return
	}
	before := p.n
	type newest struct {
		entry int // index in queue of the entry holding msg
		msg   hanashi.Message
	}
	last := make(map[hanashi.RoomID]newest)
	for i, e := range p.queue {
		for _, m := range e.msgs {
			if cur, ok := last[e.room]; !ok || m.Seq >= cur.msg.Seq {
				last[e.room] = newest{entry: i, msg: m}
			}
		}
	}
	if len(last) > p.max/2 {
		p.queue, p.n, p.resync = nil, 0, true
		log.Warn("publish backlog too large even with one message per room; dropped it, other nodes will be told to catch up from the store",
			"messages", before, "rooms", len(last))
		return
	}
	kept := make([]pending, 0, len(last))
	for i, e := range p.queue {
		if nw := last[e.room]; nw.entry == i {
			kept = append(kept, pending{room: e.room, msgs: []hanashi.Message{nw.msg}})
			delete(last, e.room) // one entry per room even if seqs repeat
		}
	}
	p.queue, p.n = kept, len(kept)
	log.Warn("publish backlog over its bound; kept only the newest message of each room",
		"messages", before, "kept", len(kept))
}

// publish sends what Publish queues until Close, then what is left unless
// publishing is failing. Close cancels ctx after FlushTimeout.
func (b *Broker) publish(ctx context.Context) {
	defer b.wg.Done()
	failures := 0
	stopping := false
	for {
		select {
		case <-b.pub.wake:
		case <-b.stopPub:
			stopping = true
		}
		for {
			items, resync := b.pub.take(maxPipeline)
			if len(items) == 0 && !resync {
				break
			}
			err := b.send(ctx, items, resync)
			if err == nil {
				if failures > 0 {
					b.log.Info("publishing to redis works again")
					failures = 0
				}
				continue
			}
			failures++
			if stopping || ctx.Err() != nil {
				b.log.Warn("could not publish before closing; other nodes read the messages from the store",
					"err", err, "backlog", b.pub.len())
				return
			}
			if failures == 1 {
				b.log.Warn("publishing to redis failed; keeping the messages to publish them again",
					"err", err, "backlog", b.pub.len())
			}
			select {
			case <-time.After(b.backoff(failures)):
			case <-b.stopPub:
				return // still failing: Close should not wait for Redis
			}
		}
		if stopping {
			return
		}
	}
}

// send publishes items (and a resync notice) in one pipeline, and queues
// again whatever failed.
func (b *Broker) send(ctx context.Context, items []pending, resync bool) error {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	pipe := b.client.Pipeline()
	var resyncCmd *goredis.IntCmd
	if resync {
		data, _ := json.Marshal(notice{Node: b.id}) // a string field cannot fail
		resyncCmd = pipe.Publish(ctx, b.resyncChan, data)
	}
	cmds := make([]*goredis.IntCmd, len(items))
	for i, it := range items {
		msgs := it.msgs
		if it.sigs != nil {
			msgs = wireSignals(it.sigs)
		}
		data, err := json.Marshal(payload{Node: b.id, Msgs: msgs})
		if err != nil {
			// Only a time outside years 0-9999 gets here; receivers find
			// the gap.
			b.log.Error("cannot encode messages; not publishing them", "room", it.room, "err", err)
			continue
		}
		cmds[i] = pipe.Publish(ctx, b.channel(it.room), data)
	}
	if pipe.Len() == 0 {
		return nil
	}
	_, err := pipe.Exec(ctx)
	if err == nil {
		return nil
	}
	var failed []pending
	for i, c := range cmds {
		if c != nil && c.Err() != nil {
			failed = append(failed, items[i])
		}
	}
	b.pub.requeue(b.log, failed, resyncCmd != nil && resyncCmd.Err() != nil)
	return fmt.Errorf("publishing: %w", err)
}
