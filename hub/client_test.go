package hub_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/sqlite"
)

// takeAll takes a client's queue as strings.
func takeAll(t testing.TB, c *hub.Client) ([]string, error) {
	t.Helper()
	frames, err := c.Take()
	return texts(frames), err
}

func texts(frames [][]byte) []string {
	var out []string
	for _, f := range frames {
		out = append(out, string(f))
	}
	return out
}

// A writer that does not wait in Next is told, through ready, when there
// is work: when the queue becomes non-empty, when it passes half full,
// and when the client ends with nothing queued; not for every frame, and
// not for the frames of a busy subscription, which it is to come back
// for: one that had more than one frame for its last take.
func TestReadyAndTake(t *testing.T) {
	f := newFixture(t, nil, hub.Config{QueueBytes: 100})
	var readies atomic.Int64
	c := f.hub.NewClient(func() { readies.Add(1) })
	defer c.Close(nil)
	want := func(n int64, when string) {
		t.Helper()
		if got := readies.Load(); got != n {
			t.Fatalf("%s: ready called %d times, want %d", when, got, n)
		}
	}

	if got, err := takeAll(t, c); len(got) != 0 || err != nil {
		t.Fatalf("empty queue: took %q, %v", got, err)
	}
	want(0, "nothing queued")
	if err := c.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	want(1, "after the subscribed frame")
	f.post(t, "a")
	f.post(t, "b")
	want(1, "more frames before Take")
	got, more, err := c.TakeMore()
	if len(got) != 3 || !more || err != nil {
		t.Fatalf("took %q, more %v, %v; want 3 frames and more", got, more, err)
	}
	f.post(t, "c")
	want(1, "a frame for a busy subscription")
	got, more, err = c.TakeMore()
	if fmt.Sprint(texts(got)) != fmt.Sprintf("[m %d 3]", f.room.ID) || more || err != nil {
		t.Fatalf("coming back: took %q, more %v, %v; want message 3 alone and no more", got, more, err)
	}
	f.post(t, "d")
	want(2, "a frame after a take that found one")
	if _, more, _ := c.TakeMore(); more {
		t.Fatal("one frame made the subscription busy")
	}
	f.post(t, "e")
	want(3, "a frame after a take that found one")
	c.Take()

	// 10-byte frames: past 50 bytes the writer is told to hurry.
	for range 5 {
		c.Push(make([]byte, 10))
	}
	want(4, "50 bytes queued")
	c.Push(make([]byte, 10))
	want(5, "past half full")
	for range 4 {
		c.Push(make([]byte, 10))
	}
	want(5, "filling up")
	if c.Push(make([]byte, 10)) {
		t.Fatal("a full queue took a frame")
	}
	want(5, "overflow with frames queued: the writer finds out when it takes them")
	if _, err := c.Take(); !errors.Is(err, hub.ErrTooSlow) {
		t.Fatalf("Take after the overflow: %v", err)
	}

	// A client that ends with nothing queued tells its writer.
	c2 := f.hub.NewClient(func() { readies.Add(1) })
	c2.Close(nil)
	want(6, "closed while empty")
	if _, err := c2.Take(); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("Take after Close: %v", err)
	}
	select {
	case <-c2.Done():
	default:
		t.Fatal("Done not closed")
	}
}

