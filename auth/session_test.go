package auth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi/auth"
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
