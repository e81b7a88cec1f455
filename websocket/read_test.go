package websocket

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// violations lists client input that the server must refuse, each with the
// close code it must answer. Every case goes over a real loopback
// connection, through Upgrade, so the test also shows the server answers at
// once instead of waiting for more bytes.
var violations = []struct {
	name  string
	input []byte
	code  int
}{
	{"RSV1 set", frames(frame{rsv: 0x40, op: OpText, payload: []byte("x")}), CloseProtocolError},
	{"RSV2 set", frames(frame{rsv: 0x20, op: OpText, payload: []byte("x")}), CloseProtocolError},
	{"RSV3 set", frames(frame{rsv: 0x10, op: OpBinary}), CloseProtocolError},
	{"RSV on a ping", frames(frame{rsv: 0x40, op: OpPing}), CloseProtocolError},
	{"opcode 3", frames(frame{op: 3}), CloseProtocolError},
	{"opcode 7", frames(frame{op: 7, payload: []byte("x")}), CloseProtocolError},
	{"opcode 0xB", frames(frame{op: 0xB}), CloseProtocolError},
	{"opcode 0xF", frames(frame{op: 0xF}), CloseProtocolError},
	{"ping longer than 125", frames(frame{op: OpPing, payload: make([]byte, 126)}), CloseProtocolError},
	{"close longer than 125", frames(frame{op: OpClose, payload: closePayload(1000, strings.Repeat("x", 124))}), CloseProtocolError},
	{"pong announcing 64-bit length", frames(frame{op: OpPong, declared: 1 << 40}), CloseProtocolError},
	{"fragmented ping", frames(frame{notFin: true, op: OpPing}), CloseProtocolError},
	{"fragmented close", frames(frame{notFin: true, op: OpClose, payload: closePayload(1000, "")}), CloseProtocolError},
	{"unmasked frame", frames(frame{op: OpText, payload: []byte("hi"), unmasked: true}), CloseProtocolError},
	{"unmasked ping", frames(frame{op: OpPing, unmasked: true}), CloseProtocolError},
	{"continuation without start", frames(frame{op: OpContinuation, payload: []byte("x")}), CloseProtocolError},
	{"continuation after a complete message", frames(
		frame{op: OpText, payload: []byte("a")},
		frame{op: OpContinuation, payload: []byte("b")}), CloseProtocolError},
	{"text while fragmented text open", frames(
		frame{notFin: true, op: OpText, payload: []byte("a")},
		frame{op: OpText, payload: []byte("b")}), CloseProtocolError},
	{"binary while fragmented text open", frames(
		frame{notFin: true, op: OpText, payload: []byte("a")},
		frame{op: OpPing},
		frame{notFin: true, op: OpBinary, payload: []byte("b")}), CloseProtocolError},
	{"64-bit length with top bit", []byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, CloseProtocolError},
	{"close with 1-byte payload", frames(frame{op: OpClose, payload: []byte{3}}), CloseProtocolError},
	{"close code 0", frames(frame{op: OpClose, payload: closePayload(0, "")}), CloseProtocolError},
	{"close code 999", frames(frame{op: OpClose, payload: closePayload(999, "")}), CloseProtocolError},
	{"close code 1004", frames(frame{op: OpClose, payload: closePayload(1004, "")}), CloseProtocolError},
	{"close code 1005", frames(frame{op: OpClose, payload: closePayload(1005, "")}), CloseProtocolError},
	{"close code 1006", frames(frame{op: OpClose, payload: closePayload(1006, "")}), CloseProtocolError},
	{"close code 1015", frames(frame{op: OpClose, payload: closePayload(1015, "")}), CloseProtocolError},
	{"close code 1016", frames(frame{op: OpClose, payload: closePayload(1016, "")}), CloseProtocolError},
	{"close code 2999", frames(frame{op: OpClose, payload: closePayload(2999, "")}), CloseProtocolError},
	{"close code 5000", frames(frame{op: OpClose, payload: closePayload(5000, "")}), CloseProtocolError},
	{"close code 65535", frames(frame{op: OpClose, payload: closePayload(65535, "")}), CloseProtocolError},
	{"invalid UTF-8 in text", frames(frame{op: OpText, payload: []byte("ab\xffcd")}), CloseInvalidPayload},
	{"surrogate in text", frames(frame{op: OpText, payload: []byte("\xed\xa0\x80")}), CloseInvalidPayload},
	{"overlong encoding in text", frames(frame{op: OpText, payload: []byte("\xc0\xaf")}), CloseInvalidPayload},
	{"truncated rune at end of text", frames(frame{op: OpText, payload: []byte("a\xe2\x82")}), CloseInvalidPayload},
	{"invalid UTF-8 split across fragments", frames(
		frame{notFin: true, op: OpText, payload: []byte("a\xe2\x82")},
		frame{op: OpContinuation, payload: []byte("(")}), CloseInvalidPayload},
	{"truncated rune in final empty fragment", frames(
		frame{notFin: true, op: OpText, payload: []byte("a\xf0\x9f\x98")},
		frame{op: OpContinuation}), CloseInvalidPayload},
	// Only the first fragment is sent: the server must not wait for more.
	{"invalid UTF-8 fails before the message ends", frames(
		frame{notFin: true, op: OpText, payload: []byte("ok \xff")}), CloseInvalidPayload},
	{"impossible rune prefix fails before the message ends", frames(
		frame{notFin: true, op: OpText, payload: []byte("ok \xe0\x80")}), CloseInvalidPayload},
	{"invalid UTF-8 in close reason", frames(frame{op: OpClose, payload: closePayload(1000, "bye\xff")}), CloseInvalidPayload},
	// Headers only: the payload is never sent, so the server must decide
	// from the header.
	{"single frame over limit", frames(frame{op: OpBinary, declared: 64<<10 + 1}), CloseTooLarge},
	{"single frame far over limit", frames(frame{op: OpBinary, declared: 1 << 62}), CloseTooLarge},
	{"fragments over limit", append(frames(
		frame{notFin: true, op: OpText, payload: bytes.Repeat([]byte("a"), 40<<10)},
		frame{op: OpPing, payload: []byte("still alive")}),
		frames(frame{op: OpContinuation, declared: 30 << 10})...), CloseTooLarge},
}

