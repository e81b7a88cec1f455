package websocket

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// Decoder turns the bytes a peer sends into messages, whatever pieces they
// arrive in. It is the one frame parser of this package: [Conn.ReadMessage]
// runs on it, and a server that reads its sockets itself (an event loop
// over epoll) uses it directly, with no goroutine and no buffer held while
// a connection is idle.
//
// Between calls a Decoder keeps only a fragmented message that is not
// complete yet. The bytes of an incomplete frame stay with the caller,
// which passes them again, with what arrived since, to the next call.
//
// The zero value decodes frames sent by a client, which must be masked,
// up to [DefaultReadLimit]. A Decoder is not safe for concurrent use.
type Decoder struct {
	// ReadLimit is the largest message, after reassembly of its fragments,
	// that Next accepts; zero or less means [DefaultReadLimit]. A larger
	// message fails with [CloseTooLarge] as soon as a frame header
	// announces it, before its payload arrives.
	ReadLimit int64

	fromServer bool // the peer is a server: frames must not be masked

	msgOp   Opcode // OpText or OpBinary while a fragmented message is open
	msg     []byte // its fragments so far
	checked int    // msg[:checked] is known to be valid UTF-8
	err     error  // once set, every Next returns it
}

// Next decodes frames from the start of b until it has a data message
// ([OpText] or [OpBinary], reassembled from its fragments) or a ping or
// pong frame to return, and reports in n how many bytes of b it consumed.
// When b holds no complete message, op is 0 and err nil: the caller keeps
// b[n:], the start of an incomplete frame, and calls Next again once more
// bytes have arrived behind it.
//
// Next unmasks payloads in place in b. A payload that came in one frame
// is a slice of b; a reassembled one is a buffer the Decoder has let go
// of. Text messages are valid UTF-8.
//
// A close frame from the peer, or any violation of RFC 6455, returns a
// [*CloseError] (see its documentation), and so does every later call. A
// violation is reported as soon as the bytes that show it are in b: a
// frame header announcing a message over ReadLimit fails before any of its
// payload arrives.
func (d *Decoder) Next(b []byte) (op Opcode, payload []byte, n int, err error) {
	if d.err != nil {
		return 0, nil, 0, d.err
	}
	limit := d.ReadLimit
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	for {
		h, hl, cerr := parseHeader(b[n:], !d.fromServer)
		if cerr != nil {
			return d.fail(cerr)
		}
		if hl == 0 {
			return 0, nil, n, nil
		}
		if !h.op.isControl() {
			if h.op == OpContinuation {
				if d.msgOp == 0 {
					return d.fail(violation(CloseProtocolError, "continuation frame without a message to continue"))
				}
			} else if d.msgOp != 0 {
				return d.fail(violation(CloseProtocolError, "new message before the fragmented one ended"))
			}
			if h.length > uint64(limit)-uint64(len(d.msg)) {
				return d.fail(violation(CloseTooLarge, "message larger than "+strconv.FormatInt(limit, 10)+" bytes"))
			}
		}
		if h.length > uint64(len(b)-n-hl) {
			return 0, nil, n, nil // the payload is still on its way
		}
		p := b[n+hl : n+hl+int(h.length)]
		if h.masked {
			maskBytes(h.key, p)
		}
		n += hl + int(h.length)

		switch {
		case h.op == OpClose:
			return d.fail(parseClose(p))
		case h.op.isControl():
			return h.op, p, n, nil
		case d.msgOp == 0 && h.fin:
			// The common case: a message in one frame, returned in place.
			if h.op == OpText && !utf8.Valid(p) {
				return d.fail(violation(CloseInvalidPayload, "invalid UTF-8 in text message"))
			}
			return h.op, p, n, nil
		}
		if d.msgOp == 0 {
			d.msgOp = h.op
		}
		d.msg = append(d.msg, p...)
		if d.msgOp == OpText {
			var ok bool
			if d.checked, ok = checkUTF8(d.msg, d.checked, h.fin); !ok {
				return d.fail(violation(CloseInvalidPayload, "invalid UTF-8 in text message"))
			}
		}
		if h.fin {
			op, msg := d.msgOp, d.msg
			if msg == nil {
				msg = []byte{}
			}
			d.msgOp, d.msg, d.checked = 0, nil, 0
			return op, msg, n, nil
		}
	}
}

// Reassembling reports whether a fragmented message is open: some of its
// fragments have been decoded and the rest has not arrived.
func (d *Decoder) Reassembling() bool { return d.msgOp != 0 }

// fail makes err the Decoder's final answer.
func (d *Decoder) fail(err *CloseError) (Opcode, []byte, int, error) {
	d.err = err
	d.msg = nil
	return 0, nil, 0, err
}

// frameHeader is a decoded frame header.
type frameHeader struct {
	fin    bool
	op     Opcode
	masked bool
	length uint64
	key    [4]byte
}

// parseHeader decodes the frame header at the start of b and returns it
// with its size in bytes, or a size of 0 while b does not hold all of it.
// It checks what RFC 6455 demands of a header as soon as the bytes are
// there: reserved bits, opcode, masking (frames from a client must be
// masked, frames from a server must not), control frames that are
// fragmented or longer than 125 bytes, and 64-bit lengths with the top bit
// set.
func parseHeader(b []byte, fromClient bool) (frameHeader, int, *CloseError) {
	var h frameHeader
	if len(b) < 2 {
		return h, 0, nil
	}
	if b[0]&0x70 != 0 {
		return h, 0, violation(CloseProtocolError, "reserved bits set without a negotiated extension")
	}
	h.fin = b[0]&0x80 != 0
	h.op = Opcode(b[0] & 0x0F)
	switch h.op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return h, 0, violation(CloseProtocolError, "unknown opcode "+strconv.Itoa(int(h.op)))
	}
	h.masked = b[1]&0x80 != 0
	if h.masked != fromClient {
		if fromClient {
			return h, 0, violation(CloseProtocolError, "unmasked frame from a client")
		}
		return h, 0, violation(CloseProtocolError, "masked frame from a server")
	}
	n := b[1] & 0x7F
	if h.op.isControl() {
		if !h.fin {
			return h, 0, violation(CloseProtocolError, "fragmented control frame")
		}
		if n > maxControlPayload {
			return h, 0, violation(CloseProtocolError, "control frame longer than 125 bytes")
		}
	}
	size := 2
	switch n {
	case 126:
		if len(b) < 4 {
			return h, 0, nil
		}
		h.length = uint64(binary.BigEndian.Uint16(b[2:]))
		size = 4
	case 127:
		if len(b) < 10 {
			return h, 0, nil
		}
		h.length = binary.BigEndian.Uint64(b[2:])
		if h.length > math.MaxInt64 {
			return h, 0, violation(CloseProtocolError, "64-bit payload length with the most significant bit set")
		}
		size = 10
	default:
		h.length = uint64(n)
	}
	if h.masked {
		if len(b) < size+4 {
			return h, 0, nil
		}
		h.key = [4]byte(b[size : size+4])
		size += 4
	}
	return h, size, nil
}

// frameSize returns the size of the frame whose header starts b, header
// included, or 0 if the header is not complete. The header must have
// passed parseHeader.
func frameSize(b []byte, fromClient bool) int {
	h, hl, err := parseHeader(b, fromClient)
	if err != nil || hl == 0 || h.length > math.MaxInt32 {
		return 0
	}
	return hl + int(h.length)
}
