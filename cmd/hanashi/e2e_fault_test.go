package main

// The fault tests (TestFault*) run two nodes on one PostgreSQL and one
// Redis, each node reaching them through a TCP proxy of the test's
// (testpeer.Proxy) that can stop moving bytes, and break things as an
// operator would see them break: a node killed between a commit and its
// publish, a node cut off from PostgreSQL in the middle of a commit, Redis
// paused, restarted or cut off, PostgreSQL restarted. Senders resend what
// was not acknowledged, with the same client ids, on the other node when
// theirs fails; followers resume from their cursors. Each scenario then
// checks, from the outside:
//
//   - every acknowledged (seq, client id) is in the room's history exactly
//     once, and the history's seqs run 1..N;
//   - every follower, live through the fault or subscribing afterwards
//     from seq 0 on either node, holds exactly the history, in order;
//   - the node the fault did not touch went on acknowledging during it,
//     and its /readyz never failed, while the touched node's failed within
//     the bound (see docs/operations.md, "Failure behaviour");
//   - no node panicked, and the fault did not flood the log.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// faultCrashEnv names the body that makes a test server die (SIGKILL)
// between committing a message and publishing it.
const faultCrashEnv = "HANASHI_TEST_CRASH_BEFORE_PUBLISH"

// faultBroker returns, for a test server whose environment names a crash
// body, a wrapper of its broker that kills the process when asked to
// publish a message with that body: the message is committed, and no node
// is told. Servers of other tests get nil (no wrapper).
func faultBroker() func(hanashi.Broker) hanashi.Broker {
	body := os.Getenv(faultCrashEnv)
	if body == "" {
		return nil
	}
	return func(b hanashi.Broker) hanashi.Broker { return crashingBroker{Broker: b, body: body} }
}

type crashingBroker struct {
	hanashi.Broker
	body string
}

