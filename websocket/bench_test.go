package websocket

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

func BenchmarkAppendFrame(b *testing.B) {
	for _, n := range []int{16, 256, 4096} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			payload := []byte(strings.Repeat("x", n))
			buf := make([]byte, 0, n+maxHeaderSize)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendFrame(buf[:0], OpText, payload)
			}
		})
	}
}

// repeatReader yields the same bytes forever, so the benchmark measures
// ReadMessage rather than the network.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.data[r.off:])
		n += k
		r.off = (r.off + k) % len(r.data)
	}
	return n, nil
}

var _ io.Reader = (*repeatReader)(nil)

// BenchmarkReadMessage reads small masked text frames, the shape of chat
// traffic from browsers.
func BenchmarkReadMessage(b *testing.B) {
	for _, n := range []int{16, 128, 1024} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			msg := []byte(`{"type":"send","room":"general","body":"` + strings.Repeat("ü", n) + `"}`)[:n]
			msg = []byte(strings.ToValidUTF8(string(msg), ""))
			c := newConn(readerConn{Reader: &repeatReader{data: frames(frame{op: OpText, payload: msg})}}, true)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteMessageClient is the load generator's send path.
func BenchmarkWriteMessageClient(b *testing.B) {
	c := newConn(discardConn{}, false)
	msg := []byte(`{"type":"send","room":"general","body":"hello there"}`)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteMessage(OpText, msg); err != nil {
			b.Fatal(err)
		}
	}
}

type discardConn struct{ writeRecorder }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }
