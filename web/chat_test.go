package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/sqlite"
	"github.com/hanashi-chat/hanashi/web"
	"github.com/hanashi-chat/hanashi/websocket"
)

// chatServer is a web.Server on a real SQLite store, for the team chat
// API. Its users are made directly in the store, so that signed-in users
// (not only guests) take part.
type chatServer struct {
	t  *testing.T
	ts *httptest.Server
	db *sqlite.DB
}

// chatUser is a user with a session.
type chatUser struct {
	s     *chatServer
	id    hanashi.UserID
	name  string
	token string
}

func startChat(t *testing.T) *chatServer {
	t.Helper()
	return startChatWith(t, func(*web.Config) {})
}

// startChatWith is startChat with settings that set changes.
func startChatWith(t *testing.T, set func(*web.Config)) *chatServer {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hanashi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := hub.New(hub.Config{Store: db, Broker: inmem.NewBroker(), Encoder: web.Encoder{}})
	ts := httptest.NewUnstartedServer(nil)
	cfg := web.Config{Store: db, Hub: h, BaseURL: "http://" + ts.Listener.Addr().String()}
	set(&cfg)
	srv, err := web.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		srv.Shutdown(context.Background())
		h.Close(context.Background())
	})
	return &chatServer{t: t, ts: ts, db: db}
}

// user makes a user who signed in (or a guest) and a session for them.
func (s *chatServer) user(name string, guest bool) *chatUser {
	s.t.Helper()
	ctx := s.t.Context()
	var u hanashi.User
	var err error
	if guest {
		u, err = s.db.CreateUser(ctx, hanashi.User{Name: name, Guest: true})
	} else {
		u, err = s.db.SignIn(ctx, hanashi.Identity{Provider: "test", Subject: "subject-" + name, Name: name})
	}
	if err != nil {
		s.t.Fatal(err)
	}
	token := "token-of-" + string(u.ID)
	sum := sha256.Sum256([]byte(token))
	now := time.Now()
	if err := s.db.CreateSession(ctx, hanashi.Session{TokenHash: sum[:], User: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		s.t.Fatal(err)
	}
	return &chatUser{s: s, id: u.ID, name: u.Name, token: token}
}

// chatResp is an answer of the API.
type chatResp struct {
	status int
	body   []byte
}

// do sends a request as u; body is JSON-encoded unless it is a string.
func (u *chatUser) do(method, path string, body any) chatResp {
	u.s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			u.s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, u.s.ts.URL+path, rd)
	if err != nil {
		u.s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+u.token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := u.s.ts.Client().Do(req)
	if err != nil {
		u.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		u.s.t.Fatal(err)
	}
	return chatResp{resp.StatusCode, b}
}

// ok sends a request that must answer status, and decodes the answer.
func (u *chatUser) ok(status int, method, path string, body, v any) {
	u.s.t.Helper()
	r := u.do(method, path, body)
	if r.status != status {
		u.s.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, u.name, r.status, r.body, status)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			u.s.t.Fatalf("%s %s: %v in %s", method, path, err, r.body)
		}
	}
}

// refused sends a request that must be refused with status and code.
func (u *chatUser) refused(what string, status int, code, method, path string, body any) {
	u.s.t.Helper()
	r := u.do(method, path, body)
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	json.Unmarshal(r.body, &e)
	if r.status != status || e.Error.Code != code || e.Error.Message == "" {
		u.s.t.Errorf("%s: %s %s as %s answered %d %s, want %d with code %q", what, method, path, u.name, r.status, r.body, status, code)
	}
}

func (u *chatUser) room(name string, private bool, parent hanashi.RoomID) hanashi.Room {
	u.s.t.Helper()
	var v struct{ Room hanashi.Room }
	u.ok(http.StatusCreated, "POST", "/api/v1/rooms", map[string]any{"name": name, "private": private, "parent": parent}, &v)
	return v.Room
}

func (u *chatUser) join(room hanashi.RoomID) {
	u.s.t.Helper()
	u.ok(http.StatusOK, "POST", fmt.Sprintf("/api/v1/rooms/%d/members", room), nil, nil)
}

// send posts a message over HTTP and returns it.
func (u *chatUser) send(room hanashi.RoomID, clientID, body string, thread hanashi.MessageID) hanashi.Message {
	u.s.t.Helper()
	var v struct{ Message hanashi.Message }
	u.ok(http.StatusCreated, "POST", fmt.Sprintf("/api/v1/rooms/%d/messages", room),
		map[string]any{"client_id": clientID, "body": body, "thread": thread}, &v)
	return v.Message
}

func (u *chatUser) history(room hanashi.RoomID, query string) []hanashi.Message {
	u.s.t.Helper()
	var v struct{ Messages []hanashi.Message }
	u.ok(http.StatusOK, "GET", fmt.Sprintf("/api/v1/rooms/%d/history%s", room, query), nil, &v)
	return v.Messages
}

// stream reads a room's whole stream as u.
func (u *chatUser) stream(room hanashi.RoomID) []hanashi.Message {
	u.s.t.Helper()
	var v struct{ Messages []hanashi.Message }
	u.ok(http.StatusOK, "GET", fmt.Sprintf("/api/v1/rooms/%d/messages?after=0&limit=1000", room), nil, &v)
	return v.Messages
}

