package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestE2EDrain stops node A of a two-node cluster with SIGTERM while
// clients follow a room on it and a send burst runs on both nodes, as
// docs/operations.md promises: A's /readyz fails at once while A still
// serves through the grace period; then A's WebSockets close with 1001, its
// clients resume on node B from their cursors, the sender on A sends again
// on B whatever A did not acknowledge, A exits with status 0 within its
// deadline, and every acknowledged message is in the room once, where its
// ack said, in the order every follower saw.
func TestE2EDrain(t *testing.T) {
	cluster := newCluster(t, "")
	const grace, timeout = 1500 * time.Millisecond, 10 * time.Second
	a := e2eStart(t, t.TempDir(), "-database", cluster.dbURL, "-redis", cluster.redisURL, "-redis-prefix", cluster.prefix,
		"-node", "a", "-drain-grace", grace.String(), "-drain-timeout", timeout.String())
	a.waitReady(t, http.StatusOK)
	b := cluster.start(t, "b")

	alice := b.guest(t, "alice")
	bob := a.guest(t, "bob")
	room := a.room(t, alice, "drain", false)
	a.do(t, "POST", fmt.Sprintf("/api/v1/rooms/%d/members", room.ID), bob.auth(), nil)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	var followers []*drainFollower
	for i := range 3 {
		f := &drainFollower{e2eFollower: newFollower(fmt.Sprintf("follower-%d", i), bob.Token, room.ID, a, b)}
		followers = append(followers, f)
		wg.Add(1)
		go func() { defer wg.Done(); f.run(ctx, a, b) }()
	}
	const perSender = 500
	senderA := newDrainSender("on-a", alice.Token, room.ID, perSender)
	senderB := newDrainSender("on-b", bob.Token, room.ID, perSender)
	for _, s := range []struct {
		s     *drainSender
		nodes []*e2eServer
	}{{senderA, []*e2eServer{a, b}}, {senderB, []*e2eServer{b}}} {
		wg.Add(1)
		go func() { defer wg.Done(); s.s.run(ctx, s.nodes) }()
	}

	// SIGTERM in the middle of the burst, with the followers on A.
	senderA.waitAcks(t, 100)
	for _, f := range followers {
		f.waitFor(t, 1)
	}
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()

	// Readiness fails first, while A still serves.
	a.waitReady(t, http.StatusServiceUnavailable)
	flipped := time.Now()
	if code, body := a.readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Errorf("node A's /readyz after SIGTERM: %d %q, want 503 draining", code, body)
	}
	if r := a.do(t, "GET", "/healthz", e2eAuth{}, nil); r.Status != http.StatusOK {
		t.Errorf("node A's /healthz while draining: %d, want 200", r.Status)
	}
	var rooms struct {
		Rooms []e2eRoom `json:"rooms"`
	}
	a.do(t, "GET", "/api/v1/rooms", alice.auth(), nil).expectJSON(t, "GET /api/v1/rooms on A in its grace period", http.StatusOK, &rooms)
	for _, f := range followers {
		if code, _ := f.closed(); code != 0 {
			t.Errorf("%s: closed with %d before the grace period ended", f.name, code)
		}
	}
	t.Logf("/readyz failed %v after SIGTERM", flipped.Sub(signalled).Round(time.Millisecond))

	// Then WebSockets go away with 1001, and A exits cleanly in time.
	select {
	case <-a.exited:
	case <-time.After(timeout + 5*time.Second):
		t.Fatalf("node A still runs %v after SIGTERM", time.Since(signalled))
	}
	if a.waitErr != nil {
		t.Errorf("node A exited with %v after SIGTERM, want status 0", a.waitErr)
	}
	t.Logf("node A exited %v after SIGTERM", time.Since(signalled).Round(time.Millisecond))
	for _, f := range followers {
		code, at := f.closed()
		switch {
		case code != websocket.CloseGoingAway:
			t.Errorf("%s: its connection to A ended with close code %d, want 1001", f.name, code)
		case at.Before(flipped):
			t.Errorf("%s: closed before /readyz failed", f.name)
		case at.Sub(signalled) < grace:
			t.Errorf("%s: closed %v after SIGTERM, within the %v grace period", f.name, at.Sub(signalled), grace)
		}
	}
	if code, _ := senderA.closed(); code != websocket.CloseGoingAway {
		t.Errorf("the sender on A: its connection ended with close code %d, want 1001", code)
	}

	// Everything acknowledged, on either node, is in the room once.
	acks := append(senderA.wait(t), senderB.wait(t)...)
	history := b.history(t, alice, room.ID)
	if len(history) != 2*perSender {
		t.Errorf("the room holds %d messages, want %d (each sent once, some twice)", len(history), 2*perSender)
	}
	byClient := make(map[string]int)
	for i, m := range history {
		if m.Seq != int64(i+1) {
			t.Fatalf("history[%d] has seq %d: a gap", i, m.Seq)
		}
		byClient[m.ClientID]++
	}
	for _, ack := range acks {
		if n := byClient[ack.ClientID]; n != 1 {
			t.Errorf("%s is in the room %d times, want once", ack.ClientID, n)
		}
		if ack.Seq < 1 || ack.Seq > int64(len(history)) || history[ack.Seq-1].ID != ack.ID {
			t.Errorf("ack %s does not match the stored message at its seq", ack)
		}
	}
	// The followers resumed on B and saw the same stream, in order.
	for _, f := range followers {
		msgs := f.waitFor(t, int64(len(history)))
		for i, m := range msgs[:len(history)] {
			if m.ID != history[i].ID {
				t.Fatalf("%s: message %d is %s, want id %s", f.name, i+1, m, history[i].ID)
			}
		}
	}
	t.Logf("%d messages; sends refused on A while it drained and sent again on B: %d", len(history), senderA.refusals())
}

