package auth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/auth"
	"github.com/hanashi-chat/hanashi/sqlite"
)

// TestSessionCookieAttributes checks the session cookie over plain HTTP and
// over TLS, where it must be Secure and carry the __Host- prefix, and that
// each works for the requests that follow.
func TestSessionCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		tls  bool
		name string
	}{{false, "hanashi_session"}, {true, "__Host-hanashi_session"}} {
		srv := startTestServer(t, tc.tls, nil)
		c := srv.Client()
		c.Jar = browser(t).Jar
		resp, err := c.Post(srv.URL+"/api/v1/guests", "application/json", strings.NewReader(`{"name":"gus"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ck := sessionCookie(resp)
		switch {
		case ck == nil:
			t.Fatalf("tls=%v: no session cookie", tc.tls)
		case ck.Name != tc.name || ck.Secure != tc.tls || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "":
			t.Errorf("tls=%v: cookie %s Secure=%v HttpOnly=%v SameSite=%v Path=%q Domain=%q; want %s, Secure only over TLS, HttpOnly, Lax, /, no domain",
				tc.tls, ck.Name, ck.Secure, ck.HttpOnly, ck.SameSite, ck.Path, ck.Domain, tc.name)
		}
		me, err := c.Get(srv.URL + "/api/v1/me")
		if err != nil {
			t.Fatal(err)
		}
		me.Body.Close()
		if me.StatusCode != http.StatusOK {
			t.Errorf("tls=%v: /api/v1/me with the cookie: %d", tc.tls, me.StatusCode)
		}
	}
}

// TestNoGuests checks that a server without guests refuses guest sessions.
func TestNoGuests(t *testing.T) {
	srv := newTestServer(t, func(c *auth.Config) { c.NoGuests = true })
	resp, err := http.Post(srv.URL+"/api/v1/guests", "application/json", strings.NewReader(`{"name":"gus"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || sessionCookie(resp) != nil {
		t.Errorf("guest on a server without guests: %d", resp.StatusCode)
	}
}

// TestSessionEnded checks the hook web closes WebSockets with: a session
// ended on this node is reported at once, and one ended on another node
// (another Auth on the same store) within the revocation poll.
func TestSessionEnded(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hanashi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	base, _ := url.Parse("http://chat.test")
	node := func() (*auth.Auth, chan []byte) {
		ended := make(chan []byte, 16)
		a, err := auth.New(auth.Config{Store: db, BaseURL: base, SessionEnded: func(h []byte) { ended <- h }})
		if err != nil {
			t.Fatal(err)
		}
		return a, ended
	}
	here, endedHere := node()
	there, endedThere := node()
	ctx, cancel := context.WithCancel(t.Context())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		there.WatchRevocations(ctx)
	}()
	t.Cleanup(func() { cancel(); <-watched })

	// signOut makes a guest session on here, ends it, and returns the hash
	// of its token.
	signOut := func() []byte {
		t.Helper()
		return guestSignOut(t, here)
	}

	hash := signOut()
	select {
	case h := <-endedHere:
		if !bytes.Equal(h, hash) {
			t.Fatalf("this node reported session %x ended, want %x", h, hash)
		}
	default:
		t.Fatal("a sign-out did not report its session ended on its own node")
	}
	// The watcher starts from now: a sign-out before its first poll is not
	// its to report, so sign out again until one is.
	ended := map[string]bool{string(hash): true}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case h := <-endedThere:
			if !ended[string(h)] {
				t.Fatalf("the other node reported session %x ended, which is not one that ended", h)
			}
			return
		case <-time.After(time.Second):
			ended[string(signOut())] = true
			<-endedHere
		case <-deadline:
			t.Fatal("the other node never reported an ended session")
		}
	}
}

// TestPrimeRevocations checks that a watcher primed before a sign-out
// reports it, however late its first poll comes: a node's sockets
// accepted before that poll are not left open.
func TestPrimeRevocations(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hanashi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	base, _ := url.Parse("http://chat.test")
	here, err := auth.New(auth.Config{Store: db, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan []byte, 16)
	there, err := auth.New(auth.Config{Store: db, BaseURL: base, SessionEnded: func(h []byte) { ended <- h }})
	if err != nil {
		t.Fatal(err)
	}
	if err := there.PrimeRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}

	// A guest signs out before the watcher has polled at all.
	want := guestSignOut(t, here)

	ctx, cancel := context.WithCancel(t.Context())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		there.WatchRevocations(ctx)
	}()
	t.Cleanup(func() { cancel(); <-watched })
	select {
	case h := <-ended:
		if !bytes.Equal(h, want) {
			t.Fatalf("reported session %x ended, want %x", h, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a sign-out between priming and the first poll was never reported")
	}
}

// guestSignOut makes a guest session on a, signs it out, and returns the
// hash of its token.
func guestSignOut(t *testing.T, a *auth.Auth) []byte {
	t.Helper()
	w := httptest.NewRecorder()
	a.CreateGuest().ServeHTTP(w, httptest.NewRequest("POST", "/api/v1/guests", strings.NewReader(`{"name":"gus"}`)))
	var guest struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &guest); err != nil || w.Code != http.StatusCreated {
		t.Fatalf("POST /api/v1/guests: %d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest("DELETE", "/api/v1/session", nil)
	r.Header.Set("Authorization", "Bearer "+guest.Token)
	w = httptest.NewRecorder()
	a.RequireSession(a.Logout()).ServeHTTP(w, r)
	if w.Code != http.StatusNoContent {
		t.Fatalf("DELETE /api/v1/session: %d %s", w.Code, w.Body)
	}
	sum := sha256.Sum256([]byte(guest.Token))
	return sum[:]
}
