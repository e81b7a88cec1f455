package web_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/internal/testutil"
	"github.com/hanashi-chat/hanashi/sqlite"
	"github.com/hanashi-chat/hanashi/web"
	"github.com/hanashi-chat/hanashi/websocket"
)

// A WebSocket is served by the event loop when it is a plain TCP
// connection on Linux, and by a reader and a writer goroutine otherwise
// (TLS, other systems, or any other net.Conn). These tests run against
// every way: wsModes.
var wsModes = []string{"loop", "goroutines", "tls"}

// wsServer is a web.Server on a real SQLite store, with a guest and a
// public room.
type wsServer struct {
	t     testing.TB
	ts    *httptest.Server
	srv   *web.Server
	hub   *hub.Hub
	mode  string
	token string
	user  hanashi.UserID
	room  int64
}

// startWS starts a server for mode. ping, if not zero, is the ping
// interval; queue, if not zero, the hub's queue bound.
func startWS(t testing.TB, mode string, ping time.Duration, queue int) *wsServer {
	t.Helper()
	return startWSWith(t, mode, ping, queue, nil)
}

// startWSWith is startWS with the store wrapped by wrap, unless it is nil.
func startWSWith(t testing.TB, mode string, ping time.Duration, queue int, wrap func(hanashi.Store) hanashi.Store) *wsServer {
	t.Helper()
	return startWSLog(t, mode, ping, queue, wrap, nil)
}

// startWSLog is startWSWith with the server logging to log, unless it is
// nil.
func startWSLog(t testing.TB, mode string, ping time.Duration, queue int, wrap func(hanashi.Store) hanashi.Store, log *slog.Logger) *wsServer {
	t.Helper()
	sdb, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hanashi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	var db hanashi.Store = sdb
	if wrap != nil {
		db = wrap(db)
	}
	h := hub.New(hub.Config{Store: db, Broker: inmem.NewBroker(), Encoder: web.Encoder{}, QueueBytes: queue})
	ts := httptest.NewUnstartedServer(nil)
	if mode == "goroutines" {
		ts.Listener = wrappedListener{ts.Listener}
	}
	scheme := "http://"
	if mode == "tls" {
		scheme = "https://"
	}
	srv, err := web.NewServer(web.Config{Store: db, Hub: h, BaseURL: scheme + ts.Listener.Addr().String(), PingInterval: ping, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	if mode == "tls" {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(func() {
		ts.Close()
		srv.Shutdown(context.Background())
		h.Close(context.Background())
	})
	s := &wsServer{t: t, ts: ts, srv: srv, hub: h, mode: mode}
	var g struct {
		User  hanashi.User `json:"user"`
		Token string       `json:"token"`
	}
	s.api("POST", "/api/v1/guests", `{"name":"alice"}`, &g)
	s.token, s.user = g.Token, g.User.ID
	var r struct {
		Room struct {
			ID int64 `json:"id"`
		} `json:"room"`
	}
	s.api("POST", "/api/v1/rooms", `{"name":"general"}`, &r)
	s.room = r.Room.ID
	return s
}

func (s *wsServer) api(method, path, body string, v any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.ts.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		s.t.Fatal(err)
	}
}

// dial opens a WebSocket with our client; netDial, if set, opens the TCP
// connection.
func (s *wsServer) dial(netDial func(ctx context.Context, network, addr string) (net.Conn, error)) *websocket.Conn {
	s.t.Helper()
	d := websocket.Dialer{NetDial: netDial}
	if s.mode == "tls" {
		pool := x509.NewCertPool()
		pool.AddCert(s.ts.Certificate())
		d.TLSConfig = &tls.Config{RootCAs: pool}
	}
	url := "ws" + strings.TrimPrefix(s.ts.URL, "http") + "/api/v1/ws"
	ws, _, err := d.Dial(s.t.Context(), url, http.Header{"Authorization": {"Bearer " + s.token}})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { ws.Close() })
	ws.NetConn().SetDeadline(time.Now().Add(wsTimeout))
	return ws
}

const wsTimeout = 10 * time.Second

// wsFrame is any frame the server sends.
type wsFrame struct {
	Type     string `json:"type"`
	Room     int64  `json:"room"`
	Seq      int64  `json:"seq"`
	ClientID string `json:"client_id"`
	Body     string `json:"body"`
	Code     string `json:"code"`
}

func send(t testing.TB, ws *websocket.Conn, v string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.OpText, []byte(v)); err != nil {
		t.Fatal(err)
	}
}

