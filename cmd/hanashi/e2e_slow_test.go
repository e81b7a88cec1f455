package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestE2ESlowConsumer stalls one subscriber (a tiny TCP receive buffer and
// no reads) while a sender publishes megabytes into the room. The healthy
// subscribers must get every message promptly — the room never waits for
// the stalled one — and the stalled connection must be ended with close
// code 4008 once its bounded queue overflows: when it reads again it finds
// a prefix of the stream and then the close.
func TestE2ESlowConsumer(t *testing.T) {
	const (
		// ~3.6 MB in 4-8 KB messages: twice what can hide between the server
		// and a stalled reader without a queue overflow — the server's queue
		// (1 MiB by default), its socket's send buffer (capped at 256 KiB)
		// and the reader's receive buffer.
		messages   = 600
		healthy    = 3
		maxLatency = 2 * time.Second
	)
	srv := e2eStart(t, t.TempDir())
	owner := srv.guest(t, "owner")
	room := srv.room(t, owner, "firehose", false)

	// The stalled reader: a small receive buffer set before the handshake,
	// so that little of the stream hides in the client's kernel. Not 4 KiB:
	// on loopback (MSS 65483) a window below one segment makes Linux send
	// only on its persist timer, about 40 KB/s even while the client reads,
	// and even a few MB of server socket buffer would then take minutes to
	// drain; 32 KiB (64 KiB in the kernel) stalls as well and drains at once.
	// The burst must end, and the reader resume, within the server's 10 s
	// write timeout, or it is cut off without a close frame.
	stalledGuest := srv.guest(t, "stalled")
	d := &websocket.Dialer{
		HandshakeTimeout: e2eTimeout,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if err := c.(*net.TCPConn).SetReadBuffer(32 << 10); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		},
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+stalledGuest.Token)
	stalled, err := srv.dialWith(d, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stalled.c.Close() })
	if err := stalled.subscribe(room.ID); err != nil {
		t.Fatal(err)
	}
	stalled.expect(t, "subscribed")
	stalledSince := time.Now()
	// From here on the stalled connection is not read until the end.

	type reader struct {
		conn   *e2eConn
		frames []e2eFrame
		err    error
		done   chan struct{}
	}
	readers := make([]*reader, healthy)
	for i := range readers {
		g := srv.guest(t, fmt.Sprintf("healthy%d", i))
		r := &reader{conn: srv.ws(t, g), done: make(chan struct{})}
		if err := r.conn.subscribe(room.ID); err != nil {
			t.Fatal(err)
		}
		r.conn.expect(t, "subscribed")
		readers[i] = r
		go func() {
			defer close(r.done)
			for len(r.frames) < messages {
				f, err := r.conn.read(e2eTimeout)
				if err != nil {
					r.err = fmt.Errorf("healthy subscriber %d after %d messages: %w", i, len(r.frames), err)
					return
				}
				if f.Type != "message" || f.Seq != int64(len(r.frames)+1) {
					r.err = fmt.Errorf("healthy subscriber %d: got %s, want message seq %d", i, f, len(r.frames)+1)
					return
				}
				r.frames = append(r.frames, f)
			}
		}()
	}

	// One sender, 32 sends in flight, 4-8 KB bodies.
	sender := e2eStartAcks(srv.ws(t, owner), room.ID, 32)
	rng := rand.New(rand.NewPCG(1, 2))
	letters := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 8192/36+2)
	start := time.Now()
	for i := range messages {
		n := 4096 + rng.IntN(4096)
		off := rng.IntN(36)
		body := fmt.Sprintf("%06d ", i) + letters[off:off+n-7]
		if err := sender.send(fmt.Sprintf("big-%d", i), body); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	sender.wait(t, "sender")
	sendTime := time.Since(start)
	sent, acks := sender.snapshot()
	ackAt := make(map[int64]time.Time, len(acks))
	bySeq := make(map[int64]e2eFrame, len(acks))
	for _, a := range acks {
		ackAt[a.Seq] = a.received
		bySeq[a.Seq] = a
	}
	for _, r := range readers {
		<-r.done
	}
	healthyTime := time.Since(start)

	var worst time.Duration
	for i, r := range readers {
		if r.err != nil {
			t.Fatal(r.err)
		}
		for _, f := range r.frames {
			a := bySeq[f.Seq]
			if f.ID != a.ID || f.ClientID != a.ClientID || f.Body != sent[a.ClientID] {
				t.Fatalf("healthy subscriber %d: seq %d is %s/%s, acked as %s/%s", i, f.Seq, f.ClientID, f.ID, a.ClientID, a.ID)
			}
			worst = max(worst, f.received.Sub(ackAt[f.Seq]))
		}
	}
	sender.mu.Lock()
	ackWait := sender.maxWait
	sender.mu.Unlock()
	t.Logf("%d messages (%.1f MB) acked in %v (longest send->ack %v); %d healthy subscribers had all of them after %v; longest ack->delivery %v",
		messages, float64(e2eTotalLen(sent))/1e6, sendTime.Round(time.Millisecond), ackWait.Round(time.Millisecond),
		healthy, healthyTime.Round(time.Millisecond), worst.Round(time.Millisecond))
	if worst > maxLatency {
		t.Errorf("a healthy subscriber got a message %v after its ack, want under %v: the room waited", worst, maxLatency)
	}
	if ackWait > maxLatency {
		t.Errorf("a send waited %v for its ack, want under %v: the room waited", ackWait, maxLatency)
	}

	// The stalled reader reads again: a prefix of the stream, then 4008.
	// (The server can only put the close frame on the wire behind what its
	// socket already holds; a reader that stalls for longer than the
	// server's write timeout, 10 s by default, finds the connection simply
	// cut. Under -race the burst above takes 3-4 s here.)
	stalledFor := time.Since(stalledSince)
	var got int64
	for {
		f, err := stalled.read(e2eTimeout)
		if err != nil {
			var ce *websocket.CloseError
			switch {
			case errors.As(err, &ce) && ce.Code == 4008:
				t.Logf("stalled subscriber, after %v without reading: %d messages, then close 4008 %q",
					stalledFor.Round(time.Millisecond), got, ce.Text)
			case errors.As(err, &ce):
				t.Fatalf("stalled subscriber, after %v without reading: %d messages, then close %d %q, want 4008",
					stalledFor.Round(time.Millisecond), got, ce.Code, ce.Text)
			default:
				t.Fatalf("stalled subscriber, after %v without reading: %d messages, then %v, want close 4008",
					stalledFor.Round(time.Millisecond), got, err)
			}
			break
		}
		if f.Type != "message" || f.Seq != got+1 {
			t.Fatalf("stalled subscriber: got %s, want message seq %d", f, got+1)
		}
		if a := bySeq[f.Seq]; f.ID != a.ID {
			t.Fatalf("stalled subscriber: seq %d has id %s, acked as %s", f.Seq, f.ID, a.ID)
		}
		got++
	}
	if got >= messages {
		t.Errorf("stalled subscriber received all %d messages before 4008: the test did not overflow its queue", messages)
	}
}

func e2eTotalLen(m map[string]string) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}
