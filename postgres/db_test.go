package postgres

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// countingConn counts round trips: a write that follows a read (or comes
// first) starts one. pgx may read on a goroutine of its own while a write
// is under way (its background reader), so the flag is atomic.
type countingConn struct {
	net.Conn
	trips   *atomic.Int64
	reading atomic.Bool
}

func (c *countingConn) Write(b []byte) (int, error) {
	if c.reading.Swap(false) {
		c.trips.Add(1)
	}
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	c.reading.Store(true)
	return c.Conn.Read(b)
}

// TestPostRoundTrips checks that a batch costs the same number of round
// trips whatever its size: one.
func TestPostRoundTrips(t *testing.T) {
	ctx := t.Context()
	cfg, err := pgxpool.ParseConfig(testpeer.PostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	var trips atomic.Int64
	dial := cfg.ConnConfig.DialFunc
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cc := &countingConn{Conn: c, trips: &trips}
		cc.reading.Store(true)
		return cc, nil
	}
	cfg.MaxConns = 1
	db, err := open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.CreateUser(ctx, hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	var rooms []hanashi.RoomID
	for i := range 4 {
		r, err := db.CreateRoom(ctx, hanashi.NewRoom{Name: fmt.Sprint(i), Private: i%2 == 0, Creator: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, r.ID)
	}

	n := 0
	post := func(size int) int64 {
		t.Helper()
		var batch []hanashi.Post
		for range size {
			batch = append(batch, hanashi.Post{Room: rooms[n%len(rooms)], Author: u.ID, ClientID: fmt.Sprint(n), Body: "x"})
			n++
		}
		// A retry of the first post, too.
		batch = append(batch, hanashi.Post{Room: rooms[0], Author: u.ID, ClientID: "0", Body: "x"})
		before := trips.Load()
		results, err := db.Post(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range results {
			if res.Err != nil {
				t.Fatal(res.Err)
			}
		}
		return trips.Load() - before
	}
	post(1) // prepares the statements on the connection
	for _, size := range []int{1, 16, 128, 1000} {
		if got := post(size); got != 1 {
			t.Errorf("Post of %d posts took %d round trips, want 1", size+1, got)
		}
	}

	// Events that act on one message cut a batch into segments, which
	// add statements to the pipeline, not round trips.
	target, err := db.Post(ctx, []hanashi.Post{{Room: rooms[1], Author: u.ID, ClientID: "target", Body: "x"}})
	if err != nil || target[0].Err != nil {
		t.Fatal(err, target)
	}
	m := target[0].Message.ID
	// The first one prepares postEvents on the connection.
	if _, err := db.Post(ctx, []hanashi.Post{{Room: rooms[1], Author: u.ID, Kind: hanashi.KindReact, Target: m, Emoji: "y"}}); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 16, 128} {
		var batch []hanashi.Post
		for i := range size {
			batch = append(batch,
				hanashi.Post{Room: rooms[1], Author: u.ID, ClientID: fmt.Sprint("react ", size, i), Kind: hanashi.KindReact, Target: m, Emoji: "x"},
				hanashi.Post{Room: rooms[1], Author: u.ID, ClientID: fmt.Sprint("unreact ", size, i), Kind: hanashi.KindUnreact, Target: m, Emoji: "x"},
				hanashi.Post{Room: rooms[1], Author: u.ID, ClientID: fmt.Sprint("reply ", size, i), Thread: m, Body: "@alice @room"})
		}
		before := trips.Load()
		results, err := db.Post(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range results {
			if res.Err != nil {
				t.Fatal(res.Err)
			}
		}
		if got := trips.Load() - before; got != 1 {
			t.Errorf("Post of %d events in %d segments took %d round trips, want 1", len(batch), len(segments(batch)), got)
		}
	}
}

// TestSessionSettings checks that every connection runs with the isolation
// level Post is written for and commits synchronously, whatever the
// database's defaults say.
func TestSessionSettings(t *testing.T) {
	ctx := t.Context()
	url := testpeer.PostgresDB(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`ALTER DATABASE ` + name + ` SET synchronous_commit = off`,
		`ALTER DATABASE ` + name + ` SET default_transaction_isolation = 'serializable'`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)

	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Hold several connections at once, so the pool has to open them all.
	var conns []*pgxpool.Conn
	for range 3 {
		c, err := db.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		conns = append(conns, c)
	}
	for i, c := range conns {
		for setting, want := range map[string]string{
			"synchronous_commit":            "on",
			"default_transaction_isolation": "read committed",
			"plan_cache_mode":               "force_generic_plan",
		} {
			var got string
			if err := c.QueryRow(ctx, `SELECT current_setting($1)`, setting).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("conn %d: %s = %s, want %s", i, setting, got, want)
			}
		}
	}
}
