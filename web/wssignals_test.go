package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/testutil"
	"github.com/hanashi-chat/hanashi/websocket"
)

// writeCounter counts the calls of every Store method that writes, and
// of MarkRead on its own.
type writeCounter struct {
	hanashi.Store
	writes, marks atomic.Int64
}

func (s *writeCounter) w() { s.writes.Add(1) }

func (s *writeCounter) CreateUser(ctx context.Context, u hanashi.User) (hanashi.User, error) {
	s.w()
	return s.Store.CreateUser(ctx, u)
}
func (s *writeCounter) SignIn(ctx context.Context, id hanashi.Identity) (hanashi.User, error) {
	s.w()
	return s.Store.SignIn(ctx, id)
}
func (s *writeCounter) UpdateProfile(ctx context.Context, u hanashi.UserID, p hanashi.ProfileUpdate) (hanashi.User, error) {
	s.w()
	return s.Store.UpdateProfile(ctx, u, p)
}
func (s *writeCounter) ClaimGuest(ctx context.Context, guest, user hanashi.UserID) (int, error) {
	s.w()
	return s.Store.ClaimGuest(ctx, guest, user)
}
func (s *writeCounter) SetDisabled(ctx context.Context, u hanashi.UserID, d bool) error {
	s.w()
	return s.Store.SetDisabled(ctx, u, d)
}
func (s *writeCounter) CreateSession(ctx context.Context, x hanashi.Session) error {
	s.w()
	return s.Store.CreateSession(ctx, x)
}
func (s *writeCounter) DeleteSession(ctx context.Context, h []byte) error {
	s.w()
	return s.Store.DeleteSession(ctx, h)
}
func (s *writeCounter) DeleteUserSessions(ctx context.Context, u hanashi.UserID) error {
	s.w()
	return s.Store.DeleteUserSessions(ctx, u)
}
func (s *writeCounter) CreateLoginToken(ctx context.Context, t hanashi.LoginToken) error {
	s.w()
	return s.Store.CreateLoginToken(ctx, t)
}
func (s *writeCounter) RedeemLoginToken(ctx context.Context, h []byte) (string, error) {
	s.w()
	return s.Store.RedeemLoginToken(ctx, h)
}
func (s *writeCounter) CreateRoom(ctx context.Context, r hanashi.NewRoom) (hanashi.Room, error) {
	s.w()
	return s.Store.CreateRoom(ctx, r)
}
func (s *writeCounter) AddMember(ctx context.Context, r hanashi.RoomID, u, by hanashi.UserID) error {
	s.w()
	return s.Store.AddMember(ctx, r, u, by)
}
func (s *writeCounter) RemoveMember(ctx context.Context, r hanashi.RoomID, u hanashi.UserID) error {
	s.w()
	return s.Store.RemoveMember(ctx, r, u)
}
func (s *writeCounter) DirectRoom(ctx context.Context, m []hanashi.UserID) (hanashi.Room, error) {
	s.w()
	return s.Store.DirectRoom(ctx, m)
}
func (s *writeCounter) Post(ctx context.Context, p []hanashi.Post) ([]hanashi.PostResult, error) {
	s.w()
	return s.Store.Post(ctx, p)
}
func (s *writeCounter) MarkRead(ctx context.Context, u hanashi.UserID, r hanashi.RoomID, seq int64) (int64, error) {
	s.w()
	s.marks.Add(1)
	return s.Store.MarkRead(ctx, u, r, seq)
}
func (s *writeCounter) MarkUnread(ctx context.Context, u hanashi.UserID, r hanashi.RoomID, seq int64) (int64, error) {
	s.w()
	return s.Store.MarkUnread(ctx, u, r, seq)
}
func (s *writeCounter) FollowThread(ctx context.Context, u hanashi.UserID, r hanashi.RoomID, root hanashi.MessageID, f bool) error {
	s.w()
	return s.Store.FollowThread(ctx, u, r, root, f)
}
func (s *writeCounter) MarkThreadRead(ctx context.Context, u hanashi.UserID, r hanashi.RoomID, root hanashi.MessageID, seq int64) error {
	s.w()
	return s.Store.MarkThreadRead(ctx, u, r, root, seq)
}

// sigServer is a server whose store counts writes, with two guests, alice
// (s.token) and bob, and alice's public room.
type sigServer struct {
	*wsServer
	store *writeCounter
	bob   *wsServer // the same server, as bob
}

