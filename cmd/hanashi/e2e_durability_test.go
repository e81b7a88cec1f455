package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testpeer"
)

// TestE2EDurabilityKill9 kills the server with SIGKILL in the middle of a
// burst of sends and checks, after a restart on the same data directory,
// that every acknowledged message survived exactly once with the seq and id
// of its ack, and that the room's sequence has no gap.
func TestE2EDurabilityKill9(t *testing.T) {
	dataDir := t.TempDir()
	durabilityBurst(t, func() *e2eServer { return e2eStart(t, dataDir) }, nil)
}

// TestE2EDurabilityPostgres is the same burst on PostgreSQL, which is also
// crashed (pg_ctl stop -m immediate) and restarted while the senders go on:
// sends fail with "unavailable" meanwhile and are retried with their client
// ids, and still no acknowledged message may be lost or stored twice.
func TestE2EDurabilityPostgres(t *testing.T) {
	pg := testpeer.StartPostgres(t)
	db := testpeer.CreateDB(t, pg.URL())
	start := func() *e2eServer { return e2eStart(t, t.TempDir(), "-database", db) }
	durabilityBurst(t, start, func(t *testing.T) {
		time.Sleep(400 * time.Millisecond) // the burst runs with PostgreSQL up
		pg.Stop("immediate")
		t.Log("postgres crashed")
		time.Sleep(300 * time.Millisecond) // sends fail while PostgreSQL is down, and are retried
		pg.Start()
		t.Log("postgres up again")
		time.Sleep(600 * time.Millisecond) // the burst runs on with PostgreSQL back
	})
}

