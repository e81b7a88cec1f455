//go:build linux

package netpoll

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// echoConn writes back what it reads, and records what the loop told it.
type echoConn struct {
	Conn
	mu      sync.Mutex
	pending [][]byte
	hungUp  bool
	closed  chan struct{}
}

func (c *echoConn) Input(data []byte) bool {
	if data != nil { // nil: handle what is pending, which Output does
		c.mu.Lock()
		c.pending = append(c.pending, append([]byte(nil), data...))
		c.mu.Unlock()
	}
	c.Wake()
	return true
}

func (c *echoConn) Output() ([][]byte, bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	frames := c.pending
	c.pending = nil
	return frames, false, c.hungUp
}

func (*echoConn) Ping() {}
func (*echoConn) Idle() {}

func (c *echoConn) Hangup() {
	c.mu.Lock()
	c.hungUp = true
	c.mu.Unlock()
	c.Wake()
}

func (c *echoConn) Closed() { close(c.closed) }

// A connection's input reaches its Handler, what its Output returns goes
// out, and once the peer closes the connection is hung up and torn down;
// the closed loop then ends, and takes no new connection.
func TestLoopLifecycle(t *testing.T) {
	l := New(Config{PingInterval: time.Minute})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	far, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := &echoConn{closed: make(chan struct{})}
	if err := l.Attach(&c.Conn, nc.(*net.TCPConn), c); err != nil {
		t.Fatal(err)
	}
	c.pending = [][]byte{[]byte("hello ")}
	if err := c.Start(true); err != nil {
		t.Fatal(err)
	}
	far.Write([]byte("world"))
	far.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len("hello world"))
	if _, err := io.ReadFull(far, got); err != nil || string(got) != "hello world" {
		t.Fatalf("echo = %q, %v", got, err)
	}

	l.Close() // a connection is still served: the loop goes on
	select {
	case <-l.done:
		t.Fatal("the loop ended with a connection on it")
	default:
	}
	far.(*net.TCPConn).CloseWrite()
	select {
	case <-c.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection was not torn down after the peer closed")
	}
	if n, err := far.Read(got); n != 0 || err == nil {
		t.Fatalf("after the hangup the peer read %d bytes, %v; want EOF", n, err)
	}
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the closed loop did not end with its last connection")
	}
	if err := l.Attach(&Conn{}, nc.(*net.TCPConn), c); !errors.Is(err, ErrClosed) {
		t.Fatalf("Attach after Close = %v, want ErrClosed", err)
	}
}

// A loop closed before any connection never starts.
func TestLoopCloseUnstarted(t *testing.T) {
	l := New(Config{})
	l.Close()
	if err := l.Attach(&Conn{}, nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Attach after Close = %v, want ErrClosed", err)
	}
	if l.started {
		t.Fatal("the loop started")
	}
}
