package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	neturl "net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/hanashi-chat/hanashi/internal/testutil"
	"github.com/hanashi-chat/hanashi/postgres"
	"github.com/hanashi-chat/hanashi/storetest"
	"github.com/jackc/pgx/v5"
)

// needPostgres skips the test, loudly, when ./scripts/test has not provided
// a PostgreSQL server.
func needPostgres(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(testpeer.EnvPostgres)
	if u == "" {
		tb.Skipf("skipped: %s is not set; ./scripts/test starts PostgreSQL and sets it", testpeer.EnvPostgres)
	}
	return u
}

// open opens the database at url and closes it when the test ends.
func open(tb testing.TB, url string) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(tb.Context(), url)
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

// admin runs sql on the database at url, outside any store.
func admin(tb testing.TB, url, sql string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// dbName returns the name of the database at url.
func dbName(tb testing.TB, u string) string {
	tb.Helper()
	p, err := neturl.Parse(u)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

// withParam returns u with the query parameter k set to v.
func withParam(tb testing.TB, u, k, v string) string {
	tb.Helper()
	p, err := neturl.Parse(u)
	if err != nil {
		tb.Fatal(err)
	}
	q := p.Query()
	q.Set(k, v)
	p.RawQuery = q.Encode()
	return p.String()
}

// waitNoSessions waits until the database named name has no sessions left.
func waitNoSessions(tb testing.TB, server, name string) {
	tb.Helper()
	conn, err := pgx.Connect(tb.Context(), server)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	testutil.EventuallyNil(tb, 10*time.Second, "database "+name+" to have no sessions", func() error {
		var n int
		if err := conn.QueryRow(tb.Context(), `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		if n == 0 {
			return nil
		}
		return fmt.Errorf("database %s still has %d sessions", name, n)
	})
}

func TestStore(t *testing.T) {
	needPostgres(t)
	storetest.Test(t, func(t *testing.T) hanashi.Store {
		return open(t, testpeer.PostgresDB(t))
	})
}

// fixture is a user and a public room on a fresh database, seen from
// several nodes: one DB each, as separate server processes would have.
type fixture struct {
	url   string
	nodes []*postgres.DB
	user  hanashi.User
	room  hanashi.Room
}

func newFixture(t testing.TB, nodes int) *fixture {
	t.Helper()
	needPostgres(t)
	f := &fixture{url: testpeer.PostgresDB(t)}
	for range nodes {
		f.nodes = append(f.nodes, open(t, f.url))
	}
	var err error
	if f.user, err = f.nodes[0].CreateUser(t.Context(), hanashi.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if f.room, err = f.nodes[0].CreateRoom(t.Context(), hanashi.NewRoom{Name: "lobby", Creator: f.user.ID}); err != nil {
		t.Fatal(err)
	}
	return f
}

// allMessages reads every message of room through s.
func allMessages(t testing.TB, s hanashi.Store, room hanashi.RoomID) []hanashi.Message {
	t.Helper()
	var all []hanashi.Message
	for {
		page, err := s.Messages(t.Context(), room, hanashi.Page{After: int64(len(all)), Limit: hanashi.MaxPageLimit})
		if err != nil {
			t.Fatalf("Messages: %v", err)
		}
		if len(page) == 0 {
			return all
		}
		if page[len(page)-1].Seq <= int64(len(all)) {
			t.Fatalf("Messages after %d went backwards", len(all))
		}
		all = append(all, page...)
	}
}

// checkSeqs checks that room holds exactly want messages with seqs 1..want,
// with no client id twice, as every node sees it.
func checkSeqs(t testing.TB, nodes []*postgres.DB, room hanashi.RoomID, want int) {
	t.Helper()
	for n, db := range nodes {
		msgs := allMessages(t, db, room)
		if len(msgs) != want {
			t.Errorf("node %d: room has %d messages, want %d", n, len(msgs), want)
		}
		seen := map[string]bool{}
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("node %d: message %d has seq %d, want %d", n, i, m.Seq, i+1)
			}
			if m.ClientID != "" {
				key := string(m.Author.ID) + "\x00" + m.ClientID
				if seen[key] {
					t.Errorf("node %d: client id %q stored twice", n, m.ClientID)
				}
				seen[key] = true
			}
		}
		if seq, err := db.LastSeq(t.Context(), room); err != nil || seq != int64(want) {
			t.Errorf("node %d: LastSeq = %d, %v; want %d", n, seq, err, want)
		}
	}
}

// postConcurrently has posters goroutines, spread over the nodes, post
// each messages into rooms in batches of 1 to maxBatch, and returns how many
// went into each room. Every post must create a message.
func postConcurrently(t testing.TB, nodes []*postgres.DB, author hanashi.UserID, rooms []hanashi.RoomID, posters, each, maxBatch int) map[hanashi.RoomID]int {
	t.Helper()
	var (
		mu     sync.Mutex
		posted = map[hanashi.RoomID]int{}
		wg     sync.WaitGroup
	)
	for g := range posters {
		db := nodes[g%len(nodes)]
		wg.Go(func() {
			for n := 0; n < each; {
				var batch []hanashi.Post
				for range min(rand.IntN(maxBatch)+1, each-n) {
					batch = append(batch, hanashi.Post{
						Room:     rooms[rand.IntN(len(rooms))],
						Author:   author,
						ClientID: fmt.Sprintf("poster %d message %d", g, n),
						Body:     fmt.Sprint(n),
					})
					n++
				}
				results, err := db.Post(t.Context(), batch)
				if err != nil {
					t.Errorf("poster %d: Post: %v", g, err)
					return
				}
				mu.Lock()
				for i, res := range results {
					if res.Err != nil || !res.Created || res.Message.ClientID != batch[i].ClientID {
						t.Errorf("poster %d: %+v, want a new message for %q", g, res, batch[i].ClientID)
					}
					posted[batch[i].Room]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return posted
}

// TestNodesShareRoom checks that two nodes posting into one room at once
// number its messages 1..N with no gap and no duplicate.
func TestNodesShareRoom(t *testing.T) {
	f := newFixture(t, 2)
	rooms := []hanashi.RoomID{f.room.ID}
	posted := postConcurrently(t, f.nodes, f.user.ID, rooms, 16, 50, 10)
	if t.Failed() {
		t.FailNow()
	}
	checkSeqs(t, f.nodes, f.room.ID, posted[f.room.ID])
}

// TestReadersSeeNoGap reads a room from a third node while two others post
// into it: a message must never be visible before every message with a
// lower seq is, since readers fill gaps from the store once and move on. The
// room's LastSeq must never be ahead of the messages a later read returns.
func TestReadersSeeNoGap(t *testing.T) {
	f := newFixture(t, 3)
	writers, reader := f.nodes[:2], f.nodes[2]
	done := make(chan map[hanashi.RoomID]int)
	go func() {
		done <- postConcurrently(t, writers, f.user.ID, []hanashi.RoomID{f.room.ID}, 8, 60, 8)
	}()
	var cursor int64
	// check reads on from cursor and reports what is wrong, if anything.
	check := func() error {
		last, err := reader.LastSeq(t.Context(), f.room.ID)
		if err != nil {
			return fmt.Errorf("LastSeq: %v", err)
		}
		msgs, err := reader.Messages(t.Context(), f.room.ID, hanashi.Page{After: cursor, Limit: hanashi.MaxPageLimit})
		if err != nil {
			return fmt.Errorf("Messages: %v", err)
		}
		for _, m := range msgs {
			if m.Seq != cursor+1 {
				return fmt.Errorf("after seq %d the reader saw seq %d: a gap", cursor, m.Seq)
			}
			cursor = m.Seq
		}
		if cursor < last {
			return fmt.Errorf("LastSeq was %d, but a later read found messages up to %d only", last, cursor)
		}
		return nil
	}
	for {
		select {
		case posted := <-done:
			if err := check(); err != nil {
				t.Error(err)
			} else if cursor != int64(posted[f.room.ID]) {
				t.Errorf("the reader saw %d messages, want %d", cursor, posted[f.room.ID])
			}
			return
		default:
			if err := check(); err != nil {
				t.Error(err)
				<-done
				return
			}
		}
	}
}

// TestManyPosters has 100 posters on three nodes post in batches into a
// few rooms, as the busiest deployment would.
func TestManyPosters(t *testing.T) {
	f := newFixture(t, 3)
	rooms := []hanashi.RoomID{f.room.ID}
	for i := range 3 {
		r, err := f.nodes[0].CreateRoom(t.Context(), hanashi.NewRoom{Name: fmt.Sprint("room ", i), Creator: f.user.ID})
		if err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, r.ID)
	}
	posted := postConcurrently(t, f.nodes, f.user.ID, rooms, 100, 40, 16)
	if t.Failed() {
		t.FailNow()
	}
	total := 0
	for _, r := range rooms {
		checkSeqs(t, f.nodes, r, posted[r])
		total += posted[r]
	}
	if total != 100*40 {
		t.Errorf("%d posts stored, want %d", total, 100*40)
	}
}

// TestSameClientIDTwoNodes sends the same client id from two nodes at
// once: into one room that must store one message and return it to both;
// into two rooms, one post must win and the other get ECONFLICT, and no seq
// may be spent on the loser.
func TestSameClientIDTwoNodes(t *testing.T) {
	f := newFixture(t, 2)
	ctx := t.Context()
	other, err := f.nodes[0].CreateRoom(ctx, hanashi.NewRoom{Name: "other", Creator: f.user.ID})
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 40
	race := func(rooms [2]hanashi.RoomID, clientID string) [2]hanashi.PostResult {
		var results [2]hanashi.PostResult
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, db := range f.nodes {
			wg.Go(func() {
				<-start
				// Other client ids around it, so that the race also runs
				// inside a batch.
				res, err := db.Post(ctx, []hanashi.Post{
					{Room: rooms[i], Author: f.user.ID, ClientID: fmt.Sprintf("%s before %d", clientID, i), Body: "x"},
					{Room: rooms[i], Author: f.user.ID, ClientID: clientID, Body: fmt.Sprint("from node ", i)},
				})
				if err != nil {
					t.Errorf("node %d: Post: %v", i, err)
					return
				}
				results[i] = res[1]
			})
		}
		close(start)
		wg.Wait()
		return results
	}

	for k := range rounds {
		res := race([2]hanashi.RoomID{f.room.ID, f.room.ID}, fmt.Sprint("same room ", k))
		if t.Failed() {
			t.FailNow()
		}
		if res[0].Err != nil || res[1].Err != nil || res[0].Created == res[1].Created ||
			res[0].Message.ID != res[1].Message.ID || res[0].Message.Seq != res[1].Message.Seq {
			t.Errorf("round %d into one room: %+v and %+v; want one message, created once", k, res[0], res[1])
		}
	}
	checkSeqs(t, f.nodes, f.room.ID, 3*rounds)

	created := map[hanashi.RoomID]int{f.room.ID: 3 * rounds}
	created[other.ID] = 0
	for k := range rounds {
		rooms := [2]hanashi.RoomID{f.room.ID, other.ID}
		res := race(rooms, fmt.Sprint("two rooms ", k))
		if t.Failed() {
			t.FailNow()
		}
		for i := range res {
			created[rooms[i]]++ // the "before" post
		}
		var win, lose int
		switch {
		case res[0].Created && hanashi.ErrorCode(res[1].Err) == hanashi.ECONFLICT:
			win, lose = 0, 1
		case res[1].Created && hanashi.ErrorCode(res[0].Err) == hanashi.ECONFLICT:
			win, lose = 1, 0
		default:
			t.Fatalf("round %d into two rooms: %+v and %+v; want one created and one conflict", k, res[0], res[1])
		}
		created[rooms[win]]++
		if !reflect.ValueOf(res[lose].Message).IsZero() {
			t.Errorf("round %d: the conflicting post returned %+v, want a zero Message", k, res[lose].Message)
		}
	}
	checkSeqs(t, f.nodes, f.room.ID, created[f.room.ID])
	checkSeqs(t, f.nodes, other.ID, created[other.ID])
}

// migrationCount is the number of migrations in this build.
func migrationCount(t testing.TB) int {
	t.Helper()
	names, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	return len(names)
}

// schemaVersions returns the versions recorded in the database at url.
func schemaVersions(t testing.TB, url string) []int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return versions
}

// TestConcurrentMigrate starts several nodes and "hanashi migrate" runs at
// once against an empty database: all must succeed, and each migration
// must be applied once.
func TestConcurrentMigrate(t *testing.T) {
	needPostgres(t)
	url := testpeer.PostgresDB(t)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 8 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				var db *postgres.DB
				if db, err = postgres.Open(t.Context(), url); err == nil {
					err = db.Close()
				}
			} else {
				err = postgres.Migrate(t.Context(), url)
			}
			if err != nil {
				failed.Add(1)
				t.Errorf("start %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	versions := schemaVersions(t, url)
	if n := migrationCount(t); len(versions) != n || versions[n-1] != n {
		t.Errorf("schema_migrations holds %v, want 1..%d", versions, n)
	}
	// And once more, with nothing left to do, and with a URL that also
	// configures the pool, as the one shared with Open may.
	if err := postgres.Migrate(t.Context(), withParam(t, url, "pool_max_conns", "8")); err != nil {
		t.Errorf("Migrate of a migrated database: %v", err)
	}
}

// TestReopen checks that data survives Close and Open, that a node that
// opens later sees what another stored, and that the sequence goes on.
func TestReopen(t *testing.T) {
	f := newFixture(t, 1)
	ctx := t.Context()
	res, err := f.nodes[0].Post(ctx, []hanashi.Post{{Room: f.room.ID, Author: f.user.ID, ClientID: "c1", Body: "hello"}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("Post: %v, %+v", err, res)
	}
	f.nodes[0].Close()
	for i := range 2 {
		db := open(t, f.url)
		if u, err := db.User(ctx, f.user.ID); err != nil || u != f.user {
			t.Errorf("open %d: User = %+v, %v; want %+v", i, u, err, f.user)
		}
		msgs, err := db.Messages(ctx, f.room.ID, hanashi.Page{})
		if err != nil || len(msgs) != i+1 || !reflect.DeepEqual(msgs[0], res[0].Message) {
			t.Errorf("open %d: Messages = %+v, %v; want %d starting with %+v", i, msgs, err, i+1, res[0].Message)
		}
		r, err := db.Post(ctx, []hanashi.Post{{Room: f.room.ID, Author: f.user.ID, ClientID: fmt.Sprint("after reopen ", i), Body: "again"}})
		if err != nil || r[0].Message.Seq != int64(i+2) {
			t.Errorf("open %d: Post = %+v, %v; want seq %d", i, r, err, i+2)
		}
		db.Close()
	}
}

// TestNewerSchemaVersionRefused checks that a database migrated by a newer
// build (its recorded version bumped by hand) is refused by Open and by
// Migrate rather than used, with an error that tells the operator what to do.
func TestNewerSchemaVersionRefused(t *testing.T) {
	needPostgres(t)
	url := testpeer.PostgresDB(t)
	if err := postgres.Migrate(t.Context(), url); err != nil {
		t.Fatal(err)
	}
	n := migrationCount(t)
	admin(t, url, `INSERT INTO schema_migrations (version) VALUES ($1)`, n+1)
	want := fmt.Sprintf("database schema version %d is newer than this hanashi understands (%d): upgrade hanashi", n+1, n)
	if db, err := postgres.Open(t.Context(), url); err == nil {
		db.Close()
		t.Errorf("Open of a database with a newer schema succeeded, want an error")
	} else if !strings.Contains(err.Error(), want) {
		t.Errorf("Open of a database with a newer schema: %v, want an error that says %q", err, want)
	}
	if err := postgres.Migrate(t.Context(), url); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Migrate of a database with a newer schema: %v, want an error that says %q", err, want)
	}
}

// TestOpenWithoutDDLRights opens a migrated database as a role that may
// read and write the tables but not create any, as a deployment that
// migrates with a separate role would.
func TestOpenWithoutDDLRights(t *testing.T) {
	server := needPostgres(t)
	url := testpeer.PostgresDB(t)
	if err := postgres.Migrate(t.Context(), url); err != nil {
		t.Fatal(err)
	}
	role := "app_" + hanashi.NewID()[:12]
	admin(t, server, `CREATE ROLE `+role+` LOGIN`)
	t.Cleanup(func() {
		admin(t, url, `DROP OWNED BY `+role)
		admin(t, server, `DROP ROLE `+role)
	})
	admin(t, url, `REVOKE CREATE ON SCHEMA public FROM PUBLIC`)
	admin(t, url, `GRANT USAGE ON SCHEMA public TO `+role)
	admin(t, url, `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO `+role)
	admin(t, url, `GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO `+role)

	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.User(role)
	db := open(t, u.String())
	alice, err := db.CreateUser(t.Context(), hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRoom(t.Context(), hanashi.NewRoom{Name: "lobby", Creator: alice.ID}); err != nil {
		t.Fatal(err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", testpeer.FreePort(t))
	if db, err := postgres.Open(t.Context(), url); err == nil {
		db.Close()
		t.Errorf("Open of a server that is not there succeeded")
	}
	if err := postgres.Migrate(t.Context(), url); err == nil {
		t.Errorf("Migrate of a server that is not there succeeded")
	}
	if _, err := postgres.Open(t.Context(), "postgres://%zz"); err == nil {
		t.Errorf("Open of a malformed URL succeeded")
	}
}

// TestConnectionsClosed cuts the store off: the server ends its sessions
// and refuses new ones. Calls must fail with an error, and work again once
// the database is back.
func TestConnectionsClosed(t *testing.T) {
	f := newFixture(t, 1)
	db, ctx := f.nodes[0], t.Context()
	post := func(clientID string) ([]hanashi.PostResult, error) {
		return db.Post(ctx, []hanashi.Post{{Room: f.room.ID, Author: f.user.ID, ClientID: clientID, Body: "x"}})
	}
	if _, err := post("before"); err != nil {
		t.Fatal(err)
	}

	server, name := needPostgres(t), dbName(t, f.url)
	admin(t, server, `ALTER DATABASE `+name+` WITH ALLOW_CONNECTIONS false`)
	t.Cleanup(func() { admin(t, server, `ALTER DATABASE `+name+` WITH ALLOW_CONNECTIONS true`) })
	admin(t, server, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name)
	waitNoSessions(t, server, name)

	if res, err := post("while closed"); err == nil {
		t.Errorf("Post with the connections closed = %+v, want an error", res)
	}
	if err := db.Ping(ctx); err == nil {
		t.Errorf("Ping with the connections closed succeeded")
	}
	if _, err := db.LastSeq(ctx, f.room.ID); err == nil {
		t.Errorf("LastSeq with the connections closed succeeded")
	}

	admin(t, server, `ALTER DATABASE `+name+` WITH ALLOW_CONNECTIONS true`)
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after the database came back: %v", err)
	}
	res, err := post("after")
	if err != nil || res[0].Message.Seq != 2 {
		t.Errorf("Post after the database came back = %+v, %v; want seq 2", res, err)
	}
}

// TestServerRestart crashes a private server under the store: acknowledged
// posts must survive, calls fail while it is down, and the store recovers
// when it is back.
func TestServerRestart(t *testing.T) {
	pg := testpeer.StartPostgres(t)
	url := testpeer.CreateDB(t, pg.URL())
	db := open(t, url)
	ctx := t.Context()
	u, err := db.CreateUser(ctx, hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.CreateRoom(ctx, hanashi.NewRoom{Name: "lobby", Creator: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	var batch []hanashi.Post
	for i := range 10 {
		batch = append(batch, hanashi.Post{Room: r.ID, Author: u.ID, ClientID: fmt.Sprint(i), Body: "x"})
	}
	if _, err := db.Post(ctx, batch); err != nil {
		t.Fatal(err)
	}

	pg.Stop("immediate")
	if _, err := db.Post(ctx, batch[:1]); err == nil {
		t.Errorf("Post with the server down succeeded")
	}
	pg.Start()

	res, err := db.Post(ctx, append(batch, hanashi.Post{Room: r.ID, Author: u.ID, ClientID: "new", Body: "x"}))
	if err != nil {
		t.Fatalf("Post after the restart: %v", err)
	}
	for i, x := range res {
		if want := i < 10; x.Err != nil || x.Created == want || x.Message.Seq != int64(i+1) {
			t.Errorf("post %d after the restart = %+v, want seq %d and Created %v", i, x, i+1, !want)
		}
	}
}

// TestPostCanceled checks that a batch whose context has ended fails and
// stores nothing.
func TestPostCanceled(t *testing.T) {
	f := newFixture(t, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.nodes[0].Post(ctx, []hanashi.Post{{Room: f.room.ID, Author: f.user.ID, ClientID: "1", Body: "x"}}); err == nil {
		t.Errorf("Post with a canceled context succeeded")
	}
	if seq, err := f.nodes[0].LastSeq(t.Context(), f.room.ID); err != nil || seq != 0 {
		t.Errorf("LastSeq = %d, %v; want 0", seq, err)
	}
}

// TestClock checks that the injected clock stamps records and decides
// whether a session has expired.
func TestClock(t *testing.T) {
	needPostgres(t)
	db := open(t, testpeer.PostgresDB(t))
	storetest.Clock(t, db, time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC), func(now time.Time) { db.Now = func() time.Time { return now } })
}

// TestTimesRoundTrip checks that the times the store returns are in UTC and
// equal, to the nanosecond, what it reads back later: PostgreSQL keeps
// microseconds, so that is what the store returns.
func TestTimesRoundTrip(t *testing.T) {
	needPostgres(t)
	ctx := t.Context()
	db := open(t, testpeer.PostgresDB(t))
	local := time.FixedZone("JST", 9*60*60)
	now := time.Date(2026, 11, 23, 9, 31, 0, 123456789, local)
	db.Now = func() time.Time { return now }

	u, err := db.CreateUser(ctx, hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != u || got.CreatedAt.Location() != time.UTC || got.CreatedAt.Nanosecond() != 123456000 {
		t.Errorf("User = %+v, want %+v with CreatedAt in UTC to the microsecond", got, u)
	}

	r, err := db.CreateRoom(ctx, hanashi.NewRoom{Name: "lobby", Creator: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if rr, err := db.Room(ctx, r.ID, u.ID); err != nil || rr != r {
		t.Errorf("Room = %+v, %v; want %+v", rr, err, r)
	}
	res, err := db.Post(ctx, []hanashi.Post{{Room: r.ID, Author: u.ID, ClientID: "1", Body: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := db.Messages(ctx, r.ID, hanashi.Page{})
	if err != nil || len(msgs) != 1 || !reflect.DeepEqual(msgs[0], res[0].Message) || !msgs[0].CreatedAt.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("Messages = %+v, %v; want exactly %+v", msgs, err, res[0].Message)
	}
	// A retry returns the stored time, read back from the database.
	again, err := db.Post(ctx, []hanashi.Post{{Room: r.ID, Author: u.ID, ClientID: "1", Body: "x"}})
	if err != nil || again[0].Created || !reflect.DeepEqual(again[0].Message, res[0].Message) {
		t.Errorf("retry = %+v, %v; want exactly %+v", again, err, res[0].Message)
	}
}

func TestCreateSessionInvalid(t *testing.T) {
	f := newFixture(t, 1)
	db, ctx := f.nodes[0], t.Context()
	for _, c := range []struct {
		what string
		s    hanashi.Session
		code string
	}{
		{"no token hash", hanashi.Session{User: f.user.ID, ExpiresAt: time.Now().Add(time.Hour)}, hanashi.EINVALID},
		{"zero ExpiresAt", hanashi.Session{TokenHash: []byte("x"), User: f.user.ID}, hanashi.EINVALID},
		{"unknown user", hanashi.Session{TokenHash: []byte("y"), User: "nobody", ExpiresAt: time.Now().Add(time.Hour)}, hanashi.ENOTFOUND},
		{"user id that is not text", hanashi.Session{TokenHash: []byte("z"), User: "\x00", ExpiresAt: time.Now().Add(time.Hour)}, hanashi.ENOTFOUND},
	} {
		if err := db.CreateSession(ctx, c.s); hanashi.ErrorCode(err) != c.code {
			t.Errorf("CreateSession with %s: %v, want code %s", c.what, err, c.code)
		}
	}
}

// TestTextNotStorable checks that what PostgreSQL cannot store in a text
// column (NUL characters, invalid UTF-8) is refused with EINVALID, or not
// found when it is an id, and never fails a batch for the other posts.
func TestTextNotStorable(t *testing.T) {
	f := newFixture(t, 1)
	db, ctx := f.nodes[0], t.Context()
	if _, err := db.CreateUser(ctx, hanashi.User{Name: "nul\x00"}); hanashi.ErrorCode(err) != hanashi.EINVALID {
		t.Errorf("CreateUser with a NUL in the name: %v, want %s", err, hanashi.EINVALID)
	}
	if _, err := db.CreateRoom(ctx, hanashi.NewRoom{Name: "\xff", Creator: f.user.ID}); hanashi.ErrorCode(err) != hanashi.EINVALID {
		t.Errorf("CreateRoom with invalid UTF-8: %v, want %s", err, hanashi.EINVALID)
	}
	if _, err := db.User(ctx, "\x00"); hanashi.ErrorCode(err) != hanashi.ENOTFOUND {
		t.Errorf("User(NUL): %v, want %s", err, hanashi.ENOTFOUND)
	}
	if err := db.AddMember(ctx, f.room.ID, "\x00", f.user.ID); hanashi.ErrorCode(err) != hanashi.ENOTFOUND {
		t.Errorf("AddMember(NUL): %v, want %s", err, hanashi.ENOTFOUND)
	}
	if _, err := db.Rooms(ctx, "\xff"); err != nil {
		t.Errorf("Rooms(invalid UTF-8): %v", err)
	}

	results, err := db.Post(ctx, []hanashi.Post{
		{Room: f.room.ID, Author: f.user.ID, ClientID: "1", Body: "ok"},
		{Room: f.room.ID, Author: f.user.ID, ClientID: "2", Body: "nul \x00"},
		{Room: f.room.ID, Author: f.user.ID, ClientID: "\xff", Body: "bad client id"},
		{Room: f.room.ID, Author: "\x00", ClientID: "4", Body: "bad author"},
		{Room: f.room.ID, Author: f.user.ID, ClientID: "1", Body: "retry of 1 with a \x00"},
		{Room: f.room.ID, Author: f.user.ID, ClientID: "6", Body: "ok"},
	})
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	want := []struct {
		code string
		seq  int64
	}{{"", 1}, {hanashi.EINVALID, 0}, {hanashi.EINVALID, 0}, {hanashi.ENOTFOUND, 0}, {"", 1}, {"", 2}}
	for i, w := range want {
		if res := results[i]; hanashi.ErrorCode(res.Err) != w.code || res.Message.Seq != w.seq {
			t.Errorf("post %d = %+v, want code %q and seq %d", i, res, w.code, w.seq)
		}
	}
	checkSeqs(t, f.nodes, f.room.ID, 2)
}

// BenchmarkPost measures posts per second through Post, every commit
// synced to disk, for batches of 1, 16 and 128 into ten rooms by ten
// authors: from one poster (one node's committer) and from 100 at once
// (many nodes, or many connections).
func BenchmarkPost(b *testing.B) {
	for _, posters := range []int{1, 100} {
		for _, size := range []int{1, 16, 128} {
			b.Run(fmt.Sprintf("posters=%d/batch=%d", posters, size), func(b *testing.B) {
				benchmarkPost(b, posters, size)
			})
		}
	}
}

func benchmarkPost(b *testing.B, posters, size int) {
	needPostgres(b)
	ctx := b.Context()
	url := testpeer.PostgresDB(b)
	if posters > 1 {
		// Enough connections for the posters to be waiting on the
		// database, not on the pool.
		url = withParam(b, url, "pool_max_conns", "32")
	}
	db := open(b, url)
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
	var next atomic.Int64 // batches started
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := range posters {
		wg.Go(func() {
			batch := make([]hanashi.Post, size)
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				for i := range batch {
					k := (g + i) % len(rooms)
					batch[i] = hanashi.Post{Room: rooms[k], Author: authors[k], ClientID: fmt.Sprintf("%d/%d/%d", g, n, i), Body: body}
				}
				results, err := db.Post(ctx, batch)
				if err != nil {
					b.Error(err)
					return
				}
				for _, res := range results {
					if res.Err != nil || !res.Created {
						b.Errorf("Post: %+v", res)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "posts/s")
}

// TestChatTwoNodes runs the conformance suite's concurrent chat cases with
// two nodes sharing one database: random batches of every kind of event,
// unread counts during a burst with readers on both nodes, and direct rooms
// asked for from both at once.
func TestChatTwoNodes(t *testing.T) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, nodes ...hanashi.Store)
	}{
		{"RandomChat", storetest.RandomChat},
		{"UnreadBurst", storetest.UnreadBurst},
		{"DirectRoomRace", storetest.DirectRoomRace},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, 2)
			c.fn(t, f.nodes[0], f.nodes[1])
		})
	}
}
