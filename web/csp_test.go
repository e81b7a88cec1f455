package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi/web"
)

// TestContentSecurityPolicy checks that every kind of response the server
// gives carries the strict Content-Security-Policy: the web client, its
// static files, the sign-in pages, error pages and API errors, and the
// refusals made before any handler runs (cross-origin requests). The CSP is
// what makes an injected <script> or onerror= inert even if the client
// ever rendered user text as HTML; a response without it is a page an
// attacker could frame or script.
func TestContentSecurityPolicy(t *testing.T) {
	ts := newTestServer(t, nil)
	script, _ := clientScript(t)
	// The same server under a path prefix, as behind a reverse proxy.
	prefixed := newTestServer(t, func(c *web.Config) { c.BaseURL += "/chat/" })

	type request struct {
		server *testServer
		method string
		path   string
		body   string
		header map[string]string
		status int // what the answer must be, so the test knows what it checked
	}
	requests := []request{
		{ts, "GET", "/", "", nil, 200},
		{ts, "HEAD", "/", "", nil, 200},
		{ts, "GET", "/" + script, "", nil, 200},
		{ts, "GET", "/" + script, "", map[string]string{"Accept-Encoding": "br"}, 200},
		{ts, "GET", "/index.html", "", nil, http.StatusMovedPermanently},
		{ts, "GET", "/no-such-file.js", "", nil, 404},
		{ts, "GET", "/assets/no-such-file.js", "", nil, 404},
		{ts, "POST", "/", "", nil, 405},
		{ts, "GET", "/login", "", nil, 200},
		{ts, "GET", "/login?next=https://evil.example/", "", nil, 200},
		{ts, "GET", "/auth/pages.css", "", nil, 200},
		{ts, "GET", "/auth/email/verify?token=not-a-token", "", nil, 400},
		{ts, "POST", "/auth/email/redeem", "token=not-a-token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400},
		{ts, "POST", "/auth/email", "email=not-an-address", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400},
		{ts, "GET", "/auth/nobody/login", "", nil, 404},
		{ts, "GET", "/auth/nobody/callback?state=x&code=y", "", nil, 404},
		{ts, "GET", "/healthz", "", nil, 200},
		{ts, "GET", "/readyz", "", nil, 200},
		{ts, "GET", "/api/v1/me", "", nil, 401},
		{ts, "GET", "/api/v1/no-such-endpoint", "", nil, 404},
		{ts, "PUT", "/api/v1/guests", "", nil, 405},
		{ts, "POST", "/api/v1/guests", "{not json", map[string]string{"Content-Type": "application/json"}, 400},
		{ts, "GET", "/api/v1/ws", "", nil, 401},
		{ts, "GET", "/api/v1/avatars/no-such-avatar.png", "", nil, 404},
		// Refused before the routes: a cross-site state change (CSRF).
		{ts, "POST", "/api/v1/guests", `{"name":"mallory"}`, map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{prefixed, "GET", "/chat/", "", nil, 200},
		{prefixed, "GET", "/chat", "", nil, http.StatusMovedPermanently},
		{prefixed, "GET", "/chat/" + script, "", nil, 200},
		{prefixed, "GET", "/chat/login", "", nil, 200},
		{prefixed, "GET", "/chat/api/v1/me", "", nil, 401},
	}
	client := browser(t)
	for _, rq := range requests {
		name := rq.method + " " + rq.path
		req, err := http.NewRequest(rq.method, rq.server.URL+rq.path, strings.NewReader(rq.body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range rq.header {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != rq.status {
			t.Errorf("%s: status %d, want %d (the test means to check that answer)", name, res.StatusCode, rq.status)
		}
		if err := checkCSP(res.Header.Values("Content-Security-Policy")); err != "" {
			t.Errorf("%s (%d): %s", name, res.StatusCode, err)
		}
	}
}

// checkCSP returns what is wrong with a response's policies, or "".
func checkCSP(policies []string) string {
	if len(policies) != 1 {
		return "want exactly one Content-Security-Policy header, got " + strings.Join(policies, " | ")
	}
	directives := map[string][]string{}
	for d := range strings.SplitSeq(policies[0], ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			directives[strings.ToLower(f[0])] = f[1:]
		}
	}
	want := map[string]string{
		"default-src":     "'self'",
		"object-src":      "'none'",
		"base-uri":        "'none'",
		"frame-ancestors": "'none'",
	}
	for d, v := range want {
		if got := strings.Join(directives[d], " "); got != v {
			return "policy " + policies[0] + ": " + d + " is " + got + ", want " + v
		}
	}
	// Nothing may loosen scripts or styles: no inline code, no eval, no
	// other origins.
	for _, d := range []string{"script-src", "script-src-elem", "script-src-attr", "style-src", "style-src-attr", "connect-src"} {
		for _, v := range directives[d] {
			if v != "'self'" && v != "'none'" {
				return "policy " + policies[0] + ": " + d + " allows " + v
			}
		}
	}
	for d, vs := range directives {
		for _, v := range vs {
			if lv := strings.ToLower(v); lv == "'unsafe-inline'" || lv == "'unsafe-eval'" || lv == "*" {
				return "policy " + policies[0] + ": " + d + " allows " + v
			}
		}
	}
	return ""
}
