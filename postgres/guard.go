package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The guards below bound how long a session that stopped talking in the
// middle of a transaction can hold its locks. The case they are for: a node
// cut off from the database while its batch is on the wire. Post sends the
// batch as one pipeline; if the server received the room lock but not the
// rest, the backend holds the rooms' row locks and waits for the client in
// ClientRead, in state 'active', where neither
// idle_in_transaction_session_timeout nor statement_timeout runs. Every
// other node then waits for those rooms. On a real partition TCP keepalives
// end the backend (after about two hours with the server's defaults); behind
// a middlebox that keeps the socket open, nothing does before PostgreSQL
// 17's transaction_timeout. So the store shortens the keepalives, makes lock
// waits fail, and Post ends such sessions itself (see reapStuck).
//
// Every value may be set otherwise in the URL, directly or in its options
// (or through PGOPTIONS and PGAPPNAME): configure only sets what the URL
// leaves unset. The startup message wins over a role's or a database's
// defaults (ALTER ROLE ... SET), so those do not change these.

// appName is the application_name of the store's sessions when the URL
// names none. reapStuck ends only the sessions of its own application
// name, so a psql or a migration tool logged in as the same role is never
// taken for a stuck node.
const appName = "hanashi"

const (
	// idleInTransactionTimeout, 5 s, ends a session whose open transaction
	// has waited that long for its next statement. The store's transactions
	// never wait on the client for more than a round trip, so only a dead
	// or stalled client reaches it. It does not end a backend stuck in the
	// middle of a pipeline, which is 'active'; lockTimeout and reapStuck
	// are for that one.
	idleInTransactionTimeout = 5 * time.Second

	// lockTimeout, 1 s, fails a statement that has waited that long for a
	// lock. The store holds each lock for one short transaction, a few
	// milliseconds even when many batches queue on a room, so a wait that
	// long means the holder is stuck. Post, and every transaction of the
	// store that takes locks, then ends stuck sessions and runs again (see
	// again); a lone statement fails with the error rather than hang. It
	// is well below a node's commit timeout (5 s by default), so
	// that a batch blocked by a stuck session has the time to end it and
	// commit before its senders are told to resend.
	lockTimeout = time.Second

	// statementTimeout, 10 s, fails a statement that has run that long.
	// Every statement of the store is a lookup by key or a batch that takes
	// milliseconds, so one that runs for ten seconds is stuck, and failing
	// it frees its locks and its connection. Migrations lift it (see
	// liftTimeouts): they may rewrite tables and wait for each other.
	statementTimeout = 10 * time.Second

	// transactionTimeout, 10 s, ends a session whose transaction has lasted
	// that long, which covers the backend stuck in the middle of a
	// pipeline without Post's help. The store's transactions last
	// milliseconds, and Post runs each attempt in a transaction of its own.
	// Only PostgreSQL 17 and later know the setting, and an older server
	// refuses a connection whose startup message names it, so afterConnect
	// sets it, once it knows the server's version.
	transactionTimeout = 10 * time.Second

	// keepAliveIdle, keepAliveInterval and keepAliveCount: the server and
	// the client probe a connection that has been silent for 5 s, every
	// 2 s, and give up after 3 probes go unanswered, so each notices a peer
	// lost to a partition in about 11 s, where the defaults take two hours
	// (the server's, from the kernel) or two and a half minutes (Go's). It
	// costs an idle connection one small packet every 5 s.
	keepAliveIdle     = 5 * time.Second
	keepAliveInterval = 2 * time.Second
	keepAliveCount    = 3

	// tcpUserTimeout, 10 s, has the server's kernel drop a connection whose
	// sent data has gone unacknowledged that long, which keepalives do not
	// cover: they only probe a connection with nothing in flight, such as a
	// result the server is writing to a node that is gone. On Linux it also
	// decides when the keepalive probes give up, at the first one after
	// 10 s of silence, which is still the 11 s above.
	tcpUserTimeout = 10 * time.Second
)

// guards are the settings configure sends in the startup message, which
// costs no round trip; transactionTimeout is set by afterConnect instead.
var guards = []struct{ name, value string }{
	{"application_name", appName},
	{"idle_in_transaction_session_timeout", ms(idleInTransactionTimeout)},
	{"lock_timeout", ms(lockTimeout)},
	{"statement_timeout", ms(statementTimeout)},
	{"tcp_keepalives_idle", ms(keepAliveIdle)},
	{"tcp_keepalives_interval", ms(keepAliveInterval)},
	{"tcp_keepalives_count", strconv.Itoa(keepAliveCount)},
	{"tcp_user_timeout", ms(tcpUserTimeout)},
}

// ms writes d as a PostgreSQL time setting.
func ms(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// guard adds the guards cfg does not set, and has the client probe its
// connections as the server does.
//
// A call whose ctx ends does not wait for a hung statement: pgx's default
// context watcher, which the store keeps, sets the connection's deadline to
// now, so the call returns at once; pgx then closes the connection in the
// background, sending the server a cancel request and a Terminate first
// (for at most 15 s), and the pool opens another when one is needed. A
// backend waiting for the rest of a pipeline ends as soon as the socket
// closes, rolling its transaction back.
func guard(cfg *pgx.ConnConfig) {
	set := urlSettings(cfg.RuntimeParams)
	for _, g := range guards {
		if !set[g.name] {
			cfg.RuntimeParams[g.name] = g.value
		}
	}
	cfg.DialFunc = keepAlive(cfg.DialFunc)
}

// keepAlive wraps dial so that the TCP connections it makes probe a silent
// server as the guards have the server probe them. Wrapping rather than
// replacing the dialer keeps connect_timeout and any dialer set in code.
func keepAlive(dial pgconn.DialFunc) pgconn.DialFunc {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if tc, ok := c.(*net.TCPConn); ok {
			// A platform that cannot tune the probes keeps Go's (15 s,
			// every 15 s, 9 probes): no reason to refuse the connection.
			_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{
				Enable:   true,
				Idle:     keepAliveIdle,
				Interval: keepAliveInterval,
				Count:    keepAliveCount,
			})
		}
		return c, nil
	}
}

