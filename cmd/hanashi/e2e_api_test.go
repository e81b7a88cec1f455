package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestE2EHTTPAPI checks the HTTP API of docs/protocol.md: guests and
// sessions, rooms and membership, private rooms, paging, the error JSON, the
// request size limit, cross-site requests, and signing out.
func TestE2EHTTPAPI(t *testing.T) {
	srv := e2eStart(t, t.TempDir())

	t.Run("guests", func(t *testing.T) {
		r := srv.do(t, "POST", "/api/v1/guests", e2eAuth{}, map[string]string{"name": "alice"})
		var v struct {
			User  e2eUser `json:"user"`
			Token string  `json:"token"`
		}
		r.expectJSON(t, "POST /api/v1/guests", http.StatusCreated, &v)
		u := v.User
		if u.ID == "" || u.Name != "alice" || u.AvatarURL != "" || !u.Guest || u.CreatedAt.IsZero() || v.Token == "" {
			t.Errorf("guest: %s, want user alice (guest, empty avatar_url, created_at) and a token", r.Body)
		}
		if age := time.Since(u.CreatedAt); age < -time.Minute || age > time.Minute {
			t.Errorf("created_at %v is not now", u.CreatedAt)
		}
		var cookie *http.Cookie
		for _, c := range r.Cookies {
			if c.Name == "hanashi_session" {
				cookie = c
			}
		}
		switch {
		case cookie == nil:
			t.Errorf("no hanashi_session cookie; Set-Cookie: %q", r.Header.Values("Set-Cookie"))
		case cookie.Value != v.Token || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode ||
			cookie.Path != "/" || cookie.MaxAge != 2592000 || cookie.Secure:
			t.Errorf("Set-Cookie %q, want hanashi_session=<token>; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax (no Secure over plain HTTP)",
				r.Header.Values("Set-Cookie"))
		}

		// The token works as a Bearer token and as the cookie.
		for _, auth := range []e2eAuth{e2eBearer(v.Token), {Cookie: v.Token}} {
			var me struct {
				User e2eUser `json:"user"`
			}
			srv.do(t, "GET", "/api/v1/me", auth, nil).expectJSON(t, "GET /api/v1/me", 200, &me)
			if me.User.ID != u.ID || me.User.Name != "alice" || !me.User.Guest {
				t.Errorf("GET /api/v1/me: %+v, want %+v", me.User, u)
			}
		}
		srv.do(t, "GET", "/api/v1/me", e2eAuth{}, nil).expectError(t, "GET /api/v1/me without a session", 401, "unauthorized")
		srv.do(t, "GET", "/api/v1/me", e2eBearer("bogus"), nil).expectError(t, "GET /api/v1/me with a bogus token", 401, "unauthorized")
		srv.do(t, "GET", "/api/v1/me", e2eAuth{Cookie: "bogus"}, nil).expectError(t, "GET /api/v1/me with a bogus cookie", 401, "unauthorized")

		names := []struct {
			name string
			want string // "" when the name must be refused
		}{
			{"  bob  ", "bob"},
			{strings.Repeat("x", 64), strings.Repeat("x", 64)},
			{strings.Repeat("あ", 64), strings.Repeat("あ", 64)}, // 64 characters, 192 bytes
			{"", ""},
			{"   ", ""},
			{strings.Repeat("x", 65), ""},
			{strings.Repeat("あ", 65), ""},
			{"a\nb", ""},
			{"a\x00b", ""},
			{"\x1b[31mred", ""},
			{"a\x7fb", ""},
			{"a\u0085b", ""}, // a C1 control character
		}
		for _, n := range names {
			r := srv.do(t, "POST", "/api/v1/guests", e2eAuth{}, map[string]string{"name": n.name})
			what := fmt.Sprintf("guest named %q", n.name)
			if n.want == "" {
				r.expectError(t, what, 400, "invalid")
				continue
			}
			var v struct {
				User e2eUser `json:"user"`
			}
			r.expectJSON(t, what, 201, &v)
			if v.User.Name != n.want {
				t.Errorf("%s: name %q, want %q", what, v.User.Name, n.want)
			}
		}
		for _, body := range []string{"", "{", `{"name": 5}`, `"alice"`} {
			srv.do(t, "POST", "/api/v1/guests", e2eAuth{}, body).expectError(t, fmt.Sprintf("POST /api/v1/guests %q", body), 400, "invalid")
		}
	})

	alice := srv.guest(t, "alice")
	bob := srv.guest(t, "bob")
	carol := srv.guest(t, "carol")
	dave := srv.guest(t, "dave")
	roomPath := func(id int64, rest string) string { return fmt.Sprintf("/api/v1/rooms/%d%s", id, rest) }
	getRoom := func(t *testing.T, g e2eGuest, id int64) e2eRoom {
		t.Helper()
		var v struct {
			Room e2eRoom `json:"room"`
		}
		srv.do(t, "GET", roomPath(id, ""), g.auth(), nil).expectJSON(t, "GET "+roomPath(id, "")+" as "+g.User.Name, 200, &v)
		return v.Room
	}
	listed := func(t *testing.T, g e2eGuest, id int64) (e2eRoom, bool) {
		t.Helper()
		var v struct {
			Rooms []e2eRoom `json:"rooms"`
		}
		srv.do(t, "GET", "/api/v1/rooms", g.auth(), nil).expectJSON(t, "GET /api/v1/rooms", 200, &v)
		if !slices.IsSortedFunc(v.Rooms, func(a, b e2eRoom) int { return int(a.ID - b.ID) }) {
			t.Errorf("GET /api/v1/rooms: not ordered by id")
		}
		for _, r := range v.Rooms {
			if r.ID == id {
				return r, true
			}
		}
		return e2eRoom{}, false
	}

	var general e2eRoom
	t.Run("public rooms", func(t *testing.T) {
		general = srv.room(t, alice, "general", false)
		if general.Name != "general" || general.Private || general.CreatedBy != alice.User.ID ||
			general.CreatedAt.IsZero() || general.LastSeq != 0 || !general.Member {
			t.Errorf("created room %+v, want general, public, created by alice, last_seq 0, member", general)
		}
		for _, body := range []any{map[string]any{"name": ""}, map[string]any{"name": "   "},
			map[string]any{"name": strings.Repeat("r", 65)}, map[string]any{"name": "a\nb"}, "{"} {
			srv.do(t, "POST", "/api/v1/rooms", alice.auth(), body).expectError(t, fmt.Sprintf("POST /api/v1/rooms %v", body), 400, "invalid")
		}
		srv.do(t, "POST", "/api/v1/rooms", e2eAuth{}, map[string]any{"name": "x"}).expectError(t, "POST /api/v1/rooms without a session", 401, "unauthorized")
		srv.do(t, "GET", "/api/v1/rooms", e2eAuth{}, nil).expectError(t, "GET /api/v1/rooms without a session", 401, "unauthorized")
		srv.do(t, "GET", roomPath(general.ID, ""), e2eAuth{}, nil).expectError(t, "GET room without a session", 401, "unauthorized")
		srv.do(t, "GET", roomPath(general.ID, "/messages"), e2eAuth{}, nil).expectError(t, "GET messages without a session", 401, "unauthorized")

		if r, ok := listed(t, bob, general.ID); !ok || r.Member || r.Name != "general" {
			t.Errorf("bob's room list: %+v (listed %v), want general with member false", r, ok)
		}
		if r, ok := listed(t, alice, general.ID); !ok || !r.Member {
			t.Errorf("alice's room list: %+v (listed %v), want general with member true", r, ok)
		}
		if r := getRoom(t, bob, general.ID); r.Member || r.ID != general.ID {
			t.Errorf("bob gets %+v, want general with member false", r)
		}
		srv.do(t, "GET", roomPath(999999, ""), alice.auth(), nil).expectError(t, "GET an unknown room", 404, "not_found")
		srv.do(t, "GET", roomPath(999999, "/messages"), alice.auth(), nil).expectError(t, "GET messages of an unknown room", 404, "not_found")
		srv.do(t, "POST", roomPath(999999, "/members"), alice.auth(), nil).expectError(t, "join an unknown room", 404, "not_found")
		if r := srv.do(t, "GET", "/api/v1/rooms/abc", alice.auth(), nil); r.Status != 400 && r.Status != 404 {
			t.Errorf("GET /api/v1/rooms/abc: status %d, want 400 or 404", r.Status)
		}

		// Join (twice: joining again is not an error) and leave (twice).
		for i := range 2 {
			var v struct {
				Room e2eRoom `json:"room"`
			}
			srv.do(t, "POST", roomPath(general.ID, "/members"), bob.auth(), nil).expectJSON(t, "bob joins", 200, &v)
			if !v.Room.Member || v.Room.ID != general.ID {
				t.Errorf("join %d: %+v, want general with member true", i, v.Room)
			}
		}
		if r := getRoom(t, bob, general.ID); !r.Member {
			t.Errorf("after joining, bob gets member false")
		}
		for range 2 {
			r := srv.do(t, "DELETE", roomPath(general.ID, "/members/me"), bob.auth(), nil)
			if r.Status != 204 || len(r.Body) != 0 {
				t.Errorf("bob leaves: status %d body %q, want 204 and no body", r.Status, r.Body)
			}
		}
		if r := getRoom(t, bob, general.ID); r.Member {
			t.Errorf("after leaving, bob gets member true")
		}
		// Joining with an empty JSON object is the same as no body.
		var v struct {
			Room e2eRoom `json:"room"`
		}
		srv.do(t, "POST", roomPath(general.ID, "/members"), carol.auth(), "{}").expectJSON(t, "carol joins with {}", 200, &v)
		if !v.Room.Member {
			t.Errorf("carol joined: member false")
		}
		// Only a member adds somebody else: bob has left.
		srv.do(t, "POST", roomPath(general.ID, "/members"), bob.auth(), map[string]string{"user_id": dave.User.ID}).
			expectError(t, "non-member bob adds dave to a public room", 403, "forbidden")
	})

	t.Run("private rooms", func(t *testing.T) {
		secret := srv.room(t, alice, "secret", true)
		if !secret.Private || !secret.Member {
			t.Errorf("created %+v, want private with member true", secret)
		}
		hidden := func(g e2eGuest) {
			t.Helper()
			who := g.User.Name
			srv.do(t, "GET", roomPath(secret.ID, ""), g.auth(), nil).expectError(t, who+" gets the private room", 404, "not_found")
			srv.do(t, "GET", roomPath(secret.ID, "/messages"), g.auth(), nil).expectError(t, who+" gets its messages", 404, "not_found")
			srv.do(t, "GET", roomPath(secret.ID, "/messages?after=0"), g.auth(), nil).expectError(t, who+" pages its messages", 404, "not_found")
			srv.do(t, "POST", roomPath(secret.ID, "/members"), g.auth(), nil).expectError(t, who+" joins it", 404, "not_found")
			srv.do(t, "POST", roomPath(secret.ID, "/members"), g.auth(), map[string]string{"user_id": dave.User.ID}).
				expectError(t, who+" adds dave to it", 404, "not_found")
			srv.do(t, "DELETE", roomPath(secret.ID, "/members/me"), g.auth(), nil).expectError(t, who+" leaves it", 404, "not_found")
			if _, ok := listed(t, g, secret.ID); ok {
				t.Errorf("%s's room list shows the private room", who)
			}
		}
		hidden(bob)
		hidden(carol)

		var v struct {
			Room e2eRoom `json:"room"`
		}
		srv.do(t, "POST", roomPath(secret.ID, "/members"), alice.auth(), map[string]string{"user_id": bob.User.ID}).
			expectJSON(t, "alice adds bob", 200, &v)
		if v.Room.ID != secret.ID || !v.Room.Private {
			t.Errorf("alice adds bob: %+v", v.Room)
		}
		if r := getRoom(t, bob, secret.ID); !r.Member || !r.Private {
			t.Errorf("bob gets %+v after being added, want member of a private room", r)
		}
		if r, ok := listed(t, bob, secret.ID); !ok || !r.Member {
			t.Errorf("bob's room list after being added: %+v (listed %v)", r, ok)
		}
		if msgs := srv.messages(t, bob, secret.ID, ""); len(msgs) != 0 {
			t.Errorf("messages of the new private room: %v", msgs)
		}
		// A member may add others too.
		srv.do(t, "POST", roomPath(secret.ID, "/members"), bob.auth(), map[string]string{"user_id": carol.User.ID}).
			expectJSON(t, "bob adds carol", 200, nil)
		if r := getRoom(t, carol, secret.ID); !r.Member {
			t.Errorf("carol is not a member after bob added her")
		}
		// Leaving a private room makes it invisible again.
		if r := srv.do(t, "DELETE", roomPath(secret.ID, "/members/me"), bob.auth(), nil); r.Status != 204 {
			t.Errorf("bob leaves the private room: status %d %s", r.Status, r.Body)
		}
		hidden(bob)
		hidden(dave)
	})

	t.Run("paging", func(t *testing.T) {
		room := srv.room(t, alice, "paging", false)
		acks := e2eStartAcks(srv.ws(t, alice), room.ID, 8).sendN(t, "page", 60)
		for i, a := range acks {
			if a.Seq != int64(i+1) {
				t.Fatalf("message %d got seq %d", i, a.Seq)
			}
		}
		cases := []struct {
			query    string
			from, to int64 // want seqs from..to; to < from for none
		}{
			{"", 11, 60}, // the newest 50
			{"?limit=10", 51, 60},
			{"?after=0", 1, 50},
			{"?after=5&limit=10", 6, 15},
			{"?after=55", 56, 60},
			{"?after=60", 1, 0},
			{"?after=0&limit=1000", 1, 60},
			{"?before=11&limit=5", 6, 10},
			{"?before=3&limit=10", 1, 2},
			{"?before=1", 1, 0},
			{"?before=61&limit=3", 58, 60},
			{"?before=1000&limit=1", 60, 60},
			{"?before=41", 1, 40},
		}
		for _, tc := range cases {
			msgs := srv.messages(t, bob, room.ID, tc.query)
			var got []int64
			for _, m := range msgs {
				got = append(got, m.Seq)
			}
			var want []int64
			for s := tc.from; s <= tc.to; s++ {
				want = append(want, s)
			}
			if !slices.Equal(got, want) {
				t.Errorf("messages%s: seqs %v, want %d..%d", tc.query, got, tc.from, tc.to)
			}
		}
		msgs := srv.messages(t, bob, room.ID, "?after=6&limit=1")
		if len(msgs) == 1 {
			m := msgs[0]
			if m.ID != acks[6].ID || m.Room != room.ID || m.Seq != 7 || m.ClientID != "page-6" || m.Body != "page message 6" ||
				m.Author.ID != alice.User.ID || m.Author.Name != "alice" || m.Author.AvatarURL != "" ||
				time.Since(m.CreatedAt) > time.Minute || time.Since(m.CreatedAt) < -time.Minute {
				t.Errorf("message 7: %+v, want the message of ack %s", m, acks[6])
			}
		}
		for _, q := range []string{"?after=abc", "?before=x", "?limit=many"} {
			srv.do(t, "GET", roomPath(room.ID, "/messages"+q), bob.auth(), nil).expectError(t, "messages"+q, 400, "invalid")
		}
		if r := getRoom(t, bob, room.ID); r.LastSeq != 60 {
			t.Errorf("last_seq %d, want 60", r.LastSeq)
		}
	})

	t.Run("errors", func(t *testing.T) {
		srv.do(t, "GET", "/api/v1/nope", alice.auth(), nil).expectError(t, "GET /api/v1/nope", 404, "not_found")
		huge := `{"name":"` + strings.Repeat("n", 70000) + `"}`
		srv.do(t, "POST", "/api/v1/guests", e2eAuth{}, huge).expectError(t, "POST /api/v1/guests with 70 KB", 413, "too_large")
		srv.do(t, "POST", "/api/v1/rooms", alice.auth(), huge).expectError(t, "POST /api/v1/rooms with 70 KB", 413, "too_large")
		srv.do(t, "POST", roomPath(general.ID, "/members"), alice.auth(), huge).expectError(t, "POST members with 70 KB", 413, "too_large")
	})

	t.Run("cross-site requests", func(t *testing.T) {
		cross := []e2eAuth{
			{Cookie: alice.Token, Origin: "http://evil.example", SecFetchSite: "cross-site"},
			{Cookie: alice.Token, Origin: "http://evil.example"},
			{Cookie: alice.Token, SecFetchSite: "cross-site"},
		}
		for _, auth := range cross {
			what := fmt.Sprintf("with Origin %q Sec-Fetch-Site %q", auth.Origin, auth.SecFetchSite)
			srv.do(t, "POST", "/api/v1/rooms", auth, map[string]any{"name": "csrf"}).expectError(t, "cross-site POST /api/v1/rooms "+what, 403, "forbidden")
			srv.do(t, "POST", roomPath(general.ID, "/members"), auth, map[string]string{"user_id": dave.User.ID}).
				expectError(t, "cross-site POST members "+what, 403, "forbidden")
			srv.do(t, "DELETE", "/api/v1/session", auth, nil).expectError(t, "cross-site DELETE /api/v1/session "+what, 403, "forbidden")
		}
		var v struct {
			Rooms []e2eRoom `json:"rooms"`
		}
		srv.do(t, "GET", "/api/v1/rooms", alice.auth(), nil).expectJSON(t, "GET /api/v1/rooms", 200, &v)
		for _, r := range v.Rooms {
			if r.Name == "csrf" {
				t.Errorf("a cross-site POST created room %+v", r)
			}
		}
		if r := getRoom(t, dave, general.ID); r.Member {
			t.Errorf("a cross-site POST added dave to general")
		}
		srv.do(t, "GET", "/api/v1/me", alice.auth(), nil).expectJSON(t, "alice's session after cross-site DELETEs", 200, nil)

		// The same requests from the server's own origin are fine.
		same := e2eAuth{Cookie: alice.Token, Origin: srv.base, SecFetchSite: "same-origin"}
		srv.do(t, "POST", "/api/v1/rooms", same, map[string]any{"name": "same-origin"}).expectJSON(t, "same-origin POST /api/v1/rooms", 201, nil)
		srv.do(t, "POST", roomPath(general.ID, "/members"), same, map[string]string{"user_id": dave.User.ID}).
			expectJSON(t, "same-origin POST members", 200, nil)
	})

	t.Run("sign out", func(t *testing.T) {
		// Bearer: the token stops working and its WebSocket closes with 4001;
		// another session's WebSocket is not touched.
		erin := srv.guest(t, "erin")
		frank := srv.guest(t, "frank")
		erinWS := srv.ws(t, erin)
		if err := erinWS.subscribe(general.ID); err != nil {
			t.Fatal(err)
		}
		erinWS.expect(t, "subscribed")
		frankWS := srv.ws(t, frank)
		if err := frankWS.subscribe(general.ID); err != nil {
			t.Fatal(err)
		}
		frankWS.expect(t, "subscribed")

		srv.do(t, "DELETE", "/api/v1/session", e2eAuth{}, nil).expectError(t, "DELETE /api/v1/session without a session", 401, "unauthorized")
		start := time.Now()
		if r := srv.do(t, "DELETE", "/api/v1/session", erin.auth(), nil); r.Status != 204 {
			t.Fatalf("DELETE /api/v1/session: status %d %s, want 204", r.Status, r.Body)
		}
		srv.do(t, "GET", "/api/v1/me", erin.auth(), nil).expectError(t, "GET /api/v1/me after signing out", 401, "unauthorized")
		srv.do(t, "DELETE", "/api/v1/session", erin.auth(), nil).expectError(t, "DELETE /api/v1/session twice", 401, "unauthorized")
		erinWS.expectClose(t, 4001)
		t.Logf("WebSocket closed with 4001 %v after DELETE /api/v1/session", time.Since(start).Round(time.Millisecond))
		if _, err := srv.dialWS(erin.Token); err == nil {
			t.Errorf("a revoked token opened a WebSocket")
		}
		// Frank is subscribed: his ack and his own message come in either order.
		if err := frankWS.send(general.ID, "frank-1", "still here"); err != nil {
			t.Fatal(err)
		}
		a, b := frankWS.next(t), frankWS.next(t)
		if a.Type == "message" {
			a, b = b, a
		}
		if a.Type != "ack" || b.Type != "message" || a.ClientID != "frank-1" || b.ClientID != "frank-1" || a.Seq != b.Seq {
			t.Errorf("frank got %s and %s, want the ack and the message of frank-1", a, b)
		}

		// Cookie: the same through a browser's session.
		gina := srv.guest(t, "gina")
		ginaWS, err := srv.dialWSCookie(gina.Token)
		if err != nil {
			t.Fatal(err)
		}
		defer ginaWS.c.Close()
		ginaWS.sendAck(t, general.ID, "gina-1", "hi from a browser")
		browser := e2eAuth{Cookie: gina.Token, Origin: srv.base, SecFetchSite: "same-origin"}
		if r := srv.do(t, "DELETE", "/api/v1/session", browser, nil); r.Status != 204 {
			t.Fatalf("DELETE /api/v1/session with the cookie: status %d %s, want 204", r.Status, r.Body)
		}
		ginaWS.expectClose(t, 4001)
		srv.do(t, "GET", "/api/v1/me", browser, nil).expectError(t, "GET /api/v1/me with a revoked cookie", 401, "unauthorized")
		srv.do(t, "GET", "/api/v1/me", gina.auth(), nil).expectError(t, "GET /api/v1/me with the revoked token as Bearer", 401, "unauthorized")
	})
}
