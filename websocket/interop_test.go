package websocket

// Interoperability with gorilla/websocket, an independent implementation,
// in both directions. Gorilla is used here only as a test peer.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
)

// testMessages covers every length encoding and both data opcodes.
func testMessages() []struct {
	op      Opcode
	payload []byte
} {
	big := bytes.Repeat([]byte("héllo wörld ✓ 😀 "), 20000) // ~480 KB, multi-byte runes
	bin := make([]byte, 70000)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	return []struct {
		op      Opcode
		payload []byte
	}{
		{OpText, []byte("hello")},
		{OpText, []byte{}},
		{OpBinary, []byte{0, 1, 2, 0xff}},
		{OpText, bytes.Repeat([]byte("a"), 125)},
		{OpText, bytes.Repeat([]byte("b"), 126)},
		{OpBinary, bin[:65535]},
		{OpBinary, bin[:65536]},
		{OpBinary, bin},
		{OpText, big},
	}
}

func TestGorillaClientToOurServer(t *testing.T) {
	wsURL, results := startEcho(t, func(c *Conn) { c.ReadLimit = 1 << 20 })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	gc, _, err := gorilla.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	_ = gc.SetReadDeadline(time.Now().Add(testTimeout))
	var pongs []string
	gc.SetPongHandler(func(s string) error { pongs = append(pongs, s); return nil })

	for _, m := range testMessages() {
		if err := gc.WriteMessage(int(m.op), m.payload); err != nil {
			t.Fatal(err)
		}
		typ, got, err := gc.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if typ != int(m.op) || !bytes.Equal(got, m.payload) {
			t.Fatalf("echo of %v (%d bytes): got type %d, %d bytes", m.op, len(m.payload), typ, len(got))
		}
	}

	// Our server answers gorilla's ping through OnPing; the pong arrives
	// before the echo of the message sent after the ping.
	if err := gc.WriteControl(gorilla.PingMessage, []byte("client-ping"), time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
	// Our server pings on "ping-me"; gorilla's default handler answers,
	// and OnPong records it.
	if err := gc.WriteMessage(gorilla.TextMessage, []byte("ping-me")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := gc.ReadMessage(); err != nil || string(got) != "ping-me" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	if len(pongs) != 1 || pongs[0] != "client-ping" {
		t.Fatalf("gorilla saw pongs %q, want [client-ping]", pongs)
	}

	// A close code is echoed back.
	msg := gorilla.FormatCloseMessage(4001, "bye")
	if err := gc.WriteControl(gorilla.CloseMessage, msg, time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
	_, _, err = gc.ReadMessage()
	var ge *gorilla.CloseError
	if !errors.As(err, &ge) || ge.Code != 4001 || ge.Text != "bye" {
		t.Fatalf("gorilla got %v, want close 4001 bye", err)
	}
	res := waitResult(t, results)
	var ce *CloseError
	if !errors.As(res.err, &ce) || !ce.Received || ce.Code != 4001 || ce.Reason != "bye" {
		t.Fatalf("server got %v, want received close 4001 bye", res.err)
	}
	if len(res.pong) != 1 || res.pong[0] != "from-server" {
		t.Fatalf("server saw pongs %q, want [from-server]", res.pong)
	}
}

// startGorilla starts a gorilla echo server. It writes with NextWriter and
// a small write buffer, so that large messages reach our client as many
// fragments, and pings the client on "ping-me".
func startGorilla(t *testing.T, tlsOn bool) (wsURL string, srv *httptest.Server, pongs <-chan string, closes <-chan error) {
	t.Helper()
	pongCh := make(chan string, 4)
	closeCh := make(chan error, 4)
	up := gorilla.Upgrader{WriteBufferSize: 1000}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gc, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer gc.Close()
		gc.SetReadLimit(1 << 20)
		_ = gc.SetReadDeadline(time.Now().Add(testTimeout))
		gc.SetPongHandler(func(s string) error { pongCh <- s; return nil })
		for {
			typ, p, err := gc.ReadMessage()
			if err != nil {
				closeCh <- err
				return
			}
			if string(p) == "ping-me" {
				_ = gc.WriteControl(gorilla.PingMessage, []byte("gorilla-ping"), time.Now().Add(testTimeout))
			}
			w, err := gc.NextWriter(typ)
			if err != nil {
				return
			}
			for len(p) > 0 { // several writes, as a streaming encoder would
				n := min(len(p), 777)
				_, _ = w.Write(p[:n])
				p = p[n:]
			}
			if err := w.Close(); err != nil {
				return
			}
		}
	})
	if tlsOn {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	scheme := "ws"
	if tlsOn {
		scheme = "wss"
	}
	return scheme + strings.TrimPrefix(strings.TrimPrefix(srv.URL, "https"), "http") + "/", srv, pongCh, closeCh
}

func TestOurClientToGorillaServer(t *testing.T) {
	wsURL, _, pongs, closes := startGorilla(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	origin := "http" + strings.TrimSuffix(strings.TrimPrefix(wsURL, "ws"), "/") // gorilla checks it
	c, resp, err := Dial(ctx, wsURL, http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	c.ReadLimit = 1 << 20
	_ = c.NetConn().SetDeadline(time.Now().Add(testTimeout))
	var ourPongs []string
	c.OnPong = func(p []byte) { ourPongs = append(ourPongs, string(p)) }

	for _, m := range testMessages() {
		if err := c.WriteMessage(m.op, m.payload); err != nil {
			t.Fatal(err)
		}
		op, got, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("echo of %v (%d bytes): %v", m.op, len(m.payload), err)
		}
		if op != m.op || !bytes.Equal(got, m.payload) {
			t.Fatalf("echo of %v (%d bytes): got %v, %d bytes", m.op, len(m.payload), op, len(got))
		}
	}

	// Our ping, gorilla's default pong.
	if err := c.WriteMessage(OpPing, []byte("our-ping")); err != nil {
		t.Fatal(err)
	}
	// Gorilla's ping, answered by Dial's OnPing while we read.
	if err := c.WriteMessage(OpText, []byte("ping-me")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.ReadMessage(); err != nil || string(got) != "ping-me" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	if len(ourPongs) != 1 || ourPongs[0] != "our-ping" {
		t.Fatalf("our client saw pongs %q", ourPongs)
	}
	select {
	case p := <-pongs:
		if p != "gorilla-ping" {
			t.Fatalf("gorilla got pong %q", p)
		}
	case <-time.After(testTimeout):
		t.Fatal("gorilla got no pong")
	}

	// Close handshake: gorilla echoes the code.
	if err := c.WriteClose(CloseGoingAway, "leaving"); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(OpText, []byte("too late")); !errors.Is(err, ErrCloseSent) {
		t.Fatalf("write after close: %v, want ErrCloseSent", err)
	}
	_, _, err = c.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || !ce.Received || ce.Code != CloseGoingAway {
		t.Fatalf("got %v, want received close 1001", err)
	}
	var ge *gorilla.CloseError
	if err := <-closes; !errors.As(err, &ge) || ge.Code != CloseGoingAway || ge.Text != "leaving" {
		t.Fatalf("gorilla got %v, want close 1001 leaving", err)
	}
}

func TestDialTLS(t *testing.T) {
	wsURL, srv, _, _ := startGorilla(t, true)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	d := Dialer{TLSConfig: &tls.Config{RootCAs: roots}}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, _, err := d.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.NetConn().SetDeadline(time.Now().Add(testTimeout))
	if _, ok := c.NetConn().(*tls.Conn); !ok {
		t.Fatalf("NetConn is %T, want *tls.Conn", c.NetConn())
	}
	if err := c.WriteMessage(OpText, []byte("secret")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.ReadMessage(); err != nil || string(got) != "secret" {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

// A refused handshake returns the response, so callers can tell 401 from
// 403 and read why.
func TestDialRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer x" {
			t.Errorf("Authorization header %q not sent", r.Header.Get("Authorization"))
		}
		http.Error(w, "not your room", http.StatusForbidden)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, resp, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), http.Header{"Authorization": {"Bearer x"}})
	if c != nil {
		t.Fatal("got a connection")
	}
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusForbidden {
		t.Fatalf("err %v, want HandshakeError 403", err)
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("resp %v, want 403", resp)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if !strings.Contains(body.String(), "not your room") {
		t.Fatalf("body %q", body.String())
	}
}

// Dial checks Sec-WebSocket-Accept, so it cannot be fooled by a server
// that answers 101 to anything.
func TestDialBadAccept(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer nc.Close()
		_, _ = nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + rfcAccept + "\r\n\r\n"))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, _, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusSwitchingProtocols {
		t.Fatalf("err %v, want HandshakeError for the accept value", err)
	}
}

// A server that accepts TCP and never answers must not hang Dial past ctx.
func TestDialContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var accepted []net.Conn
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, nc)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, nc := range accepted {
			nc.Close()
		}
	}()

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, _, err := Dial(ctx, "ws://"+ln.Addr().String(), nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want DeadlineExceeded", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, _, err := Dial(ctx, "ws://"+ln.Addr().String(), nil)
			done <- err
		}()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want Canceled", err)
			}
		case <-time.After(testTimeout):
			t.Fatal("Dial ignored cancellation")
		}
	})
}

// The load generator spreads connections over 127.0.0.x source addresses.
func TestDialerSourceAddress(t *testing.T) {
	remote := make(chan string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote <- r.RemoteAddr
		if c, err := Upgrade(w, r); err == nil {
			c.Close()
		}
	}))
	defer srv.Close()
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	d := Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	c, _, err := d.Dial(ctx, wsURL, nil)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			t.Skipf("cannot bind 127.0.0.2 here: %v", err)
		}
		t.Fatal(err)
	}
	c.Close()
	if host, _, _ := net.SplitHostPort(<-remote); host != "127.0.0.2" {
		t.Fatalf("server saw %s, want 127.0.0.2", host)
	}

	var dialed string
	d = Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed = addr
		var nd net.Dialer
		return nd.DialContext(ctx, network, addr)
	}}
	c, _, err = d.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-remote
	if dialed != strings.TrimPrefix(wsURL, "ws://") {
		t.Fatalf("NetDial got %q", dialed)
	}
}
