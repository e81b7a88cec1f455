package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// e2eSignal is a typing, presence or read frame.
type e2eSignal struct {
	Type string `json:"type"`
	Room int64  `json:"room"`
	Seq  int64  `json:"seq"`
	User struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"user"`
	State string `json:"state"`
}

// waitSignal reads c's frames until one matches: type typ, in room, and,
// when not empty, about user and in state (for read frames, user is the
// seq in decimal). Other frames are skipped.
func waitSignal(t *testing.T, c *e2eConn, what, typ string, room int64, user, state string) e2eSignal {
	t.Helper()
	var s e2eSignal
	waitFrame(t, c, what, func(raw []byte) bool {
		s = e2eSignal{}
		if json.Unmarshal(raw, &s) != nil || s.Type != typ || s.Room != room {
			return false
		}
		if typ == "read" {
			return user == "" || fmt.Sprint(s.Seq) == user
		}
		return (user == "" || s.User.Name == user) && (state == "" || s.State == state)
	})
	return s
}

// waitFrame reads c's frames until match says yes to one, and returns the
// frames before it.
func waitFrame(t *testing.T, c *e2eConn, what string, match func(raw []byte) bool) (before [][]byte) {
	t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	for {
		f, err := c.readAny(time.Until(deadline))
		if err != nil {
			var seen []string
			for _, b := range before {
				seen = append(seen, string(b))
			}
			t.Fatalf("%s: %v; frames before: %q", what, err, seen)
		}
		if match(f.raw) {
			return before
		}
		before = append(before, f.raw)
	}
}

// TestE2ESignalsCluster: typing, presence and read markers between two
// nodes that share PostgreSQL and Redis.
func TestE2ESignalsCluster(t *testing.T) {
	c := newCluster(t, "")
	a, b := c.start(t, "node-a"), c.start(t, "node-b")
	alice, bob := a.guest(t, "alice"), b.guest(t, "bob")
	room := a.room(t, alice, "signals", false).ID

	aliceA := a.ws(t, alice)
	if err := aliceA.subscribe(room); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, aliceA, "alice subscribes", "subscribed", room, "", "")

	// Bob's node starts the room after alice's did: he learns that she is
	// there from node A's answer to its probe, and she learns of him.
	bobB := b.ws(t, bob)
	if err := bobB.subscribe(room); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, bobB, "bob learns alice is online", "presence", room, "alice", "online")
	waitSignal(t, aliceA, "alice learns bob is online", "presence", room, "bob", "online")

	// Typing on node A reaches node B.
	if err := aliceA.write(map[string]any{"type": "typing", "room": room}); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, bobB, "bob sees alice typing", "typing", room, "alice", "")

	// Away on node A; a second device on node B, online, makes her online.
	if err := aliceA.write(map[string]any{"type": "presence", "state": "away"}); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, bobB, "bob sees alice away", "presence", room, "alice", "away")
	aliceB := b.ws(t, alice)
	if err := aliceB.subscribe(room); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, bobB, "bob sees alice online on her second device", "presence", room, "alice", "online")
	waitSignal(t, aliceB, "alice's second device learns bob is online", "presence", room, "bob", "online")

	// Bob writes three messages; alice reads them on node A, and her device
	// on node B is told, and the unread counts on node B agree.
	for i := range 3 {
		b.do(t, "POST", fmt.Sprintf("/api/v1/rooms/%d/messages", room), bob.auth(),
			map[string]any{"client_id": fmt.Sprint("b", i), "body": "news"}).expectJSON(t, "post", http.StatusCreated, nil)
	}
	unread := func() (lastRead, count int64) {
		t.Helper()
		var v struct {
			Rooms []struct {
				Room     int64 `json:"room"`
				LastRead int64 `json:"last_read"`
				Unread   int64 `json:"unread"`
			} `json:"rooms"`
		}
		b.do(t, "GET", "/api/v1/unread", alice.auth(), nil).expectJSON(t, "GET /api/v1/unread", http.StatusOK, &v)
		for _, r := range v.Rooms {
			if r.Room == room {
				return r.LastRead, r.Unread
			}
		}
		t.Fatalf("GET /api/v1/unread: room %d missing in %+v", room, v.Rooms)
		return 0, 0
	}
	if _, n := unread(); n != 3 {
		t.Fatalf("before reading: %d unread, want 3", n)
	}
	if err := aliceA.write(map[string]any{"type": "read", "room": room, "seq": 3}); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, aliceB, "alice's device on node B is told of the read marker", "read", room, "3", "")
	if last, n := unread(); last != 3 || n != 0 {
		t.Fatalf("after reading on node A, node B says last_read %d and %d unread, want 3 and 0", last, n)
	}

	// Her devices close: away (node A's), then offline.
	aliceB.c.Close()
	waitSignal(t, bobB, "bob sees alice away again", "presence", room, "alice", "away")
	aliceA.c.Close()
	waitSignal(t, bobB, "bob sees alice offline", "presence", room, "alice", "offline")
}
