package redis

import (
	"context"
	"slices"

	"github.com/hanashi-chat/hanashi"
)

// PublishSignals delivers sigs to this node's subscribers before it
// returns and queues them for the other nodes, like Publish; but a signal
// that Redis does not take at the first attempt is dropped, never sent
// late. It does not keep sigs: the caller may reuse the slice.
func (b *Broker) PublishSignals(ctx context.Context, sigs []hanashi.Signal) error {
	if len(sigs) == 0 {
		return nil
	}
	sigs = slices.Clone(sigs)
	runs := make([]pending, 0, 1)
	for i := 0; i < len(sigs); {
		j := i + 1
		for j < len(sigs) && sigs[j].Room == sigs[i].Room {
			j++
		}
		runs = append(runs, pending{room: sigs[i].Room, sigs: sigs[i:j:j]})
		i = j
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
			r.deliverSignals(runs[i].sigs)
		}
	}
	b.pub.add(b.log, runs)
	return nil
}

func (r *room) deliverSignals(sigs []hanashi.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sub != nil {
		for _, s := range sigs {
			r.sub.DeliverSignal(s)
		}
	}
}

// deliverWire hands a payload's messages to the subscriber, and the
// signals among them (Seq 0, see the package documentation) as signals,
// in their order.
func (r *room) deliverWire(msgs []hanashi.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sub == nil {
		return
	}
	for i := 0; i < len(msgs); {
		if msgs[i].Seq == 0 {
			r.sub.DeliverSignal(signalFromWire(msgs[i]))
			i++
			continue
		}
		j := i + 1
		for j < len(msgs) && msgs[j].Seq != 0 {
			j++
		}
		r.sub.Deliver(msgs[i:j:j])
		i = j
	}
}

// wireSignals returns sigs in their form on the wire: messages with Seq 0.
func wireSignals(sigs []hanashi.Signal) []hanashi.Message {
	msgs := make([]hanashi.Message, len(sigs))
	for i, s := range sigs {
		msgs[i] = hanashi.Message{
			Room: s.Room, Kind: hanashi.Kind(s.Kind), ClientID: s.Node,
			Author: s.User, Child: s.About, Body: s.Payload,
		}
	}
	return msgs
}

// signalFromWire undoes wireSignals for one message with Seq 0.
func signalFromWire(m hanashi.Message) hanashi.Signal {
	return hanashi.Signal{
		Room: m.Room, Kind: hanashi.SignalKind(m.Kind), Node: m.ClientID,
		User: m.Author, About: m.Child, Payload: m.Body,
	}
}
