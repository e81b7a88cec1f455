package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestE2ELeavePrivateRoomEndsStream: leaving a private room ends the live
// stream of every socket of that user, so nothing posted afterwards reaches
// someone who can no longer read the room.
func TestE2ELeavePrivateRoomEndsStream(t *testing.T) {
	srv := e2eStart(t, t.TempDir())
	roomPath := func(id int64, rest string) string { return fmt.Sprintf("/api/v1/rooms/%d%s", id, rest) }
	alice := srv.guest(t, "alice")
	bob := srv.guest(t, "bob")
	secret := srv.room(t, alice, "secret", true)
	srv.do(t, "POST", roomPath(secret.ID, "/members"), alice.auth(), map[string]string{"user_id": bob.User.ID}).
		expectJSON(t, "alice adds bob", http.StatusOK, nil)

	bobWS := srv.ws(t, bob)
	if err := bobWS.subscribe(secret.ID); err != nil {
		t.Fatal(err)
	}
	bobWS.expect(t, "subscribed")
	aliceWS := srv.ws(t, alice)
	aliceWS.sendAck(t, secret.ID, "before", "bob may read this")
	if f := bobWS.expect(t, "message"); f.Body != "bob may read this" {
		t.Fatalf("bob got %q", f.Body)
	}

	r := srv.do(t, "DELETE", roomPath(secret.ID, "/members/me"), bob.auth(), nil)
	if r.Status != http.StatusNoContent {
		t.Fatalf("bob leaves: status %d, body %s", r.Status, r.Body)
	}
	if f := bobWS.expect(t, "unsubscribed"); f.Room != secret.ID {
		t.Fatalf("unsubscribed names room %d, want %d", f.Room, secret.ID)
	}
	aliceWS.sendAck(t, secret.ID, "after", "not for bob")
	if f, err := bobWS.read(500 * time.Millisecond); err == nil {
		t.Fatalf("after leaving, bob still got %+v", f)
	}
}

// TestE2EMethodNotAllowed: a known API path with the wrong method is a JSON
// 405 with Allow, not a 404.
func TestE2EMethodNotAllowed(t *testing.T) {
	srv := e2eStart(t, t.TempDir())
	alice := srv.guest(t, "alice")
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/api/v1/rooms", "GET, POST"},
		{"PATCH", "/api/v1/rooms/1/members/me", "DELETE"},
		{"GET", "/api/v1/guests", "POST"},
	} {
		r := srv.do(t, tc.method, tc.path, alice.auth(), nil)
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: status %d, Allow %q; want 405 with Allow %q", tc.method, tc.path, r.Status, r.Header.Get("Allow"), tc.allow)
		}
	}
	srv.do(t, "GET", "/api/v1/nope", alice.auth(), nil).expectError(t, "unknown path", http.StatusNotFound, "not_found")
}