func (u *chatUser) unread() (rooms []hanashi.UnreadCount, threads []hanashi.UnreadThread) {
	u.s.t.Helper()
	var v struct {
		Rooms   []hanashi.UnreadCount  `json:"rooms"`
		Threads []hanashi.UnreadThread `json:"threads"`
	}
	u.ok(http.StatusOK, "GET", "/api/v1/unread", nil, &v)
	if v.Rooms == nil || v.Threads == nil {
		u.s.t.Errorf("GET /api/v1/unread: want arrays, not null")
	}
	return v.Rooms, v.Threads
}

// dial opens a WebSocket as u.
func (u *chatUser) dial() *websocket.Conn {
	u.s.t.Helper()
	url := "ws" + strings.TrimPrefix(u.s.ts.URL, "http") + "/api/v1/ws"
	var d websocket.Dialer
	ws, _, err := d.Dial(u.s.t.Context(), url, http.Header{"Authorization": {"Bearer " + u.token}})
	if err != nil {
		u.s.t.Fatal(err)
	}
	u.s.t.Cleanup(func() { ws.Close() })
	ws.NetConn().SetDeadline(time.Now().Add(wsTimeout))
	return ws
}

// chatFrame is a frame of the team chat protocol.
type chatFrame struct {
	Type     string `json:"type"`
	Code     string `json:"code"`
	ClientID string `json:"client_id"`
	hanashi.Message
}

// nextFrame reads the next frame but those of the user's stream (see
// nextStreamFrame).
func nextFrame(t *testing.T, ws *websocket.Conn) chatFrame {
	t.Helper()
	for {
		typ, p := readFrame(t, ws)
		if streamFrames[typ] {
			continue
		}
		var f chatFrame
		if err := json.Unmarshal(p, &f); err != nil {
			t.Fatalf("frame %s: %v", p, err)
		}
		return f
	}
}

func subscribe(t *testing.T, ws *websocket.Conn, room hanashi.RoomID) {
	t.Helper()
	send(t, ws, fmt.Sprintf(`{"type":"subscribe","room":%d}`, room))
	if f := nextFrame(t, ws); f.Type != "subscribed" {
		t.Fatalf("subscribing: got %+v", f)
	}
}

