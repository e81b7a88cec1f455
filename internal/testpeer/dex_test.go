package testpeer_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi/internal/testpeer"
)

const callback = "http://127.0.0.1:9/auth/callback" // never requested

// authRequest is what a relying party keeps between the authorization
// request and the callback.
type authRequest struct {
	url, state, nonce, verifier string
}

func discover(t *testing.T, d *testpeer.Dex) (authEndpoint, tokenEndpoint string) {
	t.Helper()
	resp, err := http.Get(d.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer                        string   `json:"issuer"`
		AuthorizationEndpoint         string   `json:"authorization_endpoint"`
		TokenEndpoint                 string   `json:"token_endpoint"`
		CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != d.Issuer {
		t.Errorf("discovery says issuer %q, want %q", doc.Issuer, d.Issuer)
	}
	if !strings.Contains(strings.Join(doc.CodeChallengeMethodsSupported, " "), "S256") {
		t.Errorf("code_challenge_methods_supported = %v, want S256", doc.CodeChallengeMethodsSupported)
	}
	return doc.AuthorizationEndpoint, doc.TokenEndpoint
}

func newAuthRequest(endpoint, clientID, redirectURI string, extra ...string) authRequest {
	r := authRequest{state: rand.Text(), nonce: rand.Text(), verifier: rand.Text() + rand.Text()}
	challenge := sha256.Sum256([]byte(r.verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {"openid email profile"},
		"state":                 {r.state},
		"nonce":                 {r.nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	r.url = endpoint + "?" + q.Encode()
	return r
}

// exchange trades a code for tokens at the token endpoint and returns the
// status and the decoded JSON answer.
func exchange(t *testing.T, d *testpeer.Dex, tokenEndpoint, code, verifier string) (int, map[string]any) {
	t.Helper()
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {callback},
		"code_verifier": {verifier},
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, tokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(d.ClientID), url.QueryEscape(d.ClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("token endpoint answered %s: %s", resp.Status, b)
	}
	return resp.StatusCode, body
}

// claims decodes a JWT's payload without checking its signature.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// codeFrom checks the redirect to the client's callback and returns its code.
func codeFrom(t *testing.T, u *url.URL, r authRequest) string {
	t.Helper()
	if got := u.Scheme + "://" + u.Host + u.Path; got != callback {
		t.Fatalf("login ended at %s, want %s", u, callback)
	}
	q := u.Query()
	if q.Get("state") != r.state {
		t.Errorf("state = %q, want %q", q.Get("state"), r.state)
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in %s", u)
	}
	return q.Get("code")
}

func TestDexAuthorizationCodeFlow(t *testing.T) {
	d := testpeer.StartDex(t, callback)
	authEndpoint, tokenEndpoint := discover(t, d)

	r := newAuthRequest(authEndpoint, d.ClientID, callback)
	code := codeFrom(t, d.Login(t, r.url), r)

	// PKCE: the code is worth nothing without the verifier. A failed
	// exchange leaves the code usable, which lets the next one succeed.
	if status, body := exchange(t, d, tokenEndpoint, code, "wrong-"+r.verifier); status == http.StatusOK {
		t.Errorf("exchange with a wrong code_verifier succeeded: %v", body)
	}
	status, body := exchange(t, d, tokenEndpoint, code, r.verifier)
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, body)
	}
	idToken, _ := body["id_token"].(string)
	c := claims(t, idToken)
	want := map[string]any{
		"iss":            d.Issuer,
		"aud":            d.ClientID,
		"sub":            d.Subject,
		"email":          d.Email,
		"email_verified": true,
		"name":           d.Name,
		"nonce":          r.nonce,
	}
	for k, v := range want {
		if fmt.Sprint(c[k]) != fmt.Sprint(v) {
			t.Errorf("id_token %s = %v, want %v", k, c[k], v)
		}
	}

	// A code is good for one exchange only.
	if status, body := exchange(t, d, tokenEndpoint, code, r.verifier); status == http.StatusOK {
		t.Errorf("a replayed code was exchanged: %v", body)
	}
}

func TestDexLoginRefusals(t *testing.T) {
	d := testpeer.StartDex(t, callback)
	authEndpoint, _ := discover(t, d)

	r := newAuthRequest(authEndpoint, d.ClientID, callback)
	if u, err := d.LoginWith(t.Context(), r.url, d.Email, "wrong"); !errors.Is(err, testpeer.ErrInvalidCredentials) {
		t.Errorf("wrong password: %v, %v; want ErrInvalidCredentials", u, err)
	}
	if u, err := d.LoginWith(t.Context(), r.url, "bob@example.com", d.Password); !errors.Is(err, testpeer.ErrInvalidCredentials) {
		t.Errorf("unknown user: %v, %v; want ErrInvalidCredentials", u, err)
	}

	// Dex compares redirect URIs as strings and shows an error page for an
	// unregistered one, never redirecting there.
	for _, bad := range []string{callback + "/", "http://127.0.0.1:10/auth/callback", "http://evil.test/auth/callback"} {
		r := newAuthRequest(authEndpoint, d.ClientID, bad)
		u, err := d.LoginWith(t.Context(), r.url, d.Email, d.Password)
		if err == nil || errors.Is(err, testpeer.ErrInvalidCredentials) {
			t.Errorf("redirect_uri %s: %v, %v; want an error page", bad, u, err)
		}
	}
	r = newAuthRequest(authEndpoint, "someone-else", callback)
	if u, err := d.LoginWith(t.Context(), r.url, d.Email, d.Password); err == nil {
		t.Errorf("unknown client: %v, want an error page", u)
	}
}

func TestDexConsentScreen(t *testing.T) {
	d := testpeer.StartDex(t, callback)
	authEndpoint, tokenEndpoint := discover(t, d)

	// approval_prompt=force brings the approval screen back; Login
	// approves.
	r := newAuthRequest(authEndpoint, d.ClientID, callback, "approval_prompt", "force")
	code := codeFrom(t, d.Login(t, r.url), r)
	if status, body := exchange(t, d, tokenEndpoint, code, r.verifier); status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, body)
	}
}
