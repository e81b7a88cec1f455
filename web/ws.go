package web

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/websocket"
)

// Limits of one WebSocket connection.
const (
	maxFrame    = 64 << 10 // bytes in a client frame; larger closes with 1009
	maxInflight = 64       // sends awaiting their commit per connection
	lingerTime  = 2 * time.Second
	// sendBuffer caps the kernel's send buffer of a WebSocket (Linux
	// doubles it). Left to autotuning it grows to 4 MiB, which a stalled
	// client would pin beside its queue, and which would delay the moment
	// its queue overflows and it is told to resume (4008). Chat frames are
	// small: this is plenty for a client that reads.
	sendBuffer = 128 << 10
)

// errClosing ends a hub client when the connection closes for a reason
// recorded in conn.code.
var errClosing = errors.New("connection closing")

// conn is one WebSocket connection. The handler's goroutine reads frames;
// a writer goroutine owns every write to the socket, taking whatever the
// hub client has queued and writing it with one syscall.
type conn struct {
	s         *Server
	ws        *websocket.Conn
	nc        net.Conn
	client    *hub.Client
	user      hanashi.User
	tokenHash []byte
	inflight  chan struct{} // semaphore of uncommitted sends

	closeOnce sync.Once
	code      int // close code sent to the peer, set once by closeWith
	reason    string
	writerEnd chan struct{} // the writer has sent its close frame and stopped
	finished  chan struct{} // everything is torn down
}

// handleWebSocket upgrades to protocol v1 after checking Origin and session.
func (s *Server) handleWebSocket() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && !s.originAllowed(r, origin) {
			s.writeError(w, r, hanashi.Errorf(hanashi.EFORBIDDEN, "origin %q is not allowed", origin))
			return
		}
		u, hash, bearer, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if origin == "" && !bearer {
			// Browsers always send Origin; a cookie without one is not a
			// browser we can check.
			s.writeError(w, r, hanashi.Errorf(hanashi.EFORBIDDEN, "a request without Origin must use a Bearer token"))
			return
		}
		ws, err := websocket.Upgrade(w, r)
		if err != nil {
			return // Upgrade has answered the request.
		}
		if tc, ok := ws.NetConn().(*net.TCPConn); ok {
			tc.SetWriteBuffer(sendBuffer)
		}
		c := &conn{
			s:         s,
			ws:        ws,
			nc:        ws.NetConn(),
			client:    s.cfg.Hub.NewClient(),
			user:      u,
			tokenHash: hash,
			inflight:  make(chan struct{}, maxInflight),
			writerEnd: make(chan struct{}),
			finished:  make(chan struct{}),
		}
		if !s.register(c) {
			c.nc.Write(websocket.AppendClose(nil, closeGoingAway, "server shutting down"))
			c.nc.Close()
			return
		}
		// Serve on a goroutine of its own and return: the handler's return
		// lets net/http drop its buffers and the request, about 10 KB that
		// would otherwise stay pinned by every idle connection.
		go c.serve()
	})
}

// serve runs the connection until it closes.
func (c *conn) serve() {
	defer close(c.finished)
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
		c.client.Push(websocket.AppendFrame(nil, websocket.OpPong, p))
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
}

// ping queues a ping and re-arms itself while the connection lives.
func (c *conn) ping() {
	if c.client.Push(websocket.AppendFrame(nil, websocket.OpPing, nil)) {
		time.AfterFunc(c.s.cfg.PingInterval, c.ping)
	}
}

// closeWith starts closing the connection with code; the first call wins.
func (c *conn) closeWith(code int, reason string) {
	c.closeOnce.Do(func() {
		c.code, c.reason = code, reason
		c.client.Close(errClosing)
	})
}

// readLoop handles frames until the connection fails or closes.
func (c *conn) readLoop(ctx context.Context, idle time.Duration) {
	for {
		c.nc.SetReadDeadline(time.Now().Add(idle))
		op, p, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			switch {
			case errors.As(err, &ce) && ce.Received:
				// The peer closes: echo its code, as RFC 6455 asks.
				code := ce.Code
				if code == websocket.CloseNoStatus {
					code = closeNormal
				}
				c.closeWith(code, "")
			case errors.As(err, &ce):
				c.closeWith(ce.Code, ce.Reason)
			default:
				// A network error or timeout: nothing can be said.
				c.closeWith(0, "")
			}
			return
		}
		if op != websocket.OpText {
			c.closeWith(closeUnsupported, "only text frames are accepted")
			return
		}
		if c.client.Err() != nil {
			return
		}
		c.handle(ctx, p)
	}
}