// TestChatHTTPEvents posts, replies, edits, reacts and deletes over HTTP:
// each answer is the stored event, a subscriber gets every event live in
// seq order, and history and threads fold them.
func TestChatHTTPEvents(t *testing.T) {
	s := startChat(t)
	alice, bob := s.user("alice", false), s.user("bob", true)
	room := alice.room("team", false, 0)
	bob.join(room.ID)
	ws := alice.dial()
	subscribe(t, ws, room.ID)
	base := fmt.Sprintf("/api/v1/rooms/%d", room.ID)

	root := alice.send(room.ID, "a1", "hello @bob", "")
	if root.Kind != hanashi.KindMessage || root.Seq != 1 || root.Author.ID != alice.id || !slices.Equal(root.Mentions, []hanashi.UserID{bob.id}) {
		t.Errorf("POST message = %+v, want seq 1 mentioning bob", root)
	}
	// A resend answers 200 with the message stored the first time.
	var again struct{ Message hanashi.Message }
	alice.ok(http.StatusOK, "POST", base+"/messages", map[string]any{"client_id": "a1", "body": "hello @bob"}, &again)
	if again.Message.ID != root.ID || again.Message.Seq != 1 {
		t.Errorf("resend = %+v, want the message of seq 1", again.Message)
	}
	reply := bob.send(room.ID, "b1", "a reply", root.ID)
	var ev struct{ Message hanashi.Message }
	alice.ok(http.StatusOK, "PATCH", base+"/messages/"+string(root.ID), map[string]any{"body": "hello, edited", "client_id": "a2"}, &ev)
	edit := ev.Message
	// The emoji is a path segment, percent-encoded.
	thumbs := url.PathEscape("👍")
	bob.ok(http.StatusOK, "PUT", base+"/messages/"+string(root.ID)+"/reactions/"+thumbs, nil, &ev)
	react := ev.Message
	alice.ok(http.StatusOK, "PUT", base+"/messages/"+string(root.ID)+"/reactions/"+thumbs, map[string]any{"client_id": "a3"}, &ev)
	bob.ok(http.StatusOK, "PUT", base+"/messages/"+string(root.ID)+"/reactions/"+url.PathEscape("a/b"), nil, &ev)
	bob.ok(http.StatusOK, "DELETE", base+"/messages/"+string(root.ID)+"/reactions/"+url.PathEscape("a/b"), nil, &ev)
	unreact := ev.Message
	second := alice.send(room.ID, "a4", "to be deleted", "")
	bob.ok(http.StatusOK, "DELETE", base+"/messages/"+string(reply.ID), nil, &ev)
	del := ev.Message

	for _, c := range []struct {
		what string
		m    hanashi.Message
		kind hanashi.Kind
		seq  int64
	}{
		{"reply", reply, hanashi.KindMessage, 2}, {"edit", edit, hanashi.KindEdit, 3}, {"react", react, hanashi.KindReact, 4},
		{"unreact", unreact, hanashi.KindUnreact, 7}, {"delete", del, hanashi.KindDelete, 9},
	} {
		if c.m.Kind != c.kind || c.m.Seq != c.seq || c.m.Room != room.ID {
			t.Errorf("%s = %+v, want kind %s at seq %d", c.what, c.m, c.kind, c.seq)
		}
	}
	if reply.Thread != root.ID || edit.Target != root.ID || edit.Body != "hello, edited" || react.Emoji != "👍" ||
		unreact.Emoji != "a/b" || del.Target != reply.ID {
		t.Errorf("events do not carry their fields: %+v %+v %+v %+v %+v", reply, edit, react, unreact, del)
	}

	// The subscriber saw all nine events, in order, with their kinds.
	wantKinds := []hanashi.Kind{"message", "message", "edit", "react", "react", "react", "unreact", "message", "delete"}
	for i, k := range wantKinds {
		f := nextFrame(t, ws)
		if f.Type != "message" || f.Seq != int64(i+1) || f.Kind != k {
			t.Fatalf("live frame %d = %+v, want a %s event with seq %d", i, f, k, i+1)
		}
	}

	h := alice.history(room.ID, "")
	if len(h) != 2 || h[0].ID != root.ID || h[1].ID != second.ID {
		t.Fatalf("history = %+v, want the two top-level messages", h)
	}
	if got := h[0]; got.Body != "hello, edited" || got.EditedAt == nil || got.Replies != 1 || got.LastReplyAt == nil ||
		len(got.Reactions) != 1 || got.Reactions[0].Emoji != "👍" || got.Reactions[0].Count != 2 || !got.Reactions[0].Mine {
		t.Errorf("history[0] = %+v, want the edit, the reply and two 👍 (one alice's) folded in", got)
	}
	if got := alice.history(room.ID, "?before=2&limit=1"); len(got) != 1 || got[0].ID != root.ID {
		t.Errorf("history before 2 = %+v, want the root", got)
	}
	var th struct {
		Root     hanashi.Message   `json:"root"`
		Messages []hanashi.Message `json:"messages"`
	}
	bob.ok(http.StatusOK, "GET", base+"/threads/"+string(root.ID)+"?after=0", nil, &th)
	if th.Root.ID != root.ID || th.Root.Body != "hello, edited" || len(th.Root.Reactions) != 1 || !th.Root.Reactions[0].Mine ||
		len(th.Messages) != 1 || th.Messages[0].ID != reply.ID || !th.Messages[0].Deleted || th.Messages[0].Body != "" {
		t.Errorf("thread = %+v, want the folded root and the deleted reply", th)
	}

	// One message, folded as in the history: what a permalink opens.
	var one struct{ Message hanashi.Message }
	bob.ok(http.StatusOK, "GET", base+"/messages/"+string(root.ID), nil, &one)
	if got := one.Message; got.ID != root.ID || got.Seq != root.Seq || got.Body != "hello, edited" || got.Replies != 1 ||
		len(got.Reactions) != 1 || got.Reactions[0].Count != 2 || !got.Reactions[0].Mine || got.CreatedAt.Location() != time.UTC {
		t.Errorf("GET message = %+v, want the root folded as the history has it, bob's 👍 his", got)
	}
	bob.ok(http.StatusOK, "GET", base+"/messages/"+string(reply.ID), nil, &one)
	if got := one.Message; got.ID != reply.ID || got.Thread != root.ID || !got.Deleted || got.Body != "" {
		t.Errorf("GET reply = %+v, want the deleted reply naming its root", got)
	}
	bob.ok(http.StatusNotFound, "GET", base+"/messages/"+string(edit.ID), nil, nil) // an edit is not a message

	// The moderator (the room's creator) deletes somebody else's message.
	other := bob.send(room.ID, "b2", "spam", "")
	alice.ok(http.StatusOK, "DELETE", base+"/messages/"+string(other.ID), nil, &ev)
	if ev.Message.Kind != hanashi.KindDelete || ev.Message.Author.ID != alice.id {
		t.Errorf("moderator's delete = %+v", ev.Message)
	}

	// Any emoji is a reaction, the longest too: a kiss with two skin
	// tones is 35 bytes.
	kiss := "🧑🏻\u200d❤️\u200d💋\u200d🧑🏼"
	if len(kiss) != 35 {
		t.Fatalf("the kiss is %d bytes, want 35", len(kiss))
	}
	bob.ok(http.StatusOK, "PUT", base+"/messages/"+string(second.ID)+"/reactions/"+url.PathEscape(kiss), nil, &ev)
	if ev.Message.Emoji != kiss {
		t.Errorf("react with the kiss = %+v", ev.Message)
	}
	if h := alice.history(room.ID, ""); len(h) < 2 || h[1].ID != second.ID || len(h[1].Reactions) != 1 || h[1].Reactions[0].Emoji != kiss {
		t.Errorf("history = %+v, want the kiss on %s", h, second.ID)
	}
}

