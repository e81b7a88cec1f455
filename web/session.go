package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hanashi-chat/hanashi"
)

var errCrossOrigin = hanashi.Errorf(hanashi.EFORBIDDEN, "cross-origin request refused")

type ctxKey int

const (
	userKey ctxKey = iota
	tokenHashKey
)

// userFrom returns the signed-in user that authed put in the context.
func userFrom(ctx context.Context) hanashi.User {
	u, _ := ctx.Value(userKey).(hanashi.User)
	return u
}

func tokenHashFrom(ctx context.Context) []byte {
	h, _ := ctx.Value(tokenHashKey).([]byte)
	return h
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

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

// authenticate resolves the request's session.
func (s *Server) authenticate(r *http.Request) (hanashi.User, []byte, bool, error) {
	token, bearer := credentials(r)
	// Tokens are 43 base64url characters; anything else is not worth a query.
	if len(token) < 16 || len(token) > 256 {
		return hanashi.User{}, nil, bearer, hanashi.Errorf(hanashi.EUNAUTHORIZED, "sign in first")
	}
	hash := hashToken(token)
	u, err := s.cfg.Store.SessionUser(r.Context(), hash)
	if err != nil {
		return hanashi.User{}, nil, bearer, err
	}
	return u, hash, bearer, nil
}

// authed lets only requests with a valid session through.
func (s *Server) authed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, hash, _, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), userKey, u)
		ctx = context.WithValue(ctx, tokenHashKey, hash)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// validName checks a user or room name and returns it trimmed.
func validName(what, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", hanashi.Errorf(hanashi.EINVALID, "%s is empty", what)
	case n > hanashi.MaxNameLen:
		return "", hanashi.Errorf(hanashi.EINVALID, "%s is longer than %d characters", what, hanashi.MaxNameLen)
	}
	for _, c := range name {
		if unicode.IsControl(c) || c == utf8.RuneError || unicode.Is(unicode.Cf, c) {
			return "", hanashi.Errorf(hanashi.EINVALID, "%s contains control or invisible formatting characters", what)
		}
	}
	return name, nil
}

func (s *Server) handleCreateGuest() http.Handler {
	type request struct {
		Name string `json:"name"`
	}
	type response struct {
		User  hanashi.User `json:"user"`
		Token string       `json:"token"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.NoGuests {
			return hanashi.Errorf(hanashi.EFORBIDDEN, "this server does not allow guests: sign in")
		}
		var req request
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		name, err := validName("name", req.Name)
		if err != nil {
			return err
		}
		u, err := s.cfg.Store.CreateUser(r.Context(), hanashi.User{Name: name, Guest: true})
		if err != nil {
			return err
		}
		token, err := s.newSession(r.Context(), u.ID)
		if err != nil {
			return err
		}
		s.setSessionCookie(w, r, token)
		writeJSON(w, http.StatusCreated, response{User: u, Token: token})
		return nil
	})
}

// newSession stores a session for user and returns its token: 256 random
// bits, of which only the hash is kept.
func (s *Server) newSession(ctx context.Context, user hanashi.UserID) (string, error) {
	var b [32]byte
	rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.cfg.Now()
	err := s.cfg.Store.CreateSession(ctx, hanashi.Session{
		TokenHash: hashToken(token),
		User:      user,
		CreatedAt: now,
		ExpiresAt: now.Add(hanashi.SessionLifetime),
	})
	return token, err
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, s.cookie(r, sessionCookieName, token, hanashi.SessionLifetime))
}

func (s *Server) handleMe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"user": userFrom(r.Context())})
	})
}

// handleLogout revokes the session and closes its WebSockets.
func (s *Server) handleLogout() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		hash := tokenHashFrom(r.Context())
		if err := s.cfg.Store.DeleteSession(r.Context(), hash); err != nil {
			return err
		}
		s.closeSession(hash)
		http.SetCookie(w, s.cookie(r, sessionCookieName, "", -1))
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
