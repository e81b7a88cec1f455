package websocket

import (
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// FuzzReadMessage feeds arbitrary bytes to ReadMessage, as frames from a
// client (or, with fromServer, from a server). Whatever the input, it must
// not panic, must return only valid messages, must end with one of the
// documented errors, and must never hold a message larger than ReadLimit.
func FuzzReadMessage(f *testing.F) {
	seeds := [][]byte{
		frames(frame{op: OpText, payload: []byte("hello")}),
		frames(frame{op: OpBinary, payload: make([]byte, 300)}),
		frames(frame{notFin: true, op: OpText, payload: []byte("a\xe2")}, frame{op: OpPing, payload: []byte("p")},
			frame{op: OpContinuation, payload: []byte("\x82\xac")}),
		frames(frame{op: OpClose, payload: closePayload(1000, "bye")}),
		frames(frame{op: OpBinary, declared: 1 << 20}),
		AppendFrame(nil, OpText, []byte("from a server")),
		AppendClose(nil, 4001, "revoked"),
	}
	for _, v := range violations {
		seeds = append(seeds, v.input)
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	const limit = 1 << 10
	f.Fuzz(func(t *testing.T, data []byte, fromServer bool) {
		c := memConn(data, !fromServer)
		c.ReadLimit = limit
		c.OnPing = func(p []byte) {
			if len(p) > maxControlPayload {
				t.Fatalf("ping payload of %d bytes", len(p))
			}
		}
		for {
			op, p, err := c.ReadMessage()
			if err != nil {
				var ce *CloseError
				switch {
				case err == io.EOF, err == io.ErrUnexpectedEOF:
				case !errors.As(err, &ce):
					t.Fatalf("unexpected error %v", err)
				case ce.Received:
					if ce.Code != CloseNoStatus && !validCloseCode(ce.Code) || !utf8.ValidString(ce.Reason) {
						t.Fatalf("received close %d %q", ce.Code, ce.Reason)
					}
				case ce.Code != CloseProtocolError && ce.Code != CloseInvalidPayload && ce.Code != CloseTooLarge:
					t.Fatalf("violation with code %d", ce.Code)
				}
				return
			}
			if op != OpText && op != OpBinary {
				t.Fatalf("opcode %v", op)
			}
			if cap(p) > limit {
				t.Fatalf("message buffer of %d bytes, limit %d", cap(p), limit)
			}
			if op == OpText && !utf8.Valid(p) {
				t.Fatalf("invalid UTF-8 returned: %q", p)
			}
		}
	})
}
