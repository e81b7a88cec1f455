package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// e2eCheckMessage checks a message frame against the ack of its send.
func e2eCheckMessage(t *testing.T, f e2eFrame, room int64, ack e2eFrame, author e2eGuest, body string) {
	t.Helper()
	if f.Type != "message" || f.Room != room || f.Seq != ack.Seq || f.ID != ack.ID || f.ClientID != ack.ClientID ||
		f.Body != body || f.Author == nil || f.Author.ID != author.User.ID || f.Author.Name != author.User.Name {
		t.Fatalf("got %s, want the message of ack %s by %s with body %q", f, ack, author.User.ID, body)
	}
	if _, err := time.Parse(time.RFC3339Nano, f.CreatedAt); err != nil {
		t.Errorf("message seq %d: created_at %q is not RFC 3339: %v", f.Seq, f.CreatedAt, err)
	}
}

// TestE2EResume disconnects a subscriber, sends 500 messages while it is
// away, and checks that subscribing with after = cursor delivers exactly
// those, in order, then subscribed with the last seq, then the live stream.
func TestE2EResume(t *testing.T) {
	srv := e2eStart(t, t.TempDir())
	alice := srv.guest(t, "alice")
	bob := srv.guest(t, "bob")
	room := srv.room(t, alice, "resume", false)

	sender := e2eStartAcks(srv.ws(t, alice), room.ID, 16)

	sub := srv.ws(t, bob)
	if err := sub.subscribe(room.ID); err != nil {
		t.Fatal(err)
	}
	if f := sub.expect(t, "subscribed"); f.Room != room.ID || f.Seq != 0 {
		t.Fatalf("subscribing to an empty room: got %s, want subscribed with room %d seq 0", f, room.ID)
	}
	first := sender.sendN(t, "first", 10)
	var cursor int64
	for i, a := range first {
		f := sub.next(t)
		e2eCheckMessage(t, f, room.ID, a, alice, fmt.Sprintf("first message %d", i))
		if f.Seq != int64(i+1) {
			t.Fatalf("live message %d has seq %d, want %d", i, f.Seq, i+1)
		}
		cursor = f.Seq
	}
	sub.c.Close()

	missed := sender.sendN(t, "missed", 500)

	sub = srv.ws(t, bob)
	if err := sub.subscribeAfter(room.ID, cursor); err != nil {
		t.Fatal(err)
	}
	for i, a := range missed {
		f := sub.next(t)
		if f.Type != "message" || f.Seq != cursor+int64(i)+1 {
			t.Fatalf("resumed message %d: got %s, want message seq %d", i, f, cursor+int64(i)+1)
		}
		e2eCheckMessage(t, f, room.ID, a, alice, fmt.Sprintf("missed message %d", i))
	}
	last := missed[len(missed)-1].Seq
	if f := sub.next(t); f.Type != "subscribed" || f.Room != room.ID || f.Seq != last {
		t.Fatalf("after the backlog: got %s, want subscribed with room %d seq %d", f, room.ID, last)
	}
	// Nothing else was queued: the next frame is the next live message.
	live := sender.sendN(t, "live", 1)
	e2eCheckMessage(t, sub.next(t), room.ID, live[0], alice, "live message 0")
	if live[0].Seq != last+1 {
		t.Errorf("live message has seq %d, want %d", live[0].Seq, last+1)
	}
}

