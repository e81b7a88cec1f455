package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"

	"github.com/hanashi-chat/hanashi"
)

// Provider is a sign-in provider: any OpenID Connect issuer, or GitHub,
// which speaks plain OAuth2 and is asked for the user through its API.
type Provider struct {
	// Name appears in URLs (/auth/{name}/login) and identities; it must not
	// change once people signed in with it.
	Name string
	// Title is shown on the sign-in button; default Name.
	Title string
	// Issuer is the OIDC issuer URL. Empty for GitHub.
	Issuer       string
	ClientID     string
	ClientSecret string
	// GitHub selects GitHub's OAuth2 endpoints and user API.
	GitHub bool
	// GitHubAPI is GitHub's API base URL; default https://api.github.com.
	GitHubAPI string
}

// provider is a Provider with what discovery found, set up on first use so
// that an issuer that is down does not stop the server from starting.
type provider struct {
	Provider
	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// setup runs OIDC discovery once it succeeds.
func (p *provider) setup(ctx context.Context, redirect string) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oauth != nil {
		return p.oauth, p.verifier, nil
	}
	cfg := &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirect}
	if p.GitHub {
		cfg.Endpoint = endpoints.GitHub
		cfg.Scopes = []string{"read:user", "user:email"}
		p.oauth = cfg
		return p.oauth, nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("discovering %s: %w", p.Issuer, err)
	}
	cfg.Endpoint = op.Endpoint()
	cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	p.oauth = cfg
	p.verifier = op.Verifier(&oidc.Config{ClientID: p.ClientID})
	return p.oauth, p.verifier, nil
}

// authCookie carries a sign-in in progress through the provider's pages:
// state (compared with the callback's, which binds the flow to this
// browser), the nonce the ID token must echo, the PKCE verifier, and where
// to go afterwards. It lives ten minutes, HttpOnly; over TLS it has the
// __Host- prefix, so no other site or subdomain can plant one.
type authCookie struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
}

const authCookieLife = 10 * time.Minute

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// OAuthLogin starts the authorization code flow with PKCE (S256),
// state and nonce.
func (a *Auth) OAuthLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := a.providers[r.PathValue("provider")]
		if p == nil {
			a.authFailed(w, r, http.StatusNotFound, "There is no such sign-in provider.")
			return
		}
		cfg, _, err := p.setup(r.Context(), a.callbackURL(p.Name))
		if err != nil {
			a.log.ErrorContext(r.Context(), "sign-in provider unavailable", "provider", p.Name, "err", err)
			a.authFailed(w, r, http.StatusServiceUnavailable, "The sign-in provider cannot be reached right now. Try again later.")
			return
		}
		c := authCookie{
			Provider: p.Name,
			State:    randomToken(),
			Nonce:    randomToken(),
			Verifier: oauth2.GenerateVerifier(),
			Next:     safeNext(r.URL.Query().Get("next")),
		}
		b, _ := json.Marshal(c)
		http.SetCookie(w, a.cookie(r, authCookieName, base64.RawURLEncoding.EncodeToString(b), authCookieLife))
		opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(c.Verifier)}
		if !p.GitHub {
			opts = append(opts, oidc.Nonce(c.Nonce))
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, cfg.AuthCodeURL(c.State, opts...), http.StatusFound)
	})
}

