package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi"
)

// TestPeopleTimeZone: PATCH /api/v1/me keeps a time zone checked by form,
// GET /api/v1/me and the members list carry it, and GET /api/v1/users/{id}
// is anybody's public profile, without private fields.
func TestPeopleTimeZone(t *testing.T) {
	s := startChat(t)
	alice, bob, guest := s.user("alice", false), s.user("bob", false), s.user("visitor", true)
	s.db.UpdateProfile(t.Context(), alice.id, hanashi.ProfileUpdate{AvatarUpload: ptr("secret.png")})

	var me struct{ User hanashi.User }
	alice.ok(http.StatusOK, "PATCH", "/api/v1/me", map[string]any{"time_zone": "Asia/Tokyo"}, &me)
	if me.User.TimeZone != "Asia/Tokyo" || me.User.Name != "alice" {
		t.Errorf("PATCH /me answered %+v, want alice in Asia/Tokyo", me.User)
	}
	for _, bad := range []any{"nonsense zone", "../../etc/passwd", "+09:00", strings.Repeat("A", 65), 9} {
		alice.refused(fmt.Sprintf("time zone %v", bad), 400, "invalid", "PATCH", "/api/v1/me", map[string]any{"time_zone": bad})
	}
	alice.ok(http.StatusOK, "GET", "/api/v1/me", nil, &me)
	if me.User.TimeZone != "Asia/Tokyo" {
		t.Errorf("GET /me after refusals = %+v, want the time zone kept", me.User)
	}
	// A name change leaves the time zone.
	alice.ok(http.StatusOK, "PATCH", "/api/v1/me", map[string]any{"name": "Alice"}, &me)
	if me.User.TimeZone != "Asia/Tokyo" {
		t.Errorf("after a rename = %+v", me.User)
	}

	// Anybody signed in, a guest too, sees a profile; nobody's private fields.
	for _, viewer := range []*chatUser{bob, guest, alice} {
		r := viewer.do("GET", "/api/v1/users/"+string(alice.id), nil)
		want := fmt.Sprintf(`{"user":{"id":%q,"name":"Alice","avatar_url":"","guest":false,"time_zone":"Asia/Tokyo"}}`, alice.id)
		if r.status != 200 || strings.TrimSpace(string(r.body)) != want {
			t.Errorf("GET /users/alice as %s = %d %s, want %s", viewer.name, r.status, r.body, want)
		}
	}
	var p struct{ User hanashi.Profile }
	bob.ok(http.StatusOK, "GET", "/api/v1/users/"+string(guest.id), nil, &p)
	if !p.User.Guest || p.User.TimeZone != "" || p.User.Name != "visitor" {
		t.Errorf("the guest's profile = %+v", p.User)
	}
	bob.refused("unknown user", 404, "not_found", "GET", "/api/v1/users/"+hanashi.NewID(), nil)
	anonymous := &chatUser{s: s, name: "anonymous", token: "nope"}
	anonymous.refused("signed out", 401, "unauthorized", "GET", "/api/v1/users/"+string(alice.id), nil)

	room := bob.room("team", false, 0)
	alice.join(room.ID)
	var members struct{ Members []hanashi.Author }
	guest.ok(http.StatusOK, "GET", fmt.Sprintf("/api/v1/rooms/%d/members", room.ID), nil, &members)
	zones := map[hanashi.UserID]string{}
	for _, m := range members.Members {
		zones[m.ID] = m.TimeZone
	}
	if len(zones) != 2 || zones[alice.id] != "Asia/Tokyo" || zones[bob.id] != "" {
		t.Errorf("members = %+v, want alice's time zone", members.Members)
	}
	// Messages do not carry it.
	if m := alice.send(room.ID, "a1", "hi", ""); m.Author.TimeZone != "" {
		t.Errorf("message author = %+v", m.Author)
	}
	if r := bob.do("GET", fmt.Sprintf("/api/v1/rooms/%d/history", room.ID), nil); strings.Contains(string(r.body), "time_zone") {
		t.Errorf("history carries time zones: %s", r.body)
	}
	// "" clears it.
	alice.ok(http.StatusOK, "PATCH", "/api/v1/me", map[string]any{"time_zone": ""}, &me)
	if me.User.TimeZone != "" {
		t.Errorf("cleared time zone = %+v", me.User)
	}
}

