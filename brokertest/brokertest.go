// Package brokertest is the conformance suite every hanashi.Broker must
// pass. Implementations call Test from their own tests.
package brokertest

import (
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
}

// Recorder is a Subscriber that keeps what it receives. It is safe for
// concurrent use and reports overlapping Deliver calls.
type Recorder struct {
	mu      sync.Mutex
	msgs    []hanashi.Message
	missed  int
	inside  atomic.Int32
	overlap atomic.Bool
}

// Deliver records msgs.
func (r *Recorder) Deliver(msgs []hanashi.Message) {
	if r.inside.Add(1) > 1 {
		r.overlap.Store(true)
	}
	defer r.inside.Add(-1)
	r.mu.Lock()
	r.msgs = append(r.msgs, msgs...)
	r.mu.Unlock()
}

// Missed counts the calls.
func (r *Recorder) Missed() {
	r.mu.Lock()
	r.missed++
	r.mu.Unlock()
}

// Messages returns a copy of what was delivered so far.
func (r *Recorder) Messages() []hanashi.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hanashi.Message(nil), r.msgs...)
}

// WaitFor polls until at least n messages arrived or the deadline passes.
func (r *Recorder) WaitFor(t *testing.T, n int) []hanashi.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.Messages()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d messages, want %d", len(got), n)
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
				s := int64(g*1000 + i)
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
