package hub_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// waitStats polls the hub's counters until ok accepts them: deliveries are
// counted just after the writer takes the frames, so a reader may see a
// frame a moment before the count.
func waitStats(t *testing.T, h *hub.Hub, what string, ok func(hub.Stats) bool) hub.Stats {
	t.Helper()
	var st hub.Stats
	testutil.EventuallyNil(t, 10*time.Second, what, func() error {
		if st = h.Stats(); ok(st) {
			return nil
		}
		return fmt.Errorf("stats %+v", st)
	})
	return st
}

// TestStats follows the counters through subscriptions, sends, a resend,
// a refused send, resumes and a close.
func TestStats(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	if st := f.hub.Stats(); st.Received != 0 || st.Subscriptions != 0 || st.ResumeMessages.Count != 0 {
		t.Fatalf("a new hub's stats %+v; want zeros", st)
	}

	a, b := f.hub.NewClient(nil), f.hub.NewClient(nil)
	defer a.Close(nil)
	defer b.Close(nil)
	ra, rb := read(t, a), read(t, b)
	for _, c := range []*hub.Client{a, b} {
		if err := c.Subscribe(t.Context(), f.room.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		f.post(t, fmt.Sprint(i))
	}
	ra.waitSeq(t, 3)
	rb.waitSeq(t, 3)
	st := waitStats(t, f.hub, "3 sends to 2 subscribers", func(s hub.Stats) bool { return s.Deliveries >= 6 })
	if st.Subscriptions != 2 || st.Received != 3 || st.Acked != 3 || st.Deliveries != 6 || st.Resumes != 0 {
		t.Fatalf("after 3 sends to 2 live subscribers: %+v; want 2 subscriptions, 3 received and acked, 6 deliveries, no resume", st)
	}

	// A resend is acknowledged again but delivered to nobody; a refused
	// send is received and not acknowledged.
	f.post(t, "0")
	if _, err := f.hub.Post(t.Context(), hanashi.Post{Room: 1 << 40, Author: f.user.ID, ClientID: "nowhere", Body: "hi"}); err == nil {
		t.Fatal("a post to a room that does not exist was accepted")
	}
	st = f.hub.Stats()
	if st.Received != 5 || st.Acked != 4 || st.Deliveries != 6 {
		t.Fatalf("after a resend and a refused send: %+v; want 5 received, 4 acked, still 6 deliveries", st)
	}

	// A resume from seq 1 replays 2 messages; one from the end replays none.
	c := f.hub.NewClient(nil)
	defer c.Close(nil)
	rc := read(t, c)
	after := int64(1)
	if err := c.Subscribe(t.Context(), f.room.ID, &after); err != nil {
		t.Fatal(err)
	}
	rc.waitSeq(t, 3)
	after = 3
	if err := c.Subscribe(t.Context(), f.room.ID, &after); err != nil {
		t.Fatal(err)
	}
	st = f.hub.Stats()
	h := st.ResumeMessages
	if st.Resumes != 2 || h.Count != 2 || h.Sum != 2 || st.Deliveries != 8 || st.Subscriptions != 3 {
		t.Fatalf("after resumes of 2 and 0 messages: %+v; want 2 resumes of 2 messages in all, 8 deliveries, 3 subscriptions", st)
	}
	if len(h.Bounds) != len(h.Buckets) || h.Bounds[0] != 0 || h.Bounds[1] != 1 || h.Bounds[2] != 2 {
		t.Fatalf("resume buckets %v %v; want bounds 0, 1, 2, ...", h.Bounds, h.Buckets)
	}
	if h.Buckets[0] != 1 || h.Buckets[1] != 1 || h.Buckets[2] != 2 || h.Buckets[len(h.Buckets)-1] != 2 {
		t.Fatalf("resume buckets %v (bounds %v); want cumulative 1, 1, 2, ..., 2", h.Buckets, h.Bounds)
	}

	// Closing and unsubscribing end subscriptions, once each.
	a.Close(nil)
	a.Close(nil)
	if !b.Unsubscribe(f.room.ID) {
		t.Fatal("b was not subscribed")
	}
	if st := f.hub.Stats(); st.Subscriptions != 1 {
		t.Fatalf("after a close and an unsubscribe: %d subscriptions, want 1", st.Subscriptions)
	}
	// A subscription refused does not count.
	a2 := f.hub.NewClient(nil)
	a2.Close(nil)
	if err := a2.Subscribe(t.Context(), f.room.ID, nil); err == nil {
		t.Fatal("a closed client subscribed")
	}
	if st := f.hub.Stats(); st.Subscriptions != 1 || st.QueueOverflows != 0 {
		t.Fatalf("after a refused subscription: %+v; want 1 subscription, no overflow", st)
	}
}

// TestStatsQueueOverflow counts a slow consumer once.
func TestStatsQueueOverflow(t *testing.T) {
	f := newFixture(t, nil, hub.Config{QueueBytes: 64})
	slow := f.hub.NewClient(nil) // never read
	defer slow.Close(nil)
	if err := slow.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		f.post(t, fmt.Sprint(i))
		select {
		case <-slow.Done():
		default:
			if i > 1000 {
				t.Fatal("the slow client was not dropped")
			}
			continue
		}
		break
	}
	f.post(t, "after")
	if st := f.hub.Stats(); st.QueueOverflows != 1 || st.Subscriptions != 1 {
		t.Fatalf("%+v; want 1 overflow (the subscription stays until the connection closes it)", st)
	}
	slow.Close(nil)
	if st := f.hub.Stats(); st.QueueOverflows != 1 || st.Subscriptions != 0 {
		t.Fatalf("after closing the slow client: %+v; want 1 overflow, no subscription", st)
	}
}