func TestViolationsOverLoopback(t *testing.T) {
	wsURL, results := startEcho(t, nil)
	for _, tt := range violations {
		t.Run(tt.name, func(t *testing.T) {
			rc := rawDial(t, wsURL, nil)
			rc.write(tt.input)
			if code := rc.readClose(); code != tt.code {
				t.Errorf("server closed with %d, want %d", code, tt.code)
			}
			res := waitResult(t, results)
			var ce *CloseError
			if !errors.As(res.err, &ce) || ce.Received || ce.Code != tt.code {
				t.Errorf("ReadMessage error %v, want a violation with code %d", res.err, tt.code)
			}
		})
	}
}

// Close frames the peer may send are reported as received, for the caller
// to echo.
func TestReceivedClose(t *testing.T) {
	tests := []struct {
		payload []byte
		code    int
		reason  string
	}{
		{nil, CloseNoStatus, ""},
		{closePayload(1000, ""), 1000, ""},
		{closePayload(1001, "going"), 1001, "going"},
		{closePayload(1003, ""), 1003, ""},
		{closePayload(1007, ""), 1007, ""},
		{closePayload(1011, "oops"), 1011, "oops"},
		{closePayload(3000, ""), 3000, ""},
		{closePayload(4999, "ünïcode"), 4999, "ünïcode"},
		{closePayload(1000, strings.Repeat("é", 61)+"x"), 1000, strings.Repeat("é", 61) + "x"},
	}
	for _, tt := range tests {
		c := memConn(frames(frame{op: OpClose, payload: tt.payload}), true)
		_, _, err := c.ReadMessage()
		var ce *CloseError
		if !errors.As(err, &ce) || !ce.Received || ce.Code != tt.code || ce.Reason != tt.reason {
			t.Errorf("close payload %q: got %v, want received %d %q", tt.payload, err, tt.code, tt.reason)
		}
	}

	// And over loopback, echoed with the same code.
	wsURL, results := startEcho(t, nil)
	rc := rawDial(t, wsURL, nil)
	rc.write(frames(frame{op: OpClose, payload: closePayload(4321, "done")}))
	if code := rc.readClose(); code != 4321 {
		t.Fatalf("echoed %d, want 4321", code)
	}
	waitResult(t, results)
}

// A server reading from a client must refuse masked frames from a
// server, i.e. a client Conn refuses them.
func TestClientRefusesMaskedFrames(t *testing.T) {
	c := memConn(frames(frame{op: OpText, payload: []byte("hi")}), false)
	_, _, err := c.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Received || ce.Code != CloseProtocolError {
		t.Fatalf("got %v, want protocol error", err)
	}
	c = memConn(AppendFrame(nil, OpText, []byte("hi")), false)
	if op, p, err := c.ReadMessage(); err != nil || op != OpText || string(p) != "hi" {
		t.Fatalf("unmasked frame: %v %q %v", op, p, err)
	}
}

func TestFragmentsAndControlFrames(t *testing.T) {
	input := frames(
		frame{op: OpPing, payload: []byte("p0")},
		frame{notFin: true, op: OpText, payload: []byte("h\xc3")}, // é cut in half
		frame{op: OpPing, payload: []byte("p1")},
		frame{notFin: true, op: OpContinuation, payload: []byte("\xa9llo ")},
		frame{notFin: true, op: OpContinuation},
		frame{op: OpPong, payload: []byte("q")},
		frame{op: OpContinuation, payload: []byte("wörld")},
		frame{notFin: true, op: OpBinary, payload: []byte{0xff}},
		frame{op: OpContinuation, payload: []byte{0xfe}},
		frame{op: OpText},
		frame{op: OpText, notFin: true},
		frame{op: OpContinuation},
	)
	c := memConn(input, true)
	var pings, pongs []string
	c.OnPing = func(p []byte) { pings = append(pings, string(p)) }
	c.OnPong = func(p []byte) { pongs = append(pongs, string(p)) }
	want := []struct {
		op Opcode
		p  string
	}{{OpText, "héllo wörld"}, {OpBinary, "\xff\xfe"}, {OpText, ""}, {OpText, ""}}
	for _, w := range want {
		op, p, err := c.ReadMessage()
		if err != nil || op != w.op || string(p) != w.p {
			t.Fatalf("got %v %q %v, want %v %q", op, p, err, w.op, w.p)
		}
		if p == nil {
			t.Fatalf("empty message returned as nil")
		}
	}
	if strings.Join(pings, ",") != "p0,p1" || strings.Join(pongs, ",") != "q" {
		t.Fatalf("pings %q pongs %q", pings, pongs)
	}
	if _, _, err := c.ReadMessage(); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
	// The error sticks.
	if _, _, err := c.ReadMessage(); err != io.EOF {
		t.Fatalf("again: %v, want io.EOF", err)
	}
}

