package hub

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/internal/testutil"
	"github.com/hanashi-chat/hanashi/sqlite"
)

// sigEncoder makes frames the tests can read back: "m ROOM SEQ",
// "s ROOM SEQ", "t ROOM USERNAME", "p ROOM USERNAME STATE", "r ROOM SEQ",
// and the text of other frames as it is.
type sigEncoder struct{}

func (sigEncoder) Message(m hanashi.Message) []byte {
	return fmt.Appendf(nil, "m %d %d", m.Room, m.Seq)
}
func (sigEncoder) Subscribed(room hanashi.RoomID, seq int64) []byte {
	return fmt.Appendf(nil, "s %d %d", room, seq)
}
func (sigEncoder) Typing(room hanashi.RoomID, u hanashi.Author) []byte {
	return fmt.Appendf(nil, "t %d %s", room, u.Name)
}
func (sigEncoder) Presence(room hanashi.RoomID, u hanashi.Author, p Presence) []byte {
	return fmt.Appendf(nil, "p %d %s %s", room, u.Name, p)
}
func (sigEncoder) Read(room hanashi.RoomID, seq int64) []byte {
	return fmt.Appendf(nil, "r %d %d", room, seq)
}
func (sigEncoder) Frame(text []byte) []byte { return text }

// bus connects the brokers of several test nodes, as Redis would: what one
// publishes reaches every node's subscriber of the room, synchronously.
type bus struct {
	mu    sync.Mutex
	nodes []*busBroker
}

type busBroker struct {
	bus *bus
	*inmem.Broker
	nodeRoom atomic.Bool // room 0 is subscribed
}

func (bb *busBroker) Subscribe(ctx context.Context, room hanashi.RoomID, sub hanashi.Subscriber) error {
	err := bb.Broker.Subscribe(ctx, room, sub)
	if err == nil && room == nodeRoom {
		bb.nodeRoom.Store(true)
	}
	return err
}

func (b *bus) broker() *busBroker {
	bb := &busBroker{bus: b, Broker: inmem.NewBroker()}
	b.mu.Lock()
	b.nodes = append(b.nodes, bb)
	b.mu.Unlock()
	return bb
}

func (bb *busBroker) Publish(ctx context.Context, msgs []hanashi.Message) error {
	bb.bus.mu.Lock()
	nodes := slices.Clone(bb.bus.nodes)
	bb.bus.mu.Unlock()
	for _, n := range nodes {
		n.Broker.Publish(ctx, msgs)
	}
	return nil
}

func (bb *busBroker) PublishSignals(ctx context.Context, sigs []hanashi.Signal) error {
	bb.bus.mu.Lock()
	nodes := slices.Clone(bb.bus.nodes)
	bb.bus.mu.Unlock()
	for _, n := range nodes {
		n.Broker.PublishSignals(ctx, sigs)
	}
	return nil
}

type sigFixture struct {
	store hanashi.Store
	room  hanashi.Room
	users map[string]hanashi.User
}

