package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// These tests run several server processes as the nodes of one cluster:
// they share a PostgreSQL database and a Redis server, as they would behind
// a load balancer without sticky sessions.

// e2eCluster is the configuration the nodes share.
type e2eCluster struct {
	dbURL, redisURL, prefix string
}

// newCluster gives the test a fresh database on the shared PostgreSQL server
// and its own channel prefix on the shared Redis (or on redisURL, if given).
func newCluster(t *testing.T, redisURL string) e2eCluster {
	t.Helper()
	db := testpeer.PostgresDB(t)
	if redisURL == "" {
		redisURL = testpeer.RedisURL(t)
	}
	return e2eCluster{dbURL: db, redisURL: redisURL, prefix: testpeer.Prefix()}
}

// start starts a node and waits until it is ready.
func (c e2eCluster) start(t *testing.T, name string) *e2eServer {
	t.Helper()
	s := e2eStart(t, t.TempDir(), "-database", c.dbURL, "-redis", c.redisURL, "-redis-prefix", c.prefix, "-node", name)
	s.waitReady(t, http.StatusOK)
	return s
}

// readyz returns the status of /readyz and its body.
func (s *e2eServer) readyz() (int, string) {
	resp, err := s.http.Get(s.base + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReady polls /readyz until it answers status.
func (s *e2eServer) waitReady(t *testing.T, status int) {
	t.Helper()
	testutil.EventuallyNil(t, e2eTimeout, fmt.Sprintf("node %s: /readyz to answer %d", s.addr, status), func() error {
		if got, body := s.readyz(); got != status {
			return fmt.Errorf("it answers %d %q", got, body)
		}
		return nil
	})
}

// alive reports whether the process is still running.
func (s *e2eServer) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// e2eFollower reads one room like a well-behaved client: it subscribes with
// its cursor, and whenever its connection breaks it reconnects, to the next
// live node if its own died, and resumes after the last seq it has. It
// records every message and fails on any gap, duplicate or reordering.
type e2eFollower struct {
	name  string
	token string
	room  int64
	nodes []*e2eServer // nodes[0] is home; the others are tried in order

	mu         sync.Mutex
	msgs       []e2eFrame
	reconnects int
	bad        error
	changed    chan struct{} // closed and replaced on every new message
}

func newFollower(name, token string, room int64, nodes ...*e2eServer) *e2eFollower {
	return &e2eFollower{name: name, token: token, room: room, nodes: nodes, changed: make(chan struct{})}
}

// run follows the room from seq 1 until ctx ends.
func (f *e2eFollower) run(ctx context.Context) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		var node *e2eServer
		for _, n := range f.nodes {
			if n.alive() {
				node = n
				break
			}
		}
		if node == nil {
			f.fail(errors.New("no live node left"))
			return
		}
		err := f.follow(ctx, node)
		if ctx.Err() != nil {
			return
		}
		f.mu.Lock()
		f.reconnects++
		f.mu.Unlock()
		_ = err // a broken connection is what this client survives
		// Back off before reconnecting.
		time.Sleep(time.Duration(min(attempt, 10)) * 10 * time.Millisecond)
	}
}

// follow reads the room on one connection until it breaks or ctx ends.
func (f *e2eFollower) follow(ctx context.Context, node *e2eServer) error {
	c, err := node.dialWS(f.token)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.c.Close() })
	defer stop()
	defer c.c.Close()
	if err := c.subscribeAfter(f.room, f.last()); err != nil {
		return err
	}
	for {
		fr, err := c.read(time.Hour)
		if err != nil {
			return err
		}
		switch fr.Type {
		case "subscribed":
		case "message":
			f.add(fr)
		case "error":
			if fr.Code == "unavailable" {
				return fmt.Errorf("%s", fr) // try again
			}
			f.fail(fmt.Errorf("error frame %s", fr))
		default:
			f.fail(fmt.Errorf("unexpected frame %s", fr))
		}
	}
}

func (f *e2eFollower) last() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.msgs) == 0 {
		return 0
	}
	return f.msgs[len(f.msgs)-1].Seq
}

func (f *e2eFollower) add(fr e2eFrame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	want := int64(len(f.msgs) + 1)
	if fr.Room != f.room || fr.Seq != want {
		f.failLocked(fmt.Errorf("got %s, want seq %d of room %d", fr, want, f.room))
		return
	}
	f.msgs = append(f.msgs, fr)
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *e2eFollower) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failLocked(err)
}

func (f *e2eFollower) failLocked(err error) {
	if f.bad == nil {
		f.bad = fmt.Errorf("follower %s: %w", f.name, err)
	}
}

