package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hanashi-chat/hanashi/web"
)

// Pages asked for under another loopback name of the server go to the base
// URL; nothing else does, and nothing is learnt from Host.
func TestCanonicalRedirect(t *testing.T) {
	serve := func(base string) http.Handler {
		ts := newTestServer(t, func(c *web.Config) { c.BaseURL = base })
		return ts.Config.Handler
	}
	local := serve("http://localhost:8080")
	ip := serve("http://127.0.0.1:8080")
	prefixed := serve("http://localhost:8080/chat/")
	public := serve("https://chat.example.com")
	port80 := serve("http://localhost")
	for _, tt := range []struct {
		name         string
		h            http.Handler
		method, host string
		target       string
		location     string // "" for no redirect
	}{
		{"127.0.0.1 to localhost", local, "GET", "127.0.0.1:8080", "/", "http://localhost:8080/"},
		{"path and query kept", local, "GET", "127.0.0.1:8080", "/login?next=%2F%23room-1", "http://localhost:8080/login?next=%2F%23room-1"},
		{"IPv6 loopback", local, "GET", "[::1]:8080", "/app.js", "http://localhost:8080/app.js"},
		{"HEAD", local, "HEAD", "127.0.0.2:8080", "/", "http://localhost:8080/"},
		{"the start of a sign-in", local, "GET", "127.0.0.1:8080", "/auth/dex/login?next=%2F", "http://localhost:8080/auth/dex/login?next=%2F"},
		{"a sign-in link", local, "GET", "127.0.0.1:8080", "/auth/email/verify?token=x", "http://localhost:8080/auth/email/verify?token=x"},
		{"localhost to the base's address", ip, "GET", "localhost:8080", "/", "http://127.0.0.1:8080/"},
		{"the base path put back", prefixed, "GET", "127.0.0.1:8080", "/chat/login", "http://localhost:8080/chat/login"},
		{"a stripped path gets the base path", prefixed, "GET", "127.0.0.1:8080", "/login", "http://localhost:8080/chat/login"},
		{"no port is port 80", port80, "GET", "127.0.0.1", "/", "http://localhost/"},
		{"a path that looks like a host", local, "GET", "127.0.0.1:8080", "//evil.example/x", "http://localhost:8080//evil.example/x"},

		{"the base's own name", local, "GET", "localhost:8080", "/", ""},
		{"the base's own name in capitals", local, "GET", "LOCALHOST:8080", "/", ""},
		{"another port", local, "GET", "127.0.0.1:9090", "/", ""},
		{"no port is port 80, not the base's", local, "GET", "127.0.0.1", "/", ""},
		{"port 80 is no port", port80, "GET", "localhost:80", "/", ""},
		{"not a loopback name", local, "GET", "evil.example:8080", "/", ""},
		{"a LAN address", local, "GET", "192.168.1.2:8080", "/", ""},
		{"POST", local, "POST", "127.0.0.1:8080", "/auth/email", ""},
		{"the API", local, "GET", "127.0.0.1:8080", "/api/v1/me", ""},
		{"the WebSocket", local, "GET", "127.0.0.1:8080", "/api/v1/ws", ""},
		{"an OAuth callback", local, "GET", "127.0.0.1:8080", "/auth/dex/callback?code=x&state=y", ""},
		{"liveness", local, "GET", "127.0.0.1:8080", "/healthz", ""},
		{"readiness", local, "GET", "127.0.0.1:8080", "/readyz", ""},
		{"metrics", local, "GET", "127.0.0.1:8080", "/metrics", ""},
		{"a base URL not on loopback", public, "GET", "127.0.0.1:443", "/", ""},
		{"a base URL not on loopback, by name", public, "GET", "localhost", "/", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, r)
			loc := w.Header().Get("Location")
			if tt.location == "" {
				if w.Code == http.StatusFound {
					t.Errorf("%s http://%s%s: %d to %q, want no redirect", tt.method, tt.host, tt.target, w.Code, loc)
				}
				return
			}
			if w.Code != http.StatusFound || loc != tt.location {
				t.Errorf("%s http://%s%s: %d to %q, want 302 to %q", tt.method, tt.host, tt.target, w.Code, loc, tt.location)
			}
		})
	}
}
