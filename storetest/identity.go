package storetest

// The subtests of sign-in and identity: users' new fields, SignIn,
// UpdateProfile, ClaimGuest, disabling, sessions ended everywhere, the
// revocation log, sign-in links and rooms that keep guests out.

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
)

func testUserFields(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	in := hanashi.User{
		Name:           "alice",
		AvatarURL:      "https://example.com/resolved.png",
		Email:          "  Alice@Example.COM ",
		AvatarUpload:   "0123456789abcdef.png",
		ProviderAvatar: "https://provider.example/alice.jpg",
	}
	u, err := s.CreateUser(ctx, in)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	want := in
	want.ID, want.CreatedAt, want.Email = u.ID, u.CreatedAt, "alice@example.com"
	if !sameUser(u, want) {
		t.Errorf("CreateUser(%+v) = %+v, want %+v (the e-mail in normal form)", in, u, want)
	}
	if got, err := s.User(ctx, u.ID); err != nil || !sameUser(got, want) {
		t.Errorf("User = %+v, %v; want %+v", got, err, want)
	}
	// A fresh user is enabled and has no avatar sources.
	bob := newUser(t, s, "bob")
	if bob.Disabled || bob.Email != "" || bob.AvatarUpload != "" || bob.ProviderAvatar != "" {
		t.Errorf("CreateUser(bob) = %+v, want no e-mail, no avatar sources, not disabled", bob)
	}
}

func testSignInNewIdentity(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	id := hanashi.Identity{
		Provider: "dex", Subject: "CgVhbGljZRIFbG9jYWw", Email: "Alice@Example.com", EmailVerified: true,
		Name: "Alice Liddell", Picture: "https://dex.example/alice.png",
	}
	u, err := s.SignIn(ctx, id)
	if err != nil {
		t.Fatalf("SignIn(new identity): %v", err)
	}
	if u.ID == "" || u.CreatedAt.IsZero() || u.Guest || u.Disabled || u.Name != "Alice Liddell" ||
		u.Email != "alice@example.com" || u.ProviderAvatar != id.Picture || u.AvatarUpload != "" || u.AvatarURL != "" {
		t.Errorf("SignIn(new identity) = %+v, want a new non-guest user named by the identity, the e-mail in normal form and the picture as ProviderAvatar", u)
	}
	if got, err := s.User(ctx, u.ID); err != nil || !sameUser(got, u) {
		t.Errorf("User after SignIn = %+v, %v; want %+v", got, err, u)
	}

	// The same identity again is the same user; a sign-in without a picture
	// keeps the one there is, one with a new picture replaces it.
	again := id
	again.Picture = ""
	again.Name = "Someone Else"
	if got, err := s.SignIn(ctx, again); err != nil || !sameUser(got, u) {
		t.Errorf("SignIn(same identity, no picture) = %+v, %v; want the same user unchanged %+v", got, err, u)
	}
	again.Picture = "https://dex.example/alice-2.png"
	got, err := s.SignIn(ctx, again)
	if err != nil {
		t.Fatalf("SignIn(same identity, new picture): %v", err)
	}
	want := u
	want.ProviderAvatar = again.Picture
	if !sameUser(got, want) {
		t.Errorf("SignIn(same identity, new picture) = %+v, want %+v", got, want)
	}
	if got, err := s.User(ctx, u.ID); err != nil || !sameUser(got, want) {
		t.Errorf("User after a new picture = %+v, %v; want %+v", got, err, want)
	}

	// The subject is what identifies: another subject at the same provider
	// is another person, and so is the same subject at another provider.
	for _, other := range []hanashi.Identity{
		{Provider: "dex", Subject: "someone else"},
		{Provider: "google", Subject: id.Subject},
	} {
		o, err := s.SignIn(ctx, other)
		if err != nil {
			t.Fatalf("SignIn(%+v): %v", other, err)
		}
		if o.ID == u.ID || o.Email != "" {
			t.Errorf("SignIn(%+v) = %+v, want a user of its own without an e-mail", other, o)
		}
	}

	// An unverified address is not the user's.
	unv, err := s.SignIn(ctx, hanashi.Identity{Provider: "github", Subject: "42", Email: "carol@example.com", Name: "carol"})
	if err != nil {
		t.Fatalf("SignIn(unverified e-mail): %v", err)
	}
	if unv.Email != "" {
		t.Errorf("SignIn(unverified e-mail).Email = %q, want empty", unv.Email)
	}
	// ...until the provider vouches for it.
	got, err = s.SignIn(ctx, hanashi.Identity{Provider: "github", Subject: "42", Email: "Carol@example.com", EmailVerified: true})
	if err != nil || got.ID != unv.ID || got.Email != "carol@example.com" {
		t.Errorf("SignIn(now verified) = %+v, %v; want %s with the e-mail carol@example.com", got, err, unv.ID)
	}
}

func testSignInName(t *testing.T, s hanashi.Store) {
	long := strings.Repeat("長", hanashi.MaxNameLen+10)
	for i, c := range []struct {
		id   hanashi.Identity
		want string
	}{
		{hanashi.Identity{Name: "Bob", Email: "robert@example.com", EmailVerified: true}, "Bob"},
		// Each address once: a verified one would link to the user before.
		{hanashi.Identity{Email: "carol.c@example.com", EmailVerified: true}, "carol.c"},
		{hanashi.Identity{Email: "Dave@example.com"}, "Dave"},
		{hanashi.Identity{Name: "  \t "}, "user"},
		{hanashi.Identity{}, "user"},
		{hanashi.Identity{Name: long}, strings.Repeat("長", hanashi.MaxNameLen)},
		{hanashi.Identity{Name: "a\x00b\nc"}, "abc"},
	} {
		c.id.Provider, c.id.Subject = "test", fmt.Sprint(i)
		u, err := s.SignIn(t.Context(), c.id)
		if err != nil {
			t.Errorf("SignIn(%+v): %v", c.id, err)
			continue
		}
		if u.Name != c.want || u.Name != c.id.DisplayName() {
			t.Errorf("SignIn(%+v).Name = %q, want %q (DisplayName says %q)", c.id, u.Name, c.want, c.id.DisplayName())
		}
	}
}