func (b crashingBroker) Publish(ctx context.Context, msgs []hanashi.Message) error {
	for _, m := range msgs {
		if m.Body == b.body {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	return b.Broker.Publish(ctx, msgs)
}

// Bounds the scenarios check (docs/operations.md, "Failure behaviour").
const (
	faultCommitTimeout = 2 * time.Second
	// faultReadyBound: how soon /readyz must fail once a dependency stops
	// answering (about a second, plus the poll's own period).
	faultReadyBound = 1500 * time.Millisecond
	// faultDeliverBound: how soon a message no broker carried must reach
	// every subscriber.
	faultDeliverBound = 2 * time.Second
	// faultLogLines bounds what a node may log during a fault.
	faultLogLines = 40
)

// faultNode is one node and the proxies between it and its peers.
type faultNode struct {
	*e2eServer
	name    string
	pg      *testpeer.Proxy
	redis   *testpeer.Proxy
	watcher *readyWatcher
}

type faultCluster struct {
	db, redisURL, prefix string
	nodes                []*faultNode
}

// startFaultCluster starts two nodes on database db and Redis redisURL,
// each through proxies of its own. env is added to node 0's environment.
func startFaultCluster(t *testing.T, db, redisURL string, env ...string) *faultCluster {
	t.Helper()
	c := &faultCluster{db: db, redisURL: redisURL, prefix: testpeer.Prefix()}
	for i := range 2 {
		n := &faultNode{name: fmt.Sprintf("node-%d", i)}
		n.pg = testpeer.StartProxy(t, hostPort(t, db))
		n.redis = testpeer.StartProxy(t, hostPort(t, redisURL))
		var opts e2eOptions
		if i == 0 {
			opts.env = env
		}
		n.e2eServer = e2eStartWith(t, t.TempDir(), opts,
			"-database", n.pg.URL(db), "-redis", n.redis.URL(redisURL), "-redis-prefix", c.prefix,
			"-node", n.name, "-commit-timeout", faultCommitTimeout.String())
		n.waitReady(t, http.StatusOK)
		n.watcher = watchReady(t, n.e2eServer)
		c.nodes = append(c.nodes, n)
	}
	return c
}

// hostPort is the host:port of a URL.
func hostPort(t *testing.T, u string) string {
	t.Helper()
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		t.Fatalf("not a URL: %s", u)
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// readyWatcher polls a node's /readyz every 50 ms and keeps every change.
type readyWatcher struct {
	mu      sync.Mutex
	changes []readyChange
}

type readyChange struct {
	at     time.Time
	status int
	body   string
}

func watchReady(t *testing.T, s *e2eServer) *readyWatcher {
	w := &readyWatcher{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	client := &http.Client{Timeout: 2 * time.Second}
	go func() {
		defer close(done)
		last := -1
		for ctx.Err() == nil {
			status, body := 0, ""
			if resp, err := client.Get(s.base + "/readyz"); err == nil {
				buf := make([]byte, 256)
				n, _ := resp.Body.Read(buf)
				resp.Body.Close()
				status, body = resp.StatusCode, strings.TrimSpace(string(buf[:n]))
			}
			if status != last {
				w.mu.Lock()
				w.changes = append(w.changes, readyChange{time.Now(), status, body})
				w.mu.Unlock()
				last = status
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond): // the sampling interval
			}
		}
	}()
	return w
}

// expectNotReady checks that every node's /readyz failed within
// faultReadyBound of since, when what happened.
func expectNotReady(t *testing.T, since time.Time, what string, nodes ...*faultNode) {
	t.Helper()
	for _, n := range nodes {
		if at := n.watcher.waitStatus(t, n.name, http.StatusServiceUnavailable, since); at.Sub(since) > faultReadyBound {
			t.Errorf("%s: /readyz failed %v after %s, want within %v", n.name, at.Sub(since), what, faultReadyBound)
		}
	}
}

// expectReady waits until every node's /readyz answers 200 again.
func expectReady(t *testing.T, since time.Time, nodes ...*faultNode) {
	t.Helper()
	for _, n := range nodes {
		n.watcher.waitStatus(t, n.name, http.StatusOK, since)
	}
}

// notReadyBetween returns the first change away from 200 in [from, to].
func (w *readyWatcher) notReadyBetween(from, to time.Time) (readyChange, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.changes {
		if c.status != http.StatusOK && !c.at.Before(from) && !c.at.After(to) {
			return c, true
		}
	}
	return readyChange{}, false
}

// waitStatus waits until the watcher has seen status at or after since.
func (w *readyWatcher) waitStatus(t *testing.T, name string, status int, since time.Time) time.Time {
	t.Helper()
	var at time.Time
	testutil.Eventually(t, e2eTimeout, fmt.Sprintf("%s: /readyz to answer %d", name, status), func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, c := range w.changes {
			if c.status == status && !c.at.Before(since) {
				at = c.at
				return true
			}
		}
		// A status held since before since counts as seen at since.
		if n := len(w.changes); n > 0 && w.changes[n-1].status == status {
			at = since
			return true
		}
		return false
	})
	return at
}

// faultSender sends messages into one room, about one every 20 ms with up
// to 8 unacknowledged, as a careful client does: when its node answers
// "unavailable" or goes away, it moves to the next node and sends again,
// with the same client ids, everything not yet acknowledged.
type faultSender struct {
	name  string
	token string
	room  int64
	nodes []*faultNode // home first

	mu          sync.Mutex
	next        int
	stopped     bool // no new messages
	unacked     map[string]bool
	acks        map[string]e2eFrame
	ackedAt     map[string]faultAck
	unavailable []time.Time // when "unavailable" errors came
	bad         error
}

type faultAck struct {
	at   time.Time
	node string
}

func newFaultSender(name, token string, room int64, nodes ...*faultNode) *faultSender {
	return &faultSender{name: name, token: token, room: room, nodes: nodes,
		unacked: make(map[string]bool), acks: make(map[string]e2eFrame), ackedAt: make(map[string]faultAck)}
}

func (s *faultSender) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		n := s.nodes[i%len(s.nodes)]
		if !n.alive() {
			continue
		}
		s.session(ctx, n)
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond): // backoff before the next node
		}
	}
}

