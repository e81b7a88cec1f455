// Package testpeer gives tests the real servers they run against:
// PostgreSQL, Redis, Mailpit (SMTP) and Dex (OpenID Connect).
// ./scripts/test starts one shared PostgreSQL, Redis and Mailpit on loopback
// and exports their URLs; tests that must stop or restart a server (fault
// tests), and every test that needs Dex, start a private one from the
// binaries the script also exports.
//
// Without the script the helpers skip the test and say which variable is
// missing, so plain `go test ./...` still passes.
package testpeer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testutil"
	"github.com/jackc/pgx/v5"
)

// Environment variables set by ./scripts/test.
const (
	// EnvPostgres is the URL of a PostgreSQL server on which the tests may
	// create and drop databases.
	EnvPostgres = "HANASHI_TEST_POSTGRES_URL"
	// EnvRedis is the URL of a Redis server the tests share.
	EnvRedis = "HANASHI_TEST_REDIS_URL"
	// EnvPGBin is the directory holding initdb, pg_ctl and postgres.
	EnvPGBin = "HANASHI_TEST_PGBIN"
	// EnvRedisServer is the path of the redis-server binary.
	EnvRedisServer = "HANASHI_TEST_REDIS_SERVER"
	// EnvDex is the path of the dex binary, an OpenID Connect provider.
	EnvDex = "HANASHI_TEST_DEX"
	// EnvSMTP is the smtp:// URL of the shared Mailpit.
	EnvSMTP = "HANASHI_TEST_SMTP_URL"
	// EnvMailpitURL is the http:// URL of the shared Mailpit's API.
	EnvMailpitURL = "HANASHI_TEST_MAILPIT_URL"
	// EnvMailpit is the path of the mailpit binary.
	EnvMailpit = "HANASHI_TEST_MAILPIT"
)

func need(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skipf("skipped: %s is not set; ./scripts/test starts the real server and sets it", name)
	}
	return v
}

// PostgresDB creates an empty database on the shared PostgreSQL server,
// drops it when the test ends, and returns its URL.
func PostgresDB(t testing.TB) string {
	t.Helper()
	return CreateDB(t, need(t, EnvPostgres))
}

// CreateDB creates an empty database on the server at serverURL, drops it
// when the test ends, and returns its URL.
func CreateDB(t testing.TB, serverURL string) string {
	t.Helper()
	name := "test_" + randomHex(8)
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("parsing %s: %v", serverURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisURL returns the URL of the shared Redis server. Redis pub/sub
// channels are global to a server, so tests sharing it must keep apart by
// channel prefix; Prefix gives each test its own.
func RedisURL(t testing.TB) string {
	t.Helper()
	return need(t, EnvRedis)
}

// Prefix returns a channel prefix no other test uses.
func Prefix() string { return "test-" + randomHex(6) + ":" }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Redis is a private redis-server that a test may stop, start, pause and
// resume.
type Redis struct {
	t      testing.TB
	bin    string
	dir    string
	port   int
	cmd    *exec.Cmd
	paused bool
}

// StartRedis starts a private Redis on a free loopback port, without
// persistence, and stops it when the test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{t: t, bin: need(t, EnvRedisServer), dir: t.TempDir(), port: FreePort(t)}
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// URL is the server's redis:// URL.
func (r *Redis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// Start starts the server (again) on the same port and waits until it
// accepts connections.
func (r *Redis) Start() {
	r.t.Helper()
	if r.cmd != nil {
		r.t.Fatal("testpeer: redis already running")
	}
	cmd := exec.Command(r.bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--dir", r.dir, "--save", "", "--appendonly", "no",
		"--protected-mode", "yes", "--loglevel", "warning")
	logf, err := os.OpenFile(filepath.Join(r.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	r.cmd = cmd
	waitPort(r.t, r.port, 10*time.Second)
}

// Kill stops the server at once (SIGKILL), as a crash would.
func (r *Redis) Kill() {
	if r.cmd == nil {
		return
	}
	if r.paused {
		// SIGKILL ends a stopped process too; resuming first keeps the
		// exit an ordinary one.
		r.cmd.Process.Signal(syscall.SIGCONT)
		r.paused = false
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}

// Pause freezes the server (SIGSTOP): it answers nothing, yet its sockets
// stay open and the kernel still acknowledges what clients send, as a
// server stuck in a long pause would. Only the clients' own timeouts can
// notice.
func (r *Redis) Pause() {
	r.t.Helper()
	if r.cmd == nil {
		r.t.Fatal("testpeer: redis is not running")
	}
	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		r.t.Fatalf("pausing redis-server: %v", err)
	}
	r.paused = true
}

// Resume lets a paused server go on (SIGCONT); it does nothing to a
// server that is not paused.
func (r *Redis) Resume() {
	r.t.Helper()
	if r.cmd == nil || !r.paused {
		return
	}
	if err := r.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		r.t.Fatalf("resuming redis-server: %v", err)
	}
	r.paused = false
}

// Restart kills the server and starts it again, empty.
func (r *Redis) Restart() {
	r.t.Helper()
	r.Kill()
	r.Start()
}

// Postgres is a private PostgreSQL cluster that a test may stop and start.
type Postgres struct {
	t    testing.TB
	bin  string
	dir  string
	port int
}

// StartPostgres creates a private cluster in a temporary directory, starts
// it on a free loopback port and stops it when the test ends. PostgreSQL
// refuses to run as root, so as root it runs as the postgres user.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p := &Postgres{t: t, bin: need(t, EnvPGBin), port: FreePort(t)}
	// The directory must belong to the user the server runs as, and every
	// directory above it must let that user through.
	dir, err := os.MkdirTemp("", "hanashi-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p.dir = filepath.Join(dir, "data")
	if err := os.Mkdir(p.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "postgres:", p.dir).CombinedOutput(); err != nil {
			t.Fatalf("chown postgres %s: %v\n%s", p.dir, err, out)
		}
	}
	p.run(filepath.Join(p.bin, "initdb"), "-D", p.dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	p.Start()
	t.Cleanup(func() { p.Stop("immediate") })
	return p
}

// URL is the URL of the cluster's postgres database.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Start starts the server and waits until it accepts connections.
func (p *Postgres) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=on -c synchronous_commit=on", p.port, p.dir)
	p.run(filepath.Join(p.bin, "pg_ctl"), "-D", p.dir, "-l", filepath.Join(p.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start")
}

// Stop stops the server with pg_ctl's mode: "immediate" is a crash (no
// checkpoint, recovery at the next start), "fast" a clean shutdown.
func (p *Postgres) Stop(mode string) {
	p.t.Helper()
	cmd := p.command(filepath.Join(p.bin, "pg_ctl"), "-D", p.dir, "-m", mode, "-w", "stop")
	cmd.Run() // already stopped is fine
}

// Log returns the server's log so far.
func (p *Postgres) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
	return string(b)
}

func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func (p *Postgres) run(name string, args ...string) {
	p.t.Helper()
	out, err := p.command(name, args...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

func waitPort(t testing.TB, port int, limit time.Duration) {
	t.Helper()
	testutil.EventuallyNil(t, limit, fmt.Sprintf("a listener on port %d", port), func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}
