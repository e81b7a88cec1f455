package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/hanashi-chat/hanashi/auth"
	"github.com/hanashi-chat/hanashi/mail"
)

// providers reads the sign-in providers named in HANASHI_OIDC (a
// comma-separated list, e.g. "google,github,dex"). Each name NAME takes its
// settings from HANASHI_OIDC_NAME_ISSUER, _CLIENT_ID, _CLIENT_SECRET and
// _TITLE; "google" and "github" are presets that need only the client id
// and secret. Secrets come from the environment only, never from flags,
// which other users of the machine can read.
func providers(names string, getenv func(string) string) ([]auth.Provider, error) {
	var out []auth.Provider
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(strings.ToLower(name))
		if name == "" {
			continue
		}
		key := "HANASHI_OIDC_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"
		p := auth.Provider{
			Name:         name,
			Title:        getenv(key + "TITLE"),
			Issuer:       getenv(key + "ISSUER"),
			ClientID:     getenv(key + "CLIENT_ID"),
			ClientSecret: getenv(key + "CLIENT_SECRET"),
		}
		switch name {
		case "google":
			if p.Issuer == "" {
				p.Issuer = "https://accounts.google.com"
			}
			if p.Title == "" {
				p.Title = "Google"
			}
		case "github":
			p.GitHub = true
			if p.Title == "" {
				p.Title = "GitHub"
			}
		}
		if p.ClientID == "" || (!p.GitHub && p.Issuer == "") {
			return nil, fmt.Errorf("sign-in provider %s: set %sISSUER and %sCLIENT_ID (and %sCLIENT_SECRET)", name, key, key, key)
		}
		out = append(out, p)
	}
	return out, nil
}

// defaultBaseURL is where a server listening on addr is reached when
// nobody said otherwise: fine on one machine, wrong behind a proxy. A
// server on loopback, or on every address, is http://localhost:PORT: one
// name, to which the server sends those who come by another loopback name
// (web.Server), so that a session is never split between two of them.
func defaultBaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && (ip.IsUnspecified() || ip.IsLoopback())) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// mailer returns the SMTP sender, or nil when no SMTP URL is set: then
// sign-in links are written to the log (development only).
func mailer(smtpURL, from, baseURL string) (auth.Mailer, error) {
	if smtpURL == "" {
		return nil, nil
	}
	if from == "" {
		host := "localhost"
		if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		from = "Hanashi <hanashi@" + host + ">"
	}
	return mail.New(smtpURL, from)
}
