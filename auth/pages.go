package auth

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"time"
)

//go:embed pages/*.html pages/*.css
var pageFS embed.FS

// pages are the server-rendered pages of signing in; everything else is
// the web client (package ui).
var pages = template.Must(template.ParseFS(pageFS, "pages/*.html"))

// PagesStyle serves the stylesheet of the sign-in pages, which they link
// as /auth/pages.css, revalidated by its ETag.
func (a *Auth) PagesStyle() http.Handler {
	css, err := pageFS.ReadFile("pages/pages.css")
	if err != nil {
		panic(err) // the embed directive guarantees the file
	}
	sum := sha256.Sum256(css)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/css; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(css))
	})
}

// pageData is what every page may show.
type pageData struct {
	Title     string
	Base      string // path prefix of the server, "" at the root
	Message   string
	Next      string
	Email     string
	Token     string
	Guests    bool
	Providers []Provider
}

// renderPage writes page with status. Pages are never cached: some carry
// tokens.
func (a *Auth) renderPage(w http.ResponseWriter, status int, page string, d pageData) {
	d.Base = a.basePath
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, page, d); err != nil {
		a.log.Error("rendering a page failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// authFailed ends a sign-in with an error page; no session is made.
func (a *Auth) authFailed(w http.ResponseWriter, r *http.Request, status int, msg string) {
	a.renderPage(w, status, "error", pageData{Title: "Signing in failed", Message: msg})
}

// LoginPage shows the providers and the e-mail form.
func (a *Auth) LoginPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := pageData{Title: "Sign in", Next: safeNext(r.URL.Query().Get("next")), Guests: !a.cfg.NoGuests}
		for _, p := range a.cfg.Providers {
			if p.Title == "" {
				p.Title = p.Name
			}
			d.Providers = append(d.Providers, p)
		}
		a.renderPage(w, http.StatusOK, "login", d)
	})
}
