// Package auth is who is signed in: sessions (random tokens of which the
// store keeps only the hash, sent as a cookie or a Bearer token), sign-in
// through OAuth2/OIDC providers with PKCE, state and nonce, e-mailed
// single-use sign-in links, guests and the claim that hands a guest's
// messages to the account they sign in to, and the middleware that lets
// only signed-in requests through and tells handlers who sent them
// (UserFrom).
//
// It depends on the root contracts (hanashi.Store) and never on web: web
// mounts these handlers in its routes.go, and is told through hooks in
// Config when a session ends (to close its WebSockets) and when somebody
// signs in (to refresh their avatar).
package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/forwarded"
	"github.com/hanashi-chat/hanashi/internal/httpapi"
)

// Config holds what sign-in needs.
type Config struct {
	Store  hanashi.Store
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// BaseURL is where people reach the server, as checked by web.NewServer:
	// http(s)://host[:port] with an optional plain path prefix. Sign-in
	// links and OAuth callbacks are built from it, never from a request's
	// Host header.
	BaseURL *url.URL
	// Proxies are the trusted reverse proxies: they tell the client's
	// address (the rate limits of links) and scheme (secure cookies).
	Proxies forwarded.Trust
	// Errors answers the errors of the JSON endpoints; it is web's, so that
	// the server has one.
	Errors *httpapi.Errors
	// Providers are the OAuth2/OIDC sign-in providers.
	Providers []Provider
	// Mailer sends sign-in links; nil writes them to the log instead
	// (development).
	Mailer Mailer
	// NoGuests refuses guest sessions: everybody signs in.
	NoGuests bool
	// Admins are the e-mail addresses of administrators (verified addresses
	// of signed-in users).
	Admins []string
	// SignedIn, if set, sees every user who signs in, before their session
	// is made, and returns them as they are now: web refreshes the avatar
	// that the provider's picture may have changed.
	SignedIn func(ctx context.Context, u hanashi.User) hanashi.User
	// SessionEnded, if set, is called with the token hash of every session
	// that ends: at once for those ended on this node, and within about
	// revocationPoll for those ended on any node (WatchRevocations). Web
	// closes the session's WebSockets.
	SessionEnded func(tokenHash []byte)
}

// Auth serves sign-in and checks sessions. It is safe for concurrent use.
type Auth struct {
	cfg       Config
	log       *slog.Logger
	baseURL   string // cfg.BaseURL without a trailing slash
	basePath  string // its path, "" at the root
	providers map[string]*provider
	// revokedFrom is where WatchRevocations starts reading the store's
	// revocation log: set by PrimeRevocations; -1 for "from its first poll".
	revokedFrom int64
}

// New returns an Auth, or an error if a provider is misconfigured.
func New(cfg Config) (*Auth, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Errors == nil {
		cfg.Errors = &httpapi.Errors{Log: cfg.Logger}
	}
	if cfg.SignedIn == nil {
		cfg.SignedIn = func(_ context.Context, u hanashi.User) hanashi.User { return u }
	}
	if cfg.SessionEnded == nil {
		cfg.SessionEnded = func([]byte) {}
	}
	a := &Auth{cfg: cfg, log: cfg.Logger, providers: make(map[string]*provider), revokedFrom: -1}
	if cfg.BaseURL != nil {
		a.baseURL = strings.TrimSuffix(cfg.BaseURL.String(), "/")
		a.basePath = strings.TrimSuffix(cfg.BaseURL.Path, "/")
	}
	for _, p := range cfg.Providers {
		if !validProviderName(p.Name) || p.Name == "email" || a.providers[p.Name] != nil {
			return nil, fmt.Errorf("sign-in provider name %q: want a unique name of lower-case letters, digits and -, not \"email\"", p.Name)
		}
		if p.ClientID == "" || (!p.GitHub && p.Issuer == "") {
			return nil, fmt.Errorf("sign-in provider %s: needs a client id and an issuer", p.Name)
		}
		a.providers[p.Name] = &provider{Provider: p}
	}
	return a, nil
}

