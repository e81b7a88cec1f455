package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// e2eStreamFrame is a frame of the user's stream: room, room_gone,
// member or profile.
type e2eStreamFrame struct {
	Type   string          `json:"type"`
	Room   json.RawMessage `json:"room"` // a room, or a room id
	User   e2eUser         `json:"user"`
	Member bool            `json:"member"`
}

// room decodes a room frame's room.
func (f e2eStreamFrame) room(t *testing.T) e2eRoom {
	t.Helper()
	var r e2eRoom
	if err := json.Unmarshal(f.Room, &r); err != nil {
		t.Fatalf("a %s frame's room %s: %v", f.Type, f.Room, err)
	}
	return r
}

// roomID decodes a room_gone or member frame's room.
func (f e2eStreamFrame) roomID() int64 {
	var id int64
	json.Unmarshal(f.Room, &id)
	return id
}

// waitStream reads c's frames until one matches and returns it with the
// frames read before it (as far as they decode as one of the user's stream).
func waitStream(t *testing.T, c *e2eConn, what string, match func(e2eStreamFrame) bool) (e2eStreamFrame, []e2eStreamFrame) {
	t.Helper()
	var f e2eStreamFrame
	raws := waitFrame(t, c, what, func(raw []byte) bool {
		f = e2eStreamFrame{}
		return json.Unmarshal(raw, &f) == nil && match(f)
	})
	var before []e2eStreamFrame
	for _, raw := range raws {
		var b e2eStreamFrame
		if json.Unmarshal(raw, &b) == nil {
			before = append(before, b)
		}
	}
	return f, before
}

// roomFrame matches a room frame of room id with member.
func roomFrame(id int64, member bool) func(e2eStreamFrame) bool {
	return func(f e2eStreamFrame) bool {
		var r e2eRoom
		return f.Type == "room" && json.Unmarshal(f.Room, &r) == nil && r.ID == id && r.Member == member
	}
}

// memberFrame matches a member frame of room about user.
func memberFrame(room int64, user string, member bool) func(e2eStreamFrame) bool {
	return func(f e2eStreamFrame) bool {
		return f.Type == "member" && f.roomID() == room && f.User.ID == user && f.Member == member
	}
}

func TestE2EUserStream(t *testing.T) {
	s := e2eStart(t, t.TempDir())
	testUserStream(t, s, s)
}

// TestE2EUserStreamCluster: the user's stream between two nodes that
// share PostgreSQL and Redis.
func TestE2EUserStreamCluster(t *testing.T) {
	c := newCluster(t, "")
	testUserStream(t, c.start(t, "node-a"), c.start(t, "node-b"))
}

