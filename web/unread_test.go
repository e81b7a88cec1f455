package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/websocket"
)

// unreadEcho is a read echo as the server sends it.
type unreadEcho struct {
	Type   string         `json:"type"`
	Room   hanashi.RoomID `json:"room"`
	Seq    int64          `json:"seq"`
	Unread bool           `json:"unread"`
}

// nextRead reads frames until a read echo, which it returns; other frames
// are skipped.
func nextRead(t *testing.T, ws *websocket.Conn) unreadEcho {
	t.Helper()
	for {
		typ, p := readFrame(t, ws)
		if typ != "read" {
			continue
		}
		var f unreadEcho
		if err := json.Unmarshal(p, &f); err != nil {
			t.Fatalf("frame %s: %v", p, err)
		}
		return f
	}
}

func unreadCountOf(t *testing.T, u *chatUser, room hanashi.RoomID) hanashi.UnreadCount {
	t.Helper()
	rooms, _ := u.unread()
	for _, c := range rooms {
		if c.Room == room {
			return c
		}
	}
	t.Fatalf("GET /unread as %s has no room %d: %+v", u.name, room, rooms)
	return hanashi.UnreadCount{}
}

// TestMarkUnread moves a read marker back over HTTP: the answer is the
// marker as stored, the counts follow, every connection of the user (and
// only the user) is told with an echo marked "unread", and the marker
// advances again from there.
func TestMarkUnread(t *testing.T) {
	s := startChat(t)
	alice, bob := s.user("alice", false), s.user("bob", false)
	room := alice.room("general", false, 0)
	bob.join(room.ID)
	for i := range 5 {
		bob.send(room.ID, fmt.Sprintf("c%d", i), fmt.Sprintf("message %d", i+1), "")
	}
	base := fmt.Sprintf("/api/v1/rooms/%d", room.ID)
	alice.ok(http.StatusOK, "PUT", base+"/read", map[string]any{"seq": 5}, nil)

	tab1, tab2, other := alice.dial(), alice.dial(), bob.dial()
	var got struct {
		LastRead int64 `json:"last_read"`
	}
	alice.ok(http.StatusOK, "PUT", base+"/unread", map[string]any{"seq": 3}, &got)
	if got.LastRead != 2 {
		t.Fatalf("PUT /unread {seq: 3} = last_read %d, want 2", got.LastRead)
	}
	want := unreadEcho{Type: "read", Room: room.ID, Seq: 2, Unread: true}
	for i, ws := range []*websocket.Conn{tab1, tab2} {
		if f := nextRead(t, ws); f != want {
			t.Errorf("connection %d: echo %+v, want %+v", i+1, f, want)
		}
	}
	if c := unreadCountOf(t, alice, room.ID); c.LastRead != 2 || c.Unread != 3 {
		t.Errorf("alice's count after mark unread = %+v, want last_read 2 and 3 unread", c)
	}
	if c := unreadCountOf(t, bob, room.ID); c.LastRead == 2 {
		t.Errorf("bob's marker moved with alice's: %+v", c)
	}
	// A seq past the end counts as the last seq, as for /read.
	alice.ok(http.StatusOK, "PUT", base+"/unread", map[string]any{"seq": 99}, &got)
	if got.LastRead != 5 {
		t.Errorf("PUT /unread {seq: 99} = last_read %d, want 5", got.LastRead)
	}
	alice.ok(http.StatusOK, "PUT", base+"/unread", map[string]any{"seq": 1}, &got)
	// /read moves it forward again from the lowered marker.
	alice.ok(http.StatusOK, "PUT", base+"/read", map[string]any{"seq": 4}, &got)
	if got.LastRead != 4 {
		t.Errorf("PUT /read {seq: 4} after unread = last_read %d, want 4", got.LastRead)
	}
	// Bob hears of none of it: his next frame is the echo of his own read.
	bob.ok(http.StatusOK, "PUT", base+"/read", map[string]any{"seq": 1}, nil)
	if f := nextRead(t, other); f.Unread || f.Seq != 1 {
		t.Errorf("bob got %+v, want only the echo of his own read (seq 1)", f)
	}

	private := bob.room("secret", true, 0)
	eve := s.user("eve", true)
	before := unreadCountOf(t, alice, room.ID)
	for _, c := range []struct {
		what   string
		u      *chatUser
		status int
		code   string
		path   string
		body   any
	}{
		{"without seq", alice, 400, "invalid", base + "/unread", map[string]any{}},
		{"seq 0", alice, 400, "invalid", base + "/unread", map[string]any{"seq": 0}},
		{"a negative seq", alice, 400, "invalid", base + "/unread", map[string]any{"seq": -1}},
		{"seq not a number", alice, 400, "invalid", base + "/unread", map[string]any{"seq": "3"}},
		{"a body not JSON", alice, 400, "invalid", base + "/unread", "{"},
		{"not a member", eve, 403, "forbidden", base + "/unread", map[string]any{"seq": 1}},
		{"an unknown room", alice, 404, "not_found", "/api/v1/rooms/999999/unread", map[string]any{"seq": 1}},
		{"a private room of others", alice, 404, "not_found", fmt.Sprintf("/api/v1/rooms/%d/unread", private.ID), map[string]any{"seq": 1}},
	} {
		c.u.refused(c.what, c.status, c.code, "PUT", c.path, c.body)
	}
	if after := unreadCountOf(t, alice, room.ID); after != before {
		t.Errorf("refused requests changed alice's count from %+v to %+v", before, after)
	}
}

