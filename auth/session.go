package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/httpapi"
	"github.com/hanashi-chat/hanashi/internal/outage"
)

// hashToken is what the store keeps of a token: a stolen copy of the
// sessions table signs nobody in.
func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// CreateGuest makes a guest and its session: a name and nothing else, for
// people who only want to chat. What a guest posts can be claimed into an
// account when they sign in from the same browser (signIn).
func (a *Auth) CreateGuest() http.Handler {
	type request struct {
		Name string `json:"name"`
	}
	type response struct {
		User  hanashi.User `json:"user"`
		Token string       `json:"token"`
	}
	return a.cfg.Errors.Handler(func(w http.ResponseWriter, r *http.Request) error {
		if a.cfg.NoGuests {
			return hanashi.Errorf(hanashi.EFORBIDDEN, "this server does not allow guests: sign in")
		}
		var req request
		if err := httpapi.Decode(w, r, &req, false); err != nil {
			return err
		}
		name, err := hanashi.CheckName("name", req.Name)
		if err != nil {
			return err
		}
		u, err := a.cfg.Store.CreateUser(r.Context(), hanashi.User{Name: name, Guest: true})
		if err != nil {
			return err
		}
		token, err := a.newSession(r.Context(), u.ID)
		if err != nil {
			return err
		}
		a.setSessionCookie(w, r, token)
		httpapi.WriteJSON(w, http.StatusCreated, response{User: u, Token: token})
		return nil
	})
}

// newSession stores a session for user and returns its token: 256 random
// bits, of which only the hash is kept.
func (a *Auth) newSession(ctx context.Context, user hanashi.UserID) (string, error) {
	var b [32]byte
	rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	now := a.cfg.Now()
	err := a.cfg.Store.CreateSession(ctx, hanashi.Session{
		TokenHash: hashToken(token),
		User:      user,
		CreatedAt: now,
		ExpiresAt: now.Add(hanashi.SessionLifetime),
	})
	return token, err
}

func (a *Auth) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, a.cookie(r, sessionCookieName, token, hanashi.SessionLifetime))
}

// Me answers who is signed in. It runs behind RequireSession, as do
// Logout, LogoutAll and DisableUser.
func (a *Auth) Me() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"user": UserFrom(r.Context())})
	})
}

// Logout revokes the session; its WebSockets close (Config.SessionEnded).
func (a *Auth) Logout() http.Handler {
	return a.cfg.Errors.Handler(func(w http.ResponseWriter, r *http.Request) error {
		hash := tokenHashFrom(r.Context())
		if err := a.cfg.Store.DeleteSession(r.Context(), hash); err != nil {
			return err
		}
		a.cfg.SessionEnded(hash)
		http.SetCookie(w, a.cookie(r, sessionCookieName, "", -1))
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// LogoutAll ends every session of the user ("sign out everywhere").
// Every node closes the sockets of those sessions (see WatchRevocations).
func (a *Auth) LogoutAll() http.Handler {
	return a.cfg.Errors.Handler(func(w http.ResponseWriter, r *http.Request) error {
		u := UserFrom(r.Context())
		if err := a.cfg.Store.DeleteUserSessions(r.Context(), u.ID); err != nil {
			return err
		}
		a.cfg.SessionEnded(tokenHashFrom(r.Context()))
		http.SetCookie(w, a.cookie(r, sessionCookieName, "", -1))
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// DisableUser lets an administrator disable (or enable) a user; a
// disabled user's sessions end at once, on every node.
func (a *Auth) DisableUser() http.Handler {
	type request struct {
		Disabled bool `json:"disabled"`
	}
	return a.cfg.Errors.Handler(func(w http.ResponseWriter, r *http.Request) error {
		if !a.isAdmin(UserFrom(r.Context())) {
			return hanashi.Errorf(hanashi.EFORBIDDEN, "only administrators may do that")
		}
		req := request{Disabled: true}
		if err := httpapi.Decode(w, r, &req, true); err != nil {
			return err
		}
		id := hanashi.UserID(r.PathValue("id"))
		if err := a.cfg.Store.SetDisabled(r.Context(), id, req.Disabled); err != nil {
			return err
		}
		a.log.InfoContext(r.Context(), "user disabled", "user", id, "disabled", req.Disabled, "by", UserFrom(r.Context()).ID)
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"disabled": req.Disabled})
		return nil
	})
}

func (a *Auth) isAdmin(u hanashi.User) bool { return IsAdmin(u, a.cfg.Admins) }

// IsAdmin reports whether u is an administrator when admins are the
// administrators' addresses (Config.Admins): a user, not a guest, whose
// verified address is one of them.
func IsAdmin(u hanashi.User, admins []string) bool {
	if u.Email == "" || u.Guest {
		return false
	}
	for _, admin := range admins {
		if strings.EqualFold(admin, u.Email) {
			return true
		}
	}
	return false
}

// revocationPoll is how often every node looks for sessions ended
// elsewhere, to close their WebSockets here.
const revocationPoll = 250 * time.Millisecond

// PrimeRevocations takes the place in the store's revocation log from
// which WatchRevocations reads: now, before any WebSocket of this node
// exists. Call it before starting WatchRevocations; on an error the
// watcher starts from its first poll instead.
func (a *Auth) PrimeRevocations(ctx context.Context) error {
	_, next, err := a.cfg.Store.RevokedSessions(ctx, -1)
	if err != nil {
		return err
	}
	a.revokedFrom = next
	return nil
}

// WatchRevocations tells Config.SessionEnded of every session that any
// node ends (sign-out, sign out everywhere, a disabled user, a claimed
// guest), within about revocationPoll, so that this node closes their
// WebSockets. The store's revocation log is the channel: it works on one
// node and many, with or without Redis. It returns when ctx ends.
//
// Call PrimeRevocations first, before the node accepts WebSockets: without
// it the watcher starts from its first poll, and a node slow to make that
// poll misses what was revoked meanwhile, of sockets it already holds.
func (a *Auth) WatchRevocations(ctx context.Context) {
	last := a.revokedFrom
	t := time.NewTicker(revocationPoll)
	defer t.Stop()
	failures := outage.New(a.log, "reading revoked sessions", 0)
	for {
		// A read that hangs (a database behind a partition) must not stop
		// the poll for longer than its commits would wait.
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		hashes, next, err := a.cfg.Store.RevokedSessions(rctx, last)
		cancel()
		if err == nil {
			failures.OK()
		}
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			failures.Fail(1, err)
		case last < 0:
			last = next // start from now: older revocations closed nothing here
		default:
			last = next
			for _, h := range hashes {
				a.cfg.SessionEnded(h)
			}
			if len(hashes) == hanashi.RevocationPage {
				continue // more are waiting
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
