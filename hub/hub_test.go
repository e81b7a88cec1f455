package hub_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/internal/testutil"
	"github.com/hanashi-chat/hanashi/sqlite"
)

// textEncoder makes frames the tests can read back: "m ROOM SEQ" and
// "s ROOM SEQ".
type textEncoder struct{}

func (textEncoder) Message(m hanashi.Message) []byte {
	return fmt.Appendf(nil, "m %d %d", m.Room, m.Seq)
}

func (textEncoder) Subscribed(room hanashi.RoomID, seq int64) []byte {
	return fmt.Appendf(nil, "s %d %d", room, seq)
}

// countingStore counts Post calls to show that sends are grouped.
type countingStore struct {
	hanashi.Store
	calls atomic.Int64
}

func (s *countingStore) Post(ctx context.Context, posts []hanashi.Post) ([]hanashi.PostResult, error) {
	s.calls.Add(1)
	return s.Store.Post(ctx, posts)
}

type fixture struct {
	path   string // the SQLite file of store
	store  *countingStore
	broker hanashi.Broker
	hub    *hub.Hub
	user   hanashi.User
	room   hanashi.Room
}

func newFixture(t *testing.T, broker hanashi.Broker, cfg hub.Config) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := &countingStore{Store: db}
	if broker == nil {
		broker = inmem.NewBroker()
	}
	cfg.Store, cfg.Broker, cfg.Encoder = store, broker, textEncoder{}
	h := hub.New(cfg)
	t.Cleanup(func() { h.Close(context.Background()) })
	u, err := store.CreateUser(t.Context(), hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	room, err := store.CreateRoom(t.Context(), hanashi.NewRoom{Name: "general", Creator: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{path: path, store: store, broker: broker, hub: h, user: u, room: room}
}

func (f *fixture) post(t *testing.T, clientID string) hanashi.Message {
	t.Helper()
	m, err := f.hub.Post(t.Context(), hanashi.Post{Room: f.room.ID, Author: f.user.ID, ClientID: clientID, Body: "hi"})
	if err != nil {
		t.Fatalf("post %s: %v", clientID, err)
	}
	return m
}

// reader drains a client in the background and records the frames.
type reader struct {
	mu     sync.Mutex
	frames []string
	err    error
}

func read(t *testing.T, c *hub.Client) *reader {
	r := &reader{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for {
			frames, err := c.Next(ctx)
			r.mu.Lock()
			if err != nil {
				r.err = err
				r.mu.Unlock()
				return
			}
			for _, f := range frames {
				r.frames = append(r.frames, string(f))
			}
			r.mu.Unlock()
		}
	}()
	return r
}

// waitSeq waits until a message frame with seq >= want arrived and returns
// the seqs of all message frames.
func (r *reader) waitSeq(t *testing.T, want int64) []int64 {
	t.Helper()
	var seqs []int64
	testutil.EventuallyNil(t, 10*time.Second, fmt.Sprintf("seq %d", want), func() error {
		if seqs = r.seqs(); len(seqs) > 0 && seqs[len(seqs)-1] >= want {
			return nil
		}
		return fmt.Errorf("have %d messages, err %v", len(seqs), r.error())
	})
	return seqs
}

func (r *reader) seqs() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var seqs []int64
	for _, f := range r.frames {
		if strings.HasPrefix(f, "m ") {
			n, _ := strconv.ParseInt(strings.Fields(f)[2], 10, 64)
			seqs = append(seqs, n)
		}
	}
	return seqs
}

func (r *reader) error() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func checkContiguous(t *testing.T, seqs []int64, from, to int64) {
	t.Helper()
	if int64(len(seqs)) != to-from+1 {
		t.Fatalf("got %d messages, want %d (seqs %d..%d)", len(seqs), to-from+1, from, to)
	}
	for i, s := range seqs {
		if s != from+int64(i) {
			t.Fatalf("message %d has seq %d, want %d", i, s, from+int64(i))
		}
	}
}

func TestResumeWhileOthersSend(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	for i := range 500 {
		f.post(t, fmt.Sprintf("before-%d", i))
	}

	// Senders keep going while the client resumes from seq 100.
	var wg sync.WaitGroup
	var last atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				m := f.post(t, fmt.Sprintf("during-%d-%d", g, i))
				for {
					cur := last.Load()
					if m.Seq <= cur || last.CompareAndSwap(cur, m.Seq) {
						break
					}
				}
			}
		})
	}
	c := f.hub.NewClient(nil)
	defer c.Close(nil)
	r := read(t, c)
	after := int64(100)
	if err := c.Subscribe(t.Context(), f.room.ID, &after); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	checkContiguous(t, r.waitSeq(t, last.Load()), 101, last.Load())
	if last.Load() != 900 {
		t.Fatalf("last acked seq %d, want 900", last.Load())
	}
	r.mu.Lock()
	var subscribed int
	for _, fr := range r.frames {
		if strings.HasPrefix(fr, "s ") {
			subscribed++
		}
	}
	r.mu.Unlock()
	if subscribed != 1 {
		t.Fatalf("got %d subscribed frames, want 1", subscribed)
	}
}

