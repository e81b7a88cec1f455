package websocket

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
)

// DefaultReadLimit is the largest message [Conn.ReadMessage] accepts unless
// [Conn.ReadLimit] says otherwise.
const DefaultReadLimit = 64 << 10

const (
	// readBufferSize is small because every idle connection keeps its read
	// buffer; a chat message of a few hundred bytes still arrives in one
	// read. The buffer grows, as bytes arrive, for a larger frame, and
	// shrinks back once it has been read.
	readBufferSize = 512
	// maxKeptWriteBuffer is the largest buffer [Conn.WriteMessage] keeps
	// between calls; larger frames get a buffer of their own each time.
	maxKeptWriteBuffer = 1 << 10
)

// ErrCloseSent is returned by [Conn.WriteMessage] and [Conn.WriteClose]
// after a close frame has been written: RFC 6455 allows nothing after it.
var ErrCloseSent = errors.New("websocket: close frame already sent")

// CloseError is the error [Conn.ReadMessage] returns when the connection
// must be closed at the WebSocket level, with the code to close with.
//
// If Received is true, the peer sent a close frame with Code and Reason
// (Code is [CloseNoStatus] when the frame had no payload); the caller
// should answer with a close frame, normally AppendClose(nil, Code, "")
// (which turns 1005 into an empty close frame), and then close the TCP
// connection. If Received is false, the peer
// violated the protocol: Code is what to send ([CloseProtocolError],
// [CloseInvalidPayload] or [CloseTooLarge]) and Reason says what went wrong,
// in words that are safe to send and to log.
type CloseError struct {
	Code     int
	Reason   string
	Received bool
}

func (e *CloseError) Error() string {
	if e.Received {
		s := "websocket: peer closed with " + strconv.Itoa(e.Code)
		if e.Reason != "" {
			s += " " + strconv.Quote(e.Reason)
		}
		return s
	}
	return "websocket: peer violated the protocol, closing with " + strconv.Itoa(e.Code) + ": " + e.Reason
}

// violation builds the error for a peer that broke the protocol.
func violation(code int, reason string) *CloseError {
	return &CloseError{Code: code, Reason: reason}
}

// Conn is one WebSocket connection, either the server side returned by
// [Upgrade] or the client side returned by [Dial].
//
// Concurrency: ReadMessage must be called from one goroutine at a time, and
// OnPing and OnPong run on that goroutine. WriteMessage and WriteClose may
// be called from any goroutine, together and alongside ReadMessage; they
// serialise on a mutex that does not cover writes made directly to
// NetConn, so a server that writes [AppendFrame] bytes itself must not also
// call WriteMessage concurrently. Close may be called at any time and
// unblocks a pending read or write.
//
// Deadlines are set on NetConn: a read deadline bounds ReadMessage, a write
// deadline bounds WriteMessage and WriteClose.
type Conn struct {
	// ReadLimit is the largest message, after reassembly of its fragments,
	// that ReadMessage accepts; zero or less means [DefaultReadLimit]. A
	// larger message fails with [CloseTooLarge] as soon as a frame header
	// announces it, before its payload is read.
	ReadLimit int64

	// OnPing and OnPong, if set, are called by ReadMessage with the payload
	// of each ping or pong frame the peer sends, also in the middle of a
	// fragmented message. The payload is only valid during the call.
	// On a server connection ReadMessage answers nothing itself: OnPing
	// should queue AppendFrame(nil, OpPong, payload) to the connection's
	// writer. [Dial] sets OnPing to answer with WriteMessage(OpPong, ...).
	OnPing func(payload []byte)
	OnPong func(payload []byte)

	conn   net.Conn
	server bool // the peer is a client: its frames must be masked, ours not

	// Read state, owned by the goroutine calling ReadMessage: rbuf[r:w]
	// holds bytes read from conn and not decoded yet.
	dec     Decoder
	rbuf    []byte
	r, w    int
	keep    int   // the size of rbuf worth keeping when it is empty
	readErr error // once set, every ReadMessage returns it

	// Write state, guarded by wmu.
	wmu     sync.Mutex
	wbuf    []byte
	wkey    [4]byte
	wclosed bool
}