// urlSettings returns the names of the server settings that params, the
// run-time parameters pgx parsed from the URL and the environment, set:
// directly, or with -c name=value or --name=value in options.
func urlSettings(params map[string]string) map[string]bool {
	set := make(map[string]bool, len(params))
	for k := range params {
		set[strings.ToLower(k)] = true
	}
	words := optionWords(params["options"])
	for i := 0; i < len(words); i++ {
		w := words[i]
		var s string
		switch {
		case w == "-c" && i+1 < len(words):
			i++
			s = words[i]
		case strings.HasPrefix(w, "--"):
			s = w[2:]
		case strings.HasPrefix(w, "-c"):
			s = w[2:]
		default:
			continue
		}
		if name, _, ok := strings.Cut(s, "="); ok {
			// As the server reads them: dashes stand for underscores,
			// and names ignore case.
			set[strings.ToLower(strings.ReplaceAll(name, "-", "_"))] = true
		}
	}
	return set
}

// optionWords splits options as the server does: at white space, where a
// backslash makes the next character part of the word.
func optionWords(options string) []string {
	var (
		words []string
		w     strings.Builder
		in    bool
	)
	for i := 0; i < len(options); i++ {
		c := options[i]
		switch {
		case c == '\\' && i+1 < len(options):
			i++
			w.WriteByte(options[i])
			in = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// afterConnectQuery is what afterConnect runs on a connection of cfg, in
// one round trip: it turns synchronous_commit back on if the server or the
// database turned it off (every other value already waits for the local
// disk), and sets transactionTimeout on servers that know it, unless the
// URL sets it. A CASE evaluates set_config only when its condition holds:
// set_config is volatile, so it is never folded ahead of time.
func afterConnectQuery(cfg *pgx.ConnConfig) string {
	q := `SELECT CASE WHEN current_setting('synchronous_commit') = 'off'
		THEN set_config('synchronous_commit', 'on', false) END`
	if !urlSettings(cfg.RuntimeParams)["transaction_timeout"] {
		q += `, CASE WHEN current_setting('server_version_num')::integer >= 170000
		THEN set_config('transaction_timeout', '` + ms(transactionTimeout) + `', false) END`
	}
	return q
}

// liftTimeouts turns the timeouts of the guards off for the rest of a
// migration's transaction (SET LOCAL, so the session has them back once it
// ends): a migration waits for any other node's to finish, may wait for
// locks that nodes of the previous build hold for a moment, and may rewrite
// whole tables. It needs no idle timeout lifted: it never waits on its
// client.
const liftTimeouts = `SELECT set_config('statement_timeout', '0', true), set_config('lock_timeout', '0', true),
	CASE WHEN current_setting('server_version_num')::integer >= 170000
		THEN set_config('transaction_timeout', '0', true) END`

// stuckAfter is how long a session must have waited on its client inside a
// transaction for reapStuck to end it: as long as the lock wait that sent
// Post looking. A live node's sessions never wait on it for more than a
// round trip, a pipeline's messages following each other at once, and if a
// node is so stalled that one does wait 1 s, ending its transaction costs it
// a failed call, where waiting costs every node the room.
const stuckAfter = lockTimeout

// reapQuery ends the sessions of the store's application (its database,
// role and application name) that are stuck in a transaction waiting on
// their client. A role may end its own sessions without any privilege, and
// pg_stat_activity shows a role the state of its own sessions only, so a
// deployment's role finds and ends what it should and nothing else.
// pg_terminate_backend only signals; the backend rolls back and releases
// its locks a moment later, and the batch that runs next queues for them.
var reapQuery = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE datname = current_database() AND usename = session_user
		AND application_name = current_setting('application_name')
		AND pid <> pg_backend_pid() AND backend_type = 'client backend'
		AND xact_start IS NOT NULL
		AND wait_event_type = 'Client' AND wait_event IN ('ClientRead', 'ClientWrite')
		AND state_change < now() - interval '` + ms(stuckAfter) + `'`

// reapStuck ends the store's sessions that are stuck in a transaction (see
// reapQuery), for a batch that gave up waiting for a lock one of them may
// hold.
func (db *DB) reapStuck(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, reapQuery); err != nil {
		return fmt.Errorf("end stuck sessions: %w", err)
	}
	return nil
}

// again reports whether a transaction that failed with err may simply run
// again: it lost a race with another (see retryable), or it gave up
// waiting for a lock, which a session stuck on its client may hold: those
// are ended first (reapStuck). Every transaction of the store that takes
// locks (Post, inTx, revokeNow) runs again through it, so that no stuck
// session holds up sign-ins, claims or revocations either. A failure to
// reap is added to err.
func (db *DB) again(ctx context.Context, err error) (bool, error) {
	if !lockTimedOut(err) {
		return retryable(err), err
	}
	if rerr := db.reapStuck(ctx); rerr != nil {
		return false, fmt.Errorf("%w; %w", err, rerr)
	}
	return true, err
}

// lockTimedOut reports whether err is a statement that gave up waiting for
// a lock after lockTimeout.
func lockTimedOut(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03" // lock_not_available
}
