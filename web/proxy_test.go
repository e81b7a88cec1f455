package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi/auth"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/sqlite"
	"github.com/hanashi-chat/hanashi/ui"
)

func TestNewServerRefusesBadTrustedProxies(t *testing.T) {
	if _, err := NewServer(Config{BaseURL: "http://127.0.0.1", TrustedProxies: []string{"nonsense"}}); err == nil {
		t.Error("NewServer with a bad trusted proxy: no error")
	}
}

// proxyTestServer is a real server on SQLite behind base, served by
// httptest on loopback (so the peer of every request is 127.0.0.1).
func proxyTestServer(t *testing.T, base string, trusted ...string) *httptest.Server {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hanashi.db"))
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(hub.Config{Store: db, Broker: inmem.NewBroker(), Encoder: Encoder{}})
	srv, err := NewServer(Config{Store: db, Hub: h, BaseURL: base, TrustedProxies: trusted})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Shutdown(t.Context())
		h.Close(t.Context())
		db.Close()
	})
	return ts
}

// TestForwardedProtoMakesCookiesSecure checks what X-Forwarded-Proto
// changes: from a trusted proxy, the session cookie of a guest is the
// Secure __Host- one and the https origin is the server's own; from anybody
// else neither.
func TestForwardedProtoMakesCookiesSecure(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		var list []string
		if trusted {
			list = []string{"127.0.0.0/8", "::1"}
		}
		ts := proxyTestServer(t, "http://chat.test", list...)
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/guests", strings.NewReader(`{"name":"alice"}`))
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-For", "198.51.100.1")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("trusted %v: POST /api/v1/guests: %s", trusted, resp.Status)
		}
		cookies := resp.Cookies()
		if len(cookies) != 1 {
			t.Fatalf("trusted %v: cookies %v, want the session cookie", trusted, cookies)
		}
		c := cookies[0]
		if trusted && (c.Name != "__Host-hanashi_session" || !c.Secure || c.Path != "/") {
			t.Errorf("through a trusted proxy over https: cookie %s, want __Host-hanashi_session, Secure, Path=/", c)
		}
		if !trusted && (c.Name != "hanashi_session" || c.Secure) {
			t.Errorf("from an untrusted peer claiming https: cookie %s, want the plain hanashi_session", c)
		}

		// The WebSocket's Origin check: an https page on the request's
		// own host is same-origin only when the proxy is believed.
		got := wsUpgrade(t, ts, "https://"+strings.TrimPrefix(ts.URL, "http://"), c, map[string]string{"X-Forwarded-Proto": "https"})
		want := http.StatusForbidden
		if trusted {
			want = http.StatusSwitchingProtocols
		}
		if got != want {
			t.Errorf("trusted %v: WebSocket from the https origin: %d, want %d", trusted, got, want)
		}
	}
}

