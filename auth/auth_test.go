package auth_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/auth"
	"github.com/hanashi-chat/hanashi/sqlite"
)

// testServer serves auth's routes, mounted as web/routes.go mounts them,
// on a real SQLite store on loopback.
type testServer struct {
	*httptest.Server
}

func newTestServer(t *testing.T, mutate func(*auth.Config)) *testServer {
	t.Helper()
	return startTestServer(t, false, mutate)
}

// startTestServer is newTestServer, over TLS if tls is set.
func startTestServer(t *testing.T, tls bool, mutate func(*auth.Config)) *testServer {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hanashi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ts := httptest.NewUnstartedServer(nil)
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	base, err := url.Parse(scheme + ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.Config{Store: db, BaseURL: base}
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /login", a.LoginPage())
	mux.Handle("GET /auth/{provider}/login", a.OAuthLogin())
	mux.Handle("GET /auth/{provider}/callback", a.OAuthCallback())
	mux.Handle("POST /auth/email", a.EmailLink())
	mux.Handle("GET /auth/email/verify", a.EmailVerify())
	mux.Handle("POST /auth/email/redeem", a.EmailRedeem())
	mux.Handle("POST /api/v1/guests", a.CreateGuest())
	mux.Handle("GET /api/v1/me", a.RequireSession(a.Me()))
	mux.Handle("DELETE /api/v1/session", a.RequireSession(a.Logout()))
	mux.Handle("DELETE /api/v1/sessions", a.RequireSession(a.LogoutAll()))
	mux.Handle("PUT /api/v1/users/{id}/disabled", a.RequireSession(a.DisableUser()))
	ts.Config.Handler = mux
	if tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return &testServer{ts}
}

// browser is an HTTP client with cookies that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// sessionCookie returns the session cookie a response set, if any.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "hanashi_session") && c.MaxAge >= 0 && c.Value != "" {
			return c
		}
	}
	return nil
}
