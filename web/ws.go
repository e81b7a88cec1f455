package web

import (
	"context"
	"crypto/sha256"
	"errors"
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

// pingFrame is the ping every connection is sent; frames are never
// modified once queued, so all share it.
var pingFrame = websocket.AppendFrame(nil, websocket.OpPing, nil)

// conn is one WebSocket connection. It is served in one of two ways:
//
//   - on Linux, a plain TCP connection joins the server's event loop
//     (package netpoll, wsloop.go): no goroutine of its own, its input read
//     when epoll says so, its queue written by the loop's few flushers;
//   - any other connection (TLS, other systems) has a reader goroutine
//     (serve) and a writer goroutine (writeLoop): the pumps, wspumps.go.
//
// Both decode frames the same way and handle them with handle; the hub
// client's queue is the only way anything reaches the socket.
type conn struct {
	s         *Server
	nc        net.Conn
	client    *hub.Client
	user      connUser
	requestID string            // of the upgrade: on every log line of the connection
	tokenHash [sha256.Size]byte // of the session: closeSession finds it
	inflight  chan struct{}     // semaphore of uncommitted sends, made by the first send

	closeOnce sync.Once
	code      int // close code sent to the peer, set once by closeWith
	reason    string

	// The goroutine path.
	ws        *websocket.Conn
	writerEnd chan struct{} // the writer has sent its close frame and stopped

	// The event loop's state (wsloop.go), unused on the goroutine path.
	// Part of conn rather than beside it: one allocation, and the flusher
	// finds the connection's state in the same few cache lines.
	loopState
}

// connUser is what a connection keeps of its user: idle connections are
// many, and a whole hanashi.User with its strings is not small.
type connUser struct {
	ID hanashi.UserID
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
		nc := ws.NetConn()
		if tc := tcpUnder(nc); tc != nil {
			tc.SetWriteBuffer(sendBuffer)
		}
		tc, _ := nc.(*net.TCPConn) // plain TCP: the event loop can serve it
		c := &conn{
			s:         s,
			nc:        nc,
			user:      connUser{ID: u.ID},
			requestID: RequestID(r.Context()),
		}
		copy(c.tokenHash[:], hash)
		// The hub client exists before the connection is registered, so
		// that Shutdown and closeSession can always close it.
		loop := tc != nil && c.prepareLoop(tc)
		if !loop {
			c.client = s.cfg.Hub.NewClient(nil)
		}
		if !s.register(c) {
			nc.Write(websocket.AppendClose(nil, closeGoingAway, "server shutting down"))
			nc.Close()
			return
		}
		if loop {
			c.startLoop(ws.Buffered())
			return
		}
		c.ws = ws
		c.writerEnd = make(chan struct{})
		// Serve on a goroutine of its own and return: the handler's return
		// lets net/http drop its buffers and the request, about 10 KB that
		// would otherwise stay pinned by every idle connection.
		go c.serve()
	})
}

// tcpUnder returns the TCP connection under nc, if any: TLS wraps one.
func tcpUnder(nc net.Conn) *net.TCPConn {
	for {
		switch c := nc.(type) {
		case *net.TCPConn:
			return c
		case interface{ NetConn() net.Conn }:
			nc = c.NetConn()
		default:
			return nil
		}
	}
}

// closeWith starts closing the connection with code; the first call wins.
func (c *conn) closeWith(code int, reason string) {
	c.closeOnce.Do(func() {
		c.code, c.reason = code, reason
		c.client.Close(errClosing)
	})
}

// closeAfterQueued is closeWith for a connection whose queued frames
// must go out first.
func (c *conn) closeAfterQueued(code int, reason string) {
	c.closeOnce.Do(func() {
		c.code, c.reason = code, reason
		c.client.CloseAfterQueued(errClosing)
	})
}

// closeCode says which close frame to send now that the hub client has
// ended with err: code 0 means none (the connection failed below the
// WebSocket, nothing can be said).
func (c *conn) closeCode(err error) (int, string) {
	switch {
	case errors.Is(err, hub.ErrTooSlow):
		code, reason := closeTooSlow, "too slow: resume from your cursor"
		c.closeWith(code, reason) // record it; the client has already ended
		return code, reason
	case errors.Is(err, errClosing):
		return c.code, c.reason
	default:
		c.closeWith(closeInternal, "")
		return closeInternal, ""
	}
}

// closeForError starts closing after ReadMessage or the Decoder failed.
func (c *conn) closeForError(err error) {
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
}

// message acts on one data message from the client; it reports false once
// the connection is closing and reading should stop.
func (c *conn) message(ctx context.Context, op websocket.Opcode, p []byte) bool {
	if op != websocket.OpText {
		c.closeWith(closeUnsupported, "only text frames are accepted")
		return false
	}
	if c.client.Err() != nil {
		return false
	}
	c.handle(ctx, p)
	return true
}

