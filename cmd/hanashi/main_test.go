package main

// The end-to-end tests in this package (TestE2E*) treat the server as a black
// box: they start the real binary as a separate process (so that it can be
// killed with SIGKILL), talk to it over loopback with net/http and with
// gorilla/websocket — a WebSocket implementation independent of the
// server's — and check what docs/protocol.md promises. Helpers are prefixed
// with e2e.
//
// The test binary doubles as the server: TestMain runs run() instead of the
// tests when HANASHI_TEST_SERVE=1, with the arguments JSON-encoded in
// HANASHI_TEST_ARGS. Built with -race, the server process runs under the race
// detector too, and any race it reports fails the test that started it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

func TestMain(m *testing.M) {
	if os.Getenv("HANASHI_TEST_SERVE") == "1" {
		os.Exit(e2eServe())
	}
	os.Exit(m.Run())
}

// e2eServe runs the server the way main does, for a subprocess started by
// e2eStart.
func e2eServe() int {
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv("HANASHI_TEST_ARGS")), &args); err != nil {
		fmt.Fprintf(os.Stderr, "HANASHI_TEST_ARGS: %v\n", err)
		return 2
	}
	if err := runWith(signalContext(), args, os.Getenv, os.Stdout, os.Stderr, faultBroker()); err != nil {
		fmt.Fprintf(os.Stderr, "run: %v\n", err)
		return 1
	}
	return 0
}

// e2eTimeout bounds every single wait in these tests; none of them should
// come close to it.
const e2eTimeout = 15 * time.Second

// e2eServer is one server process.
type e2eServer struct {
	addr string // 127.0.0.1:port
	// base is the server's base URL, http://localhost:port (the default
	// for a server on loopback, to which it redirects pages asked for as
	// 127.0.0.1), or http://addr when the test sets -base-url: the
	// server's own origin either way.
	base    string
	dataDir string
	cmd     *exec.Cmd
	out     *syncBuffer
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // valid after exited is closed
	http    *http.Client
}

// syncBuffer is a bytes.Buffer safe for concurrent writes: it collects a
// server's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *syncBuffer) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *syncBuffer) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// canonicalBase is the default base URL of a server on the loopback
// address addr: http://localhost:PORT.
func canonicalBase(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return "http://localhost:" + port
}

// e2eStart starts the server binary on a free port with dataDir and waits
// until /healthz answers 200. At cleanup the server is stopped with SIGINT
// (it must exit cleanly within e2eTimeout) unless it was killed; its output
// is logged if the test failed, and a data race it reported fails the test.
func e2eStart(t *testing.T, dataDir string, extraArgs ...string) *e2eServer {
	t.Helper()
	return e2eStartWith(t, dataDir, e2eOptions{}, extraArgs...)
}

// e2eOptions are what some tests need to set beyond flags.
type e2eOptions struct {
	addr string   // listen address; default a free loopback port
	env  []string // HANASHI_* variables for the server, e.g. secrets
}

// e2eStartWith is e2eStart with options.
func e2eStartWith(t *testing.T, dataDir string, opts e2eOptions, extraArgs ...string) *e2eServer {
	t.Helper()
	addr := opts.addr
	if addr == "" {
		addr = freeAddr(t)
	}
	args := append([]string{"hanashi", "-addr", addr, "-data", dataDir}, extraArgs...)
	argsJSON, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	if !slices.Contains(extraArgs, "-base-url") && !slices.ContainsFunc(opts.env, func(kv string) bool { return strings.HasPrefix(kv, "HANASHI_BASE_URL=") }) {
		base = canonicalBase(t, addr)
	}
	s := &e2eServer{
		addr:    addr,
		base:    base,
		dataDir: dataDir,
		out:     &syncBuffer{},
		exited:  make(chan struct{}),
		http:    &http.Client{Timeout: e2eTimeout},
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HANASHI_") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	// A race-enabled binary sleeps a second before exiting unless told not to.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(env, "HANASHI_TEST_SERVE=1", "HANASHI_TEST_ARGS="+string(argsJSON), "GORACE="+gorace)
	cmd.Env = append(cmd.Env, opts.env...)
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.interrupt(t)
		}
		s.http.CloseIdleConnections()
		out := s.out.String()
		if strings.Contains(out, "WARNING: DATA RACE") {
			t.Errorf("server %s reported a data race", s.addr)
		}
		if t.Failed() {
			const keep = 64 << 10
			if len(out) > keep {
				out = "…" + out[len(out)-keep:]
			}
			t.Logf("output of server %s (data %s):\n%s", s.addr, s.dataDir, out)
		}
	})

	testutil.EventuallyNil(t, e2eTimeout, fmt.Sprintf("server %s to be healthy", addr), func() error {
		select {
		case <-s.exited:
			t.Fatalf("server exited before serving: %v\n%s", s.waitErr, s.out.String())
		default:
		}
		resp, err := s.http.Get(s.base + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		return fmt.Errorf("last: %w", err)
	})
	return s
}

