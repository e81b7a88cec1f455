package websocket

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendFrameHeaders(t *testing.T) {
	tests := []struct {
		n      int
		header []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{0xFFFF, []byte{0x81, 126, 0xFF, 0xFF}},
		{0x10000, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, tt := range tests {
		payload := bytes.Repeat([]byte("x"), tt.n)
		got := AppendFrame([]byte("prefix"), OpText, payload)
		want := append(append([]byte("prefix"), tt.header...), payload...)
		if !bytes.Equal(got, want) {
			t.Errorf("length %d: header % x, want % x", tt.n, got[6:min(len(got), 6+10)], tt.header)
		}
	}
}

// Control payloads are cut to 125 bytes so the frame stays valid, and a
// bogus opcode cannot set FIN or RSV bits.
func TestAppendFrameStaysValid(t *testing.T) {
	f := AppendFrame(nil, OpPing, make([]byte, 300))
	if len(f) != 2+125 || f[1] != 125 {
		t.Fatalf("ping frame of %d bytes, length byte %d", len(f), f[1])
	}
	if f := AppendFrame(nil, Opcode(0xF2), nil); f[0] != 0x82 {
		t.Fatalf("first byte %#x, want 0x82", f[0])
	}
}

func TestAppendClose(t *testing.T) {
	tests := []struct {
		name   string
		code   int
		reason string
		want   []byte // payload
	}{
		{"normal", CloseNormal, "", closePayload(1000, "")},
		{"with reason", 4001, "session revoked", closePayload(4001, "session revoked")},
		{"no status", CloseNoStatus, "ignored", nil},
		{"1006", 1006, "", nil},
		{"out of range", 70000, "", nil},
		{"negative", -1, "", nil},
		{"invalid UTF-8 replaced", 1000, "a\xffb", closePayload(1000, "a\uFFFDb")},
		{"long ASCII cut to 123", 1000, strings.Repeat("a", 200), closePayload(1000, strings.Repeat("a", 123))},
		// 61 two-byte runes fill 122 bytes; the 62nd would cross 123.
		{"long UTF-8 cut at a rune", 1000, strings.Repeat("é", 100), closePayload(1000, strings.Repeat("é", 61))},
		{"4-byte runes", 1000, strings.Repeat("😀", 40), closePayload(1000, strings.Repeat("😀", 30))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := AppendClose(nil, tt.code, tt.reason)
			if f[0] != 0x88 || int(f[1]) != len(f)-2 {
				t.Fatalf("header % x for %d bytes", f[:2], len(f))
			}
			if !bytes.Equal(f[2:], tt.want) {
				t.Fatalf("payload %q, want %q", f[2:], tt.want)
			}
			// Whatever AppendClose writes, our reader accepts as a close.
			c := memConn(f, false)
			_, _, err := c.ReadMessage()
			var ce *CloseError
			if !errors.As(err, &ce) || !ce.Received {
				t.Fatalf("reading it back: %v", err)
			}
		})
	}
}

func TestMaskBytes(t *testing.T) {
	key := [4]byte{0xde, 0xad, 0xbe, 0xef}
	for n := range 100 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 31)
		}
		want := bytes.Clone(b)
		for i := range want {
			want[i] ^= key[i%4]
		}
		maskBytes(key, b)
		if !bytes.Equal(b, want) {
			t.Fatalf("length %d: wrong mask", n)
		}
	}
}

// A client Conn's frames are masked with a fresh key each time and read
// back by a server Conn; a server Conn's are not masked.
func TestWriteMessageRoundTrip(t *testing.T) {
	w := &writeRecorder{}
	client := newConn(w, false)
	msgs := []string{"", "hi", strings.Repeat("ü", 100), strings.Repeat("x", 70000)}
	for _, m := range msgs {
		if err := client.WriteMessage(OpText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.WriteMessage(OpPing, []byte("p")); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteMessage(OpPing, make([]byte, 126)); err == nil {
		t.Fatal("126-byte ping accepted")
	}
	if err := client.WriteMessage(OpClose, nil); err == nil {
		t.Fatal("WriteMessage(OpClose) accepted")
	}
	if err := client.WriteMessage(OpContinuation, nil); err == nil {
		t.Fatal("WriteMessage(OpContinuation) accepted")
	}
	if err := client.WriteClose(4000, "bye"); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteClose(4000, "again"); !errors.Is(err, ErrCloseSent) {
		t.Fatalf("second close: %v", err)
	}
	if cap(client.wbuf) > maxKeptWriteBuffer {
		t.Fatalf("kept a %d-byte write buffer", cap(client.wbuf))
	}

	// Two identical messages must not be masked identically.
	w2 := &writeRecorder{}
	c2 := newConn(w2, false)
	_ = c2.WriteMessage(OpBinary, make([]byte, 8))
	_ = c2.WriteMessage(OpBinary, make([]byte, 8))
	if b := w2.buf.Bytes(); bytes.Equal(b[2:6], b[16:20]) {
		t.Fatalf("same mask key twice: % x", b[2:6])
	}

	server := memConn(w.buf.Bytes(), true)
	server.ReadLimit = 1 << 20
	var ping string
	server.OnPing = func(p []byte) { ping = string(p) }
	for _, m := range msgs {
		op, p, err := server.ReadMessage()
		if err != nil || op != OpText || string(p) != m {
			t.Fatalf("read %v %d bytes %v, want %d bytes", op, len(p), err, len(m))
		}
	}
	_, _, err := server.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || !ce.Received || ce.Code != 4000 || ce.Reason != "bye" || ping != "p" {
		t.Fatalf("got %v, ping %q", err, ping)
	}

	ws := &writeRecorder{}
	srv := newConn(ws, true)
	if err := srv.WriteMessage(OpBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if got := ws.buf.Bytes(); !bytes.Equal(got, AppendFrame(nil, OpBinary, []byte{1, 2, 3})) {
		t.Fatalf("server frame % x", got)
	}
}

func TestCloseErrorMessages(t *testing.T) {
	for _, e := range []*CloseError{
		{Code: 1000, Received: true},
		{Code: 4001, Reason: "revoked", Received: true},
		{Code: 1002, Reason: "unknown opcode 3"},
	} {
		if s := e.Error(); !strings.Contains(s, "websocket") || !strings.Contains(s, e.Reason) || !utf8.ValidString(s) {
			t.Errorf("%#v: %q", e, s)
		}
	}
	if s := Opcode(3).String(); s != "opcode(3)" {
		t.Errorf("Opcode(3) = %q", s)
	}
}