// session sends on one connection until it fails, the node answers
// "unavailable", or ctx ends.
func (s *faultSender) session(ctx context.Context, n *faultNode) {
	c, err := n.dialWS(s.token)
	if err != nil {
		return
	}
	defer c.c.Close()
	stop := context.AfterFunc(ctx, func() { c.c.Close() })
	defer stop()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			f, err := c.read(time.Hour)
			if err != nil {
				return
			}
			switch {
			case f.Type == "ack" && f.Room == s.room:
				s.ack(f, n.name)
			case f.Type == "error" && f.Code == "unavailable" && f.ClientID != "":
				s.mu.Lock()
				s.unavailable = append(s.unavailable, f.received)
				s.mu.Unlock()
				c.c.Close() // try the next node
				return
			default:
				s.fail(fmt.Errorf("unexpected frame %s", f))
			}
		}
	}()
	s.mu.Lock()
	resend := make([]string, 0, len(s.unacked))
	for id := range s.unacked {
		resend = append(resend, id)
	}
	s.mu.Unlock()
	sort.Strings(resend)
	for _, id := range resend {
		if c.send(s.room, id, "body of "+id) != nil {
			return
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-gone:
			return
		case <-tick.C:
		}
		s.mu.Lock()
		id := ""
		if !s.stopped && len(s.unacked) < 8 {
			id = fmt.Sprintf("%s-%05d", s.name, s.next)
			s.next++
			s.unacked[id] = true
		}
		s.mu.Unlock()
		if id != "" && c.send(s.room, id, "body of "+id) != nil {
			return
		}
	}
}

func (s *faultSender) ack(f e2eFrame, node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.acks[f.ClientID]; ok {
		if prev.Seq != f.Seq || prev.ID != f.ID {
			s.failLocked(fmt.Errorf("%s acked twice, differently: %s and %s", f.ClientID, prev, f))
		}
		return
	}
	if !s.unacked[f.ClientID] {
		s.failLocked(fmt.Errorf("ack of a message never sent: %s", f))
		return
	}
	delete(s.unacked, f.ClientID)
	s.acks[f.ClientID] = f
	s.ackedAt[f.ClientID] = faultAck{f.received, node}
}

func (s *faultSender) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLocked(err)
}

func (s *faultSender) failLocked(err error) {
	if s.bad == nil {
		s.bad = fmt.Errorf("sender %s: %w", s.name, err)
	}
}

// finish stops new messages and waits until everything sent is acked.
func (s *faultSender) finish(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	testutil.EventuallyNil(t, e2eTimeout, fmt.Sprintf("sender %s: every send acknowledged", s.name), func() error {
		s.mu.Lock()
		left, bad := len(s.unacked), s.bad
		s.mu.Unlock()
		if bad != nil {
			t.Fatal(bad)
		}
		if left > 0 {
			return fmt.Errorf("%d sends still unacknowledged", left)
		}
		return nil
	})
}

// ackedBy counts the acks node sent in [from, to].
func (s *faultSender) ackedBy(node string, from, to time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.ackedAt {
		if a.node == node && !a.at.Before(from) && !a.at.After(to) {
			n++
		}
	}
	return n
}

// firstUnavailable is when the first "unavailable" answer after since came.
func (s *faultSender) firstUnavailable(since time.Time) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.unavailable {
		if !at.Before(since) {
			return at, true
		}
	}
	return time.Time{}, false
}

