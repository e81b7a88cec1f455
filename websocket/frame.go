package websocket

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Opcode is the type of a WebSocket frame (RFC 6455 section 5.2).
type Opcode byte

// Frame opcodes. OpText and OpBinary start data messages, OpContinuation
// carries their further fragments; the others are control frames.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// String returns the opcode's name, for logs.
func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "opcode(" + strconv.Itoa(int(op)) + ")"
}

// isControl reports whether op is a control opcode (close, ping, pong or
// one of the reserved 0xB-0xF).
func (op Opcode) isControl() bool { return op&0x8 != 0 }

// Close codes (RFC 6455 section 7.4.1) that Hanashi sends or receives.
// Application codes are 4000-4999; see docs/protocol.md for Hanashi's.
const (
	CloseNormal          = 1000
	CloseGoingAway       = 1001
	CloseProtocolError   = 1002
	CloseUnsupportedData = 1003
	CloseNoStatus        = 1005 // reported when a close frame has no payload; never sent
	CloseInvalidPayload  = 1007
	ClosePolicyViolation = 1008
	CloseTooLarge        = 1009
	CloseInternalError   = 1011
)

// Limits from RFC 6455 section 5.5: control payloads fit in the 7-bit length
// field, and a close payload starts with a 2-byte code.
const (
	maxControlPayload = 125
	maxCloseReason    = maxControlPayload - 2
	maxHeaderSize     = 2 + 8 + 4 // first two bytes, 64-bit length, mask key
)

// validCloseCode reports whether code may appear in a close frame, following
// RFC 6455 section 7.4 and the IANA registry: the defined codes that an
// endpoint may send (1012-1014 were registered after the RFC and are sent by
// real proxies and servers), and the ranges for libraries (3000-3999) and
// applications (4000-4999). 1004, 1005, 1006 and 1015 (which only describe
// a connection locally) are not allowed; neither are the unassigned codes
// below 3000.
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// AppendFrame appends to dst one unfragmented, unmasked frame (the form a
// server sends) carrying payload, and returns the extended slice.
//
// It is a pure function so that a message can be encoded once and the same
// bytes written to every subscriber. op should be one of the Op constants;
// only its low four bits are used. A control frame's payload is cut to the
// 125 bytes RFC 6455 allows, so the result is always a valid frame; use
// [AppendClose] for close frames, which also need a valid code and reason.
func AppendFrame(dst []byte, op Opcode, payload []byte) []byte {
	op &= 0x0F
	if op.isControl() && len(payload) > maxControlPayload {
		payload = payload[:maxControlPayload]
	}
	dst = appendHeader(dst, op, len(payload), false)
	return append(dst, payload...)
}

// AppendClose appends to dst an unmasked close frame with code and reason,
// and returns the extended slice.
//
// The reason is cut to the 123 bytes that fit beside the code, never inside
// a UTF-8 sequence; invalid UTF-8 in it is replaced with U+FFFD, since the
// peer must fail the connection on invalid UTF-8. A code that a close frame
// may not carry (see [Conn.ReadMessage]), such as [CloseNoStatus], gives a
// close frame without payload, which the peer reads as 1005.
func AppendClose(dst []byte, code int, reason string) []byte {
	if !validCloseCode(code) {
		return appendHeader(dst, OpClose, 0, false)
	}
	reason = closeReason(reason)
	dst = appendHeader(dst, OpClose, 2+len(reason), false)
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// closeReason makes reason fit in a close frame: valid UTF-8, at most 123
// bytes, cut at a rune boundary.
func closeReason(reason string) string {
	if !utf8.ValidString(reason) {
		reason = strings.ToValidUTF8(reason, "\uFFFD")
	}
	if len(reason) <= maxCloseReason {
		return reason
	}
	cut := maxCloseReason
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut]
}

// appendHeader appends a frame header with FIN set. When masked is true the
// caller appends the 4-byte mask key itself, right after the header.
func appendHeader(dst []byte, op Opcode, n int, masked bool) []byte {
	var b1 byte
	if masked {
		b1 = 0x80
	}
	b0 := 0x80 | byte(op)
	switch {
	case n <= 125:
		return append(dst, b0, b1|byte(n))
	case n <= 0xFFFF:
		return append(dst, b0, b1|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, b1|127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}

// maskBytes XORs b with the 4-byte mask key, starting at key position 0 as
// every frame does (RFC 6455 section 5.3). Masking and unmasking are the
// same operation.
func maskBytes(key [4]byte, b []byte) {
	k32 := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+32 <= len(b); i += 32 {
		s := b[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(s[0:], binary.LittleEndian.Uint64(s[0:])^k64)
		binary.LittleEndian.PutUint64(s[8:], binary.LittleEndian.Uint64(s[8:])^k64)
		binary.LittleEndian.PutUint64(s[16:], binary.LittleEndian.Uint64(s[16:])^k64)
		binary.LittleEndian.PutUint64(s[24:], binary.LittleEndian.Uint64(s[24:])^k64)
	}
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	// i is a multiple of 8, so the key lines up again at position 0.
	for j := range b[i:] {
		b[i+j] ^= key[j&3]
	}
}

// checkUTF8 validates the part of a text message added since from, and
// returns the offset up to which msg is known to be valid. When the message
// is not complete, a rune cut by a fragment boundary is left unchecked after
// that offset if it can still be completed, so that the next call finishes
// it; anything that can no longer become valid fails at once.
func checkUTF8(msg []byte, from int, final bool) (int, bool) {
	if final {
		return len(msg), utf8.Valid(msg[from:])
	}
	cut := len(msg)
	// A rune is at most 4 bytes, so an incomplete one starts in the last 3.
	for k := len(msg) - 1; k >= from && k >= len(msg)-3; k-- {
		if utf8.RuneStart(msg[k]) {
			// FullRune is false only for a valid but incomplete prefix.
			if !utf8.FullRune(msg[k:]) {
				cut = k
			}
			break
		}
	}
	if !utf8.Valid(msg[from:cut]) {
		return from, false
	}
	return cut, true
}