// A client that restarts its subscription from its cursor while others
// send, again and again, gets every message once and in order: what the
// room's log holds for the subscription it replaced is not sent after the
// new one's backlog. (Frames already in the client's own queue would be:
// they are on their way, as if written already.)
func TestResubscribeWhileOthersSend(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	const senders, each = 4, 150
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				f.post(t, fmt.Sprintf("%d-%d", g, i))
			}
		})
	}
	defer wg.Wait()
	for k := range 3 {
		wg.Go(func() {
			c := f.hub.NewClient(func() {})
			defer c.Close(nil)
			seen := int64(0)
			if err := c.Subscribe(t.Context(), f.room.ID, &seen); err != nil {
				t.Error(err)
				return
			}
			deadline := time.Now().Add(20 * time.Second)
			for round := 0; seen < senders*each; round++ {
				frames, err := c.Take()
				if err != nil {
					t.Errorf("client %d: %v", k, err)
					return
				}
				for _, fr := range frames {
					if fields := strings.Fields(string(fr)); fields[0] == "m" {
						seq, _ := strconv.ParseInt(fields[2], 10, 64)
						if seq != seen+1 {
							t.Errorf("client %d: seq %d after %d", k, seq, seen)
							return
						}
						seen = seq
					}
				}
				if round%20 == 10+k {
					time.Sleep(time.Millisecond) // for the old subscription's log to fill
					if err := c.Subscribe(t.Context(), f.room.ID, &seen); err != nil {
						t.Error(err)
						return
					}
				}
				if time.Now().After(deadline) {
					t.Errorf("client %d: timed out at seq %d", k, seen)
					return
				}
				time.Sleep(200 * time.Microsecond) // Take does not wait; off the test goroutine, so not testutil.Eventually
			}
		})
	}
}

