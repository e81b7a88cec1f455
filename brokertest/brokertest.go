// Package brokertest is the conformance suite every hanashi.Broker must
// pass. Implementations call Test from their own tests.
package brokertest

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// Test runs the suite. open returns a fresh broker; the suite closes it.
func Test(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	t.Run("DeliversInOrder", func(t *testing.T) { testDeliversInOrder(t, open(t)) })
	t.Run("RoomsAreSeparate", func(t *testing.T) { testRoomsAreSeparate(t, open(t)) })
	t.Run("Unsubscribe", func(t *testing.T) { testUnsubscribe(t, open(t)) })
	t.Run("StaleUnsubscribe", func(t *testing.T) { testStaleUnsubscribe(t, open(t)) })
	t.Run("NoConcurrentDeliver", func(t *testing.T) { testNoConcurrentDeliver(t, open(t)) })
	t.Run("Signals", func(t *testing.T) { testSignals(t, open(t)) })
	t.Run("SignalsApart", func(t *testing.T) { testSignalsApart(t, open(t)) })
	t.Run("SignalsInOrder", func(t *testing.T) { testSignalsInOrder(t, open(t)) })
}

// Recorder is a Subscriber that keeps what it receives. It is safe for
// concurrent use and reports overlapping calls.
type Recorder struct {
	mu       sync.Mutex
	msgs     []hanashi.Message
	sigs     []hanashi.Signal
	arrivals []Arrival
	missed   int
	inside   atomic.Int32
	overlap  atomic.Bool
}

// Arrival is one message or one signal, as a Recorder received it.
type Arrival struct {
	Signal bool            // which of the two it is
	Msg    hanashi.Message // when not Signal
	Sig    hanashi.Signal  // when Signal
}

func (r *Recorder) enter() {
	if r.inside.Add(1) > 1 {
		r.overlap.Store(true)
	}
}

// Deliver records msgs.
func (r *Recorder) Deliver(msgs []hanashi.Message) {
	r.enter()
	defer r.inside.Add(-1)
	r.mu.Lock()
	r.msgs = append(r.msgs, msgs...)
	for _, m := range msgs {
		r.arrivals = append(r.arrivals, Arrival{Msg: m})
	}
	r.mu.Unlock()
}

// DeliverSignal records s.
func (r *Recorder) DeliverSignal(s hanashi.Signal) {
	r.enter()
	defer r.inside.Add(-1)
	r.mu.Lock()
	r.sigs = append(r.sigs, s)
	r.arrivals = append(r.arrivals, Arrival{Signal: true, Sig: s})
	r.mu.Unlock()
}

// Missed counts the calls.
func (r *Recorder) Missed() {
	r.mu.Lock()
	r.missed++
	r.mu.Unlock()
}

// MissedCalls returns how often Missed was called so far.
func (r *Recorder) MissedCalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.missed
}

// Messages returns a copy of the messages delivered so far.
func (r *Recorder) Messages() []hanashi.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hanashi.Message(nil), r.msgs...)
}

// Signals returns a copy of the signals delivered so far.
func (r *Recorder) Signals() []hanashi.Signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hanashi.Signal(nil), r.sigs...)
}

// Arrivals returns a copy of the messages and signals delivered so far,
// in the order they arrived.
func (r *Recorder) Arrivals() []Arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Arrival(nil), r.arrivals...)
}

// WaitFor polls until at least n messages arrived or the deadline passes.
func (r *Recorder) WaitFor(t *testing.T, n int) []hanashi.Message {
	t.Helper()
	return waitFor(t, n, "messages", r.Messages)
}

// WaitForSignals polls until at least n signals arrived or the deadline
// passes.
func (r *Recorder) WaitForSignals(t *testing.T, n int) []hanashi.Signal {
	t.Helper()
	return waitFor(t, n, "signals", r.Signals)
}

// WaitForArrivals polls until at least n messages and signals arrived in
// all or the deadline passes.
func (r *Recorder) WaitForArrivals(t *testing.T, n int) []Arrival {
	t.Helper()
	return waitFor(t, n, "messages and signals", r.Arrivals)
}

