package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestE2EWebSocket checks the WebSocket rules of the protocol from the
// outside: who may upgrade, which frames close the connection with which
// code, which frames are refused with an error frame while the connection
// stays usable, and that none of it hurts the server or other clients.
func TestE2EWebSocket(t *testing.T) {
	const allowed = "http://allowed.example"
	srv := e2eStart(t, t.TempDir(), "-origins", allowed+",http://also.example")
	alice := srv.guest(t, "alice")
	bob := srv.guest(t, "bob")
	public := srv.room(t, alice, "public", false)
	private := srv.room(t, bob, "bobs-secret", true)

	t.Run("handshake", func(t *testing.T) {
		other := "http://" + freeAddr(t) // same host, another port: another origin
		cases := []struct {
			name   string
			header http.Header
			status int    // 101 for a successful upgrade
			code   string // error code of a refusal
		}{
			{"bearer without Origin", e2eHeader("", alice.Token, ""), 101, ""},
			{"cookie with own Origin", e2eHeader(srv.base, "", alice.Token), 101, ""},
			{"cookie with an -origins Origin", e2eHeader(allowed, "", alice.Token), 101, ""},
			{"bearer with own Origin", e2eHeader(srv.base, alice.Token, ""), 101, ""},
			{"foreign Origin with bearer", e2eHeader("http://evil.example", alice.Token, ""), 403, "forbidden"},
			{"foreign Origin with cookie", e2eHeader("http://evil.example", "", alice.Token), 403, "forbidden"},
			{"own host on another port", e2eHeader(other, "", alice.Token), 403, "forbidden"},
			{"no session", e2eHeader("", "", ""), 401, "unauthorized"},
			{"own Origin without cookie", e2eHeader(srv.base, "", ""), 401, "unauthorized"},
			{"unknown bearer token", e2eHeader("", "not-a-token", ""), 401, "unauthorized"},
			{"unknown cookie", e2eHeader(srv.base, "", "not-a-token"), 401, "unauthorized"},
		}
		for _, tc := range cases {
			c, resp, err := (&websocket.Dialer{HandshakeTimeout: e2eTimeout}).Dial(srv.wsURL(), tc.header)
			if tc.status == 101 {
				if err != nil {
					t.Errorf("%s: upgrade failed: %v (%s)", tc.name, err, e2eRespText(resp))
					continue
				}
				// The connection must be usable.
				conn := &e2eConn{c: c}
				conn.sendAck(t, public.ID, "hs-"+strconv.Itoa(int(time.Now().UnixNano())), "hello from "+tc.name)
				c.Close()
				continue
			}
			if err == nil {
				c.Close()
				t.Errorf("%s: upgraded, want status %d", tc.name, tc.status)
				continue
			}
			if resp == nil {
				t.Errorf("%s: %v, want status %d", tc.name, err, tc.status)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			r := &e2eResp{Status: resp.StatusCode, Header: resp.Header, Body: b}
			r.expectError(t, tc.name, tc.status, tc.code)
		}

		// A cookie without Origin is not a browser the server can check:
		// it must not be upgraded (401 or 403).
		_, resp, err := (&websocket.Dialer{HandshakeTimeout: e2eTimeout}).Dial(srv.wsURL(), e2eHeader("", "", alice.Token))
		switch {
		case err == nil:
			t.Errorf("cookie without Origin: upgraded, want 401 or 403")
		case resp == nil:
			t.Errorf("cookie without Origin: %v, want 401 or 403", err)
		case resp.StatusCode != 401 && resp.StatusCode != 403:
			t.Errorf("cookie without Origin: status %d, want 401 or 403", resp.StatusCode)
		}
	})

	t.Run("close codes", func(t *testing.T) {
		big := func(n int) []byte {
			// A valid send frame of exactly n bytes.
			head := fmt.Sprintf(`{"type":"send","room":%d,"client_id":"big-%d","body":"`, public.ID, n)
			return []byte(head + strings.Repeat("x", n-len(head)-2) + `"}`)
		}
		cases := []struct {
			name    string
			bufSize int // the client's write buffer: what fits in one frame
			typ     int
			payload []byte
			code    int
		}{
			{"text frame with invalid UTF-8", 0, websocket.TextMessage, []byte(`{"type":"send","body":"` + "\xff\xfe\xfd" + `"}`), 1007},
			{"binary frame", 0, websocket.BinaryMessage, []byte(`{"type":"unsubscribe","room":1}`), 1003},
			{"frame of 64 KiB + 1", 128 << 10, websocket.TextMessage, big(64<<10 + 1), 1009},
			{"frame of 1 MiB", 2 << 20, websocket.TextMessage, big(1 << 20), 1009},
			{"message of 64 KiB + 1 in 4 KiB fragments", 4096, websocket.TextMessage, big(64<<10 + 1), 1009},
		}
		for _, tc := range cases {
			h := e2eHeader("", alice.Token, "")
			conn, err := srv.dialWith(&websocket.Dialer{HandshakeTimeout: e2eTimeout, WriteBufferSize: tc.bufSize}, h)
			if err != nil {
				t.Fatal(err)
			}
			conn.c.SetWriteDeadline(time.Now().Add(e2eTimeout))
			if err := conn.c.WriteMessage(tc.typ, tc.payload); err != nil {
				t.Fatalf("%s: writing: %v", tc.name, err)
			}
			t.Run(tc.name, func(t *testing.T) {
				frames := conn.expectClose(t, tc.code)
				if len(frames) > 0 {
					t.Errorf("frames before the close: %v", frames)
				}
			})
			conn.c.Close()
		}

		// A frame of exactly 64 KiB is within the limit: the send is refused
		// for its body (over 16384 bytes), and the connection stays open.
		conn, err := srv.dialWith(&websocket.Dialer{HandshakeTimeout: e2eTimeout, WriteBufferSize: 128 << 10}, e2eHeader("", alice.Token, ""))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.c.Close()
		if err := conn.c.WriteMessage(websocket.TextMessage, big(64<<10)); err != nil {
			t.Fatal(err)
		}
		f := conn.next(t)
		if f.Type != "error" || f.ClientID != "big-65536" || (f.Code != "too_large" && f.Code != "invalid") {
			t.Errorf("frame of exactly 64 KiB with a 65 KB body: got %s, want an error frame too_large (or invalid) for client_id big-65536", f)
		}
		conn.sendAck(t, public.ID, "after-64k", "still open")
	})

	t.Run("fragmented frames", func(t *testing.T) {
		// RFC 6455 lets a client split a message into fragments and put
		// control frames between them.
		conn, err := srv.dialWith(&websocket.Dialer{HandshakeTimeout: e2eTimeout, WriteBufferSize: 16}, e2eHeader("", alice.Token, ""))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.c.Close()
		conn.sendAck(t, public.ID, "fragmented-1", "a message in fragments of 16 bytes")

		w, err := conn.c.NextWriter(websocket.TextMessage)
		if err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf(`{"type":"send","room":%d,"client_id":"fragmented-2","body":"a ping in the middle"}`, public.ID)
		io.WriteString(w, msg[:40]) // flushes two fragments
		if err := conn.c.WriteControl(websocket.PingMessage, []byte("mid"), time.Now().Add(e2eTimeout)); err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, msg[40:])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		pong := make(chan string, 1)
		conn.c.SetPongHandler(func(p string) error { pong <- p; return nil })
		f := conn.next(t)
		if f.Type != "ack" || f.ClientID != "fragmented-2" {
			t.Fatalf("got %s, want the ack of fragmented-2", f)
		}
		select {
		case p := <-pong:
			if p != "mid" {
				t.Errorf("pong %q, want %q", p, "mid")
			}
		default:
			t.Errorf("no pong for the ping before the ack that followed it")
		}
	})

	t.Run("error frames", func(t *testing.T) {
		conn := srv.ws(t, alice)
		long := strings.Repeat("c", 129)
		cases := []struct {
			name     string
			frame    string
			code     string
			altCode  string // another acceptable code, where the protocol leaves it open
			clientID string // the client_id the error must name
			room     int64  // the room the error must name
		}{
			{"malformed JSON", `{"type":`, "invalid", "", "", 0},
			{"not an object", `[1,2,3]`, "invalid", "", "", 0},
			{"no type", `{"room":1}`, "invalid", "", "", 0},
			{"unknown type", `{"type":"dance","room":1}`, "invalid", "", "", 0},
			{"subscribe to an unknown room", `{"type":"subscribe","room":999999}`, "not_found", "", "", 999999},
			{"send to an unknown room", `{"type":"send","room":999999,"client_id":"e-1","body":"hi"}`, "not_found", "", "e-1", 0},
			{"subscribe to a private room", fmt.Sprintf(`{"type":"subscribe","room":%d,"after":0}`, private.ID), "not_found", "", "", private.ID},
			{"send to a private room", fmt.Sprintf(`{"type":"send","room":%d,"client_id":"e-2","body":"hi"}`, private.ID), "not_found", "", "e-2", 0},
			{"empty body", fmt.Sprintf(`{"type":"send","room":%d,"client_id":"e-3","body":""}`, public.ID), "invalid", "", "e-3", 0},
			{"white-space body", fmt.Sprintf(`{"type":"send","room":%d,"client_id":"e-4","body":" \n\t "}`, public.ID), "invalid", "", "e-4", 0},
			{"no body", fmt.Sprintf(`{"type":"send","room":%d,"client_id":"e-5"}`, public.ID), "invalid", "", "e-5", 0},
			{"NUL in the body", fmt.Sprintf(`{"type":"send","room":%d,"client_id":"e-nul","body":"a\u0000b"}`, public.ID), "invalid", "", "e-nul", 0},
			{"NUL in the client_id", fmt.Sprintf(`{"type":"send","room":%d,"client_id":"e\u0000","body":"a"}`, public.ID), "invalid", "", "", 0},
			{"body of 16385 bytes", fmt.Sprintf(`{"type":"send","room":%d,"client_id":"e-6","body":"%s"}`, public.ID, strings.Repeat("b", 16385)), "too_large", "invalid", "e-6", 0},
			{"no client_id", fmt.Sprintf(`{"type":"send","room":%d,"body":"hi"}`, public.ID), "invalid", "", "", 0},
			{"client_id of 129 bytes", fmt.Sprintf(`{"type":"send","room":%d,"client_id":"%s","body":"hi"}`, public.ID, long), "invalid", "", "", 0},
		}
		var lastSeq int64
		for i, tc := range cases {
			if err := conn.c.WriteMessage(websocket.TextMessage, []byte(tc.frame)); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			f, err := conn.read(e2eTimeout)
			if err != nil {
				t.Fatalf("%s: got %v, want an error frame and an open connection", tc.name, err)
			}
			if f.Type != "error" || (f.Code != tc.code && (tc.altCode == "" || f.Code != tc.altCode)) || f.Message == "" {
				t.Errorf("%s: got %s, want an error frame with code %q and a message", tc.name, f, tc.code)
			}
			if tc.clientID != "" && f.ClientID != tc.clientID {
				t.Errorf("%s: error names client_id %q, want %q", tc.name, f.ClientID, tc.clientID)
			}
			if tc.room != 0 && f.Room != tc.room {
				t.Errorf("%s: error names room %d, want %d", tc.name, f.Room, tc.room)
			}
			ack := conn.sendAck(t, public.ID, fmt.Sprintf("ok-%d", i), "after "+tc.name)
			if i > 0 && ack.Seq != lastSeq+1 {
				t.Errorf("%s: the next send got seq %d after %d: something was stored for the refused frame", tc.name, ack.Seq, lastSeq)
			}
			lastSeq = ack.Seq
		}
		var r struct {
			Room e2eRoom `json:"room"`
		}
		srv.do(t, "GET", fmt.Sprintf("/api/v1/rooms/%d", private.ID), bob.auth(), nil).expectJSON(t, "GET private room", 200, &r)
		if r.Room.LastSeq != 0 {
			t.Errorf("private room has last_seq %d after refused sends, want 0", r.Room.LastSeq)
		}

		// The connection still subscribes, unsubscribes and receives.
		if err := conn.subscribeAfter(public.ID, lastSeq-1); err != nil {
			t.Fatal(err)
		}
		if f := conn.expect(t, "message"); f.Seq != lastSeq {
			t.Errorf("backlog after %d: got %s, want seq %d", lastSeq-1, f, lastSeq)
		}
		if f := conn.expect(t, "subscribed"); f.Room != public.ID || f.Seq != lastSeq {
			t.Errorf("got %s, want subscribed room %d seq %d", f, public.ID, lastSeq)
		}
		if err := conn.write(map[string]any{"type": "unsubscribe", "room": public.ID}); err != nil {
			t.Fatal(err)
		}
		if f := conn.expect(t, "unsubscribed"); f.Room != public.ID {
			t.Errorf("got %s, want unsubscribed room %d", f, public.ID)
		}
		// Not subscribed any more: a message from someone else must not
		// arrive before this connection's own next ack.
		e2eStartAcks(srv.ws(t, bob), public.ID, 1).sendN(t, "bob-after-unsubscribe", 1)
		own := conn.sendAck(t, public.ID, "after-unsubscribe", "nobody listens")
		if err := conn.subscribe(public.ID); err != nil {
			t.Fatal(err)
		}
		if f := conn.expect(t, "subscribed"); f.Seq != own.Seq {
			t.Errorf("got %s, want subscribed with seq %d", f, own.Seq)
		}
	})

	// After all of that, the server still serves.
	r := srv.do(t, "GET", "/healthz", e2eAuth{}, nil)
	if r.Status != 200 {
		t.Errorf("/healthz: status %d", r.Status)
	}
	carol := srv.guest(t, "carol")
	sub := srv.ws(t, carol)
	if err := sub.subscribe(public.ID); err != nil {
		t.Fatal(err)
	}
	last := sub.expect(t, "subscribed").Seq
	ack := srv.ws(t, bob).sendAck(t, public.ID, "final", "the end")
	if f := sub.expect(t, "message"); f.Seq != ack.Seq || f.Seq != last+1 || f.ID != ack.ID {
		t.Errorf("got %s, want message seq %d id %s", f, last+1, ack.ID)
	}
}