// next reads the next frame of type typ, skipping others.
func next(t testing.TB, ws *websocket.Conn, typ string) wsFrame {
	t.Helper()
	for {
		_, p, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var f wsFrame
		if err := json.Unmarshal(p, &f); err != nil {
			t.Fatal(err)
		}
		if f.Type == typ {
			return f
		}
	}
}

func (s *wsServer) subscribe(ws *websocket.Conn) {
	s.t.Helper()
	send(s.t, ws, fmt.Sprintf(`{"type":"subscribe","room":%d}`, s.room))
	next(s.t, ws, "subscribed")
}

// closeCode reads until the server's close frame and returns its code.
func closeCode(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	for {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Received {
			return ce.Code
		}
		if err != nil {
			t.Fatalf("waiting for a close frame: %v", err)
		}
	}
}

// wrappedListener hides *net.TCPConn behind another type, which the
// server serves with goroutines, as it would a TLS connection.
type wrappedListener struct{ net.Listener }

func (l wrappedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrappedConn{c}, nil
}

type wrappedConn struct{ net.Conn }

// NetConn lets the server reach the TCP connection, as it does under TLS.
func (c wrappedConn) NetConn() net.Conn { return c.Conn }

func TestWebSocketMessages(t *testing.T) {
	for _, mode := range wsModes {
		t.Run(mode, func(t *testing.T) {
			s := startWS(t, mode, 0, 0)
			subs := make([]*websocket.Conn, 20)
			for i := range subs {
				subs[i] = s.dial(nil)
				s.subscribe(subs[i])
			}
			pub := s.dial(nil)
			const n = 50
			for i := range n {
				send(t, pub, fmt.Sprintf(`{"type":"send","room":%d,"client_id":"c%03d","body":"hello %d"}`, s.room, i, i))
			}
			for i := range n {
				if a := next(t, pub, "ack"); a.ClientID != fmt.Sprintf("c%03d", i) || a.Seq != int64(i+1) {
					t.Fatalf("ack %d: %+v", i, a)
				}
			}
			for k, ws := range subs {
				for i := range n {
					if m := next(t, ws, "message"); m.Seq != int64(i+1) || m.Body != fmt.Sprintf("hello %d", i) {
						t.Fatalf("subscriber %d, message %d: %+v", k, i, m)
					}
				}
			}
			// Pings are answered.
			var pong = make(chan string, 1)
			pub.OnPong = func(p []byte) { pong <- string(p) }
			if err := pub.WriteMessage(websocket.OpPing, []byte("are you there")); err != nil {
				t.Fatal(err)
			}
			send(t, pub, `{"type":"nonsense"}`)
			next(t, pub, "error")
			if p := <-pong; p != "are you there" {
				t.Fatalf("pong %q", p)
			}
			// A close is echoed.
			pub.WriteClose(websocket.CloseNormal, "")
			if code := closeCode(t, pub); code != websocket.CloseNormal {
				t.Fatalf("close echoed with %d", code)
			}
		})
	}
}

// rawClient speaks WebSocket by hand over TCP, to send what our client
// never would.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

