package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// TestE2EPathPrefixProxy runs the server at http://PROXY/chat/ behind
// httputil.ReverseProxy, as nginx or Apache would put it, in both common
// setups: the proxy passes /chat/... on as it is, or strips /chat. Through
// the proxy, a browser-like client gets the pages and the client, signs in
// by an e-mailed link that points at the prefix, uses the API with the
// cookie the prefix scopes, uploads an avatar and fetches it, and chats
// over a WebSocket.
func TestE2EPathPrefixProxy(t *testing.T) {
	for _, strip := range []bool{false, true} {
		name := "as-is"
		if strip {
			name = "stripped"
		}
		t.Run(name, func(t *testing.T) { testPathPrefixProxy(t, strip) })
	}
}

// e2eBehindProxy starts a server whose base URL is basePath on a proxy,
// httputil.ReverseProxy on a loopback port, which trusts the proxies in
// trusted, and the proxy in front of it until the test ends. The proxy
// passes the Host on, as nginx does with proxy_set_header Host $host;
// rewrite adds the rest.
func e2eBehindProxy(t *testing.T, basePath, trusted string, rewrite func(*httputil.ProxyRequest)) (srv *e2eServer, public string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public = "http://" + ln.Addr().String()
	backend := freeAddr(t)
	srv = e2eStartWith(t, t.TempDir(), e2eOptions{addr: backend},
		"-base-url", public+basePath, "-trusted-proxies", trusted)
	target := must(url.Parse("http://" + backend))
	proxy := httptest.NewUnstartedServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
			rewrite(r)
		},
		FlushInterval: -1,
	})
	proxy.Listener.Close()
	proxy.Listener = ln
	proxy.Start()
	t.Cleanup(proxy.Close)
	return srv, public
}