// e2eHeader builds handshake headers: Origin, a Bearer token and a session
// cookie, each left out when empty.
func e2eHeader(origin, bearer, cookie string) http.Header {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	if bearer != "" {
		h.Set("Authorization", "Bearer "+bearer)
	}
	if cookie != "" {
		h.Set("Cookie", "hanashi_session="+cookie)
	}
	return h
}

func e2eRespText(resp *http.Response) string {
	if resp == nil {
		return "no response"
	}
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("status %d, body %s", resp.StatusCode, b)
}

// TestE2EIdempotentSend resends client ids — again on the same connection,
// with another body, from another connection, concurrently — and checks that
// every resend gets the first ack and the history holds each message once.
func TestE2EIdempotentSend(t *testing.T) {
	srv := e2eStart(t, t.TempDir())
	alice := srv.guest(t, "alice")
	bob := srv.guest(t, "bob")
	room := srv.room(t, alice, "idem", false)

	watch := srv.ws(t, bob)
	if err := watch.subscribe(room.ID); err != nil {
		t.Fatal(err)
	}
	watch.expect(t, "subscribed")

	c1 := srv.ws(t, alice)
	c2 := srv.ws(t, alice)
	first := c1.sendAck(t, room.ID, "idem-1", "hello")
	same := func(what string, got e2eFrame) {
		t.Helper()
		if got.Seq != first.Seq || got.ID != first.ID {
			t.Errorf("%s: ack seq %d id %s, want the first ack: seq %d id %s", what, got.Seq, got.ID, first.Seq, first.ID)
		}
	}
	same("resend on the same connection", c1.sendAck(t, room.ID, "idem-1", "hello"))
	same("resend with another body", c1.sendAck(t, room.ID, "idem-1", "changed"))
	same("resend on another connection", c2.sendAck(t, room.ID, "idem-1", "hello"))

	// The same new client id three times at once: twice pipelined on one
	// connection, once on another.
	for _, c := range []*e2eConn{c1, c1, c2} {
		if err := c.send(room.ID, "idem-2", "at once"); err != nil {
			t.Fatal(err)
		}
	}
	var acks []e2eFrame
	for _, c := range []*e2eConn{c1, c1, c2} {
		f := c.next(t)
		if f.Type != "ack" || f.ClientID != "idem-2" {
			t.Fatalf("got %s, want the ack of idem-2", f)
		}
		acks = append(acks, f)
	}
	for _, a := range acks[1:] {
		if a.Seq != acks[0].Seq || a.ID != acks[0].ID {
			t.Errorf("concurrent sends of idem-2 got different acks: %v", acks)
		}
	}

	// Client ids are per sender: bob's idem-1 is another message.
	other := srv.ws(t, bob).sendAck(t, room.ID, "idem-1", "bob's own")
	if other.Seq == first.Seq || other.ID == first.ID {
		t.Errorf("bob's idem-1 got alice's ack %s", other)
	}

	history := srv.history(t, alice, room.ID)
	var got []string
	for _, m := range history {
		got = append(got, fmt.Sprintf("%d %s %s %q", m.Seq, m.Author.Name, m.ClientID, m.Body))
	}
	want := []string{`1 alice idem-1 "hello"`, `2 alice idem-2 "at once"`, `3 bob idem-1 "bob's own"`}
	if gj, wj := e2eJSON(got), e2eJSON(want); gj != wj {
		t.Errorf("history:\n%s\nwant:\n%s", gj, wj)
	}

	// The subscriber saw each message once.
	for seq := int64(1); seq <= 3; seq++ {
		if f := watch.expect(t, "message"); f.Seq != seq {
			t.Fatalf("subscriber got %s, want seq %d", f, seq)
		}
	}
	marker := c1.sendAck(t, room.ID, "marker", "marker")
	if f := watch.expect(t, "message"); f.Seq != marker.Seq {
		t.Errorf("subscriber got %s, want the marker seq %d: a resend was delivered again", f, marker.Seq)
	}
}

func e2eJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(b)
}
