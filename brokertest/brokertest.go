// Package brokertest is the conformance suite every hanashi.Broker must
// pass. Implementations call Test from their own tests.
package brokertest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/testutil"
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
	var got []T
	testutil.EventuallyNil(t, 5*time.Second, fmt.Sprintf("%d %s", n, what), func() error {
		if got = get(); len(got) >= n {
			return nil
		}
		return fmt.Errorf("got %d %s, want %d", len(got), what, n)
	})
	return got
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