// OAuthCallback finishes the flow. Every check that fails ends it
// with an error page and no session.
func (a *Auth) OAuthCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("provider")
		p := a.providers[name]
		if p == nil {
			a.authFailed(w, r, http.StatusNotFound, "There is no such sign-in provider.")
			return
		}
		// The flow cookie is spent whatever happens next.
		c, ok := a.readAuthCookie(r)
		http.SetCookie(w, a.cookie(r, authCookieName, "", -1))
		q := r.URL.Query()
		switch {
		case !ok:
			a.authFailed(w, r, http.StatusBadRequest, "This sign-in was not started in this browser, or took too long. Start again.")
			return
		case c.Provider != name || subtle.ConstantTimeCompare([]byte(c.State), []byte(q.Get("state"))) != 1:
			a.authFailed(w, r, http.StatusBadRequest, "This sign-in does not match the one started in this browser. Start again.")
			return
		case q.Get("error") != "":
			a.authFailed(w, r, http.StatusBadRequest, "The sign-in provider said: "+truncate(q.Get("error_description")+" ("+q.Get("error")+")", 200))
			return
		case q.Get("code") == "":
			a.authFailed(w, r, http.StatusBadRequest, "The sign-in provider sent no authorization code.")
			return
		}
		cfg, verifier, err := p.setup(r.Context(), a.callbackURL(p.Name))
		if err != nil {
			a.log.ErrorContext(r.Context(), "sign-in provider unavailable", "provider", p.Name, "err", err)
			a.authFailed(w, r, http.StatusServiceUnavailable, "The sign-in provider cannot be reached right now. Try again later.")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(c.Verifier))
		if err != nil {
			a.log.WarnContext(r.Context(), "sign-in: code exchange failed", "provider", p.Name, "err", err)
			a.authFailed(w, r, http.StatusBadRequest, "The sign-in provider did not accept this sign-in. Start again.")
			return
		}
		var id hanashi.Identity
		if p.GitHub {
			id, err = githubIdentity(ctx, cfg.Client(ctx, tok), p)
		} else {
			id, err = oidcIdentity(ctx, verifier, tok, c.Nonce)
		}
		if err != nil {
			a.log.WarnContext(r.Context(), "sign-in: identity refused", "provider", p.Name, "err", err)
			a.authFailed(w, r, http.StatusBadRequest, "The sign-in could not be verified. Start again.")
			return
		}
		id.Provider = p.Name
		a.signIn(w, r, id, c.Next)
	})
}

// oidcIdentity verifies the ID token (signature, issuer, audience, expiry)
// and its nonce, and reads the identity from its claims.
func oidcIdentity(ctx context.Context, v *oidc.IDTokenVerifier, tok *oauth2.Token, nonce string) (hanashi.Identity, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return hanashi.Identity{}, errors.New("no id_token in the token response")
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return hanashi.Identity{}, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return hanashi.Identity{}, errors.New("id_token nonce does not match")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"` // a bool, or "true" from some issuers
		Name          string `json:"name"`
		Username      string `json:"preferred_username"`
		Picture       string `json:"picture"`
	}
	if err := idt.Claims(&claims); err != nil {
		return hanashi.Identity{}, err
	}
	verified := claims.EmailVerified == true || claims.EmailVerified == "true"
	name := claims.Name
	if name == "" {
		name = claims.Username
	}
	return hanashi.Identity{
		Subject:       idt.Subject,
		Email:         claims.Email,
		EmailVerified: verified && claims.Email != "",
		Name:          name,
		Picture:       httpsURL(claims.Picture),
	}, nil
}

// githubIdentity asks GitHub's API who signed in, and for their verified
// primary address.
func githubIdentity(ctx context.Context, client *http.Client, p *provider) (hanashi.Identity, error) {
	api := p.GitHubAPI
	if api == "" {
		api = "https://api.github.com"
	}
	get := func(path string, v any) error {
		req, err := http.NewRequestWithContext(ctx, "GET", api+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/vnd.github+json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GitHub %s: %s", path, resp.Status)
		}
		return json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(v)
	}
	var user struct {
		ID        int64  `json:"id"`
		Login     string `json:"login"`
		Name      string `json:"name"`
		AvatarURL string `json:"avatar_url"`
	}
	if err := get("/user", &user); err != nil {
		return hanashi.Identity{}, err
	}
	if user.ID == 0 {
		return hanashi.Identity{}, errors.New("GitHub user without an id")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	id := hanashi.Identity{Subject: strconv.FormatInt(user.ID, 10), Name: user.Name, Picture: httpsURL(user.AvatarURL)}
	if id.Name == "" {
		id.Name = user.Login
	}
	if err := get("/user/emails", &emails); err == nil {
		for _, e := range emails {
			if e.Primary && e.Verified {
				id.Email, id.EmailVerified = e.Email, true
			}
		}
	}
	return id, nil
}

// httpsURL keeps u only if it is an https URL, the only kind of picture a
// page of ours will load.
func httpsURL(u string) string {
	if strings.HasPrefix(u, "https://") && len(u) <= 2048 {
		return u
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (a *Auth) readAuthCookie(r *http.Request) (authCookie, bool) {
	var c authCookie
	ck, err := r.Cookie(a.cookieName(r, authCookieName))
	if err != nil {
		return c, false
	}
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || json.Unmarshal(b, &c) != nil || c.State == "" || c.Verifier == "" {
		return authCookie{}, false
	}
	return c, true
}

// callbackURL is the redirect URI registered with the provider.
func (a *Auth) callbackURL(provider string) string {
	return a.baseURL + "/auth/" + provider + "/callback"
}