// waitFor waits until the follower holds seqs 1..n.
func (f *e2eFollower) waitFor(t *testing.T, n int64) []e2eFrame {
	t.Helper()
	timeout := time.After(e2eTimeout)
	for {
		f.mu.Lock()
		have, changed, bad := int64(len(f.msgs)), f.changed, f.bad
		msgs := f.msgs
		f.mu.Unlock()
		if bad != nil {
			t.Fatal(bad)
		}
		if have >= n {
			return msgs
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("follower %s has seq 1..%d after %v, want 1..%d", f.name, have, e2eTimeout, n)
		}
	}
}

// TestE2EClusterDelivery runs two nodes on one database and one Redis: a
// session made on one node works on the other, and messages sent on either
// node reach subscribers on both, in one order with the same seqs and ids.
func TestE2EClusterDelivery(t *testing.T) {
	c := newCluster(t, "")
	a := c.start(t, "node-a")
	b := c.start(t, "node-b")

	alice := a.guest(t, "alice")
	bob := b.guest(t, "bob")
	room := a.room(t, alice, "across nodes", false)
	// Bob signed in on B, joins on A: one database behind both.
	a.do(t, "POST", fmt.Sprintf("/api/v1/rooms/%d/members", room.ID), bob.auth(), nil).expectJSON(t, "join on the other node", 200, nil)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	onA := newFollower("alice@a", alice.Token, room.ID, a)
	onB := newFollower("bob@b", bob.Token, room.ID, b)
	var wg sync.WaitGroup
	for _, f := range []*e2eFollower{onA, onB} {
		wg.Add(1)
		go func() { defer wg.Done(); f.run(ctx) }()
	}
	defer wg.Wait()
	defer cancel()

	// Senders on both nodes at once, interleaved.
	const perSender = 100
	senders := []*e2eAcks{
		e2eStartAcks(a.ws(t, alice), room.ID, 8),
		e2eStartAcks(b.ws(t, bob), room.ID, 8),
	}
	for k := range perSender {
		for i, s := range senders {
			id := fmt.Sprintf("sender%d-%d", i, k)
			if err := s.send(id, "hello from "+id); err != nil {
				t.Fatal(err)
			}
		}
	}
	byClientID := make(map[string]e2eFrame)
	for i, s := range senders {
		s.wait(t, fmt.Sprintf("sender %d", i))
		_, acks := s.snapshot()
		for id, ack := range acks {
			byClientID[id] = ack
		}
	}

	gotA := onA.waitFor(t, 2*perSender)
	gotB := onB.waitFor(t, 2*perSender)
	for i := range gotA {
		ma, mb := gotA[i], gotB[i]
		if ma.ID != mb.ID || ma.Seq != mb.Seq || ma.Body != mb.Body {
			t.Fatalf("seq %d differs between the nodes: %s on A, %s on B", i+1, ma, mb)
		}
		ack, ok := byClientID[ma.ClientID]
		if !ok || ack.Seq != ma.Seq || ack.ID != ma.ID {
			t.Errorf("delivered %s, acked as %s", ma, ack)
		}
	}
	if n := len(gotA); n != 2*perSender {
		t.Errorf("%d messages delivered, want %d", n, 2*perSender)
	}
}

// TestE2EClusterResume reads a room on node A, goes away, and resumes with
// its cursor on node B: it gets exactly what it missed, then the live
// stream.
func TestE2EClusterResume(t *testing.T) {
	c := newCluster(t, "")
	a := c.start(t, "node-a")
	b := c.start(t, "node-b")
	alice := a.guest(t, "alice")
	room := a.room(t, alice, "resume anywhere", false)

	sender := e2eStartAcks(a.ws(t, alice), room.ID, 8)
	first := sender.sendN(t, "before", 20)

	onA := a.ws(t, alice)
	if err := onA.subscribeAfter(room.ID, 0); err != nil {
		t.Fatal(err)
	}
	for _, ack := range first[:10] {
		if f := onA.expect(t, "message"); f.Seq != ack.Seq || f.ID != ack.ID {
			t.Fatalf("got %s, want %s", f, ack)
		}
	}
	cursor := first[9].Seq
	onA.c.Close() // the client goes away with seq 10 as its cursor

	// Messages sent on B while the client is away.
	fromB := e2eStartAcks(b.ws(t, alice), room.ID, 8).sendN(t, "while-away", 30)
	missed := append(first[10:], fromB...)

	onB := b.ws(t, alice)
	if err := onB.subscribeAfter(room.ID, cursor); err != nil {
		t.Fatal(err)
	}
	for _, ack := range missed {
		if f := onB.expect(t, "message"); f.Seq != ack.Seq || f.ID != ack.ID {
			t.Fatalf("resuming on B after %d: got %s, want %s", cursor, f, ack)
		}
	}
	onB.expect(t, "subscribed")

	// Live again, from a message sent on A.
	live := sender.sendN(t, "live", 1)[0]
	if f := onB.expect(t, "message"); f.Seq != live.Seq || f.ID != live.ID {
		t.Fatalf("live on B: got %s, want %s", f, live)
	}
}

