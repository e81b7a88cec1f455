package testpeer_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testpeer"
)

// quiet is how long a test waits to see that nothing arrives.
const quiet = 200 * time.Millisecond

// backend is a TCP server on loopback whose accepted connections the test
// drives itself, to see exactly what the proxy passes on.
type backend struct {
	ln    net.Listener
	conns chan net.Conn
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{ln: ln, conns: make(chan net.Conn, 16)}
	go func() {
		defer close(b.conns)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range b.conns { // the ones nobody took
			c.Close()
		}
	})
	return b
}

// next returns the next connection the backend accepts.
func (b *backend) next(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-b.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("the backend accepted no connection")
		return nil
	}
}

// startEcho starts a server that sends back what it reads and closes its
// side when the client closes its own.
func startEcho(t *testing.T) string {
	t.Helper()
	b := startBackend(t)
	go func() {
		for c := range b.conns {
			go func() {
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	return b.ln.Addr().String()
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func send(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatalf("writing %q: %v", s, err)
	}
}

// expect reads exactly len(want) bytes from c and compares them.
func expect(t *testing.T, c net.Conn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	got := make([]byte, len(want))
	if n, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read %q, then: %v; want %q", got[:n], err, want)
	}
	if string(got) != want {
		t.Fatalf("read %q, want %q", got, want)
	}
}

// expectSilence checks that nothing, not even an end, arrives on c for a
// while.
func expectSilence(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(quiet))
	defer c.SetReadDeadline(time.Time{})
	b := make([]byte, 1)
	n, err := c.Read(b)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %q, %v; want nothing", b[:n], err)
	}
}

// expectEOF checks that c's peer closed its side, and that nothing came
// before.
func expectEOF(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	b := make([]byte, 1)
	if n, err := c.Read(b); err != io.EOF {
		t.Fatalf("read %q, %v; want EOF", b[:n], err)
	}
}

func TestProxyForwards(t *testing.T) {
	p := testpeer.StartProxy(t, startEcho(t))
	c := dial(t, p.Addr())
	send(t, c, "hello")
	expect(t, c, "hello")

	// A payload larger than the proxy's buffers and the sockets', both ways
	// at once.
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(i % 251)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(want)
		c.CloseWrite()
		errc <- err
	}()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echoed %d bytes, not the %d sent", len(got), len(want))
	}
}

func TestProxyPartition(t *testing.T) {
	b := startBackend(t)
	p := testpeer.StartProxy(t, b.ln.Addr().String())
	c := dial(t, p.Addr())
	send(t, c, "a")
	s := b.next(t)
	expect(t, s, "a")
	send(t, s, "b")
	expect(t, c, "b")

	p.Partition()
	for _, m := range []string{"1", "3", "5"} {
		send(t, c, m)
	}
	send(t, s, "2")
	send(t, s, "4")
	expectSilence(t, s)
	expectSilence(t, c)

	// A new connection is accepted and held: not refused, not closed, and
	// not passed on.
	c2 := dial(t, p.Addr())
	send(t, c2, "x")
	expectSilence(t, c2)
	select {
	case s2 := <-b.conns:
		t.Fatalf("the target got a connection from %v during the partition", s2.RemoteAddr())
	case <-time.After(quiet):
	}

	p.Heal()
	expect(t, s, "135")
	expect(t, c, "24")
	expect(t, b.next(t), "x")
	send(t, c, "after")
	expect(t, s, "after")
}

func TestProxyPartitionHoldsClose(t *testing.T) {
	b := startBackend(t)
	p := testpeer.StartProxy(t, b.ln.Addr().String())
	c := dial(t, p.Addr())
	send(t, c, "a")
	s := b.next(t)
	expect(t, s, "a")

	// One side closes with nothing else to send, the other after data.
	p.Partition()
	c.CloseWrite()
	expectSilence(t, s)
	send(t, s, "reply")
	s.(*net.TCPConn).CloseWrite()
	expectSilence(t, c)

	p.Heal()
	expectEOF(t, s)
	expect(t, c, "reply")
	expectEOF(t, c)
}

