package web

import (
	"context"
	"net"
	"slices"

	"github.com/hanashi-chat/hanashi/netpoll"
	"github.com/hanashi-chat/hanashi/websocket"
)

// A connection on the server's event loop (package netpoll) is a
// netpoll.Handler: the loop reads its input and writes its queue, and
// calls these methods; the protocol stays here.
var _ netpoll.Handler = (*conn)(nil)

// loopState is what a connection on the event loop keeps besides the
// loop's own state: the frame it is decoding.
type loopState struct {
	ev      netpoll.Conn
	dec     websocket.Decoder
	partial []byte // the start of a frame that has not fully arrived
}

// prepareLoop readies c to be served by the server's event loop, making
// its hub client, and reports whether it can be.
func (c *conn) prepareLoop(tc *net.TCPConn) bool {
	if err := c.s.loop.Attach(&c.ev, tc, c); err != nil {
		return false
	}
	c.dec.ReadLimit = maxFrame
	c.client = c.s.cfg.Hub.NewClient(c.ev.Wake)
	return true
}

// startLoop hands a registered connection to the event loop; buffered is
// what the client sent behind its handshake.
func (c *conn) startLoop(buffered []byte) {
	// Kept as the start of the input, so that it is handled first whichever
	// read comes first.
	c.partial = slices.Clone(buffered)
	if err := c.ev.Start(len(buffered) > 0); err != nil {
		c.s.log.ErrorContext(c.logContext(), "websocket: event loop", "err", err)
	}
}

// Input decodes and handles the frames in the incomplete frame kept from
// before (or sent behind the handshake) followed by data, and keeps what is left: the start of the next
// frame. After a close frame, a violation or a message that ends the
// connection, it reports false: the rest of the input is dropped.
func (c *conn) Input(data []byte) bool {
	// As on the goroutine path, nothing a frame starts is cancelled when
	// the connection closes: what can wait (a backlog, a full queue of
	// sends) also watches the hub client. A cancellable context would cost
	// every connection that ever subscribed a channel, since database/sql
	// watches it.
	ctx := context.Background()
	if len(c.partial) > 0 {
		data = append(c.partial, data...)
	}
	more := true
	for len(data) > 0 {
		op, p, n, err := c.dec.Next(data)
		data = data[n:]
		if err != nil {
			c.closeForError(err)
			more, data = false, nil
			break
		}
		if op == 0 {
			break
		}
		switch op {
		case websocket.OpPing:
			c.pong(p)
		case websocket.OpPong:
		default:
			if !c.message(ctx, op, p) {
				more, data = false, nil
			}
		}
	}
	c.partial = nil
	if len(data) > 0 {
		c.partial = slices.Clone(data)
	}
	return more
}

// Output takes the frames the hub client has queued; once it has ended,
// the last frame is the close frame that says why (none if nothing can be
// said).
func (c *conn) Output() (frames [][]byte, busy, last bool) {
	frames, busy, err := c.client.TakeMore()
	if err == nil {
		return frames, busy, false
	}
	if code, reason := c.closeCode(err); code != 0 {
		return [][]byte{websocket.AppendClose(nil, code, reason)}, false, true
	}
	return nil, false, true
}

// Ping queues a ping.
func (c *conn) Ping() { c.client.Push(pingFrame) }

// Idle lets the hub client drop the slices of old bursts.
func (c *conn) Idle() { c.client.Trim() }

// Hangup ends the hub client without a close frame: the connection failed
// or the peer is gone.
func (c *conn) Hangup() { c.closeWith(0, "") }

// Closed is the end of a connection on the loop.
func (c *conn) Closed() {
	c.client.Close(nil)
	c.logClosed()
	c.s.unregister(c)
}