// TestPeopleTopic: members set a room's topic with PATCH /api/v1/rooms/{id};
// everybody who sees the room gets it live in a room frame (member true
// for members, false for the others of a public room), nobody else does.
func TestPeopleTopic(t *testing.T) {
	s := startChat(t)
	alice, bob, carol := s.user("alice", false), s.user("bob", false), s.user("carol", false)
	pub := alice.room("pub", false, 0)
	priv := alice.room("priv", true, 0)
	bob.join(pub.ID)
	alice.ok(http.StatusOK, "POST", fmt.Sprintf("/api/v1/rooms/%d/members", priv.ID), map[string]any{"user_id": bob.id}, nil)
	bobWS, carolWS := bob.dial(), carol.dial()
	registered(t, bobWS)
	registered(t, carolWS)
	room := func(u *chatUser, id hanashi.RoomID) hanashi.Room {
		var v struct{ Room hanashi.Room }
		u.ok(http.StatusOK, "GET", fmt.Sprintf("/api/v1/rooms/%d", id), nil, &v)
		return v.Room
	}
	roomFrame := func(r hanashi.Room) map[string]any { return map[string]any{"type": "room", "room": r} }

	var got struct{ Room hanashi.Room }
	alice.ok(http.StatusOK, "PATCH", fmt.Sprintf("/api/v1/rooms/%d", priv.ID), map[string]any{"topic": " secret\nplans "}, &got)
	if got.Room.Topic != "secret plans" || !got.Room.Member {
		t.Errorf("PATCH topic answered %+v", got.Room)
	}
	expectStream(t, bobWS, "bob sees the private room's topic", roomFrame(room(bob, priv.ID)))

	bob.ok(http.StatusOK, "PATCH", fmt.Sprintf("/api/v1/rooms/%d", pub.ID), map[string]any{"topic": "Launch 🚀"}, &got)
	if got.Room.Topic != "Launch 🚀" {
		t.Errorf("PATCH topic answered %+v", got.Room)
	}
	expectStream(t, bobWS, "bob sees his topic", roomFrame(room(bob, pub.ID)))
	// Carol, not a member, gets the public room's, not the private one's.
	expectStream(t, carolWS, "carol sees the public room's topic", roomFrame(room(carol, pub.ID)))
	if r := room(carol, pub.ID); r.Topic != "Launch 🚀" || r.Member {
		t.Errorf("carol's view = %+v", r)
	}

	path := fmt.Sprintf("/api/v1/rooms/%d", pub.ID)
	carol.refused("not a member", 403, "forbidden", "PATCH", path, map[string]any{"topic": "mine"})
	carol.refused("private room", 404, "not_found", "PATCH", fmt.Sprintf("/api/v1/rooms/%d", priv.ID), map[string]any{"topic": "x"})
	bob.refused("unknown room", 404, "not_found", "PATCH", "/api/v1/rooms/999999", map[string]any{"topic": "x"})
	bob.refused("bad room id", 404, "not_found", "PATCH", "/api/v1/rooms/x", map[string]any{"topic": "x"})
	bob.refused("too long", 400, "invalid", "PATCH", path, map[string]any{"topic": strings.Repeat("x", 251)})
	bob.refused("control characters", 400, "invalid", "PATCH", path, map[string]any{"topic": "a\u0007b"})
	bob.refused("no topic", 400, "invalid", "PATCH", path, map[string]any{})
	bob.refused("topic not text", 400, "invalid", "PATCH", path, map[string]any{"topic": 3})
	bob.refused("not JSON", 400, "invalid", "PATCH", path, "topic=x")
	if r := room(alice, pub.ID); r.Topic != "Launch 🚀" {
		t.Errorf("after refusals the topic is %q", r.Topic)
	}
	// Clearing works.
	alice.ok(http.StatusOK, "PATCH", path, map[string]any{"topic": ""}, &got)
	if got.Room.Topic != "" {
		t.Errorf("cleared topic = %q", got.Room.Topic)
	}
}

func ptr[T any](v T) *T { return &v }
