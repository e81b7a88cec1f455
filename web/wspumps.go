package web

// The goroutine path: a connection the event loop does not serve (TLS,
// systems other than Linux) has a read pump and a write pump of its own.

import (
	"context"
	"io"
	"net"
	"time"

	"github.com/hanashi-chat/hanashi/websocket"
)

// serve runs the connection until it closes.
func (c *conn) serve() {
	defer c.s.unregister(c)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.writeLoop(ctx)

	ping := time.AfterFunc(c.s.cfg.PingInterval, c.ping)
	defer ping.Stop()

	idle := c.s.cfg.PingInterval*2 + c.s.cfg.PingInterval/2
	c.ws.ReadLimit = maxFrame
	c.ws.OnPing = func(p []byte) {
		c.nc.SetReadDeadline(time.Now().Add(idle))
		c.pong(p)
	}
	c.ws.OnPong = func([]byte) {
		c.nc.SetReadDeadline(time.Now().Add(idle))
	}
	c.readLoop(ctx, idle)

	// Wait for the writer's close frame, then read until the peer closes
	// too (or a short linger passes): closing a socket with unread input
	// resets it, and the peer would lose our close frame.
	<-c.writerEnd
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	io.Copy(io.Discard, io.LimitReader(c.nc, 1<<20))
	c.nc.Close()
	c.client.Close(nil)
	c.logClosed()
}

// ping queues a ping and re-arms itself while the connection lives.
func (c *conn) ping() {
	if c.client.Push(pingFrame) {
		time.AfterFunc(c.s.cfg.PingInterval, c.ping)
	}
}

// readLoop handles frames until the connection fails or closes.
func (c *conn) readLoop(ctx context.Context, idle time.Duration) {
	for {
		c.nc.SetReadDeadline(time.Now().Add(idle))
		op, p, err := c.ws.NextMessage()
		if err != nil {
			c.closeForError(err)
			return
		}
		if !c.message(ctx, op, p) {
			return
		}
	}
}

// writeLoop writes queued frames, coalescing everything queued since the
// last write into one buffer and one syscall. When the client ends it
// writes the close frame that says why.
func (c *conn) writeLoop(ctx context.Context) {
	defer close(c.writerEnd)
	var bufs net.Buffers
	for {
		frames, err := c.client.Next(ctx)
		if err != nil {
			c.writeClose(err)
			return
		}
		// One writev for the whole batch: the frames are shared with other
		// subscribers and are not copied.
		bufs = append(bufs[:0], frames...)
		c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
		w := bufs // WriteTo consumes its receiver; keep bufs for reuse
		_, err = w.WriteTo(c.nc)
		clear(bufs)
		if err != nil {
			c.closeWith(0, "")
			c.nc.Close() // unblocks the reader
			return
		}
		if cap(bufs) > 1024 {
			bufs = nil // do not pin a burst's slice to an idle connection
		}
	}
}

// writeClose sends the close frame for why the client ended and half-closes
// the socket.
func (c *conn) writeClose(err error) {
	if code, reason := c.closeCode(err); code != 0 {
		c.nc.SetWriteDeadline(time.Now().Add(lingerTime))
		c.nc.Write(websocket.AppendClose(nil, code, reason))
	}
	if tc, ok := c.nc.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	} else {
		c.nc.Close()
	}
	// The reader may be waiting for a peer that never answers.
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
}
