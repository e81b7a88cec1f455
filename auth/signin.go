package auth

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/hanashi-chat/hanashi"
)

// signIn ends every sign-in: it finds or makes the user of the identity,
// lets a guest in this browser hand over what they posted, replaces the
// browser's session with a new one and goes on to next.
func (a *Auth) signIn(w http.ResponseWriter, r *http.Request, id hanashi.Identity, next string) {
	ctx := r.Context()
	u, err := a.cfg.Store.SignIn(ctx, id)
	if err != nil {
		if hanashi.ErrorCode(err) == hanashi.EFORBIDDEN {
			a.authFailed(w, r, http.StatusForbidden, "This account is disabled.")
			return
		}
		a.log.ErrorContext(ctx, "sign-in failed", "provider", id.Provider, "err", err)
		a.authFailed(w, r, http.StatusServiceUnavailable, "Signing in failed. Try again later.")
		return
	}
	u = a.cfg.SignedIn(ctx, u)
	// The session this browser had, if any, ends here: a new id at every
	// sign-in. A guest's messages move to the account first.
	if old, hash, _, err := a.Authenticate(r); err == nil {
		if old.Guest && old.ID != u.ID {
			if n, err := a.cfg.Store.ClaimGuest(ctx, old.ID, u.ID); err != nil {
				a.log.WarnContext(ctx, "claiming guest messages failed", "guest", old.ID, "user", u.ID, "err", err)
			} else if n > 0 {
				a.log.InfoContext(ctx, "guest messages claimed", "guest", old.ID, "user", u.ID, "messages", n)
			}
		}
		if err := a.cfg.Store.DeleteSession(ctx, hash); err != nil {
			a.log.WarnContext(ctx, "ending the previous session failed", "err", err)
		}
		a.cfg.SessionEnded(hash)
	}
	token, err := a.newSession(ctx, u.ID)
	if err != nil {
		a.log.ErrorContext(ctx, "creating a session failed", "err", err)
		a.authFailed(w, r, http.StatusServiceUnavailable, "Signing in failed. Try again later.")
		return
	}
	a.log.InfoContext(ctx, "signed in", "user", u.ID, "provider", id.Provider)
	http.SetCookie(w, a.cookie(r, sessionCookieName, token, hanashi.SessionLifetime))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, a.basePath+safeNext(next), http.StatusSeeOther)
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