// TestChatHTTPRefusals sends what the API must refuse, by people who may
// not, about messages and rooms that are not theirs to see, and checks
// that nothing changed.
func TestChatHTTPRefusals(t *testing.T) {
	s := startChat(t)
	alice, bob, eve := s.user("alice", false), s.user("bob", false), s.user("eve", true)
	room := alice.room("team", false, 0)
	bob.join(room.ID)
	eve.join(room.ID)
	otherRoom := bob.room("elsewhere", false, 0)
	private := bob.room("secret", true, 0)
	var dm struct{ Room hanashi.Room }
	alice.ok(http.StatusOK, "POST", "/api/v1/direct", map[string]any{"users": []hanashi.UserID{bob.id}}, &dm)

	msg := alice.send(room.ID, "a1", "alice's", "")
	reply := bob.send(room.ID, "b1", "bob's reply", msg.ID)
	elsewhere := bob.send(otherRoom.ID, "b2", "elsewhere", "")
	secret := bob.send(private.ID, "b3", "secret", "")
	direct := bob.send(dm.Room.ID, "b4", "just us", "")
	bob.ok(http.StatusOK, "PUT", fmt.Sprintf("/api/v1/rooms/%d/messages/%s/reactions/x", room.ID, msg.ID), nil, nil)

	snapshot := func() string {
		var b strings.Builder
		for _, r := range []hanashi.RoomID{room.ID, otherRoom.ID, private.ID, dm.Room.ID} {
			b.WriteString(fmt.Sprint(bob.stream(r)))
		}
		b.WriteString(fmt.Sprint(bob.history(room.ID, "")))
		for _, u := range []*chatUser{alice, bob, eve} {
			rooms, threads := u.unread()
			b.WriteString(fmt.Sprint(rooms, threads))
		}
		return b.String()
	}
	before := snapshot()

	base := fmt.Sprintf("/api/v1/rooms/%d", room.ID)
	msgPath := base + "/messages/" + string(msg.ID)
	long := strings.Repeat("x", hanashi.MaxBodyBytes+1)
	huge := `{"body":"` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		what         string
		who          *chatUser
		status       int
		code, method string
		path         string
		body         any
	}{
		// Bodies.
		{"empty body", alice, 400, "invalid", "POST", base + "/messages", map[string]any{"body": ""}},
		{"blank body", alice, 400, "invalid", "POST", base + "/messages", map[string]any{"body": " \n\t"}},
		{"NUL in the body", alice, 400, "invalid", "POST", base + "/messages", map[string]any{"body": "a\x00b"}},
		{"body over the limit", alice, 413, "too_large", "POST", base + "/messages", map[string]any{"body": long}},
		{"request over 64 KiB", alice, 413, "too_large", "POST", base + "/messages", huge},
		{"not JSON", alice, 400, "invalid", "POST", base + "/messages", `{"body":`},
		{"client id too long", alice, 400, "invalid", "POST", base + "/messages", map[string]any{"body": "x", "client_id": strings.Repeat("c", 129)}},
		{"client id of another room", bob, 409, "conflict", "POST", base + "/messages", map[string]any{"body": "x", "client_id": "b2"}},
		{"reply to a reply", alice, 400, "invalid", "POST", base + "/messages", map[string]any{"body": "x", "thread": reply.ID}},
		{"reply to another room's message", alice, 404, "not_found", "POST", base + "/messages", map[string]any{"body": "x", "thread": elsewhere.ID}},
		{"edit to a blank body", alice, 400, "invalid", "PATCH", msgPath, map[string]any{"body": "  "}},
		{"edit without a body", alice, 400, "invalid", "PATCH", msgPath, map[string]any{}},
		{"edit over the limit", alice, 413, "too_large", "PATCH", msgPath, map[string]any{"body": long}},
		{"delete with a body", alice, 400, "invalid", "DELETE", msgPath, map[string]any{"body": "x"}},

		// Other people's messages.
		{"edit of somebody else's message", bob, 403, "forbidden", "PATCH", msgPath, map[string]any{"body": "mine now"}},
		{"edit by the moderator", alice, 403, "forbidden", "PATCH", base + "/messages/" + string(reply.ID), map[string]any{"body": "moderated"}},
		{"delete by a member who is not the moderator", eve, 403, "forbidden", "DELETE", msgPath, nil},
		{"react twice", bob, 409, "conflict", "PUT", msgPath + "/reactions/x", nil},
		{"take back a reaction one did not give", alice, 409, "conflict", "DELETE", msgPath + "/reactions/x", nil},

		// Message ids.
		{"unknown message", alice, 404, "not_found", "PATCH", base + "/messages/nonesuch", map[string]any{"body": "x"}},
		{"message id not text", alice, 404, "not_found", "PATCH", base + "/messages/%FF%00", map[string]any{"body": "x"}},
		{"message of another room", bob, 404, "not_found", "PATCH", base + "/messages/" + string(elsewhere.ID), map[string]any{"body": "x"}},
		{"delete a message of another room", bob, 404, "not_found", "DELETE", base + "/messages/" + string(elsewhere.ID), nil},
		{"react to a message of another room", bob, 404, "not_found", "PUT", base + "/messages/" + string(elsewhere.ID) + "/reactions/x", nil},
		{"get an unknown message", bob, 404, "not_found", "GET", base + "/messages/nonesuch", nil},
		{"get a message of another room", bob, 404, "not_found", "GET", base + "/messages/" + string(elsewhere.ID), nil},
		{"get a message id not text", bob, 404, "not_found", "GET", base + "/messages/%FF%00", nil},
		{"thread of another room's message", bob, 404, "not_found", "GET", base + "/threads/" + string(elsewhere.ID), nil},
		{"thread of a reply", bob, 404, "not_found", "GET", base + "/threads/" + string(reply.ID), nil},
		{"follow a reply", bob, 404, "not_found", "PUT", base + "/threads/" + string(reply.ID) + "/follow", nil},
		{"read a thread of another room", bob, 404, "not_found", "PUT", base + "/threads/" + string(elsewhere.ID) + "/read", map[string]any{"seq": 1}},

		// Hostile emoji.
		{"emoji with a space", bob, 400, "invalid", "PUT", msgPath + "/reactions/a%20b", nil},
		{"emoji with a control character", bob, 400, "invalid", "PUT", msgPath + "/reactions/a%07", nil},
		{"emoji with a NUL", bob, 400, "invalid", "PUT", msgPath + "/reactions/a%00", nil},
		{"emoji not UTF-8", bob, 400, "invalid", "PUT", msgPath + "/reactions/%FF", nil},
		{"emoji over 64 bytes", bob, 400, "invalid", "PUT", msgPath + "/reactions/" + strings.Repeat("z", hanashi.MaxEmojiBytes+1), nil},
		{"emoji of 17 thumbs", bob, 400, "invalid", "PUT", msgPath + "/reactions/" + strings.Repeat(url.PathEscape("👍"), 17), nil},
		{"unreact with a bad emoji", bob, 400, "invalid", "DELETE", msgPath + "/reactions/%0A", nil},

		// Read markers.
		{"read without seq", alice, 400, "invalid", "PUT", base + "/read", map[string]any{}},
		{"read with a negative seq", alice, 400, "invalid", "PUT", base + "/read", map[string]any{"seq": -1}},
		{"read with seq not a number", alice, 400, "invalid", "PUT", base + "/read", map[string]any{"seq": "1"}},
		{"thread read with a negative seq", alice, 400, "invalid", "PUT", base + "/threads/" + string(msg.ID) + "/read", map[string]any{"seq": -5}},

		// Rooms nobody may see, or not this caller.
		{"history of an unknown room", alice, 404, "not_found", "GET", "/api/v1/rooms/999999/history", nil},
		{"history of a malformed room", alice, 404, "not_found", "GET", "/api/v1/rooms/abc/history", nil},
		{"post to an unknown room", alice, 404, "not_found", "POST", "/api/v1/rooms/999999/messages", map[string]any{"body": "x"}},
		{"members of an unknown room", alice, 404, "not_found", "GET", "/api/v1/rooms/999999/members", nil},
		{"create a room inside an unknown room", alice, 404, "not_found", "POST", "/api/v1/rooms", map[string]any{"name": "c", "parent": 999999}},
		{"create a room inside a negative room", alice, 404, "not_found", "POST", "/api/v1/rooms", map[string]any{"name": "c", "parent": -1}},
		{"nameless room inside a room one may not see", eve, 404, "not_found", "POST", "/api/v1/rooms", map[string]any{"name": "", "parent": private.ID}},
		{"create a room inside a direct room", alice, 400, "invalid", "POST", "/api/v1/rooms", map[string]any{"name": "c", "parent": dm.Room.ID}},
		{"create a guest-free room as a guest", eve, 403, "forbidden", "POST", "/api/v1/rooms", map[string]any{"name": "c", "guests_allowed": false, "parent": room.ID}},

		// Direct rooms.
		{"direct room with nobody", alice, 400, "invalid", "POST", "/api/v1/direct", map[string]any{"users": []string{}}},
		{"direct room with oneself", alice, 400, "invalid", "POST", "/api/v1/direct", map[string]any{"users": []hanashi.UserID{alice.id}}},
		{"direct room with an unknown user", alice, 404, "not_found", "POST", "/api/v1/direct", map[string]any{"users": []string{"nonesuch"}}},
		{"direct room with too many", alice, 400, "invalid", "POST", "/api/v1/direct", map[string]any{"users": slices.Repeat([]hanashi.UserID{bob.id}, 10)}},
		{"users search not text", alice, 400, "invalid", "GET", "/api/v1/users?q=%FF", nil},
	}
	for _, who := range []struct {
		room hanashi.RoomID
		msg  hanashi.MessageID
	}{{private.ID, secret.ID}, {dm.Room.ID, direct.ID}} {
		b := fmt.Sprintf("/api/v1/rooms/%d", who.room)
		m := b + "/messages/" + string(who.msg)
		for _, c := range []struct{ method, path string }{
			{"GET", b}, {"GET", b + "/history"}, {"GET", b + "/messages"}, {"GET", b + "/members"},
			{"GET", b + "/threads/" + string(who.msg)}, {"GET", m}, {"POST", b + "/messages"}, {"PATCH", m}, {"DELETE", m},
			{"PUT", m + "/reactions/x"}, {"DELETE", m + "/reactions/x"}, {"PUT", b + "/read"},
			{"PUT", b + "/threads/" + string(who.msg) + "/read"}, {"PUT", b + "/threads/" + string(who.msg) + "/follow"},
			{"DELETE", b + "/threads/" + string(who.msg) + "/follow"}, {"POST", "/api/v1/rooms"},
		} {
			body := map[string]any{"body": "x", "seq": 1, "name": "child", "parent": who.room}
			if c.method == "GET" || c.method == "DELETE" {
				body = nil
			}
			cases = append(cases, struct {
				what         string
				who          *chatUser
				status       int
				code, method string
				path         string
				body         any
			}{fmt.Sprintf("eve: %s %s of another's room", c.method, c.path), eve, 404, "not_found", c.method, c.path, body})
		}
	}
	for _, c := range cases {
		c.who.refused(c.what, c.status, c.code, c.method, c.path, c.body)
	}
	if after := snapshot(); after != before {
		t.Errorf("refusals changed the stored state:\nbefore %s\nafter  %s", before, after)
	}
	var rooms struct{ Rooms []hanashi.Room }
	eve.ok(http.StatusOK, "GET", "/api/v1/rooms", nil, &rooms)
	for _, r := range rooms.Rooms {
		if r.ID == private.ID || r.ID == dm.Room.ID {
			t.Errorf("eve lists room %+v, which she may not see", r)
		}
	}
	nobody := &chatUser{s: s, name: "nobody"}
	nobody.refused("no session", 401, "unauthorized", "GET", "/api/v1/unread", nil)
	nobody.refused("no session", 401, "unauthorized", "POST", base+"/messages", map[string]any{"body": "x"})
}