func newSigFixture(t *testing.T, names ...string) *sigFixture {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &sigFixture{store: db, users: make(map[string]hanashi.User)}
	for _, n := range names {
		u, err := db.CreateUser(t.Context(), hanashi.User{Name: n})
		if err != nil {
			t.Fatal(err)
		}
		f.users[n] = u
	}
	f.room, err = db.CreateRoom(t.Context(), hanashi.NewRoom{Name: "general", Creator: f.users[names[0]].ID})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *sigFixture) hub(t *testing.T, b hanashi.Broker) *Hub {
	h := New(Config{Store: f.store, Broker: b, Encoder: sigEncoder{}})
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// client connects name to h and subscribes it to the room.
func (f *sigFixture) client(t *testing.T, h *Hub, name string) *Client {
	t.Helper()
	c := h.NewClient(nil)
	t.Cleanup(func() { c.Close(nil) })
	c.SetUser(f.users[name].ID)
	if err := c.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// post sends a message as name into the fixture's room.
func (f *sigFixture) post(t *testing.T, h *Hub, name, clientID string) {
	t.Helper()
	if _, err := h.Post(t.Context(), hanashi.Post{Room: f.room.ID, Author: f.users[name].ID, ClientID: clientID, Body: "hi"}); err != nil {
		t.Fatal(err)
	}
}

// frames takes what c has queued, without the subscribed frames.
func frames(t *testing.T, c *Client) []string {
	t.Helper()
	batch, err := c.Take()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range batch {
		if s := string(b); !strings.HasPrefix(s, "s ") {
			out = append(out, s)
		}
	}
	return out
}

// expect polls c until it has queued want, in order, and nothing else.
func expect(t *testing.T, c *Client, want ...string) {
	t.Helper()
	var got []string
	testutil.EventuallyNil(t, 5*time.Second, fmt.Sprintf("frames %q", want), func() error {
		if len(got) < len(want) {
			got = append(got, frames(t, c)...)
		}
		if len(got) < len(want) {
			return fmt.Errorf("got %q", got)
		}
		return nil
	})
	if !slices.Equal(got, want) {
		t.Fatalf("got frames %q, want %q", got, want)
	}
}

func TestTypingRateLimitedAndNotEchoed(t *testing.T) {
	f := newSigFixture(t, "alice", "bob")
	h := f.hub(t, inmem.NewBroker())
	alice, bob := f.client(t, h, "alice"), f.client(t, h, "bob")
	frames(t, alice)
	frames(t, bob)
	room := f.room.ID
	for range 3 {
		if err := alice.Typing(t.Context(), room); err != nil {
			t.Fatal(err)
		}
	}
	// The in-process broker delivers in Publish: everything is queued.
	expect(t, bob, fmt.Sprintf("t %d alice", room))
	expect(t, alice)

	// The limit is per connection: alice's second one may type at once.
	alice2 := f.client(t, h, "alice")
	if err := alice2.Typing(t.Context(), room); err != nil {
		t.Fatal(err)
	}
	expect(t, bob, fmt.Sprintf("t %d alice", room))

	err := bob.Typing(t.Context(), room+1)
	if hanashi.ErrorCode(err) != hanashi.EINVALID {
		t.Fatalf("typing in a room not subscribed: %v, want invalid", err)
	}
}

func TestPresenceOnOneNode(t *testing.T) {
	f := newSigFixture(t, "alice", "bob", "carol")
	h := f.hub(t, inmem.NewBroker())
	room := f.room.ID
	bob := f.client(t, h, "bob")
	alice := f.client(t, h, "alice")
	expect(t, bob, fmt.Sprintf("p %d alice online", room))
	expect(t, alice, fmt.Sprintf("p %d bob online", room)) // the snapshot

	alice.SetPresence(Away)
	expect(t, bob, fmt.Sprintf("p %d alice away", room))
	alice.SetPresence(Away)
	expect(t, bob) // no change, no frame

	// A second connection that is online makes her online.
	alice2 := f.client(t, h, "alice")
	expect(t, bob, fmt.Sprintf("p %d alice online", room))
	expect(t, alice2, fmt.Sprintf("p %d bob online", room))

	// Carol subscribes later and learns who is there.
	carol := f.client(t, h, "carol")
	got := frames(t, carol)
	slices.Sort(got)
	want := []string{fmt.Sprintf("p %d alice online", room), fmt.Sprintf("p %d bob online", room)}
	if !slices.Equal(got, want) {
		t.Fatalf("snapshot %q, want %q", got, want)
	}
	expect(t, bob, fmt.Sprintf("p %d carol online", room))

	alice2.Close(nil)
	expect(t, bob, fmt.Sprintf("p %d alice away", room))
	alice.Unsubscribe(room)
	expect(t, bob, fmt.Sprintf("p %d alice offline", room))
	alice.Close(nil)
	bob.Close(nil)
	expect(t, carol, fmt.Sprintf("p %d alice away", room), fmt.Sprintf("p %d alice offline", room), fmt.Sprintf("p %d bob offline", room))
}

func TestPresenceAcrossNodes(t *testing.T) {
	f := newSigFixture(t, "alice", "bob")
	var b bus
	h1, h2 := f.hub(t, b.broker()), f.hub(t, b.broker())
	room := f.room.ID
	alice := f.client(t, h1, "alice")
	// Bob's node starts the room after alice's claimed it: its probe
	// makes node 1 answer.
	bob := f.client(t, h2, "bob")
	expect(t, bob, fmt.Sprintf("p %d alice online", room))
	expect(t, alice, fmt.Sprintf("p %d bob online", room))

	// Alice on both nodes: away on one, online on the other, is online.
	alice.SetPresence(Away)
	expect(t, bob, fmt.Sprintf("p %d alice away", room))
	alice2 := f.client(t, h2, "alice")
	expect(t, bob, fmt.Sprintf("p %d alice online", room))
	alice2.Close(nil)
	expect(t, bob, fmt.Sprintf("p %d alice away", room))
	alice.Close(nil)
	expect(t, bob, fmt.Sprintf("p %d alice offline", room))
}

// A node that dies says nothing: its claims expire unless repeated.
func TestPresenceClaimsExpire(t *testing.T) {
	f := newSigFixture(t, "alice", "bob")
	var b bus
	h1, h2 := f.hub(t, b.broker()), f.hub(t, b.broker())
	room := f.room.ID
	f.client(t, h1, "alice")
	bob := f.client(t, h2, "bob")
	expect(t, bob, fmt.Sprintf("p %d alice online", room))

	// Node 1 repeats its claims: they hold.
	h1.refreshClaims()
	h2.expireClaims(time.Now().Add(claimTTL - time.Second))
	expect(t, bob)
	// Node 1 falls silent: they expire; bob's own, repeated, hold.
	h2.refreshClaims()
	h2.expireClaims(time.Now().Add(claimTTL + time.Second))
	expect(t, bob, fmt.Sprintf("p %d alice offline", room))
	h2.refreshClaims()
	h1.refreshClaims()
	expect(t, bob, fmt.Sprintf("p %d alice online", room))
}

func TestReadEcho(t *testing.T) {
	f := newSigFixture(t, "alice", "bob")
	var b bus
	h1, h2 := f.hub(t, b.broker()), f.hub(t, b.broker())
	room := f.room.ID
	// Echoes reach connections whether or not they subscribe the room.
	a1 := h1.NewClient(nil)
	a1.SetUser(f.users["alice"].ID)
	a2 := h1.NewClient(nil)
	a2.SetUser(f.users["alice"].ID)
	a3 := h2.NewClient(nil)
	a3.SetUser(f.users["alice"].ID)
	bob := h2.NewClient(nil)
	bob.SetUser(f.users["bob"].ID)
	for _, c := range []*Client{a1, a2, a3, bob} {
		t.Cleanup(func() { c.Close(nil) })
	}
	waitNodeSubscribed(t, h2)
	h1.Read(f.users["alice"].ID, room, 42, a1)
	want := fmt.Sprintf("r %d 42", room)
	expect(t, a2, want)
	expect(t, a3, want)
	expect(t, a1)
	expect(t, bob)
}

// waitNodeSubscribed waits until h receives the nodes' channel.
func waitNodeSubscribed(t *testing.T, h *Hub) {
	t.Helper()
	bb := h.cfg.Broker.(*busBroker)
	testutil.Eventually(t, 5*time.Second, "the hub to subscribe the nodes' channel", bb.nodeRoom.Load)
}

// Signals never enter a room's sequence, and a queue full of them does not
// fail a slow client: they are dropped instead.
func TestSignalsLeaveSequenceAndSlowClients(t *testing.T) {
	f := newSigFixture(t, "alice", "bob")
	broker := inmem.NewBroker()
	h := New(Config{Store: f.store, Broker: broker, Encoder: sigEncoder{}, QueueBytes: 1024})
	t.Cleanup(func() { h.Close(context.Background()) })
	room := f.room.ID
	bob := f.client(t, h, "bob")
	frames(t, bob)
	for i := range 200 {
		sig := hanashi.Signal{Room: room, Kind: kindTyping, User: hanashi.Author{ID: hanashi.UserID(fmt.Sprint(i)), Name: "x"}}
		broker.PublishSignals(t.Context(), []hanashi.Signal{sig})
	}
	if err := bob.Err(); err != nil {
		t.Fatalf("a queue full of signals failed the client: %v", err)
	}
	got := frames(t, bob)
	if len(got) == 0 || len(got) >= 200 {
		t.Fatalf("got %d typing frames of 200, want some dropped", len(got))
	}
	if _, err := h.Post(t.Context(), hanashi.Post{Room: room, Author: f.users["alice"].ID, ClientID: "c1", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	expect(t, bob, fmt.Sprintf("m %d 1", room))
}

// A message ends the typing notice where it arrives, so the sender's next
// typing signal in that room passes the rate limit at once.
func TestTypingEndedByMessage(t *testing.T) {
	f := newSigFixture(t, "alice", "bob")
	h := f.hub(t, inmem.NewBroker())
	alice, bob := f.client(t, h, "alice"), f.client(t, h, "bob")
	frames(t, alice)
	frames(t, bob)
	room := f.room.ID
	alice.Typing(t.Context(), room)
	alice.Typing(t.Context(), room) // within the interval: dropped
	expect(t, bob, fmt.Sprintf("t %d alice", room))
	alice.TypingEnded(room)
	alice.Typing(t.Context(), room)
	expect(t, bob, fmt.Sprintf("t %d alice", room))
}