// faultLoad is the traffic of a scenario: senders and followers on both
// nodes, in one room.
type faultLoad struct {
	owner     e2eGuest
	room      int64
	senders   []*faultSender
	followers []*e2eFollower
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func startFaultLoad(t *testing.T, c *faultCluster) *faultLoad {
	t.Helper()
	a := c.nodes[0]
	l := &faultLoad{owner: a.guest(t, "owner")}
	l.room = a.room(t, l.owner, "faults", false).ID
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	for i, n := range c.nodes {
		other := c.nodes[1-i]
		for j := range 2 {
			f := newFollower(fmt.Sprintf("%s-f%d", n.name, j), l.owner.Token, l.room, n.e2eServer, other.e2eServer)
			l.followers = append(l.followers, f)
			l.wg.Go(func() { f.run(ctx) })
			g := n.guest(t, fmt.Sprintf("sender-%d-%d", i, j))
			s := newFaultSender(fmt.Sprintf("%s-s%d", n.name, j), g.Token, l.room, n, other)
			l.senders = append(l.senders, s)
			l.wg.Go(func() { s.run(ctx) })
		}
	}
	t.Cleanup(func() { l.cancel(); l.wg.Wait() })
	return l
}

// ackedBy counts the acks node sent in [from, to] to every sender.
func (l *faultLoad) ackedBy(node string, from, to time.Time) int {
	n := 0
	for _, s := range l.senders {
		n += s.ackedBy(node, from, to)
	}
	return n
}

// check finishes the load and checks history, acks and followers, with a
// new follower from seq 0 on every live node.
func (l *faultLoad) check(t *testing.T, c *faultCluster) {
	t.Helper()
	for _, s := range l.senders {
		s.finish(t)
	}
	var live *faultNode
	for _, n := range c.nodes {
		if n.alive() {
			live = n
			break
		}
	}
	history := live.history(t, l.owner, l.room)
	byClient := make(map[string]e2eMessage, len(history))
	for i, m := range history {
		if m.Seq != int64(i+1) {
			t.Fatalf("history[%d] has seq %d: the room's seqs have a gap", i, m.Seq)
		}
		if m.ClientID == "" {
			continue
		}
		if prev, dup := byClient[m.ClientID]; dup {
			t.Fatalf("client id %s stored twice: seq %d and %d", m.ClientID, prev.Seq, m.Seq)
		}
		byClient[m.ClientID] = m
	}
	acked := 0
	for _, s := range l.senders {
		s.mu.Lock()
		for id, a := range s.acks {
			m, ok := byClient[id]
			if !ok || m.Seq != a.Seq || m.ID != a.ID {
				t.Errorf("%s acked as seq %d id %s, stored as %+v (found %v)", id, a.Seq, a.ID, m, ok)
			}
			acked++
		}
		s.mu.Unlock()
	}
	if acked < 50 {
		t.Fatalf("only %d messages acked: the load did not run", acked)
	}
	followers := l.followers
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, n := range c.nodes {
		if !n.alive() {
			continue
		}
		f := newFollower(n.name+"-late", l.owner.Token, l.room, n.e2eServer)
		followers = append(followers, f)
		wg.Go(func() { f.run(ctx) })
	}
	for _, f := range followers {
		got := f.waitFor(t, int64(len(history)))
		if len(got) != len(history) {
			t.Fatalf("follower %s has %d messages, the history %d", f.name, len(got), len(history))
		}
		for i, m := range history {
			if got[i].ID != m.ID {
				t.Fatalf("follower %s: seq %d is %s, stored %s", f.name, m.Seq, got[i], m.ID)
			}
		}
	}
	t.Logf("%d messages in history, %d acked, %d followers agree", len(history), acked, len(followers))
}

// checkNode checks a node's output: no panic, and at most faultLogLines
// lines logged since mark (a length of its output).
func checkNode(t *testing.T, n *faultNode, mark int) {
	t.Helper()
	out := n.out.String()
	if strings.Contains(out, "panic:") || strings.Contains(out, "DATA RACE") {
		t.Errorf("%s panicked or raced", n.name)
	}
	if mark <= len(out) {
		lines := strings.Count(out[mark:], "\n")
		if lines > faultLogLines {
			t.Errorf("%s logged %d lines during the fault, want at most %d:\n%s", n.name, lines, faultLogLines, out[mark:])
		}
	}
}

// TestFaultCrashBeforePublish kills a node (SIGKILL) between committing a
// message and publishing it, in a quiet room: the other node's subscribers
// get the message from the store within faultDeliverBound, with nothing
// sent after it, and one subscribing later from 0 gets it too.
func TestFaultCrashBeforePublish(t *testing.T) {
	const crash = "this message is stored, then its node dies"
	c := startFaultCluster(t, testpeer.PostgresDB(t), testpeer.RedisURL(t), faultCrashEnv+"="+crash)
	a, b := c.nodes[0], c.nodes[1]
	l := startFaultLoad(t, c)

	// The quiet room, followed on b.
	quiet := a.room(t, l.owner, "quiet", false).ID
	watcher := newFollower("quiet-b", l.owner.Token, quiet, b.e2eServer)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { watcher.run(ctx) })
	ac := a.ws(t, l.owner)
	if err := ac.send(quiet, "before", "before the crash"); err != nil {
		t.Fatal(err)
	}
	watcher.waitFor(t, 1)
	time.Sleep(300 * time.Millisecond) // the load runs on both nodes
	mark := len(b.out.String())

	killed := time.Now()
	if err := ac.send(quiet, "crash", crash); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	got := watcher.waitFor(t, 2)
	took := time.Since(killed)
	t.Logf("the unpublished message reached b's subscriber %v after the send", took)
	if got[1].ClientID != "crash" {
		t.Fatalf("seq 2 of the quiet room is %s, want the crash message", got[1])
	}
	if took > faultDeliverBound {
		t.Errorf("the message committed by the dead node took %v to reach b's subscriber, want within %v", took, faultDeliverBound)
	}
	late := newFollower("quiet-late", l.owner.Token, quiet, b.e2eServer)
	wg.Go(func() { late.run(ctx) })
	late.waitFor(t, 2)

	time.Sleep(time.Second) // the senders of a move to b
	if n := l.ackedBy(b.name, killed, time.Now()); n == 0 {
		t.Errorf("%s acknowledged nothing after %s died", b.name, a.name)
	}
	if ch, bad := b.watcher.notReadyBetween(killed, time.Now()); bad {
		t.Errorf("%s was not ready at %v (%d %s): only the dead node was touched", b.name, ch.at.Sub(killed), ch.status, ch.body)
	}
	l.check(t, c)
	checkNode(t, b, mark)
}

