package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testpeer"
)

// e2eBrowser is an HTTP client with a cookie jar that does not follow
// redirects, so a test sees every step of a sign-in.
type e2eBrowser struct {
	*http.Client
	base *url.URL
}

func newBrowser(t *testing.T, s *e2eServer) *e2eBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(s.base)
	return &e2eBrowser{
		Client: &http.Client{
			Jar:           jar,
			Timeout:       e2eTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		base: u,
	}
}

// do sends a request and returns the response with its body read.
func (b *e2eBrowser) do(t *testing.T, method, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.base.String() + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

// session returns the session token in the jar, if any.
func (b *e2eBrowser) session() string {
	for _, c := range b.Jar.Cookies(b.base) {
		if c.Name == "hanashi_session" {
			return c.Value
		}
	}
	return ""
}

// me returns the signed-in user, or nil with the status.
func (b *e2eBrowser) me(t *testing.T) (*e2eUser, int) {
	t.Helper()
	resp, body := b.do(t, "GET", "/api/v1/me", nil)
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	var v struct {
		User e2eUser `json:"user"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	return &v.User, resp.StatusCode
}

// TestE2ESignInDex signs in through a real OpenID provider: authorization
// code with PKCE, then the guest this browser was hands over its messages,
// the session id changes, and signing out ends the session.
func TestE2ESignInDex(t *testing.T) {
	addr := freeAddr(t)
	dex := testpeer.StartDex(t, canonicalBase(t, addr)+"/auth/dex/callback")
	srv := e2eStartWith(t, t.TempDir(), e2eOptions{addr: addr, env: []string{
		"HANASHI_OIDC=dex",
		"HANASHI_OIDC_DEX_ISSUER=" + dex.Issuer,
		"HANASHI_OIDC_DEX_CLIENT_ID=" + dex.ClientID,
		"HANASHI_OIDC_DEX_CLIENT_SECRET=" + dex.ClientSecret,
		"HANASHI_OIDC_DEX_TITLE=Dex",
	}})
	b := newBrowser(t, srv)

	// First a guest in this browser, who posts.
	req, _ := http.NewRequest("POST", srv.base+"/api/v1/guests", strings.NewReader(`{"name":"guest gina"}`))
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var guest e2eGuest
	json.NewDecoder(resp.Body).Decode(&guest)
	resp.Body.Close()
	guestToken := b.session()
	if guestToken == "" || guestToken != guest.Token {
		t.Fatalf("guest session cookie %q, token %q", guestToken, guest.Token)
	}
	room := srv.room(t, guest, "claimed", false)
	acks := e2eStartAcks(srv.ws(t, guest), room.ID, 4).sendN(t, "as-guest", 3)

	// The login page offers Dex.
	if resp, body := b.do(t, "GET", "/login", nil); resp.StatusCode != 200 || !strings.Contains(body, `href="/auth/dex/login?next=%2f"`) {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, body)
	}

	resp, _ = b.do(t, "GET", "/auth/dex/login?next="+url.QueryEscape("/#room-1"), nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("starting the sign-in: %d", resp.StatusCode)
	}
	authURL := resp.Header.Get("Location")
	q := must(url.Parse(authURL)).Query()
	if !strings.HasPrefix(authURL, dex.Issuer) || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		q.Get("state") == "" || q.Get("nonce") == "" || q.Get("redirect_uri") != canonicalBase(t, addr)+"/auth/dex/callback" {
		t.Fatalf("authorization request %s: want Dex, S256 PKCE, state, nonce and our callback", authURL)
	}
	callback := dex.Login(t, authURL)
	resp, body := b.do(t, "GET", callback.String(), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/#room-1" {
		t.Fatalf("callback: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	token := b.session()
	if token == "" || token == guestToken {
		t.Fatalf("session after sign-in %q: want a new one (the guest's was %q)", token, guestToken)
	}
	me, _ := b.me(t)
	if me == nil || me.Guest || me.Name != dex.Name {
		t.Fatalf("signed in as %+v, want %s, not a guest", me, dex.Name)
	}
	// The guest's session is over, and its messages are the user's now.
	old := newBrowser(t, srv)
	old.Jar.SetCookies(old.base, []*http.Cookie{{Name: "hanashi_session", Value: guestToken}})
	if _, status := old.me(t); status != http.StatusUnauthorized {
		t.Errorf("the guest's session after sign-in: %d, want 401", status)
	}
	history := srv.history(t, e2eGuest{Token: token}, room.ID)
	if len(history) != len(acks) {
		t.Fatalf("%d messages in the room, want %d", len(history), len(acks))
	}
	for _, m := range history {
		if m.Author.ID != me.ID {
			t.Errorf("message %d is by %s, want the claiming user %s", m.Seq, m.Author.ID, me.ID)
		}
	}

	// Signing in again with the same identity is the same user.
	b2 := newBrowser(t, srv)
	resp, _ = b2.do(t, "GET", "/auth/dex/login", nil)
	if resp, _ = b2.do(t, "GET", dex.Login(t, resp.Header.Get("Location")).String(), nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in: callback answered %d", resp.StatusCode)
	}
	if again, _ := b2.me(t); again == nil || again.ID != me.ID {
		t.Fatalf("second sign-in: %+v, want user %s", again, me.ID)
	}

	// Sign out: the old session id no longer works.
	if resp, _ := b.do(t, "DELETE", "/api/v1/session", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	stale := newBrowser(t, srv)
	stale.Jar.SetCookies(stale.base, []*http.Cookie{{Name: "hanashi_session", Value: token}})
	if _, status := stale.me(t); status != http.StatusUnauthorized {
		t.Errorf("session after sign-out: %d, want 401", status)
	}
	if again, _ := b2.me(t); again == nil {
		t.Errorf("signing out one browser ended the other's session")
	}
}

var linkPattern = regexp.MustCompile(`http://[^\s]+/auth/email/verify\?[^\s]+`)

// TestE2EMagicLink signs in by an e-mailed link read from a real SMTP
// capture server.
func TestE2EMagicLink(t *testing.T) {
	mp := testpeer.MailpitFromEnv(t)
	email := testpeer.Address()
	srv := e2eStart(t, t.TempDir(), "-smtp", mp.SMTPURL, "-admins", email)

	ask := func(b *e2eBrowser, email, next string) (int, string) {
		resp, body := b.do(t, "POST", "/auth/email", url.Values{"email": {email}, "next": {next}})
		return resp.StatusCode, body
	}
	b := newBrowser(t, srv)
	if status, body := ask(b, email, "//evil.test"); status != 200 || !strings.Contains(body, "on its way") {
		t.Fatalf("asking for a link: %d\n%s", status, body)
	}
	msg := mp.WaitMessage(t, email, e2eTimeout)
	link := linkPattern.FindString(msg.Text)
	if link == "" {
		t.Fatalf("no link in the mail:\n%s", msg.Text)
	}
	// Opening the link spends nothing: it shows a button.
	resp, page := b.do(t, "GET", link, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="redeem"`) || b.session() != "" {
		t.Fatalf("opening the link: %d, session %q\n%s", resp.StatusCode, b.session(), page)
	}
	token := must(url.Parse(link)).Query().Get("token")

	// Twenty browsers press the button at once: one signs in.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []*e2eBrowser
	statuses := map[int]int{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newBrowser(t, srv)
			req, _ := http.NewRequest("POST", srv.base+"/auth/email/redeem", strings.NewReader(url.Values{"token": {token}, "next": {"//evil.test"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			statuses[resp.StatusCode]++
			if resp.StatusCode == http.StatusSeeOther {
				if loc := resp.Header.Get("Location"); loc != "/" {
					t.Errorf("after signing in, redirected to %q, want / (next was //evil.test)", loc)
				}
				winners = append(winners, c)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 || statuses[http.StatusBadRequest] != 19 {
		t.Fatalf("20 concurrent redemptions: statuses %v, want one 303 and 19 400", statuses)
	}
	me, _ := winners[0].me(t)
	if me == nil || me.Guest {
		t.Fatalf("signed in by link as %+v", me)
	}

	// A room of a signed-in user that forbids guests keeps them out.
	var members struct {
		Room e2eRoom `json:"room"`
	}
	owner := e2eBearer(winners[0].session())
	srv.do(t, "POST", "/api/v1/rooms", owner, map[string]any{"name": "staff", "guests_allowed": false}).
		expectJSON(t, "create a room without guests", 201, &members)
	g := srv.guest(t, "gatecrasher")
	srv.do(t, "POST", fmt.Sprintf("/api/v1/rooms/%d/members", members.Room.ID), g.auth(), nil).
		expectError(t, "a guest joining a room without guests", 403, "forbidden")

	// A name of one's own, shown on messages.
	var renamed struct {
		User e2eUser `json:"user"`
	}
	srv.do(t, "PATCH", "/api/v1/me", owner, map[string]any{"name": "Bob Builder"}).expectJSON(t, "rename", 200, &renamed)
	if renamed.User.Name != "Bob Builder" {
		t.Errorf("renamed to %q", renamed.User.Name)
	}
	srv.do(t, "PATCH", "/api/v1/me", owner, map[string]any{"name": "\u0000"}).expectError(t, "a bad name", 400, "invalid")

	// An administrator disables a user: the user's session ends.
	gws := srv.ws(t, g)
	srv.do(t, "PUT", "/api/v1/users/"+g.User.ID+"/disabled", g.auth(), map[string]any{"disabled": true}).
		expectError(t, "a non-admin disabling", 403, "forbidden")
	srv.do(t, "PUT", "/api/v1/users/"+g.User.ID+"/disabled", owner, map[string]any{"disabled": true}).
		expectJSON(t, "an admin disabling", 200, nil)
	gws.expectClose(t, 4001)
	srv.do(t, "GET", "/api/v1/me", g.auth(), nil).expectError(t, "a disabled user's session", 401, "unauthorized")

	// No account enumeration: the answer for an address with an account and
	// one without differ only in the address.
	other := testpeer.Address()
	s1, known := ask(newBrowser(t, srv), email, "/")
	s2, unknown := ask(newBrowser(t, srv), other, "/")
	if s1 != s2 || strings.ReplaceAll(known, email, "X") != strings.ReplaceAll(unknown, other, "X") {
		t.Errorf("answers differ for an address with an account (%d) and without (%d):\n%s\n---\n%s", s1, s2, known, unknown)
	}
	// Three links per address per window; the fourth is refused.
	if status, _ := ask(newBrowser(t, srv), email, "/"); status != 200 {
		t.Errorf("third link: %d", status)
	}
	if status, _ := ask(newBrowser(t, srv), email, "/"); status != http.StatusTooManyRequests {
		t.Errorf("fourth link within 15 minutes: %d, want 429", status)
	}
	// A link asked for by the new account's address signs into it again.
	got := mp.WaitMessage(t, email, e2eTimeout)
	again := newBrowser(t, srv)
	tok := must(url.Parse(linkPattern.FindString(got.Text))).Query().Get("token")
	if resp, _ := again.do(t, "POST", "/auth/email/redeem", url.Values{"token": {tok}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second link: %d", resp.StatusCode)
	}
	if u, _ := again.me(t); u == nil || u.ID != me.ID {
		t.Errorf("second link signed in as %+v, want %s", u, me.ID)
	}
	// Sign out everywhere ends the other browser's session too.
	if resp, _ := winners[0].do(t, "DELETE", "/api/v1/sessions", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out everywhere: %d", resp.StatusCode)
	}
	if _, status := again.me(t); status != http.StatusUnauthorized {
		t.Errorf("another browser after sign out everywhere: %d, want 401", status)
	}
	// A spent token stays spent.
	if resp, _ := again.do(t, "POST", "/auth/email/redeem", url.Values{"token": {token}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("spent token: %d, want 400", resp.StatusCode)
	}
}

// TestE2EClusterRevocation signs out on one node and checks that the
// session's WebSocket on another node is closed with 4001 within a second.
func TestE2EClusterRevocation(t *testing.T) {
	c := newCluster(t, "")
	a := c.start(t, "node-a")
	b := c.start(t, "node-b")
	g := a.guest(t, "leaving")
	ws := b.ws(t, g)
	start := time.Now()
	a.do(t, "DELETE", "/api/v1/session", g.auth(), nil)
	ws.expectClose(t, 4001)
	took := time.Since(start)
	t.Logf("socket on node B closed %v after sign-out on node A", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("closing took %v, want at most 1s", took)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return v
}
