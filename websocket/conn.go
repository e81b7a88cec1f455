package websocket

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"math"
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
	// read, and larger payloads are read straight into the message.
	readBufferSize = 512
	// firstPayloadChunk bounds what a frame header alone makes us allocate:
	// beyond it, the message grows only as its bytes actually arrive, so a
	// peer that announces 64 KiB and sends nothing costs 4 KiB, not 64.
	firstPayloadChunk = 4 << 10
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
	br     *bufio.Reader
	server bool // the peer is a client: its frames must be masked, ours not

	// Read state, owned by the goroutine calling ReadMessage.
	readErr error // once set, every ReadMessage returns it
	hdr     [maxHeaderSize]byte
	ctrl    [maxControlPayload]byte

	// Write state, guarded by wmu.
	wmu     sync.Mutex
	wbuf    []byte
	wkey    [4]byte
	wclosed bool
}

func newConn(nc net.Conn, br *bufio.Reader, server bool) *Conn {
	return &Conn{ReadLimit: DefaultReadLimit, conn: nc, br: br, server: server}
}

// NetConn returns the underlying connection, for deadlines, addresses and
// for the server's own writes of encoded frames. Reading from it directly
// would lose data buffered by ReadMessage.
func (c *Conn) NetConn() net.Conn { return c.conn }

// Close closes the underlying connection without a close frame; call
// WriteClose (or write [AppendClose] bytes) first for a clean close.
func (c *Conn) Close() error { return c.conn.Close() }

// frameHeader is a decoded frame header.
type frameHeader struct {
	fin    bool
	op     Opcode
	masked bool
	length uint64
	key    [4]byte
}

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
	if c.readErr != nil {
		return 0, nil, c.readErr
	}
	op, payload, err = c.readMessage()
	if err != nil {
		c.readErr = err
		return 0, nil, err
	}
	return op, payload, nil
}

func (c *Conn) readMessage() (Opcode, []byte, error) {
	limit := c.ReadLimit
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	if limit > math.MaxInt {
		limit = math.MaxInt
	}
	var (
		msgOp   Opcode // OpText or OpBinary once the first fragment is in
		msg     []byte
		checked int // msg[:checked] is known to be valid UTF-8
	)
	for {
		h, err := c.readHeader()
		if err != nil {
			return 0, nil, err
		}
		if h.op.isControl() {
			if err := c.readControl(h); err != nil {
				return 0, nil, err
			}
			continue
		}
		if h.op == OpContinuation {
			if msgOp == 0 {
				return 0, nil, violation(CloseProtocolError, "continuation frame without a message to continue")
			}
		} else {
			if msgOp != 0 {
				return 0, nil, violation(CloseProtocolError, "new message before the fragmented one ended")
			}
			msgOp = h.op
		}
		if h.length > uint64(limit)-uint64(len(msg)) {
			return 0, nil, violation(CloseTooLarge, "message larger than "+strconv.FormatInt(limit, 10)+" bytes")
		}
		start := len(msg)
		msg, err = c.readPayload(msg, int(h.length))
		if err != nil {
			return 0, nil, err
		}
		if h.masked {
			maskBytes(h.key, msg[start:])
		}
		if msgOp == OpText {
			var ok bool
			if checked, ok = checkUTF8(msg, checked, h.fin); !ok {
				return 0, nil, violation(CloseInvalidPayload, "invalid UTF-8 in text message")
			}
		}
		if h.fin {
			if msg == nil {
				msg = []byte{}
			}
			return msgOp, msg, nil
		}
	}
}

// readPayload appends n bytes from the connection to msg. It allocates as
// the bytes arrive rather than trusting the frame header, beyond a first
// chunk, so memory follows what the peer really sent; a message that fits
// in the first chunk gets exactly one allocation of its exact size.
func (c *Conn) readPayload(msg []byte, n int) ([]byte, error) {
	for n > 0 {
		if len(msg) == cap(msg) {
			newCap := max(2*cap(msg), firstPayloadChunk)
			newCap = min(newCap, len(msg)+n) // never beyond what this frame needs
			grown := make([]byte, len(msg), newCap)
			copy(grown, msg)
			msg = grown
		}
		k := min(n, cap(msg)-len(msg))
		got, err := io.ReadFull(c.br, msg[len(msg):len(msg)+k])
		msg = msg[:len(msg)+got]
		n -= got
		if err != nil {
			return msg, unexpectedEOF(err)
		}
	}
	return msg, nil
}

// readHeader reads and checks one frame header.
func (c *Conn) readHeader() (frameHeader, error) {
	var h frameHeader
	b := c.hdr[:2]
	if _, err := io.ReadFull(c.br, b); err != nil {
		return h, err // io.EOF here means the peer left between frames
	}
	if b[0]&0x70 != 0 {
		return h, violation(CloseProtocolError, "reserved bits set without a negotiated extension")
	}
	h.fin = b[0]&0x80 != 0
	h.op = Opcode(b[0] & 0x0F)
	switch h.op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return h, violation(CloseProtocolError, "unknown opcode "+strconv.Itoa(int(h.op)))
	}
	h.masked = b[1]&0x80 != 0
	if h.masked != c.server {
		if c.server {
			return h, violation(CloseProtocolError, "unmasked frame from a client")
		}
		return h, violation(CloseProtocolError, "masked frame from a server")
	}
	n := b[1] & 0x7F
	if h.op.isControl() {
		if !h.fin {
			return h, violation(CloseProtocolError, "fragmented control frame")
		}
		if n > maxControlPayload {
			return h, violation(CloseProtocolError, "control frame longer than 125 bytes")
		}
	}
	switch n {
	case 126:
		b = c.hdr[2:4]
		if _, err := io.ReadFull(c.br, b); err != nil {
			return h, unexpectedEOF(err)
		}
		h.length = uint64(binary.BigEndian.Uint16(b))
	case 127:
		b = c.hdr[2:10]
		if _, err := io.ReadFull(c.br, b); err != nil {
			return h, unexpectedEOF(err)
		}
		h.length = binary.BigEndian.Uint64(b)
		if h.length>>63 != 0 {
			return h, violation(CloseProtocolError, "64-bit payload length with the most significant bit set")
		}
	default:
		h.length = uint64(n)
	}
	if h.masked {
		// Through c.hdr rather than h.key, which would move h to the heap.
		b = c.hdr[10:14]
		if _, err := io.ReadFull(c.br, b); err != nil {
			return h, unexpectedEOF(err)
		}
		h.key = [4]byte(b)
	}
	return h, nil
}

// readControl reads the payload of a control frame and acts on it. It
// returns a *CloseError for a close frame.
func (c *Conn) readControl(h frameHeader) error {
	p := c.ctrl[:h.length] // readHeader checked length <= 125
	if _, err := io.ReadFull(c.br, p); err != nil {
		return unexpectedEOF(err)
	}
	if h.masked {
		maskBytes(h.key, p)
	}
	switch h.op {
	case OpPing:
		if c.OnPing != nil {
			c.OnPing(p)
		}
	case OpPong:
		if c.OnPong != nil {
			c.OnPong(p)
		}
	case OpClose:
		return parseClose(p)
	}
	return nil
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

// unexpectedEOF reports a connection that ended inside a frame as such.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
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
