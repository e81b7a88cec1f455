// Package storetest is the conformance suite for hanashi.Store. Every Store
// implementation runs it from its own tests, the way log/slog handlers run
// testing/slogtest:
//
//	func TestStore(t *testing.T) {
//		storetest.Test(t, func(t *testing.T) hanashi.Store {
//			db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hanashi.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// The suite checks only what the Store contract promises, so that every
// implementation is held to the same behaviour; tests of what is particular
// to one implementation belong beside it. A store that runs on several
// nodes sharing one database also runs the concurrent cases (RandomChat,
// UnreadBurst, DirectRoomRace) with a store per node.
package storetest

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// Test runs the conformance suite against the stores open returns. open is
// called once by each subtest, one subtest at a time, and must return a new,
// empty store that it closes when the subtest ends (with t.Cleanup). The
// store's clock must be close to the wall clock: the suite makes sessions
// that expired an hour ago and ones that expire in an hour.
func Test(t *testing.T, open func(t *testing.T) hanashi.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s hanashi.Store)
	}{
		{"Users", testUsers},
		{"UserNotFound", testUserNotFound},
		{"Sessions", testSessions},
		{"SessionExpired", testSessionExpired},
		{"CreateRoom", testCreateRoom},
		{"RoomVisibility", testRoomVisibility},
		{"RoomLastSeq", testRoomLastSeq},
		{"AddMember", testAddMember},
		{"RemoveMember", testRemoveMember},
		{"Post", testPost},
		{"PostEmptyBatch", testPostEmptyBatch},
		{"PostConcurrent", testPostConcurrent},
		{"PostIdempotent", testPostIdempotent},
		{"PostWithoutClientID", testPostWithoutClientID},
		{"PostRefused", testPostRefused},
		{"MessagesPaging", testMessagesPaging},
		{"MessagesPageLimit", testMessagesPageLimit},
		{"MessagesEmpty", testMessagesEmpty},

		// Sign-in and identity.
		{"UserFields", testUserFields},
		{"SignInNewIdentity", testSignInNewIdentity},
		{"SignInName", testSignInName},
		{"SignInLinksVerifiedEmail", testSignInLinksVerifiedEmail},
		{"SignInDisabled", testSignInDisabled},
		{"SignInInvalid", testSignInInvalid},
		{"SignInConcurrent", testSignInConcurrent},
		{"SignInConcurrentSameEmail", testSignInConcurrentSameEmail},
		{"UpdateProfile", testUpdateProfile},
		{"ClaimGuest", testClaimGuest},
		{"ClaimGuestRefused", testClaimGuestRefused},
		{"SetDisabled", testSetDisabled},
		{"DeleteUserSessions", testDeleteUserSessions},
		{"RevokedSessions", testRevokedSessions},
		{"RevokedSessionsPaging", testRevokedSessionsPaging},
		{"RevokedSessionsConcurrent", testRevokedSessionsConcurrent},
		{"LoginTokens", testLoginTokens},
		{"LoginTokenInvalid", testLoginTokenInvalid},
		{"LoginTokenExpired", testLoginTokenExpired},
		{"LoginTokenPurged", testLoginTokenPurged},
		{"LoginTokenConcurrentRedeem", testLoginTokenConcurrentRedeem},
		{"RoomGuests", testRoomGuests},
	}
	tests = append(tests, chatTests...)
	tests = append(tests, peopleTests...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

func testUsers(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	in := hanashi.User{ID: "chosen-by-caller", Name: "Ålice 花子", AvatarURL: "https://example.com/a.png", Guest: true}
	u, err := s.CreateUser(ctx, in)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID == "" || u.ID == in.ID {
		t.Errorf("CreateUser: ID = %q, want one assigned by the store", u.ID)
	}
	if u.CreatedAt.IsZero() {
		t.Errorf("CreateUser: CreatedAt is zero, want it set by the store")
	}
	if u.Name != in.Name || u.AvatarURL != in.AvatarURL || u.Guest != in.Guest {
		t.Errorf("CreateUser = %+v, want the name, avatar and guest flag of %+v", u, in)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatalf("User(%q): %v", u.ID, err)
	}
	if !sameUser(got, u) {
		t.Errorf("User(%q) = %+v, want what CreateUser returned: %+v", u.ID, got, u)
	}

	u2, err := s.CreateUser(ctx, hanashi.User{Name: "bob"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u2.ID == u.ID {
		t.Errorf("two users got the same ID %q", u.ID)
	}
	if got, err := s.User(ctx, u2.ID); err != nil {
		t.Errorf("User(%q): %v", u2.ID, err)
	} else if !sameUser(got, u2) {
		t.Errorf("User(%q) = %+v, want %+v", u2.ID, got, u2)
	}
}

func testUserNotFound(t *testing.T, s hanashi.Store) {
	newUser(t, s, "alice")
	for _, id := range []hanashi.UserID{hanashi.UserID(hanashi.NewID()), ""} {
		_, err := s.User(t.Context(), id)
		wantCode(t, err, hanashi.ENOTFOUND, "User(%q)", id)
	}
}

func testSessions(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	now := time.Now()
	aliceHash := tokenHash("alice's token")
	bobHash := tokenHash("bob's token")
	for _, sess := range []hanashi.Session{
		{TokenHash: aliceHash, User: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{TokenHash: bobHash, User: bob.ID, CreatedAt: now, ExpiresAt: now.Add(hanashi.SessionLifetime)},
	} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatalf("CreateSession(%s): %v", sess.User, err)
		}
	}

	for _, c := range []struct {
		hash []byte
		want hanashi.User
	}{{aliceHash, alice}, {bobHash, bob}} {
		got, err := s.SessionUser(ctx, c.hash)
		if err != nil {
			t.Fatalf("SessionUser(%s's session): %v", c.want.Name, err)
		}
		if !sameUser(got, c.want) {
			t.Errorf("SessionUser(%s's session) = %+v, want %+v", c.want.Name, got, c.want)
		}
	}

	err := s.CreateSession(ctx, hanashi.Session{TokenHash: aliceHash, User: bob.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	wantCode(t, err, hanashi.ECONFLICT, "CreateSession with a token hash already in use")
	if got, err := s.SessionUser(ctx, aliceHash); err != nil || got.ID != alice.ID {
		t.Errorf("after a conflicting CreateSession, SessionUser(alice's session) = %v, %v; want alice", got.ID, err)
	}

	_, err = s.SessionUser(ctx, tokenHash("nobody's token"))
	wantCode(t, err, hanashi.EUNAUTHORIZED, "SessionUser(unknown hash)")

	if err := s.DeleteSession(ctx, aliceHash); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	_, err = s.SessionUser(ctx, aliceHash)
	wantCode(t, err, hanashi.EUNAUTHORIZED, "SessionUser(deleted session)")
	if err := s.DeleteSession(ctx, aliceHash); err != nil {
		t.Errorf("DeleteSession of a deleted session: %v, want nil", err)
	}
	if err := s.DeleteSession(ctx, tokenHash("never stored")); err != nil {
		t.Errorf("DeleteSession of an unknown session: %v, want nil", err)
	}
	if got, err := s.SessionUser(ctx, bobHash); err != nil || got.ID != bob.ID {
		t.Errorf("deleting alice's session disturbed bob's: SessionUser = %v, %v", got.ID, err)
	}
}

func testSessionExpired(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	now := time.Now()
	hash := tokenHash("expired")
	err := s.CreateSession(ctx, hanashi.Session{
		TokenHash: hash, User: alice.ID,
		CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour),
	})
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	_, err = s.SessionUser(ctx, hash)
	wantCode(t, err, hanashi.EUNAUTHORIZED, "SessionUser(session that expired an hour ago)")
}

func testCreateRoom(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	for _, private := range []bool{false, true} {
		nr := hanashi.NewRoom{Name: fmt.Sprintf("room private=%v", private), Private: private, Creator: alice.ID}
		r, err := s.CreateRoom(ctx, nr)
		if err != nil {
			t.Fatalf("CreateRoom(%+v): %v", nr, err)
		}
		if r.ID == 0 || r.Name != nr.Name || r.Private != nr.Private || r.CreatedBy != alice.ID ||
			r.CreatedAt.IsZero() || r.LastSeq != 0 || !r.Member || !r.GuestsAllowed {
			t.Errorf("CreateRoom(%+v) = %+v, want a new ID, the given fields, CreatedAt set, LastSeq 0, Member true and guests allowed", nr, r)
		}
		got, err := s.Room(ctx, r.ID, alice.ID)
		if err != nil {
			t.Fatalf("Room(%d, creator): %v", r.ID, err)
		}
		if !sameRoom(got, r) {
			t.Errorf("Room(%d, creator) = %+v, want what CreateRoom returned: %+v", r.ID, got, r)
		}
	}

	_, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "ghost town", Creator: hanashi.UserID(hanashi.NewID())})
	wantCode(t, err, hanashi.ENOTFOUND, "CreateRoom by an unknown user")
}

func testRoomVisibility(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	pub1 := newRoom(t, s, alice.ID, "public 1", false)
	priv := newRoom(t, s, alice.ID, "private", true)
	pub2 := newRoom(t, s, bob.ID, "public 2", false)
	if !(pub1.ID < priv.ID && priv.ID < pub2.ID) {
		t.Errorf("room IDs %d, %d, %d are not increasing in creation order", pub1.ID, priv.ID, pub2.ID)
	}

	_, err := s.Room(ctx, priv.ID, bob.ID)
	wantCode(t, err, hanashi.ENOTFOUND, "Room(private room, non-member)")
	_, err = s.Room(ctx, priv.ID, "")
	wantCode(t, err, hanashi.ENOTFOUND, "Room(private room, no viewer)")
	_, err = s.Room(ctx, pub2.ID+1000, alice.ID)
	wantCode(t, err, hanashi.ENOTFOUND, "Room(unknown room)")

	if r, err := s.Room(ctx, pub1.ID, bob.ID); err != nil {
		t.Errorf("Room(public room, non-member): %v", err)
	} else if r.Member {
		t.Errorf("Room(public room, non-member).Member = true, want false")
	}

	for _, c := range []struct {
		viewer hanashi.UserID
		want   []hanashi.RoomID
		member []bool
	}{
		{alice.ID, []hanashi.RoomID{pub1.ID, priv.ID, pub2.ID}, []bool{true, true, false}},
		{bob.ID, []hanashi.RoomID{pub1.ID, pub2.ID}, []bool{false, true}},
		{hanashi.UserID(hanashi.NewID()), []hanashi.RoomID{pub1.ID, pub2.ID}, []bool{false, false}},
	} {
		rooms, err := s.Rooms(ctx, c.viewer)
		if err != nil {
			t.Fatalf("Rooms(%q): %v", c.viewer, err)
		}
		var ids []hanashi.RoomID
		var member []bool
		for _, r := range rooms {
			ids = append(ids, r.ID)
			member = append(member, r.Member)
		}
		if !slices.Equal(ids, c.want) || !slices.Equal(member, c.member) {
			t.Errorf("Rooms(%q) = ids %v member %v, want ids %v member %v", c.viewer, ids, member, c.want, c.member)
		}
	}
}

func testRoomLastSeq(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	busy := newRoom(t, s, alice.ID, "busy", false)
	quiet := newRoom(t, s, alice.ID, "quiet", true)
	for i := range 3 {
		mustPost(t, s, hanashi.Post{Room: busy.ID, Author: alice.ID, ClientID: fmt.Sprint(i), Body: "hi"})
	}

	for _, c := range []struct {
		room hanashi.RoomID
		want int64
	}{{busy.ID, 3}, {quiet.ID, 0}} {
		if r, err := s.Room(ctx, c.room, alice.ID); err != nil {
			t.Errorf("Room(%d): %v", c.room, err)
		} else if r.LastSeq != c.want {
			t.Errorf("Room(%d).LastSeq = %d, want %d", c.room, r.LastSeq, c.want)
		}
		if seq, err := s.LastSeq(ctx, c.room); err != nil || seq != c.want {
			t.Errorf("LastSeq(%d) = %d, %v; want %d", c.room, seq, err, c.want)
		}
	}
	rooms, err := s.Rooms(ctx, alice.ID)
	if err != nil {
		t.Fatalf("Rooms: %v", err)
	}
	if len(rooms) != 2 || rooms[0].LastSeq != 3 || rooms[1].LastSeq != 0 {
		t.Errorf("Rooms = %+v, want the busy room with LastSeq 3 and the quiet one with 0", rooms)
	}
	_, err = s.LastSeq(ctx, quiet.ID+1000)
	wantCode(t, err, hanashi.ENOTFOUND, "LastSeq(unknown room)")

	// LastSeqs answers for many rooms at once, in the order asked, with 0
	// for a room that does not exist; a room asked twice is answered twice.
	ask := []hanashi.RoomID{quiet.ID, quiet.ID + 1000, busy.ID, quiet.ID}
	if seqs, err := s.LastSeqs(ctx, ask); err != nil || !slices.Equal(seqs, []int64{0, 0, 3, 0}) {
		t.Errorf("LastSeqs(%v) = %v, %v; want [0 0 3 0]", ask, seqs, err)
	}
	if seqs, err := s.LastSeqs(ctx, nil); err != nil || len(seqs) != 0 {
		t.Errorf("LastSeqs(none) = %v, %v; want none", seqs, err)
	}
	many := make([]hanashi.RoomID, 700)
	for i := range many {
		many[i] = busy.ID
	}
	if seqs, err := s.LastSeqs(ctx, many); err != nil || len(seqs) != len(many) || seqs[0] != 3 || seqs[len(seqs)-1] != 3 {
		t.Errorf("LastSeqs(700 rooms) = %d seqs, %v; want 700 times 3", len(seqs), err)
	}
}

func testAddMember(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice") // creates both rooms
	bob := newUser(t, s, "bob")
	carol := newUser(t, s, "carol")
	dave := newUser(t, s, "dave") // never a member of anything
	pub := newRoom(t, s, alice.ID, "public", false)
	priv := newRoom(t, s, alice.ID, "private", true)
	nobody := hanashi.UserID(hanashi.NewID())

	// Each step runs in order and builds on the ones before.
	steps := []struct {
		what     string
		room     hanashi.RoomID
		user, by hanashi.UserID
		code     string // "" for success
	}{
		{"bob joins a public room", pub.ID, bob.ID, bob.ID, ""},
		{"bob joins it again", pub.ID, bob.ID, bob.ID, ""},
		{"bob joins a private room", priv.ID, bob.ID, bob.ID, hanashi.ENOTFOUND},
		{"dave adds carol to a private room", priv.ID, carol.ID, dave.ID, hanashi.ENOTFOUND},
		{"dave adds carol to a public room he is not in", pub.ID, carol.ID, dave.ID, hanashi.EFORBIDDEN},
		{"alice adds bob to her private room", priv.ID, bob.ID, alice.ID, ""},
		{"alice adds bob again", priv.ID, bob.ID, alice.ID, ""},
		{"bob, now a member, adds carol", priv.ID, carol.ID, bob.ID, ""},
		{"carol, a member, re-adds herself", priv.ID, carol.ID, carol.ID, ""},
		{"alice adds an unknown user", priv.ID, nobody, alice.ID, hanashi.ENOTFOUND},
		{"an unknown user joins a public room", pub.ID, nobody, nobody, hanashi.ENOTFOUND},
		{"alice adds bob to an unknown room", priv.ID + 1000, bob.ID, alice.ID, hanashi.ENOTFOUND},
		{"bob adds dave to the public room", pub.ID, dave.ID, bob.ID, ""},
	}
	for _, st := range steps {
		err := s.AddMember(ctx, st.room, st.user, st.by)
		if st.code == "" && err != nil {
			t.Errorf("%s: AddMember: %v", st.what, err)
		} else if st.code != "" {
			wantCode(t, err, st.code, "%s: AddMember", st.what)
		}
	}

	for _, c := range []struct {
		room   hanashi.RoomID
		user   hanashi.User
		member bool
	}{
		{pub.ID, alice, true}, {pub.ID, bob, true}, {pub.ID, carol, false}, {pub.ID, dave, true},
		{priv.ID, alice, true}, {priv.ID, bob, true}, {priv.ID, carol, true},
	} {
		r, err := s.Room(ctx, c.room, c.user.ID)
		if err != nil {
			t.Errorf("Room(%d, %s): %v", c.room, c.user.Name, err)
		} else if r.Member != c.member {
			t.Errorf("Room(%d, %s).Member = %v, want %v", c.room, c.user.Name, r.Member, c.member)
		}
	}
	_, err := s.Room(ctx, priv.ID, dave.ID)
	wantCode(t, err, hanashi.ENOTFOUND, "Room(private room, dave, who was never added)")

	rooms, err := s.Rooms(ctx, bob.ID)
	if err != nil {
		t.Fatalf("Rooms(bob): %v", err)
	}
	if len(rooms) != 2 || !rooms[0].Member || !rooms[1].Member {
		t.Errorf("Rooms(bob) = %+v, want both rooms with Member true", rooms)
	}
}

func testRemoveMember(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	pub := newRoom(t, s, alice.ID, "public", false)
	priv := newRoom(t, s, alice.ID, "private", true)
	for _, r := range []hanashi.RoomID{pub.ID, priv.ID} {
		if err := s.AddMember(ctx, r, bob.ID, alice.ID); err != nil {
			t.Fatalf("AddMember(%d, bob): %v", r, err)
		}
	}

	if err := s.RemoveMember(ctx, priv.ID, bob.ID); err != nil {
		t.Fatalf("bob leaves the private room: %v", err)
	}
	_, err := s.Room(ctx, priv.ID, bob.ID)
	wantCode(t, err, hanashi.ENOTFOUND, "Room(private room bob left)")
	if rooms, err := s.Rooms(ctx, bob.ID); err != nil {
		t.Errorf("Rooms(bob): %v", err)
	} else if len(rooms) != 1 || rooms[0].ID != pub.ID {
		t.Errorf("Rooms(bob) after leaving the private room = %+v, want only the public room", rooms)
	}
	err = s.RemoveMember(ctx, priv.ID, bob.ID)
	wantCode(t, err, hanashi.ENOTFOUND, "bob leaves the private room again")
	res := post(t, s, hanashi.Post{Room: priv.ID, Author: bob.ID, ClientID: "after leaving", Body: "hi"})
	wantCode(t, res.Err, hanashi.ENOTFOUND, "Post by bob to the private room he left")
	if r, err := s.Room(ctx, priv.ID, alice.ID); err != nil || !r.Member {
		t.Errorf("bob's leaving disturbed alice: Room(private, alice) = %+v, %v", r, err)
	}

	if err := s.RemoveMember(ctx, pub.ID, bob.ID); err != nil {
		t.Fatalf("bob leaves the public room: %v", err)
	}
	if r, err := s.Room(ctx, pub.ID, bob.ID); err != nil {
		t.Errorf("Room(public room bob left): %v", err)
	} else if r.Member {
		t.Errorf("Room(public room bob left).Member = true, want false")
	}
	if err := s.RemoveMember(ctx, pub.ID, bob.ID); err != nil {
		t.Errorf("bob leaves the public room again: %v, want nil", err)
	}
	err = s.RemoveMember(ctx, priv.ID+1000, bob.ID)
	wantCode(t, err, hanashi.ENOTFOUND, "RemoveMember(unknown room)")
}

func testPost(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	bob, err := s.CreateUser(ctx, hanashi.User{Name: "bob", AvatarURL: "https://example.com/bob.png"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	room := newRoom(t, s, alice.ID, "lobby", false)

	posts := []hanashi.Post{
		{Room: room.ID, Author: alice.ID, ClientID: "a1", Body: "hello 世界"},
		// bob is not a member: public rooms take posts from anyone.
		{Room: room.ID, Author: bob.ID, ClientID: "b1", Body: "hi!"},
		{Room: room.ID, Author: alice.ID, ClientID: "a2", Body: ""},
	}
	results, err := s.Post(ctx, posts)
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if len(results) != len(posts) {
		t.Fatalf("Post returned %d results for %d posts", len(results), len(posts))
	}
	authors := map[hanashi.UserID]hanashi.Author{
		alice.ID: {ID: alice.ID, Name: alice.Name, AvatarURL: alice.AvatarURL},
		bob.ID:   {ID: bob.ID, Name: bob.Name, AvatarURL: bob.AvatarURL},
	}
	ids := map[hanashi.MessageID]bool{}
	for i, res := range results {
		p, m := posts[i], res.Message
		if res.Err != nil || !res.Created {
			t.Fatalf("post %d: Err = %v, Created = %v; want a new message", i, res.Err, res.Created)
		}
		if m.ID == "" || ids[m.ID] {
			t.Errorf("post %d: ID %q is empty or not unique", i, m.ID)
		}
		ids[m.ID] = true
		if m.Room != p.Room || m.Seq != int64(i+1) || m.ClientID != p.ClientID || m.Body != p.Body ||
			m.Author != authors[p.Author] || m.CreatedAt.IsZero() {
			t.Errorf("post %d: Message = %+v, want room %d, seq %d, client id %q, body %q, author %+v, CreatedAt set",
				i, m, p.Room, i+1, p.ClientID, p.Body, authors[p.Author])
		}
	}

	got, err := s.Messages(ctx, room.ID, hanashi.Page{})
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	if len(got) != len(results) {
		t.Fatalf("Messages returned %d messages, want %d", len(got), len(results))
	}
	for i := range got {
		if !sameMessage(got[i], results[i].Message) {
			t.Errorf("Messages[%d] = %+v, want what Post returned: %+v", i, got[i], results[i].Message)
		}
	}
}

func testPostEmptyBatch(t *testing.T, s hanashi.Store) {
	results, err := s.Post(t.Context(), nil)
	if err != nil || len(results) != 0 {
		t.Errorf("Post(nil) = %v, %v; want no results and no error", results, err)
	}
}

// testPostConcurrent checks sequence allocation when many senders post at
// once, in batches of varying size, into the same rooms.
func testPostConcurrent(t *testing.T, s hanashi.Store) {
	const (
		senders  = 16
		each     = 100
		maxBatch = 10
	)
	ctx := t.Context()
	var authors []hanashi.User
	for i := range 4 {
		authors = append(authors, newUser(t, s, fmt.Sprintf("author %d", i)))
	}
	rooms := []hanashi.RoomID{
		newRoom(t, s, authors[0].ID, "public", false).ID,
		newRoom(t, s, authors[0].ID, "private", true).ID,
	}
	for _, a := range authors[1:] {
		if err := s.AddMember(ctx, rooms[1], a.ID, authors[0].ID); err != nil {
			t.Fatalf("AddMember: %v", err)
		}
	}

	// Every sender records what it posted and what came back.
	type sent struct {
		post hanashi.Post
		msg  hanashi.Message
	}
	var (
		mu   sync.Mutex
		all  []sent
		wg   sync.WaitGroup
		fail = make(chan struct{})
		once sync.Once
	)
	for g := range senders {
		wg.Go(func() {
			author := authors[g%len(authors)].ID
			for n := 0; n < each; {
				var batch []hanashi.Post
				for range min(rand.IntN(maxBatch)+1, each-n) {
					batch = append(batch, hanashi.Post{
						Room:     rooms[rand.IntN(len(rooms))],
						Author:   author,
						ClientID: fmt.Sprintf("sender %d message %d", g, n),
						Body:     fmt.Sprintf("%d/%d", g, n),
					})
					n++
				}
				results, err := s.Post(ctx, batch)
				if err == nil && len(results) != len(batch) {
					err = fmt.Errorf("%d results for %d posts", len(results), len(batch))
				}
				if err != nil {
					t.Errorf("sender %d: Post: %v", g, err)
					once.Do(func() { close(fail) })
					return
				}
				mu.Lock()
				for i, res := range results {
					if res.Err != nil || !res.Created {
						t.Errorf("sender %d: post %q: Err = %v, Created = %v; want a new message", g, batch[i].ClientID, res.Err, res.Created)
					}
					all = append(all, sent{batch[i], res.Message})
				}
				mu.Unlock()
				select {
				case <-fail:
					return
				default:
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	posted := map[hanashi.RoomID]int{}
	for _, x := range all {
		posted[x.post.Room]++
		// Results come back in the order of the posts.
		if x.msg.Room != x.post.Room || x.msg.ClientID != x.post.ClientID || x.msg.Author.ID != x.post.Author || x.msg.Body != x.post.Body {
			t.Errorf("result %+v does not match its post %+v", x.msg, x.post)
		}
	}
	for _, room := range rooms {
		msgs := allMessages(t, s, room)
		if len(msgs) != posted[room] {
			t.Errorf("room %d has %d messages, want %d", room, len(msgs), posted[room])
		}
		seen := map[string]bool{}
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("room %d: message %d has seq %d, want %d: seqs must run 1..N with no gap or duplicate", room, i, m.Seq, i+1)
			}
			key := string(m.Author.ID) + "\x00" + m.ClientID
			if seen[key] {
				t.Errorf("room %d: client id %q of %s stored twice", room, m.ClientID, m.Author.ID)
			}
			seen[key] = true
		}
		if seq, err := s.LastSeq(ctx, room); err != nil || seq != int64(len(msgs)) {
			t.Errorf("LastSeq(%d) = %d, %v; want %d", room, seq, err, len(msgs))
		}
		// What Post returned is what was stored.
		for _, x := range all {
			if x.msg.Room != room {
				continue
			}
			if i := x.msg.Seq - 1; i < 0 || i >= int64(len(msgs)) || !sameMessage(msgs[i], x.msg) {
				t.Errorf("Post returned %+v, which is not what is stored at its seq", x.msg)
			}
		}
	}
}

func testPostIdempotent(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	room := newRoom(t, s, alice.ID, "lobby", false)
	other := newRoom(t, s, alice.ID, "other", false)

	first := mustPost(t, s, hanashi.Post{Room: room.ID, Author: alice.ID, ClientID: "c1", Body: "first"})

	// A retry in a later batch, even with another body, gets the first
	// message back.
	res := post(t, s, hanashi.Post{Room: room.ID, Author: alice.ID, ClientID: "c1", Body: "retry"})
	if res.Err != nil || res.Created || !sameMessage(res.Message, first) {
		t.Errorf("retry in a later batch = %+v, want Created false and the first message %+v", res, first)
	}

	// Twice in one batch: the second is a retry of the first.
	results, err := s.Post(ctx, []hanashi.Post{
		{Room: room.ID, Author: alice.ID, ClientID: "c2", Body: "second"},
		{Room: room.ID, Author: alice.ID, ClientID: "c2", Body: "second"},
	})
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if r := results[0]; r.Err != nil || !r.Created || r.Message.Seq != 2 {
		t.Errorf("first of a pair in one batch = %+v, want a new message with seq 2", r)
	}
	if r := results[1]; r.Err != nil || r.Created || !sameMessage(r.Message, results[0].Message) {
		t.Errorf("second of a pair in one batch = %+v, want Created false and %+v", r, results[0].Message)
	}

	// Client ids belong to their author.
	bobs := mustPost(t, s, hanashi.Post{Room: room.ID, Author: bob.ID, ClientID: "c1", Body: "bob's"})
	if bobs.ID == first.ID || bobs.Seq != 3 || bobs.Author.ID != bob.ID {
		t.Errorf("bob's post with alice's client id = %+v, want a new message of bob's with seq 3", bobs)
	}

	// The same client id in another room is a conflict, not a retry.
	res = post(t, s, hanashi.Post{Room: other.ID, Author: alice.ID, ClientID: "c1", Body: "elsewhere"})
	wantCode(t, res.Err, hanashi.ECONFLICT, "Post of a client id used in another room")
	if res.Created || !isZero(res.Message) {
		t.Errorf("refused post: Created = %v, Message = %+v; want false and a zero Message", res.Created, res.Message)
	}

	if n := len(allMessages(t, s, room.ID)); n != 3 {
		t.Errorf("room has %d messages, want 3", n)
	}
	if seq, err := s.LastSeq(ctx, other.ID); err != nil || seq != 0 {
		t.Errorf("LastSeq(other room) = %d, %v; want 0: the conflicting post must not be stored", seq, err)
	}
}

// testPostWithoutClientID checks that posts without a client id are never
// taken for retries of each other.
func testPostWithoutClientID(t *testing.T, s hanashi.Store) {
	alice := newUser(t, s, "alice")
	room := newRoom(t, s, alice.ID, "lobby", false)
	p := hanashi.Post{Room: room.ID, Author: alice.ID, Body: "no client id"}
	m1 := mustPost(t, s, p)
	results, err := s.Post(t.Context(), []hanashi.Post{p, p})
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	for i, res := range results {
		if res.Err != nil || !res.Created || res.Message.Seq != int64(i+2) || res.Message.ClientID != "" {
			t.Errorf("post %d without client id = %+v, want a new message with seq %d (after %+v)", i+2, res, i+2, m1)
		}
	}
}

func testPostRefused(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	pub := newRoom(t, s, alice.ID, "public", false)
	priv := newRoom(t, s, alice.ID, "private", true)
	nobody := hanashi.UserID(hanashi.NewID())

	posts := []hanashi.Post{
		{Room: pub.ID, Author: alice.ID, ClientID: "1", Body: "ok"},
		{Room: priv.ID + 1000, Author: alice.ID, ClientID: "2", Body: "unknown room"},
		{Room: priv.ID, Author: bob.ID, ClientID: "3", Body: "bob is not a member"},
		{Room: pub.ID, Author: bob.ID, ClientID: "4", Body: "ok"},
		{Room: pub.ID, Author: nobody, ClientID: "5", Body: "unknown author"},
		{Room: priv.ID, Author: alice.ID, ClientID: "6", Body: "ok"},
	}
	wantSeq := []int64{1, 0, 0, 2, 0, 1}
	results, err := s.Post(ctx, posts)
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if len(results) != len(posts) {
		t.Fatalf("Post returned %d results for %d posts", len(results), len(posts))
	}
	for i, res := range results {
		if wantSeq[i] == 0 {
			wantCode(t, res.Err, hanashi.ENOTFOUND, "post %d (%s)", i, posts[i].Body)
			if res.Created || !isZero(res.Message) {
				t.Errorf("post %d (%s): Created = %v, Message = %+v; want false and a zero Message", i, posts[i].Body, res.Created, res.Message)
			}
			continue
		}
		if res.Err != nil || !res.Created || res.Message.Seq != wantSeq[i] {
			t.Errorf("post %d (%s) = %+v, want a new message with seq %d", i, posts[i].Body, res, wantSeq[i])
		}
	}

	// Refused posts take no sequence number and are not stored.
	for _, c := range []struct {
		room hanashi.RoomID
		want int
	}{{pub.ID, 2}, {priv.ID, 1}} {
		msgs := allMessages(t, s, c.room)
		if len(msgs) != c.want {
			t.Errorf("room %d has %d messages, want %d", c.room, len(msgs), c.want)
		}
		for i, m := range msgs {
			if m.Body != "ok" || m.Seq != int64(i+1) {
				t.Errorf("room %d: stored %+v, want only accepted posts, seqs from 1", c.room, m)
			}
		}
	}
	// A post refused once can be sent again once it is allowed.
	if err := s.AddMember(ctx, priv.ID, bob.ID, alice.ID); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	res := post(t, s, posts[2])
	if res.Err != nil || !res.Created || res.Message.Seq != 2 {
		t.Errorf("bob's post after he was added = %+v, want a new message with seq 2", res)
	}
}

func testMessagesPaging(t *testing.T, s hanashi.Store) {
	alice := newUser(t, s, "alice")
	room := newRoom(t, s, alice.ID, "lobby", false)
	postN(t, s, room.ID, alice.ID, 25)

	for _, c := range []struct {
		page     hanashi.Page
		from, to int64 // seqs wanted, inclusive; from > to for none
	}{
		{hanashi.Page{}, 1, 25},
		{hanashi.Page{After: 10, Limit: 5}, 11, 15},
		{hanashi.Page{After: 20, Limit: 10}, 21, 25},
		{hanashi.Page{After: 25}, 1, 0},
		{hanashi.Page{After: 100}, 1, 0},
		{hanashi.Page{Before: 10, Limit: 3}, 7, 9},
		{hanashi.Page{Before: 3, Limit: 10}, 1, 2},
		{hanashi.Page{Before: 100, Limit: 5}, 21, 25},
		{hanashi.Page{Before: 1}, 1, 0},
		{hanashi.Page{Before: 26}, 1, 25},
		{hanashi.Page{Limit: 1}, 1, 1},
		{hanashi.Page{Limit: -1}, 1, 25},
		// Before wins over After.
		{hanashi.Page{After: 5, Before: 10, Limit: 100}, 1, 9},
	} {
		msgs, err := s.Messages(t.Context(), room.ID, c.page)
		if err != nil {
			t.Errorf("Messages(%+v): %v", c.page, err)
			continue
		}
		if got, want := seqs(msgs), seqRange(c.from, c.to); !slices.Equal(got, want) {
			t.Errorf("Messages(%+v) seqs = %v, want %v", c.page, got, want)
		}
	}
}

func testMessagesPageLimit(t *testing.T, s hanashi.Store) {
	alice := newUser(t, s, "alice")
	room := newRoom(t, s, alice.ID, "lobby", false)
	n := hanashi.MaxPageLimit + 20
	postN(t, s, room.ID, alice.ID, n)

	for _, c := range []struct {
		page     hanashi.Page
		from, to int64
	}{
		{hanashi.Page{}, 1, hanashi.DefaultPageLimit},
		{hanashi.Page{Limit: 0, After: 100}, 101, 100 + hanashi.DefaultPageLimit},
		{hanashi.Page{Limit: 10 * hanashi.MaxPageLimit}, 1, hanashi.MaxPageLimit},
		{hanashi.Page{Before: int64(n) + 1}, int64(n) - hanashi.DefaultPageLimit + 1, int64(n)},
		{hanashi.Page{Before: int64(n) + 1, Limit: 10 * hanashi.MaxPageLimit}, int64(n) - hanashi.MaxPageLimit + 1, int64(n)},
	} {
		msgs, err := s.Messages(t.Context(), room.ID, c.page)
		if err != nil {
			t.Errorf("Messages(%+v): %v", c.page, err)
			continue
		}
		if got, want := seqs(msgs), seqRange(c.from, c.to); !slices.Equal(got, want) {
			t.Errorf("Messages(%+v) returned %d messages, seqs %d..%d; want %d..%d",
				c.page, len(got), first(got), last(got), c.from, c.to)
		}
	}
}

func testMessagesEmpty(t *testing.T, s hanashi.Store) {
	alice := newUser(t, s, "alice")
	room := newRoom(t, s, alice.ID, "empty", true)
	for _, c := range []struct {
		what string
		room hanashi.RoomID
	}{{"empty room", room.ID}, {"unknown room", room.ID + 1000}} {
		for _, page := range []hanashi.Page{{}, {Before: 10}} {
			msgs, err := s.Messages(t.Context(), c.room, page)
			if err != nil || len(msgs) != 0 {
				t.Errorf("Messages(%s, %+v) = %d messages, %v; want none and no error", c.what, page, len(msgs), err)
			}
		}
	}
}

// Helpers.

func newUser(t *testing.T, s hanashi.Store, name string) hanashi.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), hanashi.User{Name: name})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

func newRoom(t *testing.T, s hanashi.Store, creator hanashi.UserID, name string, private bool) hanashi.Room {
	t.Helper()
	r, err := s.CreateRoom(t.Context(), hanashi.NewRoom{Name: name, Private: private, Creator: creator})
	if err != nil {
		t.Fatalf("CreateRoom(%q): %v", name, err)
	}
	return r
}

// post stores a batch of one and returns its result.
func post(t *testing.T, s hanashi.Store, p hanashi.Post) hanashi.PostResult {
	t.Helper()
	results, err := s.Post(t.Context(), []hanashi.Post{p})
	if err != nil {
		t.Fatalf("Post(%+v): %v", p, err)
	}
	if len(results) != 1 {
		t.Fatalf("Post(%+v) returned %d results, want 1", p, len(results))
	}
	return results[0]
}

// mustPost stores p, which must be new, and returns its message.
func mustPost(t *testing.T, s hanashi.Store, p hanashi.Post) hanashi.Message {
	t.Helper()
	res := post(t, s, p)
	if res.Err != nil || !res.Created {
		t.Fatalf("Post(%+v): Err = %v, Created = %v; want a new message", p, res.Err, res.Created)
	}
	return res.Message
}

// postN posts n messages into room, in batches of up to 100.
func postN(t *testing.T, s hanashi.Store, room hanashi.RoomID, author hanashi.UserID, n int) {
	t.Helper()
	for i := 0; i < n; {
		var batch []hanashi.Post
		for ; i < n && len(batch) < 100; i++ {
			batch = append(batch, hanashi.Post{Room: room, Author: author, ClientID: fmt.Sprint(i), Body: fmt.Sprint(i)})
		}
		results, err := s.Post(t.Context(), batch)
		if err != nil {
			t.Fatalf("Post: %v", err)
		}
		for _, res := range results {
			if res.Err != nil {
				t.Fatalf("Post: %v", res.Err)
			}
		}
	}
}

// allMessages reads every message of room, page by page.
func allMessages(t *testing.T, s hanashi.Store, room hanashi.RoomID) []hanashi.Message {
	t.Helper()
	var all []hanashi.Message
	for {
		page, err := s.Messages(t.Context(), room, hanashi.Page{After: int64(len(all)), Limit: hanashi.MaxPageLimit})
		if err != nil {
			t.Fatalf("Messages(%d, after %d): %v", room, len(all), err)
		}
		if len(page) == 0 {
			return all
		}
		// Paging by count assumes seqs 1..N; a gap shows up as a seq
		// mismatch in the caller, not as an endless loop here.
		if page[len(page)-1].Seq <= int64(len(all)) {
			t.Fatalf("Messages(%d, after %d) went backwards: %v", room, len(all), seqs(page))
		}
		all = append(all, page...)
	}
}

// wantCode reports an error unless err carries the given code.
func wantCode(t *testing.T, err error, code string, format string, args ...any) {
	t.Helper()
	if got := hanashi.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", fmt.Sprintf(format, args...), err, got, code)
	}
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// The same* functions compare with time.Time.Equal: a store may return its
// times in any location, as long as they are the same instants.

func sameUser(a, b hanashi.User) bool {
	return a.ID == b.ID && a.Name == b.Name && a.AvatarURL == b.AvatarURL && a.Guest == b.Guest &&
		a.Email == b.Email && a.Disabled == b.Disabled && a.AvatarUpload == b.AvatarUpload &&
		a.ProviderAvatar == b.ProviderAvatar && a.TimeZone == b.TimeZone && a.CreatedAt.Equal(b.CreatedAt)
}

func sameRoom(a, b hanashi.Room) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Private == b.Private && a.GuestsAllowed == b.GuestsAllowed &&
		a.CreatedBy == b.CreatedBy && a.CreatedAt.Equal(b.CreatedAt) && a.LastSeq == b.LastSeq && a.Member == b.Member &&
		a.Kind == b.Kind && a.Parent == b.Parent && a.ParentSeq == b.ParentSeq && a.Topic == b.Topic
}

// sameMessage compares the fields of events; the folded state is compared
// by the tests of History.
func sameMessage(a, b hanashi.Message) bool {
	return a.ID == b.ID && a.Room == b.Room && a.Seq == b.Seq && a.ClientID == b.ClientID &&
		a.Author == b.Author && a.Body == b.Body && a.CreatedAt.Equal(b.CreatedAt) &&
		a.Kind == b.Kind && a.Target == b.Target && a.Thread == b.Thread && a.Emoji == b.Emoji &&
		a.Child == b.Child && slices.Equal(a.Mentions, b.Mentions) && a.MentionsRoom == b.MentionsRoom
}

// isZero reports whether m is the zero Message, as a refused post's is.
func isZero(m hanashi.Message) bool {
	return reflect.ValueOf(m).IsZero()
}

func seqs(msgs []hanashi.Message) []int64 {
	s := make([]int64, len(msgs))
	for i, m := range msgs {
		s[i] = m.Seq
	}
	return s
}

func seqRange(from, to int64) []int64 {
	s := []int64{}
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func first(s []int64) int64 {
	if len(s) == 0 {
		return 0
	}
	return s[0]
}

func last(s []int64) int64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

// Clock checks that a store stamps records with its injected clock and
// decides with it whether a session has expired: set makes the clock read
// the time given, and start is a time the store keeps to the nanosecond.
func Clock(t *testing.T, s hanashi.Store, start time.Time, set func(time.Time)) {
	ctx := t.Context()
	now := start
	set(now)
	u, err := s.CreateUser(ctx, hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !u.CreatedAt.Equal(now) {
		t.Errorf("CreatedAt = %v, want the clock's %v", u.CreatedAt, now)
	}
	// A session made without CreatedAt gets the clock's time; it is valid
	// until the clock passes ExpiresAt.
	hash := []byte("0123456789abcdef0123456789abcdef")
	if err := s.CreateSession(ctx, hanashi.Session{TokenHash: hash, User: u.ID, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, hash); err != nil {
		t.Errorf("SessionUser before expiry: %v", err)
	}
	set(now.Add(time.Hour))
	if _, err := s.SessionUser(ctx, hash); hanashi.ErrorCode(err) != hanashi.EUNAUTHORIZED {
		t.Errorf("SessionUser at expiry: %v, want %s", err, hanashi.EUNAUTHORIZED)
	}
}