// wsUpgrade asks ts for a WebSocket from a page on origin with the
// session cookie and headers, and returns the status of the answer.
func wsUpgrade(t *testing.T, ts *httptest.Server, origin string, cookie *http.Cookie, headers map[string]string) int {
	t.Helper()
	ws, _ := http.NewRequest("GET", ts.URL+"/api/v1/ws", nil)
	ws.Header.Set("Origin", origin)
	for k, v := range headers {
		ws.Header.Set(k, v)
	}
	ws.AddCookie(cookie)
	for _, h := range [][2]string{{"Connection", "Upgrade"}, {"Upgrade", "websocket"}, {"Sec-WebSocket-Version", "13"}, {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}} {
		ws.Header.Set(h[0], h[1])
	}
	resp, err := ts.Client().Do(ws)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRateLimitByForwardedClient checks that sign-in links are counted per
// client behind a trusted proxy, not per proxy, whether the proxy says who
// the client is in X-Forwarded-For or in Forwarded (RFC 7239): one
// client's limit leaves another's alone.
func TestRateLimitByForwardedClient(t *testing.T) {
	for _, tt := range []struct {
		header string
		value  func(client string) string
	}{
		{"X-Forwarded-For", func(c string) string { return c }},
		{"Forwarded", func(c string) string { return `for="[` + c + `]:4711";proto=https` }},
	} {
		t.Run(tt.header, func(t *testing.T) {
			ts := proxyTestServer(t, "http://chat.test", "127.0.0.1", "::1")
			ask := func(client string, i int) int {
				form := url.Values{"email": {"user" + string(rune('a'+i)) + "@example.com"}}
				req, _ := http.NewRequest("POST", ts.URL+"/auth/email", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set(tt.header, tt.value(client))
				resp, err := ts.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			for i := range auth.LinksPerIP {
				if got := ask("2001:db8::1", i); got != http.StatusOK {
					t.Fatalf("link %d for client 1: %d, want 200", i+1, got)
				}
			}
			if got := ask("2001:db8::1", auth.LinksPerIP); got != http.StatusTooManyRequests {
				t.Errorf("link %d for client 1: %d, want 429", auth.LinksPerIP+1, got)
			}
			if got := ask("2001:db8::2", 0); got != http.StatusOK {
				t.Errorf("first link for client 2 behind the same proxy: %d, want 200", got)
			}
		})
	}
}

// TestForwardedHostAndProto checks Forwarded's proto= and host=, and
// X-Forwarded-Host with X-Forwarded-Proto: from a trusted proxy the
// session cookie is the Secure __Host- one, and a WebSocket from the page
// on the host the client asked for, over https, is same-origin (the base
// URL is another); from anybody else neither.
func TestForwardedHostAndProto(t *testing.T) {
	for _, tt := range []struct {
		name    string
		headers map[string]string
	}{
		{"Forwarded", map[string]string{"Forwarded": `for=198.51.100.1;proto=https;host="chat.public"`}},
		{"X-Forwarded-Host", map[string]string{"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.public"}},
	} {
		for _, trusted := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/trusted=%v", tt.name, trusted), func(t *testing.T) {
				var list []string
				if trusted {
					list = []string{"127.0.0.0/8", "::1"}
				}
				ts := proxyTestServer(t, "http://chat.test", list...)
				req, _ := http.NewRequest("POST", ts.URL+"/api/v1/guests", strings.NewReader(`{"name":"alice"}`))
				for k, v := range tt.headers {
					req.Header.Set(k, v)
				}
				resp, err := ts.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				cookies := resp.Cookies()
				if resp.StatusCode != http.StatusCreated || len(cookies) != 1 {
					t.Fatalf("POST /api/v1/guests: %s, cookies %v", resp.Status, cookies)
				}
				c := cookies[0]
				if secure := c.Name == "__Host-hanashi_session" && c.Secure; secure != trusted {
					t.Errorf("cookie %s: Secure __Host- is %v, want %v", c, secure, trusted)
				}

				got := wsUpgrade(t, ts, "https://chat.public", c, tt.headers)
				want := http.StatusForbidden
				if trusted {
					want = http.StatusSwitchingProtocols
				}
				if got != want {
					t.Errorf("WebSocket from https://chat.public: %d, want %d", got, want)
				}
			})
		}
	}
}

// TestPathPrefix checks the server under https://…/chat/ whether the proxy
// forwards /chat/… as it is or strips the prefix: both reach the same
// handlers, /chat is redirected to /chat/, and cookies over plain HTTP
// keep to the prefix.
func TestPathPrefix(t *testing.T) {
	ts := proxyTestServer(t, "http://chat.test/chat/")
	files, err := loadStatic(ui.Files())
	if err != nil {
		t.Fatal(err)
	}
	var script string // a file of the client under assets/
	for p := range files {
		if strings.HasPrefix(p, "/assets/") {
			script = p[1:]
		}
	}
	if script == "" {
		t.Fatal("the client has no assets")
	}
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(path string) *http.Response {
		resp, err := c.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tt := range []struct {
		path     string
		status   int
		location string
	}{
		{"/chat", http.StatusMovedPermanently, "/chat/"},
		{"/chat?x=1", http.StatusMovedPermanently, "/chat/?x=1"},
		{"/chat/", http.StatusOK, ""},
		{"/", http.StatusOK, ""},
		{"/chat/" + script, http.StatusOK, ""},
		{"/" + script, http.StatusOK, ""},
		{"/chat/healthz", http.StatusOK, ""},
		{"/healthz", http.StatusOK, ""},
		{"/chat/login", http.StatusOK, ""},
		{"/chat/api/v1/me", http.StatusUnauthorized, ""},
		{"/api/v1/me", http.StatusUnauthorized, ""},
		{"/chat/nothing-here", http.StatusNotFound, ""},
		{"/elsewhere/", http.StatusNotFound, ""},
		{"/chatter/" + script, http.StatusNotFound, ""},
	} {
		resp := get(tt.path)
		if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
			t.Errorf("GET %s: %d Location %q, want %d %q", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
		}
	}

	resp, err := c.Post(ts.URL+"/chat/api/v1/guests", "application/json", strings.NewReader(`{"name":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || len(resp.Cookies()) != 1 || resp.Cookies()[0].Path != "/chat/" {
		t.Errorf("POST /chat/api/v1/guests: %s, cookies %v; want 201 and a cookie with Path=/chat/", resp.Status, resp.Cookies())
	}
}
