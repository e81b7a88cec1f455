// Command hanashi is the Hanashi chat server. With no configuration it
// serves http://127.0.0.1:8080 from a SQLite database in ./hanashi-data.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/avatar"
	"github.com/hanashi-chat/hanashi/health"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/metrics"
	"github.com/hanashi-chat/hanashi/postgres"
	"github.com/hanashi-chat/hanashi/redis"
	"github.com/hanashi-chat/hanashi/sqlite"
	"github.com/hanashi-chat/hanashi/tracing"
	"github.com/hanashi-chat/hanashi/web"
)

func main() {
	if err := run(signalContext(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hanashi:", err)
		os.Exit(1)
	}
}

// signalContext ends at the first SIGTERM or SIGINT, which starts the
// drain, with the signal as its cause (stopSignal); a second signal kills
// the process, for whoever cannot wait.
func signalContext() context.Context {
	ctx, stop := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		signal.Stop(sigs)
		stop(stopSignal{sig})
	}()
	return ctx
}

// config is everything run needs to know, from flags and HANASHI_*
// environment variables (flags win).
type config struct {
	Command     string // "" to serve, or "migrate"
	Addr        string
	DataDir     string
	DatabaseURL string // postgres://...; empty for SQLite in DataDir
	RedisURL    string // redis://...; empty for a single node
	RedisPrefix string
	Origins     []string
	BaseURL     string
	OIDC        string // names of the sign-in providers
	SMTPURL     string
	SMTPFrom    string
	Guests      bool
	Admins      []string
	Node        string
	Log         string // "text" or "json"
	CPUProfile  string // file to write a CPU profile to, for performance work
	MetricsAddr string // a listener of its own for /metrics; "" serves it on Addr

	// TLS and the network in front (tls.go, docs/operations.md).
	TLSCert, TLSKey string   // PEM files: serve HTTPS
	ACMEHosts       []string // or get certificates for these by ACME
	ACMECache       string   // ACME account and certificates; default DATA/acme
	HTTPAddr        string   // plain-HTTP listener redirecting to HTTPS; "" for none
	TrustedProxies  []string // addresses and CIDRs whose X-Forwarded-* are believed
	// The drain on SIGTERM: /readyz fails for DrainGrace before the
	// listener closes, and the whole drain ends within DrainTimeout.
	DrainGrace, DrainTimeout time.Duration
	// CommitTimeout bounds the wait of a send for its commit
	// (hub.Config.CommitTimeout).
	CommitTimeout time.Duration
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := getenv("HANASHI_" + name); v != "" {
			return v
		}
		return def
	}
	host, _ := os.Hostname()
	var cfg config
	var origins, admins, acmeHosts, trustedProxies string
	fs := flag.NewFlagSet("hanashi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (HANASHI_ADDR)")
	fs.StringVar(&cfg.DataDir, "data", env("DATA", "hanashi-data"), "data directory; holds the SQLite database (HANASHI_DATA)")
	fs.StringVar(&cfg.DatabaseURL, "database", env("DATABASE_URL", ""), "PostgreSQL URL, postgres://user:password@host/db; instead of SQLite (HANASHI_DATABASE_URL)")
	fs.StringVar(&cfg.RedisURL, "redis", env("REDIS_URL", ""), "Redis URL, redis://host:6379/0, connecting the nodes of a cluster (HANASHI_REDIS_URL)")
	fs.StringVar(&cfg.RedisPrefix, "redis-prefix", env("REDIS_PREFIX", "hanashi:"), "prefix of this cluster's Redis channels (HANASHI_REDIS_PREFIX)")
	fs.StringVar(&origins, "origins", env("ORIGINS", ""), "comma-separated origins, besides the server's own, allowed to use the API from a browser, e.g. https://chat.example.com (HANASHI_ORIGINS)")
	fs.StringVar(&cfg.BaseURL, "base-url", env("BASE_URL", ""), "URL people reach the server at, e.g. https://chat.example.com; sign-in links and callbacks use it (HANASHI_BASE_URL; default http://ADDR)")
	fs.StringVar(&cfg.OIDC, "oidc", env("OIDC", ""), "comma-separated sign-in providers, e.g. google,github,corp; each NAME is set up by HANASHI_OIDC_NAME_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _TITLE (HANASHI_OIDC)")
	fs.StringVar(&cfg.SMTPURL, "smtp", env("SMTP_URL", ""), "SMTP server for sign-in links, smtp://user:password@host:587 or smtps://...; without it links go to the log (HANASHI_SMTP_URL)")
	fs.StringVar(&cfg.SMTPFrom, "smtp-from", env("SMTP_FROM", ""), "sender of sign-in links (HANASHI_SMTP_FROM; default hanashi@ the base URL's host)")
	guests, err := strconv.ParseBool(env("GUESTS", "true"))
	if err != nil {
		return cfg, fmt.Errorf("HANASHI_GUESTS must be true or false")
	}
	fs.BoolVar(&cfg.Guests, "guests", guests, "allow guests, who pick a name and chat without signing in (HANASHI_GUESTS)")
	fs.StringVar(&admins, "admins", env("ADMINS", ""), "comma-separated e-mail addresses of administrators (HANASHI_ADMINS)")
	fs.StringVar(&cfg.Node, "node", env("NODE", host), "node name in logs (HANASHI_NODE)")
	fs.StringVar(&cfg.Log, "log", env("LOG", "text"), "log format: text or json (HANASHI_LOG)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file, for go tool pprof")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", env("METRICS_ADDR", ""), "listen address of a separate plain-HTTP listener for Prometheus's /metrics, e.g. 127.0.0.1:9090; without it /metrics is served on -addr (HANASHI_METRICS_ADDR)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", env("TLS_CERT", ""), "PEM certificate chain: serve HTTPS and HTTP/2 on -addr (HANASHI_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", env("TLS_KEY", ""), "PEM private key of -tls-cert (HANASHI_TLS_KEY)")
	fs.StringVar(&acmeHosts, "acme-hosts", env("ACME_HOSTS", ""), "comma-separated host names to get certificates for by ACME, instead of -tls-cert (HANASHI_ACME_HOSTS)")
	fs.StringVar(&cfg.ACMECache, "acme-cache", env("ACME_CACHE", ""), "directory keeping the ACME account and certificates (HANASHI_ACME_CACHE; default DATA/acme)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", env("HTTP_ADDR", ""), "plain-HTTP listen address, e.g. :80, that redirects to HTTPS and answers ACME challenges; needs TLS (HANASHI_HTTP_ADDR)")
	fs.StringVar(&trustedProxies, "trusted-proxies", env("TRUSTED_PROXIES", ""), "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (HANASHI_TRUSTED_PROXIES)")
	grace, err := time.ParseDuration(env("DRAIN_GRACE", "5s"))
	if err != nil {
		return cfg, fmt.Errorf("HANASHI_DRAIN_GRACE must be a duration such as 5s")
	}
	drainTimeout, err := time.ParseDuration(env("DRAIN_TIMEOUT", "30s"))
	if err != nil {
		return cfg, fmt.Errorf("HANASHI_DRAIN_TIMEOUT must be a duration such as 30s")
	}
	commitTimeout, err := time.ParseDuration(env("COMMIT_TIMEOUT", "5s"))
	if err != nil {
		return cfg, fmt.Errorf("HANASHI_COMMIT_TIMEOUT must be a duration such as 5s")
	}
	fs.DurationVar(&cfg.CommitTimeout, "commit-timeout", commitTimeout, "how long a send may wait for its commit before it fails with \"unavailable\", for its client to send it again, on another node if need be (HANASHI_COMMIT_TIMEOUT)")
	fs.DurationVar(&cfg.DrainGrace, "drain-grace", grace, "on SIGTERM, how long /readyz fails while the node still serves, before it stops listening (HANASHI_DRAIN_GRACE)")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", drainTimeout, "on SIGTERM or SIGINT, how long the whole drain may take, grace included (HANASHI_DRAIN_TIMEOUT)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hanashi [flags]          serve\n"+
			"       hanashi migrate [flags]  bring the database schema up to date and exit\n\n"+
			"Hanashi is a self-hosted chat server. Flags:\n")
		fs.PrintDefaults()
	}
	args = args[1:]
	if len(args) > 0 && args[0] == "migrate" {
		cfg.Command, args = "migrate", args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.Command == "" && fs.Arg(0) == "migrate" {
		cfg.Command = "migrate"
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return cfg, err
		}
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.DatabaseURL != "" && !strings.HasPrefix(cfg.DatabaseURL, "postgres://") && !strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
		return cfg, fmt.Errorf("-database must be a postgres:// URL")
	}
	for _, a := range strings.Split(admins, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.Admins = append(cfg.Admins, a)
		}
	}
	cfg.ACMEHosts = splitList(acmeHosts)
	cfg.TrustedProxies = splitList(trustedProxies)
	switch {
	case (cfg.TLSCert == "") != (cfg.TLSKey == ""):
		return cfg, fmt.Errorf("-tls-cert and -tls-key go together")
	case cfg.TLSCert != "" && len(cfg.ACMEHosts) > 0:
		return cfg, fmt.Errorf("-tls-cert and -acme-hosts exclude each other: certificates come from files or from ACME")
	case cfg.HTTPAddr != "" && cfg.TLSCert == "" && len(cfg.ACMEHosts) == 0:
		return cfg, fmt.Errorf("-http-addr redirects to HTTPS: it needs -tls-cert or -acme-hosts")
	case cfg.DrainGrace < 0 || cfg.DrainTimeout <= 0 || cfg.DrainGrace >= cfg.DrainTimeout:
		return cfg, fmt.Errorf("-drain-grace (%v) must be at least 0 and shorter than -drain-timeout (%v)", cfg.DrainGrace, cfg.DrainTimeout)
	case cfg.CommitTimeout < time.Second:
		// Below PostgreSQL's lock timeout (1s), a batch blocked by a dead
		// node's session could never outlast it (docs/operations.md).
		return cfg, fmt.Errorf("-commit-timeout (%v) must be at least 1s", cfg.CommitTimeout)
	}
	if cfg.ACMECache == "" {
		cfg.ACMECache = filepath.Join(cfg.DataDir, "acme")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = defaultBaseURL(cfg.Addr)
		if cfg.TLSCert != "" || len(cfg.ACMEHosts) > 0 {
			cfg.BaseURL = defaultTLSBaseURL(cfg.Addr, cfg.ACMEHosts)
		}
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.Origins = append(cfg.Origins, o)
		}
	}
	if cfg.Log != "text" && cfg.Log != "json" {
		return cfg, fmt.Errorf("-log must be text or json, not %q", cfg.Log)
	}
	return cfg, nil
}