// TestE2EClusterFaults runs three nodes and a burst of sends spread over
// all of them, kills one node with SIGKILL and restarts Redis in the middle
// of it. Every follower, reconnecting to a live node when its own died, must
// end with every acknowledged message, in order, once.
func TestE2EClusterFaults(t *testing.T) {
	redis := testpeer.StartRedis(t)
	c := newCluster(t, redis.URL())
	nodes := []*e2eServer{c.start(t, "node-0"), c.start(t, "node-1"), c.start(t, "node-2")}
	owner := nodes[0].guest(t, "owner")
	room := nodes[0].room(t, owner, "faults", false)

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	// Two followers per node; each falls back to the other nodes in turn.
	var followers []*e2eFollower
	for i := range nodes {
		for j := range 2 {
			order := append(append([]*e2eServer{}, nodes[i:]...), nodes[:i]...)
			f := newFollower(fmt.Sprintf("n%d-f%d", i, j), owner.Token, room.ID, order...)
			followers = append(followers, f)
			wg.Add(1)
			go func() { defer wg.Done(); f.run(ctx) }()
		}
	}

	// Three senders per node, each with a few sends in flight, until stop.
	type sender struct {
		node int
		acks *e2eAcks
	}
	var senders []*sender
	stop := make(chan struct{})
	var sendWG sync.WaitGroup
	for i, n := range nodes {
		for j := range 3 {
			g := n.guest(t, fmt.Sprintf("sender-%d-%d", i, j))
			s := &sender{node: i, acks: e2eStartAcks(n.ws(t, g), room.ID, 4)}
			senders = append(senders, s)
			sendWG.Add(1)
			go func() {
				defer sendWG.Done()
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					id := fmt.Sprintf("n%d-s%d-%05d", i, j, k)
					if s.acks.send(id, "burst "+id) != nil {
						return // its node died
					}
				}
			}()
		}
	}

	time.Sleep(700 * time.Millisecond) // the burst runs on all three nodes
	nodes[2].kill()
	t.Log("node-2 killed")
	time.Sleep(300 * time.Millisecond) // followers and senders go on without node-2
	redis.Kill()
	t.Log("redis down")
	for _, n := range nodes[:2] {
		n.waitReady(t, http.StatusServiceUnavailable)
	}
	time.Sleep(300 * time.Millisecond) // sends go on while Redis is down
	redis.Start()
	t.Log("redis up again")
	for _, n := range nodes[:2] {
		n.waitReady(t, http.StatusOK)
	}
	time.Sleep(700 * time.Millisecond) // the burst runs on with Redis back
	close(stop)
	sendWG.Wait()

	// Every acked message, by seq. Senders on live nodes must have all
	// their sends acked.
	acked := make(map[int64]e2eFrame)
	for _, s := range senders {
		if s.node != 2 {
			s.acks.wait(t, fmt.Sprintf("sender on node-%d", s.node))
		}
		if err := s.acks.Unexpected(); err != nil {
			t.Errorf("sender on node-%d: %v", s.node, err)
		}
		_, am := s.acks.snapshot()
		for _, a := range am {
			if prev, dup := acked[a.Seq]; dup {
				t.Errorf("seq %d acked twice: %s and %s", a.Seq, prev, a)
			}
			acked[a.Seq] = a
		}
	}
	var top int64
	for seq := range acked {
		top = max(top, seq)
	}
	t.Logf("%d messages acked, highest seq %d", len(acked), top)
	if len(acked) < 100 {
		t.Fatalf("only %d messages acked; the burst did not run", len(acked))
	}

	// The room's history is the reference: seqs 1..N, each acked message at
	// its seq. Every follower must end with exactly that.
	history := nodes[0].history(t, owner, room.ID)
	for i, m := range history {
		if m.Seq != int64(i+1) {
			t.Fatalf("history[%d] has seq %d", i, m.Seq)
		}
		if a, ok := acked[m.Seq]; ok && (a.ID != m.ID || a.ClientID != m.ClientID) {
			t.Errorf("seq %d acked as %s, stored as %s/%s", m.Seq, a, m.ID, m.ClientID)
		}
	}
	if int64(len(history)) < top {
		t.Fatalf("history ends at seq %d, but seq %d was acked", len(history), top)
	}
	for _, f := range followers {
		got := f.waitFor(t, int64(len(history)))
		for i, m := range history {
			if got[i].ID != m.ID {
				t.Fatalf("follower %s: seq %d is %s, stored %s", f.name, m.Seq, got[i], m.ID)
			}
		}
		f.mu.Lock()
		t.Logf("follower %s: %d messages, %d reconnects", f.name, len(f.msgs), f.reconnects)
		if len(f.msgs) != len(history) {
			t.Errorf("follower %s has %d messages, want %d", f.name, len(f.msgs), len(history))
		}
		f.mu.Unlock()
	}
}