// drainFollower follows a room from node a until a closes its connection,
// recording the close code, and then from node b (as a client behind a
// load balancer that has taken a out).
type drainFollower struct {
	*e2eFollower

	closeMu   sync.Mutex
	closeCode int
	closedAt  time.Time
}

func (f *drainFollower) run(ctx context.Context, a, b *e2eServer) {
	err := f.follow(ctx, a)
	if ctx.Err() != nil {
		return
	}
	var ce *websocket.CloseError
	f.closeMu.Lock()
	f.closedAt = time.Now()
	if errors.As(err, &ce) {
		f.closeCode = ce.Code
	} else {
		f.closeCode = -1
	}
	f.closeMu.Unlock()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		f.follow(ctx, b)
		if ctx.Err() == nil {
			time.Sleep(time.Duration(min(attempt, 10)) * 10 * time.Millisecond) // reconnect backoff
		}
	}
}

// closed returns the close code of the connection to a (0 while open, -1
// for a connection that broke without one) and when it came.
func (f *drainFollower) closed() (int, time.Time) {
	f.closeMu.Lock()
	defer f.closeMu.Unlock()
	return f.closeCode, f.closedAt
}

// drainSender sends total messages at a steady pace with a few in flight,
// over one node after the other: when a node refuses sends as unavailable
// or goes away, it moves on to the next and sends again, with the same
// client ids, whatever was not acknowledged.
type drainSender struct {
	name, token string
	room        int64
	total       int

	mu        sync.Mutex
	nextNew   int
	todo      []string            // to send again on the next connection
	inflight  map[string]bool     // sent on this connection, unanswered
	acks      map[string]e2eFrame // client_id -> ack
	refused   int
	closeCode int // of the first connection that ended
	bad       error
	changed   chan struct{} // closed and replaced on every ack
	done      chan struct{} // closed when run returns
}

func newDrainSender(name, token string, room int64, total int) *drainSender {
	return &drainSender{name: name, token: token, room: room, total: total,
		inflight: make(map[string]bool), acks: make(map[string]e2eFrame),
		changed: make(chan struct{}), done: make(chan struct{})}
}

func (s *drainSender) run(ctx context.Context, nodes []*e2eServer) {
	defer close(s.done)
	first := true
	for _, node := range nodes {
		code, err := s.session(ctx, node)
		if first {
			s.mu.Lock()
			s.closeCode = code
			s.mu.Unlock()
			first = false
		}
		if err == nil || ctx.Err() != nil {
			return
		}
	}
	s.fail(errors.New("no node left to send to"))
}