// TestE2EResumeDuringSends resumes a subscriber while three other clients
// keep sending, so that the backlog and the live stream meet while messages
// are being committed: the subscriber must see a contiguous run of seqs from
// its cursor to the last acked message, each once, and every acked message.
func TestE2EResumeDuringSends(t *testing.T) {
	srv := e2eStart(t, t.TempDir())
	owner := srv.guest(t, "owner")
	room := srv.room(t, owner, "busy", false)

	sub := srv.ws(t, owner)
	if err := sub.subscribe(room.ID); err != nil {
		t.Fatal(err)
	}
	sub.expect(t, "subscribed")
	warm := e2eStartAcks(srv.ws(t, owner), room.ID, 4).sendN(t, "warm", 20)
	var cursor int64
	for _, a := range warm {
		f := sub.expect(t, "message")
		if f.Seq != a.Seq {
			t.Fatalf("got %s, want seq %d", f, a.Seq)
		}
		cursor = f.Seq
	}
	sub.c.Close()

	// Three senders send until told to stop.
	const senders = 3
	stop := make(chan struct{})
	var wg sync.WaitGroup
	acks := make([]*e2eAcks, senders)
	sendErrs := make([]error, senders)
	for i := range acks {
		g := srv.guest(t, fmt.Sprintf("sender%d", i))
		acks[i] = e2eStartAcks(srv.ws(t, g), room.ID, 4)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("busy%d-%d", i, n)
				if err := acks[i].send(id, "busy "+id); err != nil {
					sendErrs[i] = err
					return
				}
			}
		}()
	}
	ackedCount := func() int {
		n := 0
		for _, a := range acks {
			_, m := a.snapshot()
			n += len(m)
		}
		return n
	}
	// waitAcked waits until n sends are acked. A sender whose connection
	// failed fails the test here, as it would when its acks are checked.
	waitAcked := func(n int) {
		t.Helper()
		testutil.EventuallyNil(t, e2eTimeout, fmt.Sprintf("%d acks", n), func() error {
			for i, a := range acks {
				if err := a.Err(); err != nil {
					t.Fatalf("sender %d: %v", i, err)
				}
			}
			if got := ackedCount(); got < n {
				return fmt.Errorf("%d acked", got)
			}
			return nil
		})
	}
	// Let a backlog build up, then resume in the middle of the stream.
	waitAcked(300)
	sub = srv.ws(t, owner)
	if err := sub.subscribeAfter(room.ID, cursor); err != nil {
		t.Fatal(err)
	}

	// Read in the background while the senders go on for a while after the
	// subscription has become live.
	frames := make(chan e2eFrame, 100000)
	readErr := make(chan error, 1)
	go func() {
		for {
			f, err := sub.read(e2eTimeout)
			if err != nil {
				readErr <- err
				close(frames)
				return
			}
			frames <- f
		}
	}()

	want := cursor + 1 // next seq the subscriber must get
	subscribedSeq := int64(-1)
	got := make(map[int64]e2eFrame)
	readUntil := func(done func() bool) {
		t.Helper()
		for !done() {
			f, ok := <-frames
			if !ok {
				t.Fatalf("subscriber connection ended: %v (next seq wanted %d)", <-readErr, want)
			}
			switch {
			case f.Type == "subscribed" && f.Room == room.ID:
				if subscribedSeq >= 0 {
					t.Fatalf("second subscribed frame %s", f)
				}
				if f.Seq != want-1 {
					t.Fatalf("got %s after messages up to seq %d: subscribed must come right after the backlog up to its seq", f, want-1)
				}
				subscribedSeq = f.Seq
			case f.Type == "message" && f.Room == room.ID:
				if f.Seq != want {
					t.Fatalf("got message seq %d, want %d (contiguous from cursor %d, no duplicate)", f.Seq, want, cursor)
				}
				got[f.Seq] = f
				want++
			default:
				t.Fatalf("unexpected frame %s", f)
			}
		}
	}
	readUntil(func() bool { return subscribedSeq >= 0 })
	waitAcked(ackedCount() + 300)
	close(stop)
	wg.Wait()
	var lastAcked int64
	for i, a := range acks {
		if sendErrs[i] != nil {
			t.Fatalf("sender %d: %v", i, sendErrs[i])
		}
		a.wait(t, fmt.Sprintf("sender %d", i))
		_, m := a.snapshot()
		for _, f := range m {
			lastAcked = max(lastAcked, f.Seq)
		}
	}
	readUntil(func() bool { return want > lastAcked })

	total := 0
	for i, a := range acks {
		sent, m := a.snapshot()
		total += len(m)
		for id, ack := range m {
			f, ok := got[ack.Seq]
			if !ok {
				t.Errorf("acked %s (seq %d) never reached the resumed subscriber", id, ack.Seq)
				continue
			}
			if f.ID != ack.ID || f.ClientID != id || f.Body != sent[id] {
				t.Errorf("sender %d: ack %s, but the subscriber got %s", i, ack, f)
			}
		}
	}
	if int64(total) != lastAcked-cursor {
		t.Errorf("%d messages acked after the cursor, but the last acked seq is %d (cursor %d)", total, lastAcked, cursor)
	}
	t.Logf("cursor %d; subscribed at seq %d; received seq %d..%d (%d messages) while 3 senders sent %d",
		cursor, subscribedSeq, cursor+1, want-1, len(got), total)
	if subscribedSeq <= cursor || subscribedSeq >= lastAcked {
		t.Errorf("subscribed at seq %d: the resume did not happen in the middle of the stream (%d..%d); the test proves less than it should",
			subscribedSeq, cursor, lastAcked)
	}
}