// pong answers a ping from the client.
func (c *conn) pong(p []byte) {
	c.client.Push(websocket.AppendFrame(nil, websocket.OpPong, p))
}

// handle acts on one client frame. Refusals are error frames; the
// connection stays open. p is only valid during the call.
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
		c.send(ctx, room, &f)
	case "typing", "presence", "read":
		// Ephemeral frames: never stored (wssignals.go).
		c.signal(ctx, &f)
	case "":
		c.sendError(hanashi.Errorf(hanashi.EINVALID, "frame has no type"), f.ClientID, 0)
	default:
		c.sendError(hanashi.Errorf(hanashi.EINVALID, "unknown frame type %q", f.Type), f.ClientID, 0)
	}
}

// send commits an event asynchronously (a message, or with f.Kind an
// edit, deletion or reaction): the ack is queued by the hub's committer
// once it is durable, while this goroutine reads on. What needs no stored
// state is checked here, so that a refusal costs no trip to the store.
func (c *conn) send(ctx context.Context, room hanashi.RoomID, f *inFrame) {
	clientID := f.ClientID
	switch {
	case clientID == "":
		c.sendError(hanashi.Errorf(hanashi.EINVALID, "client_id is missing"), "", room)
		return
	case len(clientID) > hanashi.MaxClientIDLen || !utf8.ValidString(clientID) || strings.IndexByte(clientID, 0) >= 0:
		// Not echoed: it may not be text a client can match.
		c.sendError(hanashi.Errorf(hanashi.EINVALID, "client_id must be at most %d bytes of text", hanashi.MaxClientIDLen), "", room)
		return
	}
	post := hanashi.Post{Room: room, Author: c.user.ID, ClientID: clientID, Kind: f.Kind, Target: f.Target, Thread: f.Thread, Emoji: f.Emoji}
	if f.Body != nil {
		post.Body = *f.Body
	}
	if err := checkPost(post); err != nil {
		c.sendError(err, clientID, room)
		return
	}
	if room <= 0 {
		c.sendError(hanashi.Errorf(hanashi.ENOTFOUND, "room not found"), clientID, room)
		return
	}
	if post.Kind == "" || post.Kind == hanashi.KindMessage {
		c.client.TypingEnded(room)
	}
	// Only the reading goroutine sends; the callbacks only release.
	if c.inflight == nil {
		c.inflight = make(chan struct{}, maxInflight)
	}
	inflight := c.inflight
	select {
	case inflight <- struct{}{}:
	default:
		select {
		case inflight <- struct{}{}:
		case <-c.client.Done():
			return
		}
	}
	err := c.s.cfg.Hub.PostAsync(ctx, post, func(m hanashi.Message, err error) {
		<-inflight
		if err != nil {
			c.sendError(err, clientID, room)
			return
		}
		c.client.Push(frame(ackFrame{Type: "ack", Room: m.Room, ClientID: m.ClientID, Seq: m.Seq, ID: m.ID}))
	})
	if err != nil {
		<-inflight
		c.sendError(err, clientID, room)
	}
}

// sendError queues an error frame; internal details go to the log only.
func (c *conn) sendError(err error, clientID string, room hanashi.RoomID) {
	code := hanashi.ErrorCode(err)
	if code == hanashi.EINTERNAL {
		c.s.log.ErrorContext(c.logContext(), "websocket request failed", "err", err)
	} else {
		c.s.log.DebugContext(c.logContext(), "websocket frame refused", "code", code, "room", room)
	}
	c.client.Push(frame(errorFrame{Type: "error", Code: code, Message: hanashi.ErrorMessage(err), ClientID: clientID, Room: room}))
}

// logContext is the context to log with for the connection: its records
// carry the request id of the upgrade and the user (LogHandler). Made only
// when something is logged; frames are handled with a context that has
// neither, which costs nothing.
func (c *conn) logContext() context.Context {
	return withLogUser(context.WithValue(context.Background(), requestIDKey{}, c.requestID), c.user.ID)
}

// logClosed logs the end of the connection, with the close code it sent
// (0: none could be sent).
func (c *conn) logClosed() {
	c.closeOnce.Do(func() {}) // what closeWith recorded happens before
	c.s.log.DebugContext(c.logContext(), "websocket closed", "code", c.code, "reason", c.reason)
}

// clientContext is the context of a connection's requests on the event
// loop: it ends when the connection's hub client does, which is when the
// connection starts closing. It costs nothing until something waits on it.
type clientContext struct{ c *hub.Client }

var _ context.Context = clientContext{}

func (clientContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (x clientContext) Done() <-chan struct{}     { return x.c.Done() }
func (clientContext) Value(any) any               { return nil }
func (x clientContext) Err() error {
	if x.c.Err() != nil {
		return context.Canceled
	}
	return nil
}
