package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

// serverTLS is how the server speaks TLS: with a certificate from files
// (-tls-cert, -tls-key) or from an ACME CA (-acme-hosts). HTTP/2 is
// negotiated by ALPN; WebSockets still use HTTP/1.1 connections of their
// own, since the server does not offer WebSockets over HTTP/2 (extended
// CONNECT, which Go's server offers only with GODEBUG=http2xconnect=1:
// leave that unset, the WebSocket handler takes over an HTTP/1.1
// connection).
type serverTLS struct {
	config *tls.Config
	acme   *autocert.Manager // nil with certificate files
	files  *certFiles        // nil with ACME
}

// newServerTLS returns the TLS setup of cfg, or nil when the server speaks
// plain HTTP. A certificate that cannot be loaded is an error now, not at
// the first handshake.
func newServerTLS(cfg config, log *slog.Logger) (*serverTLS, error) {
	switch {
	case cfg.TLSCert != "":
		files, err := loadCertFiles(cfg.TLSCert, cfg.TLSKey, log)
		if err != nil {
			return nil, fmt.Errorf("loading the TLS certificate (-tls-cert, -tls-key): %w", err)
		}
		return &serverTLS{files: files, config: &tls.Config{
			GetCertificate: files.getCertificate,
			MinVersion:     tls.VersionTLS12,
		}}, nil
	case len(cfg.ACMEHosts) > 0:
		// The cache holds the ACME account key and the certificates' keys.
		if err := os.MkdirAll(cfg.ACMECache, 0o700); err != nil {
			return nil, fmt.Errorf("creating the ACME cache directory: %w", err)
		}
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(cfg.ACMEHosts...),
			Cache:      autocert.DirCache(cfg.ACMECache),
		}
		c := m.TLSConfig() // answers tls-alpn-01 challenges on the main listener
		c.MinVersion = tls.VersionTLS12
		return &serverTLS{config: c, acme: m}, nil
	}
	return nil, nil
}

// watch reloads certificate files when they change, checking every
// interval, and on SIGHUP, until ctx ends (certfiles.go). ACME renews its
// certificates itself.
func (t *serverTLS) watch(ctx context.Context, interval time.Duration) {
	if t == nil || t.files == nil {
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		t.files.watch(ctx, interval, hup)
	}()
}

// redirectHandler serves the plain-HTTP listener (-http-addr) beside a TLS
// one: ACME http-01 challenges when ACME is on; the probes /healthz and
// /readyz, answered by probes, for load balancers that check over plain
// HTTP; and for everything else a permanent redirect to the same path and
// query on the base URL's https origin. The target's host comes from the
// base URL, never from the Host header, so the redirect cannot be pointed
// elsewhere.
func (t *serverTLS) redirectHandler(baseURL string, probes http.Handler) (http.Handler, error) {
	base, err := url.Parse(baseURL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("base URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	if base.Scheme != "https" {
		return nil, fmt.Errorf("-http-addr redirects to the base URL, which must then be https://, not %q", baseURL)
	}
	origin := "https://" + base.Host
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			probes.ServeHTTP(w, r)
			return
		}
		code := http.StatusMovedPermanently
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			code = http.StatusPermanentRedirect // keeps the method and body
		}
		http.Redirect(w, r, origin+r.URL.RequestURI(), code)
	})
	if t.acme != nil {
		h = t.acme.HTTPHandler(h)
	}
	return h, nil
}

// defaultTLSBaseURL is the base URL when none is configured and the server
// speaks TLS: the first ACME host name, or the listen address, over https.
func defaultTLSBaseURL(addr string, acmeHosts []string) string {
	u, err := url.Parse(defaultBaseURL(addr))
	if err != nil {
		return "https://" + addr
	}
	u.Scheme = "https"
	if len(acmeHosts) > 0 {
		u.Host = acmeHosts[0]
		if _, port, err := net.SplitHostPort(addr); err == nil && port != "443" {
			u.Host = net.JoinHostPort(acmeHosts[0], port)
		}
	}
	return u.String()
}