// TestProxyPartitionInterruptsWrite fills every buffer between the proxy
// and a target that does not read, so that the proxy is stuck in a write,
// and checks that Partition stops that write too, and that Heal delivers
// the rest without loss.
func TestProxyPartitionInterruptsWrite(t *testing.T) {
	b := startBackend(t)
	p := testpeer.StartProxy(t, b.ln.Addr().String())
	c := dial(t, p.Addr())
	send(t, c, "a")
	s := b.next(t)
	expect(t, s, "a")

	// Write until the client's own buffer is full: the proxy no longer
	// reads, because its write to s cannot finish.
	chunk := make([]byte, 64<<10)
	sent := 0
	for {
		for i := range chunk {
			chunk[i] = byte((sent + i) % 251)
		}
		c.SetWriteDeadline(time.Now().Add(quiet))
		n, err := c.Write(chunk)
		sent += n
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	done := make(chan struct{})
	go func() { p.Partition(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Partition did not return while the proxy was stuck writing")
	}

	// s gets what its socket already holds, then nothing.
	var got []byte
	buf := make([]byte, 1<<20)
	for {
		s.SetReadDeadline(time.Now().Add(quiet))
		n, err := s.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) >= sent {
		t.Fatalf("the target got all %d bytes during the partition", sent)
	}

	p.Heal()
	rest := make([]byte, sent-len(got))
	s.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(s, rest); err != nil {
		t.Fatalf("after Heal, read %d of %d bytes: %v", len(got), sent, err)
	}
	got = append(got, rest...)
	for i, v := range got {
		if v != byte(i%251) {
			t.Fatalf("byte %d of %d is %d, want %d", i, sent, v, i%251)
		}
	}
	c.CloseWrite()
	expectEOF(t, s)
}

// execute is a PostgreSQL Execute message: unnamed portal, no row limit.
const execute = "E\x00\x00\x00\x09\x00\x00\x00\x00\x00"

func TestProxyCutMidPipeline(t *testing.T) {
	b := startBackend(t)
	p := testpeer.StartProxy(t, b.ln.Addr().String())
	c := dial(t, p.Addr())
	p.CutMidPipeline()

	// While armed, chunks with no Execute, or one, pass untouched.
	send(t, c, "Q\x00\x00\x00\x0dSELECT 1\x00")
	s := b.next(t)
	expect(t, s, "Q\x00\x00\x00\x0dSELECT 1\x00")
	one := "B-bind-" + execute + "S\x00\x00\x00\x04"
	send(t, c, one)
	expect(t, s, one)
	send(t, s, "2C")
	expect(t, c, "2C")
	select {
	case <-p.Triggered():
		t.Fatal("triggered by a chunk without two Execute messages")
	default:
	}

	// A pipeline: the lock statement, then the rest.
	head := "B-lock-" + execute
	tail := "B-insert-" + execute + "B-update-" + execute + "S\x00\x00\x00\x04"
	send(t, c, head+tail)
	expect(t, s, head)
	select {
	case <-p.Triggered():
	case <-time.After(5 * time.Second):
		t.Fatal("the cut did not trigger")
	}
	expectSilence(t, s)
	send(t, s, "2C-lock")
	expectSilence(t, c)

	p.Heal()
	expect(t, s, tail)
	expect(t, c, "2C-lock")

	// The cut is one-shot.
	send(t, c, tail)
	expect(t, s, tail)
}

func TestProxyCloseAll(t *testing.T) {
	b := startBackend(t)
	p := testpeer.StartProxy(t, b.ln.Addr().String())
	var clients, servers []net.Conn
	for range 2 {
		c := dial(t, p.Addr())
		send(t, c, "a")
		s := b.next(t)
		expect(t, s, "a")
		clients, servers = append(clients, c), append(servers, s)
	}

	p.CloseAll()
	for _, c := range append(clients, servers...) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 1))
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("after CloseAll, read %d bytes, %v; want the connection closed", n, err)
		}
	}

	c := dial(t, p.Addr())
	send(t, c, "again")
	expect(t, b.next(t), "again")
}

func TestProxyURL(t *testing.T) {
	p := testpeer.StartProxy(t, "127.0.0.1:1")
	for _, tc := range []struct{ in, want string }{
		{"postgres://postgres@127.0.0.1:5432/test_1?sslmode=disable", "postgres://postgres@" + p.Addr() + "/test_1?sslmode=disable"},
		{"postgres://u:secret@localhost/db", "postgres://u:secret@" + p.Addr() + "/db"},
		{"redis://127.0.0.1:6379/0", "redis://" + p.Addr() + "/0"},
	} {
		if got := p.URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if !strings.HasPrefix(p.Addr(), "127.0.0.1:") {
		t.Errorf("Addr() = %q, want 127.0.0.1:PORT", p.Addr())
	}
}

func TestRedisPause(t *testing.T) {
	r := testpeer.StartRedis(t)
	addr := strings.TrimSuffix(strings.TrimPrefix(r.URL(), "redis://"), "/0")
	c := dial(t, addr)
	send(t, c, "PING\r\n")
	expect(t, c, "+PONG\r\n")

	r.Pause()
	send(t, c, "PING\r\n")
	expectSilence(t, c)
	c2 := dial(t, addr)
	send(t, c2, "PING\r\n")
	expectSilence(t, c2)

	r.Resume()
	expect(t, c, "+PONG\r\n")
	expect(t, c2, "+PONG\r\n")
	r.Pause() // Kill at cleanup resumes it
}
