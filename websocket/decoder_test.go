package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// event is what a Decoder returned: a message, a ping or a pong.
type event struct {
	op      Opcode
	payload string
}

// decodeChunks feeds data to d the way an event loop does: in pieces of
// the sizes cut returns, keeping the bytes of an incomplete frame for the
// next piece. It returns what d decoded, the error it ended with (nil if
// the input ran out first) and how many bytes of an incomplete frame were
// left over.
func decodeChunks(d *Decoder, data []byte, cut func() int) (events []event, left int, err error) {
	var pending []byte
	for len(data) > 0 {
		k := min(max(cut(), 1), len(data))
		pending = append(pending, data[:k]...)
		data = data[k:]
		for {
			op, p, n, err := d.Next(pending)
			if err != nil {
				return events, 0, err
			}
			pending = pending[n:]
			if op == 0 {
				break
			}
			events = append(events, event{op, string(p)})
		}
		// What is left is the start of one frame, never more.
		if len(pending) > 0 && frameSize(pending, !d.fromServer) > 0 && frameSize(pending, !d.fromServer) <= len(pending) {
			return events, 0, fmt.Errorf("a complete frame of %d bytes was left undecoded", len(pending))
		}
		pending = append([]byte(nil), pending...) // as an event loop keeps it
	}
	return events, len(pending), nil
}

// Every violation is found whatever pieces the bytes arrive in, and as
// soon as the bytes that show it are there.
func TestDecoderViolationsInPieces(t *testing.T) {
	for _, tt := range violations {
		for _, size := range []int{1, 2, 3, 7, 1 << 20} {
			d := Decoder{}
			_, _, err := decodeChunks(&d, bytes.Clone(tt.input), func() int { return size })
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Received || ce.Code != tt.code {
				t.Errorf("%s, %d-byte pieces: %v, want a violation with code %d", tt.name, size, err, tt.code)
			}
			// The error sticks.
			if _, _, n, err2 := d.Next([]byte{0x81, 0x80, 0, 0, 0, 0}); err2 != err || n != 0 {
				t.Errorf("%s: after the error Next returned %v, %d", tt.name, err2, n)
			}
		}
	}
}