// TestChatHTTPUnread follows read markers and unread counts through the
// API: mentions, @room, threads followed and read.
func TestChatHTTPUnread(t *testing.T) {
	s := startChat(t)
	alice, bob, carol := s.user("alice", false), s.user("Bob Lee", false), s.user("carol", true)
	room := alice.room("team", false, 0)
	bob.join(room.ID)
	carol.join(room.ID)
	base := fmt.Sprintf("/api/v1/rooms/%d", room.ID)

	root := alice.send(room.ID, "a1", "hi @Bob Lee", "")
	alice.send(room.ID, "a2", "and @room", "")
	carol.send(room.ID, "c1", "nothing for bob", "")
	bob.send(room.ID, "b1", "bob's own @room", "")
	reply := carol.send(room.ID, "c2", "@bob lee in a thread", root.ID)

	rooms, _ := bob.unread()
	want := hanashi.UnreadCount{Room: room.ID, LastRead: 0, LastSeq: 5, Unread: 3, Mentions: 3}
	if len(rooms) != 1 || rooms[0] != want {
		t.Errorf("bob's unread = %+v, want %+v", rooms, want)
	}
	var read struct {
		LastRead *int64 `json:"last_read"`
	}
	bob.ok(http.StatusOK, "PUT", base+"/read", map[string]any{"seq": 2}, &read)
	if read.LastRead == nil || *read.LastRead != 2 {
		t.Errorf("PUT read 2 = %v", read.LastRead)
	}
	// It never moves back, and past the end it is the end.
	bob.ok(http.StatusOK, "PUT", base+"/read", map[string]any{"seq": 1}, &read)
	if *read.LastRead != 2 {
		t.Errorf("PUT read 1 after 2 = %d, want 2", *read.LastRead)
	}
	rooms, _ = bob.unread()
	if want := (hanashi.UnreadCount{Room: room.ID, LastRead: 2, LastSeq: 5, Unread: 1, Mentions: 1}); len(rooms) != 1 || rooms[0] != want {
		t.Errorf("bob's unread after reading to 2 = %+v, want %+v", rooms, want)
	}

	// Alice follows her root (its author); carol's reply is unread there.
	_, threads := alice.unread()
	if len(threads) != 1 || threads[0].Root != root.ID || threads[0].Unread != 1 {
		t.Errorf("alice's threads = %+v, want one unread reply to %s", threads, root.ID)
	}
	alice.ok(http.StatusNoContent, "PUT", base+"/threads/"+string(root.ID)+"/read", map[string]any{"seq": reply.Seq}, nil)
	if _, threads := alice.unread(); len(threads) != 0 {
		t.Errorf("alice's threads after reading = %+v, want none", threads)
	}
	// Bob follows it explicitly and stops again.
	bob.ok(http.StatusNoContent, "PUT", base+"/threads/"+string(root.ID)+"/follow", nil, nil)
	carol.send(room.ID, "c3", "another reply", root.ID)
	if _, threads := bob.unread(); len(threads) != 1 || threads[0].Unread != 1 {
		t.Errorf("bob's threads = %+v, want the new reply unread", threads)
	}
	bob.ok(http.StatusNoContent, "DELETE", base+"/threads/"+string(root.ID)+"/follow", nil, nil)
	if _, threads := bob.unread(); len(threads) != 0 {
		t.Errorf("bob's threads after unfollowing = %+v, want none", threads)
	}
	bob.ok(http.StatusOK, "PUT", base+"/read", map[string]any{"seq": 1 << 40}, &read)
	if *read.LastRead != 6 {
		t.Errorf("PUT read far past the end = %d, want the last seq 6", *read.LastRead)
	}
	if rooms, _ := bob.unread(); len(rooms) != 1 || rooms[0].Unread != 0 || rooms[0].Mentions != 0 {
		t.Errorf("bob's unread after reading all = %+v", rooms)
	}
}

