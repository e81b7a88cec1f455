package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/brokertest"
	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/hanashi-chat/hanashi/internal/testutil"
	"github.com/hanashi-chat/hanashi/redis"
	goredis "github.com/redis/go-redis/v9"
)

// fast makes failures show quickly.
func fast(url, prefix string) redis.Config {
	return redis.Config{
		URL:            url,
		Prefix:         prefix,
		HealthInterval: 100 * time.Millisecond,
		HealthTimeout:  300 * time.Millisecond,
		MinBackoff:     20 * time.Millisecond,
		MaxBackoff:     200 * time.Millisecond,
	}
}

// open starts a broker that logs to the test and is closed at its end.
func open(t testing.TB, cfg redis.Config) *redis.Broker {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b, err := redis.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// openReady is open, then waits until the broker is connected.
func openReady(t testing.TB, cfg redis.Config) *redis.Broker {
	t.Helper()
	b := open(t, cfg)
	waitReady(t, b)
	return b
}

// poll waits up to 10s for cond.
func poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, what, cond)
}

func waitReady(t testing.TB, bs ...*redis.Broker) {
	t.Helper()
	for _, b := range bs {
		poll(t, "broker ready", func() bool { return b.Ready() == nil })
	}
}

func waitNotReady(t *testing.T, bs ...*redis.Broker) {
	t.Helper()
	for _, b := range bs {
		poll(t, "broker not ready", func() bool { return b.Ready() != nil })
	}
}

func waitMissed(t *testing.T, rs ...*brokertest.Recorder) {
	t.Helper()
	for i, r := range rs {
		poll(t, "Missed on subscriber "+strconv.Itoa(i), func() bool { return r.MissedCalls() > 0 })
	}
}

func msgs(room hanashi.RoomID, from, to int64) []hanashi.Message {
	var out []hanashi.Message
	for s := from; s <= to; s++ {
		out = append(out, hanashi.Message{ID: hanashi.MessageID(hanashi.NewID()), Room: room, Seq: s, Body: "m", CreatedAt: time.Now().UTC()})
	}
	return out
}

func seqs(ms []hanashi.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func checkSeqs(t *testing.T, got []hanashi.Message, room hanashi.RoomID, want ...int64) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Room == room && got[i].Seq == want[i]
	}
	if !ok {
		t.Fatalf("got seqs %v (room %d), want %v", seqs(got), room, want)
	}
}

func subscribe(t testing.TB, b *redis.Broker, room hanashi.RoomID, r hanashi.Subscriber) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := b.Subscribe(ctx, room, r); err != nil {
		t.Fatalf("Subscribe(%d): %v", room, err)
	}
}

