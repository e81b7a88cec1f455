package auth

import (
	"context"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// Mailer sends a plain-text e-mail.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Magic links: a single-use token of 256 random bits, stored hashed, good
// for loginTokenLife. The e-mailed link opens a page whose button POSTs the
// token, so a mail scanner that fetches links cannot spend it.
const loginTokenLife = 15 * time.Minute

// LinksPerEmail and LinksPerIP are the sign-in links that may be asked for
// within loginTokenLife, per address and per client address (behind a
// trusted proxy, the client it forwards for), counted in the store so that
// the limits hold across nodes.
const (
	LinksPerEmail = 3
	LinksPerIP    = 10
)

// normalEmail checks an address typed by a person and returns it
// lower-cased, or "" if it is not a plain address.
func normalEmail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>\"") {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || strings.Count(s, "@") != 1 {
		return ""
	}
	return strings.ToLower(s)
}

// EmailLink sends a sign-in link. The answer is the same whether or
// not the address has an account, and the mail goes out after the answer,
// so neither the page nor its timing tells.
func (a *Auth) EmailLink() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		if err := r.ParseForm(); err != nil {
			a.renderPage(w, http.StatusBadRequest, "error", pageData{Title: "Sign in", Message: "The form could not be read."})
			return
		}
		email := normalEmail(r.PostForm.Get("email"))
		next := safeNext(r.PostForm.Get("next"))
		if email == "" {
			a.renderPage(w, http.StatusBadRequest, "login", pageData{Title: "Sign in", Message: "That is not an e-mail address.", Next: next, Guests: !a.cfg.NoGuests, Providers: a.cfg.Providers})
			return
		}
		ctx := r.Context()
		ip := a.cfg.Proxies.ClientIP(r)
		now := a.cfg.Now()
		byEmail, byIP, err := a.cfg.Store.CountLoginTokens(ctx, email, ip, now.Add(-loginTokenLife))
		if err != nil {
			a.log.ErrorContext(r.Context(), "counting sign-in links failed", "err", err)
			a.authFailed(w, r, http.StatusServiceUnavailable, "Sending a link failed. Try again later.")
			return
		}
		if byEmail >= LinksPerEmail || byIP >= LinksPerIP {
			// The client's address, never the e-mail address, goes to the log.
			a.log.InfoContext(ctx, "sign-in links refused: too many asked for", "client", ip, "per_client", byIP >= LinksPerIP)
			w.Header().Set("Retry-After", "900")
			a.renderPage(w, http.StatusTooManyRequests, "error", pageData{Title: "Sign in", Message: "Too many sign-in links were asked for. Wait a few minutes, then try again."})
			return
		}
		token := randomToken()
		err = a.cfg.Store.CreateLoginToken(ctx, hanashi.LoginToken{
			Hash:      hashToken(token),
			Email:     email,
			IP:        ip,
			ExpiresAt: now.Add(loginTokenLife),
		})
		if err != nil {
			a.log.ErrorContext(r.Context(), "storing a sign-in link failed", "err", err)
			a.authFailed(w, r, http.StatusServiceUnavailable, "Sending a link failed. Try again later.")
			return
		}
		link := a.baseURL + "/auth/email/verify?" + url.Values{"token": {token}, "next": {next}}.Encode()
		go a.mailLink(context.WithoutCancel(ctx), email, link)
		a.renderPage(w, http.StatusOK, "sent", pageData{Title: "Check your e-mail", Email: email})
	})
}

// mailLink sends the link, or without a mailer (development) logs it. ctx
// is the request's, which it outlives, for the request id in the log.
func (a *Auth) mailLink(ctx context.Context, email, link string) {
	if a.cfg.Mailer == nil {
		a.log.WarnContext(ctx, "no SMTP server configured: here is the sign-in link instead of an e-mail", "email", email, "link", link)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	body := "Hello,\n\nTo sign in to Hanashi, open this link within 15 minutes and press \"Sign in\":\n\n" +
		link + "\n\nThe link works once. If you did not ask for it, ignore this e-mail.\n"
	if err := a.cfg.Mailer.Send(ctx, email, "Your Hanashi sign-in link", body); err != nil {
		a.log.ErrorContext(ctx, "sending a sign-in link failed", "err", err)
	}
}

// EmailVerify is where the e-mailed link lands: a page with a button,
// nothing spent yet.
func (a *Auth) EmailVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		token := q.Get("token")
		if len(token) < 16 || len(token) > 256 {
			a.authFailed(w, r, http.StatusBadRequest, "This sign-in link is incomplete. Ask for a new one.")
			return
		}
		a.renderPage(w, http.StatusOK, "redeem", pageData{Title: "Sign in", Token: token, Next: safeNext(q.Get("next"))})
	})
}

// EmailRedeem spends the token, once, and signs in.
func (a *Auth) EmailRedeem() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		if err := r.ParseForm(); err != nil {
			a.authFailed(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		token := r.PostForm.Get("token")
		if len(token) < 16 || len(token) > 256 {
			a.authFailed(w, r, http.StatusBadRequest, "This sign-in link is incomplete. Ask for a new one.")
			return
		}
		email, err := a.cfg.Store.RedeemLoginToken(r.Context(), hashToken(token))
		if err != nil {
			if hanashi.ErrorCode(err) == hanashi.EUNAUTHORIZED {
				a.authFailed(w, r, http.StatusBadRequest, "This sign-in link has expired or was used already. Ask for a new one.")
				return
			}
			a.log.ErrorContext(r.Context(), "redeeming a sign-in link failed", "err", err)
			a.authFailed(w, r, http.StatusServiceUnavailable, "Signing in failed. Try again later.")
			return
		}
		a.signIn(w, r, hanashi.Identity{Provider: "email", Subject: email, Email: email, EmailVerified: true}, r.PostForm.Get("next"))
	})
}