// dialRaw sends the handshake, followed in the same write by extra, and
// reads the 101.
func (s *wsServer) dialRaw(extra []byte) *rawClient {
	s.t.Helper()
	nc, err := net.Dial("tcp", s.ts.Listener.Addr().String())
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(wsTimeout))
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	req := "GET /api/v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer " + s.token + "\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), extra...)); err != nil {
		s.t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		s.t.Fatalf("handshake: %v %v", resp, err)
	}
	return &rawClient{t: s.t, nc: nc, br: br}
}

// clientFrame is a masked frame.
func clientFrame(op websocket.Opcode, payload string) []byte {
	key := [4]byte{1, 2, 3, 4}
	b := []byte{0x80 | byte(op)}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	default:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	}
	b = append(b, key[:]...)
	for i := range len(payload) {
		b = append(b, payload[i]^key[i%4])
	}
	return b
}

// read returns the next server frame's opcode and payload.
func (r *rawClient) read() (websocket.Opcode, []byte) {
	r.t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		r.t.Fatalf("reading a frame: %v", err)
	}
	n := int(h[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		io.ReadFull(r.br, l[:])
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		io.ReadFull(r.br, l[:])
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r.br, p); err != nil {
		r.t.Fatalf("reading a frame: %v", err)
	}
	return websocket.Opcode(h[0] & 0x0F), p
}

// expect reads frames until one has typ in its JSON, or the close frame,
// whose code it then returns.
func (r *rawClient) expect(typ string) int {
	r.t.Helper()
	for {
		op, p := r.read()
		if op == websocket.OpClose {
			return int(binary.BigEndian.Uint16(p))
		}
		if op == websocket.OpText && bytes.Contains(p, []byte(`"type":"`+typ+`"`)) {
			return 0
		}
	}
}

// Frames sent behind the handshake, a frame in pieces, a frame of many
// frames in one write, and a violation.
func TestWebSocketRawInput(t *testing.T) {
	for _, mode := range wsModes[:2] {
		t.Run(mode, func(t *testing.T) {
			s := startWS(t, mode, 0, 0)
			sub := fmt.Sprintf(`{"type":"subscribe","room":%d}`, s.room)

			r := s.dialRaw(clientFrame(websocket.OpText, sub))
			if code := r.expect("subscribed"); code != 0 {
				t.Fatalf("closed with %d", code)
			}

			// One byte at a time, with a ping inside.
			in := append(clientFrame(websocket.OpPing, "p"), clientFrame(websocket.OpText, `{"type":"unsubscribe","room":`+fmt.Sprint(s.room)+`}`)...)
			for _, b := range in {
				r.nc.Write([]byte{b})
				time.Sleep(time.Millisecond) // pacing the bytes apart, not a wait
			}
			if op, p := r.read(); op != websocket.OpPong || string(p) != "p" {
				t.Fatalf("got %v %q, want the pong", op, p)
			}
			if code := r.expect("unsubscribed"); code != 0 {
				t.Fatalf("closed with %d", code)
			}

			// Many frames in one write, one of them large.
			var many []byte
			body := strings.Repeat("x", 10000)
			for i := range 20 {
				many = append(many, clientFrame(websocket.OpText, fmt.Sprintf(`{"type":"send","room":%d,"client_id":"m%d","body":"%s"}`, s.room, i, body))...)
			}
			r.nc.Write(many)
			for range 20 {
				if code := r.expect("ack"); code != 0 {
					t.Fatalf("closed with %d", code)
				}
			}

			// An unmasked frame is a protocol error.
			r.nc.Write([]byte{0x81, 0x01, 'x'})
			if code := r.expect("nothing"); code != websocket.CloseProtocolError {
				t.Fatalf("closed with %d, want 1002", code)
			}
			// And then the server closes TCP.
			if _, err := io.Copy(io.Discard, r.br); err != nil {
				t.Fatalf("after the close frame: %v", err)
			}
		})
	}
}