func TestTruncatedInput(t *testing.T) {
	full := frames(frame{op: OpText, payload: []byte(strings.Repeat("x", 300))})
	for n := 1; n < len(full); n++ {
		c := memConn(full[:n], true)
		if _, _, err := c.ReadMessage(); err != io.ErrUnexpectedEOF {
			t.Fatalf("cut at %d: %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
}

func TestReadLimit(t *testing.T) {
	msg := bytes.Repeat([]byte("z"), 1000)
	for _, tt := range []struct {
		limit int64
		ok    bool
	}{{1000, true}, {999, false}, {0, true}, {-1, true}} {
		c := memConn(frames(
			frame{notFin: true, op: OpBinary, payload: msg[:500]},
			frame{op: OpContinuation, payload: msg[500:]}), true)
		c.ReadLimit = tt.limit
		_, p, err := c.ReadMessage()
		if tt.ok != (err == nil) {
			t.Errorf("limit %d: %v", tt.limit, err)
		}
		if err == nil && !bytes.Equal(p, msg) {
			t.Errorf("limit %d: wrong payload", tt.limit)
		}
	}
}

// What a frame header announces must not decide what is allocated: a
// peer that announces a large frame and sends little costs little.
func TestAnnouncedLengthIsNotAllocated(t *testing.T) {
	for _, tt := range []struct {
		name    string
		input   []byte
		limit   int64
		maxHeap uint64
	}{
		{"over the limit", frames(frame{op: OpBinary, declared: 1 << 62}), 1 << 10, 4 << 10},
		{"within a large limit, sent in part", frames(frame{op: OpBinary, payload: make([]byte, 1<<20)})[:100], 1 << 30, 16 << 10},
		{"many fragments over the limit", frames(
			frame{notFin: true, op: OpBinary, payload: make([]byte, 1000)},
			frame{notFin: true, op: OpContinuation, payload: make([]byte, 1000)},
			frame{op: OpContinuation, declared: 1 << 40}), 4 << 10, 12 << 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := memConn(tt.input, true)
			c.ReadLimit = tt.limit
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := c.ReadMessage()
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("no error")
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > tt.maxHeap {
				t.Fatalf("allocated %d bytes, want at most %d (err %v)", got, tt.maxHeap, err)
			}
		})
	}
}

// checkUTF8 must agree with utf8.Valid on the whole message wherever the
// message is cut into fragments, and fail on the first fragment that can
// no longer be completed into valid text.
func TestCheckUTF8AcrossFragments(t *testing.T) {
	samples := []string{
		"", "a", "héllo", "€", "😀", "a😀b€cé", "\xff", "a\xffb", "\xc0\xaf", "\xed\xa0\x80",
		"\xe2\x82", "\xe2\x82\xac\xac", "\xf4\x90\x80\x80", "\xf0\x9f\x98", "x\xf0\x9f\x98\x80\x80",
		"\xe0\x80\x80", "\xf0\x80\x80\x80", "é\xa9", "日本語のテキスト", "\x80abc",
	}
	for _, s := range samples {
		want := utf8.ValidString(s)
		for i := 0; i <= len(s); i++ {
			for j := i; j <= len(s); j++ {
				parts := []string{s[:i], s[i:j], s[j:]}
				msg, checked, ok := []byte(nil), 0, true
				for k, p := range parts {
					msg = append(msg, p...)
					if checked, ok = checkUTF8(msg, checked, k == len(parts)-1); !ok {
						break
					}
					// Fail fast: a prefix that cannot be completed must fail now.
					if k < len(parts)-1 && !canComplete(msg) {
						t.Fatalf("%q cut at %d,%d: prefix %q accepted but cannot become valid", s, i, j, msg)
					}
				}
				if ok != want {
					t.Fatalf("%q cut at %d,%d: got %v, want %v", s, i, j, ok, want)
				}
			}
		}
	}
}

// canComplete reports whether some suffix makes b valid UTF-8.
func canComplete(b []byte) bool {
	for _, tail := range []string{"", "\x80", "\x80\x80", "\x80\x80\x80", "\x90\x80\x80", "\xa0\x80", "\xbf", "\xbf\xbf", "\x8f\x80\x80", "\x9f\xbf"} {
		if utf8.Valid(append(bytes.Clone(b), tail...)) {
			return true
		}
	}
	return false
}
