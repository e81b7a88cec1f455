package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/outage"
)

// Cookie names. Over TLS they get the __Host- prefix: the browser then
// insists on Secure, Path=/ and no Domain, so no subdomain can set them.
const (
	sessionCookieName = "hanashi_session"
	authCookieName    = "hanashi_auth"
)

func (s *Server) cookieName(r *http.Request, name string) string {
	if s.proxies.Secure(r) {
		return "__Host-" + name
	}
	return name
}

// cookie returns a cookie for this server: HttpOnly, SameSite=Lax,
// Secure over HTTPS (see secure), with the path of cookiePath. A negative
// life deletes it.
func (s *Server) cookie(r *http.Request, name, value string, life time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name:     s.cookieName(r, name),
		Value:    value,
		Path:     s.cookiePath(r),
		HttpOnly: true,
		Secure:   s.proxies.Secure(r),
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
func (s *Server) cookiePath(r *http.Request) string {
	if s.proxies.Secure(r) {
		return "/"
	}
	return s.basePath + "/"
}

// signIn ends every sign-in: it finds or makes the user of the identity,
// lets a guest in this browser hand over what they posted, replaces the
// browser's session with a new one and goes on to next.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, id hanashi.Identity, next string) {
	ctx := r.Context()
	u, err := s.cfg.Store.SignIn(ctx, id)
	if err != nil {
		if hanashi.ErrorCode(err) == hanashi.EFORBIDDEN {
			s.authFailed(w, r, http.StatusForbidden, "This account is disabled.")
			return
		}
		s.log.ErrorContext(ctx, "sign-in failed", "provider", id.Provider, "err", err)
		s.authFailed(w, r, http.StatusServiceUnavailable, "Signing in failed. Try again later.")
		return
	}
	u = s.refreshAvatar(ctx, u)
	// The session this browser had, if any, ends here: a new id at every
	// sign-in. A guest's messages move to the account first.
	if old, hash, _, err := s.authenticate(r); err == nil {
		if old.Guest && old.ID != u.ID {
			if n, err := s.cfg.Store.ClaimGuest(ctx, old.ID, u.ID); err != nil {
				s.log.WarnContext(ctx, "claiming guest messages failed", "guest", old.ID, "user", u.ID, "err", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "guest messages claimed", "guest", old.ID, "user", u.ID, "messages", n)
			}
		}
		if err := s.cfg.Store.DeleteSession(ctx, hash); err != nil {
			s.log.WarnContext(ctx, "ending the previous session failed", "err", err)
		}
		s.closeSession(hash)
	}
	token, err := s.newSession(ctx, u.ID)
	if err != nil {
		s.log.ErrorContext(ctx, "creating a session failed", "err", err)
		s.authFailed(w, r, http.StatusServiceUnavailable, "Signing in failed. Try again later.")
		return
	}
	s.log.InfoContext(ctx, "signed in", "user", u.ID, "provider", id.Provider)
	http.SetCookie(w, s.cookie(r, sessionCookieName, token, hanashi.SessionLifetime))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.basePath+safeNext(next), http.StatusSeeOther)
}

// safeNext returns next if it is a path on this server, and "/" otherwise:
// no scheme, no host, no "//" or "/\" that a browser would read as another
// host, no control characters.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2048 {
		return "/"
	}
	if strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return "/"
	}
	for _, c := range next {
		if unicode.IsControl(c) || unicode.IsSpace(c) {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return next
}

// handleLogoutAll ends every session of the user ("sign out everywhere").
// Every node closes the sockets of those sessions (see watchRevocations).
func (s *Server) handleLogoutAll() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		u := userFrom(r.Context())
		if err := s.cfg.Store.DeleteUserSessions(r.Context(), u.ID); err != nil {
			return err
		}
		s.closeSession(tokenHashFrom(r.Context()))
		http.SetCookie(w, s.cookie(r, sessionCookieName, "", -1))
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// handleDisableUser lets an administrator disable (or enable) a user; a
// disabled user's sessions end at once, on every node.
func (s *Server) handleDisableUser() http.Handler {
	type request struct {
		Disabled bool `json:"disabled"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		if !s.isAdmin(userFrom(r.Context())) {
			return hanashi.Errorf(hanashi.EFORBIDDEN, "only administrators may do that")
		}
		req := request{Disabled: true}
		if err := decode(w, r, &req, true); err != nil {
			return err
		}
		id := hanashi.UserID(r.PathValue("id"))
		if err := s.cfg.Store.SetDisabled(r.Context(), id, req.Disabled); err != nil {
			return err
		}
		s.log.InfoContext(r.Context(), "user disabled", "user", id, "disabled", req.Disabled, "by", userFrom(r.Context()).ID)
		writeJSON(w, http.StatusOK, map[string]any{"disabled": req.Disabled})
		return nil
	})
}

func (s *Server) isAdmin(u hanashi.User) bool {
	if u.Email == "" || u.Guest {
		return false
	}
	for _, a := range s.cfg.Admins {
		if strings.EqualFold(a, u.Email) {
			return true
		}
	}
	return false
}

// revocationPoll is how often every node looks for sessions ended
// elsewhere, to close their WebSockets here.
const revocationPoll = 250 * time.Millisecond

// watchRevocations closes this node's WebSockets of every session that any
// node ends (sign-out, sign out everywhere, a disabled user, a claimed
// guest), within about revocationPoll. The store's revocation log is the
// channel: it works on one node and many, with or without Redis.
func (s *Server) watchRevocations(ctx context.Context) {
	var last int64 = -1
	t := time.NewTicker(revocationPoll)
	defer t.Stop()
	failures := outage.New(s.log, "reading revoked sessions", 0)
	for {
		// A read that hangs (a database behind a partition) must not stop
		// the poll for longer than its commits would wait.
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		hashes, next, err := s.cfg.Store.RevokedSessions(rctx, last)
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
				s.closeSession(h)
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