func newConn(nc net.Conn, server bool) *Conn {
	c := &Conn{ReadLimit: DefaultReadLimit, conn: nc, server: server, keep: readBufferSize}
	c.dec.fromServer = !server
	return c
}

// takeBuffered copies what br read past the handshake into the read buffer,
// so that br can be dropped.
func (c *Conn) takeBuffered(br *bufio.Reader) {
	if n := br.Buffered(); n > 0 {
		p, _ := br.Peek(n)
		c.rbuf = append([]byte(nil), p...)
		c.w = n
	}
}

// NetConn returns the underlying connection, for deadlines, addresses and
// for the server's own writes of encoded frames. Reading from it directly
// would lose data buffered by ReadMessage (see [Conn.Buffered]).
func (c *Conn) NetConn() net.Conn { return c.conn }

// Buffered returns the bytes read from the connection that ReadMessage
// has not decoded yet. Right after [Upgrade] these are frames the client
// sent behind its handshake, usually none: a server that reads the socket
// itself from then on hands them to its [Decoder] first.
func (c *Conn) Buffered() []byte { return c.rbuf[c.r:c.w] }

// Close closes the underlying connection without a close frame; call
// WriteClose (or write [AppendClose] bytes) first for a clean close.
func (c *Conn) Close() error { return c.conn.Close() }

// ReadMessage returns the next complete data message: its opcode, [OpText]
// or [OpBinary], and its payload, reassembled from fragments. The payload
// belongs to the caller. Text messages are valid UTF-8.
//
// Ping and pong frames are handed to OnPing and OnPong on the way. A close
// frame from the peer, or any violation of RFC 6455 by the peer, ends the
// stream with a [*CloseError] (see its documentation for which code to
// answer with). Close codes a peer may send are 1000-1003, 1007-1011 and
// 3000-4999; anything else is a protocol error. Other errors come from the
// connection: [io.EOF] when the peer closed TCP between frames,
// [io.ErrUnexpectedEOF] when it did so inside one, or a timeout from the
// read deadline; the connection is then beyond a close handshake.
//
// After an error, every later call returns the same error.
func (c *Conn) ReadMessage() (op Opcode, payload []byte, err error) {
	op, p, err := c.NextMessage()
	if err != nil {
		return 0, nil, err
	}
	owned := make([]byte, len(p))
	copy(owned, p)
	return op, owned, nil
}

// NextMessage is ReadMessage without the copy: the payload is only valid
// until the next call, which may overwrite it. It suits a reader that is
// done with each message before it asks for the next, such as a load
// generator that counts hundreds of thousands a second.
func (c *Conn) NextMessage() (op Opcode, payload []byte, err error) {
	if c.readErr != nil {
		return 0, nil, c.readErr
	}
	c.dec.ReadLimit = c.ReadLimit
	for {
		op, p, n, err := c.dec.Next(c.rbuf[c.r:c.w])
		c.r += n
		if err != nil {
			c.readErr = err
			c.rbuf, c.r, c.w = nil, 0, 0
			return 0, nil, err
		}
		switch op {
		case OpPing:
			if c.OnPing != nil {
				c.OnPing(p)
			}
		case OpPong:
			if c.OnPong != nil {
				c.OnPong(p)
			}
		case OpText, OpBinary:
			return op, p, nil
		default:
			if err := c.fill(); err != nil {
				c.readErr = err
				c.rbuf, c.r, c.w = nil, 0, 0
				return 0, nil, err
			}
		}
	}
}

