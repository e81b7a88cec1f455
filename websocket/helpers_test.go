package websocket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testTimeout bounds every blocking step of a test, so a bug shows up as a
// failure instead of a hang.
const testTimeout = 10 * time.Second

// serverResult is what an echo handler reports when its connection ends.
type serverResult struct {
	err  error    // the error that ended ReadMessage
	pong []string // payloads seen by OnPong
}

// startEcho starts a loopback HTTP server whose handler upgrades, then
// echoes every message with AppendFrame, answers pings from OnPing, echoes
// close codes and answers violations with their code, the way Hanashi's
// server does, writing straight to NetConn. configure, if set, adjusts the
// Conn first. Each connection's result is sent on the returned channel.
func startEcho(t *testing.T, configure func(*Conn)) (wsURL string, results <-chan serverResult) {
	t.Helper()
	ch := make(chan serverResult, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r)
		if err != nil {
			ch <- serverResult{err: err}
			return
		}
		defer c.Close()
		_ = c.NetConn().SetDeadline(time.Now().Add(testTimeout))
		var res serverResult
		write := func(b []byte) { _, _ = c.NetConn().Write(b) }
		c.OnPing = func(p []byte) { write(AppendFrame(nil, OpPong, p)) }
		c.OnPong = func(p []byte) { res.pong = append(res.pong, string(p)) }
		if configure != nil {
			configure(c)
		}
		for {
			op, p, err := c.ReadMessage()
			if err != nil {
				var ce *CloseError
				if errors.As(err, &ce) {
					// Echo the peer's code, or send the violation's.
					write(AppendClose(nil, ce.Code, ce.Reason))
				}
				res.err = err
				ch <- res
				return
			}
			if op == OpText && string(p) == "ping-me" {
				write(AppendFrame(nil, OpPing, []byte("from-server")))
			}
			write(AppendFrame(nil, op, p))
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/", ch
}

// waitResult waits for a server handler to finish.
func waitResult(t *testing.T, ch <-chan serverResult) serverResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(testTimeout):
		t.Fatal("server handler did not finish")
		return serverResult{}
	}
}

// rfcKey is the example key of RFC 6455 section 1.3, with its accept value.
const (
	rfcKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	rfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// rawConn is a client that speaks WebSocket by hand, so tests can send
// frames our Conn would never produce and see exactly what the server sends.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

// rawDial opens a TCP connection to wsURL and performs the handshake with
// the RFC's example key; extra is written right behind the request.
func rawDial(t *testing.T, wsURL string, extra []byte) *rawConn {
	t.Helper()
	host := strings.TrimSuffix(strings.TrimPrefix(wsURL, "ws://"), "/")
	nc, err := net.DialTimeout("tcp", host, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(testTimeout))
	req := "GET / HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + rfcKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), extra...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != rfcAccept {
		t.Fatalf("handshake: status %d, accept %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	return &rawConn{t: t, nc: nc, br: br}
}

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// rawFrame is a frame as seen on the wire.
type rawFrame struct {
	fin     bool
	op      Opcode
	payload []byte
}

// readFrame parses one server frame independently of the package's reader.
func (r *rawConn) readFrame() (rawFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return rawFrame{}, err
	}
	if h[0]&0x70 != 0 || h[1]&0x80 != 0 {
		return rawFrame{}, fmt.Errorf("server frame with RSV or mask bits: % x", h)
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r.br, l[:]); err != nil {
			return rawFrame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(r.br, l[:]); err != nil {
			return rawFrame{}, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r.br, p); err != nil {
		return rawFrame{}, err
	}
	return rawFrame{fin: h[0]&0x80 != 0, op: Opcode(h[0] & 0x0F), payload: p}, nil
}

// readClose reads frames until a close frame and returns its code (1005
// for an empty one).
func (r *rawConn) readClose() int {
	r.t.Helper()
	for {
		f, err := r.readFrame()
		if err != nil {
			r.t.Fatalf("waiting for a close frame: %v", err)
		}
		if f.op != OpClose {
			continue
		}
		if len(f.payload) < 2 {
			return CloseNoStatus
		}
		return int(binary.BigEndian.Uint16(f.payload))
	}
}

// frame builds a client frame by hand. Its length is encoded in the
// shortest form unless lenBytes forces 2 or 8 bytes; declared, if not
// negative, replaces the real payload length in the header.
type frame struct {
	notFin   bool
	rsv      byte // 0x40, 0x20, 0x10
	op       Opcode
	payload  []byte
	unmasked bool
	declared int64
	lenBytes int
}

func (f frame) bytes() []byte {
	b0 := byte(f.op) | f.rsv
	if !f.notFin {
		b0 |= 0x80
	}
	var b1 byte
	if !f.unmasked {
		b1 = 0x80
	}
	n := uint64(len(f.payload))
	if f.declared > 0 {
		n = uint64(f.declared)
	}
	out := []byte{b0}
	switch {
	case f.lenBytes == 8 || (f.lenBytes == 0 && n > 0xFFFF):
		out = append(out, b1|127)
		out = binary.BigEndian.AppendUint64(out, n)
	case f.lenBytes == 2 || (f.lenBytes == 0 && n > 125):
		out = append(out, b1|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, b1|byte(n))
	}
	p := bytes.Clone(f.payload)
	if !f.unmasked {
		key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
		out = append(out, key[:]...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return append(out, p...)
}

// frames concatenates client frames.
func frames(fs ...frame) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.bytes()...)
	}
	return b
}

// closePayload builds a close frame payload.
func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// memConn reads a server (or client) Conn from bytes, without a network.
func memConn(data []byte, server bool) *Conn {
	return newConn(readerConn{Reader: bytes.NewReader(data)}, server)
}

// readerConn is a net.Conn that reads from r; the embedded nil interface
// makes any other method fail loudly.
type readerConn struct {
	net.Conn
	io.Reader
}

func (c readerConn) Read(p []byte) (int, error) { return c.Reader.Read(p) }

// writeRecorder is a net.Conn that records writes; the embedded nil
// interface makes any other method fail loudly.
type writeRecorder struct {
	net.Conn
	buf bytes.Buffer
}

func (w *writeRecorder) Write(p []byte) (int, error) { return w.buf.Write(p) }
