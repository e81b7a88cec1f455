// Package web is Hanashi's HTTP face: the JSON API, the WebSocket protocol
// of docs/protocol.md and the embedded web client. NewServer returns an
// http.Handler; routes.go lists everything it serves. Sign-in and sessions
// are package auth's: web mounts its handlers and asks it who is signed in,
// and closes the WebSockets of the sessions that auth says have ended.
//
// The WebSocket protocol is the ws*.go files, and only they touch a
// WebSocket: ws.go upgrades and acts on a client's frames, wsframes.go
// holds the frames both ways and the close codes, wssignals.go typing,
// presence and read markers, stream.go the user's stream (rooms,
// memberships and profiles as they change); a connection is served by the
// server's event
// loop (wsloop.go, package netpoll) or by a read and a write pump of its
// own (wspumps.go).
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/auth"
	"github.com/hanashi-chat/hanashi/avatar"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/internal/forwarded"
	"github.com/hanashi-chat/hanashi/internal/httpapi"
	"github.com/hanashi-chat/hanashi/internal/outage"
	"github.com/hanashi-chat/hanashi/netpoll"
)

// Config holds the server's dependencies and settings.
type Config struct {
	Store  hanashi.Store
	Hub    *hub.Hub
	Logger *slog.Logger
	// AllowedOrigins are origins ("https://chat.example.com") besides the
	// server's own from which browsers may open WebSockets and send
	// state-changing requests. The origin of BaseURL is always allowed.
	AllowedOrigins []string
	// TrustedProxies are the addresses and CIDRs of reverse proxies whose
	// X-Forwarded-For and X-Forwarded-Proto are believed (package forwarded); from
	// anybody else those headers are ignored.
	TrustedProxies []string
	// PingInterval is how often the server pings a WebSocket; a connection
	// silent for 2.4 intervals is closed. Default 25s.
	PingInterval time.Duration
	// WriteTimeout bounds each write to a WebSocket. Default 10s.
	WriteTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// BaseURL is where people reach the server, "https://chat.example.com"
	// or with a path prefix; sign-in links and OAuth callbacks are built
	// from it, never from a request's Host header. Required.
	BaseURL string
	// Providers are the OAuth2/OIDC sign-in providers (package auth).
	Providers []auth.Provider
	// Mailer sends sign-in links; nil writes them to the log instead
	// (development).
	Mailer auth.Mailer
	// Avatars holds uploaded avatars; nil refuses uploads.
	Avatars *avatar.Dir
	// NoGuests refuses guest sessions: everybody signs in.
	NoGuests bool
	// Admins are the e-mail addresses of administrators (verified addresses
	// of signed-in users).
	Admins []string
	// Ready reports whether this node can serve: its store and broker are
	// reachable. /readyz answers 503 with the error while it is not. Nil
	// means always ready.
	Ready func(ctx context.Context) error
	// Metrics, when set, serves GET /metrics (package metrics); nil when
	// they are served on a listener of their own, or not at all.
	Metrics http.Handler
	// Trace, when set, wraps the routes (package tracing). It sees each
	// request after the path prefix is removed, and once next returns
	// r.Pattern is the route that served it.
	Trace func(next http.Handler) http.Handler
}

// Server is the HTTP handler. It is safe for concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger
	// unready counts the requests that failed while the node was not
	// ready (see writeError): a dependency is down, and each would say
	// the same.
	unready *outage.Log
	errs    *httpapi.Errors // answers API errors, web's and auth's
	handler http.Handler
	auth    *auth.Auth    // sign-in and sessions
	loop    *netpoll.Loop // serves the WebSockets of plain TCP connections (wsloop.go)

	mu       sync.Mutex
	conns    map[*conn]struct{}
	live     sync.WaitGroup // the registered connections, until torn down
	draining bool           // /readyz fails (Drain)
	closing  bool           // WebSockets are refused and closed (Shutdown)

	basePath string // the path of cfg.BaseURL, "" at the root
	canon    canonicalHost
	proxies  forwarded.Trust
	stop     context.CancelFunc // ends background work
	reads    readMarkers        // read frames waiting to be written (wssignals.go)
}

