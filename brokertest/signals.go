package brokertest

// The part of the suite about signals: they travel apart from messages
// (Deliver never sees one, DeliverSignal never sees a message), unchanged,
// in order, and on room 0 to every node.

import (
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/hanashi-chat/hanashi"
)

// signal returns a signal with every field set.
func signal(room hanashi.RoomID, n int) hanashi.Signal {
	return hanashi.Signal{
		Room: room, Kind: "typing", Node: "node-1", Payload: strconv.Itoa(n), About: 7,
		User: hanashi.Author{ID: "u1", Name: "alice", AvatarURL: "/a.png"},
	}
}

// step is one call to a broker: Publish of msgs, or PublishSignals of sigs.
type step struct {
	msgs []hanashi.Message
	sigs []hanashi.Signal
}

func play(t *testing.T, b hanashi.Broker, steps []step) {
	t.Helper()
	for _, s := range steps {
		var err error
		if s.sigs != nil {
			err = b.PublishSignals(t.Context(), s.sigs)
		} else {
			err = b.Publish(t.Context(), s.msgs)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// arrivals returns what steps hand a subscriber of room, in order.
func arrivals(steps []step, room hanashi.RoomID) []Arrival {
	var out []Arrival
	for _, s := range steps {
		for _, m := range s.msgs {
			if m.Room == room {
				out = append(out, Arrival{Msg: m})
			}
		}
		for _, x := range s.sigs {
			if x.Room == room {
				out = append(out, Arrival{Signal: true, Sig: x})
			}
		}
	}
	return out
}

// checkArrivals checks that got is want: each message through Deliver and
// each signal, unchanged, through DeliverSignal, in order.
func checkArrivals(t *testing.T, got, want []Arrival) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages and signals, want %d:\n%+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		switch {
		case g.Signal != w.Signal:
			t.Fatalf("arrival %d is %+v, want %+v", i, g, w)
		case w.Signal && g.Sig != w.Sig:
			t.Fatalf("signal %d is %+v, want %+v", i, g.Sig, w.Sig)
		case !w.Signal && (g.Msg.ID != w.Msg.ID || g.Msg.Room != w.Msg.Room || g.Msg.Seq != w.Msg.Seq):
			t.Fatalf("message %d is room %d seq %d, want room %d seq %d", i, g.Msg.Room, g.Msg.Seq, w.Msg.Room, w.Msg.Seq)
		}
	}
}

// signalSteps interleaves signals of room 1 with its messages, and ends
// with a signal to nodes (room 0).
func signalSteps() []step {
	m := msgs(1, 1, 2)
	return []step{
		{sigs: []hanashi.Signal{signal(1, 1)}},
		{msgs: m[:1]},
		{sigs: []hanashi.Signal{signal(1, 2), signal(1, 3)}},
		{msgs: m[1:]},
		{sigs: []hanashi.Signal{signal(1, 4)}},
		{sigs: []hanashi.Signal{signal(0, 9)}},
	}
}

// testSignals: signals pass through unchanged, through DeliverSignal, in
// publish order among a room's messages, and on room 0, the nodes' channel.
func testSignals(t *testing.T, b hanashi.Broker) {
	closeAtEnd(t, b)
	var r, nodes Recorder
	if err := b.Subscribe(t.Context(), 1, &r); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(t.Context(), 0, &nodes); err != nil {
		t.Fatal(err)
	}
	steps := signalSteps()
	play(t, b, steps)
	checkArrivals(t, r.WaitForArrivals(t, 6), arrivals(steps, 1))
	checkArrivals(t, nodes.WaitForArrivals(t, 1), arrivals(steps, 0))
}

// testSignalsApart: a signal never reaches Deliver and a message never
// reaches DeliverSignal, however the two are published.
func testSignalsApart(t *testing.T, b hanashi.Broker) {
	closeAtEnd(t, b)
	var r Recorder
	if err := b.Subscribe(t.Context(), 1, &r); err != nil {
		t.Fatal(err)
	}
	sigs := []hanashi.Signal{signal(1, 1), signal(1, 2), signal(1, 3)}
	m := msgs(1, 1, 3)
	play(t, b, []step{{sigs: sigs}, {msgs: m[:1]}, {msgs: m[1:]}, {sigs: sigs[:1]}})
	r.WaitForArrivals(t, 7)
	checkApart(t, &r, m, append(sigs, sigs[0]))
}

func checkApart(t *testing.T, r *Recorder, msgs []hanashi.Message, sigs []hanashi.Signal) {
	t.Helper()
	got := r.Messages()
	if len(got) != len(msgs) {
		t.Fatalf("Deliver got %d messages, want the %d published (no signal)", len(got), len(msgs))
	}
	for i, m := range got {
		if m.Seq == 0 || m.ID != msgs[i].ID {
			t.Fatalf("Deliver got %+v as message %d, want %+v", m, i, msgs[i])
		}
	}
	gotSigs := r.Signals()
	if len(gotSigs) != len(sigs) {
		t.Fatalf("DeliverSignal got %d signals, want the %d published (no message)", len(gotSigs), len(sigs))
	}
	for i, s := range gotSigs {
		if s != sigs[i] {
			t.Fatalf("DeliverSignal got %+v as signal %d, want %+v", s, i, sigs[i])
		}
	}
}

// testSignalsInOrder: the signals of each publisher arrive in the order
// published, one per call or many, while others publish too.
func testSignalsInOrder(t *testing.T, b hanashi.Broker) {
	closeAtEnd(t, b)
	var r Recorder
	if err := b.Subscribe(t.Context(), 1, &r); err != nil {
		t.Fatal(err)
	}
	publishSignalsConcurrently(t, []hanashi.Broker{b})
	checkSignalOrder(t, r.WaitForSignals(t, signalsTotal(1)), signalsTotal(1))
	if r.overlap.Load() {
		t.Fatal("DeliverSignal was called concurrently for one subscriber")
	}
}

const signalGoroutines, signalsEach = 4, 60

func signalsTotal(nodes int) int { return nodes * signalGoroutines * signalsEach }

// publishSignalsConcurrently publishes signalsEach signals to room 1 from
// signalGoroutines goroutines on each node, their Payload numbering them:
// node*100000 + goroutine*1000 + i. Every third call carries two signals.
func publishSignalsConcurrently(t *testing.T, nodes []hanashi.Broker) {
	var wg sync.WaitGroup
	for n, node := range nodes {
		for g := range signalGoroutines {
			wg.Go(func() {
				for i := 0; i < signalsEach; {
					var batch []hanashi.Signal
					for k := 0; k < 1+(i/2)%2 && i < signalsEach; k++ {
						batch = append(batch, signal(1, n*100000+g*1000+i))
						i++
					}
					if err := node.PublishSignals(t.Context(), batch); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
}

func checkSignalOrder(t *testing.T, got []hanashi.Signal, total int) {
	t.Helper()
	if len(got) != total {
		t.Fatalf("got %d signals, want %d", len(got), total)
	}
	last := make(map[int]int) // by publishing goroutine
	for _, s := range got {
		n, err := strconv.Atoi(s.Payload)
		if err != nil {
			t.Fatalf("signal %+v is none of those published", s)
		}
		if prev, ok := last[n/1000]; ok && n != prev+1 {
			t.Fatalf("got signal %d after %d", n, prev)
		}
		last[n/1000] = n
	}
}

// testSignalsAcrossNodes: signals reach the other node unchanged and in
// order, on a room's channel and on room 0.
func testSignalsAcrossNodes(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	a, b := openNodes(t, open)
	var r, nodes Recorder
	subscribe(t, b, 1, &r)
	subscribe(t, b, 0, &nodes)
	steps := signalSteps()
	play(t, a, steps)
	checkArrivals(t, r.WaitForArrivals(t, 6), arrivals(steps, 1))
	checkArrivals(t, nodes.WaitForArrivals(t, 1), arrivals(steps, 0))
}

// testSignalsApartAcrossNodes: testSignalsApart, from another node.
func testSignalsApartAcrossNodes(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	a, b := openNodes(t, open)
	var r Recorder
	subscribe(t, b, 1, &r)
	sigs := []hanashi.Signal{signal(1, 1), signal(1, 2), signal(1, 3)}
	m := msgs(1, 1, 3)
	play(t, a, []step{{sigs: sigs}, {msgs: m[:1]}, {msgs: m[1:]}, {sigs: sigs[:1]}})
	r.WaitForArrivals(t, 7)
	barrier(t, a, b, 100)
	checkApart(t, &r, m, append(sigs, sigs[0]))
}

// testSignalsInOrderAcrossNodes: both nodes publish signals to a room
// both subscribe, from several goroutines each; every subscriber gets
// every signal once, each goroutine's in order.
func testSignalsInOrderAcrossNodes(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	a, b := openNodes(t, open)
	var ra, rb Recorder
	subscribe(t, a, 1, &ra)
	subscribe(t, b, 1, &rb)
	publishSignalsConcurrently(t, []hanashi.Broker{a, b})
	total := signalsTotal(2)
	ra.WaitForSignals(t, total)
	rb.WaitForSignals(t, total)
	barrier(t, b, a, 100)
	barrier(t, a, b, 101)
	for name, r := range map[string]*Recorder{"a": &ra, "b": &rb} {
		t.Run(name, func(t *testing.T) { checkSignalOrder(t, r.Signals(), total) })
		if r.overlap.Load() {
			t.Fatalf("the subscriber on node %s was called concurrently", name)
		}
	}
}

// testSignalsToNodes: a signal to room 0 reaches every node subscribed to
// it, the publisher's own included, once.
func testSignalsToNodes(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	a, b := openNodes(t, open)
	var ra, rb Recorder
	subscribe(t, a, 0, &ra)
	subscribe(t, b, 0, &rb)
	fromA := hanashi.Signal{Room: 0, Kind: "read", Node: "a", User: hanashi.Author{ID: "u1"}, About: 5, Payload: "42"}
	fromB := fromA
	fromB.Node, fromB.Payload = "b", "43"
	play(t, a, []step{{sigs: []hanashi.Signal{fromA}}})
	play(t, b, []step{{sigs: []hanashi.Signal{fromB}}})
	ra.WaitForSignals(t, 2)
	rb.WaitForSignals(t, 2)
	barrier(t, b, a, 100)
	barrier(t, a, b, 101)
	for name, r := range map[string]*Recorder{"a": &ra, "b": &rb} {
		got := r.Signals()
		if len(got) != 2 || !slices.Contains(got, fromA) || !slices.Contains(got, fromB) {
			t.Errorf("node %s got %+v, want each node's signal once", name, got)
		}
		if n := len(r.Messages()); n != 0 {
			t.Errorf("node %s got %d messages on room 0", name, n)
		}
	}
}