// The server pings, and closes a connection that sends nothing.
func TestWebSocketKeepalive(t *testing.T) {
	for _, mode := range wsModes[:2] {
		t.Run(mode, func(t *testing.T) {
			const ping = 40 * time.Millisecond
			s := startWS(t, mode, ping, 0)

			// A client that reads answers pings and stays.
			alive := s.dial(nil)
			var pings sync.WaitGroup
			pings.Add(1)
			var once sync.Once
			alive.OnPing = func(p []byte) {
				once.Do(pings.Done)
				alive.WriteMessage(websocket.OpPong, p)
			}
			go func() {
				for {
					if _, _, err := alive.ReadMessage(); err != nil {
						return
					}
				}
			}()

			// A client that never says anything is cut off after about
			// 2.5 ping intervals; no close frame: it is not listening.
			silent := s.dialRaw(nil)
			start := time.Now()
			sawPing := false
			for {
				var h [2]byte
				_, err := io.ReadFull(silent.br, h[:])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("silent client: %v", err)
				}
				io.CopyN(io.Discard, silent.br, int64(h[1]&0x7F))
				if websocket.Opcode(h[0]&0x0F) == websocket.OpPing {
					sawPing = true
				}
			}
			if d := time.Since(start); !sawPing || d < 2*ping || d > 20*ping {
				t.Fatalf("silent client cut off after %v (pinged: %v), want about %v", d, sawPing, 5*ping/2)
			}
			pings.Wait()
			send(t, alive, `{"type":"nonsense"}`)
		})
	}
}

// Shutdown says 1001 to everybody and returns once they are gone.
func TestWebSocketShutdown(t *testing.T) {
	for _, mode := range wsModes {
		t.Run(mode, func(t *testing.T) {
			s := startWS(t, mode, 0, 0)
			var conns []*websocket.Conn
			for range 10 {
				ws := s.dial(nil)
				s.subscribe(ws)
				conns = append(conns, ws)
			}
			done := make(chan error, 1)
			go func() { done <- s.srv.Shutdown(t.Context()) }()
			for _, ws := range conns {
				if code := closeCode(t, ws); code != websocket.CloseGoingAway {
					t.Fatalf("closed with %d, want 1001", code)
				}
				ws.WriteClose(websocket.CloseGoingAway, "")
				ws.Close()
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(wsTimeout):
				t.Fatal("Shutdown did not return")
			}
		})
	}
}

// A subscriber that stops reading does not hold up the others, and is
// closed with 4008 once its queue overflows: when it reads again it finds
// a prefix of the stream, then the close.
func TestWebSocketSlowConsumer(t *testing.T) {
	for _, mode := range wsModes {
		t.Run(mode, func(t *testing.T) {
			// A queue of 32 frames: the healthy subscriber is paced by
			// the flusher and, on a loaded machine, by its own reads;
			// it must not overflow while the stalled one does.
			s := startWS(t, mode, 0, 256<<10)
			stalled := s.dial(func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err == nil {
					c.(*net.TCPConn).SetReadBuffer(32 << 10)
				}
				return c, err
			})
			s.subscribe(stalled)
			healthy := s.dial(nil)
			s.subscribe(healthy)

			// 1.6 MB: far more than the queue, the server's socket and the
			// stalled reader's socket hold together.
			const n = 200
			// The healthy subscriber reads as it should, but a loaded
			// machine may not run it for a while (with -race and other
			// work on both cores, it once fell 32 frames behind): the
			// posting waits while it is more than `ahead` frames behind,
			// so only the stalled one can overflow.
			const ahead = 8
			healthyRead := make(chan struct{}, n)
			healthyErr := make(chan error, 1)
			go func() {
				defer close(healthyRead)
				for i := range n {
					_, p, err := healthy.ReadMessage()
					if err != nil {
						healthyErr <- fmt.Errorf("healthy subscriber: %v", err)
						return
					}
					var f wsFrame
					json.Unmarshal(p, &f)
					if f.Type != "message" || f.Seq != int64(i+1) {
						healthyErr <- fmt.Errorf("healthy subscriber: got %s, want message %d", p[:min(len(p), 80)], i+1)
						return
					}
					healthyRead <- struct{}{}
				}
				healthyErr <- nil
			}()
			body := strings.Repeat("y", 8000)
			for i := range n {
				if i >= ahead {
					<-healthyRead // ends early, closed, if the reader failed
				}
				_, err := s.hub.Post(t.Context(), hanashi.Post{Room: hanashi.RoomID(s.room), Author: s.user, ClientID: fmt.Sprint(i), Body: body})
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := <-healthyErr; err != nil {
				t.Fatal(err)
			}
			got := 0
			for {
				_, p, err := stalled.ReadMessage()
				var ce *websocket.CloseError
				if errors.As(err, &ce) && ce.Received {
					if ce.Code != 4008 || got == 0 || got >= n {
						t.Fatalf("stalled subscriber: close %d after %d messages, want 4008 after some", ce.Code, got)
					}
					break
				}
				if err != nil {
					t.Fatalf("stalled subscriber after %d messages: %v", got, err)
				}
				var f wsFrame
				json.Unmarshal(p, &f)
				if f.Type == "message" {
					if got++; f.Seq != int64(got) {
						t.Fatalf("stalled subscriber: message %d has seq %d", got, f.Seq)
					}
				}
			}
		})
	}
}