func publish(t testing.TB, b *redis.Broker, ms []hanashi.Message) {
	t.Helper()
	if err := b.Publish(t.Context(), ms); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// hostPort is the address in a redis:// URL.
func hostPort(t *testing.T, redisURL string) string {
	t.Helper()
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func rawClient(t *testing.T, redisURL string) *goredis.Client {
	t.Helper()
	opt, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestBroker(t *testing.T) {
	url := testpeer.RedisURL(t)
	brokertest.Test(t, func(t *testing.T) hanashi.Broker {
		return openReady(t, redis.Config{URL: url, Prefix: testpeer.Prefix()})
	})
}

func TestNodes(t *testing.T) {
	url := testpeer.RedisURL(t)
	base := testpeer.Prefix()
	brokertest.TestNodes(t, func(t *testing.T) hanashi.Broker {
		// The subtest's name keeps its nodes together and apart from the
		// other subtests'.
		return openReady(t, redis.Config{URL: url, Prefix: base + t.Name() + ":"})
	})
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{
		"",
		"http://127.0.0.1:6379",
		"redis://127.0.0.1:6379/zero",
		"redis://user:s3cret@127.0.0.1:6379/%zz",
	} {
		b, err := redis.New(redis.Config{URL: u})
		if err == nil {
			b.Close()
			t.Errorf("New(%q) succeeded", u)
			continue
		}
		if !strings.HasPrefix(err.Error(), "redis: ") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("New(%q): error %q should start with \"redis: \" and hide the password", u, err)
		}
	}
}

// TestUnreachable: without Redis the broker works locally, is not ready,
// and closes promptly.
func TestUnreachable(t *testing.T) {
	b, err := redis.New(fast("redis://127.0.0.1:"+strconv.Itoa(testpeer.FreePort(t))+"/0", ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Ready(); err == nil || hanashi.ErrorCode(err) != hanashi.EUNAVAILABLE {
		t.Fatalf("Ready = %v, want an EUNAVAILABLE error", err)
	}
	poll(t, "Ready to name the cause", func() bool { return strings.Contains(b.Ready().Error(), "refused") })

	var r brokertest.Recorder
	start := time.Now()
	subscribe(t, b, 1, &r)
	publish(t, b, msgs(1, 1, 3))
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Subscribe and Publish took %v without Redis", d)
	}
	checkSeqs(t, r.Messages(), 1, 1, 2, 3)

	start = time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := b.Subscribe(t.Context(), 1, &r); hanashi.ErrorCode(err) != hanashi.EUNAVAILABLE {
		t.Fatalf("Subscribe after Close = %v, want EUNAVAILABLE", err)
	}
	if err := b.Publish(t.Context(), msgs(1, 4, 4)); hanashi.ErrorCode(err) != hanashi.EUNAVAILABLE {
		t.Fatalf("Publish after Close = %v, want EUNAVAILABLE", err)
	}
	if b.Ready() == nil {
		t.Fatal("Ready after Close = nil")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestWire pins the channel names and the payload format, and shows that
// the Redis subscription follows the local one.
func TestWire(t *testing.T) {
	url := testpeer.RedisURL(t)
	prefix := testpeer.Prefix()
	b := openReady(t, redis.Config{URL: url, Prefix: prefix})
	raw := rawClient(t, url)
	ctx := t.Context()
	channel := prefix + "room:7"
	numsub := func() int64 {
		n, err := raw.PubSubNumSub(ctx, channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[channel]
	}

	var r brokertest.Recorder
	subscribe(t, b, 7, &r)
	if n := numsub(); n != 1 {
		t.Fatalf("after Subscribe returned, %s has %d subscribers, want 1", channel, n)
	}

	// What the broker publishes.
	ps := raw.Subscribe(ctx, channel)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil { // the confirmation
		t.Fatal(err)
	}
	publish(t, b, msgs(7, 1, 2))
	m, err := ps.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Node string            `json:"node"`
		Msgs []hanashi.Message `json:"msgs"`
	}
	if err := json.Unmarshal([]byte(m.Payload), &p); err != nil {
		t.Fatalf("payload %s: %v", m.Payload, err)
	}
	if p.Node == "" {
		t.Fatalf("payload %s has no node", m.Payload)
	}
	checkSeqs(t, p.Msgs, 7, 1, 2)

	// What another node publishes; garbage is skipped.
	for _, payload := range []string{
		"not json",
		`{"node":"other","msgs":[{"room":8,"seq":3}]}`, // wrong room
		`{"node":"other","msgs":[{"room":7,"seq":3,"body":"from elsewhere"}]}`,
		`{"node":"` + p.Node + `","msgs":[{"room":7,"seq":99}]}`, // looks like its own
		`{"node":"other","msgs":[{"room":7,"seq":4}]}`,
		`{"node":"other","msgs":[{"room":7,"seq":5}]}`, // the last: all else came before
	} {
		if err := raw.Publish(ctx, channel, payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	poll(t, "the last payload", func() bool {
		got := r.Messages()
		return got[len(got)-1].Seq == 5
	})
	got := r.Messages()
	checkSeqs(t, got, 7, 1, 2, 3, 4, 5)
	if got[2].Body != "from elsewhere" {
		t.Fatalf("message 3 has body %q", got[2].Body)
	}

	if err := b.Unsubscribe(ctx, 7, &r); err != nil {
		t.Fatal(err)
	}
	poll(t, "the channel to be unsubscribed", func() bool { return numsub() == 1 }) // just ps
}

// TestRestart: when Redis goes away the brokers say so; when it is back
// they subscribe again, report Missed to every subscriber, and carry
// messages between nodes again.
func TestRestart(t *testing.T) {
	srv := testpeer.StartRedis(t)
	prefix := testpeer.Prefix()
	a := openReady(t, fast(srv.URL(), prefix))
	b := openReady(t, fast(srv.URL(), prefix))
	var ra1, ra2, rb1 brokertest.Recorder
	subscribe(t, a, 1, &ra1)
	subscribe(t, a, 2, &ra2)
	subscribe(t, b, 1, &rb1)
	publish(t, a, msgs(1, 1, 1))
	checkSeqs(t, rb1.WaitFor(t, 1), 1, 1)

	srv.Kill()
	waitNotReady(t, a, b)
	if err := a.Ready(); hanashi.ErrorCode(err) != hanashi.EUNAVAILABLE {
		t.Fatalf("Ready = %v, want EUNAVAILABLE", err)
	}
	srv.Start()
	waitReady(t, a, b)
	// Missed comes before Ready turns nil.
	for i, r := range []*brokertest.Recorder{&ra1, &ra2, &rb1} {
		if r.MissedCalls() == 0 {
			t.Fatalf("subscriber %d got no Missed", i)
		}
	}
	publish(t, a, msgs(1, 2, 2))
	checkSeqs(t, rb1.WaitFor(t, 2), 1, 1, 2)
	publish(t, b, msgs(1, 3, 3))
	checkSeqs(t, ra1.WaitFor(t, 3), 1, 1, 2, 3)

	// A restart too quick to watch is noticed all the same.
	missed := ra1.MissedCalls()
	srv.Restart()
	poll(t, "Missed after a quick restart", func() bool { return ra1.MissedCalls() > missed })
	waitReady(t, a, b)
	publish(t, b, msgs(1, 4, 4))
	checkSeqs(t, ra1.WaitFor(t, 4), 1, 1, 2, 3, 4)
}

// publishOnMissed is a Subscriber that, like a hub catching up from the
// store, starts work as soon as Missed is called: here it publishes a
// message at once, which must arrive.
type publishOnMissed struct {
	brokertest.Recorder
	publish func()
}

func (p *publishOnMissed) Missed() {
	p.Recorder.Missed()
	p.publish()
}

// TestMissedAfterResubscribe: Missed comes only once the subscription is in
// force again, so nothing published after it (after the catch-up read) can
// be lost.
func TestMissedAfterResubscribe(t *testing.T) {
	srv := testpeer.StartRedis(t)
	prefix := testpeer.Prefix()
	a := openReady(t, fast(srv.URL(), prefix))
	raw := rawClient(t, srv.URL())
	var seq atomic.Int64
	sub := &publishOnMissed{publish: func() {
		payload := fmt.Sprintf(`{"node":"other","msgs":[{"room":1,"seq":%d}]}`, seq.Add(1))
		if err := raw.Publish(context.Background(), prefix+"room:1", payload).Err(); err != nil {
			t.Errorf("publishing from Missed: %v", err)
		}
	}}
	subscribe(t, a, 1, sub)
	for round := 1; round <= 5; round++ {
		srv.Restart()
		poll(t, "Missed", func() bool { return sub.MissedCalls() >= round })
		sub.WaitFor(t, sub.MissedCalls())
	}
}

// TestSubscribeWhileDown: Subscribe does not wait for Redis; the subscriber
// gets Missed once the subscription is in force, and messages after that.
func TestSubscribeWhileDown(t *testing.T) {
	srv := testpeer.StartRedis(t)
	prefix := testpeer.Prefix()
	a := openReady(t, fast(srv.URL(), prefix))
	b := openReady(t, fast(srv.URL(), prefix))
	srv.Kill()
	waitNotReady(t, a)

	var r brokertest.Recorder
	start := time.Now()
	subscribe(t, a, 5, &r)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Subscribe took %v while Redis was down", d)
	}
	srv.Start()
	waitReady(t, a, b)
	if r.MissedCalls() == 0 {
		t.Fatal("no Missed after the connection came back")
	}
	publish(t, b, msgs(5, 1, 1))
	checkSeqs(t, r.WaitFor(t, 1), 5, 1)
}

// TestPublishWhileDown: what a node publishes while Redis is away reaches
// the other nodes once it is back. Node a's link stays cut until b has
// reconnected, so b must get the messages themselves, not just a Missed.
func TestPublishWhileDown(t *testing.T) {
	srv := testpeer.StartRedis(t)
	px := startProxy(t, hostPort(t, srv.URL()))
	prefix := testpeer.Prefix()
	a := openReady(t, fast(px.URL(), prefix))
	b := openReady(t, fast(srv.URL(), prefix))
	var ra, rb1, rb2 brokertest.Recorder
	subscribe(t, a, 1, &ra)
	subscribe(t, b, 1, &rb1)
	subscribe(t, b, 2, &rb2)

	px.Cut()
	srv.Kill()
	waitNotReady(t, a, b)
	start := time.Now()
	publish(t, a, msgs(1, 1, 3))
	publish(t, a, append(msgs(2, 1, 2), msgs(1, 4, 4)...))
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Publish took %v while Redis was down", d)
	}
	checkSeqs(t, ra.Messages(), 1, 1, 2, 3, 4) // delivered locally at once

	srv.Start()
	waitReady(t, b)
	waitMissed(t, &rb1, &rb2)
	px.Restore()
	checkSeqs(t, rb1.WaitFor(t, 4), 1, 1, 2, 3, 4)
	checkSeqs(t, rb2.WaitFor(t, 2), 2, 1, 2)
	waitReady(t, a)
}

// TestBacklogKeepsNewest: past MaxBacklog a node keeps only the newest
// message of each room, which is enough for receivers to find the gap.
func TestBacklogKeepsNewest(t *testing.T) {
	url := testpeer.RedisURL(t)
	px := startProxy(t, hostPort(t, url))
	prefix := testpeer.Prefix()
	cfg := fast(px.URL(), prefix)
	cfg.MaxBacklog = 10
	a := openReady(t, cfg)
	b := openReady(t, fast(url, prefix))
	var rb1, rb2 brokertest.Recorder
	subscribe(t, b, 1, &rb1)
	subscribe(t, b, 2, &rb2)

	px.Cut()
	waitNotReady(t, a)
	// Each call overflows the backlog by itself, whatever the publisher
	// has taken out meanwhile.
	publish(t, a, append(msgs(1, 1, 15), msgs(2, 1, 3)...))
	publish(t, a, msgs(1, 16, 30))
	px.Restore()

	last := func(r *brokertest.Recorder) int64 {
		got := r.Messages()
		if len(got) == 0 {
			return 0
		}
		return got[len(got)-1].Seq
	}
	poll(t, "room 1's newest message", func() bool { return last(&rb1) == 30 })
	poll(t, "room 2's newest message", func() bool { return last(&rb2) == 3 })
	got := rb1.Messages()
	if len(got) >= 30 {
		t.Fatalf("got all %d messages; the backlog was not bounded", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("seqs out of order: %v", seqs(got))
		}
	}
	if n := rb1.MissedCalls(); n != 0 {
		t.Fatalf("b's connection never broke, yet Missed was called %d times", n)
	}
}

// TestBacklogResync: when even one message per room is too much, the node
// drops its backlog and, once Redis is back, tells every other node to
// catch up from the store.
func TestBacklogResync(t *testing.T) {
	url := testpeer.RedisURL(t)
	px := startProxy(t, hostPort(t, url))
	prefix := testpeer.Prefix()
	cfg := fast(px.URL(), prefix)
	cfg.MaxBacklog = 4
	a := openReady(t, cfg)
	b := openReady(t, fast(url, prefix))
	var ra brokertest.Recorder
	var rb [5]brokertest.Recorder
	subscribe(t, a, 1, &ra)
	for i := range rb {
		subscribe(t, b, hanashi.RoomID(i+1), &rb[i])
	}

	px.Cut()
	waitNotReady(t, a)
	var all []hanashi.Message
	for i := range rb {
		all = append(all, msgs(hanashi.RoomID(i+1), 1, 1)...)
	}
	publish(t, a, all) // one call: over the bound at once
	px.Restore()
	for i := range rb {
		waitMissed(t, &rb[i])
	}
	waitReady(t, a)
	// a reconnected too and reports Missed for that, but ignores its own
	// notice should it arrive after.
	if n := ra.MissedCalls(); n != 1 {
		t.Fatalf("a's subscriber got %d Missed, want 1 (from the reconnection)", n)
	}
}

// TestHealthCheck: a connection that stops answering without closing is
// found by the health check, replaced, and its subscribers get Missed.
func TestHealthCheck(t *testing.T) {
	url := testpeer.RedisURL(t)
	px := startProxy(t, hostPort(t, url))
	prefix := testpeer.Prefix()
	a := openReady(t, fast(px.URL(), prefix))
	b := openReady(t, fast(url, prefix))
	var ra brokertest.Recorder
	subscribe(t, a, 1, &ra)

	px.Freeze()
	poll(t, "the health check to fail", func() bool {
		err := a.Ready()
		return err != nil && strings.Contains(err.Error(), "PING")
	})
	t.Logf("Ready: %v", a.Ready())
	px.Thaw()
	waitReady(t, a)
	if ra.MissedCalls() == 0 {
		t.Fatal("no Missed after the dead connection was replaced")
	}
	publish(t, b, msgs(1, 1, 1))
	checkSeqs(t, ra.WaitFor(t, 1), 1, 1)
}

// TestReadyWhileSilent: a connection that stops answering fails Ready
// within ReadyTimeout, long before the health check gives it up; when the
// answers come back in time, Ready recovers on the same connection, and no
// room has to read the store (no Missed).
func TestReadyWhileSilent(t *testing.T) {
	url := testpeer.RedisURL(t)
	px := startProxy(t, hostPort(t, url))
	cfg := fast(px.URL(), testpeer.Prefix())
	cfg.ReadyTimeout, cfg.HealthTimeout = 300*time.Millisecond, 10*time.Second
	a := openReady(t, cfg)
	var ra brokertest.Recorder
	subscribe(t, a, 1, &ra)
	missed := ra.MissedCalls()

	px.Freeze()
	frozen := time.Now()
	poll(t, "Ready to fail", func() bool { return a.Ready() != nil })
	if took := time.Since(frozen); took > time.Second {
		t.Errorf("Ready failed %v after Redis went silent, want within about a second", took)
	}
	if err := a.Ready(); !strings.Contains(err.Error(), "PING") {
		t.Errorf("Ready = %v, want it to name the PING", err)
	}
	px.Thaw()
	waitReady(t, a)
	if n := ra.MissedCalls(); n != missed {
		t.Errorf("Missed called %d times after a short silence, want none: the connection should be kept", n-missed)
	}
}

// TestClientKill: a connection closed by the server is replaced, and its
// subscribers get Missed.
func TestClientKill(t *testing.T) {
	srv := testpeer.StartRedis(t)
	prefix := testpeer.Prefix()
	a := openReady(t, fast(srv.URL(), prefix))
	b := openReady(t, fast(srv.URL(), prefix))
	var ra brokertest.Recorder
	subscribe(t, a, 1, &ra)
	if err := rawClient(t, srv.URL()).ClientKillByFilter(t.Context(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitMissed(t, &ra)
	waitReady(t, a, b)
	publish(t, b, msgs(1, 1, 1))
	checkSeqs(t, ra.WaitFor(t, 1), 1, 1)
}

// TestCloseLeavesNoGoroutines: Close stops everything it started.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	url := testpeer.RedisURL(t)
	cfg := redis.Config{URL: url, Prefix: testpeer.Prefix()}
	use := func() {
		b, err := redis.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		waitReady(t, b)
		var r brokertest.Recorder
		subscribe(t, b, 1, &r)
		publish(t, b, msgs(1, 1, 1))
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	use() // whatever starts once per process
	before := runtime.NumGoroutine()
	use()
	testutil.EventuallyNil(t, 5*time.Second, "the goroutines to end", func() error {
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			return fmt.Errorf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
		return nil
	})
}

// TestBigBatchSplit: a batch of big messages, the hub's largest (512 of
// 16 KB), goes out in payloads of at most 256 KB, and arrives on another
// node whole and in order, room by room; a message larger than a payload
// goes alone.
func TestBigBatchSplit(t *testing.T) {
	url := testpeer.RedisURL(t)
	prefix := testpeer.Prefix()
	a := openReady(t, redis.Config{URL: url, Prefix: prefix})
	b := openReady(t, redis.Config{URL: url, Prefix: prefix})
	var r7, r8 brokertest.Recorder
	subscribe(t, b, 7, &r7)
	subscribe(t, b, 8, &r8)

	raw := rawClient(t, url)
	ctx := t.Context()
	ps := raw.Subscribe(ctx, prefix+"room:7", prefix+"room:8")
	defer ps.Close()
	for range 2 {
		if _, err := ps.Receive(ctx); err != nil { // the confirmations
			t.Fatal(err)
		}
	}

	const maxPayload = 256 << 10
	body := func(room hanashi.RoomID, seq int64, size int) string {
		s := fmt.Sprintf("%d/%d:", room, seq)
		return s + strings.Repeat("x", size-len(s))
	}
	in7, in8 := msgs(7, 1, 500), msgs(8, 1, 12)
	for i := range in7 {
		in7[i].Body = body(7, in7[i].Seq, 16<<10)
	}
	for i := range in8 {
		in8[i].Body = body(8, in8[i].Seq, 100)
	}
	in8[5].Body = body(8, 6, 300<<10) // larger than a payload
	batch := slices.Concat(in7[:300], in8, in7[300:])
	publish(t, a, batch)

	got7, got8 := r7.WaitFor(t, len(in7)), r8.WaitFor(t, len(in8))
	checkSeqs(t, got7, 7, seqs(in7)...)
	checkSeqs(t, got8, 8, seqs(in8)...)
	for i, m := range slices.Concat(got7, got8) {
		if want := body(m.Room, m.Seq, len(m.Body)); m.Body != want || (m.Room == 7 && len(m.Body) != 16<<10) {
			t.Fatalf("message %d (room %d, seq %d) arrived with a body of %d bytes, not the one sent", i, m.Room, m.Seq, len(m.Body))
		}
	}

	// On the wire: payloads within the bound, except the one holding the
	// single large message.
	var payloads7, payloads8, n int
	for n < len(batch) {
		m, err := ps.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Msgs []hanashi.Message `json:"msgs"`
		}
		if err := json.Unmarshal([]byte(m.Payload), &p); err != nil {
			t.Fatal(err)
		}
		n += len(p.Msgs)
		if m.Channel == prefix+"room:7" {
			payloads7++
		} else {
			payloads8++
		}
		if len(m.Payload) > maxPayload && len(p.Msgs) > 1 {
			t.Errorf("a payload of %d messages on %s has %d bytes, over %d", len(p.Msgs), m.Channel, len(m.Payload), maxPayload)
		}
	}
	// 500 x 16 KB is about 8 MB: at least 32 payloads of 256 KB, and
	// the 300 messages before room 8's run cannot join those after it.
	if payloads7 < 32 {
		t.Errorf("room 7's 500 messages of 16 KB went in %d payloads; want at least 32", payloads7)
	}
	if payloads8 != 3 {
		t.Errorf("room 8's run with one message over 256 KB went in %d payloads; want 3", payloads8)
	}
}
