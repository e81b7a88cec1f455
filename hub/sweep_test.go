package hub_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// deadNodeBroker loses the publish of every message whose client id starts
// with "lost": its node committed it and died before publishing.
type deadNodeBroker struct {
	*inmem.Broker
}

func (b deadNodeBroker) Publish(ctx context.Context, msgs []hanashi.Message) error {
	var keep []hanashi.Message
	for _, m := range msgs {
		if !strings.HasPrefix(m.ClientID, "lost") {
			keep = append(keep, m)
		}
	}
	return b.Broker.Publish(ctx, keep)
}

// TestSweepDeliversUnpublished checks that a message stored but never
// published reaches the room's subscribers from the store, with no later
// message to show the gap, within two sweeps.
func TestSweepDeliversUnpublished(t *testing.T) {
	const interval = 50 * time.Millisecond
	f := newFixture(t, deadNodeBroker{inmem.NewBroker()}, hub.Config{SweepInterval: interval})
	live := f.hub.NewClient(nil)
	defer live.Close(nil)
	lr := read(t, live)
	if err := live.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	f.post(t, "a")
	lr.waitSeq(t, 1)

	start := time.Now()
	f.post(t, "lost-1")
	f.post(t, "lost-2")
	checkContiguous(t, lr.waitSeq(t, 3), 1, 3)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the unpublished messages took %v to arrive, want within about two sweeps (%v)", took, 2*interval)
	}

	// A client subscribing now, from the start, has them all, and one
	// subscribing without a cursor starts after them.
	late := f.hub.NewClient(nil)
	defer late.Close(nil)
	r := read(t, late)
	zero := int64(0)
	if err := late.Subscribe(t.Context(), f.room.ID, &zero); err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, r.waitSeq(t, 3), 1, 3)
	fresh := f.hub.NewClient(nil)
	defer fresh.Close(nil)
	fr := read(t, fresh)
	if err := fresh.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, fr, fmt.Sprintf("s %d 3", f.room.ID))
}

// TestBacklogReadsStoreTruth checks that a subscription's backlog is the
// store's, not only what this node's room was told: a message another node
// stored and never published is in the backlog at once, and the room
// catches up for its other subscribers too, with no sweep to help.
func TestBacklogReadsStoreTruth(t *testing.T) {
	f := newFixture(t, nil, hub.Config{SweepInterval: time.Hour})
	live := f.hub.NewClient(nil)
	defer live.Close(nil)
	lr := read(t, live)
	if err := live.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	f.post(t, "a")
	lr.waitSeq(t, 1)
	// Another node stores seq 2 and 3 and dies before publishing them.
	for _, id := range []string{"elsewhere-1", "elsewhere-2"} {
		if _, err := f.store.Post(t.Context(), []hanashi.Post{{Room: f.room.ID, Author: f.user.ID, ClientID: id, Body: "hi"}}); err != nil {
			t.Fatal(err)
		}
	}
	// This node has handed out seq 1: a resume from it reads the store.
	c := f.hub.NewClient(nil)
	defer c.Close(nil)
	r := read(t, c)
	zero := int64(0)
	if err := c.Subscribe(t.Context(), f.room.ID, &zero); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, r, fmt.Sprintf("s %d 3", f.room.ID))
	checkContiguous(t, r.seqs(), 1, 3)
	checkContiguous(t, lr.waitSeq(t, 3), 1, 3)
	// Later messages follow without a gap or a repeat.
	f.post(t, "b")
	checkContiguous(t, r.waitSeq(t, 4), 1, 4)
	checkContiguous(t, lr.waitSeq(t, 4), 1, 4)
}

// waitFrame waits until the reader has the frame.
func waitFrame(t *testing.T, r *reader, want string) {
	t.Helper()
	testutil.EventuallyNil(t, 10*time.Second, fmt.Sprintf("frame %q", want), func() error {
		r.mu.Lock()
		frames := append([]string(nil), r.frames...)
		r.mu.Unlock()
		for _, f := range frames {
			if f == want {
				return nil
			}
		}
		return fmt.Errorf("frames %q", frames)
	})
}

// hangingStore never commits: its Post waits until its context ends, as a
// store across a partitioned network does.
type hangingStore struct {
	*countingStore
	hang chan struct{} // closed: Post hangs; nil: Post works
}

func (s *hangingStore) Post(ctx context.Context, posts []hanashi.Post) ([]hanashi.PostResult, error) {
	select {
	case <-s.hang:
		<-ctx.Done()
		return nil, ctx.Err()
	default:
		return s.countingStore.Post(ctx, posts)
	}
}

// TestCommitTimeout checks that a send the store cannot commit fails with
// EUNAVAILABLE within CommitTimeout of its arrival, even queued behind
// another that hangs, that the hub reports the failure for readiness, and
// that it recovers by itself once commits go through.
func TestCommitTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	f := newFixture(t, nil, hub.Config{})
	store := &hangingStore{countingStore: f.store, hang: make(chan struct{})}
	h := hub.New(hub.Config{Store: store, Broker: inmem.NewBroker(), Encoder: textEncoder{}, CommitTimeout: timeout})
	defer h.Close(context.Background())
	if err := h.CommitErr(); err != nil {
		t.Fatalf("CommitErr before any commit: %v", err)
	}
	close(store.hang)

	start := time.Now()
	errs := make(chan error, 2)
	post := func(id string) {
		_, err := h.Post(context.Background(), hanashi.Post{Room: f.room.ID, Author: f.user.ID, ClientID: id, Body: "hi"})
		errs <- err
	}
	go post("first")
	time.Sleep(timeout / 2) // the second arrives while the first hangs
	go post("second")
	for range 2 {
		err := <-errs
		if hanashi.ErrorCode(err) != hanashi.EUNAVAILABLE {
			t.Fatalf("post to a hanging store: %v, want EUNAVAILABLE", err)
		}
	}
	// The second fails at its own deadline, not after the first's commit
	// timed out and its own then did too.
	if took := time.Since(start); took > 2*timeout {
		t.Errorf("both posts failed after %v, want within %v of their arrival", took, timeout)
	}
	if err := h.CommitErr(); err == nil {
		t.Error("CommitErr is nil after failed commits")
	}

	store.hang = nil // no goroutine reads it now: the posts have returned
	if _, err := h.Post(context.Background(), hanashi.Post{Room: f.room.ID, Author: f.user.ID, ClientID: "second", Body: "hi"}); err != nil {
		t.Fatalf("post once the store works: %v", err)
	}
	if err := h.CommitErr(); err != nil {
		t.Errorf("CommitErr after a commit went through: %v", err)
	}
}
