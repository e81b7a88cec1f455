//go:build linux

package netpoll

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// hubConn is a connection whose output is a hub client's queue, as web's
// WebSocket connections are: the benchmark measures what a delivery costs
// the server, hub included.
type hubConn struct {
	Conn
	client *hub.Client
}

func (*hubConn) Input([]byte) bool { return true }
func (c *hubConn) Output() ([][]byte, bool, bool) {
	frames, busy, err := c.client.TakeMore()
	return frames, busy, err != nil
}
func (*hubConn) Ping()   {}
func (*hubConn) Idle()   {}
func (*hubConn) Hangup() {}
func (*hubConn) Closed() {}

// testConn makes a hubConn for nc on loop l (not started: only what the
// flusher uses is set) and flusher f.
func testConn(l *Loop, f *flusher, nc net.Conn, client func(ready func()) *hub.Client) *hubConn {
	rc, _ := nc.(*net.TCPConn).SyscallConn()
	var fd int
	rc.Control(func(p uintptr) { fd = int(p) })
	c := &hubConn{}
	c.loop, c.f, c.h, c.tc, c.rc, c.fd = l, f, c, nc.(*net.TCPConn), rc, int32(fd)
	c.client = client(c.Wake)
	return c
}

// BenchmarkFlush is a flusher's cycle over 1000 loopback connections: a
// frame queued to each, then each written with its writev, as for one
// message to a room of 1000. The far ends are drained by goroutines of
// their own. An op is one cycle; see ns/write. On loopback most of it is
// the kernel's TCP, which is why the flusher paces its writes.
func BenchmarkFlush(b *testing.B) {
	const n = 1000
	h := hub.New(hub.Config{})
	defer h.Close(context.Background())
	l := New(Config{})
	f := newFlusher(time.Second, nil) // its goroutine is not started: flush is called here

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	conns := make([]*hubConn, n)
	for i := range conns {
		far, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer far.Close()
		go io.Copy(io.Discard, far)
		nc, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		conns[i] = testConn(l, f, nc, func(func()) *hub.Client { return h.NewClient(func() {}) })
	}
	frame := make([]byte, 355) // what a chat message takes, frame included
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range conns {
			c.client.Push(frame)
			c.flush(f)
			if c.stalled.Load() || len(c.out) > 0 {
				b.Fatal("the socket did not take one frame")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/write")
}

// A batch the socket cannot take at once is finished by a goroutine of its
// own while the flusher moves on, then the connection goes back to the
// flusher; frames stay in order.
func TestFlushStalls(t *testing.T) {
	h := hub.New(hub.Config{QueueBytes: 16 << 20})
	defer h.Close(context.Background())
	// Generous bounds: with 10 s, one loaded -race run of the whole suite
	// found the far end without a byte for 10 s after 1.5 MB (not seen in
	// 130 runs since, alone or with both cores busy); the 4 MB take well
	// under a second alone. A failure at 30 s is no slowness: look for a
	// lost wake-up of the flusher after finishWrite.
	l := New(Config{WriteTimeout: 30 * time.Second})
	done := make(chan struct{})
	defer close(done)
	f := newFlusher(time.Millisecond, done)
	go f.run()

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
	far.(*net.TCPConn).SetReadBuffer(16 << 10)
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.(*net.TCPConn).SetWriteBuffer(16 << 10)
	c := testConn(l, f, nc, h.NewClient)
	f.assign(&c.Conn)

	// 4 MB in frames of 1000 bytes numbered 0..3999, more than both
	// sockets hold: the write stalls until the far end reads.
	const frames, size = 4000, 1000
	for i := range frames {
		b := make([]byte, size)
		b[0], b[1] = byte(i>>8), byte(i)
		c.client.Push(b)
	}
	testutil.Eventually(t, 10*time.Second, "the write to stall", c.stalled.Load)
	// More while stalled, then read everything.
	for i := frames; i < frames+10; i++ {
		b := make([]byte, size)
		b[0], b[1] = byte(i>>8), byte(i)
		c.client.Push(b)
	}
	far.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, size)
	for i := range frames + 10 {
		if _, err := io.ReadFull(far, buf); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got := int(buf[0])<<8 | int(buf[1]); got != i {
			t.Fatalf("frame %d arrived as %d", i, got)
		}
	}
	// The last bytes can reach the far end just before finishWrite hands
	// the connection back, so give it a moment to do so.
	testutil.Eventually(t, 10*time.Second, "the stall to end once everything was read", func() bool { return !c.stalled.Load() })
}
