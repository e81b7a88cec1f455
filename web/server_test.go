package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/sqlite"
	"github.com/hanashi-chat/hanashi/web"
)

// testServer is a web.Server on a real SQLite store, served on loopback.
type testServer struct {
	*httptest.Server
}

func newTestServer(t *testing.T, mutate func(*web.Config)) *testServer {
	t.Helper()
	return startTestServer(t, false, mutate)
}

// startTestServer is newTestServer, over TLS if tls is set.
func startTestServer(t *testing.T, tls bool, mutate func(*web.Config)) *testServer {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hanashi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	broker := inmem.NewBroker()
	h := hub.New(hub.Config{Store: db, Broker: broker, Encoder: web.Encoder{}})
	ts := httptest.NewUnstartedServer(nil)
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	cfg := web.Config{Store: db, Hub: h, BaseURL: scheme + ts.Listener.Addr().String()}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := web.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	if tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(func() {
		ts.Close()
		srv.Shutdown(context.Background())
		h.Close(context.Background())
	})
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

// TestSignInIsCSRFProtected checks that a cross-site form cannot ask for a
// sign-in link or spend one.
func TestSignInIsCSRFProtected(t *testing.T) {
	srv := newTestServer(t, nil)
	for _, path := range []string{"/auth/email", "/auth/email/redeem"} {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader("email=a%40example.com&token=0123456789abcdef0123"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.test")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", path, resp.StatusCode)
		}
	}
}