// On the event loop an idle connection has no goroutine; on the other
// path it has two.
func TestWebSocketIdleGoroutines(t *testing.T) {
	for _, mode := range wsModes[:2] {
		t.Run(mode, func(t *testing.T) {
			s := startWS(t, mode, 0, 0)
			const n = 100
			for range n {
				s.subscribe(s.dial(nil))
			}
			want := 0
			if mode == "goroutines" {
				want = 2 * n
			}
			// Reading goroutines of the event loop end once they are done.
			testutil.EventuallyNil(t, wsTimeout, fmt.Sprintf("%d goroutines for %d idle connections", want, n), func() error {
				if got := connGoroutines(); got != want {
					return fmt.Errorf("%d idle connections have %d goroutines, want %d", n, got, want)
				}
				return nil
			})
		})
	}
}

// connGoroutines counts the goroutines that run a connection's code.
func connGoroutines() int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "hanashi/web.(*conn).") {
			n++
		}
	}
	return n
}

// BenchmarkWebSocketResume10k is a client that missed 10,000 messages
// resuming over a WebSocket: from its subscribe with after=0 to its
// subscribed frame, with the 10,000 messages read in between (the bar is
// 200 ms). The hub's BenchmarkResume10k is the same without the socket.
func BenchmarkWebSocketResume10k(b *testing.B) {
	for _, mode := range wsModes[:2] {
		b.Run(mode, func(b *testing.B) {
			s := startWS(b, mode, 0, 0)
			var wg sync.WaitGroup
			for g := range 100 {
				wg.Go(func() {
					for i := range 100 {
						p := hanashi.Post{Room: hanashi.RoomID(s.room), Author: s.user, ClientID: fmt.Sprintf("%03d-%03d", g, i), Body: "a message of a typical length, say sixty bytes"}
						if _, err := s.hub.Post(b.Context(), p); err != nil {
							b.Error(err)
						}
					}
				})
			}
			wg.Wait()
			for b.Loop() {
				ws := s.dial(nil)
				send(b, ws, fmt.Sprintf(`{"type":"subscribe","room":%d,"after":0}`, s.room))
				n := 0
				for {
					_, p, err := ws.NextMessage()
					if err != nil {
						b.Fatal(err)
					}
					if bytes.Contains(p, []byte(`"type":"message"`)) {
						n++
					} else if bytes.Contains(p, []byte(`"type":"subscribed"`)) {
						break
					}
				}
				if n != 10000 {
					b.Fatalf("resumed %d messages, want 10000", n)
				}
				ws.Close()
			}
		})
	}
}
