package web

// One canonical address: a browser that opens the server by another
// loopback name than the base URL's (127.0.0.1 or [::1] for localhost, and
// the reverse) is sent to the base URL before it signs in, since cookies
// are per host name and a session would otherwise be split between two
// names of one server. The target is always the base URL; a request's Host
// is only compared, never used.

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// canonicalHost decides which requests go to the base URL. Its zero value
// sends none.
type canonicalHost struct {
	origin string // the base URL's scheme and host; "" when not on loopback
	name   string // the base URL's host name
	port   string // the base URL's port, explicit or the scheme's
	// implied is the port of a Host without one: the scheme's.
	implied string
}

// newCanonicalHost is the redirect for base, a server's base URL. Only a
// base URL on a loopback name has one: the names of other servers are not
// this one's to compare (requests for them are a matter for the allowed
// hosts, when configured).
func newCanonicalHost(base *url.URL) canonicalHost {
	if !loopbackName(base.Hostname()) {
		return canonicalHost{}
	}
	implied := "80"
	if base.Scheme == "https" {
		implied = "443"
	}
	port := base.Port()
	if port == "" {
		port = implied
	}
	return canonicalHost{origin: base.Scheme + "://" + base.Host, name: base.Hostname(), port: port, implied: implied}
}

// loopbackName reports whether host names this machine's loopback
// interface: localhost, or a loopback address.
func loopbackName(host string) bool {
	host = strings.TrimSuffix(host, ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redirect returns where r goes instead, if it must: a page (GET or HEAD)
// asked for under another loopback name of this server (with the base
// URL's port). The API, the OAuth callbacks (their URL is registered with
// the provider), the probes and the metrics are answered under any name.
// r's path is without the base path, which the target has.
func (c canonicalHost) redirect(r *http.Request, basePath string) (string, bool) {
	if c.origin == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return "", false
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = strings.Trim(r.Host, "[]"), c.implied
	}
	if port != c.port || strings.EqualFold(host, c.name) || !loopbackName(host) {
		return "", false
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/"), p == "/healthz", p == "/readyz", p == "/metrics":
		return "", false
	case strings.HasPrefix(p, "/auth/") && strings.HasSuffix(p, "/callback"):
		return "", false
	}
	u := url.URL{Path: basePath + p, RawQuery: r.URL.RawQuery}
	return c.origin + u.RequestURI(), true
}
