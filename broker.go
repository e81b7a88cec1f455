package hanashi

import "context"

// Broker carries two things between the nodes of a deployment, each by its
// own name: committed messages, from the node that stored them to every
// node with subscribers in their room, and signals (typing, presence, a
// read marker's echo), which are never stored.
//
// For messages the broker is a wake-up call, not the record: it may drop
// messages (a restart, a network blip) and receivers fill any gap in a
// room's sequence from the Store.
//
// Signals are best effort: a broker carries each one unchanged, but it may
// drop one rather than deliver it late, and nobody fills a gap in them.
// Room 0 is never a room: signals published to it are addressed to nodes,
// and reach every node whose hub subscribes room 0.
//
// Order: what one publisher hands over for a room, messages and signals
// alike, arrives in the order it was handed over (less what is dropped).
//
// Implementations are safe for concurrent use and must pass the conformance
// suite in package brokertest.
type Broker interface {
	// Publish hands messages that are already committed to the Store (so
	// each has a Seq) to every node subscribed to their rooms.
	Publish(ctx context.Context, msgs []Message) error
	// PublishSignals hands signals to every node subscribed to their rooms.
	PublishSignals(ctx context.Context, sigs []Signal) error
	// Subscribe arranges for the messages and signals later published to
	// room, by any node, to be handed to sub. It returns once the
	// subscription is active: anything published after Subscribe returns is
	// delivered (unless lost, which sub learns through Missed). Subscribing
	// a room again replaces its subscriber.
	Subscribe(ctx context.Context, room RoomID, sub Subscriber) error
	// Unsubscribe stops deliveries to sub for room. It does nothing when sub
	// is not (or no longer) room's subscriber, so a late Unsubscribe cannot
	// cancel a newer Subscribe.
	Unsubscribe(ctx context.Context, room RoomID, sub Subscriber) error
	// Close stops all deliveries.
	Close() error
}

// Subscriber receives one room's messages and signals from a Broker. The
// broker never calls one subscriber concurrently with itself (whichever
// methods). No method may block for long: they run on the broker's
// delivery path.
type Subscriber interface {
	// Deliver hands over committed messages (never signals) in the order
	// the broker received them.
	Deliver(msgs []Message)
	// DeliverSignal hands over one signal (never a message).
	DeliverSignal(s Signal)
	// Missed reports that messages may have been lost (for example after the
	// broker reconnected); the subscriber should catch up from the Store.
	Missed()
}

// Signal is an ephemeral notice between nodes: never stored, never
// numbered, not part of a room's sequence nor of a resume. Its kinds and
// the meaning of its fields belong to the hub; a broker carries it as it is.
type Signal struct {
	// Room is the room whose subscribers it is for; 0 addresses nodes.
	Room RoomID
	// Kind says what it is (typing, presence, a read marker's echo...).
	Kind SignalKind
	// Node is the instance that published it, so that it can know its own.
	Node string
	// User is whom it is about, if anyone.
	User Author
	// About is, for a signal to nodes, the room it concerns.
	About RoomID
	// Payload is what the kind needs besides (a state, a seq, a list).
	Payload string
}

// SignalKind is what a Signal says.
type SignalKind string