func waitFor[T any](t *testing.T, n int, what string, get func() []T) []T {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := get()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d %s, want %d", len(got), what, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func msgs(room hanashi.RoomID, from, to int64) []hanashi.Message {
	var out []hanashi.Message
	for s := from; s <= to; s++ {
		out = append(out, hanashi.Message{ID: hanashi.MessageID(hanashi.NewID()), Room: room, Seq: s, Body: "m"})
	}
	return out
}

func closeAtEnd(t *testing.T, b hanashi.Broker) {
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func checkSeqs(t *testing.T, got []hanashi.Message, room hanashi.RoomID, from, to int64) {
	t.Helper()
	if len(got) != int(to-from+1) {
		t.Fatalf("got %d messages, want %d", len(got), to-from+1)
	}
	for i, m := range got {
		if m.Room != room || m.Seq != from+int64(i) {
			t.Fatalf("message %d is room %d seq %d, want room %d seq %d", i, m.Room, m.Seq, room, from+int64(i))
		}
	}
}

func testDeliversInOrder(t *testing.T, b hanashi.Broker) {
	closeAtEnd(t, b)
	var r Recorder
	if err := b.Subscribe(t.Context(), 1, &r); err != nil {
		t.Fatal(err)
	}
	for s := int64(1); s <= 100; s += 10 {
		if err := b.Publish(t.Context(), msgs(1, s, s+9)); err != nil {
			t.Fatal(err)
		}
	}
	checkSeqs(t, r.WaitFor(t, 100), 1, 1, 100)
}

func testRoomsAreSeparate(t *testing.T, b hanashi.Broker) {
	closeAtEnd(t, b)
	var r1, r2 Recorder
	if err := b.Subscribe(t.Context(), 1, &r1); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(t.Context(), 2, &r2); err != nil {
		t.Fatal(err)
	}
	mixed := append(msgs(1, 1, 3), msgs(2, 1, 2)...)
	mixed = append(mixed, msgs(3, 1, 5)...) // nobody subscribed
	mixed = append(mixed, msgs(1, 4, 4)...)
	if err := b.Publish(t.Context(), mixed); err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, r1.WaitFor(t, 4), 1, 1, 4)
	checkSeqs(t, r2.WaitFor(t, 2), 2, 1, 2)
}

func testUnsubscribe(t *testing.T, b hanashi.Broker) {
	closeAtEnd(t, b)
	var r, marker Recorder
	if err := b.Subscribe(t.Context(), 1, &r); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(t.Context(), 2, &marker); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(t.Context(), msgs(1, 1, 1)); err != nil {
		t.Fatal(err)
	}
	r.WaitFor(t, 1)
	if err := b.Unsubscribe(t.Context(), 1, &r); err != nil {
		t.Fatal(err)
	}
	if err := b.Unsubscribe(t.Context(), 7, &r); err != nil {
		t.Fatalf("unsubscribing an unknown room: %v", err)
	}
	// Publish to room 1 and then to room 2: once room 2's message is in, a
	// broker that preserves publish order would have delivered room 1's too.
	if err := b.Publish(t.Context(), msgs(1, 2, 2)); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(t.Context(), msgs(2, 1, 1)); err != nil {
		t.Fatal(err)
	}
	marker.WaitFor(t, 1)
	if got := r.Messages(); len(got) != 1 {
		t.Fatalf("after Unsubscribe got %d messages, want 1", len(got))
	}
}

func testStaleUnsubscribe(t *testing.T, b hanashi.Broker) {
	closeAtEnd(t, b)
	var old, cur Recorder
	if err := b.Subscribe(t.Context(), 1, &old); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(t.Context(), 1, &cur); err != nil {
		t.Fatal(err)
	}
	if err := b.Unsubscribe(t.Context(), 1, &old); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(t.Context(), msgs(1, 1, 2)); err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, cur.WaitFor(t, 2), 1, 1, 2)
	if n := len(old.Messages()); n != 0 {
		t.Fatalf("replaced subscriber got %d messages", n)
	}
}