// interrupt sends SIGINT and waits for the server to exit, which it must
// do cleanly within e2eTimeout.
func (s *e2eServer) interrupt(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
		if s.waitErr != nil {
			t.Errorf("server %s: after SIGINT it exited with %v, want a clean exit", s.addr, s.waitErr)
		}
	case <-time.After(e2eTimeout):
		t.Errorf("server %s: still running %v after SIGINT; killing it", s.addr, e2eTimeout)
		s.kill()
	}
}

// kill ends the server with SIGKILL: no shutdown code runs.
func (s *e2eServer) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// --- HTTP ---

// e2eResp is a finished HTTP exchange.
type e2eResp struct {
	Status  int
	Header  http.Header
	Body    []byte
	Cookies []*http.Cookie
}

// e2eAuth says how a request authenticates: with a Bearer token, or as a
// browser with the session cookie (and then Origin and Sec-Fetch-Site as a
// browser would send them).
type e2eAuth struct {
	Bearer       string
	Cookie       string // the hanashi_session value
	Origin       string
	SecFetchSite string
}

func e2eBearer(token string) e2eAuth { return e2eAuth{Bearer: token} }

// request does one HTTP request. body is sent as JSON unless it is a string
// or []byte, which are sent as they are; nil sends no body.
func (s *e2eServer) request(method, path string, auth e2eAuth, body any) (*e2eResp, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth.Bearer != "" {
		req.Header.Set("Authorization", "Bearer "+auth.Bearer)
	}
	if auth.Cookie != "" {
		req.AddCookie(&http.Cookie{Name: "hanashi_session", Value: auth.Cookie})
	}
	if auth.Origin != "" {
		req.Header.Set("Origin", auth.Origin)
	}
	if auth.SecFetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", auth.SecFetchSite)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &e2eResp{Status: resp.StatusCode, Header: resp.Header, Body: b, Cookies: resp.Cookies()}, nil
}

// do is request for the test goroutine: a transport error is fatal.
func (s *e2eServer) do(t *testing.T, method, path string, auth e2eAuth, body any) *e2eResp {
	t.Helper()
	r, err := s.request(method, path, auth, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// expectJSON checks the status of r, that it is JSON, and decodes it into v
// (when v is not nil).
func (r *e2eResp) expectJSON(t *testing.T, what string, status int, v any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			t.Fatalf("%s: decoding %s: %v", what, r.Body, err)
		}
	}
}

// expectError checks that r is the error JSON of the protocol with the given
// status and code: {"error": {"code": code, "message": "..."}}.
func (r *e2eResp) expectError(t *testing.T, what string, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var e struct {
		Error *struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == nil || e.Error.Code == nil || e.Error.Message == nil {
		t.Errorf(`%s: body %s, want {"error": {"code": %q, "message": "..."}}`, what, r.Body, code)
		return
	}
	if *e.Error.Code != code || *e.Error.Message == "" {
		t.Errorf("%s: error code %q message %q, want code %q and a message", what, *e.Error.Code, *e.Error.Message, code)
	}
}

// e2eUser is the user JSON of the protocol.
type e2eUser struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	AvatarURL string    `json:"avatar_url"`
	Guest     bool      `json:"guest"`
	CreatedAt time.Time `json:"created_at"`
}