// TestFaultPostgresPartitionMidCommit cuts a node off from PostgreSQL in
// the middle of a commit: its backend holds the room's lock and waits
// for the rest of the pipeline. The other node must go on acknowledging
// in the same room (the lock is taken from the dead session), the cut
// node must fail /readyz within faultReadyBound and answer its senders
// "unavailable" within the commit timeout, and once healed all is whole.
func TestFaultPostgresPartitionMidCommit(t *testing.T) {
	c := startFaultCluster(t, testpeer.PostgresDB(t), testpeer.RedisURL(t))
	a, b := c.nodes[0], c.nodes[1]
	l := startFaultLoad(t, c)
	time.Sleep(time.Second) // the load runs on both nodes before the fault
	marks := []int{len(a.out.String()), len(b.out.String())}

	a.pg.CutMidPipeline()
	select {
	case <-a.pg.Triggered():
	case <-time.After(e2eTimeout):
		t.Fatal("no commit pipeline went through the proxy to cut")
	}
	cut := time.Now()
	t.Log("a cut off from PostgreSQL mid-commit")
	expectNotReady(t, cut, "the cut", a)
	time.Sleep(5 * time.Second) // the partition lasts past the commit timeout
	healed := time.Now()
	if n := l.ackedBy(b.name, cut.Add(4*time.Second), healed); n == 0 {
		t.Errorf("%s acknowledged nothing in the last second of %s's partition: the dead session's lock froze it", b.name, a.name)
	}
	for _, s := range l.senders[:2] { // a's own senders
		at, ok := s.firstUnavailable(cut)
		if !ok {
			t.Errorf("sender %s on the cut node got no \"unavailable\" answer", s.name)
		} else if d := at.Sub(cut); d > faultCommitTimeout+time.Second {
			t.Errorf("sender %s: \"unavailable\" came %v after the cut, want within the commit timeout (%v)", s.name, d, faultCommitTimeout)
		}
	}
	if ch, bad := b.watcher.notReadyBetween(cut, healed); bad {
		t.Errorf("%s was not ready %v into the partition (%d %s): only %s was cut off", b.name, ch.at.Sub(cut), ch.status, ch.body, a.name)
	}
	a.pg.Heal()
	expectReady(t, healed, a)
	l.check(t, c)
	checkNode(t, a, marks[0])
	checkNode(t, b, marks[1])
}