func testNoConcurrentDeliver(t *testing.T, b hanashi.Broker) {
	closeAtEnd(t, b)
	var r Recorder
	if err := b.Subscribe(t.Context(), 1, &r); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				s := int64(g*1000 + i + 1) // committed: from seq 1
				if err := b.Publish(t.Context(), msgs(1, s, s)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	r.WaitFor(t, 400)
	if r.overlap.Load() {
		t.Fatal("Deliver was called concurrently for one subscriber")
	}
}

// TestNodes runs the part of the suite about several nodes. open returns a
// fresh broker that is ready to exchange messages with the other nodes;
// brokers opened for the same t are nodes of one deployment. The suite
// closes them. Single-node brokers do not run it.
//
// Some checks need to know that nothing more is on its way to a node. They
// rely on causality: once node b has received a message from a, b
// publishes a marker, and when the marker reaches a, so has everything the
// broker carried to a before.
func TestNodes(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	t.Run("AcrossNodes", func(t *testing.T) { testAcrossNodes(t, open) })
	t.Run("BothNodesPublish", func(t *testing.T) { testBothNodesPublish(t, open) })
	t.Run("ActiveOnReturn", func(t *testing.T) { testActiveOnReturn(t, open) })
	t.Run("UnsubscribeAcrossNodes", func(t *testing.T) { testUnsubscribeAcrossNodes(t, open) })
	t.Run("ResubscribeAcrossNodes", func(t *testing.T) { testResubscribeAcrossNodes(t, open) })
	t.Run("StaleUnsubscribeAcrossNodes", func(t *testing.T) { testStaleUnsubscribeAcrossNodes(t, open) })
	t.Run("SignalsAcrossNodes", func(t *testing.T) { testSignalsAcrossNodes(t, open) })
	t.Run("SignalsApartAcrossNodes", func(t *testing.T) { testSignalsApartAcrossNodes(t, open) })
	t.Run("SignalsInOrderAcrossNodes", func(t *testing.T) { testSignalsInOrderAcrossNodes(t, open) })
	t.Run("SignalsToNodes", func(t *testing.T) { testSignalsToNodes(t, open) })
}

func openNodes(t *testing.T, open func(t *testing.T) hanashi.Broker) (a, b hanashi.Broker) {
	a, b = open(t), open(t)
	closeAtEnd(t, a)
	closeAtEnd(t, b)
	return a, b
}

func subscribe(t *testing.T, b hanashi.Broker, room hanashi.RoomID, r *Recorder) {
	t.Helper()
	if err := b.Subscribe(t.Context(), room, r); err != nil {
		t.Fatalf("Subscribe(%d): %v", room, err)
	}
}

func publish(t *testing.T, b hanashi.Broker, msgs []hanashi.Message) {
	t.Helper()
	if err := b.Publish(t.Context(), msgs); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// barrier returns once everything the broker carried from from to to
// before the call has arrived at to. room must be unused by the test.
func barrier(t *testing.T, from, to hanashi.Broker, room hanashi.RoomID) {
	t.Helper()
	var mark Recorder
	subscribe(t, to, room, &mark)
	publish(t, from, msgs(room, 1, 1))
	mark.WaitFor(t, 1)
	if err := to.Unsubscribe(t.Context(), room, &mark); err != nil {
		t.Fatal(err)
	}
}

// testAcrossNodes: what a node publishes reaches the other node in order,
// and its own subscriber exactly once (not again on the way back).
func testAcrossNodes(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	a, b := openNodes(t, open)
	var ra, rb Recorder
	subscribe(t, a, 1, &ra)
	subscribe(t, b, 1, &rb)
	for s := int64(1); s <= 100; s += 10 {
		publish(t, a, msgs(1, s, s+9))
	}
	checkSeqs(t, ra.WaitFor(t, 100), 1, 1, 100)
	checkSeqs(t, rb.WaitFor(t, 100), 1, 1, 100)
	barrier(t, b, a, 100)
	barrier(t, a, b, 101)
	if n := len(ra.Messages()); n != 100 {
		t.Fatalf("the publishing node's subscriber got %d messages, want 100", n)
	}
	if n := len(rb.Messages()); n != 100 {
		t.Fatalf("the other node's subscriber got %d messages, want 100", n)
	}
}

// testBothNodesPublish: both nodes publish to a room both subscribe, from
// several goroutines each. Every subscriber gets every message once, each
// goroutine's in order, and is never called concurrently — although its
// node delivers its own messages and the other node's from different
// goroutines.
func testBothNodesPublish(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	a, b := openNodes(t, open)
	var ra, rb Recorder
	subscribe(t, a, 1, &ra)
	subscribe(t, b, 1, &rb)
	const goroutines, each = 4, 50
	var wg sync.WaitGroup
	for n, node := range []hanashi.Broker{a, b} {
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					s := int64(n*100000 + g*1000 + i + 1) // committed: from seq 1
					if err := node.Publish(t.Context(), msgs(1, s, s)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	const total = 2 * goroutines * each
	ra.WaitFor(t, total)
	rb.WaitFor(t, total)
	barrier(t, b, a, 100)
	barrier(t, a, b, 101)
	for name, r := range map[string]*Recorder{"a": &ra, "b": &rb} {
		got := r.Messages()
		if len(got) != total {
			t.Fatalf("node %s got %d messages, want %d", name, len(got), total)
		}
		last := make(map[int64]int64) // by publishing goroutine
		for _, m := range got {
			from := m.Seq / 1000
			if prev, ok := last[from]; ok && m.Seq <= prev {
				t.Fatalf("node %s got seq %d after %d", name, m.Seq, prev)
			}
			last[from] = m.Seq
		}
		if r.overlap.Load() {
			t.Fatalf("Deliver was called concurrently on node %s", name)
		}
	}
}

// testActiveOnReturn: once Subscribe returns, what another node publishes
// arrives.
func testActiveOnReturn(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	a, b := openNodes(t, open)
	var rs [20]Recorder
	for i := range rs {
		room := hanashi.RoomID(i + 1)
		subscribe(t, b, room, &rs[i])
		publish(t, a, msgs(room, 1, 1))
	}
	for i := range rs {
		checkSeqs(t, rs[i].WaitFor(t, 1), hanashi.RoomID(i+1), 1, 1)
	}
}

func testUnsubscribeAcrossNodes(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	a, b := openNodes(t, open)
	var r Recorder
	subscribe(t, b, 1, &r)
	publish(t, a, msgs(1, 1, 1))
	r.WaitFor(t, 1)
	if err := b.Unsubscribe(t.Context(), 1, &r); err != nil {
		t.Fatal(err)
	}
	publish(t, a, msgs(1, 2, 2))
	barrier(t, a, b, 100)
	if got := r.Messages(); len(got) != 1 {
		t.Fatalf("after Unsubscribe got %d messages, want 1", len(got))
	}
}

// testResubscribeAcrossNodes: subscribing right after unsubscribing leaves
// the room subscribed, however the two race inside the broker.
func testResubscribeAcrossNodes(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	a, b := openNodes(t, open)
	var prev *Recorder
	for s := int64(1); s <= 20; s++ {
		r := new(Recorder)
		if prev != nil {
			if err := b.Unsubscribe(t.Context(), 1, prev); err != nil {
				t.Fatal(err)
			}
		}
		subscribe(t, b, 1, r)
		publish(t, a, msgs(1, s, s))
		checkSeqs(t, r.WaitFor(t, 1), 1, s, s)
		prev = r
	}
}

func testStaleUnsubscribeAcrossNodes(t *testing.T, open func(t *testing.T) hanashi.Broker) {
	a, b := openNodes(t, open)
	var old, cur Recorder
	subscribe(t, b, 1, &old)
	subscribe(t, b, 1, &cur)
	if err := b.Unsubscribe(t.Context(), 1, &old); err != nil {
		t.Fatal(err)
	}
	publish(t, a, msgs(1, 1, 2))
	checkSeqs(t, cur.WaitFor(t, 2), 1, 1, 2)
	if n := len(old.Messages()); n != 0 {
		t.Fatalf("replaced subscriber got %d messages", n)
	}
}

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