// durabilityBurst runs 16 senders against a server from start, runs midBurst
// (by default: waits 1.5 s), kills the server with SIGKILL, starts it again
// and checks the history against every ack.
func durabilityBurst(t *testing.T, start func() *e2eServer, midBurst func(t *testing.T)) {
	const (
		senders  = 16
		window   = 4 // sends in flight per connection
		minAcked = 100
	)
	if midBurst == nil {
		midBurst = func(*testing.T) { time.Sleep(1500 * time.Millisecond) } // the burst runs before the kill
	}
	srv := start()
	owner := srv.guest(t, "owner")
	room := srv.room(t, owner, "durable", false)

	type sender struct {
		g    e2eGuest
		conn *e2eConn
		acks *e2eAcks
	}
	ss := make([]*sender, senders)
	for i := range ss {
		g := srv.guest(t, fmt.Sprintf("sender%02d", i))
		ss[i] = &sender{g: g, conn: srv.ws(t, g)}
	}

	began := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range ss {
		s.acks = e2eStartAcks(s.conn, room.ID, window)
		s.acks.retryUnavailable = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if s.acks.resendFailed() != nil {
					return
				}
				id := fmt.Sprintf("s%02d-%06d", i, n)
				if s.acks.send(id, fmt.Sprintf("durable %s from sender %d", id, i)) != nil {
					return // the server is gone
				}
			}
		}()
	}

	// Kill the server once the burst has run for a while, then let the
	// senders notice.
	midBurst(t)
	srv.kill()
	killedAt := time.Since(began)
	close(stop)
	wg.Wait()
	for _, s := range ss {
		s.conn.c.Close()
		<-s.acks.readDone
	}

	// What the clients know: every send and every ack.
	type sentMsg struct {
		body   string
		author string
	}
	sent := make(map[string]sentMsg)   // client_id -> what was sent
	acked := make(map[string]e2eFrame) // client_id -> its ack
	ackedSeq := make(map[int64]string) // seq -> client_id, from acks
	for _, s := range ss {
		sm, am := s.acks.snapshot()
		for id, body := range sm {
			sent[id] = sentMsg{body: body, author: s.g.User.ID}
		}
		for id, a := range am {
			if other, ok := ackedSeq[a.Seq]; ok {
				t.Errorf("seq %d acked for both %q and %q", a.Seq, other, id)
			}
			ackedSeq[a.Seq] = id
			acked[id] = a
		}
	}
	retried := 0
	for _, s := range ss {
		retried += s.acks.retried()
	}
	t.Logf("killed after %v: %d sends, %d acked, %d retried after \"unavailable\"", killedAt.Round(time.Millisecond), len(sent), len(acked), retried)
	if len(acked) < minAcked {
		t.Fatalf("only %d sends acked in %v before the kill, want at least %d", len(acked), killedAt, minAcked)
	}
	for i, s := range ss {
		_, am := s.acks.snapshot()
		if len(am) == 0 {
			t.Errorf("sender %d got no ack in %v", i, killedAt)
		}
		if err := s.acks.Unexpected(); err != nil {
			t.Errorf("sender %d: %v", i, err)
		}
	}

	// Restart on the same data and read the whole history. The owner's
	// session must have survived the crash too.
	srv = start()
	history := srv.history(t, owner, room.ID)

	seen := make(map[string]int64) // client_id -> seq
	for i, m := range history {
		if want := int64(i + 1); m.Seq != want {
			t.Fatalf("history[%d] has seq %d, want %d: seqs must be 1..N without gaps", i, m.Seq, want)
		}
		if prev, dup := seen[m.ClientID]; dup {
			t.Errorf("client_id %q stored twice: seq %d and %d", m.ClientID, prev, m.Seq)
		}
		seen[m.ClientID] = m.Seq
		s, ok := sent[m.ClientID]
		switch {
		case !ok:
			t.Errorf("seq %d has client_id %q that nobody sent", m.Seq, m.ClientID)
		case m.Body != s.body || m.Author.ID != s.author || m.Room != room.ID:
			t.Errorf("seq %d: body %q author %q room %d, want %q by %q in room %d",
				m.Seq, m.Body, m.Author.ID, m.Room, s.body, s.author, room.ID)
		}
		if a, ok := acked[m.ClientID]; ok && (a.Seq != m.Seq || a.ID != m.ID) {
			t.Errorf("%q acked as seq %d id %s, stored as seq %d id %s", m.ClientID, a.Seq, a.ID, m.Seq, m.ID)
		}
	}
	lost := 0
	for id, a := range acked {
		if _, ok := seen[id]; !ok {
			lost++
			if lost <= 10 {
				t.Errorf("acked message %q (seq %d, id %s) is missing after the restart", id, a.Seq, a.ID)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acked messages lost", lost, len(acked))
	}
	t.Logf("after restart: %d messages stored, %d acked, %d stored without an ack (in flight at the kill)",
		len(history), len(acked), len(history)-(len(acked)-lost))

	var r struct {
		Room e2eRoom `json:"room"`
	}
	srv.do(t, "GET", fmt.Sprintf("/api/v1/rooms/%d", room.ID), owner.auth(), nil).
		expectJSON(t, "GET room after restart", 200, &r)
	if r.Room.LastSeq != int64(len(history)) {
		t.Errorf("room last_seq %d after restart, want %d", r.Room.LastSeq, len(history))
	}

	// The room goes on: a resend of an acked message gets its old ack, and a
	// new message gets the next seq.
	var oldID string
	var oldAck e2eFrame
	for id, a := range acked {
		oldID, oldAck = id, a
		break
	}
	var author e2eGuest
	for _, s := range ss {
		if s.g.User.ID == sent[oldID].author {
			author = s.g
		}
	}
	c := srv.ws(t, author)
	again := c.sendAck(t, room.ID, oldID, sent[oldID].body)
	if again.Seq != oldAck.Seq || again.ID != oldAck.ID {
		t.Errorf("resending %q after the restart: ack seq %d id %s, want seq %d id %s", oldID, again.Seq, again.ID, oldAck.Seq, oldAck.ID)
	}
	next := c.sendAck(t, room.ID, "after-restart", "the room goes on")
	if want := int64(len(history) + 1); next.Seq != want {
		t.Errorf("first new message after the restart got seq %d, want %d", next.Seq, want)
	}
}

// TestE2EShutdown stops the server with SIGINT while a client is connected:
// the WebSocket must be closed with 1001 (reconnect and resume), the process
// must exit cleanly, and everything acked must be there after a restart.
func TestE2EShutdown(t *testing.T) {
	dataDir := t.TempDir()
	srv := e2eStart(t, dataDir)
	alice := srv.guest(t, "alice")
	room := srv.room(t, alice, "shutdown", false)
	sub := srv.ws(t, alice)
	if err := sub.subscribe(room.ID); err != nil {
		t.Fatal(err)
	}
	sub.expect(t, "subscribed")
	sender := srv.ws(t, alice)
	acks := e2eStartAcks(sender, room.ID, 8).sendN(t, "before-shutdown", 50)
	sender.c.Close()
	for _, a := range acks {
		if f := sub.expect(t, "message"); f.Seq != a.Seq || f.ID != a.ID {
			t.Fatalf("got %s, want the message of %s", f, a)
		}
	}

	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.interrupt(t)
	}()
	sub.expectClose(t, 1001)
	t.Logf("WebSocket closed with 1001 %v after SIGINT", time.Since(start).Round(time.Millisecond))
	sub.c.Close()
	<-done
	t.Logf("server exited %v after SIGINT", time.Since(start).Round(time.Millisecond))

	srv = e2eStart(t, dataDir)
	history := srv.history(t, alice, room.ID)
	if len(history) != len(acks) {
		t.Fatalf("%d messages after the restart, want %d", len(history), len(acks))
	}
	for i, m := range history {
		if m.Seq != acks[i].Seq || m.ID != acks[i].ID {
			t.Errorf("history[%d] is seq %d id %s, want %s", i, m.Seq, m.ID, acks[i])
		}
	}
}
