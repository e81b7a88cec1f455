package hanashi

import "context"

// Broker carries committed messages from the node that stored them to every
// node with subscribers in the room. It is a wake-up signal, not the record:
// a broker may drop messages (a restart, a network blip) and receivers fill
// any gap in a room's sequence from the Store.
//
// A message with Seq 0 is a signal (typing, presence, a read marker's
// echo): ephemeral, never stored and never part of a room's sequence. A
// broker carries it like any other message, unchanged and in publish order,
// but it may drop one rather than deliver it late; receivers never fill a
// gap for signals nor count them in a room's sequence. Room 0 is never a
// room: hubs use it for signals addressed to nodes rather than rooms.
//
// Implementations are safe for concurrent use and must pass the conformance
// suite in package brokertest.
type Broker interface {
	// Publish hands messages that are already committed to the Store to every
	// node subscribed to their rooms. Messages of one room published by one
	// call arrive in the given order.
	Publish(ctx context.Context, msgs []Message) error
	// Subscribe arranges for the messages later published to room, by any
	// node, to be handed to sub. It returns once the subscription is active:
	// anything published after Subscribe returns is delivered (unless lost,
	// which sub learns through Missed). Subscribing a room again replaces its
	// subscriber.
	Subscribe(ctx context.Context, room RoomID, sub Subscriber) error
	// Unsubscribe stops deliveries to sub for room. It does nothing when sub
	// is not (or no longer) room's subscriber, so a late Unsubscribe cannot
	// cancel a newer Subscribe.
	Unsubscribe(ctx context.Context, room RoomID, sub Subscriber) error
	// Close stops all deliveries.
	Close() error
}

// Subscriber receives one room's messages from a Broker. The broker never
// calls one subscriber concurrently with itself.
type Subscriber interface {
	// Deliver hands over messages in the order the broker received them.
	// It must not block for long: it runs on the broker's delivery path.
	Deliver(msgs []Message)
	// Missed reports that messages may have been lost (for example after the
	// broker reconnected); the subscriber should catch up from the Store.
	Missed()
}
