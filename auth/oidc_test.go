package auth_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/auth"
)

// fakeIssuer is an OpenID provider for unit tests of the callback's checks:
// it issues whatever ID token a test asks for, which a real provider would
// never do. The full flow against a real provider (Dex) is tested end to end
// in cmd/hanashi.
type fakeIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey

	mu        sync.Mutex
	challenge map[string]string // code -> S256 challenge it was issued for
	claims    func(nonce string) map[string]any
	nonces    map[string]string // code -> nonce of its authorization request
	exchanges int
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIssuer{key: key, challenge: map[string]string{}, nonces: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                f.srv.URL,
			"authorization_endpoint":                f.srv.URL + "/authorize",
			"token_endpoint":                        f.srv.URL + "/token",
			"jwks_uri":                              f.srv.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		code, verifier := r.PostForm.Get("code"), r.PostForm.Get("code_verifier")
		f.mu.Lock()
		defer f.mu.Unlock()
		f.exchanges++
		want, ok := f.challenge[code]
		delete(f.challenge, code) // codes are single use
		sum := sha256.Sum256([]byte(verifier))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != want {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": "at", "token_type": "Bearer", "expires_in": 3600,
			"id_token": f.sign(t, f.claims(f.nonces[code])),
		})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIssuer) setClaims(c func(nonce string) map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims = c
}

// setKey changes the signing key (not the published one) and returns the
// old one.
func (f *fakeIssuer) setKey(k *rsa.PrivateKey) *rsa.PrivateKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.key
	f.key = k
	return old
}

// sign makes a JWT signed with the issuer's key; f.mu is held.
func (f *fakeIssuer) sign(t *testing.T, claims map[string]any) string {
	b64 := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(p)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

// authorize plays the provider's part of a login that the test approves:
// it reads the authorization request and returns the callback URL.
func (f *fakeIssuer) authorize(t *testing.T, authURL *url.URL) *url.URL {
	t.Helper()
	q := authURL.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		t.Fatalf("authorization request without an S256 challenge: %s", authURL)
	}
	if q.Get("state") == "" || q.Get("nonce") == "" {
		t.Fatalf("authorization request without state or nonce: %s", authURL)
	}
	code := "code-" + q.Get("state")[:8]
	f.mu.Lock()
	f.challenge[code] = q.Get("code_challenge")
	f.nonces[code] = q.Get("nonce")
	f.mu.Unlock()
	cb, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		t.Fatal(err)
	}
	cb.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	return cb
}