// testUserStream checks docs/protocol.md, "The user's stream", with alice
// on nodes a and b and bob on node b (a and b may be one node).
func testUserStream(t *testing.T, a, b *e2eServer) {
	alice, bob := a.guest(t, "alice"), a.guest(t, "bob")
	lobby := a.room(t, alice, "lobby", false).ID
	// Once subscribed, a connection is registered for the user's stream.
	open := func(s *e2eServer, g e2eGuest) *e2eConn {
		c := s.ws(t, g)
		if err := c.subscribe(lobby); err != nil {
			t.Fatal(err)
		}
		waitSignal(t, c, "subscribing the lobby", "subscribed", lobby, "", "")
		return c
	}
	aliceA, aliceB, bobB := open(a, alice), open(b, alice), open(b, bob)

	// A public room reaches everybody, as each sees it; its creator on
	// both nodes.
	news := a.room(t, alice, "news", false)
	for _, c := range []*e2eConn{aliceA, aliceB} {
		f, _ := waitStream(t, c, "alice's sockets learn of her room", roomFrame(news.ID, true))
		if r := f.room(t); r.Name != "news" || r.Private || r.CreatedBy != alice.User.ID {
			t.Errorf("alice's room frame %+v, want the public room news by her", r)
		}
	}
	waitStream(t, bobB, "bob learns of alice's public room", roomFrame(news.ID, false))

	// Joining: the new member's sockets get the room, the room's
	// subscribers the member.
	b.do(t, "POST", fmt.Sprintf("/api/v1/rooms/%d/members", lobby), bob.auth(), nil).expectJSON(t, "bob joins", http.StatusOK, nil)
	waitStream(t, bobB, "bob's socket learns he joined", roomFrame(lobby, true))
	for _, c := range []*e2eConn{aliceA, bobB} {
		waitStream(t, c, "the lobby's subscribers see bob join", memberFrame(lobby, bob.User.ID, true))
	}
	b.do(t, "DELETE", fmt.Sprintf("/api/v1/rooms/%d/members/me", lobby), bob.auth(), nil)
	waitStream(t, bobB, "bob's socket learns he left a public room", roomFrame(lobby, false))
	waitStream(t, aliceA, "alice sees bob leave", memberFrame(lobby, bob.User.ID, false))

	// A private room reaches its members only; adding bob tells him; his
	// leaving makes it gone for him.
	secret := a.room(t, alice, "secret", true)
	waitStream(t, aliceB, "alice's other socket learns of her private room", roomFrame(secret.ID, true))
	after := a.room(t, alice, "after secret", false)
	_, before := waitStream(t, bobB, "bob learns of the next public room", roomFrame(after.ID, false))
	for _, f := range before {
		if f.Type == "room" && f.room(t).ID == secret.ID {
			t.Fatalf("bob was told of alice's private room: %+v", f)
		}
	}
	a.do(t, "POST", fmt.Sprintf("/api/v1/rooms/%d/members", secret.ID), alice.auth(), map[string]any{"user_id": bob.User.ID}).
		expectJSON(t, "alice adds bob", http.StatusOK, nil)
	f, _ := waitStream(t, bobB, "bob learns he was added", roomFrame(secret.ID, true))
	if r := f.room(t); r.Name != "secret" || !r.Private {
		t.Errorf("bob's room frame %+v, want the private room secret", r)
	}
	// Bob's socket on node A reads the private room until he leaves it on
	// node B.
	bobA := a.ws(t, bob)
	if err := bobA.subscribe(secret.ID); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, bobA, "bob subscribes the private room", "subscribed", secret.ID, "", "")
	b.do(t, "DELETE", fmt.Sprintf("/api/v1/rooms/%d/members/me", secret.ID), bob.auth(), nil)
	gone := func(f e2eStreamFrame) bool { return f.Type == "room_gone" && f.roomID() == secret.ID }
	waitStream(t, bobB, "bob's socket learns the private room is gone", gone)
	_, before = waitStream(t, bobA, "bob's socket on the other node learns the private room is gone", gone)
	if !slices.ContainsFunc(before, func(f e2eStreamFrame) bool { return f.Type == "unsubscribed" && f.roomID() == secret.ID }) {
		t.Errorf("bob's subscription on the other node did not end before room_gone; frames %+v", before)
	}

	// A new direct room reaches both of its members.
	var direct struct {
		Room e2eRoom `json:"room"`
	}
	a.do(t, "POST", "/api/v1/direct", alice.auth(), map[string]any{"users": []string{bob.User.ID}}).
		expectJSON(t, "alice opens a direct room with bob", http.StatusOK, &direct)
	waitStream(t, bobB, "bob learns of the direct room", roomFrame(direct.Room.ID, true))
	waitStream(t, aliceB, "alice's other socket learns of the direct room", roomFrame(direct.Room.ID, true))

	// A new name reaches everybody.
	b.do(t, "PATCH", "/api/v1/me", bob.auth(), map[string]any{"name": "robert"}).expectJSON(t, "bob renames himself", http.StatusOK, nil)
	for _, c := range []*e2eConn{aliceA, aliceB, bobB} {
		waitStream(t, c, "bob's new name is told", func(f e2eStreamFrame) bool {
			return f.Type == "profile" && f.User.ID == bob.User.ID && f.User.Name == "robert"
		})
	}
}