// splitList splits a comma-separated setting, dropping blanks.
func splitList(s string) []string {
	var list []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			list = append(list, v)
		}
	}
	return list
}

// run starts the server and serves until ctx is cancelled, then drains
// (see the end of run, and docs/operations.md): /readyz fails, the
// listeners close after a grace period, sends in flight are committed and
// acknowledged, WebSockets are told to go away (1001), and the store is
// closed, all within cfg.DrainTimeout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, nil)
}

// runWith is run for the fault tests, which wrap the broker the hub
// publishes to (to die between a commit and its publish, say); run passes
// nil, and nothing else reaches it.
func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, wrapBroker func(hanashi.Broker) hanashi.Broker) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if cfg.Log == "json" {
		handler = slog.NewJSONHandler(stderr, nil)
	}
	// Records logged with a request's context carry its request_id.
	log := slog.New(web.LogHandler(handler)).With("node", cfg.Node)

	if cfg.Command == "migrate" {
		return migrate(ctx, cfg, log)
	}
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	broker, err := openBroker(cfg, log)
	if err != nil {
		return err
	}
	defer broker.Close()

	// Metrics and traces see the store and the broker through decorators;
	// the readiness check and Close use them directly.
	tracer, err := tracing.Start(ctx, getenv, cfg.Node)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(ctx); err != nil {
			log.Warn("sending the last traces", "err", err)
		}
	}()
	if tracer != nil {
		log.Info("tracing", "exporter", "otlp/http")
	}
	mets := metrics.New()
	observedStore := tracer.Store(mets.Store(store))
	hubBroker := broker
	if wrapBroker != nil {
		hubBroker = wrapBroker(broker)
	}
	observedBroker := tracer.Broker(mets.Broker(hubBroker))
	var metricsOnMain http.Handler
	if cfg.MetricsAddr == "" {
		metricsOnMain = mets.Handler()
	}

	provs, err := providers(cfg.OIDC, getenv)
	if err != nil {
		return err
	}
	mailSender, err := mailer(cfg.SMTPURL, cfg.SMTPFrom, cfg.BaseURL)
	if err != nil {
		return err
	}
	if mailSender == nil {
		log.Warn("no SMTP server configured (HANASHI_SMTP_URL): sign-in links are written to this log, which is for development only")
	}

	// Uploaded avatars are files in the data directory; nodes of a cluster
	// share it (a shared volume), since any node may be asked for any file.
	avatars, err := avatar.OpenDir(filepath.Join(cfg.DataDir, "avatars"))
	if err != nil {
		return fmt.Errorf("opening the avatar directory: %w", err)
	}
	defer avatars.Close()

	h := hub.New(hub.Config{Store: observedStore, Broker: observedBroker, Encoder: web.Encoder{}, Logger: log, CommitTimeout: cfg.CommitTimeout})
	monitor := health.Start(health.Config{Checks: readiness(store, broker, h), Logger: log})
	defer monitor.Close()
	srv, err := web.NewServer(web.Config{
		Store: observedStore, Hub: h, Logger: log, AllowedOrigins: cfg.Origins,
		Metrics: metricsOnMain, Trace: tracer.Middleware,
		BaseURL: cfg.BaseURL, Providers: provs, Mailer: mailSender,
		NoGuests: !cfg.Guests, Admins: cfg.Admins, Avatars: avatars, TrustedProxies: cfg.TrustedProxies,
		Ready: monitor.Ready,
	})
	if err != nil {
		return err
	}
	mets.Watch(h, srv)

	serverTLS, err := newServerTLS(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn), // with the node
	}
	servers := []*http.Server{httpSrv}
	serveErr := make(chan error, 3)
	scheme := "http"
	if serverTLS == nil {
		go func() { serveErr <- httpSrv.Serve(ln) }()
	} else {
		// ServeTLS adds h2 to the ALPN protocols: HTTP/2 for browsers.
		scheme = "https"
		httpSrv.TLSConfig = serverTLS.config
		go func() { serveErr <- httpSrv.ServeTLS(ln, "", "") }()
	}
	if cfg.HTTPAddr != "" {
		redirect, err := serverTLS.redirectHandler(cfg.BaseURL, srv)
		if err != nil {
			ln.Close()
			return err
		}
		hln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			ln.Close()
			return err
		}
		plain := &http.Server{Handler: redirect, ReadHeaderTimeout: 10 * time.Second, ErrorLog: httpSrv.ErrorLog}
		servers = append(servers, plain)
		go func() { serveErr <- plain.Serve(hln) }()
		log.Info("redirecting to https", "addr", hln.Addr().String())
	}
	if cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", mets.Handler())
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("-metrics-addr %s: %w", cfg.MetricsAddr, err)
		}
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: httpSrv.ErrorLog}
		servers = append(servers, ms)
		go func() { serveErr <- ms.Serve(mln) }()
		log.Info("serving metrics", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	log.Info("serving", "url", scheme+"://"+ln.Addr().String(), "base_url", cfg.BaseURL)
	fmt.Fprintf(stdout, "Hanashi is serving on %s://%s\n", scheme, ln.Addr())

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}

	// The drain. Everything below ends by the deadline, whatever hangs.
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	defer cancel()
	// 1. Readiness fails at once, so load balancers stop sending clients,
	// while this node serves on through the grace period they need to
	// notice.
	srv.Drain()
	grace := drainGrace(ctx, cfg.DrainGrace)
	log.Info("draining", "cause", context.Cause(ctx), "grace", grace, "timeout", cfg.DrainTimeout)
	select {
	case <-time.After(grace):
	case err := <-serveErr:
		log.Warn("serving ended during the grace period", "err", err)
	}
	// 2. New connections are refused; requests in progress finish.
	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		for _, hs := range servers {
			if err := hs.Shutdown(shutCtx); err != nil {
				log.Warn("http shutdown", "err", err)
			}
		}
	}()
	// 3. Sends already received are committed and acknowledged; any
	// that arrive from now on are refused with an error frame
	// ("unavailable"), to be sent again on another node.
	if err := h.Close(shutCtx); err != nil {
		log.Warn("committing the last sends", "err", err)
	}
	// 4. WebSockets close with 1001: clients resume on another node.
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("websocket shutdown", "err", err)
	}
	<-httpDone
	log.Info("stopped")
	return nil
}