// TestChatHTTPPeople checks members, the users search and direct rooms.
func TestChatHTTPPeople(t *testing.T) {
	s := startChat(t)
	alice, ann, bob := s.user("alice", false), s.user("Ann", false), s.user("bob", false)
	guest := s.user("analyst", true)
	room := alice.room("team", false, 0)
	bob.join(room.ID)

	var members struct{ Members []hanashi.Author }
	guest.ok(http.StatusOK, "GET", fmt.Sprintf("/api/v1/rooms/%d/members", room.ID), nil, &members)
	got := []hanashi.UserID{}
	for _, m := range members.Members {
		got = append(got, m.ID)
	}
	want := []hanashi.UserID{alice.id, bob.id}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("members = %+v, want alice and bob", members.Members)
	}

	var users struct{ Users []hanashi.Author }
	bob.ok(http.StatusOK, "GET", "/api/v1/users?q=A", nil, &users)
	if len(users.Users) != 2 || users.Users[0].ID != alice.id || users.Users[1].ID != ann.id {
		t.Errorf("users starting with A = %+v, want alice and Ann, not the guest", users.Users)
	}
	bob.ok(http.StatusOK, "GET", "/api/v1/users?q="+strings.Repeat("a", 100), nil, &users)
	if users.Users == nil || len(users.Users) != 0 {
		t.Errorf("users with a long name = %+v, want []", users.Users)
	}
	for range 30 {
		s.user(fmt.Sprint("many-", hanashi.NewID()), false)
	}
	bob.ok(http.StatusOK, "GET", "/api/v1/users?q=many", nil, &users)
	if len(users.Users) != 20 {
		t.Errorf("users search answered %d, want at most 20", len(users.Users))
	}

	// The same people make the same direct room, whoever asks, in any order.
	var dm, dm2 struct{ Room hanashi.Room }
	alice.ok(http.StatusOK, "POST", "/api/v1/direct", map[string]any{"users": []hanashi.UserID{bob.id, guest.id}}, &dm)
	bob.ok(http.StatusOK, "POST", "/api/v1/direct", map[string]any{"users": []hanashi.UserID{guest.id, alice.id, bob.id}}, &dm2)
	if dm.Room.ID == 0 || dm.Room.ID != dm2.Room.ID || dm.Room.Kind != hanashi.RoomDirect || !dm.Room.Private || !dm2.Room.Member {
		t.Errorf("direct rooms = %+v and %+v, want one private direct room", dm.Room, dm2.Room)
	}
	guest.send(dm.Room.ID, "g1", "hello both", "")
	ann.refused("outsider reads the direct room", 404, "not_found", "GET", fmt.Sprintf("/api/v1/rooms/%d/history", dm.Room.ID), nil)
	ann.refused("outsider joins the direct room", 404, "not_found", "POST", fmt.Sprintf("/api/v1/rooms/%d/members", dm.Room.ID), nil)
	bob.refused("member adds somebody to the direct room", 403, "forbidden", "POST", fmt.Sprintf("/api/v1/rooms/%d/members", dm.Room.ID), map[string]any{"user_id": ann.id})
	if h := bob.history(dm.Room.ID, ""); len(h) != 1 || h[0].Body != "hello both" {
		t.Errorf("direct room history = %+v", h)
	}
	// Nobody moderates a direct room: alice, who made it, cannot delete bob's message.
	m := bob.send(dm.Room.ID, "b1", "mine", "")
	alice.refused("delete in a direct room", 403, "forbidden", "DELETE", fmt.Sprintf("/api/v1/rooms/%d/messages/%s", dm.Room.ID, m.ID), nil)
}