func testSignInLinksVerifiedEmail(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	signIn := func(id hanashi.Identity) hanashi.User {
		t.Helper()
		u, err := s.SignIn(ctx, id)
		if err != nil {
			t.Fatalf("SignIn(%+v): %v", id, err)
		}
		return u
	}
	alice := signIn(hanashi.Identity{Provider: "google", Subject: "g-1", Email: "alice@example.com", EmailVerified: true, Name: "Alice"})

	// Verified elsewhere, in any case and with stray space: the same user.
	for _, id := range []hanashi.Identity{
		{Provider: hanashi.EmailProvider, Subject: "alice@example.com", Email: "alice@example.com", EmailVerified: true},
		{Provider: "github", Subject: "7", Email: " ALICE@Example.com", EmailVerified: true, Name: "alice-gh", Picture: "https://gh.example/a.png"},
	} {
		if u := signIn(id); u.ID != alice.ID || u.Name != "Alice" {
			t.Errorf("SignIn(%+v) = %+v, want alice (%s) with her name kept", id, u, alice.ID)
		}
	}
	// Every linked identity signs in as alice from now on.
	if u := signIn(hanashi.Identity{Provider: "github", Subject: "7"}); u.ID != alice.ID || u.ProviderAvatar != "https://gh.example/a.png" {
		t.Errorf("SignIn(linked github identity) = %+v, want alice with GitHub's picture", u)
	}

	// The same address unverified is somebody else.
	mallory := signIn(hanashi.Identity{Provider: "dex", Subject: "m", Email: "alice@example.com", Name: "mallory"})
	if mallory.ID == alice.ID || mallory.Email != "" {
		t.Errorf("SignIn(alice's address unverified) = %+v, want a new user without an e-mail", mallory)
	}
	// An address only an unverified identity has links nothing, even when
	// the new identity is verified.
	signIn(hanashi.Identity{Provider: "dex", Subject: "b-unverified", Email: "bob@example.com"})
	bob := signIn(hanashi.Identity{Provider: "google", Subject: "g-2", Email: "bob@example.com", EmailVerified: true})
	if bob.ID == alice.ID || bob.ID == mallory.ID || bob.Email != "bob@example.com" {
		t.Errorf("SignIn(bob verified) = %+v, want a new user with bob's address", bob)
	}
	// E-mail sign-in of bob's address: bob.
	if u := signIn(hanashi.Identity{Provider: hanashi.EmailProvider, Subject: "bob@example.com", Email: "bob@example.com", EmailVerified: true}); u.ID != bob.ID {
		t.Errorf("e-mail sign-in as bob = %+v, want bob %s", u, bob.ID)
	}
	// A user made with an e-mail by CreateUser has no identity: no link.
	made, err := s.CreateUser(ctx, hanashi.User{Name: "carol", Email: "carol@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if u := signIn(hanashi.Identity{Provider: "google", Subject: "g-3", Email: "carol@example.com", EmailVerified: true}); u.ID == made.ID {
		t.Errorf("SignIn linked to a user without identities by its Email field")
	}
}

func testSignInDisabled(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	id := hanashi.Identity{Provider: "google", Subject: "1", Email: "alice@example.com", EmailVerified: true, Picture: "https://p.example/1.png"}
	alice, err := s.SignIn(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisabled(ctx, alice.ID, true); err != nil {
		t.Fatalf("SetDisabled: %v", err)
	}
	id.Picture = "https://p.example/2.png"
	_, err = s.SignIn(ctx, id)
	wantCode(t, err, hanashi.EFORBIDDEN, "SignIn of a disabled user")
	// A new identity with her verified address leads to her too: refused,
	// and not linked.
	viaEmail := hanashi.Identity{Provider: hanashi.EmailProvider, Subject: "alice@example.com", Email: "alice@example.com", EmailVerified: true}
	_, err = s.SignIn(ctx, viaEmail)
	wantCode(t, err, hanashi.EFORBIDDEN, "e-mail sign-in of a disabled user")
	if u, err := s.User(ctx, alice.ID); err != nil || !u.Disabled || u.ProviderAvatar != "https://p.example/1.png" {
		t.Errorf("User after refused sign-ins = %+v, %v; want her disabled with her old picture", u, err)
	}

	if err := s.SetDisabled(ctx, alice.ID, false); err != nil {
		t.Fatalf("SetDisabled(false): %v", err)
	}
	for _, id := range []hanashi.Identity{id, viaEmail} {
		if u, err := s.SignIn(ctx, id); err != nil || u.ID != alice.ID || u.Disabled {
			t.Errorf("SignIn(%s) after enabling = %+v, %v; want alice", id.Provider, u, err)
		}
	}
}

func testSignInInvalid(t *testing.T, s hanashi.Store) {
	for _, id := range []hanashi.Identity{
		{Subject: "1", Name: "no provider"},
		{Provider: "google", Name: "no subject"},
		{Email: "a@example.com", EmailVerified: true},
	} {
		_, err := s.SignIn(t.Context(), id)
		wantCode(t, err, hanashi.EINVALID, "SignIn(%+v)", id)
	}
}

// testSignInConcurrent checks that concurrent first sign-ins of one identity
// make one user.
func testSignInConcurrent(t *testing.T, s hanashi.Store) {
	const n = 10
	for _, verified := range []bool{false, true} {
		id := hanashi.Identity{Provider: "dex", Subject: fmt.Sprint("race-", verified), Email: "race@example.com", EmailVerified: verified}
		users := signInConcurrently(t, s, n, func(int) hanashi.Identity { return id })
		for i, u := range users {
			if u.ID != users[0].ID {
				t.Errorf("verified=%v: sign-in %d got user %s, sign-in 0 got %s; want one user", verified, i, u.ID, users[0].ID)
			}
		}
	}
}

// testSignInConcurrentSameEmail checks that concurrent first sign-ins of
// several identities with one verified address make one user.
func testSignInConcurrentSameEmail(t *testing.T, s hanashi.Store) {
	const n = 10
	for round := range 3 {
		users := signInConcurrently(t, s, n, func(i int) hanashi.Identity {
			return hanashi.Identity{Provider: fmt.Sprint("provider-", i), Subject: "same",
				Email: fmt.Sprintf("Same-%d@Example.com", round), EmailVerified: true}
		})
		for i, u := range users {
			if u.ID != users[0].ID {
				t.Errorf("round %d: sign-in %d got user %s, sign-in 0 got %s; want one user for one verified address", round, i, u.ID, users[0].ID)
			}
		}
	}
}

// signInConcurrently runs n sign-ins at once, of identity(i) for i in [0, n),
// and returns their users.
func signInConcurrently(t *testing.T, s hanashi.Store, n int, identity func(i int) hanashi.Identity) []hanashi.User {
	t.Helper()
	warmUp(t, s, n)
	users := make([]hanashi.User, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			users[i], errs[i] = s.SignIn(t.Context(), identity(i))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent SignIn %d: %v", i, err)
		}
	}
	return users
}

func testUpdateProfile(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice, err := s.CreateUser(ctx, hanashi.User{Name: "alice", AvatarURL: "https://gravatar.example/a", ProviderAvatar: "https://p.example/a"})
	if err != nil {
		t.Fatal(err)
	}
	bob := newUser(t, s, "bob")
	room := newRoom(t, s, alice.ID, "lobby", false)
	mustPost(t, s, hanashi.Post{Room: room.ID, Author: alice.ID, ClientID: "1", Body: "before"})

	str := func(s string) *string { return &s }
	want := alice
	for _, c := range []struct {
		p      hanashi.ProfileUpdate
		change func(u *hanashi.User)
	}{
		{hanashi.ProfileUpdate{}, func(*hanashi.User) {}},
		{hanashi.ProfileUpdate{Name: str("Alice 花子")}, func(u *hanashi.User) { u.Name = "Alice 花子" }},
		{hanashi.ProfileUpdate{AvatarUpload: str("f00.png"), AvatarURL: str("/avatars/f00.png")},
			func(u *hanashi.User) { u.AvatarUpload, u.AvatarURL = "f00.png", "/avatars/f00.png" }},
		{hanashi.ProfileUpdate{AvatarUpload: str(""), AvatarURL: str("")},
			func(u *hanashi.User) { u.AvatarUpload, u.AvatarURL = "", "" }},
		{hanashi.ProfileUpdate{Name: str("Al"), AvatarURL: str("https://gravatar.example/b")},
			func(u *hanashi.User) { u.Name, u.AvatarURL = "Al", "https://gravatar.example/b" }},
		{hanashi.ProfileUpdate{TimeZone: str("Asia/Tokyo")}, func(u *hanashi.User) { u.TimeZone = "Asia/Tokyo" }},
		{hanashi.ProfileUpdate{Name: str("Al")}, func(*hanashi.User) {}}, // the time zone stays
		{hanashi.ProfileUpdate{TimeZone: str("America/Argentina/Buenos_Aires")},
			func(u *hanashi.User) { u.TimeZone = "America/Argentina/Buenos_Aires" }},
	} {
		c.change(&want)
		got, err := s.UpdateProfile(ctx, alice.ID, c.p)
		if err != nil {
			t.Fatalf("UpdateProfile(%s): %v", profile(c.p), err)
		}
		if !sameUser(got, want) {
			t.Errorf("UpdateProfile(%s) = %+v, want %+v", profile(c.p), got, want)
		}
		if got, err := s.User(ctx, alice.ID); err != nil || !sameUser(got, want) {
			t.Errorf("User after UpdateProfile(%s) = %+v, %v; want %+v", profile(c.p), got, err, want)
		}
	}
	if got, err := s.User(ctx, bob.ID); err != nil || !sameUser(got, bob) {
		t.Errorf("updating alice changed bob: %+v, %v", got, err)
	}

	// Messages, old and new, carry the author's current name and avatar.
	mustPost(t, s, hanashi.Post{Room: room.ID, Author: alice.ID, ClientID: "2", Body: "after"})
	for _, m := range allMessages(t, s, room.ID) {
		if m.Author != (hanashi.Author{ID: alice.ID, Name: "Al", AvatarURL: "https://gravatar.example/b"}) {
			t.Errorf("message %d has author %+v, want alice's current name and avatar", m.Seq, m.Author)
		}
	}

	_, err = s.UpdateProfile(ctx, hanashi.UserID(hanashi.NewID()), hanashi.ProfileUpdate{Name: str("x")})
	wantCode(t, err, hanashi.ENOTFOUND, "UpdateProfile(unknown user)")
}

func profile(p hanashi.ProfileUpdate) string {
	f := func(s *string) string {
		if s == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", *s)
	}
	return fmt.Sprintf("{Name: %s, AvatarUpload: %s, AvatarURL: %s, TimeZone: %s}", f(p.Name), f(p.AvatarUpload), f(p.AvatarURL), f(p.TimeZone))
}

func testClaimGuest(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	owner := newUser(t, s, "owner")
	guest, err := s.CreateUser(ctx, hanashi.User{Name: "guest 1234", Guest: true})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := s.SignIn(ctx, hanashi.Identity{Provider: "google", Subject: "a", Name: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	pub := newRoom(t, s, owner.ID, "public", false)
	priv := newRoom(t, s, owner.ID, "private", true)
	both := newRoom(t, s, owner.ID, "both", true)
	for _, c := range []struct {
		room hanashi.RoomID
		user hanashi.UserID
	}{{priv.ID, guest.ID}, {both.ID, guest.ID}, {both.ID, alice.ID}} {
		if err := s.AddMember(ctx, c.room, c.user, owner.ID); err != nil {
			t.Fatalf("AddMember: %v", err)
		}
	}
	guestHashes := [][]byte{tokenHash("guest 1"), tokenHash("guest 2")}
	for _, h := range guestHashes {
		createSession(t, s, guest.ID, h)
	}
	aliceHash := tokenHash("alice")
	createSession(t, s, alice.ID, aliceHash)
	_, start, err := s.RevokedSessions(ctx, -1)
	if err != nil {
		t.Fatal(err)
	}

	mustPost(t, s, hanashi.Post{Room: pub.ID, Author: owner.ID, ClientID: "o1", Body: "owner's"})
	g1 := mustPost(t, s, hanashi.Post{Room: pub.ID, Author: guest.ID, ClientID: "g1", Body: "guest in public"})
	g2 := mustPost(t, s, hanashi.Post{Room: priv.ID, Author: guest.ID, ClientID: "same", Body: "guest in private"})
	g3 := mustPost(t, s, hanashi.Post{Room: pub.ID, Author: guest.ID, Body: "guest without client id"})
	a1 := mustPost(t, s, hanashi.Post{Room: pub.ID, Author: alice.ID, ClientID: "same", Body: "alice's"})

	moved, err := s.ClaimGuest(ctx, guest.ID, alice.ID)
	if err != nil {
		t.Fatalf("ClaimGuest: %v", err)
	}
	if moved != 3 {
		t.Errorf("ClaimGuest moved %d messages, want 3", moved)
	}

	// The messages are alice's now, where they were, in the same order; the
	// one whose client id alice had already used has lost it.
	aliceNow := hanashi.Author{ID: alice.ID, Name: alice.Name, AvatarURL: alice.AvatarURL}
	wantMsgs := map[hanashi.MessageID]hanashi.Message{}
	for _, m := range []hanashi.Message{g1, g2, g3} {
		m.Author = aliceNow
		if m.ID == g2.ID {
			m.ClientID = ""
		}
		wantMsgs[m.ID] = m
	}
	for _, room := range []hanashi.RoomID{pub.ID, priv.ID} {
		for _, m := range allMessages(t, s, room) {
			if w, ok := wantMsgs[m.ID]; ok && !sameMessage(m, w) {
				t.Errorf("claimed message = %+v, want %+v", m, w)
			} else if !ok && m.Author.ID == guest.ID {
				t.Errorf("message %+v still has the guest as its author", m)
			}
		}
	}
	if n := len(allMessages(t, s, pub.ID)); n != 4 {
		t.Errorf("public room has %d messages after the claim, want 4", n)
	}
	// A resend of the guest's message, now as alice, finds it.
	res := post(t, s, hanashi.Post{Room: pub.ID, Author: alice.ID, ClientID: "g1", Body: "guest in public"})
	if res.Err != nil || res.Created || res.Message.ID != g1.ID {
		t.Errorf("alice resends the guest's g1: %+v, want the claimed message %s", res, g1.ID)
	}
	res = post(t, s, hanashi.Post{Room: pub.ID, Author: alice.ID, ClientID: "same", Body: "again"})
	if res.Err != nil || res.Created || res.Message.ID != a1.ID {
		t.Errorf("alice resends her own client id: %+v, want her message %s", res, a1.ID)
	}

	// The guest's memberships are alice's; the guest's are gone.
	for _, room := range []hanashi.RoomID{priv.ID, both.ID} {
		if r, err := s.Room(ctx, room, alice.ID); err != nil || !r.Member {
			t.Errorf("Room(%d, alice) = %+v, %v; want her a member", room, r, err)
		}
		_, err := s.Room(ctx, room, guest.ID)
		wantCode(t, err, hanashi.ENOTFOUND, "Room(%d, claimed guest)", room)
	}

	// The guest is disabled, its sessions are ended and logged as revoked,
	// alice's session is untouched.
	if u, err := s.User(ctx, guest.ID); err != nil || !u.Disabled || !u.Guest {
		t.Errorf("User(claimed guest) = %+v, %v; want a disabled guest", u, err)
	}
	for _, h := range guestHashes {
		_, err := s.SessionUser(ctx, h)
		wantCode(t, err, hanashi.EUNAUTHORIZED, "SessionUser(claimed guest's session)")
	}
	if u, err := s.SessionUser(ctx, aliceHash); err != nil || u.ID != alice.ID {
		t.Errorf("SessionUser(alice's session) = %+v, %v; want alice", u, err)
	}
	hashes, _, err := s.RevokedSessions(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	if !sameHashSet(hashes, guestHashes) {
		t.Errorf("revocation log after the claim has %d entries, want the guest's %d sessions", len(hashes), len(guestHashes))
	}
	err = s.CreateSession(ctx, hanashi.Session{TokenHash: tokenHash("guest 3"), User: guest.ID, ExpiresAt: time.Now().Add(time.Hour)})
	wantCode(t, err, hanashi.EFORBIDDEN, "CreateSession for a claimed guest")
	res = post(t, s, hanashi.Post{Room: pub.ID, Author: guest.ID, ClientID: "late", Body: "late"})
	wantCode(t, res.Err, hanashi.EFORBIDDEN, "Post by a claimed guest")
	err = s.SetDisabled(ctx, guest.ID, false)
	wantCode(t, err, hanashi.EINVALID, "SetDisabled(claimed guest, false)")

	// Claiming again moves nothing and changes nothing.
	if moved, err := s.ClaimGuest(ctx, guest.ID, alice.ID); err != nil || moved != 0 {
		t.Errorf("second ClaimGuest = %d, %v; want 0 and no error", moved, err)
	}
	if hashes, _, err := s.RevokedSessions(ctx, start); err != nil || len(hashes) != len(guestHashes) {
		t.Errorf("second ClaimGuest logged revocations: %d entries, %v", len(hashes), err)
	}
}

func testClaimGuestRefused(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	newGuest := func(name string) hanashi.User {
		t.Helper()
		u, err := s.CreateUser(ctx, hanashi.User{Name: name, Guest: true})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	dave := newUser(t, s, "dave")
	guest := newGuest("guest")
	other := newGuest("other guest")
	banned := newGuest("banned guest")
	claimed := newGuest("claimed guest")
	room := newRoom(t, s, alice.ID, "lobby", false)
	mustPost(t, s, hanashi.Post{Room: room.ID, Author: guest.ID, ClientID: "1", Body: "hi"})
	mustPost(t, s, hanashi.Post{Room: room.ID, Author: banned.ID, ClientID: "1", Body: "spam"})
	if err := s.SetDisabled(ctx, banned.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisabled(ctx, dave.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimGuest(ctx, claimed.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	nobody := hanashi.UserID(hanashi.NewID())

	for _, c := range []struct {
		what        string
		guest, user hanashi.UserID
		code        string
	}{
		{"a user who is not a guest", bob.ID, alice.ID, hanashi.EINVALID},
		{"a guest into a guest", guest.ID, other.ID, hanashi.EINVALID},
		{"a guest into itself", guest.ID, guest.ID, hanashi.EINVALID},
		{"an unknown guest", nobody, alice.ID, hanashi.ENOTFOUND},
		{"a guest into an unknown user", guest.ID, nobody, hanashi.ENOTFOUND},
		{"a guest into a disabled user", guest.ID, dave.ID, hanashi.EFORBIDDEN},
		{"a guest an administrator disabled", banned.ID, alice.ID, hanashi.EFORBIDDEN},
		{"a guest claimed by another account", claimed.ID, bob.ID, hanashi.ECONFLICT},
	} {
		moved, err := s.ClaimGuest(ctx, c.guest, c.user)
		wantCode(t, err, c.code, "ClaimGuest(%s)", c.what)
		if moved != 0 {
			t.Errorf("ClaimGuest(%s) moved %d messages, want 0", c.what, moved)
		}
	}
	// Nothing moved.
	for _, m := range allMessages(t, s, room.ID) {
		if m.Author.ID != guest.ID && m.Author.ID != banned.ID {
			t.Errorf("a refused claim moved message %+v", m)
		}
	}
	if u, err := s.User(ctx, guest.ID); err != nil || u.Disabled {
		t.Errorf("User(guest) after refused claims = %+v, %v; want it enabled", u, err)
	}
}

func testSetDisabled(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	room := newRoom(t, s, bob.ID, "lobby", false)
	aliceHashes := [][]byte{tokenHash("alice 1"), tokenHash("alice 2")}
	for _, h := range aliceHashes {
		createSession(t, s, alice.ID, h)
	}
	bobHash := tokenHash("bob")
	createSession(t, s, bob.ID, bobHash)
	_, start, err := s.RevokedSessions(ctx, -1)
	if err != nil {
		t.Fatal(err)
	}

	if err := s.SetDisabled(ctx, alice.ID, true); err != nil {
		t.Fatalf("SetDisabled(alice, true): %v", err)
	}
	if u, err := s.User(ctx, alice.ID); err != nil || !u.Disabled {
		t.Errorf("User(disabled alice) = %+v, %v; want Disabled", u, err)
	}
	for _, h := range aliceHashes {
		_, err := s.SessionUser(ctx, h)
		wantCode(t, err, hanashi.EUNAUTHORIZED, "SessionUser(session of a disabled user)")
	}
	if u, err := s.SessionUser(ctx, bobHash); err != nil || u.ID != bob.ID {
		t.Errorf("disabling alice ended bob's session: %+v, %v", u, err)
	}
	hashes, _, err := s.RevokedSessions(ctx, start)
	if err != nil || !sameHashSet(hashes, aliceHashes) {
		t.Errorf("RevokedSessions after disabling alice = %d entries, %v; want her 2 sessions", len(hashes), err)
	}
	err = s.CreateSession(ctx, hanashi.Session{TokenHash: tokenHash("alice 3"), User: alice.ID, ExpiresAt: time.Now().Add(time.Hour)})
	wantCode(t, err, hanashi.EFORBIDDEN, "CreateSession for a disabled user")
	res := post(t, s, hanashi.Post{Room: room.ID, Author: alice.ID, ClientID: "1", Body: "hi"})
	wantCode(t, res.Err, hanashi.EFORBIDDEN, "Post by a disabled user")
	if n := len(allMessages(t, s, room.ID)); n != 0 {
		t.Errorf("a disabled user's post was stored: %d messages", n)
	}
	// Disabling again is not an error and revokes nothing more.
	if err := s.SetDisabled(ctx, alice.ID, true); err != nil {
		t.Errorf("SetDisabled(alice, true) again: %v", err)
	}

	// Enabled again, she can sign in and post; her old sessions stay ended.
	if err := s.SetDisabled(ctx, alice.ID, false); err != nil {
		t.Fatalf("SetDisabled(alice, false): %v", err)
	}
	if u, err := s.User(ctx, alice.ID); err != nil || u.Disabled {
		t.Errorf("User(enabled alice) = %+v, %v; want not Disabled", u, err)
	}
	_, err = s.SessionUser(ctx, aliceHashes[0])
	wantCode(t, err, hanashi.EUNAUTHORIZED, "SessionUser(old session after enabling)")
	createSession(t, s, alice.ID, tokenHash("alice 4"))
	if u, err := s.SessionUser(ctx, tokenHash("alice 4")); err != nil || u.ID != alice.ID {
		t.Errorf("SessionUser(new session after enabling) = %+v, %v; want alice", u, err)
	}
	mustPost(t, s, hanashi.Post{Room: room.ID, Author: alice.ID, ClientID: "1", Body: "hi"})
	if hashes, _, err := s.RevokedSessions(ctx, start); err != nil || len(hashes) != len(aliceHashes) {
		t.Errorf("RevokedSessions = %d entries, %v; want still %d", len(hashes), err, len(aliceHashes))
	}

	err = s.SetDisabled(ctx, hanashi.UserID(hanashi.NewID()), true)
	wantCode(t, err, hanashi.ENOTFOUND, "SetDisabled(unknown user)")
}

func testDeleteUserSessions(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	var aliceHashes [][]byte
	for i := range 3 {
		h := tokenHash(fmt.Sprint("alice ", i))
		createSession(t, s, alice.ID, h)
		aliceHashes = append(aliceHashes, h)
	}
	bobHash := tokenHash("bob")
	createSession(t, s, bob.ID, bobHash)
	_, start, err := s.RevokedSessions(ctx, -1)
	if err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteUserSessions(ctx, alice.ID); err != nil {
		t.Fatalf("DeleteUserSessions(alice): %v", err)
	}
	for _, h := range aliceHashes {
		_, err := s.SessionUser(ctx, h)
		wantCode(t, err, hanashi.EUNAUTHORIZED, "SessionUser(alice's session after DeleteUserSessions)")
	}
	if u, err := s.SessionUser(ctx, bobHash); err != nil || u.ID != bob.ID {
		t.Errorf("DeleteUserSessions(alice) ended bob's session: %+v, %v", u, err)
	}
	if u, err := s.User(ctx, alice.ID); err != nil || u.Disabled {
		t.Errorf("User(alice) = %+v, %v; want her still enabled", u, err)
	}
	hashes, last, err := s.RevokedSessions(ctx, start)
	if err != nil || !sameHashSet(hashes, aliceHashes) {
		t.Errorf("RevokedSessions = %d entries, %v; want alice's 3 sessions", len(hashes), err)
	}
	// She signs in again.
	createSession(t, s, alice.ID, tokenHash("alice again"))

	for _, id := range []hanashi.UserID{alice.ID, bob.ID, hanashi.UserID(hanashi.NewID())} {
		if err := s.DeleteUserSessions(ctx, id); err != nil {
			t.Errorf("DeleteUserSessions(%s): %v", id, err)
		}
	}
	if err := s.DeleteUserSessions(ctx, alice.ID); err != nil {
		t.Errorf("DeleteUserSessions(alice, no sessions left): %v", err)
	}
	hashes, _, err = s.RevokedSessions(ctx, last)
	if err != nil || !sameHashSet(hashes, [][]byte{tokenHash("alice again"), bobHash}) {
		t.Errorf("RevokedSessions = %d entries, %v; want alice's new and bob's session", len(hashes), err)
	}
}

// testRevokedSessions checks that the log lists every ended session once, in
// the order they ended, whichever method ended them.
func testRevokedSessions(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	hashes, start, err := s.RevokedSessions(ctx, -1)
	if err != nil {
		t.Fatalf("RevokedSessions(-1) of an empty log: %v", err)
	}
	if len(hashes) != 0 || start < 0 {
		t.Errorf("RevokedSessions(-1) of an empty log = %d entries, %d; want none and a place >= 0", len(hashes), start)
	}
	if hashes, last, err := s.RevokedSessions(ctx, start); err != nil || len(hashes) != 0 || last != start {
		t.Errorf("RevokedSessions(%d) of an empty log = %d entries, %d, %v; want none and %d", start, len(hashes), last, err, start)
	}

	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	carol := newUser(t, s, "carol")
	guest, err := s.CreateUser(ctx, hanashi.User{Name: "guest", Guest: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user hanashi.UserID
		name string
	}{{alice.ID, "a1"}, {alice.ID, "a2"}, {bob.ID, "b1"}, {bob.ID, "b2"}, {carol.ID, "c1"}, {guest.ID, "g1"}} {
		createSession(t, s, c.user, tokenHash(c.name))
	}

	// Each step ends some sessions; the log must list them after the ones
	// before, and a poller sees each exactly once.
	pos := start
	var seen [][]byte
	poll := func() {
		t.Helper()
		hashes, last, err := s.RevokedSessions(ctx, pos)
		if err != nil {
			t.Fatalf("RevokedSessions(%d): %v", pos, err)
		}
		if last < pos || (len(hashes) > 0 && last == pos) || (len(hashes) == 0 && last != pos) {
			t.Errorf("RevokedSessions(%d) = %d entries and last %d; last must grow with entries and stay without", pos, len(hashes), last)
		}
		seen = append(seen, hashes...)
		pos = last
	}
	for _, step := range []struct {
		what string
		do   func() error
		want []string // newly ended, as a set
	}{
		{"DeleteSession(a1)", func() error { return s.DeleteSession(ctx, tokenHash("a1")) }, []string{"a1"}},
		{"DeleteSession(a1) again", func() error { return s.DeleteSession(ctx, tokenHash("a1")) }, nil},
		{"DeleteSession(unknown)", func() error { return s.DeleteSession(ctx, tokenHash("unknown")) }, nil},
		{"DeleteUserSessions(bob)", func() error { return s.DeleteUserSessions(ctx, bob.ID) }, []string{"b1", "b2"}},
		{"SetDisabled(carol)", func() error { return s.SetDisabled(ctx, carol.ID, true) }, []string{"c1"}},
		{"ClaimGuest(guest, alice)", func() error { _, err := s.ClaimGuest(ctx, guest.ID, alice.ID); return err }, []string{"g1"}},
		{"DeleteSession(a2)", func() error { return s.DeleteSession(ctx, tokenHash("a2")) }, []string{"a2"}},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		before := len(seen)
		poll()
		var want [][]byte
		for _, name := range step.want {
			want = append(want, tokenHash(name))
		}
		if got := seen[before:]; !sameHashSet(got, want) {
			t.Errorf("after %s the log has %d new entries, want %v", step.what, len(got), step.want)
		}
	}
	if len(seen) != 6 {
		t.Errorf("the log lists %d entries, want 6", len(seen))
	}

	// A node starting now begins after all of them.
	hashes, now, err := s.RevokedSessions(ctx, -1)
	if err != nil || len(hashes) != 0 || now != pos {
		t.Errorf("RevokedSessions(-1) = %d entries, %d, %v; want none and %d, the last id", len(hashes), now, err, pos)
	}
	// Reading from the start again gives the same entries in the same order.
	again, _, err := s.RevokedSessions(ctx, start)
	if err != nil || !slices.EqualFunc(again, seen, bytes.Equal) {
		t.Errorf("RevokedSessions(%d) again = %d entries, %v; want the %d seen, in order", start, len(again), err, len(seen))
	}
}

// testRevokedSessionsPaging checks that a long log comes in pages of at most
// RevocationPage, with nothing lost between pages.
func testRevokedSessionsPaging(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	n := hanashi.RevocationPage + 5
	alice := newUser(t, s, "alice")
	want := map[string]bool{}
	for i := range n {
		h := tokenHash(fmt.Sprint("session ", i))
		createSession(t, s, alice.ID, h)
		want[string(h)] = true
	}
	_, pos, err := s.RevokedSessions(ctx, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUserSessions(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	got := map[string]bool{}
	for range 5 {
		hashes, last, err := s.RevokedSessions(ctx, pos)
		if err != nil {
			t.Fatalf("RevokedSessions(%d): %v", pos, err)
		}
		sizes = append(sizes, len(hashes))
		for _, h := range hashes {
			if got[string(h)] {
				t.Errorf("a hash came twice")
			}
			got[string(h)] = true
		}
		pos = last
		if len(hashes) == 0 {
			break
		}
	}
	if !slices.Equal(sizes, []int{hanashi.RevocationPage, 5, 0}) {
		t.Errorf("pages of %v entries, want %v", sizes, []int{hanashi.RevocationPage, 5, 0})
	}
	if len(got) != len(want) {
		t.Errorf("read %d distinct hashes, want %d", len(got), len(want))
	}
	for h := range want {
		if !got[h] {
			t.Errorf("a revoked session is missing from the log")
			break
		}
	}
}

// testRevokedSessionsConcurrent checks that a poller reading the log while
// many sessions end at once sees every one exactly once: ids must be handed
// out in commit order, or a reader could step past an id committed late.
func testRevokedSessionsConcurrent(t *testing.T, s hanashi.Store) {
	const (
		enders = 8
		each   = 25
	)
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	want := map[string]bool{}
	for g := range enders {
		for i := range each {
			h := tokenHash(fmt.Sprint(g, "/", i))
			createSession(t, s, alice.ID, h)
			want[string(h)] = true
		}
	}
	_, pos, err := s.RevokedSessions(ctx, -1)
	if err != nil {
		t.Fatal(err)
	}

	got := map[string]int{}
	read := func() int {
		hashes, last, err := s.RevokedSessions(ctx, pos)
		if err != nil {
			t.Errorf("RevokedSessions(%d): %v", pos, err)
			return 0
		}
		for _, h := range hashes {
			got[string(h)]++
		}
		pos = last
		return len(hashes)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for g := range enders {
		wg.Go(func() {
			for i := range each {
				if err := s.DeleteSession(ctx, tokenHash(fmt.Sprint(g, "/", i))); err != nil {
					t.Errorf("DeleteSession: %v", err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	for polling := true; polling; {
		select {
		case <-done:
			polling = false
		default:
		}
		read()
	}
	for read() > 0 {
	}

	for h := range want {
		if got[h] != 1 {
			t.Errorf("the poller saw a revoked session %d times, want once", got[h])
		}
	}
	if len(got) != len(want) {
		t.Errorf("the poller saw %d distinct hashes, want %d", len(got), len(want))
	}
}

func testLoginTokens(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	now := time.Now()
	hour := now.Add(-time.Hour)
	for i, tok := range []hanashi.LoginToken{
		{Hash: tokenHash("t0"), Email: "Alice@Example.com", IP: "192.0.2.1", ExpiresAt: now.Add(15 * time.Minute)},
		{Hash: tokenHash("t1"), Email: "alice@example.com ", IP: "192.0.2.2", ExpiresAt: now.Add(15 * time.Minute)},
		{Hash: tokenHash("t2"), Email: "bob@example.com", IP: "192.0.2.1", ExpiresAt: now.Add(15 * time.Minute)},
		{Hash: tokenHash("t3"), Email: "carol@example.com", IP: "2001:db8::1", ExpiresAt: now.Add(15 * time.Minute)},
	} {
		if err := s.CreateLoginToken(ctx, tok); err != nil {
			t.Fatalf("CreateLoginToken %d: %v", i, err)
		}
	}
	err := s.CreateLoginToken(ctx, hanashi.LoginToken{Hash: tokenHash("t0"), Email: "eve@example.com", IP: "192.0.2.9", ExpiresAt: now.Add(time.Hour)})
	wantCode(t, err, hanashi.ECONFLICT, "CreateLoginToken with a hash in use")

	count := func(email, ip string, since time.Time, wantEmail, wantIP int) {
		t.Helper()
		byEmail, byIP, err := s.CountLoginTokens(ctx, email, ip, since)
		if err != nil || byEmail != wantEmail || byIP != wantIP {
			t.Errorf("CountLoginTokens(%q, %q, %v) = %d, %d, %v; want %d, %d",
				email, ip, since.Sub(now).Round(time.Minute), byEmail, byIP, err, wantEmail, wantIP)
		}
	}
	count("alice@example.com", "192.0.2.1", hour, 2, 2)
	count(" ALICE@example.COM", "192.0.2.2", hour, 2, 1)
	count("bob@example.com", "2001:db8::1", hour, 1, 1)
	count("dave@example.com", "198.51.100.1", hour, 0, 0)
	count("alice@example.com", "192.0.2.1", time.Now().Add(time.Hour), 0, 0)
	count("alice@example.com", "192.0.2.1", time.Time{}, 2, 2)

	email, err := s.RedeemLoginToken(ctx, tokenHash("t0"))
	if err != nil || email != "alice@example.com" {
		t.Errorf("RedeemLoginToken(t0) = %q, %v; want alice@example.com in normal form", email, err)
	}
	// Spent tokens still count against the limits.
	count("alice@example.com", "192.0.2.1", hour, 2, 2)

	var messages []string
	for _, c := range []struct {
		what string
		hash []byte
	}{
		{"spent token", tokenHash("t0")},
		{"unknown token", tokenHash("never made")},
		{"empty hash", nil},
	} {
		email, err := s.RedeemLoginToken(ctx, c.hash)
		wantCode(t, err, hanashi.EUNAUTHORIZED, "RedeemLoginToken(%s)", c.what)
		if email != "" {
			t.Errorf("RedeemLoginToken(%s) = %q, want no address", c.what, email)
		}
		messages = append(messages, hanashi.ErrorMessage(err))
	}
	if messages[0] != messages[1] || messages[1] != messages[2] {
		t.Errorf("RedeemLoginToken refusals say %q; want one message for all", messages)
	}
	// The other tokens are unaffected.
	if email, err := s.RedeemLoginToken(ctx, tokenHash("t1")); err != nil || email != "alice@example.com" {
		t.Errorf("RedeemLoginToken(t1) = %q, %v; want alice@example.com", email, err)
	}
	if email, err := s.RedeemLoginToken(ctx, tokenHash("t3")); err != nil || email != "carol@example.com" {
		t.Errorf("RedeemLoginToken(t3) = %q, %v; want carol@example.com", email, err)
	}
}

func testLoginTokenInvalid(t *testing.T, s hanashi.Store) {
	exp := time.Now().Add(15 * time.Minute)
	for _, c := range []struct {
		what string
		tok  hanashi.LoginToken
	}{
		{"no hash", hanashi.LoginToken{Email: "a@example.com", IP: "192.0.2.1", ExpiresAt: exp}},
		{"no e-mail", hanashi.LoginToken{Hash: tokenHash("x"), IP: "192.0.2.1", ExpiresAt: exp}},
		{"blank e-mail", hanashi.LoginToken{Hash: tokenHash("y"), Email: "  ", IP: "192.0.2.1", ExpiresAt: exp}},
		{"zero ExpiresAt", hanashi.LoginToken{Hash: tokenHash("z"), Email: "a@example.com", IP: "192.0.2.1"}},
	} {
		err := s.CreateLoginToken(t.Context(), c.tok)
		wantCode(t, err, hanashi.EINVALID, "CreateLoginToken(%s)", c.what)
	}
	if n, _, err := s.CountLoginTokens(t.Context(), "a@example.com", "", time.Time{}); err != nil || n != 0 {
		t.Errorf("CountLoginTokens after refused tokens = %d, %v; want 0", n, err)
	}
}

func testLoginTokenExpired(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	err := s.CreateLoginToken(ctx, hanashi.LoginToken{
		Hash: tokenHash("old"), Email: "alice@example.com", IP: "192.0.2.1", ExpiresAt: time.Now().Add(-time.Second),
	})
	if err != nil {
		t.Fatalf("CreateLoginToken: %v", err)
	}
	email, err := s.RedeemLoginToken(ctx, tokenHash("old"))
	wantCode(t, err, hanashi.EUNAUTHORIZED, "RedeemLoginToken(expired token)")
	if email != "" {
		t.Errorf("RedeemLoginToken(expired token) = %q, want no address", email)
	}
	_, errUnknown := s.RedeemLoginToken(ctx, tokenHash("unknown"))
	if hanashi.ErrorMessage(err) != hanashi.ErrorMessage(errUnknown) {
		t.Errorf("an expired token says %q, an unknown one %q; want the same", hanashi.ErrorMessage(err), hanashi.ErrorMessage(errUnknown))
	}
}

// testLoginTokenPurged checks that making a token purges the ones that
// expired more than LoginTokenRetention ago, and only those.
func testLoginTokenPurged(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	now := time.Now()
	for i, exp := range []time.Time{
		now.Add(-hanashi.LoginTokenRetention - time.Hour), // long expired: purged
		now.Add(-time.Hour), // expired, within retention: kept
		now.Add(time.Hour),
	} {
		err := s.CreateLoginToken(ctx, hanashi.LoginToken{Hash: tokenHash(fmt.Sprint(i)), Email: "alice@example.com", IP: "192.0.2.1", ExpiresAt: exp})
		if err != nil {
			t.Fatalf("CreateLoginToken %d: %v", i, err)
		}
	}
	if n, _, err := s.CountLoginTokens(ctx, "alice@example.com", "", time.Time{}); err != nil || n != 2 {
		t.Errorf("CountLoginTokens = %d, %v; want 2: the token long expired must be purged", n, err)
	}
}

// testLoginTokenConcurrentRedeem checks that of 20 redemptions of one token
// at once, exactly one succeeds.
func testLoginTokenConcurrentRedeem(t *testing.T, s hanashi.Store) {
	const n = 20
	ctx := t.Context()
	for round := range 3 {
		hash := tokenHash(fmt.Sprint("token ", round))
		err := s.CreateLoginToken(ctx, hanashi.LoginToken{Hash: hash, Email: "alice@example.com", IP: "192.0.2.1", ExpiresAt: time.Now().Add(15 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		errs := make([]error, n)
		emails := make([]string, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				emails[i], errs[i] = s.RedeemLoginToken(ctx, hash)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch hanashi.ErrorCode(err) {
			case "":
				won++
				if emails[i] != "alice@example.com" {
					t.Errorf("round %d: redemption %d returned %q", round, i, emails[i])
				}
			case hanashi.EUNAUTHORIZED:
			default:
				t.Errorf("round %d: redemption %d: %v, want success or %s", round, i, err, hanashi.EUNAUTHORIZED)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d of %d concurrent redemptions succeeded, want exactly 1", round, won, n)
		}
	}
}

func testRoomGuests(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	guest, err := s.CreateUser(ctx, hanashi.User{Name: "guest", Guest: true})
	if err != nil {
		t.Fatal(err)
	}
	guest2, err := s.CreateUser(ctx, hanashi.User{Name: "guest 2", Guest: true})
	if err != nil {
		t.Fatal(err)
	}
	open := newRoom(t, s, alice.ID, "open", false)
	closed, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "members only", NoGuests: true, Creator: alice.ID})
	if err != nil {
		t.Fatalf("CreateRoom(NoGuests): %v", err)
	}
	closedPriv, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "private, members only", Private: true, NoGuests: true, Creator: alice.ID})
	if err != nil {
		t.Fatalf("CreateRoom(Private, NoGuests): %v", err)
	}
	if !open.GuestsAllowed || closed.GuestsAllowed || closedPriv.GuestsAllowed {
		t.Errorf("GuestsAllowed = %v, %v, %v; want true for the room made without NoGuests only",
			open.GuestsAllowed, closed.GuestsAllowed, closedPriv.GuestsAllowed)
	}
	if r, err := s.Room(ctx, closed.ID, guest.ID); err != nil || r.GuestsAllowed || !sameRoom(r, hanashi.Room{
		ID: closed.ID, Name: closed.Name, CreatedBy: alice.ID, CreatedAt: closed.CreatedAt}) {
		t.Errorf("Room(members only, guest) = %+v, %v; want it visible, with GuestsAllowed false", r, err)
	}
	rooms, err := s.Rooms(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	var allowed []bool
	for _, r := range rooms {
		allowed = append(allowed, r.GuestsAllowed)
	}
	if !slices.Equal(allowed, []bool{true, false, false}) {
		t.Errorf("Rooms(alice) GuestsAllowed = %v, want [true false false]", allowed)
	}

	err = s.AddMember(ctx, closed.ID, guest.ID, guest.ID)
	wantCode(t, err, hanashi.EFORBIDDEN, "a guest joins a public room that forbids guests")
	err = s.AddMember(ctx, closedPriv.ID, guest.ID, alice.ID)
	wantCode(t, err, hanashi.EFORBIDDEN, "a member adds a guest to a private room that forbids guests")
	err = s.AddMember(ctx, closedPriv.ID, guest.ID, guest.ID)
	wantCode(t, err, hanashi.ENOTFOUND, "a guest joins a private room that forbids guests")
	if err := s.AddMember(ctx, open.ID, guest.ID, guest.ID); err != nil {
		t.Errorf("a guest joins a room open to guests: %v", err)
	}
	bob := newUser(t, s, "bob")
	if err := s.AddMember(ctx, closedPriv.ID, bob.ID, alice.ID); err != nil {
		t.Errorf("alice adds bob to a room that forbids guests: %v", err)
	}

	posts := []hanashi.Post{
		{Room: open.ID, Author: guest.ID, ClientID: "1", Body: "guest, open room"},
		{Room: closed.ID, Author: guest.ID, ClientID: "2", Body: "guest, members only"},
		{Room: closedPriv.ID, Author: guest.ID, ClientID: "3", Body: "guest, private and not a member"},
		{Room: closed.ID, Author: alice.ID, ClientID: "4", Body: "alice, members only"},
		{Room: closed.ID, Author: guest2.ID, ClientID: "5", Body: "another guest, members only"},
	}
	results, err := s.Post(ctx, posts)
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	for i, code := range []string{"", hanashi.EFORBIDDEN, hanashi.ENOTFOUND, "", hanashi.EFORBIDDEN} {
		if code == "" && (results[i].Err != nil || !results[i].Created) {
			t.Errorf("post %d (%s) = %+v, want a new message", i, posts[i].Body, results[i])
		} else if code != "" {
			wantCode(t, results[i].Err, code, "post %d (%s)", i, posts[i].Body)
		}
	}
	if seq, err := s.LastSeq(ctx, closed.ID); err != nil || seq != 1 {
		t.Errorf("LastSeq(members only) = %d, %v; want 1: only alice's post", seq, err)
	}

	_, err = s.CreateRoom(ctx, hanashi.NewRoom{Name: "guest's own", NoGuests: true, Creator: guest.ID})
	wantCode(t, err, hanashi.EFORBIDDEN, "a guest creates a room that forbids guests")
	if r, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "guest's own", Creator: guest.ID}); err != nil || !r.GuestsAllowed {
		t.Errorf("a guest creates a room open to guests: %+v, %v", r, err)
	}
}

// warmUp makes n calls at once, a few times, so that a store with a pool of
// connections has them open before a test of concurrent calls: opening one
// takes long enough to turn calls meant to overlap into a queue.
func warmUp(t *testing.T, s hanashi.Store, n int) {
	t.Helper()
	for range 3 {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if _, err := s.Rooms(t.Context(), ""); err != nil {
					t.Errorf("Rooms: %v", err)
				}
			})
		}
		wg.Wait()
	}
}

// createSession stores a session of user with the given token hash that
// expires in an hour.
func createSession(t *testing.T, s hanashi.Store, user hanashi.UserID, hash []byte) {
	t.Helper()
	now := time.Now()
	if err := s.CreateSession(t.Context(), hanashi.Session{TokenHash: hash, User: user, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatalf("CreateSession(%s): %v", user, err)
	}
}

// sameHashSet reports whether a and b hold the same hashes, in any order,
// each once.
func sameHashSet(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, h := range a {
		count[string(h)]++
	}
	for _, h := range b {
		count[string(h)]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}