// NewServer returns a server; it starts nothing until it serves requests.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 25 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for i, o := range cfg.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("allowed origin %q: want scheme://host[:port]", o)
		}
		cfg.AllowedOrigins[i] = u.Scheme + "://" + u.Host
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("base URL %q: want http(s)://host[:port][/path]", cfg.BaseURL)
	}
	if base.Path != "" && !strings.HasPrefix(base.Path, "/") || base.RawPath != "" || strings.Contains(base.Path, "//") {
		return nil, fmt.Errorf("base URL %q: its path must be a plain prefix such as /chat/", cfg.BaseURL)
	}
	// The public origin is the server's own, whatever Host and scheme a
	// proxy in front passes on.
	if origin := base.Scheme + "://" + base.Host; !slices.ContainsFunc(cfg.AllowedOrigins, func(o string) bool { return strings.EqualFold(o, origin) }) {
		cfg.AllowedOrigins = append(slices.Clip(cfg.AllowedOrigins), origin)
	}
	proxies, err := forwarded.Parse(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, conns: make(map[*conn]struct{}), proxies: proxies,
		unready: outage.New(cfg.Logger, "requests failing while the node is not ready", 0)}
	s.errs = &httpapi.Errors{Log: s.log, Ready: cfg.Ready, Unready: s.unready}
	s.loop = netpoll.New(netpoll.Config{PingInterval: cfg.PingInterval, WriteTimeout: cfg.WriteTimeout, Linger: lingerTime})
	s.basePath = strings.TrimSuffix(base.Path, "/")
	s.canon = newCanonicalHost(base)
	s.auth, err = auth.New(auth.Config{
		Store: cfg.Store, Logger: cfg.Logger, Now: cfg.Now, BaseURL: base, Proxies: proxies, Errors: s.errs,
		Providers: cfg.Providers, Mailer: cfg.Mailer, NoGuests: cfg.NoGuests, Admins: cfg.Admins,
		SignedIn:     s.refreshAvatar,
		SessionEnded: s.closeSession,
	})
	if err != nil {
		return nil, err
	}
	s.handler = s.routes()
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	// Closes the WebSockets of sessions ended anywhere, from a place in the
	// revocation log taken now, before this node has any.
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	if err := s.auth.PrimeRevocations(pctx); err != nil {
		s.log.Warn("revoked sessions: starting from the first poll", "err", err)
	}
	pcancel()
	go s.auth.WatchRevocations(ctx)
	if cfg.Hub != nil {
		// Read echoes from other nodes reach this one from the start.
		cfg.Hub.StartSignals()
	}
	return s, nil
}

// ServeHTTP serves r. Under a path prefix (a BaseURL such as
// https://example.com/chat/) proxies either pass the path on as it is or
// strip the prefix, and both are common: a path under the prefix has it
// removed, and any other path is taken as already stripped. The bare
// prefix is redirected to the prefix with a slash, which the relative URLs
// of the web client need.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// First of all, so that answers given before the routes (the prefix
	// redirect here, cross-origin refusals) carry them too.
	setSecurityHeaders(w.Header())
	r = withRequestID(w, r)
	if s.basePath != "" {
		switch p := r.URL.Path; {
		case p == s.basePath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			target := s.basePath + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		case strings.HasPrefix(p, s.basePath+"/"):
			r2 := new(http.Request)
			*r2 = *r
			r2.URL = new(url.URL)
			*r2.URL = *r.URL
			r2.URL.Path = p[len(s.basePath):]
			r2.URL.RawPath = ""
			r = r2
		}
	}
	if target, ok := s.canon.redirect(r, s.basePath); ok {
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	s.handler.ServeHTTP(w, r)
}

// Drain starts a drain: from now on /readyz answers 503 "draining", so
// that load balancers and Kubernetes send new clients elsewhere, while
// everything else, WebSockets included, is served as before until
// Shutdown. Between the two the caller waits a grace period long enough
// for the load balancers to notice (see drain in cmd/hanashi).
func (s *Server) Drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
}