// fill reads more bytes behind the undecoded ones in rbuf, making room
// first: a buffer that is empty goes back to its kept size, one that holds
// the start of a frame grows as its bytes arrive — up to that frame's
// size, so that a peer that announces a large frame and sends little costs
// little.
func (c *Conn) fill() error {
	if c.r == c.w {
		c.r, c.w = 0, 0
		if len(c.rbuf) != c.keep {
			c.rbuf = make([]byte, c.keep)
		}
	} else if c.r > 0 {
		c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.rbuf) {
		size := max(2*len(c.rbuf), readBufferSize)
		if need := frameSize(c.rbuf[:c.w], c.server); need > c.w {
			size = min(size, need)
		}
		grown := make([]byte, size)
		copy(grown, c.rbuf[:c.w])
		c.rbuf = grown
	}
	for range 100 { // as bufio does with a Reader that returns 0, nil
		n, err := c.conn.Read(c.rbuf[c.w:])
		c.w += n
		switch {
		case n > 0:
			return nil // an error comes back on the next Read
		case err == io.EOF && c.w > 0:
			return io.ErrUnexpectedEOF // inside a frame
		case err != nil:
			return err
		}
	}
	return io.ErrNoProgress
}

// parseClose turns a close payload into the error ReadMessage returns.
func parseClose(p []byte) *CloseError {
	switch {
	case len(p) == 0:
		return &CloseError{Code: CloseNoStatus, Received: true}
	case len(p) == 1:
		return violation(CloseProtocolError, "close frame with a 1-byte payload")
	}
	code := int(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return violation(CloseProtocolError, "invalid close code "+strconv.Itoa(code))
	}
	reason := p[2:]
	if !validUTF8(reason) {
		return violation(CloseInvalidPayload, "invalid UTF-8 in close reason")
	}
	return &CloseError{Code: code, Reason: string(reason), Received: true}
}

func validUTF8(b []byte) bool {
	_, ok := checkUTF8(b, 0, true)
	return ok
}

// WriteMessage writes payload as one frame with opcode op, which must be
// [OpText], [OpBinary], [OpPing] or [OpPong]; ping and pong payloads are
// limited to 125 bytes. Client connections mask the frame as RFC 6455
// requires. It is safe for concurrent use (see [Conn]).
//
// Servers normally write [AppendFrame] bytes through their own coalescing
// writer instead; WriteMessage is for simple cases and for clients.
func (c *Conn) WriteMessage(op Opcode, payload []byte) error {
	switch op {
	case OpText, OpBinary:
	case OpPing, OpPong:
		if len(payload) > maxControlPayload {
			return errors.New("websocket: " + op.String() + " payload longer than 125 bytes")
		}
	default:
		return errors.New("websocket: WriteMessage cannot send " + op.String() + " frames")
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeFrame(op, payload)
}

// WriteClose writes a close frame with code and reason, shaped as by
// [AppendClose]. After it, writes fail with [ErrCloseSent]; the caller keeps
// reading until ReadMessage reports the peer's close (or times out) and
// then calls Close.
func (c *Conn) WriteClose(code int, reason string) error {
	var buf [2 + maxControlPayload]byte
	frame := AppendClose(buf[:0], code, reason)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	err := c.writeFrame(OpClose, frame[2:]) // a close header is always 2 bytes
	c.wclosed = true
	return err
}

// writeFrame writes one frame. c.wmu must be held.
func (c *Conn) writeFrame(op Opcode, payload []byte) error {
	if c.wclosed {
		return ErrCloseSent
	}
	b := c.wbuf[:0]
	if c.server {
		b = AppendFrame(b, op, payload)
	} else {
		// Masking with an unpredictable key is what RFC 6455 section 5.3
		// asks of clients; crypto/rand never fails since Go 1.24.
		_, _ = rand.Read(c.wkey[:])
		b = appendHeader(b, op, len(payload), true)
		b = append(b, c.wkey[:]...)
		start := len(b)
		b = append(b, payload...)
		maskBytes(c.wkey, b[start:])
	}
	_, err := c.conn.Write(b)
	if cap(b) <= maxKeptWriteBuffer {
		c.wbuf = b[:0]
	}
	return err
}