// Writers that take frames when ready tells them to, and come back a
// moment later when TakeMore says so, as the event loop's flushers do,
// get every message of every room once and in order while four
// senders post into two rooms and the clients' own frames (acks, say) are
// queued in between: no wake-up is lost between a room's log, the
// client's queue and the writer.
func TestReadyWritersMissNothing(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	second, err := f.store.CreateRoom(t.Context(), hanashi.NewRoom{Name: "second", Creator: f.user.ID})
	if err != nil {
		t.Fatal(err)
	}
	rooms := []hanashi.RoomID{f.room.ID, second.ID}
	const clients, senders, each = 20, 4, 100
	type client struct {
		c    *hub.Client
		wake chan struct{}
		last map[hanashi.RoomID]int64 // guarded by the test's mu
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := make(chan struct{})
	cs := make([]*client, clients)
	for i := range cs {
		cl := &client{wake: make(chan struct{}, 1), last: map[hanashi.RoomID]int64{}}
		cl.c = f.hub.NewClient(func() {
			select {
			case cl.wake <- struct{}{}:
			default:
			}
		})
		defer cl.c.Close(nil)
		for _, r := range rooms {
			if err := cl.c.Subscribe(t.Context(), r, nil); err != nil {
				t.Fatal(err)
			}
		}
		cs[i] = cl
		wg.Go(func() {
			var again <-chan time.Time // set when TakeMore says to come back
			for n := 0; ; n++ {
				select {
				case <-cl.wake:
				case <-again:
				case <-stop:
					return
				}
				frames, more, err := cl.c.TakeMore()
				again = nil
				if more {
					again = time.After(time.Millisecond)
				}
				if err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
				mu.Lock()
				for _, fr := range frames {
					fields := strings.Fields(string(fr))
					if fields[0] != "m" {
						continue
					}
					room, _ := strconv.ParseInt(fields[1], 10, 64)
					seq, _ := strconv.ParseInt(fields[2], 10, 64)
					if want := cl.last[hanashi.RoomID(room)] + 1; seq != want {
						t.Errorf("client %d, room %d: seq %d, want %d", i, room, seq, want)
					}
					cl.last[hanashi.RoomID(room)] = seq
				}
				mu.Unlock()
				if n%3 == i%3 {
					cl.c.Push([]byte("ack"))
				}
			}
		})
	}
	var posts sync.WaitGroup
	for g := range senders {
		posts.Go(func() {
			for i := range each {
				p := hanashi.Post{Room: rooms[(g+i)%2], Author: f.user.ID, ClientID: fmt.Sprintf("%d-%d", g, i), Body: "hi"}
				if _, err := f.hub.Post(t.Context(), p); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	posts.Wait()
	testutil.EventuallyNil(t, 10*time.Second, "every subscription to catch up", func() error {
		mu.Lock()
		behind := 0
		for _, cl := range cs {
			for _, r := range rooms {
				if cl.last[r] < senders*each/2 {
					behind++
				}
			}
		}
		mu.Unlock()
		if behind == 0 {
			return nil
		}
		return fmt.Errorf("%d subscriptions still behind: a wake-up was lost", behind)
	})
	close(stop)
	wg.Wait()
}

func TestSubscribedComesAfterBacklog(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	for i := range 30 {
		f.post(t, fmt.Sprint(i))
	}
	c := f.hub.NewClient(nil)
	defer c.Close(nil)
	r := read(t, c)
	after := int64(20)
	if err := c.Subscribe(t.Context(), f.room.ID, &after); err != nil {
		t.Fatal(err)
	}
	r.waitSeq(t, 30)
	testutil.EventuallyNil(t, 5*time.Second, "11 frames", func() error {
		r.mu.Lock()
		frames := append([]string(nil), r.frames...)
		r.mu.Unlock()
		if len(frames) == 11 {
			if frames[10] != fmt.Sprintf("s %d 30", f.room.ID) {
				t.Fatalf("last frame %q, want the subscribed frame with seq 30", frames[10])
			}
			return nil
		}
		if len(frames) > 11 {
			t.Fatalf("frames %q", frames)
		}
		return fmt.Errorf("frames %q", frames)
	})

	// Live only: nothing old, then new messages.
	live := f.hub.NewClient(nil)
	defer live.Close(nil)
	lr := read(t, live)
	if err := live.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	f.post(t, "new")
	checkContiguous(t, lr.waitSeq(t, 31), 31, 31)
}

func TestGroupCommit(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Go(func() {
			for i := range 20 {
				f.post(t, fmt.Sprintf("%d-%d", g, i))
			}
		})
	}
	wg.Wait()
	calls := f.store.calls.Load()
	t.Logf("1000 posts from 50 senders took %d transactions", calls)
	if calls >= 1000 {
		t.Fatalf("every post took its own transaction (%d calls)", calls)
	}
	// Resends are answered from the store, not stored again.
	m1 := f.post(t, "0-0")
	last, err := f.store.LastSeq(t.Context(), f.room.ID)
	if err != nil || last != 1000 {
		t.Fatalf("last seq %d (%v), want 1000 after a resend", last, err)
	}
	if m1.Seq < 1 || m1.Seq > 1000 {
		t.Fatalf("resend returned seq %d", m1.Seq)
	}
}

func TestSlowClientDoesNotStallRoom(t *testing.T) {
	f := newFixture(t, nil, hub.Config{QueueBytes: 4096})
	slow := f.hub.NewClient(nil) // never read
	defer slow.Close(nil)
	if err := slow.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	fast := f.hub.NewClient(nil)
	defer fast.Close(nil)
	r := read(t, fast)
	if err := fast.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		f.post(t, fmt.Sprint(i))
	}
	checkContiguous(t, r.waitSeq(t, 1000), 1, 1000)
	select {
	case <-slow.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the slow client was not dropped")
	}
	if err := slow.Err(); err != hub.ErrTooSlow {
		t.Fatalf("slow client ended with %v, want ErrTooSlow", err)
	}
}

// lossyBroker drops or reorders what it publishes, like a broker across a
// network blip.
type lossyBroker struct {
	*inmem.Broker
	n atomic.Int64
}

func (b *lossyBroker) Publish(ctx context.Context, msgs []hanashi.Message) error {
	var keep []hanashi.Message
	for _, m := range msgs {
		n := b.n.Add(1)
		if n > 400 {
			keep = append(keep, m)
			continue
		}
		switch n % 5 {
		case 0: // lost
		case 1: // late: delivered after the next one
			keep = append(keep, m)
		default:
			keep = append([]hanashi.Message{m}, keep...)
		}
	}
	return b.Broker.Publish(ctx, keep)
}

func TestGapsAreFilledFromStore(t *testing.T) {
	f := newFixture(t, &lossyBroker{Broker: inmem.NewBroker()}, hub.Config{ReorderWait: 20 * time.Millisecond})
	c := f.hub.NewClient(nil)
	defer c.Close(nil)
	r := read(t, c)
	if err := c.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				f.post(t, fmt.Sprintf("%d-%d", g, i))
			}
		})
	}
	wg.Wait()
	// A loss is noticed when a later message arrives.
	f.post(t, "last")
	checkContiguous(t, r.waitSeq(t, 401), 1, 401)
}

// reconnectingBroker loses every publish, like a broker whose connection
// is down, and announces the reconnect (Missed) from inside the store's
// LastSeq read, after another node committed a message: the moment a room
// is subscribed but not yet live.
type reconnectingBroker struct {
	*inmem.Broker
	sub hanashi.Subscriber
}