// The first subscription is kept apart from the others; all of them
// behave the same.
func TestSeveralRooms(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	second, err := f.store.CreateRoom(t.Context(), hanashi.NewRoom{Name: "second", Creator: f.user.ID})
	if err != nil {
		t.Fatal(err)
	}
	third, err := f.store.CreateRoom(t.Context(), hanashi.NewRoom{Name: "third", Creator: f.user.ID})
	if err != nil {
		t.Fatal(err)
	}
	c := f.hub.NewClient(nil)
	defer c.Close(nil)
	for _, id := range []hanashi.RoomID{f.room.ID, second.ID, third.ID} {
		if err := c.Subscribe(t.Context(), id, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !c.Unsubscribe(f.room.ID) || c.Unsubscribe(f.room.ID) {
		t.Fatal("unsubscribing the first room twice")
	}
	if err := c.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	if !c.Unsubscribe(second.ID) {
		t.Fatal("not subscribed to the second room")
	}
	c.Take()
	post := func(room hanashi.RoomID, id string) {
		if _, err := f.hub.Post(t.Context(), hanashi.Post{Room: room, Author: f.user.ID, ClientID: id, Body: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	post(f.room.ID, "1")
	post(second.ID, "2")
	post(third.ID, "3")
	got, _ := takeAll(t, c)
	if fmt.Sprint(got) != fmt.Sprintf("[m %d 1 m %d 1]", f.room.ID, third.ID) {
		t.Fatalf("got %q", got)
	}
}

// The frames a client gets keep the order in which things happened,
// whether they came through a room's log (messages) or the client's own
// queue (acks, errors, signals), across the log's chunks, and across a
// writer that takes now and then.
func TestOrderAcrossLogAndQueue(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	c := f.hub.NewClient(func() {})
	defer c.Close(nil)
	if err := c.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for i := range 100 {
		m := f.post(t, fmt.Sprint(i))
		want = append(want, fmt.Sprintf("m %d %d", f.room.ID, m.Seq))
		if i%7 == 3 {
			c.Push(fmt.Appendf(nil, "ack %d", m.Seq))
			want = append(want, fmt.Sprintf("ack %d", m.Seq))
		}
		if i%17 == 5 {
			batch, err := takeAll(t, c)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, batch...)
		}
	}
	batch, err := takeAll(t, c)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, batch...)
	want = append([]string{fmt.Sprintf("s %d 0", f.room.ID)}, want...)
	if !slices.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// benchHub is a hub on SQLite with one room and subscribers whose writers
// are never told anything: the benchmark takes their queues itself.
type benchHub struct {
	hub     *hub.Hub
	broker  hanashi.Broker
	user    hanashi.UserID
	room    hanashi.RoomID
	clients []*hub.Client
}

func fanOut(b *testing.B, n int) benchHub {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	broker := inmem.NewBroker()
	h := hub.New(hub.Config{Store: db, Broker: broker, Encoder: textEncoder{}})
	b.Cleanup(func() { h.Close(context.Background()) })
	u, _ := db.CreateUser(b.Context(), hanashi.User{Name: "alice"})
	room, _ := db.CreateRoom(b.Context(), hanashi.NewRoom{Name: "r", Creator: u.ID})
	clients := make([]*hub.Client, n)
	for i := range clients {
		clients[i] = h.NewClient(func() {})
		if err := clients[i].Subscribe(b.Context(), room.ID, nil); err != nil {
			b.Fatal(err)
		}
		clients[i].Take()
	}
	return benchHub{hub: h, broker: broker, user: u.ID, room: room.ID, clients: clients}
}

// BenchmarkFanOut publishes one message to a room of 1000 subscribers:
// encoded once and appended to the room's log, and every 16 messages
// each subscriber's frames taken as a writer would. An op is one message; see ns/delivery.
func BenchmarkFanOut(b *testing.B) {
	const subs = 1000
	f := fanOut(b, subs)
	broker, clients := f.broker, f.clients
	msg := hanashi.Message{Room: f.room, ID: "b1f", Body: "a message of a typical length, say sixty bytes", CreatedAt: time.Now()}
	b.ReportAllocs()
	seq := int64(0)
	for b.Loop() {
		seq++
		msg.Seq = seq
		broker.Publish(b.Context(), []hanashi.Message{msg})
		if seq%16 == 0 {
			for _, c := range clients {
				if frames, err := c.Take(); len(frames) != 16 || err != nil {
					b.Fatalf("took %d frames, %v", len(frames), err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/subs, "ns/delivery")
}

// BenchmarkQueue is one client's queue: frames pushed one by one and
// taken 16 at a time. An op is one frame.
func BenchmarkQueue(b *testing.B) {
	c := fanOut(b, 1).clients[0]
	frame := []byte("m 1 1 a frame of some sixty bytes, a chat message in a frame")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		c.Push(frame)
		if n++; n%16 == 0 {
			if frames, _ := c.Take(); len(frames) != 16 {
				b.Fatalf("took %d frames", len(frames))
			}
		}
	}
}

// BenchmarkGroupCommit is 100 senders posting to SQLite at once: each
// commit (and fsync) carries whatever posts gathered meanwhile. An op is
// one acknowledged post.
func BenchmarkGroupCommit(b *testing.B) {
	f := fanOut(b, 0)
	const senders = 100
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := range senders {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				p := hanashi.Post{Room: f.room, Author: f.user, ClientID: fmt.Sprintf("%03d-%d", g, i), Body: "a message of a typical length, say sixty bytes"}
				if _, err := f.hub.Post(b.Context(), p); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

// CloseAfterQueued lets the writer take what is queued, then ends the
// client; nothing is queued in between. With nothing queued it ends the
// client at once.
func TestCloseAfterQueued(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	end := errors.New("shutting down")
	for _, ready := range []func(){nil, func() {}} {
		c := f.hub.NewClient(ready)
		c.Push([]byte("ack 1"))
		c.Push([]byte("ack 2"))
		c.CloseAfterQueued(end)
		if c.Push([]byte("late")) {
			t.Fatal("Push after CloseAfterQueued queued a frame")
		}
		if err := c.Err(); err != nil {
			t.Fatalf("client ended before its queue was taken: %v", err)
		}
		got, err := takeAll(t, c)
		if err != nil || fmt.Sprint(got) != "[ack 1 ack 2]" {
			t.Fatalf("Take = %q, %v; want the two acks", got, err)
		}
		if _, err := c.Take(); !errors.Is(err, end) {
			t.Fatalf("Take after the queue was taken: %v, want %v", err, end)
		}
		select {
		case <-c.Done():
		default:
			t.Fatal("Done not closed")
		}

		idle := f.hub.NewClient(ready)
		idle.CloseAfterQueued(end)
		if err := idle.Err(); !errors.Is(err, end) {
			t.Fatalf("idle client: Err = %v, want %v", err, end)
		}
	}
}

// A client that ends while its writer is to come back for a busy
// subscription tells the writer all the same: the last take keeps nothing
// busy, and the end calls ready, as for any writer with nothing to take.
func TestEndWithBusySubscription(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	end := errors.New("shutting down")
	var readies atomic.Int64
	c := f.hub.NewClient(func() { readies.Add(1) })
	if err := c.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	f.post(t, "1")
	f.post(t, "2")
	if got, more, err := c.TakeMore(); !more || err != nil {
		t.Fatalf("took %q, more %v, %v; want the subscription busy", texts(got), more, err)
	}
	f.post(t, "3")
	f.post(t, "4")
	c.CloseAfterQueued(end)
	before := readies.Load()
	got, more, err := c.TakeMore()
	if fmt.Sprint(texts(got)) != fmt.Sprintf("[m %d 3 m %d 4]", f.room.ID, f.room.ID) || more || err != nil {
		t.Fatalf("last take: %q, more %v, %v; want messages 3 and 4 and no more", texts(got), more, err)
	}
	if readies.Load() == before {
		t.Fatal("the client ended without telling its writer")
	}
	if _, _, err := c.TakeMore(); !errors.Is(err, end) {
		t.Fatalf("take after the end: %v, want %v", err, end)
	}
}

// Trim keeps what is queued and the client works on after it.
func TestTrim(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	c := f.hub.NewClient(func() {})
	defer c.Close(nil)
	for i := range 40 {
		c.Push(fmt.Appendf(nil, "burst %d", i))
	}
	if got, err := takeAll(t, c); err != nil || len(got) != 40 {
		t.Fatalf("Take = %d frames, %v; want 40", len(got), err)
	}
	c.Push([]byte("queued"))
	c.Trim()
	c.Push([]byte("after"))
	if got, err := takeAll(t, c); err != nil || fmt.Sprint(got) != "[queued after]" {
		t.Fatalf("Take after Trim = %q, %v; want the queued frame and the next", got, err)
	}
	c.Trim()
	c.Push([]byte("again"))
	if got, err := takeAll(t, c); err != nil || fmt.Sprint(got) != "[again]" {
		t.Fatalf("Take = %q, %v", got, err)
	}
}