// Shutdown closes every WebSocket with 1001 (going away: resume elsewhere)
// and waits until they are gone or ctx ends. New upgrades are refused and
// /readyz fails. http.Server.Shutdown does not see hijacked connections;
// this does. Sends still in flight are the hub's to finish: close it
// first (hub.Close), so that each is committed and acknowledged, or
// refused with an error frame, before its connection closes.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	s.mu.Lock()
	s.draining = true
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		// The last acks may still be queued (hub.Close has just queued
		// them): they go out before the close frame.
		c.closeAfterQueued(closeGoingAway, "server shutting down")
	}
	// The loop ends once the connections it serves are gone.
	defer s.loop.Close()
	if err := waitGroup(ctx, &s.live); err != nil {
		return err
	}
	return s.reads.wait(ctx) // the markers the closed connections left
}

// waitGroup waits for wg, or until ctx ends.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// register adds a connection unless the server is shutting down.
func (s *Server) register(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	s.live.Add(1)
	c.client.SetUser(c.user.ID) // presence and read echoes (wssignals.go)
	return true
}

// unregister is the last step of a connection's teardown: Shutdown waits
// for it.
func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	_, ok := s.conns[c]
	delete(s.conns, c)
	s.mu.Unlock()
	s.reads.closed(s, c) // write the read markers it left waiting
	if ok {
		s.live.Done()
	}
}

// closeSession closes every WebSocket of a session with 4001.
func (s *Server) closeSession(tokenHash []byte) {
	s.mu.Lock()
	var found []*conn
	for c := range s.conns {
		if string(c.tokenHash[:]) == string(tokenHash) {
			found = append(found, c)
		}
	}
	s.mu.Unlock()
	for _, c := range found {
		c.closeWith(closeSessionEnded, "session ended")
	}
}

// handleHealth is the liveness probe: the process serves HTTP.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// handleReady is the readiness probe: 200 when this node can take clients,
// 503 with the reason while its store or broker is unreachable or it is
// draining, so a load balancer sends new clients elsewhere.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	var err error
	switch {
	case draining:
		err = errors.New("draining")
	case s.cfg.Ready != nil:
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		err = s.cfg.Ready(ctx)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %v\n", err)
		return
	}
	s.unready.OK()
	w.Write([]byte("ready\n"))
}

// readyTimeout bounds the checks of one readiness probe.
const readyTimeout = 2 * time.Second

// handleNotFound answers API requests no route took: 405 with Allow when the
// path exists for other methods, 404 otherwise, both as JSON.
func (s *Server) handleNotFound(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != apiFallback {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			httpapi.WriteErrorBody(w, http.StatusMethodNotAllowed, "method_not_allowed",
				fmt.Sprintf("%s is not allowed here; allowed: %s", r.Method, strings.Join(allow, ", ")))
			return
		}
		s.writeError(w, r, hanashi.Errorf(hanashi.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

// recoverPanics turns a panic in a handler into a 500 and a log line: one
// bad request must never take the server down.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", r.URL.Path, "panic", v)
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// setSecurityHeaders sets the headers every response carries, error pages
// and refusals included (web/csp_test.go).
func setSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	// Avatars may come from the sign-in provider or Gravatar: any https
	// image, and nothing else from elsewhere.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
}

// sameOrigin reports whether origin is the origin the request was sent to:
// its Host and its scheme, or behind a trusted proxy the host and scheme
// the client used (package forwarded).
func (s *Server) sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	scheme := "http"
	if s.proxies.Secure(r) {
		scheme = "https"
	}
	return strings.EqualFold(u.Scheme, scheme) && strings.EqualFold(u.Host, s.proxies.Host(r))
}

// originAllowed reports whether a browser on origin may use this server.
func (s *Server) originAllowed(r *http.Request, origin string) bool {
	if s.sameOrigin(r, origin) {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}