// TestMarkUnreadAfterBatchedRead checks that a read frame the server holds
// back (written at most every 500 ms per connection and room) and that came
// before a mark unread does not move the marker forward afterwards.
func TestMarkUnreadAfterBatchedRead(t *testing.T) {
	s := startChat(t)
	alice, bob := s.user("alice", false), s.user("bob", false)
	room := alice.room("general", false, 0)
	bob.join(room.ID)
	for i := range 5 {
		bob.send(room.ID, fmt.Sprintf("c%d", i), fmt.Sprintf("message %d", i+1), "")
	}
	tab, watcher := alice.dial(), alice.dial()
	subscribe(t, tab, room.ID)
	send(t, tab, fmt.Sprintf(`{"type":"read","room":%d,"seq":1}`, room.ID)) // written at once
	if f := nextRead(t, watcher); f.Seq != 1 || f.Unread {
		t.Fatalf("echo %+v, want seq 1", f)
	}
	send(t, tab, fmt.Sprintf(`{"type":"read","room":%d,"seq":5}`, room.ID)) // held back
	// The server takes a connection's frames in order: once the answer to
	// this subscribe is there, the read frame before it is waiting.
	send(t, tab, fmt.Sprintf(`{"type":"subscribe","room":%d}`, room.ID))
	for f := nextFrame(t, tab); f.Type != "subscribed"; f = nextFrame(t, tab) {
	}
	var got struct {
		LastRead int64 `json:"last_read"`
	}
	alice.ok(http.StatusOK, "PUT", fmt.Sprintf("/api/v1/rooms/%d/unread", room.ID), map[string]any{"seq": 3}, &got)
	if got.LastRead != 2 {
		t.Fatalf("PUT /unread {seq: 3} = last_read %d, want 2", got.LastRead)
	}
	if f := nextRead(t, watcher); f.Seq != 2 || !f.Unread {
		t.Fatalf("echo %+v, want seq 2 marked unread", f)
	}
	// What must not happen has no event to wait for: wait out the interval
	// in which the held-back frame would have been written.
	time.Sleep(700 * time.Millisecond)
	if c := unreadCountOf(t, alice, room.ID); c.LastRead != 2 || c.Unread != 3 {
		t.Errorf("after the interval: %+v, want last_read 2 and 3 unread (the held-back read of 5 dropped)", c)
	}
	// Reads sent after it count as usual.
	send(t, tab, fmt.Sprintf(`{"type":"read","room":%d,"seq":4}`, room.ID))
	if f := nextRead(t, watcher); f.Seq != 4 || f.Unread {
		t.Fatalf("echo %+v, want seq 4", f)
	}
}
