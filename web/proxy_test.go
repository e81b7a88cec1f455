package web

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/sqlite"
)

func TestProxyTrustClient(t *testing.T) {
	trust, err := parseTrustedProxies([]string{"10.0.0.0/8", " 192.0.2.7 ", "", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		peer      string
		tls       bool
		xff       []string // X-Forwarded-For header lines
		proto     []string // X-Forwarded-Proto header lines
		wantAddr  string
		wantHTTPS bool
	}{
		{name: "direct client", peer: "203.0.113.5:4711", wantAddr: "203.0.113.5"},
		{name: "direct over TLS", peer: "203.0.113.5:4711", tls: true, wantAddr: "203.0.113.5", wantHTTPS: true},
		{name: "untrusted peer's headers are ignored", peer: "203.0.113.5:4711",
			xff: []string{"198.51.100.1"}, proto: []string{"https"}, wantAddr: "203.0.113.5"},
		{name: "untrusted peer cannot downgrade TLS", peer: "203.0.113.5:4711", tls: true,
			proto: []string{"http"}, wantAddr: "203.0.113.5", wantHTTPS: true},
		{name: "trusted proxy", peer: "10.1.2.3:80",
			xff: []string{"198.51.100.1"}, proto: []string{"https"}, wantAddr: "198.51.100.1", wantHTTPS: true},
		{name: "trusted proxy by exact address", peer: "192.0.2.7:80",
			xff: []string{"198.51.100.1"}, proto: []string{"HTTPS"}, wantAddr: "198.51.100.1", wantHTTPS: true},
		{name: "trusted proxy says http", peer: "10.1.2.3:80", tls: true,
			proto: []string{"http"}, wantAddr: "10.1.2.3", wantHTTPS: false},
		{name: "unknown proto is ignored", peer: "10.1.2.3:80",
			proto: []string{"gopher"}, wantAddr: "10.1.2.3"},
		{name: "last proto counts", peer: "10.1.2.3:80",
			proto: []string{"http, https"}, wantAddr: "10.1.2.3", wantHTTPS: true},
		{name: "spoofed entries left of the client", peer: "10.1.2.3:80",
			xff: []string{"1.1.1.1, 198.51.100.1"}, wantAddr: "198.51.100.1"},
		{name: "chain of trusted proxies", peer: "10.1.2.3:80",
			xff: []string{"6.6.6.6, 198.51.100.1, 10.9.9.9", "192.0.2.7"}, wantAddr: "198.51.100.1"},
		{name: "every hop trusted", peer: "10.1.2.3:80",
			xff: []string{"10.4.4.4, 10.5.5.5"}, wantAddr: "10.4.4.4"},
		{name: "entries with ports", peer: "10.1.2.3:80",
			xff: []string{"[2001:db8::1]:5555, 198.51.100.1:443"}, wantAddr: "198.51.100.1"},
		{name: "IPv6 client", peer: "[fd00::1]:80",
			xff: []string{"2001:db8::1"}, wantAddr: "2001:db8::1"},
		{name: "IPv4-mapped peer matches an IPv4 entry", peer: "[::ffff:10.1.2.3]:80",
			xff: []string{"::ffff:198.51.100.1"}, wantAddr: "198.51.100.1"},
		{name: "garbage stops the walk at the last trusted hop", peer: "10.1.2.3:80",
			xff: []string{"1.1.1.1, <script>, 10.9.9.9"}, wantAddr: "10.9.9.9"},
		{name: "empty header", peer: "10.1.2.3:80", xff: []string{""}, wantAddr: "10.1.2.3"},
		{name: "unparsable peer", peer: "pipe", xff: []string{"198.51.100.1"}, wantAddr: "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tt.proto {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			addr, https := trust.client(r)
			if addr != tt.wantAddr || https != tt.wantHTTPS {
				t.Errorf("client() = %q, https %v; want %q, https %v", addr, https, tt.wantAddr, tt.wantHTTPS)
			}
		})
	}

	// Nobody trusted: the headers never count.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:80"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	r.Header.Set("X-Forwarded-Proto", "https")
	if addr, https := (proxyTrust{}).client(r); addr != "10.1.2.3" || https {
		t.Errorf("with no trusted proxies: client() = %q, https %v; want the peer over http", addr, https)
	}
}

func TestParseTrustedProxiesRefusesGarbage(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/x", "fe80::1%eth0", "10.0.0", "/8"} {
		if _, err := parseTrustedProxies([]string{"127.0.0.1", bad}); err == nil || !strings.Contains(err.Error(), "trusted proxy") {
			t.Errorf("parseTrustedProxies(%q): err %v, want a clear error", bad, err)
		}
	}
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
		ws, _ := http.NewRequest("GET", ts.URL+"/api/v1/ws", nil)
		ws.Header.Set("Origin", "https://"+strings.TrimPrefix(ts.URL, "http://"))
		ws.Header.Set("X-Forwarded-Proto", "https")
		ws.AddCookie(c)
		for _, h := range [][2]string{{"Connection", "Upgrade"}, {"Upgrade", "websocket"}, {"Sec-WebSocket-Version", "13"}, {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}} {
			ws.Header.Set(h[0], h[1])
		}
		resp, err = ts.Client().Do(ws)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusForbidden
		if trusted {
			want = http.StatusSwitchingProtocols
		}
		if resp.StatusCode != want {
			t.Errorf("trusted %v: WebSocket from the https origin: %s, want %d", trusted, resp.Status, want)
		}
	}
}

// TestRateLimitByForwardedClient checks that sign-in links are counted per
// client behind a trusted proxy, not per proxy: one client's limit leaves
// another's alone.
func TestRateLimitByForwardedClient(t *testing.T) {
	ts := proxyTestServer(t, "http://chat.test", "127.0.0.1", "::1")
	ask := func(client string, i int) int {
		form := url.Values{"email": {"user" + string(rune('a'+i)) + "@example.com"}}
		req, _ := http.NewRequest("POST", ts.URL+"/auth/email", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", client)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range linksPerIP {
		if got := ask("198.51.100.1", i); got != http.StatusOK {
			t.Fatalf("link %d for client 1: %d, want 200", i+1, got)
		}
	}
	if got := ask("198.51.100.1", linksPerIP); got != http.StatusTooManyRequests {
		t.Errorf("link %d for client 1: %d, want 429", linksPerIP+1, got)
	}
	if got := ask("198.51.100.2", 0); got != http.StatusOK {
		t.Errorf("first link for client 2 behind the same proxy: %d, want 200", got)
	}
}

// TestPathPrefix checks the server under https://…/chat/ whether the proxy
// forwards /chat/… as it is or strips the prefix: both reach the same
// handlers, /chat is redirected to /chat/, and cookies over plain HTTP
// keep to the prefix.
func TestPathPrefix(t *testing.T) {
	ts := proxyTestServer(t, "http://chat.test/chat/")
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
		{"/chat/app.js", http.StatusOK, ""},
		{"/app.js", http.StatusOK, ""},
		{"/chat/healthz", http.StatusOK, ""},
		{"/healthz", http.StatusOK, ""},
		{"/chat/login", http.StatusOK, ""},
		{"/chat/api/v1/me", http.StatusUnauthorized, ""},
		{"/api/v1/me", http.StatusUnauthorized, ""},
		{"/chat/nothing-here", http.StatusNotFound, ""},
		{"/elsewhere/", http.StatusNotFound, ""},
		{"/chatter/app.js", http.StatusNotFound, ""},
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