// handle acts on one client frame. Refusals are error frames; the
// connection stays open.
func (c *conn) handle(ctx context.Context, p []byte) {
	var f inFrame
	if err := jsonUnmarshal(p, &f); err != nil {
		c.sendError(hanashi.Errorf(hanashi.EINVALID, "frame is not a valid JSON object: %v", err), "", 0)
		return
	}
	room := hanashi.RoomID(f.Room)
	switch f.Type {
	case "subscribe":
		if _, err := c.s.cfg.Store.Room(ctx, room, c.user.ID); err != nil {
			c.sendError(err, "", room)
			return
		}
		if f.After != nil && *f.After < 0 {
			c.sendError(hanashi.Errorf(hanashi.EINVALID, "after must not be negative"), "", room)
			return
		}
		if err := c.client.Subscribe(ctx, room, f.After); err != nil {
			c.sendError(err, "", room)
		}
	case "unsubscribe":
		c.client.Unsubscribe(room)
		c.client.Push(frame(roomFrame{Type: "unsubscribed", Room: room}))
	case "send":
		c.send(ctx, room, f.ClientID, f.Body)
	case "":
		c.sendError(hanashi.Errorf(hanashi.EINVALID, "frame has no type"), f.ClientID, 0)
	default:
		c.sendError(hanashi.Errorf(hanashi.EINVALID, "unknown frame type %q", f.Type), f.ClientID, 0)
	}
}

// send commits a message asynchronously: the ack is queued by the hub's
// committer once the message is durable, while this goroutine reads on.
func (c *conn) send(ctx context.Context, room hanashi.RoomID, clientID string, body *string) {
	switch {
	case clientID == "":
		c.sendError(hanashi.Errorf(hanashi.EINVALID, "client_id is missing"), "", room)
		return
	case len(clientID) > hanashi.MaxClientIDLen || !utf8.ValidString(clientID) || strings.IndexByte(clientID, 0) >= 0:
		c.sendError(hanashi.Errorf(hanashi.EINVALID, "client_id must be at most %d bytes of text", hanashi.MaxClientIDLen), "", room)
		return
	case body == nil || strings.TrimSpace(*body) == "":
		c.sendError(hanashi.Errorf(hanashi.EINVALID, "body is empty"), clientID, room)
		return
	case len(*body) > hanashi.MaxBodyBytes:
		c.sendError(hanashi.Errorf(hanashi.ETOOLARGE, "body is larger than %d bytes", hanashi.MaxBodyBytes), clientID, room)
		return
	case strings.IndexByte(*body, 0) >= 0:
		// Text columns of PostgreSQL cannot hold NUL; no store may differ.
		c.sendError(hanashi.Errorf(hanashi.EINVALID, "body contains a NUL character"), clientID, room)
		return
	case room <= 0:
		c.sendError(hanashi.Errorf(hanashi.ENOTFOUND, "room not found"), clientID, room)
		return
	}
	select {
	case c.inflight <- struct{}{}:
	case <-c.client.Done():
		return
	}
	post := hanashi.Post{Room: room, Author: c.user.ID, ClientID: clientID, Body: *body}
	err := c.s.cfg.Hub.PostAsync(ctx, post, func(m hanashi.Message, err error) {
		<-c.inflight
		if err != nil {
			c.sendError(err, clientID, room)
			return
		}
		c.client.Push(frame(ackFrame{Type: "ack", Room: m.Room, ClientID: m.ClientID, Seq: m.Seq, ID: m.ID}))
	})
	if err != nil {
		<-c.inflight
		c.sendError(err, clientID, room)
	}
}

// sendError queues an error frame; internal details go to the log only.
func (c *conn) sendError(err error, clientID string, room hanashi.RoomID) {
	code := hanashi.ErrorCode(err)
	if code == hanashi.EINTERNAL {
		c.s.log.Error("websocket request failed", "user", c.user.ID, "err", err)
	}
	c.client.Push(frame(errorFrame{Type: "error", Code: code, Message: hanashi.ErrorMessage(err), ClientID: clientID, Room: room}))
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
	code, reason := 0, ""
	switch {
	case errors.Is(err, hub.ErrTooSlow):
		code, reason = closeTooSlow, "too slow: resume from your cursor"
		c.closeWith(code, reason) // record it; the client has already ended
	case errors.Is(err, errClosing):
		code, reason = c.code, c.reason
	default:
		code, reason = closeInternal, ""
		c.closeWith(code, reason)
	}
	if code != 0 {
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