// e2eGuest is a signed-in guest.
type e2eGuest struct {
	User  e2eUser
	Token string
}

func (g e2eGuest) auth() e2eAuth { return e2eBearer(g.Token) }

// newGuest creates a guest; safe to call from any goroutine.
func (s *e2eServer) newGuest(name string) (e2eGuest, error) {
	r, err := s.request("POST", "/api/v1/guests", e2eAuth{}, map[string]string{"name": name})
	if err != nil {
		return e2eGuest{}, err
	}
	if r.Status != http.StatusCreated {
		return e2eGuest{}, fmt.Errorf("POST /api/v1/guests %q: status %d, body %s", name, r.Status, r.Body)
	}
	var v struct {
		User  e2eUser `json:"user"`
		Token string  `json:"token"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return e2eGuest{}, fmt.Errorf("POST /api/v1/guests: %v in %s", err, r.Body)
	}
	if v.Token == "" || v.User.ID == "" {
		return e2eGuest{}, fmt.Errorf("POST /api/v1/guests: no token or user id in %s", r.Body)
	}
	return e2eGuest{User: v.User, Token: v.Token}, nil
}

func (s *e2eServer) guest(t *testing.T, name string) e2eGuest {
	t.Helper()
	g, err := s.newGuest(name)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// e2eRoom is the room JSON of the protocol.
type e2eRoom struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Private   bool      `json:"private"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	LastSeq   int64     `json:"last_seq"`
	Member    bool      `json:"member"`
}

func (s *e2eServer) room(t *testing.T, g e2eGuest, name string, private bool) e2eRoom {
	t.Helper()
	r := s.do(t, "POST", "/api/v1/rooms", g.auth(), map[string]any{"name": name, "private": private})
	var v struct {
		Room e2eRoom `json:"room"`
	}
	r.expectJSON(t, "POST /api/v1/rooms", http.StatusCreated, &v)
	if v.Room.ID == 0 {
		t.Fatalf("POST /api/v1/rooms: no room id in %s", r.Body)
	}
	return v.Room
}

// e2eMessage is the message JSON of the HTTP API.
type e2eMessage struct {
	ID       string `json:"id"`
	Room     int64  `json:"room"`
	Seq      int64  `json:"seq"`
	ClientID string `json:"client_id"`
	Author   struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		AvatarURL string `json:"avatar_url"`
	} `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// messages gets one page of a room's history.
func (s *e2eServer) messages(t *testing.T, g e2eGuest, room int64, query string) []e2eMessage {
	t.Helper()
	path := fmt.Sprintf("/api/v1/rooms/%d/messages%s", room, query)
	r := s.do(t, "GET", path, g.auth(), nil)
	var v struct {
		Messages []e2eMessage `json:"messages"`
	}
	r.expectJSON(t, "GET "+path, http.StatusOK, &v)
	if v.Messages == nil && !t.Failed() {
		t.Errorf(`GET %s: body %s, want {"messages": [...]} (an array, not null)`, path, r.Body)
	}
	return v.Messages
}

// history pages through the whole history of a room with after= and
// limit=1000, checking that every page is in ascending seq order.
func (s *e2eServer) history(t *testing.T, g e2eGuest, room int64) []e2eMessage {
	t.Helper()
	var all []e2eMessage
	var after int64
	for {
		page := s.messages(t, g, room, fmt.Sprintf("?after=%d&limit=1000", after))
		if len(page) > 1000 {
			t.Fatalf("page after %d has %d messages, want at most 1000", after, len(page))
		}
		if len(page) == 0 {
			return all
		}
		for _, m := range page {
			if m.Seq <= after {
				t.Fatalf("page after=%d: seq %d is not ascending/after the cursor", after, m.Seq)
			}
			after = m.Seq
		}
		all = append(all, page...)
	}
}

// --- WebSocket ---

// e2eFrame is any frame of the protocol, server to client.
type e2eFrame struct {
	Type     string `json:"type"`
	Room     int64  `json:"room"`
	Seq      int64  `json:"seq"`
	ID       string `json:"id"`
	ClientID string `json:"client_id"`
	Author   *struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		AvatarURL string `json:"avatar_url"`
	} `json:"author"`
	Body      string `json:"body"`
	CreatedAt string `json:"created_at"`
	Code      string `json:"code"`
	Message   string `json:"message"`

	raw      []byte
	received time.Time
}

func (f e2eFrame) String() string { return string(f.raw) }

// wsURL is the WebSocket endpoint.
func (s *e2eServer) wsURL() string { return "ws://" + s.addr + "/api/v1/ws" }

// dialWS opens a WebSocket as a non-browser client: no Origin, Bearer token.
func (s *e2eServer) dialWS(token string) (*e2eConn, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	return s.dialWith(&websocket.Dialer{HandshakeTimeout: e2eTimeout}, h)
}

// dialWSCookie opens a WebSocket as a browser would: the server's own
// Origin and the session cookie.
func (s *e2eServer) dialWSCookie(token string) (*e2eConn, error) {
	h := http.Header{}
	h.Set("Origin", s.base)
	h.Set("Cookie", "hanashi_session="+token)
	return s.dialWith(&websocket.Dialer{HandshakeTimeout: e2eTimeout}, h)
}

func (s *e2eServer) dialWith(d *websocket.Dialer, h http.Header) (*e2eConn, error) {
	c, resp, err := d.Dial(s.wsURL(), h)
	if err != nil {
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			return nil, fmt.Errorf("dial %s: %v (status %d, body %s)", s.wsURL(), err, resp.StatusCode, b)
		}
		return nil, fmt.Errorf("dial %s: %v", s.wsURL(), err)
	}
	return &e2eConn{c: c}, nil
}

// ws dials with a Bearer token for the test goroutine and closes the
// connection at cleanup.
func (s *e2eServer) ws(t *testing.T, g e2eGuest) *e2eConn {
	t.Helper()
	c, err := s.dialWS(g.Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.c.Close() })
	return c
}

// e2eConn is a client WebSocket. Like gorilla's Conn, it supports one
// concurrent reader and one concurrent writer.
type e2eConn struct {
	c *websocket.Conn
}

// write sends v as one JSON text frame.
func (c *e2eConn) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.c.SetWriteDeadline(time.Now().Add(e2eTimeout))
	return c.c.WriteMessage(websocket.TextMessage, b)
}

func (c *e2eConn) send(room int64, clientID, body string) error {
	return c.write(map[string]any{"type": "send", "room": room, "client_id": clientID, "body": body})
}

func (c *e2eConn) subscribe(room int64) error {
	return c.write(map[string]any{"type": "subscribe", "room": room})
}

func (c *e2eConn) subscribeAfter(room, after int64) error {
	return c.write(map[string]any{"type": "subscribe", "room": room, "after": after})
}

// read returns the next frame that is not an ephemeral signal (typing,
// presence, read, and the user's stream: see readAny), failing after
// timeout. A close from the
// server comes back as a *websocket.CloseError.
func (c *e2eConn) read(timeout time.Duration) (e2eFrame, error) {
	deadline := time.Now().Add(timeout)
	for {
		f, err := c.readAny(time.Until(deadline))
		switch {
		case err != nil:
			return f, err
		case !signalFrames[f.Type]:
			return f, nil
		}
	}
}

// signalFrames are the types of frames that read skips.
var signalFrames = map[string]bool{"typing": true, "presence": true, "read": true,
	"room": true, "room_gone": true, "member": true, "profile": true}

// readAny returns the next frame, whatever it is.
func (c *e2eConn) readAny(timeout time.Duration) (e2eFrame, error) {
	c.c.SetReadDeadline(time.Now().Add(timeout))
	typ, b, err := c.c.ReadMessage()
	if err != nil {
		return e2eFrame{}, err
	}
	now := time.Now()
	if typ != websocket.TextMessage {
		return e2eFrame{}, fmt.Errorf("got a frame of type %d, want text", typ)
	}
	var f e2eFrame
	if err := json.Unmarshal(b, &f); err != nil {
		// A room frame's room is an object, not an id (e2eStreamFrame).
		var head struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(b, &head) != nil || head.Type != "room" {
			return e2eFrame{}, fmt.Errorf("frame %q is not a JSON object: %v", b, err)
		}
		f = e2eFrame{Type: head.Type}
	}
	f.raw = b
	f.received = now
	return f, nil
}

// next reads the next frame for the test goroutine.
func (c *e2eConn) next(t *testing.T) e2eFrame {
	t.Helper()
	f, err := c.read(e2eTimeout)
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	return f
}

// expect reads the next frame and checks its type.
func (c *e2eConn) expect(t *testing.T, typ string) e2eFrame {
	t.Helper()
	f := c.next(t)
	if f.Type != typ {
		t.Fatalf("got frame %s, want type %q", f, typ)
	}
	return f
}

// sendAck sends a message and waits for its ack, which must be the next
// frame (the connection must not be subscribed to anything that is busy).
func (c *e2eConn) sendAck(t *testing.T, room int64, clientID, body string) e2eFrame {
	t.Helper()
	if err := c.send(room, clientID, body); err != nil {
		t.Fatal(err)
	}
	f := c.next(t)
	if f.Type != "ack" || f.Room != room || f.ClientID != clientID || f.Seq <= 0 || f.ID == "" {
		t.Fatalf("sent %q to room %d: got %s, want its ack", clientID, room, f)
	}
	return f
}

// expectClose reads until the server closes the connection and checks the
// close code. Frames before the close are returned.
func (c *e2eConn) expectClose(t *testing.T, code int) []e2eFrame {
	t.Helper()
	var frames []e2eFrame
	for {
		f, err := c.read(e2eTimeout)
		if err == nil {
			frames = append(frames, f)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("want close %d, got %v (after %d frames)", code, err, len(frames))
		}
		if ce.Code != code {
			t.Fatalf("want close %d, got close %d %q", code, ce.Code, ce.Text)
		}
		return frames
	}
}

// e2eAcks pipelines sends on one connection and collects their acks: up to
// window sends are in flight at once. It owns the connection's reader, so
// the connection should not be subscribed to anything.
type e2eAcks struct {
	conn   *e2eConn
	room   int64
	window chan struct{}
	// retryUnavailable makes an "unavailable" error for a send expected:
	// resendFailed sends it again with the same client id.
	retryUnavailable bool

	mu      sync.Mutex
	sent    map[string]string    // client_id -> body
	acks    map[string]e2eFrame  // client_id -> ack
	sentAt  map[string]time.Time // client_id -> when it was written
	maxWait time.Duration        // longest time from write to ack
	bad     error                // the first unexpected frame
	readErr error                // why the reader stopped
	failed  []string             // client_ids refused as unavailable, to send again
	resent  int

	readDone chan struct{}
}

func e2eStartAcks(conn *e2eConn, room int64, window int) *e2eAcks {
	a := &e2eAcks{
		conn:     conn,
		room:     room,
		window:   make(chan struct{}, window),
		sent:     make(map[string]string),
		acks:     make(map[string]e2eFrame),
		sentAt:   make(map[string]time.Time),
		readDone: make(chan struct{}),
	}
	go a.readLoop()
	return a
}

func (a *e2eAcks) readLoop() {
	defer close(a.readDone)
	for {
		f, err := a.conn.read(time.Hour) // ended by the connection closing
		if err != nil {
			a.mu.Lock()
			a.readErr = err
			a.mu.Unlock()
			return
		}
		a.mu.Lock()
		_, sent := a.sent[f.ClientID]
		_, dup := a.acks[f.ClientID]
		switch {
		case a.retryUnavailable && f.Type == "error" && f.Code == "unavailable" && sent && !dup:
			a.failed = append(a.failed, f.ClientID)
		case f.Type != "ack" || !sent || f.Room != a.room || f.Seq <= 0 || f.ID == "":
			a.badLocked(fmt.Errorf("unexpected frame %s", f))
		case dup:
			a.badLocked(fmt.Errorf("second ack for %q: %s", f.ClientID, f))
		default:
			a.acks[f.ClientID] = f
			a.maxWait = max(a.maxWait, f.received.Sub(a.sentAt[f.ClientID]))
		}
		a.mu.Unlock()
		select {
		case <-a.window:
		default:
		}
	}
}

func (a *e2eAcks) badLocked(err error) {
	if a.bad == nil {
		a.bad = err
	}
}

// send writes one message once there is room in the window. It returns an
// error once the connection has failed.
func (a *e2eAcks) send(clientID, body string) error {
	select {
	case a.window <- struct{}{}:
	case <-a.readDone:
		return a.Err()
	case <-time.After(e2eTimeout):
		return fmt.Errorf("no ack for %v with %d sends in flight", e2eTimeout, cap(a.window))
	}
	a.mu.Lock()
	a.sent[clientID] = body
	a.sentAt[clientID] = time.Now()
	a.mu.Unlock()
	return a.conn.send(a.room, clientID, body)
}

// resendFailed sends again, with the same client ids and bodies, the sends
// refused as unavailable since the last call.
func (a *e2eAcks) resendFailed() error {
	a.mu.Lock()
	failed := a.failed
	a.failed = nil
	a.mu.Unlock()
	if len(failed) > 0 {
		time.Sleep(20 * time.Millisecond) // back off a little
	}
	for _, id := range failed {
		a.mu.Lock()
		body := a.sent[id]
		a.resent++
		a.mu.Unlock()
		if err := a.send(id, body); err != nil {
			return err
		}
	}
	return nil
}

// retried is how many sends resendFailed sent again.
func (a *e2eAcks) retried() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.resent
}

// wait waits until every send has been acked, and fails t, naming the
// sender who, if that takes more than e2eTimeout or the connection fails.
func (a *e2eAcks) wait(t *testing.T, who string) {
	t.Helper()
	testutil.EventuallyNil(t, e2eTimeout, who+": every send acked", func() error {
		a.mu.Lock()
		n, acked := len(a.sent), len(a.acks)
		a.mu.Unlock()
		if err := a.Err(); err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		if acked != n {
			return fmt.Errorf("%d of %d sends acked", acked, n)
		}
		return nil
	})
}

// Err reports the first unexpected frame, or else why the reader stopped.
func (a *e2eAcks) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.bad != nil {
		return a.bad
	}
	if a.readErr != nil {
		return fmt.Errorf("reading acks: %w", a.readErr)
	}
	return nil
}

// Unexpected reports the first frame that was not a fresh ack of a send.
func (a *e2eAcks) Unexpected() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bad
}

// snapshot returns copies of what was sent and acked so far.
func (a *e2eAcks) snapshot() (sent map[string]string, acks map[string]e2eFrame) {
	a.mu.Lock()
	defer a.mu.Unlock()
	sent = make(map[string]string, len(a.sent))
	for k, v := range a.sent {
		sent[k] = v
	}
	acks = make(map[string]e2eFrame, len(a.acks))
	for k, v := range a.acks {
		acks[k] = v
	}
	return sent, acks
}

// sendN sends n messages with client ids prefix-0 … prefix-(n-1) and bodies
// "prefix message i" and waits for all their acks, which it returns in the
// order of sending.
func (a *e2eAcks) sendN(t *testing.T, prefix string, n int) []e2eFrame {
	t.Helper()
	for i := range n {
		if err := a.send(prefix+"-"+strconv.Itoa(i), fmt.Sprintf("%s message %d", prefix, i)); err != nil {
			t.Fatal(err)
		}
	}
	a.wait(t, prefix+" sender")
	_, acks := a.snapshot()
	out := make([]e2eFrame, n)
	for i := range n {
		out[i] = acks[prefix+"-"+strconv.Itoa(i)]
	}
	return out
}