func testPathPrefixProxy(t *testing.T, strip bool) {
	srv, public := e2eBehindProxy(t, "/chat/", "127.0.0.1,::1", func(r *httputil.ProxyRequest) {
		r.SetXForwarded()
		if p := r.In.URL.Path; strip && strings.HasPrefix(p, "/chat/") {
			// nginx: location /chat/ { proxy_pass http://hanashi/; }
			r.Out.URL.Path = strings.TrimPrefix(p, "/chat")
			r.Out.URL.RawPath = ""
		}
	})

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Timeout: e2eTimeout, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := browser.Get(public + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	post := func(path, contentType string, body []byte) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", public+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Origin", public) // a browser on the public origin
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}

	// Pages and the client.
	if resp, _ := get("/chat"); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/chat/" {
		t.Errorf("GET /chat: %d Location %q, want 301 /chat/", resp.StatusCode, resp.Header.Get("Location"))
	}
	{
		resp, body := get("/chat/")
		script := regexp.MustCompile(`src="\./(assets/[^"]+\.js)"`).FindStringSubmatch(body)
		if resp.StatusCode != http.StatusOK || script == nil {
			t.Errorf("GET /chat/: %d, want the client with relative links\n%s", resp.StatusCode, body)
		} else if resp, body := get("/chat/" + script[1]); resp.StatusCode != http.StatusOK ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || body == "" {
			t.Errorf("GET /chat/%s: %d %q, %d bytes", script[1], resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	if resp, body := get("/chat/login"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="/chat/auth/email"`) || !strings.Contains(body, `href="/chat/auth/pages.css"`) {
		t.Errorf("GET /chat/login: %d, want links under /chat/\n%s", resp.StatusCode, body)
	}
	if resp, body := get("/chat/auth/pages.css"); resp.StatusCode != http.StatusOK || !strings.Contains(body, ".card") {
		t.Errorf("GET /chat/auth/pages.css: %d, want the sign-in pages' stylesheet", resp.StatusCode)
	}
	if resp, _ := get("/chat/readyz"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /chat/readyz: %d", resp.StatusCode)
	}
	if !strip {
		// This proxy passes every path on: what is outside the prefix is
		// not the chat's.
		if resp, _ := get("/elsewhere/"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /elsewhere/ (outside the prefix): %d, want 404", resp.StatusCode)
		}
	}

	// Sign in by e-mail: without SMTP the link goes to the log, built from
	// the base URL with its prefix, never from the request's Host.
	resp, body := post("/chat/auth/email", "application/x-www-form-urlencoded", []byte(url.Values{"email": {"carol@example.com"}, "next": {"/#room=1"}}.Encode()))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "on its way") {
		t.Fatalf("POST /chat/auth/email: %d\n%s", resp.StatusCode, body)
	}
	linkRE := regexp.MustCompile(regexp.QuoteMeta(public) + `/chat/auth/email/verify\?[^\s"]+`)
	var link string
	testutil.EventuallyNil(t, e2eTimeout, "a sign-in link to "+public+"/chat/ in the log", func() error {
		if link = linkRE.FindString(srv.out.String()); link == "" {
			return fmt.Errorf("none in:\n%s", srv.out.String())
		}
		return nil
	})
	resp, body = get(strings.TrimPrefix(link, public))
	action := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || action == nil || action[1] != "/chat/auth/email/redeem" {
		t.Fatalf("GET %s: %d, want a form posting to /chat/auth/email/redeem\n%s", link, resp.StatusCode, body)
	}
	token := must(url.Parse(link)).Query().Get("token")
	resp, _ = post(action[1], "application/x-www-form-urlencoded", []byte(url.Values{"token": {token}, "next": {"/#room=1"}}.Encode()))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/chat/#room=1" {
		t.Fatalf("redeeming the link: %d Location %q, want 303 /chat/#room=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "hanashi_session" {
			session = c
		}
	}
	if session == nil || session.Path != "/chat/" {
		t.Fatalf("session cookie %v, want hanashi_session with Path=/chat/", resp.Cookies())
	}

	// The API with that cookie, and an avatar served under the prefix.
	if resp, body := get("/chat/api/v1/me"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "carol") {
		t.Fatalf("GET /chat/api/v1/me with the cookie: %d %s", resp.StatusCode, body)
	}
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var pngBytes bytes.Buffer
	png.Encode(&pngBytes, img)
	resp, body = post("/chat/api/v1/me/avatar", "image/png", pngBytes.Bytes())
	avatar := regexp.MustCompile(`"avatar_url":"([^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || avatar == nil || !strings.HasPrefix(avatar[1], "/chat/api/v1/avatars/") {
		t.Fatalf("uploading an avatar: %d %s, want its URL under /chat/", resp.StatusCode, body)
	}
	if resp, _ := get(avatar[1]); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("GET %s: %d %s", avatar[1], resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, body = post("/chat/api/v1/rooms", "application/json", []byte(`{"name":"prefixed"}`))
	roomID := regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusCreated || roomID == nil {
		t.Fatalf("POST /chat/api/v1/rooms: %d %s", resp.StatusCode, body)
	}

	// The WebSocket, as the client opens it: relative to the page, with
	// the public origin and the cookie.
	h := http.Header{}
	h.Set("Origin", public)
	h.Set("Cookie", session.Name+"="+session.Value)
	ws, wsResp, err := (&websocket.Dialer{HandshakeTimeout: e2eTimeout}).Dial("ws"+strings.TrimPrefix(public, "http")+"/chat/api/v1/ws", h)
	if err != nil {
		if wsResp != nil {
			b, _ := io.ReadAll(wsResp.Body)
			t.Fatalf("WebSocket through the proxy: %v (%d %s)", err, wsResp.StatusCode, b)
		}
		t.Fatalf("WebSocket through the proxy: %v", err)
	}
	defer ws.Close()
	c := &e2eConn{c: ws}
	room := int64(0)
	for _, d := range roomID[1] {
		room = room*10 + int64(d-'0')
	}
	if err := c.subscribe(room); err != nil {
		t.Fatal(err)
	}
	if err := c.send(room, "via-proxy", "through /chat/"); err != nil {
		t.Fatal(err)
	}
	got := map[string]e2eFrame{}
	for got["message"].Type == "" || got["ack"].Type == "" {
		f := c.next(t)
		got[f.Type] = f
	}
	if m := got["message"]; m.Body != "through /chat/" || m.Author == nil || !strings.HasPrefix(m.Author.AvatarURL, "/chat/") {
		t.Errorf("message through the proxy: %s, want the body and an avatar under /chat/", m)
	}
}