// drainGrace is how long a drain that ctx's end started keeps serving
// with /readyz failing. The grace is for load balancers, and SIGTERM is
// what orchestrators send (Kubernetes, systemd, docker stop); SIGINT is
// somebody pressing Ctrl-C, who wants the process gone now, cleanly, and
// has no load balancer to wait for.
func drainGrace(ctx context.Context, grace time.Duration) time.Duration {
	var sig stopSignal
	if errors.As(context.Cause(ctx), &sig) && sig.Signal == os.Interrupt {
		return 0
	}
	return grace
}

// stopSignal is the cause of the end of run's context when a signal
// ended it.
type stopSignal struct{ os.Signal }

func (s stopSignal) Error() string { return s.Signal.String() + " received" }

// openStore opens PostgreSQL when a database URL is configured and the
// SQLite file in the data directory otherwise, bringing its schema up to
// date either way.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (hanashi.Store, error) {
	if cfg.DatabaseURL != "" {
		db, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("opening the database: %w", err)
		}
		log.Info("store", "kind", "postgres", "database", redactURL(cfg.DatabaseURL))
		return db, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	path := filepath.Join(cfg.DataDir, "hanashi.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	log.Info("store", "kind", "sqlite", "database", path)
	return db, nil
}

// openBroker connects to Redis when it is configured; a single node needs
// no more than the in-process broker.
func openBroker(cfg config, log *slog.Logger) (hanashi.Broker, error) {
	if cfg.RedisURL == "" {
		return inmem.NewBroker(), nil
	}
	b, err := redis.New(redis.Config{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("connecting to Redis: %w", err)
	}
	log.Info("broker", "kind", "redis", "redis", redactURL(cfg.RedisURL), "prefix", cfg.RedisPrefix)
	return b, nil
}

// readiness is what /readyz checks (see package health and "Failure
// behaviour" in docs/operations.md): that the database answers, that
// commits go through, and that Redis answers, when there is one.
func readiness(store hanashi.Store, broker hanashi.Broker, h *hub.Hub) []health.Check {
	var checks []health.Check
	if p, ok := store.(interface{ Ping(context.Context) error }); ok {
		checks = append(checks, health.Check{Name: "database", Probe: p.Ping})
	}
	checks = append(checks, health.Check{Name: "commits", Probe: func(context.Context) error { return h.CommitErr() }})
	if r, ok := broker.(interface{ Ready() error }); ok {
		checks = append(checks, health.Check{Name: "redis", Probe: func(context.Context) error { return r.Ready() }})
	}
	return checks
}

// migrate brings the configured database up to date, for "hanashi migrate":
// deployments that run several nodes migrate once before rolling them out.
// (Every node also migrates at start, under a lock.)
func migrate(ctx context.Context, cfg config, log *slog.Logger) error {
	if cfg.DatabaseURL != "" {
		if err := postgres.Migrate(ctx, cfg.DatabaseURL); err != nil {
			return err
		}
		log.Info("migrated", "database", redactURL(cfg.DatabaseURL))
		return nil
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("migrated", "database", filepath.Join(cfg.DataDir, "hanashi.db"))
	return store.Close()
}

// redactURL drops the password from a URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