// TestChatNestedRoomLive creates rooms inside a room: the parent's
// subscribers get the link live, and a private child's name stays hidden.
func TestChatNestedRoomLive(t *testing.T) {
	s := startChat(t)
	alice, bob := s.user("alice", false), s.user("bob", false)
	parent := alice.room("parent", false, 0)
	bob.join(parent.ID)
	ws := bob.dial()
	subscribe(t, ws, parent.ID)

	child := alice.room("child", false, parent.ID)
	if child.Parent != parent.ID || child.ParentSeq != 1 {
		t.Errorf("child = %+v, want parent %d at seq 1", child, parent.ID)
	}
	if f := nextFrame(t, ws); f.Type != "message" || f.Kind != hanashi.KindRoom || f.Seq != 1 || f.Child != child.ID || f.Body != "child" {
		t.Fatalf("live frame = %+v, want the link to room %d", f, child.ID)
	}
	hidden := alice.room("hidden", true, parent.ID)
	if f := nextFrame(t, ws); f.Kind != hanashi.KindRoom || f.Seq != 2 || f.Child != hidden.ID || f.Body != "" {
		t.Fatalf("live frame = %+v, want the link to the private room without its name", f)
	}
	// The stream goes on after the links without a gap.
	alice.send(parent.ID, "a1", "after", "")
	if f := nextFrame(t, ws); f.Kind != hanashi.KindMessage || f.Seq != 3 {
		t.Fatalf("live frame = %+v, want the message at seq 3", f)
	}
	bob.refused("the private child", 404, "not_found", "GET", fmt.Sprintf("/api/v1/rooms/%d", hidden.ID), nil)
	if h := bob.history(parent.ID, ""); len(h) != 3 || h[0].Child != child.ID || h[1].Child != hidden.ID {
		t.Errorf("parent's history = %+v, want the links and the message", h)
	}
}