// session sends on one connection to node until everything is
// acknowledged (nil) or the node refuses or closes (the close code, 0 for
// none, and why).
func (s *drainSender) session(ctx context.Context, node *e2eServer) (int, error) {
	c, err := node.dialWS(s.token)
	if err != nil {
		return 0, err
	}
	defer c.c.Close()
	stop := context.AfterFunc(ctx, func() { c.c.Close() })
	defer stop()
	s.mu.Lock()
	for id := range s.inflight {
		s.todo = append(s.todo, id)
	}
	clear(s.inflight)
	sort.Strings(s.todo)
	s.mu.Unlock()

	window := make(chan struct{}, 8)
	refusedHere := make(chan struct{})
	var refuseOnce sync.Once
	readErr := make(chan error, 1)
	go func() {
		for {
			f, err := c.read(time.Hour)
			if err != nil {
				readErr <- err
				return
			}
			switch {
			case f.Type == "ack" && f.Room == s.room:
				s.ack(f)
			case f.Type == "error" && f.Code == "unavailable" && f.ClientID != "":
				s.mu.Lock()
				s.refused++
				s.mu.Unlock()
				refuseOnce.Do(func() { close(refusedHere) })
			default:
				s.fail(fmt.Errorf("unexpected frame %s", f))
			}
			select { // an answer frees its send's place in the window
			case <-window:
			default:
			}
		}
	}()
	closeCode := func(err error) (int, error) {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, err
		}
		return 0, err
	}
	pace := time.NewTicker(5 * time.Millisecond)
	defer pace.Stop()
	for {
		select {
		case window <- struct{}{}:
		case err := <-readErr:
			return closeCode(err)
		case <-refusedHere:
			// Draining: nothing more goes to this node; wait for it to
			// go away, then send again elsewhere.
			return closeCode(<-readErr)
		}
		id := s.take()
		if id == "" {
			<-window
			if s.finished() {
				return 0, nil
			}
			select {
			case err := <-readErr:
				return closeCode(err)
			case <-pace.C:
			}
			continue
		}
		if err := c.send(s.room, id, "body of "+id); err != nil {
			return closeCode(<-readErr)
		}
		select {
		case <-pace.C:
		case err := <-readErr:
			return closeCode(err)
		}
	}
}

// take returns the next client id to send, "" for none now.
func (s *drainSender) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var id string
	switch {
	case len(s.todo) > 0:
		id, s.todo = s.todo[0], s.todo[1:]
	case s.nextNew < s.total:
		id = fmt.Sprintf("%s-%04d", s.name, s.nextNew)
		s.nextNew++
	default:
		return ""
	}
	s.inflight[id] = true
	return id
}

func (s *drainSender) ack(f e2eFrame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.acks[f.ClientID]; ok && (prev.Seq != f.Seq || prev.ID != f.ID) {
		s.failLocked(fmt.Errorf("%s acked twice, differently: %s and %s", f.ClientID, prev, f))
	}
	s.acks[f.ClientID] = f
	delete(s.inflight, f.ClientID)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *drainSender) finished() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acks) == s.total
}

func (s *drainSender) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLocked(err)
}

func (s *drainSender) failLocked(err error) {
	if s.bad == nil {
		s.bad = fmt.Errorf("sender %s: %w", s.name, err)
	}
}

func (s *drainSender) closed() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeCode, s.bad
}

func (s *drainSender) refusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// waitAcks waits until n sends are acknowledged.
func (s *drainSender) waitAcks(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(e2eTimeout)
	for {
		s.mu.Lock()
		have, changed, bad := len(s.acks), s.changed, s.bad
		s.mu.Unlock()
		if bad != nil {
			t.Fatal(bad)
		}
		if have >= n {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("sender %s: %d acks after %v, want %d", s.name, have, e2eTimeout, n)
		}
	}
}

// wait waits until every send is acknowledged and returns the acks.
func (s *drainSender) wait(t *testing.T) []e2eFrame {
	t.Helper()
	s.waitAcks(t, s.total)
	s.mu.Lock()
	defer s.mu.Unlock()
	acks := make([]e2eFrame, 0, len(s.acks))
	for _, f := range s.acks {
		acks = append(acks, f)
	}
	return acks
}
