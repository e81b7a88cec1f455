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
	return b.publishRuns(runsOf(slices.Clone(sigs), func(s hanashi.Signal) hanashi.RoomID { return s.Room },
		func(room hanashi.RoomID, run []hanashi.Signal) pending { return pending{room: room, sigs: run} }))
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