func startSignalServer(t *testing.T) *sigServer {
	t.Helper()
	var store *writeCounter
	ws := startWSWith(t, "loop", 0, 0, func(db hanashi.Store) hanashi.Store {
		store = &writeCounter{Store: db}
		return store
	})
	s := &sigServer{wsServer: ws, store: store}
	var g struct {
		User  hanashi.User `json:"user"`
		Token string       `json:"token"`
	}
	bob := *s.wsServer
	bob.token = ""
	bob.api("POST", "/api/v1/guests", `{"name":"bob"}`, &g)
	bob.token, bob.user = g.Token, g.User.ID
	s.bob = &bob
	return s
}

// sigFrame is any frame, with the fields of signals.
type sigFrame struct {
	Type    string         `json:"type"`
	Room    int64          `json:"room"`
	Seq     int64          `json:"seq"`
	User    hanashi.Author `json:"user"`
	State   string         `json:"state"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
}

// readUntil reads frames until one of type typ and returns all of them.
func readUntil(t *testing.T, ws *websocket.Conn, typ string) []sigFrame {
	t.Helper()
	var all []sigFrame
	for {
		_, p, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var f sigFrame
		if err := json.Unmarshal(p, &f); err != nil {
			t.Fatal(err)
		}
		all = append(all, f)
		if f.Type == typ {
			return all
		}
	}
}

func count(frames []sigFrame, typ string) int {
	n := 0
	for _, f := range frames {
		if f.Type == typ {
			n++
		}
	}
	return n
}

func TestSignalsBadFrames(t *testing.T) {
	s := startSignalServer(t)
	ws := s.dial(nil)
	s.subscribe(ws)
	writes := s.store.writes.Load()
	for _, tc := range []struct {
		frame, code, message string
	}{
		{`{"type":"typing"}`, "invalid", "room is missing"},
		{`{"type":"typing","room":-3}`, "not_found", "room not found"},
		{`{"type":"typing","room":999}`, "invalid", "subscribe to room 999 before typing in it"},
		{`{"type":"presence"}`, "invalid", `state must be "online" or "away"`},
		{`{"type":"presence","state":"offline"}`, "invalid", `state must be "online" or "away"`},
		{`{"type":"read","seq":1}`, "invalid", "room is missing"},
		{fmt.Sprintf(`{"type":"read","room":%d}`, s.room), "invalid", "seq is missing"},
		{fmt.Sprintf(`{"type":"read","room":%d,"seq":-1}`, s.room), "invalid", "seq must not be negative"},
		{`{"type":"read","room":999,"seq":1}`, "not_found", "room not found"},
		{fmt.Sprintf(`{"type":"read","room":%d,"seq":"x"}`, s.room), "invalid", ""},
	} {
		send(t, ws, tc.frame)
		got := readUntil(t, ws, "error")
		e := got[len(got)-1]
		if e.Code != tc.code || tc.message != "" && e.Message != tc.message {
			t.Errorf("%s: got %s %q, want %s %q", tc.frame, e.Code, e.Message, tc.code, tc.message)
		}
	}
	if n := s.store.writes.Load() - writes; n != 0 {
		t.Errorf("bad frames wrote to the store %d times", n)
	}
	// The connection is still fine.
	send(t, ws, fmt.Sprintf(`{"type":"unsubscribe","room":%d}`, s.room))
	readUntil(t, ws, "unsubscribed")
}

func TestSignalsTypingAndPresence(t *testing.T) {
	s := startSignalServer(t)
	alice, bob := s.dial(nil), s.bob.dial(nil)
	s.subscribe(bob)
	s.subscribe(alice)
	// Alice subscribed after bob: he is told of her as a change.
	got := readUntil(t, bob, "presence")
	if p := got[len(got)-1]; p.User.Name != "alice" || p.State != "online" || p.Room != s.room {
		t.Fatalf("bob got %+v, want alice online", p)
	}
	// Alice's snapshot names bob.
	got = readUntil(t, alice, "presence")
	if p := got[len(got)-1]; p.User.Name != "bob" || p.State != "online" {
		t.Fatalf("alice got %+v, want bob online", p)
	}

	writes := s.store.writes.Load()
	for range 3 {
		send(t, alice, fmt.Sprintf(`{"type":"typing","room":%d}`, s.room))
	}
	send(t, alice, `{"type":"presence","state":"away"}`)
	// A message after them is a barrier: what they caused is queued
	// before it.
	send(t, alice, fmt.Sprintf(`{"type":"send","room":%d,"client_id":"c1","body":"hi"}`, s.room))
	got = readUntil(t, bob, "message")
	if n := count(got, "typing"); n != 1 {
		t.Fatalf("bob got %d typing frames for 3 within 2 s, want 1: %+v", n, got)
	}
	var away bool
	for _, f := range got {
		if f.Type == "typing" && (f.User.Name != "alice" || f.Room != s.room) {
			t.Fatalf("typing frame %+v, want alice in room %d", f, s.room)
		}
		away = away || f.Type == "presence" && f.User.Name == "alice" && f.State == "away"
	}
	if !away {
		t.Fatalf("bob was not told alice is away: %+v", got)
	}
	got = readUntil(t, alice, "message")
	if n := count(got, "typing") + count(got, "presence"); n != 0 {
		t.Fatalf("alice was told of her own typing or presence: %+v", got)
	}
	// Only the send wrote.
	if n := s.store.writes.Load() - writes; n != 1 {
		t.Fatalf("typing and presence frames and one send wrote %d times, want 1", n)
	}

	alice.Close()
	got = readUntil(t, bob, "presence")
	if p := got[len(got)-1]; p.User.Name != "alice" || p.State != "offline" {
		t.Fatalf("bob got %+v, want alice offline", p)
	}
}

func TestSignalsReadMarkers(t *testing.T) {
	s := startSignalServer(t)
	for i := range 5 {
		var m struct{}
		s.api("POST", fmt.Sprintf("/api/v1/rooms/%d/messages", s.room), fmt.Sprintf(`{"client_id":"c%d","body":"m%d"}`, i, i), &m)
	}
	ws1, ws2, bob := s.dial(nil), s.dial(nil), s.bob.dial(nil)
	s.subscribe(ws1) // ws2 subscribes nothing: echoes reach it all the same

	marks := s.store.marks.Load()
	for seq := 1; seq <= 3; seq++ {
		send(t, ws1, fmt.Sprintf(`{"type":"read","room":%d,"seq":%d}`, s.room, seq))
	}
	// The first is written at once, the others gathered for 500 ms and
	// the highest written then.
	for _, want := range []int64{1, 3} {
		got := readUntil(t, ws2, "read")
		if f := got[len(got)-1]; f.Room != s.room || f.Seq != want {
			t.Fatalf("echo %+v, want room %d seq %d", f, s.room, want)
		}
	}
	if n := s.store.marks.Load() - marks; n != 2 {
		t.Fatalf("3 read frames made %d writes, want 2", n)
	}
	// Neither the sender nor another user is told.
	send(t, ws1, fmt.Sprintf(`{"type":"unsubscribe","room":%d}`, s.room))
	if got := readUntil(t, ws1, "unsubscribed"); count(got, "read") != 0 {
		t.Fatalf("the sender got its own echo: %+v", got)
	}
	send(t, bob, fmt.Sprintf(`{"type":"unsubscribe","room":%d}`, s.room))
	if got := readUntil(t, bob, "unsubscribed"); count(got, "read") != 0 {
		t.Fatalf("another user got the echo: %+v", got)
	}

	// A marker waiting when the connection closes is written then.
	send(t, ws1, fmt.Sprintf(`{"type":"read","room":%d,"seq":4}`, s.room))
	send(t, ws1, fmt.Sprintf(`{"type":"read","room":%d,"seq":5}`, s.room))
	ws1.Close()
	testutil.EventuallyNil(t, 5*time.Second, "the read marker stored on close", func() error {
		var u struct {
			Rooms []hanashi.UnreadCount `json:"rooms"`
		}
		s.api("GET", "/api/v1/unread", "", &u)
		if len(u.Rooms) == 1 && u.Rooms[0].LastRead == 5 {
			return nil
		}
		return fmt.Errorf("unread after closing: %+v, want last_read 5", u.Rooms)
	})
	if got := readUntil(t, ws2, "read"); got[len(got)-1].Seq < 4 {
		t.Fatalf("echo %+v, want seq 4 or 5", got[len(got)-1])
	}

	// PUT /rooms/{id}/read echoes to every connection of the user.
	var r struct{}
	s.api("POST", fmt.Sprintf("/api/v1/rooms/%d/messages", s.room), `{"client_id":"c6","body":"m6"}`, &r)
	s.api("PUT", fmt.Sprintf("/api/v1/rooms/%d/read", s.room), `{"seq":6}`, &r)
	for {
		got := readUntil(t, ws2, "read")
		if got[len(got)-1].Seq == 6 {
			break
		}
	}
}