func validProviderName(name string) bool {
	if name == "" || len(name) > 32 {
		return false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

type ctxKey int

const (
	userKey ctxKey = iota
	tokenHashKey
)

// UserFrom returns the signed-in user that RequireSession put in the
// context; the zero User if there is none.
func UserFrom(ctx context.Context) hanashi.User {
	u, _ := ctx.Value(userKey).(hanashi.User)
	return u
}

// WithUser returns ctx carrying u as the signed-in user, as RequireSession
// does: for tests of handlers that act on behalf of somebody.
func WithUser(ctx context.Context, u hanashi.User) context.Context {
	return context.WithValue(ctx, userKey, u)
}

func tokenHashFrom(ctx context.Context) []byte {
	h, _ := ctx.Value(tokenHashKey).([]byte)
	return h
}

// Authenticate resolves the request's session: its user, the hash of its
// token, and whether the token came as a Bearer header (a non-browser
// client) rather than a cookie.
func (a *Auth) Authenticate(r *http.Request) (u hanashi.User, tokenHash []byte, bearer bool, err error) {
	token, bearer := credentials(r)
	// Tokens are 43 base64url characters; anything else is not worth a query.
	if len(token) < 16 || len(token) > 256 {
		return hanashi.User{}, nil, bearer, hanashi.Errorf(hanashi.EUNAUTHORIZED, "sign in first")
	}
	hash := hashToken(token)
	u, err = a.cfg.Store.SessionUser(r.Context(), hash)
	if err != nil {
		return hanashi.User{}, nil, bearer, err
	}
	return u, hash, bearer, nil
}

// RequireSession lets only requests with a valid session through; the
// handler finds the user with UserFrom.
func (a *Auth) RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, hash, _, err := a.Authenticate(r)
		if err != nil {
			a.cfg.Errors.Write(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), userKey, u)
		ctx = context.WithValue(ctx, tokenHashKey, hash)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Cookie names. Over TLS they get the __Host- prefix: the browser then
// insists on Secure, Path=/ and no Domain, so no subdomain can set them.
const (
	sessionCookieName = "hanashi_session"
	authCookieName    = "hanashi_auth"
)

// credentials returns the session token of a request and whether it came as
// a Bearer header (a non-browser client) rather than a cookie.
func credentials(r *http.Request) (token string, bearer bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), true
		}
		return "", true
	}
	// The __Host- cookie is set over TLS; the plain one over HTTP.
	for _, name := range []string{"__Host-" + sessionCookieName, sessionCookieName} {
		if c, err := r.Cookie(name); err == nil {
			return c.Value, false
		}
	}
	return "", false
}

func (a *Auth) cookieName(r *http.Request, name string) string {
	if a.cfg.Proxies.Secure(r) {
		return "__Host-" + name
	}
	return name
}

// cookie returns a cookie for this server: HttpOnly, SameSite=Lax,
// Secure over HTTPS (see forwarded.Trust.Secure), with the path of
// cookiePath. A negative life deletes it.
func (a *Auth) cookie(r *http.Request, name, value string, life time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name:     a.cookieName(r, name),
		Value:    value,
		Path:     a.cookiePath(r),
		HttpOnly: true,
		Secure:   a.cfg.Proxies.Secure(r),
		SameSite: http.SameSiteLaxMode,
	}
	if life < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(life.Seconds())
	}
	return c
}

// cookiePath is the server's path prefix ("/chat/" under
// https://example.com/chat/), so that other applications on the same host
// are not sent Hanashi's cookies. Over HTTPS it is "/" all the same: the
// __Host- prefix, which keeps sibling subdomains from planting a session
// cookie, requires Path=/, and that protection is worth more than the
// path's, which is no security boundary within one origin.
func (a *Auth) cookiePath(r *http.Request) string {
	if a.cfg.Proxies.Secure(r) {
		return "/"
	}
	return a.basePath + "/"
}
