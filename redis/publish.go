package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
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
	var parts []pending // what each command carries, to queue again if it fails
	var cmds []*goredis.IntCmd
	for _, it := range items {
		err := b.enc.payloads(it, func(part pending, data []byte) {
			parts = append(parts, part)
			cmds = append(cmds, pipe.Publish(ctx, b.channel(it.room), string(data))) // buf is reused
		})
		if err != nil {
			// Only a time outside years 0-9999 gets here; receivers find
			// the gap.
			b.log.Error("cannot encode messages; not publishing them", "room", it.room, "err", err)
		}
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
		if c.Err() != nil {
			failed = append(failed, parts[i])
		}
	}
	b.pub.requeue(b.log, failed, resyncCmd != nil && resyncCmd.Err() != nil)
	return fmt.Errorf("publishing: %w", err)
}

// maxPayload is the size a payload is cut at. One batch of the hub may be
// 512 messages of up to 16 KB of body each, about 8 MB: as one payload it
// would hold up every subscriber's connection to Redis while it is read
// and decoded, delaying every other room's messages behind it, and come
// near Redis's default output buffer limit for pub/sub clients (8 MB for
// 60 s), past which Redis disconnects the subscriber.
const maxPayload = 256 << 10

// encoder writes payloads. It is used by the one publishing goroutine only.
type encoder struct {
	node string
	buf  bytes.Buffer
	enc  *json.Encoder // onto buf
}

func (e *encoder) init(node string) {
	e.node = node
	e.enc = json.NewEncoder(&e.buf)
}

// payloads encodes a run as payloads of at most maxPayload bytes each, in
// order, and hands each to emit with the part of the run it carries;
// data is only valid during the call. A message larger than maxPayload alone
// goes in a payload of its own.
func (e *encoder) payloads(run pending, emit func(part pending, data []byte)) error {
	msgs := run.msgs
	if run.sigs != nil {
		msgs = wireSignals(run.sigs)
	}
	partOf := func(i, j int) pending {
		if run.sigs != nil {
			return pending{room: run.room, sigs: run.sigs[i:j:j]}
		}
		return pending{room: run.room, msgs: run.msgs[i:j:j]}
	}
	head := `{"node":` + strconv.Quote(e.node) + `,"msgs":[`
	e.buf.Reset()
	e.buf.WriteString(head)
	first := 0 // of the messages in buf
	for i := range msgs {
		mark := e.buf.Len()
		if i > first {
			e.buf.WriteByte(',')
		}
		if err := e.enc.Encode(&msgs[i]); err != nil {
			return err
		}
		if e.buf.Len()+2 > maxPayload && i > first {
			// Without msgs[i], buf is a whole payload: send it, and start
			// the next with msgs[i].
			enc := slices.Clone(e.buf.Bytes()[mark+1:])
			e.buf.Truncate(mark)
			e.buf.WriteString("]}")
			emit(partOf(first, i), e.buf.Bytes())
			e.buf.Reset()
			e.buf.WriteString(head)
			e.buf.Write(enc)
			first = i
		}
	}
	e.buf.WriteString("]}")
	emit(partOf(first, len(msgs)), e.buf.Bytes())
	return nil
}