// TestFaultRedisPause stops Redis (SIGSTOP: no answers, sockets open) for
// three seconds: both nodes fail /readyz within faultReadyBound, messages
// still reach the other node's subscribers from the store meanwhile, and
// everything recovers when Redis goes on.
func TestFaultRedisPause(t *testing.T) {
	redis := testpeer.StartRedis(t)
	c := startFaultCluster(t, testpeer.PostgresDB(t), redis.URL())
	a, b := c.nodes[0], c.nodes[1]
	l := startFaultLoad(t, c)
	time.Sleep(time.Second) // the load runs on both nodes before the fault
	marks := []int{len(a.out.String()), len(b.out.String())}

	redis.Pause()
	paused := time.Now()
	expectNotReady(t, paused, "Redis stopped answering", c.nodes...)
	// While Redis is stopped, what a's senders get acknowledged reaches
	// b's followers through the store.
	time.Sleep(faultDeliverBound) // acks come in with Redis stopped
	probe := time.Now()
	var seq int64
	for _, s := range l.senders[:2] {
		s.mu.Lock()
		for _, f := range s.acks {
			seq = max(seq, f.Seq)
		}
		s.mu.Unlock()
	}
	for _, f := range l.followers[2:] { // b's
		f.waitFor(t, seq)
	}
	if d := time.Since(probe); d > faultDeliverBound+time.Second {
		t.Errorf("with Redis stopped, seq %d reached b's followers after %v", seq, d)
	}
	redis.Resume()
	resumed := time.Now()
	expectReady(t, resumed, c.nodes...)
	if n := l.ackedBy(a.name, paused, resumed) + l.ackedBy(b.name, paused, resumed); n == 0 {
		t.Error("nothing was acknowledged while Redis was stopped: commits do not need it")
	}
	l.check(t, c)
	checkNode(t, a, marks[0])
	checkNode(t, b, marks[1])
}

// TestFaultRedisRestart restarts Redis, empty: both nodes come back on
// their own and nothing is lost.
func TestFaultRedisRestart(t *testing.T) {
	redis := testpeer.StartRedis(t)
	c := startFaultCluster(t, testpeer.PostgresDB(t), redis.URL())
	l := startFaultLoad(t, c)
	time.Sleep(time.Second) // the load runs on both nodes before the fault
	marks := []int{len(c.nodes[0].out.String()), len(c.nodes[1].out.String())}
	redis.Kill()
	down := time.Now()
	expectNotReady(t, down, "Redis died", c.nodes...)
	time.Sleep(time.Second) // sends go on while Redis is down
	redis.Start()
	expectReady(t, time.Now(), c.nodes...)
	time.Sleep(500 * time.Millisecond) // the load runs on with Redis back
	l.check(t, c)
	for i, n := range c.nodes {
		checkNode(t, n, marks[i])
	}
}

// TestFaultRedisPartition cuts one node off from Redis: that node alone
// fails /readyz, the other goes on, and messages still cross between them
// through the store.
func TestFaultRedisPartition(t *testing.T) {
	c := startFaultCluster(t, testpeer.PostgresDB(t), testpeer.RedisURL(t))
	a, b := c.nodes[0], c.nodes[1]
	l := startFaultLoad(t, c)
	time.Sleep(time.Second) // the load runs on both nodes before the fault
	marks := []int{len(a.out.String()), len(b.out.String())}
	a.redis.Partition()
	cut := time.Now()
	expectNotReady(t, cut, "it lost Redis", a)
	time.Sleep(4 * time.Second) // b goes on acknowledging while a is cut off
	healed := time.Now()
	if n := l.ackedBy(b.name, cut, healed); n == 0 {
		t.Errorf("%s acknowledged nothing while %s was cut off from Redis", b.name, a.name)
	}
	if ch, bad := b.watcher.notReadyBetween(cut, healed); bad {
		t.Errorf("%s was not ready %v into the partition (%d %s)", b.name, ch.at.Sub(cut), ch.status, ch.body)
	}
	a.redis.Heal()
	expectReady(t, healed, a)
	l.check(t, c)
	checkNode(t, a, marks[0])
	checkNode(t, b, marks[1])
}

// TestFaultPostgresRestart restarts PostgreSQL (a crash: pg_ctl stop -m
// immediate): both nodes fail /readyz, their senders are told
// "unavailable" and resend, and once it is back nothing is lost or doubled.
func TestFaultPostgresRestart(t *testing.T) {
	pg := testpeer.StartPostgres(t)
	c := startFaultCluster(t, testpeer.CreateDB(t, pg.URL()), testpeer.RedisURL(t))
	l := startFaultLoad(t, c)
	time.Sleep(time.Second) // the load runs on both nodes before the fault
	marks := []int{len(c.nodes[0].out.String()), len(c.nodes[1].out.String())}
	pg.Stop("immediate")
	expectNotReady(t, time.Now(), "PostgreSQL went down", c.nodes...)
	time.Sleep(2 * time.Second) // sends go on failing, and are resent
	pg.Start()
	expectReady(t, time.Now(), c.nodes...)
	l.check(t, c)
	for i, n := range c.nodes {
		checkNode(t, n, marks[i])
	}
}