// Messages, fragments and control frames come out the same whatever
// pieces the bytes arrive in.
func TestDecoderPieces(t *testing.T) {
	input := frames(
		frame{op: OpPing, payload: []byte("p0")},
		frame{notFin: true, op: OpText, payload: []byte("h\xc3")},
		frame{op: OpPing, payload: []byte("p1")},
		frame{notFin: true, op: OpContinuation, payload: []byte("\xa9llo ")},
		frame{notFin: true, op: OpContinuation},
		frame{op: OpPong, payload: []byte("q")},
		frame{op: OpContinuation, payload: []byte("wörld")},
		frame{op: OpText, payload: []byte(strings.Repeat("x", 300))},
		frame{op: OpBinary, payload: bytes.Repeat([]byte{0xfe}, 70000)},
		frame{op: OpText},
		frame{op: OpClose, payload: closePayload(4001, "bye")},
	)
	want := []event{
		{OpPing, "p0"}, {OpPing, "p1"}, {OpPong, "q"}, {OpText, "héllo wörld"},
		{OpText, strings.Repeat("x", 300)}, {OpBinary, strings.Repeat("\xfe", 70000)}, {OpText, ""},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cuts := map[string]func() int{
		"whole":   func() int { return len(input) },
		"bytes":   func() int { return 1 },
		"random":  func() int { return 1 + rng.IntN(40) },
		"512":     func() int { return 512 },
		"uneven3": func() int { return 3 },
	}
	for name, cut := range cuts {
		d := Decoder{ReadLimit: 1 << 20}
		got, _, err := decodeChunks(&d, bytes.Clone(input), cut)
		var ce *CloseError
		if !errors.As(err, &ce) || !ce.Received || ce.Code != 4001 || ce.Reason != "bye" {
			t.Errorf("%s: ended with %v, want the peer's close 4001", name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: decoded %.200v\nwant %.200v", name, got, want)
		}
		if d.Reassembling() {
			t.Errorf("%s: still reassembling", name)
		}
	}
}

// A message in one frame is returned in place, unmasked, without a copy.
func TestDecoderReturnsInPlace(t *testing.T) {
	b := frames(frame{op: OpText, payload: []byte("hello")}, frame{op: OpText, payload: []byte("again")})
	var d Decoder
	op, p, n, err := d.Next(b)
	if err != nil || op != OpText || string(p) != "hello" || n != 11 {
		t.Fatalf("got %v %q %d %v", op, p, n, err)
	}
	if &p[0] != &b[6] {
		t.Fatal("payload is a copy")
	}
	// An incomplete frame is left alone, masked, for the next call.
	op, p, n, err = d.Next(b[n : len(b)-1])
	if err != nil || op != 0 || p != nil || n != 0 {
		t.Fatalf("incomplete frame: got %v %q %d %v", op, p, n, err)
	}
	if string(b[17:]) == "again" {
		t.Fatal("an incomplete frame was unmasked")
	}
}

// The decoder agrees with itself whatever the pieces: FuzzReadMessage
// checks what ReadMessage (which reads in its own pieces) returns; this
// checks that cutting the same bytes differently changes nothing.
func FuzzDecoderPieces(f *testing.F) {
	f.Add(frames(frame{notFin: true, op: OpText, payload: []byte("a\xe2")}, frame{op: OpPing, payload: []byte("p")},
		frame{op: OpContinuation, payload: []byte("\x82\xac")}), uint64(1), false)
	f.Add(AppendFrame(AppendFrame(nil, OpText, []byte("from a server")), OpBinary, make([]byte, 200)), uint64(7), true)
	for i, v := range violations {
		f.Add(v.input, uint64(i), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, fromServer bool) {
		whole := Decoder{ReadLimit: 1 << 10, fromServer: fromServer}
		wantEvents, wantLeft, wantErr := decodeChunks(&whole, bytes.Clone(data), func() int { return len(data) })
		rng := rand.New(rand.NewPCG(seed, seed))
		cut := Decoder{ReadLimit: 1 << 10, fromServer: fromServer}
		events, left, err := decodeChunks(&cut, bytes.Clone(data), func() int { return 1 + rng.IntN(16) })
		if fmt.Sprint(events) != fmt.Sprint(wantEvents) {
			t.Fatalf("in pieces: %v\nwhole: %v", events, wantEvents)
		}
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || left != wantLeft {
			t.Fatalf("in pieces: ended with %v (%d left), whole: %v (%d left)", err, left, wantErr, wantLeft)
		}
		// ReadMessage, through Conn's own buffering, sees the same.
		c := memConn(data, !fromServer)
		c.ReadLimit = 1 << 10
		var got []event
		c.OnPing = func(p []byte) { got = append(got, event{OpPing, string(p)}) }
		c.OnPong = func(p []byte) { got = append(got, event{OpPong, string(p)}) }
		for {
			op, p, err := c.ReadMessage()
			if err != nil {
				if wantErr == nil && err != io.EOF && err != io.ErrUnexpectedEOF || wantErr != nil && err.Error() != wantErr.Error() {
					t.Fatalf("ReadMessage ended with %v, decoder with %v", err, wantErr)
				}
				break
			}
			got = append(got, event{op, string(p)})
		}
		if fmt.Sprint(got) != fmt.Sprint(wantEvents) {
			t.Fatalf("ReadMessage: %v\ndecoder: %v", got, wantEvents)
		}
	})
}

// BenchmarkDecoder decodes small masked text frames from a buffer, the
// event loop's read path: no copy and no allocation per message.
func BenchmarkDecoder(b *testing.B) {
	msg := []byte(`{"type":"send","room":3,"client_id":"c-1","body":"hello there"}`)
	one := frames(frame{op: OpText, payload: msg})
	buf := bytes.Repeat(one, 64)
	work := make([]byte, len(buf))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var d Decoder
	i := 0
	for b.Loop() {
		if i == 0 {
			copy(work, buf) // unmasking happens in place
		}
		off := i * len(one)
		op, _, n, err := d.Next(work[off : off+len(one)])
		if err != nil || op != OpText || n != len(one) {
			b.Fatal(op, n, err)
		}
		i = (i + 1) % 64
	}
}
