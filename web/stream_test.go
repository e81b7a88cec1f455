package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/avatar"
	"github.com/hanashi-chat/hanashi/web"
	"github.com/hanashi-chat/hanashi/websocket"
)

// streamFrames are the types of the user's stream (docs/protocol.md).
var streamFrames = map[string]bool{"room": true, "room_gone": true, "member": true, "profile": true}

// nextStreamFrame reads frames until one of the user's stream comes, and
// returns it as sent.
func nextStreamFrame(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	for {
		if typ, p := readFrame(t, ws); streamFrames[typ] {
			return string(p)
		}
	}
}

// readFrame reads the next frame and its type.
func readFrame(t *testing.T, ws *websocket.Conn) (string, []byte) {
	t.Helper()
	_, p, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	var head struct{ Type string }
	json.Unmarshal(p, &head)
	return head.Type, p
}

// expectStream reads the next frame of the user's stream and compares it,
// as JSON, with want.
func expectStream(t *testing.T, ws *websocket.Conn, what string, want any) {
	t.Helper()
	got := nextStreamFrame(t, ws)
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var g, wv any
	json.Unmarshal([]byte(got), &g)
	json.Unmarshal(w, &wv)
	if !reflect.DeepEqual(g, wv) {
		t.Fatalf("%s: got frame %s, want %s", what, got, w)
	}
}

// registered waits until ws is served: its answer to a frame comes after
// the connection joined the user's stream.
func registered(t *testing.T, ws *websocket.Conn) {
	t.Helper()
	send(t, ws, `{"type":"typing"}`)
	if f := nextFrame(t, ws); f.Type != "error" {
		t.Fatalf("got %+v, want an error", f)
	}
}

func userFrame(u hanashi.User) map[string]any {
	return map[string]any{"id": u.ID, "name": u.Name, "avatar_url": u.AvatarURL}
}

// The frames of the user's stream, exactly, and who gets them.
func TestUserStreamFrames(t *testing.T) {
	var dir *avatar.Dir
	s := startChatWith(t, func(c *web.Config) {
		var err error
		dir, err = avatar.OpenDir(filepath.Join(t.TempDir(), "avatars"))
		if err != nil {
			t.Fatal(err)
		}
		c.Avatars = dir
	})
	t.Cleanup(func() { dir.Close() })
	alice, bob := s.user("alice", false), s.user("bob", false)
	aliceWS, bobWS := alice.dial(), bob.dial()
	registered(t, aliceWS)
	registered(t, bobWS)
	room := func(u *chatUser, id hanashi.RoomID) hanashi.Room {
		var v struct{ Room hanashi.Room }
		u.ok(http.StatusOK, "GET", fmt.Sprintf("/api/v1/rooms/%d", id), nil, &v)
		return v.Room
	}
	roomFrame := func(r hanashi.Room) map[string]any { return map[string]any{"type": "room", "room": r} }

	// A public room: to alice as a member, to bob as not one.
	pub := alice.room("pub", false, 0)
	expectStream(t, aliceWS, "alice's new room", roomFrame(room(alice, pub.ID)))
	expectStream(t, bobWS, "alice's new room, for bob", roomFrame(room(bob, pub.ID)))

	// A private room: to alice only. Bob's next frame is his own room.
	priv := alice.room("priv", true, 0)
	expectStream(t, aliceWS, "alice's private room", roomFrame(room(alice, priv.ID)))
	mine := bob.room("mine", true, 0)
	expectStream(t, bobWS, "bob's room, not alice's private one", roomFrame(room(bob, mine.ID)))

	// Bob joins the public room and subscribes it; alice adds him to
	// the private one.
	subscribe(t, aliceWS, pub.ID)
	bob.join(pub.ID)
	expectStream(t, bobWS, "bob joined", roomFrame(room(bob, pub.ID)))
	bobAuthor := map[string]any{"id": bob.id, "name": "bob", "avatar_url": ""} // made in the store, never signed in
	expectStream(t, aliceWS, "alice sees bob join", map[string]any{"type": "member", "room": pub.ID, "user": bobAuthor, "member": true})
	alice.ok(http.StatusOK, "POST", fmt.Sprintf("/api/v1/rooms/%d/members", priv.ID), map[string]any{"user_id": bob.id}, nil)
	expectStream(t, bobWS, "bob added", roomFrame(room(bob, priv.ID)))

	// Leaving: the public room stays, the private one goes and bob's
	// subscription to it ends.
	subscribe(t, bobWS, priv.ID)
	bob.ok(http.StatusNoContent, "DELETE", fmt.Sprintf("/api/v1/rooms/%d/members/me", pub.ID), nil, nil)
	expectStream(t, bobWS, "bob left the public room", roomFrame(room(bob, pub.ID)))
	expectStream(t, aliceWS, "alice sees bob leave", map[string]any{"type": "member", "room": pub.ID, "user": bobAuthor, "member": false})
	bob.ok(http.StatusNoContent, "DELETE", fmt.Sprintf("/api/v1/rooms/%d/members/me", priv.ID), nil, nil)
	if f := nextFrame(t, bobWS); f.Type != "unsubscribed" || f.Room != priv.ID {
		t.Fatalf("bob left the private room: got %+v, want unsubscribed", f)
	}
	expectStream(t, bobWS, "bob left the private room", map[string]any{"type": "room_gone", "room": priv.ID})

	// A direct room: to both, while it has no messages.
	var dm struct{ Room hanashi.Room }
	alice.ok(http.StatusOK, "POST", "/api/v1/direct", map[string]any{"users": []hanashi.UserID{bob.id}}, &dm)
	expectStream(t, aliceWS, "alice's direct room", roomFrame(room(alice, dm.Room.ID)))
	expectStream(t, bobWS, "bob's direct room", roomFrame(room(bob, dm.Room.ID)))
	// Once it has a message, nobody is told again (the next frames are
	// the profiles below).
	alice.send(dm.Room.ID, "d1", "hi", "")
	alice.ok(http.StatusOK, "POST", "/api/v1/direct", map[string]any{"users": []hanashi.UserID{bob.id}}, nil)

	// A new name, and a new avatar, to everybody.
	var me struct{ User hanashi.User }
	bob.ok(http.StatusOK, "PATCH", "/api/v1/me", map[string]any{"name": "robert"}, &me)
	for _, ws := range []*websocket.Conn{aliceWS, bobWS} {
		expectStream(t, ws, "bob's new name", map[string]any{"type": "profile", "user": userFrame(me.User)})
	}
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 8, 8)))
	var up struct {
		AvatarURL string `json:"avatar_url"`
	}
	bob.ok(http.StatusOK, "POST", "/api/v1/me/avatar", img.String(), &up)
	if !strings.Contains(up.AvatarURL, "/api/v1/avatars/") {
		t.Fatalf("upload answered %+v", up)
	}
	me.User.AvatarURL = up.AvatarURL
	for _, ws := range []*websocket.Conn{aliceWS, bobWS} {
		expectStream(t, ws, "bob's new avatar", map[string]any{"type": "profile", "user": userFrame(me.User)})
	}
}
