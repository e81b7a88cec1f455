package postgres

import (
	"context"
	"fmt"
	neturl "net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/hanashi-chat/hanashi/internal/testutil"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// waitFor polls cond until it holds, and fails the test if it does not
// within limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	testutil.Eventually(t, limit, what, func() bool {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		return ok
	})
}

// connect opens a plain connection to url, closed when the test ends, to
// watch the store's sessions from outside.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// openDB opens the store at url, closed when the test ends.
func openDB(t *testing.T, url string) *DB {
	t.Helper()
	db, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// setParams returns u with the query parameters of kv (key, value, ...) set.
func setParams(t *testing.T, u string, kv ...string) string {
	t.Helper()
	p, err := neturl.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	for i := 0; i < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	// pgx reads a + in the query as itself, not as a space.
	p.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return p.String()
}

// userAndRoom creates a user and a room of hers on db.
func userAndRoom(t *testing.T, db *DB) (hanashi.User, hanashi.Room) {
	t.Helper()
	u, err := db.CreateUser(t.Context(), hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.CreateRoom(t.Context(), hanashi.NewRoom{Name: "lobby", Creator: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	return u, r
}

// stuckBatch connects to url as a node of the store does and sends the
// first statement of a batch, lockRooms for room, but neither the rest nor
// the Sync that ends it, as a node cut off in the middle of a batch would.
// It returns the backend's pid once watch sees the backend hold the room's
// lock and wait for its client, as 'active'.
func stuckBatch(t *testing.T, url string, room hanashi.RoomID, watch *pgx.Conn) uint32 {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	configure(cfg)
	pc, err := pgconn.ConnectConfig(t.Context(), &cfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		pc.Close(ctx)
	})
	fe := pc.Frontend()
	fe.Send(&pgproto3.Parse{Query: lockRooms})
	fe.Send(&pgproto3.Bind{Parameters: [][]byte{fmt.Appendf(nil, "{%d}", room)}})
	fe.Send(&pgproto3.Execute{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	pid := pc.PID()
	waitFor(t, 5*time.Second, "the cut-off batch to lock the room and wait for its client", func() (bool, error) {
		var ok bool
		err := watch.QueryRow(t.Context(), `SELECT EXISTS (
			SELECT 1 FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
			WHERE a.pid = $1 AND a.state = 'active' AND a.wait_event = 'ClientRead'
				AND l.relation = 'rooms'::regclass AND l.mode = 'RowShareLock' AND l.granted)`,
			int32(pid)).Scan(&ok)
		return ok, err
	})
	return pid
}

// gone waits until the backend pid has ended.
func gone(t *testing.T, watch *pgx.Conn, pid uint32, limit time.Duration) {
	t.Helper()
	waitFor(t, limit, fmt.Sprintf("backend %d to end", pid), func() (bool, error) {
		var n int
		err := watch.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, int32(pid)).Scan(&n)
		return n == 0, err
	})
}

// plainRole creates a login role without any privilege but the use of the
// store's tables in the database at url, and returns url logged in as it,
// as a deployment's role would be.
func plainRole(t *testing.T, server, url string) string {
	t.Helper()
	if err := Migrate(t.Context(), url); err != nil {
		t.Fatal(err)
	}
	role := "app_" + hanashi.NewID()[:12]
	admin := connect(t, url)
	srv := connect(t, server)
	exec := func(conn *pgx.Conn, sql string) {
		t.Helper()
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(srv, `CREATE ROLE `+role+` LOGIN`)
	t.Cleanup(func() {
		exec(admin, `DROP OWNED BY `+role)
		exec(srv, `DROP ROLE `+role)
	})
	exec(admin, `GRANT USAGE ON SCHEMA public TO `+role)
	exec(admin, `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO `+role)
	exec(admin, `GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO `+role)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.User(role)
	return u.String()
}

// TestPostEndsStuckSession cuts a node off in the middle of a batch: its
// backend keeps the room's lock and waits for the rest of the pipeline,
// which neither the idle nor the statement timeout ends. Another node's
// batch into the room must still be stored, soon after the lock timeout,
// and the stuck backend must be gone. As a superuser, and as a role without
// privileges, which may end its own sessions only.
func TestPostEndsStuckSession(t *testing.T) {
	for _, plain := range []bool{false, true} {
		name := "superuser"
		if plain {
			name = "plain role"
		}
		t.Run(name, func(t *testing.T) {
			url := testpeer.PostgresDB(t)
			watch := connect(t, url)
			if plain {
				url = plainRole(t, os.Getenv(testpeer.EnvPostgres), url)
			}
			db := openDB(t, url)
			u, r := userAndRoom(t, db)
			ctx := t.Context()
			if _, err := db.Post(ctx, []hanashi.Post{{Room: r.ID, Author: u.ID, ClientID: "before", Body: "x"}}); err != nil {
				t.Fatal(err)
			}

			pid := stuckBatch(t, url, r.ID, watch)
			start := time.Now()
			res, err := db.Post(ctx, []hanashi.Post{{Room: r.ID, Author: u.ID, ClientID: "after", Body: "y"}})
			took := time.Since(start)
			if err != nil {
				t.Fatalf("Post into the room of the stuck batch: %v (after %v)", err, took)
			}
			if !res[0].Created || res[0].Message.Seq != 2 || res[0].Err != nil {
				t.Errorf("Post = %+v, want a new message with seq 2", res[0])
			}
			if limit := lockTimeout + 3*time.Second; took > limit {
				t.Errorf("Post took %v, want at most %v", took, limit)
			}
			t.Logf("Post took %v", took)
			gone(t, watch, pid, 2*time.Second)
		})
	}
}

// TestTransactionEndsStuckSession checks that a transaction other than
// Post that needs a lock a stuck session holds (a room made inside the
// room of a stuck batch, which locks the parent as Post does) ends the
// session too, and goes through.
func TestTransactionEndsStuckSession(t *testing.T) {
	url := testpeer.PostgresDB(t)
	watch := connect(t, url)
	db := openDB(t, url)
	u, r := userAndRoom(t, db)
	pid := stuckBatch(t, url, r.ID, watch)
	start := time.Now()
	child, err := db.CreateRoom(t.Context(), hanashi.NewRoom{Name: "inside", Creator: u.ID, Parent: r.ID})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("CreateRoom inside the room of the stuck batch: %v (after %v)", err, took)
	}
	if child.Parent != r.ID || child.ParentSeq != 1 {
		t.Errorf("CreateRoom = %+v, want a room inside %d linked at seq 1", child, r.ID)
	}
	if limit := lockTimeout + 3*time.Second; took > limit {
		t.Errorf("CreateRoom took %v, want at most %v", took, limit)
	}
	gone(t, watch, pid, 2*time.Second)
}

// TestPostCanceledWhileWaiting checks that a batch waiting for a room
// locked by a stuck session returns as soon as its ctx ends, and that its
// own backend stops waiting too.
func TestPostCanceledWhileWaiting(t *testing.T) {
	url := testpeer.PostgresDB(t)
	watch := connect(t, url)
	db := openDB(t, url)
	u, r := userAndRoom(t, db)
	pid := stuckBatch(t, url, r.ID, watch)

	const wait = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	start := time.Now()
	if res, err := db.Post(ctx, []hanashi.Post{{Room: r.ID, Author: u.ID, ClientID: "1", Body: "x"}}); err == nil {
		t.Errorf("Post with the room locked = %+v, want an error", res)
	}
	if took := time.Since(start); took > wait+time.Second {
		t.Errorf("Post returned %v after it began, want about %v, when its ctx ended", took, wait)
	}
	waitFor(t, 2*time.Second, "no session to wait for the room's lock", func() (bool, error) {
		var n int
		err := watch.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return n == 0, err
	})
	var n int
	if err := watch.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, int32(pid)).Scan(&n); err != nil || n != 1 {
		t.Errorf("the stuck session: %d, %v; want it still there, as no batch gave up on its lock", n, err)
	}
}

// TestIdleTransactionEnded checks that the pool's sessions run with the idle
// timeout: a transaction that takes a room's lock and then waits on its
// client is ended by the server, and the room is free again.
func TestIdleTransactionEnded(t *testing.T) {
	url := testpeer.PostgresDB(t)
	watch := connect(t, url)
	db := openDB(t, url)
	u, r := userAndRoom(t, db)
	ctx := t.Context()

	c, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, lockRooms, []int64{int64(r.ID)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	gone(t, watch, c.Conn().PgConn().PID(), idleInTransactionTimeout+3*time.Second)
	if took := time.Since(start); took < idleInTransactionTimeout-500*time.Millisecond {
		t.Errorf("the idle transaction ended after %v, before the idle timeout of %v", took, idleInTransactionTimeout)
	}
	if err := tx.Commit(ctx); err == nil {
		t.Errorf("Commit of a transaction the server ended succeeded")
	}

	start = time.Now()
	res, err := db.Post(ctx, []hanashi.Post{{Room: r.ID, Author: u.ID, ClientID: "1", Body: "x"}})
	if err != nil || !res[0].Created {
		t.Fatalf("Post = %+v, %v; want a new message", res, err)
	}
	if took := time.Since(start); took >= lockTimeout {
		t.Errorf("Post took %v: it waited for the lock of the ended transaction", took)
	}
}

// settings reads the named settings on c, "" for one the server lacks.
func settings(t *testing.T, c interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, names ...string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, name := range names {
		var v *string
		if err := c.QueryRow(t.Context(), `SELECT current_setting($1, true)`, name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != nil {
			got[name] = *v
		}
	}
	return got
}

// TestGuardSettings checks that every connection of the pool runs with the
// guards, and that a URL that sets some keeps its values, directly or in
// options.
func TestGuardSettings(t *testing.T) {
	url := testpeer.PostgresDB(t)
	var version int
	if err := connect(t, url).QueryRow(t.Context(), `SELECT current_setting('server_version_num')::integer`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	names := []string{"application_name", "idle_in_transaction_session_timeout", "lock_timeout", "statement_timeout",
		"tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count", "tcp_user_timeout", "transaction_timeout"}
	guarded := map[string]string{
		"application_name":                    "hanashi",
		"idle_in_transaction_session_timeout": "5s",
		"lock_timeout":                        "1s",
		"statement_timeout":                   "10s",
		"tcp_keepalives_idle":                 "5",
		"tcp_keepalives_interval":             "2",
		"tcp_keepalives_count":                "3",
		"tcp_user_timeout":                    "10000",
	}
	if version >= 170000 {
		guarded["transaction_timeout"] = "10s"
	}
	with := func(set map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range guarded {
			m[k] = v
		}
		for k, v := range set {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name string
		url  string
		want map[string]string
	}{
		{"defaults", url, guarded},
		{"set in the URL", setParams(t, url, "lock_timeout", "7s", "application_name", "x", "tcp_keepalives_idle", "30"),
			with(map[string]string{"lock_timeout": "7s", "application_name": "x", "tcp_keepalives_idle": "30"})},
		{"set in options", setParams(t, url, "options", `-c statement_timeout=3s --idle-in-transaction-session-timeout=8s -ctcp_user_timeout=4000`),
			with(map[string]string{"statement_timeout": "3s", "idle_in_transaction_session_timeout": "8s", "tcp_user_timeout": "4000"})},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := openDB(t, c.url)
			// Several connections at once, so the pool opens them all.
			for i := range 3 {
				conn, err := db.pool.Acquire(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Release()
				if got := settings(t, conn, names...); !reflect.DeepEqual(got, c.want) {
					t.Errorf("conn %d: %v, want %v", i, got, c.want)
				}
			}
		})
	}
}

func TestURLSettings(t *testing.T) {
	for _, c := range []struct {
		params map[string]string
		want   []string
	}{
		{map[string]string{}, nil},
		{map[string]string{"Lock_Timeout": "1s"}, []string{"lock_timeout"}},
		{map[string]string{"options": "-c lock_timeout=1s"}, []string{"options", "lock_timeout"}},
		{map[string]string{"options": "  -clock_timeout=1s\t--Statement-Timeout=2s "}, []string{"options", "lock_timeout", "statement_timeout"}},
		{map[string]string{"options": `-c search_path=a\ b -c application_name=x`}, []string{"options", "search_path", "application_name"}},
		{map[string]string{"options": `-c`}, []string{"options"}},
		{map[string]string{"options": `-B 100 -c lock_timeout`}, []string{"options"}},
	} {
		got := urlSettings(c.params)
		want := map[string]bool{}
		for _, n := range c.want {
			want[n] = true
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("urlSettings(%q) = %v, want %v", c.params, got, want)
		}
	}
}

// TestMigrationWithoutTimeouts checks that a migration waits for another
// node's for as long as it takes, whatever the session's timeouts.
func TestMigrationWithoutTimeouts(t *testing.T) {
	url := testpeer.PostgresDB(t)
	holder := connect(t, url)
	url = setParams(t, url, "lock_timeout", "100ms", "statement_timeout", "300ms")
	if _, err := holder.Exec(t.Context(), `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() {
		db, err := Open(t.Context(), url)
		if err == nil {
			db.Close()
		}
		done <- err
	}()
	go func() { done <- Migrate(t.Context(), url) }()
	waitFor(t, 5*time.Second, "both migrations to wait for the lock", func() (bool, error) {
		var n int
		err := holder.QueryRow(t.Context(), `SELECT count(*) FROM pg_locks
			WHERE locktype = 'advisory' AND NOT granted
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
		return n == 2, err
	})
	select {
	case err := <-done:
		t.Fatalf("a migration returned while another held the lock: %v", err)
	case <-time.After(time.Second):
	}
	if _, err := holder.Exec(t.Context(), `SELECT pg_advisory_unlock($1)`, migrateLock); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("migration: %v", err)
		}
	}
}