func TestOIDCCallbackChecks(t *testing.T) {
	idp := newFakeIssuer(t)
	srv := newTestServer(t, func(c *auth.Config) {
		c.Providers = []auth.Provider{{Name: "corp", Issuer: idp.srv.URL, ClientID: "hanashi", ClientSecret: "s3cret"}}
	})
	good := func(nonce string) map[string]any {
		return map[string]any{
			"iss": idp.srv.URL, "aud": "hanashi", "sub": "user-1",
			"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
			"nonce": nonce, "email": "carol@example.com", "email_verified": true, "name": "Carol",
		}
	}
	with := func(k string, v any) func(string) map[string]any {
		return func(nonce string) map[string]any {
			c := good(nonce)
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
			return c
		}
	}
	// start begins a login in a fresh browser and returns it with the
	// callback URL the provider would send it to.
	start := func(t *testing.T, next string) (*http.Client, *url.URL) {
		t.Helper()
		b := browser(t)
		resp := get(t, b, srv.URL+"/auth/corp/login?next="+url.QueryEscape(next))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("login start: status %d", resp.StatusCode)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || !strings.HasPrefix(loc.String(), idp.srv.URL+"/authorize") {
			t.Fatalf("login start redirects to %q", resp.Header.Get("Location"))
		}
		return b, idp.authorize(t, loc)
	}
	expectRefused := func(t *testing.T, b *http.Client, cb string) {
		t.Helper()
		resp := get(t, b, cb)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("callback answered %d, want 400", resp.StatusCode)
		}
		if c := sessionCookie(resp); c != nil {
			t.Errorf("a refused sign-in set a session cookie %s", c.Name)
		}
		if me := get(t, b, srv.URL+"/api/v1/me"); me.StatusCode != http.StatusUnauthorized {
			t.Errorf("after a refused sign-in /api/v1/me answers %d, want 401", me.StatusCode)
		}
	}

	t.Run("Good", func(t *testing.T) {
		idp.setClaims(good)
		b, cb := start(t, "/rooms/1")
		resp := get(t, b, cb.String())
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/rooms/1" {
			t.Fatalf("callback: status %d location %q, want 303 to /rooms/1", resp.StatusCode, resp.Header.Get("Location"))
		}
		c := sessionCookie(resp)
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Name != "hanashi_session" {
			t.Fatalf("session cookie %+v: want hanashi_session, HttpOnly, SameSite=Lax, not Secure over HTTP", c)
		}
		if me := get(t, b, srv.URL+"/api/v1/me"); me.StatusCode != http.StatusOK {
			t.Fatalf("/api/v1/me after sign-in: %d", me.StatusCode)
		}
		// The same callback again: the flow cookie is spent.
		resp = get(t, b, cb.String())
		if resp.StatusCode != http.StatusBadRequest || sessionCookie(resp) != nil {
			t.Errorf("the callback again: status %d, session cookie %v; want 400 and none", resp.StatusCode, sessionCookie(resp))
		}
	})
	t.Run("OpenRedirects", func(t *testing.T) {
		idp.setClaims(good)
		for _, next := range []string{"//evil.test", "https://evil.test", "/\\evil.test", "javascript:alert(1)", "\\evil.test", "http:/evil.test"} {
			b, cb := start(t, next)
			resp := get(t, b, cb.String())
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
				t.Errorf("next=%q: signed in with status %d to %q, want 303 to /", next, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})
	for _, tc := range []struct {
		name   string
		claims func(string) map[string]any
	}{
		{"WrongIssuer", with("iss", "https://evil.test")},
		{"WrongAudience", with("aud", "someone-else")},
		{"Expired", with("exp", time.Now().Add(-time.Hour).Unix())},
		{"WrongNonce", with("nonce", "not-the-nonce")},
		{"NoNonce", with("nonce", nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp.setClaims(tc.claims)
			b, cb := start(t, "/")
			expectRefused(t, b, cb.String())
		})
	}
	t.Run("BadSignature", func(t *testing.T) {
		// Tokens signed with a key the provider does not publish.
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		idp.setClaims(good)
		saved := idp.setKey(other)
		defer idp.setKey(saved)
		b, cb := start(t, "/")
		expectRefused(t, b, cb.String())
	})
	t.Run("MissingState", func(t *testing.T) {
		idp.setClaims(good)
		b, cb := start(t, "/")
		q := cb.Query()
		q.Del("state")
		cb.RawQuery = q.Encode()
		expectRefused(t, b, cb.String())
	})
	t.Run("ForeignState", func(t *testing.T) {
		// Mallory's callback, delivered to Alice's browser, which started a
		// sign-in of its own.
		idp.setClaims(good)
		_, mallory := start(t, "/")
		alice, _ := start(t, "/")
		expectRefused(t, alice, mallory.String())
	})
	t.Run("NoFlowCookie", func(t *testing.T) {
		idp.setClaims(good)
		_, cb := start(t, "/")
		expectRefused(t, browser(t), cb.String())
	})
	t.Run("ReplayedCode", func(t *testing.T) {
		idp.setClaims(good)
		b, cb := start(t, "/")
		u, _ := url.Parse(srv.URL)
		flow := b.Jar.Cookies(u) // the flow cookie, kept to replay it
		if resp := get(t, b, cb.String()); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first callback: %d", resp.StatusCode)
		}
		replay := browser(t)
		replay.Jar.SetCookies(u, flow)
		expectRefused(t, replay, cb.String())
	})
}

func TestSafeNext(t *testing.T) {
	srv := newTestServer(t, nil)
	for _, next := range []string{"//evil.test", "https://evil.test", "/\\evil.test", "javascript:alert(1)", "http:/evil.test", "\\\\evil.test", " /x"} {
		b := browser(t)
		// The login page puts next into the e-mail form; the sign-in that
		// follows redirects there.
		resp, err := b.Get(srv.URL + "/login?next=" + url.QueryEscape(next))
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		buf := make([]byte, 64<<10)
		n, _ := resp.Body.Read(buf)
		body.Write(buf[:n])
		resp.Body.Close()
		if !strings.Contains(body.String(), `name="next" value="/"`) {
			t.Errorf("next=%q: the login form carries another next:\n%s", next, body.String())
		}
	}
}