// TestChatWebSocketSendKinds sends every kind of event over the WebSocket:
// each is acked once durable, refusals name the client_id, and nothing
// refused is stored.
func TestChatWebSocketSendKinds(t *testing.T) {
	s := startChat(t)
	alice, bob := s.user("alice", false), s.user("bob", false)
	room := alice.room("team", false, 0)
	bob.join(room.ID)
	ws := alice.dial()
	bws := bob.dial()
	subscribe(t, bws, room.ID)

	ack := func(ws *websocket.Conn, frame string) chatFrame {
		t.Helper()
		send(t, ws, frame)
		f := nextFrame(t, ws)
		if f.Type != "ack" {
			t.Fatalf("sent %s: got %+v, want an ack", frame, f)
		}
		return f
	}
	r := room.ID
	m := ack(ws, fmt.Sprintf(`{"type":"send","room":%d,"client_id":"c1","body":"hello"}`, r))
	ack(ws, fmt.Sprintf(`{"type":"send","room":%d,"client_id":"c2","body":"a reply","thread":%q}`, r, m.ID))
	ack(ws, fmt.Sprintf(`{"type":"send","room":%d,"client_id":"c3","kind":"edit","target":%q,"body":"hello, edited"}`, r, m.ID))
	ack(ws, fmt.Sprintf(`{"type":"send","room":%d,"client_id":"c4","kind":"react","target":%q,"emoji":"👍"}`, r, m.ID))
	// A resend of the reaction is acked again with the same seq.
	if f := ack(ws, fmt.Sprintf(`{"type":"send","room":%d,"client_id":"c4","kind":"react","target":%q,"emoji":"👍"}`, r, m.ID)); f.Seq != 4 {
		t.Errorf("resent reaction acked with seq %d, want 4", f.Seq)
	}
	ack(ws, fmt.Sprintf(`{"type":"send","room":%d,"client_id":"c5","kind":"unreact","target":%q,"emoji":"👍"}`, r, m.ID))
	last := ack(ws, fmt.Sprintf(`{"type":"send","room":%d,"client_id":"c6","kind":"delete","target":%q}`, r, m.ID))
	if last.Seq != 6 {
		t.Errorf("delete acked with seq %d, want 6", last.Seq)
	}
	for i, k := range []hanashi.Kind{"message", "message", "edit", "react", "unreact", "delete"} {
		if f := nextFrame(t, bws); f.Type != "message" || f.Seq != int64(i+1) || f.Kind != k {
			t.Fatalf("bob's frame %d = %+v, want %s", i, f, k)
		}
	}

	other := bob.send(r, "b1", "bob's", "")
	nextFrame(t, bws) // bob's message, live
	for _, c := range []struct {
		what, frame, code string
	}{
		{"unknown kind", `"kind":"shout","body":"x"`, "invalid"},
		{"room link", `"kind":"room","body":"x"`, "invalid"},
		{"edit without target", `"kind":"edit","body":"x"`, "invalid"},
		{"edit of bob's message", fmt.Sprintf(`"kind":"edit","target":%q,"body":"x"`, other.ID), "forbidden"},
		{"edit of a deleted message", fmt.Sprintf(`"kind":"edit","target":%q,"body":"x"`, m.ID), "conflict"},
		{"blank edit", fmt.Sprintf(`"kind":"edit","target":%q,"body":"  "`, other.ID), "invalid"},
		{"delete with a body", fmt.Sprintf(`"kind":"delete","target":%q,"body":"x"`, other.ID), "invalid"},
		{"delete with an emoji", fmt.Sprintf(`"kind":"delete","target":%q,"emoji":"x"`, other.ID), "invalid"},
		{"react without emoji", fmt.Sprintf(`"kind":"react","target":%q`, other.ID), "invalid"},
		{"react with a space", fmt.Sprintf(`"kind":"react","target":%q,"emoji":"a b"`, other.ID), "invalid"},
		{"react with a long emoji", fmt.Sprintf(`"kind":"react","target":%q,"emoji":%q`, other.ID, strings.Repeat("x", hanashi.MaxEmojiBytes+1)), "invalid"},
		{"react to a deleted message", fmt.Sprintf(`"kind":"react","target":%q,"emoji":"x"`, m.ID), "conflict"},
		{"unreact not given", fmt.Sprintf(`"kind":"unreact","target":%q,"emoji":"x"`, other.ID), "conflict"},
		{"unknown target", `"kind":"react","target":"nonesuch","emoji":"x"`, "not_found"},
		{"message with a target", fmt.Sprintf(`"target":%q,"body":"x"`, other.ID), "invalid"},
		{"message with an emoji", `"emoji":"x","body":"x"`, "invalid"},
		{"blank message", `"body":" "`, "invalid"},
		{"reply to a deleted root", fmt.Sprintf(`"thread":%q,"body":"x"`, m.ID), "conflict"},
		{"reply to an unknown root", `"thread":"nonesuch","body":"x"`, "not_found"},
		{"body too long", fmt.Sprintf(`"body":%q`, strings.Repeat("x", hanashi.MaxBodyBytes+1)), "too_large"},
	} {
		id := "refused-" + strings.ReplaceAll(c.what, " ", "-")
		send(t, ws, fmt.Sprintf(`{"type":"send","room":%d,"client_id":%q,%s}`, r, id, c.frame))
		f := nextFrame(t, ws)
		if f.Type != "error" || f.Code != c.code || f.ClientID != id {
			t.Errorf("%s: got %+v, want an error %q naming %q", c.what, f, c.code, id)
		}
	}
	// Nothing was stored: the next event has the next seq.
	if f := ack(ws, fmt.Sprintf(`{"type":"send","room":%d,"client_id":"c7","body":"after"}`, r)); f.Seq != other.Seq+1 {
		t.Errorf("after the refusals the next seq is %d, want %d", f.Seq, other.Seq+1)
	}
}
