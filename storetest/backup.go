package storetest

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// BackupRestore checks that a backup of a store holds what a server
// restored from it needs to go on where the backup left off. It is not
// part of Test, because backups are not part of the Store contract: each
// store calls it with its own backup and restore.
//
// BackupRestore fills s, then calls backup while a writer keeps posting to
// s, and then restore, which must return a store opened on a copy made from
// what backup wrote (closed by its caller). In the restored store, every
// message committed before backup was called must be there, as it was;
// a resend of any of them must find it (the client ids that make sends
// idempotent are kept), and a new message must get the seq after the
// highest in the backup (the rooms' counters are kept with their
// messages, never behind them), as must sessions.
func BackupRestore(t *testing.T, s hanashi.Store, backup func() error, restore func() hanashi.Store) {
	ctx := t.Context()
	f := newChat(t, s)
	session := hanashi.Session{
		TokenHash: sha256.New().Sum([]byte("backup")),
		User:      f.alice.ID,
		CreatedAt: time.Now().UTC().Truncate(time.Second),
		ExpiresAt: time.Now().UTC().Add(time.Hour).Truncate(time.Second),
	}
	if err := s.CreateSession(ctx, session); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	const first = 20             // messages before the writer starts
	var before []hanashi.Message // committed before the backup began
	for i := range first {
		before = append(before, f.post(t, hanashi.Post{Author: f.bob.ID, Body: fmt.Sprint("before ", i)}))
	}

	// The writer posts until told to stop; started holds it back until it
	// has committed a few messages, so that it is busy when backup runs.
	var (
		mu      sync.Mutex
		written []hanashi.Message
		werr    error
		slowest time.Duration // the longest Post of the writer
		stop    = make(chan struct{})
		started = make(chan struct{})
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			res, err := s.Post(ctx, []hanashi.Post{{Room: f.room.ID, Author: f.carol.ID, ClientID: fmt.Sprint("w", i), Body: fmt.Sprint("during ", i)}})
			took := time.Since(start)
			if err == nil && res[0].Err != nil {
				err = res[0].Err
			}
			mu.Lock()
			if err != nil {
				werr = err
			} else {
				written = append(written, res[0].Message)
				slowest = max(slowest, took)
			}
			n := len(written)
			mu.Unlock()
			if err != nil {
				return
			}
			if n == 5 {
				close(started)
			}
		}
	})
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer committed nothing in 10s")
	}
	mu.Lock()
	before = append(before, written...)
	mu.Unlock()
	start := time.Now()
	err := backup()
	took := time.Since(start)
	mu.Lock()
	during := len(written) - (len(before) - first)
	mu.Unlock()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if werr != nil {
		t.Fatalf("the writer failed: %v", werr)
	}
	t.Logf("backup took %v, while the writer committed %d messages; its slowest commit took %v", took.Round(time.Millisecond), during, slowest.Round(time.Millisecond))

	r := restore()
	var got []hanashi.Message // the room's whole stream, every kind of event
	for {
		page, err := r.Messages(ctx, f.room.ID, hanashi.Page{After: int64(len(got)), Limit: hanashi.MaxPageLimit})
		if err != nil {
			t.Fatalf("restored Messages: %v", err)
		}
		if len(page) == 0 {
			break
		}
		for i, m := range page {
			if want := int64(len(got) + i + 1); m.Seq != want {
				t.Fatalf("restored stream has seq %d where %d belongs", m.Seq, want)
			}
		}
		got = append(got, page...)
	}
	last := int64(len(got))
	for _, m := range before {
		if m.Seq > last {
			t.Errorf("seq %d, committed before the backup, is not in it (it ends at %d)", m.Seq, last)
		} else if g := got[m.Seq-1]; g.ID != m.ID || g.Body != m.Body || g.ClientID != m.ClientID || g.Author.ID != m.Author.ID {
			t.Errorf("restored seq %d: %+v, want the message committed before the backup, %+v", m.Seq, g, m)
		}
	}
	if seq, err := r.LastSeq(ctx, f.room.ID); err != nil || seq != last {
		t.Errorf("restored LastSeq = %d, %v; want %d, the last seq in the backup", seq, err, last)
	}

	// Resends of messages in the backup find them.
	for _, m := range []hanashi.Message{before[0], before[len(before)-1]} {
		res := post(t, r, hanashi.Post{Room: f.room.ID, Author: m.Author.ID, ClientID: m.ClientID, Body: m.Body})
		if res.Err != nil || res.Created || res.Message.ID != m.ID || res.Message.Seq != m.Seq {
			t.Errorf("resend of %q after the restore = %+v, want the stored message (id %s, seq %d), not created", m.ClientID, res, m.ID, m.Seq)
		}
	}
	// A new message takes the next seq.
	if m := mustPost(t, r, hanashi.Post{Room: f.room.ID, Author: f.alice.ID, ClientID: "after", Body: "after"}); m.Seq != last+1 {
		t.Errorf("first message after the restore has seq %d, want %d", m.Seq, last+1)
	}
	if u, err := r.SessionUser(ctx, session.TokenHash); err != nil || u.ID != f.alice.ID {
		t.Errorf("restored SessionUser = %+v, %v; want alice's session", u, err)
	}
}
