// Package inmem provides the Broker for a single node: publishing hands
// messages and signals straight to this process's subscribers. It is the
// default when no Redis is configured.
package inmem

import (
	"context"
	"sync"

	"github.com/hanashi-chat/hanashi"
)

var _ hanashi.Broker = (*Broker)(nil)

// Broker is an in-process hanashi.Broker. It is safe for concurrent use.
type Broker struct {
	mu   sync.RWMutex
	subs map[hanashi.RoomID]*entry
}

// entry serialises deliveries to one subscriber, as the contract requires.
type entry struct {
	mu  sync.Mutex
	sub hanashi.Subscriber
}

// NewBroker returns an empty in-process broker.
func NewBroker() *Broker {
	return &Broker{subs: make(map[hanashi.RoomID]*entry)}
}

// Publish delivers msgs synchronously to the subscribers of their rooms.
func (b *Broker) Publish(ctx context.Context, msgs []hanashi.Message) error {
	for i := 0; i < len(msgs); {
		// Hand over each run of consecutive messages of one room at once.
		j := i + 1
		for j < len(msgs) && msgs[j].Room == msgs[i].Room {
			j++
		}
		if e := b.entry(msgs[i].Room); e != nil {
			e.mu.Lock()
			if e.sub != nil {
				e.sub.Deliver(msgs[i:j])
			}
			e.mu.Unlock()
		}
		i = j
	}
	return nil
}

// PublishSignals delivers sigs synchronously to the subscribers of their
// rooms.
func (b *Broker) PublishSignals(ctx context.Context, sigs []hanashi.Signal) error {
	for _, s := range sigs {
		if e := b.entry(s.Room); e != nil {
			e.mu.Lock()
			if e.sub != nil {
				e.sub.DeliverSignal(s)
			}
			e.mu.Unlock()
		}
	}
	return nil
}

func (b *Broker) entry(room hanashi.RoomID) *entry {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.subs[room]
}

// Subscribe makes sub the receiver of room's messages.
func (b *Broker) Subscribe(ctx context.Context, room hanashi.RoomID, sub hanashi.Subscriber) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		return hanashi.Errorf(hanashi.EUNAVAILABLE, "broker closed")
	}
	if e := b.subs[room]; e != nil {
		e.mu.Lock()
		e.sub = sub
		e.mu.Unlock()
		return nil
	}
	b.subs[room] = &entry{sub: sub}
	return nil
}

// Unsubscribe stops deliveries to sub.
func (b *Broker) Unsubscribe(ctx context.Context, room hanashi.RoomID, sub hanashi.Subscriber) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.subs[room]; e != nil && e.sub == sub {
		delete(b.subs, room)
		// A Publish that loaded e before the delete must not deliver to sub
		// after Unsubscribe returns.
		e.mu.Lock()
		e.sub = nil
		e.mu.Unlock()
	}
	return nil
}

// Close drops every subscription; later calls to Subscribe fail.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.subs {
		e.mu.Lock()
		e.sub = nil
		e.mu.Unlock()
	}
	b.subs = nil
	return nil
}