func (b *reconnectingBroker) Publish(ctx context.Context, msgs []hanashi.Message) error {
	return nil
}

func (b *reconnectingBroker) Subscribe(ctx context.Context, room hanashi.RoomID, sub hanashi.Subscriber) error {
	b.sub = sub
	return b.Broker.Subscribe(ctx, room, sub)
}

type lastSeqHook struct {
	*countingStore
	after func()
}

func (s *lastSeqHook) LastSeq(ctx context.Context, room hanashi.RoomID) (int64, error) {
	n, err := s.countingStore.LastSeq(ctx, room)
	s.after()
	return n, err
}

// TestMissedBeforeLive checks that a Missed arriving while a room is being
// set up is not forgotten: the room reads the store once it is live.
func TestMissedBeforeLive(t *testing.T) {
	b := &reconnectingBroker{Broker: inmem.NewBroker()}
	f := newFixture(t, b, hub.Config{})
	var once sync.Once
	store := &lastSeqHook{countingStore: f.store}
	store.after = func() {
		once.Do(func() {
			// Another node commits seq 1; its publish is lost with the
			// connection, and the reconnect says so.
			if _, err := f.store.Post(context.Background(), []hanashi.Post{{Room: f.room.ID, Author: f.user.ID, ClientID: "elsewhere", Body: "hi"}}); err != nil {
				t.Error(err)
			}
			b.sub.Missed()
		})
	}
	h := hub.New(hub.Config{Store: store, Broker: b, Encoder: textEncoder{}})
	defer h.Close(context.Background())
	c := h.NewClient(nil)
	defer c.Close(nil)
	r := read(t, c)
	if err := c.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	// The room must catch up to seq 1: the client (live only) either gets
	// the message, or, if the fill ran before it was attached, starts after
	// it ("s ROOM 1").
	testutil.EventuallyNil(t, 10*time.Second, "the room to catch up to seq 1", func() error {
		r.mu.Lock()
		frames := append([]string(nil), r.frames...)
		r.mu.Unlock()
		for _, fr := range frames {
			if fr == fmt.Sprintf("m %d 1", f.room.ID) || fr == fmt.Sprintf("s %d 1", f.room.ID) {
				return nil
			}
		}
		return fmt.Errorf("frames %q", frames)
	})
}

func TestCloseCommitsAcceptedPosts(t *testing.T) {
	f := newFixture(t, nil, hub.Config{})
	var acked atomic.Int64
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Go(func() {
			for i := 0; ; i++ {
				_, err := f.hub.Post(t.Context(), hanashi.Post{Room: f.room.ID, Author: f.user.ID, ClientID: fmt.Sprintf("%d-%d", g, i), Body: "x"})
				if err != nil {
					if hanashi.ErrorCode(err) != hanashi.EUNAVAILABLE {
						t.Errorf("post after close: %v", err)
					}
					return
				}
				acked.Add(1)
			}
		})
	}
	testutil.Eventually(t, time.Minute, "200 acked posts", func() bool { return acked.Load() >= 200 })
	if err := f.hub.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	last, err := f.store.LastSeq(t.Context(), f.room.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last != acked.Load() {
		t.Fatalf("store has %d messages, %d were acknowledged", last, acked.Load())
	}
}

// BenchmarkResume10k measures a client resuming 10,000 missed messages:
// from Subscribe to the subscribed frame, with a reader draining the queue.
func BenchmarkResume10k(b *testing.B) {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	h := hub.New(hub.Config{Store: db, Broker: inmem.NewBroker(), Encoder: textEncoder{}})
	defer h.Close(context.Background())
	u, _ := db.CreateUser(b.Context(), hanashi.User{Name: "alice"})
	room, _ := db.CreateRoom(b.Context(), hanashi.NewRoom{Name: "r", Creator: u.ID})
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			for i := range 100 {
				if _, err := h.Post(b.Context(), hanashi.Post{Room: room.ID, Author: u.ID, ClientID: fmt.Sprintf("%03d-%03d", g, i), Body: "a message of a typical length, say sixty bytes"}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	want := fmt.Sprintf("s %d 10000", room.ID)
	b.ResetTimer()
	for b.Loop() {
		c := h.NewClient(nil)
		done := make(chan int)
		go func() {
			n := 0
			for {
				frames, err := c.Next(b.Context())
				if err != nil {
					return
				}
				for _, f := range frames {
					n++
					if string(f) == want {
						done <- n
						return
					}
				}
			}
		}()
		after := int64(0)
		if err := c.Subscribe(b.Context(), room.ID, &after); err != nil {
			b.Fatal(err)
		}
		if n := <-done; n != 10001 {
			b.Fatalf("got %d frames, want 10001", n)
		}
		c.Close(nil)
	}
}
