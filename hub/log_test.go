package hub

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/inmem"
)

// A cursor reads every frame once, in order, across chunk boundaries,
// however the appends and the reads interleave; it leaves out the frames
// at or below its skip, and counts their bytes all the same.
func TestLogRead(t *testing.T) {
	r := &room{tail: &logChunk{}}
	s := &sub{at: r.logEnd(), skip: 3}
	var got []string
	var want []string
	seq := int64(0)
	for _, n := range []int{1, 5, chunkLen - 6, chunkLen, 0, 2*chunkLen + 3, 1} {
		for range n {
			seq++
			r.appendLog(seq, fmt.Appendf(nil, "m%d", seq))
			if seq > s.skip {
				want = append(want, fmt.Sprint("m", seq))
			}
		}
		if s.caughtUp() != (n == 0) {
			t.Fatalf("after %d appends: caught up %v", n, s.caughtUp())
		}
		batch, frames, bytes := s.read(nil)
		size := 0
		for _, f := range batch {
			got = append(got, string(f))
			size += len(f)
		}
		if frames != len(batch) || bytes != size {
			t.Fatalf("read %d frames of %d bytes, reported %d and %d", len(batch), size, frames, bytes)
		}
		if !s.caughtUp() {
			t.Fatalf("not caught up after reading %d appends", n)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("read %q\nwant %q", got, want)
	}
	if s.pos != r.logBytes {
		t.Fatalf("cursor at byte %d, log ends at %d", s.pos, r.logBytes)
	}
}

// A client that fails lets go of the log at once: its subscription stays
// in the room until the connection closes it, and must not keep every
// frame since from being freed meanwhile.
func TestFailedClientLetsGoOfLog(t *testing.T) {
	f := newSigFixture(t, "alice")
	h := New(Config{Store: f.store, Broker: inmem.NewBroker(), Encoder: sigEncoder{}, QueueBytes: 256})
	t.Cleanup(func() { h.Close(context.Background()) })
	slow := f.client(t, h, "alice") // never read
	for i := 0; ; i++ {
		f.post(t, h, "alice", fmt.Sprint(i))
		if slow.Err() != nil {
			break
		}
		if i > 1000 {
			t.Fatal("the slow client was not dropped")
		}
	}
	select {
	case <-slow.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed")
	}
	slow.mu.Lock()
	s := slow.sub1
	held := s != nil && s.at.chunk != nil
	slow.mu.Unlock()
	if s == nil {
		t.Fatal("the failed client's subscription is gone before Close")
	}
	if held {
		t.Fatal("the failed client still holds its place in the room's log")
	}
}

// A frame that arrives while Take has read a subscription's log but not
// yet put it back on its room's armed list is not left waiting for the
// next one: rearm finds it and tells the writer.
func TestRearmFindsFrameThatCameMeanwhile(t *testing.T) {
	f := newSigFixture(t, "alice")
	h := f.hub(t, inmem.NewBroker())
	var readies atomic.Int64
	c := h.NewClient(func() { readies.Add(1) })
	defer c.Close(nil)
	if err := c.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	c.Take()
	f.post(t, h, "alice", "1")
	// The first half of Take, by hand.
	c.mu.Lock()
	s := c.sub1
	if len(c.flagged) != 1 || c.flagged[0] != s {
		c.mu.Unlock()
		t.Fatal("a new frame did not flag the subscription")
	}
	batch, n, _ := s.read(nil)
	s.flagged, c.flagged = false, nil
	c.mu.Unlock()
	if n != 1 || len(batch) != 1 {
		t.Fatalf("read %d frames, want the one message", n)
	}
	before := readies.Load()
	f.post(t, h, "alice", "2") // neither armed nor flagged: no one is woken yet
	s.rearm()
	if readies.Load() == before {
		t.Fatal("rearm did not tell the writer of the frame that came meanwhile")
	}
	got := frames(t, c)
	if len(got) != 1 || got[0] != fmt.Sprintf("m %d 2", f.room.ID) {
		t.Fatalf("took %q, want message 2", got)
	}
}

// The last chunk of a room's log keeps no frame that every subscription
// has read, and keeps those that one has not.
func TestLogLetsGoOfReadFrames(t *testing.T) {
	f := newSigFixture(t, "alice", "bob")
	h := f.hub(t, inmem.NewBroker())
	alice, bob := f.client(t, h, "alice"), f.client(t, h, "bob")
	frames(t, alice)
	frames(t, bob)
	held := func() int {
		r := alice.sub1.r
		r.mu.Lock()
		defer r.mu.Unlock()
		n := 0
		for _, e := range r.tail.entries[:r.tail.n.Load()] {
			if e.frame != nil {
				n++
			}
		}
		return n
	}
	f.post(t, h, "alice", "1")
	f.post(t, h, "alice", "2")
	frames(t, alice)
	if n := held(); n != 2 {
		t.Fatalf("the log holds %d frames while bob has read none of 2", n)
	}
	if got := frames(t, bob); len(got) != 2 {
		t.Fatalf("bob took %q", got)
	}
	if n := held(); n != 0 {
		t.Fatalf("the log holds %d frames that both have read", n)
	}
	f.post(t, h, "alice", "3")
	frames(t, alice)
	bob.Close(nil) // the one behind leaves
	if n := held(); n != 0 {
		t.Fatalf("the log holds %d frames after the one behind left", n)
	}
}
