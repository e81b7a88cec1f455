package hub_test

import (
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/hub"
)

// jump advances the room's sequence counter in the fixture's SQLite file
// by hanashi.RestoreGap, as a restore does, behind the hub's back.
func (f *fixture) jump(t *testing.T) {
	t.Helper()
	db, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `UPDATE rooms SET last_seq = last_seq + ? WHERE id = ?`, int64(hanashi.RestoreGap), f.room.ID); err != nil {
		t.Fatal(err)
	}
}

// checkSeqs fails unless a reader got exactly the message seqs want, in
// order, each once.
func checkSeqs(t *testing.T, name string, r *reader, want ...int64) {
	t.Helper()
	got := r.waitSeq(t, want[len(want)-1])
	if !slices.Equal(got, want) {
		t.Errorf("%s got seqs %v, want %v", name, got, want)
	}
}

// A room's numbering that jumps, as it does after a restore, is a jump and
// not a gap: a subscriber of the live stream gets the messages after it
// (the room reads them from the store, which alone can tell a jump from a
// loss), and a subscriber resuming from a cursor before the jump, inside
// it or after it gets every message after its cursor, once.
func TestNumberingJump(t *testing.T) {
	f := newFixture(t, nil, hub.Config{ReorderWait: 20 * time.Millisecond})
	live := f.hub.NewClient(nil)
	defer live.Close(nil)
	lr := read(t, live)
	if err := live.Subscribe(t.Context(), f.room.ID, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		f.post(t, fmt.Sprint("before-", i))
	}
	f.jump(t)
	const gap = hanashi.RestoreGap
	for i := range 2 {
		if m := f.post(t, fmt.Sprint("after-", i)); m.Seq != gap+4+int64(i) {
			t.Fatalf("message %d after the jump has seq %d, want %d", i, m.Seq, gap+4+int64(i))
		}
	}
	checkSeqs(t, "the live subscriber", lr, 1, 2, 3, gap+4, gap+5)

	readers := map[int64]*reader{}
	for _, cursor := range []int64{3, 4, 1000, gap + 3, gap + 4} {
		c := f.hub.NewClient(nil)
		defer c.Close(nil)
		readers[cursor] = read(t, c)
		if err := c.Subscribe(t.Context(), f.room.ID, &cursor); err != nil {
			t.Fatal(err)
		}
	}
	f.post(t, "later")
	checkSeqs(t, "the live subscriber", lr, 1, 2, 3, gap+4, gap+5, gap+6)
	for cursor, r := range readers {
		want := []int64{gap + 4, gap + 5, gap + 6}
		if cursor == gap+4 {
			want = want[1:]
		}
		checkSeqs(t, fmt.Sprint("a subscriber from ", cursor), r, want...)
	}
}

// A node that starts serving a room after the jump numbers on from the
// store's counter: a message after the jump is the next one, with no wait.
func TestNumberingJumpBeforeLive(t *testing.T) {
	f := newFixture(t, nil, hub.Config{ReorderWait: time.Hour})
	f.jump(t)
	c := f.hub.NewClient(nil)
	defer c.Close(nil)
	r := read(t, c)
	cursor := int64(0)
	if err := c.Subscribe(t.Context(), f.room.ID, &cursor); err != nil {
		t.Fatal(err)
	}
	f.post(t, "first")
	checkSeqs(t, "a subscriber from 0", r, hanashi.RestoreGap+1)
}
