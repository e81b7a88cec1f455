package storetest

// The cases of people and rooms: time zones in profiles and members
// lists, and room topics (SetTopic, with a case for every refusal of
// hanashi.CheckTopicChange).

import (
	"testing"

	"github.com/hanashi-chat/hanashi"
)

var peopleTests = []struct {
	name string
	fn   func(t *testing.T, s hanashi.Store)
}{
	{"MembersTimeZone", testMembersTimeZone},
	{"SetTopic", testSetTopic},
	{"SetTopicRefused", testSetTopicRefused},
}

// testMembersTimeZone: a members list carries each member's time zone;
// the author of a message does not.
func testMembersTimeZone(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	tz := "Asia/Tokyo"
	if _, err := s.UpdateProfile(ctx, bob.ID, hanashi.ProfileUpdate{TimeZone: &tz}); err != nil {
		t.Fatal(err)
	}
	room := newRoom(t, s, alice.ID, "lobby", false)
	if err := s.AddMember(ctx, room.ID, bob.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	members, err := s.Members(ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	zones := map[hanashi.UserID]string{}
	for _, m := range members {
		zones[m.ID] = m.TimeZone
	}
	if len(members) != 2 || zones[alice.ID] != "" || zones[bob.ID] != tz {
		t.Errorf("Members = %+v, want alice without a time zone and bob in %s", members, tz)
	}
	m := mustPost(t, s, hanashi.Post{Room: room.ID, Author: bob.ID, ClientID: "1", Body: "hi"})
	if m.Author.TimeZone != "" {
		t.Errorf("a message's author carries the time zone %q", m.Author.TimeZone)
	}
	for _, m := range allMessages(t, s, room.ID) {
		if m.Author.TimeZone != "" {
			t.Errorf("message %d's author carries the time zone %q", m.Seq, m.Author.TimeZone)
		}
	}
}

func testSetTopic(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	room := newRoom(t, s, alice.ID, "lobby", false)
	if room.Topic != "" {
		t.Errorf("a new room has the topic %q", room.Topic)
	}
	if err := s.AddMember(ctx, room.ID, bob.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	// Any member may change it, not only the creator; "" clears it.
	for _, c := range []struct {
		by    hanashi.UserID
		topic string
	}{{alice.ID, "Plans for the launch 🚀"}, {bob.ID, "話し合い"}, {alice.ID, ""}, {bob.ID, "final"}} {
		got, err := s.SetTopic(ctx, room.ID, c.by, c.topic)
		if err != nil {
			t.Fatalf("SetTopic(%q): %v", c.topic, err)
		}
		if got.ID != room.ID || got.Topic != c.topic || !got.Member || got.Name != "lobby" {
			t.Errorf("SetTopic(%q) = %+v, want the room with the topic, as a member sees it", c.topic, got)
		}
		if r, err := s.Room(ctx, room.ID, c.by); err != nil || r.Topic != c.topic {
			t.Errorf("Room after SetTopic(%q) = %+v, %v", c.topic, r, err)
		}
	}
	// Everybody who sees the room sees its topic, in the list too.
	carol := newUser(t, s, "carol")
	rooms, err := s.Rooms(ctx, carol.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 1 || rooms[0].Topic != "final" || rooms[0].Member {
		t.Errorf("Rooms(carol) = %+v, want lobby with its topic", rooms)
	}
	// A direct room has a topic too, set by either member.
	dm, err := s.DirectRoom(ctx, []hanashi.UserID{alice.ID, bob.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.SetTopic(ctx, dm.ID, bob.ID, "1:1"); err != nil || got.Topic != "1:1" {
		t.Errorf("SetTopic(direct room) = %+v, %v", got, err)
	}
	// Other rooms keep theirs.
	if r, err := s.Room(ctx, room.ID, alice.ID); err != nil || r.Topic != "final" {
		t.Errorf("lobby after the direct room's topic = %+v, %v", r, err)
	}
}

func testSetTopicRefused(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	public := newRoom(t, s, alice.ID, "lobby", false)
	private := newRoom(t, s, alice.ID, "secret", true)
	guest, err := s.CreateUser(ctx, hanashi.User{Name: "guest", Guest: true})
	if err != nil {
		t.Fatal(err)
	}
	noGuests, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "staff", NoGuests: true, Creator: alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	gone := newUser(t, s, "gone")
	if err := s.AddMember(ctx, public.ID, gone.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisabled(ctx, gone.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		room hanashi.RoomID
		by   hanashi.UserID
		code string
	}{
		{"unknown room", 1 << 40, alice.ID, hanashi.ENOTFOUND},
		{"private room of others", private.ID, bob.ID, hanashi.ENOTFOUND},
		{"unknown user", public.ID, hanashi.UserID(hanashi.NewID()), hanashi.ENOTFOUND},
		{"not a member", public.ID, bob.ID, hanashi.EFORBIDDEN},
		{"disabled member", public.ID, gone.ID, hanashi.EFORBIDDEN},
		{"guest kept out", noGuests.ID, guest.ID, hanashi.EFORBIDDEN},
	} {
		_, err := s.SetTopic(ctx, c.room, c.by, "nope")
		wantCode(t, err, c.code, "SetTopic(%s)", c.name)
	}
	for _, r := range []hanashi.Room{public, private, noGuests} {
		if got, err := s.Room(ctx, r.ID, alice.ID); err != nil || got.Topic != "" {
			t.Errorf("room %s after refusals = %+v, %v; want no topic", r.Name, got, err)
		}
	}
}
