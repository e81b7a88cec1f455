package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/sqlite"
	"github.com/hanashi-chat/hanashi/storetest"
)

// open opens a database at path and closes it when the test ends.
func open(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), path)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Test(t, func(t *testing.T) hanashi.Store {
		// A directory that does not exist yet: Open creates it.
		return open(t, filepath.Join(t.TempDir(), "data", "hanashi.db"))
	})
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "hanashi.db")
	open(t, path)
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700 | os.ModeDir}, {path, 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s has mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
	}
}

func TestOpenRejectsNonFiles(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if db, err := sqlite.Open(t.Context(), path); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

// TestReopen checks that data survives Close and Open, and that opening a
// migrated database again applies no migration twice.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hanashi.db")

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	alice, err := db.CreateUser(ctx, hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	room, err := db.CreateRoom(ctx, hanashi.NewRoom{Name: "lobby", Private: true, Creator: alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	results, err := db.Post(ctx, []hanashi.Post{{Room: room.ID, Author: alice.ID, ClientID: "c1", Body: "hello"}})
	if err != nil || results[0].Err != nil {
		t.Fatalf("Post: %v, %+v", err, results)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	for i := range 2 {
		db := open(t, path)
		if u, err := db.User(ctx, alice.ID); err != nil || !u.CreatedAt.Equal(alice.CreatedAt) {
			t.Errorf("open %d: User = %+v, %v; want %+v", i, u, err, alice)
		}
		if r, err := db.Room(ctx, room.ID, alice.ID); err != nil || r.LastSeq != int64(i+1) || !r.Member {
			t.Errorf("open %d: Room = %+v, %v; want the room with LastSeq %d", i, r, err, i+1)
		}
		msgs, err := db.Messages(ctx, room.ID, hanashi.Page{})
		if err != nil || len(msgs) != i+1 || !reflect.DeepEqual(msgs[0], results[0].Message) {
			t.Errorf("open %d: Messages = %+v, %v; want %d starting with %+v", i, msgs, err, i+1, results[0].Message)
		}
		// The sequence goes on where it stopped.
		res, err := db.Post(ctx, []hanashi.Post{{Room: room.ID, Author: alice.ID, ClientID: fmt.Sprint("after reopen ", i), Body: "again"}})
		if err != nil || res[0].Message.Seq != int64(i+2) {
			t.Errorf("open %d: Post = %+v, %v; want seq %d", i, res, err, i+2)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

// TestClock checks that the injected clock stamps records and decides
// whether a session has expired.
func TestClock(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "hanashi.db"))
	storetest.Clock(t, db, time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC), func(now time.Time) { db.Now = func() time.Time { return now } })
}

// TestTimesRoundTrip checks that times keep their nanoseconds through the
// database, in UTC.
func TestTimesRoundTrip(t *testing.T) {
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "hanashi.db"))
	local := time.FixedZone("JST", 9*60*60)
	db.Now = func() time.Time { return time.Date(2026, 11, 23, 9, 31, 0, 123456789, local) }

	u, err := db.CreateUser(ctx, hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != u || got.CreatedAt.Location() != time.UTC || got.CreatedAt.Nanosecond() != 123456789 {
		t.Errorf("User = %+v, want %+v with CreatedAt in UTC to the nanosecond", got, u)
	}
}

func TestCreateSessionInvalid(t *testing.T) {
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "hanashi.db"))
	u, err := db.CreateUser(ctx, hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		s    hanashi.Session
		code string
	}{
		{"no token hash", hanashi.Session{User: u.ID, ExpiresAt: time.Now().Add(time.Hour)}, hanashi.EINVALID},
		{"zero ExpiresAt", hanashi.Session{TokenHash: []byte("x"), User: u.ID}, hanashi.EINVALID},
		{"unknown user", hanashi.Session{TokenHash: []byte("y"), User: "nobody", ExpiresAt: time.Now().Add(time.Hour)}, hanashi.ENOTFOUND},
	} {
		if err := db.CreateSession(ctx, c.s); hanashi.ErrorCode(err) != c.code {
			t.Errorf("CreateSession with %s: %v, want code %s", c.what, err, c.code)
		}
	}
}

// TestPostCanceled checks that a batch whose context ends stores nothing.
func TestPostCanceled(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "hanashi.db"))
	u, err := db.CreateUser(t.Context(), hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.CreateRoom(t.Context(), hanashi.NewRoom{Name: "lobby", Creator: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := db.Post(ctx, []hanashi.Post{{Room: r.ID, Author: u.ID, ClientID: "1", Body: "x"}}); err == nil {
		t.Errorf("Post with a canceled context succeeded")
	}
	if seq, err := db.LastSeq(t.Context(), r.ID); err != nil || seq != 0 {
		t.Errorf("LastSeq = %d, %v; want 0", seq, err)
	}
}

// BenchmarkPost measures posts per second through Post, with every commit
// synced to disk, for batches of one (no group commit) and of a hundred, into
// ten rooms by ten authors. Client ids are either random, as from
// crypto.randomUUID, or ordered in time, as a counter or UUIDv7 gives: random
// ones land all over the (author_id, client_id) index, so every post dirties
// a page of its own that the commit must write.
func BenchmarkPost(b *testing.B) {
	clientIDs := []struct {
		name string
		id   func(n int) string
	}{
		{"random", func(int) string { return hanashi.NewID() }},
		{"ordered", func(n int) string { return fmt.Sprintf("%016x", n) }},
	}
	for _, size := range []int{1, 100} {
		for _, cid := range clientIDs {
			b.Run(fmt.Sprintf("batch=%d/client_id=%s", size, cid.name), func(b *testing.B) {
				benchmarkPost(b, size, cid.id)
			})
		}
	}
}

func benchmarkPost(b *testing.B, size int, clientID func(n int) string) {
	ctx := b.Context()
	db := open(b, filepath.Join(b.TempDir(), "hanashi.db"))
	var authors []hanashi.UserID
	var rooms []hanashi.RoomID
	for i := range 10 {
		u, err := db.CreateUser(ctx, hanashi.User{Name: fmt.Sprint("user ", i)})
		if err != nil {
			b.Fatal(err)
		}
		r, err := db.CreateRoom(ctx, hanashi.NewRoom{Name: fmt.Sprint("room ", i), Private: i%2 == 0, Creator: u.ID})
		if err != nil {
			b.Fatal(err)
		}
		authors = append(authors, u.ID)
		rooms = append(rooms, r.ID)
	}
	body := "a message of a typical length, say about eighty bytes, as people write in chat"
	batch := make([]hanashi.Post, size)
	n := 0
	for b.Loop() {
		for i := range batch {
			k := n % len(rooms)
			batch[i] = hanashi.Post{Room: rooms[k], Author: authors[k], ClientID: clientID(n), Body: body}
			n++
		}
		results, err := db.Post(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, res := range results {
			if res.Err != nil || !res.Created {
				b.Fatalf("Post: %+v", res)
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "posts/s")
}
